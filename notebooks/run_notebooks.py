#!/usr/bin/env python3
"""Execute the dtl notebooks with nbclient and check them.

    python notebooks/run_notebooks.py                 # every notebooks/NN_*.ipynb
    python notebooks/run_notebooks.py 03_distributed_tensors.ipynb --np 4
    python notebooks/run_notebooks.py --check-only    # only the "stored without outputs" check
    python notebooks/run_notebooks.py --strip         # clear outputs of the given notebooks in place

For each notebook, in order:

1. **Stored clean**: every code cell of the committed file must have no outputs and no
   execution count (so the repository holds sources, not results). A notebook saved from
   Jupyter with outputs fails here; ``--strip`` clears them.
2. **Executed** in a fresh ``python3`` kernel of this interpreter (nbclient), from the
   ``notebooks/`` directory, with a timeout per cell (``--timeout``, default 300 s). Any cell
   error — an exception, a failed ``assert`` in the kernel or on an MPI engine — fails the
   notebook. The notebooks start their own 2-rank MPI job through ipyparallel
   (``ipp.Cluster(engines="mpi")``); ``--np`` sets its size (environment variable
   ``DTL_NB_NP``).
3. **No stray processes**: every process the run started (kernel, ipyparallel controller,
   ``mpirun``, engines) carries a marker in its environment; any still alive 20 s after the
   notebook ended is reported, killed by pid, and fails the notebook.

The executed copies go to ``build/notebooks/`` (``--out``), with every PNG figure also saved
as ``build/notebooks/<notebook>/fig<k>.png``, so you can look at the results without Jupyter.
ipyparallel's profile files go to ``build/notebooks/ipython`` (``IPYTHONDIR``), not to
``~/.ipython``. Exits 1 if any notebook failed.
"""

import argparse
import base64
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARKER = "DTL_NB_RUN"

# What a root account on a small machine needs to start MPI jobs (as the Makefile sets).
OMPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_mpi_yield_when_idle": "1",
}


def dirty_cells(nb):
    """Indices of code cells that carry outputs or an execution count."""
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]


def strip(nb):
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None


def marked_processes(token):
    """Pids of live processes whose environment carries MARKER=token (Linux /proc)."""
    needle = f"{MARKER}={token}".encode()
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            env = (d / "environ").read_bytes()
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if needle in env.split(b"\0") and stat.rsplit(")", 1)[-1].split()[0] != "Z":
            pids.append(int(d.name))
    return pids


def reap_strays(token, grace):
    """Waits up to `grace` seconds for marked processes to end; kills the rest. Returns them."""
    deadline = time.time() + grace
    while time.time() < deadline:
        pids = marked_processes(token)
        if not pids:
            return []
        time.sleep(0.5)
    pids = marked_processes(token)
    described = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            described.append(f"{pid}: {cmd}")
        except OSError:
            described.append(str(pid))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in marked_processes(token):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)
    return described


def save_figures(nb, fig_dir):
    fig_dir.mkdir(parents=True, exist_ok=True)
    for old in fig_dir.glob("fig*.png"):
        old.unlink()
    k = 0
    for c in nb.cells:
        for o in c.get("outputs", []):
            png = o.get("data", {}).get("image/png") if o.get("output_type") in ("display_data", "execute_result") else None
            if png:
                k += 1
                (fig_dir / f"fig{k}.png").write_bytes(base64.b64decode(png))
    return k


def run_one(path, out_dir, timeout, np_):
    nb = nbformat.read(path, as_version=4)
    dirty = dirty_cells(nb)
    if dirty:
        print(f"FAIL {path.name}: stored with outputs or execution counts in code cells {dirty} "
              f"(clear them: python notebooks/run_notebooks.py --strip {path.name})")
        return False
    token = uuid.uuid4().hex
    os.environ[MARKER] = token
    os.environ["DTL_NB_NP"] = str(np_)
    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.time()
    ok, why = True, ""
    try:
        client.execute()
    except CellTimeoutError as e:
        ok, why = False, f"a cell ran past {timeout} s: {str(e).splitlines()[0] if str(e) else ''}"
    except CellExecutionError as e:
        ok, why = False, str(e)
    except Exception as e:  # kernel died, could not start, ...
        ok, why = False, f"{type(e).__name__}: {e}"
    elapsed = time.time() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    figs = save_figures(nb, out_dir / path.stem)
    strays = reap_strays(token, grace=20)
    if strays:
        ok = False
        why += "\nprocesses left running after the notebook (killed):\n  " + "\n  ".join(strays)
    status = "ok  " if ok else "FAIL"
    print(f"{status} {path.name}: {elapsed:.1f} s, {figs} figure(s) -> {out_dir / path.name}", flush=True)
    if not ok:
        print(why, flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebook files (default: notebooks/[0-9]*.ipynb)")
    ap.add_argument("--out", default=str(ROOT / "build" / "notebooks"), help="directory for the executed copies")
    ap.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell (default 300)")
    ap.add_argument("--np", type=int, default=2, help="MPI ranks of the notebooks' ipyparallel cluster (default 2)")
    ap.add_argument("--check-only", action="store_true", help="only check that the notebooks are stored without outputs")
    ap.add_argument("--strip", action="store_true", help="clear outputs and execution counts in place, then exit")
    args = ap.parse_args()

    paths = [Path(p) if Path(p).exists() else HERE / p for p in args.notebooks] or sorted(HERE.glob("[0-9]*.ipynb"))
    if not paths:
        sys.exit("run_notebooks: no notebooks found")
    if args.strip:
        for p in paths:
            nb = nbformat.read(p, as_version=4)
            strip(nb)
            nbformat.write(nb, p)
            print(f"stripped {p}")
        return 0
    if args.check_only:
        bad = [p.name for p in paths if dirty_cells(nbformat.read(p, as_version=4))]
        for name in bad:
            print(f"FAIL {name}: stored with outputs or execution counts")
        return 1 if bad else 0

    for k, v in OMPI_ENV.items():
        os.environ.setdefault(k, v)
    out = Path(args.out).resolve()
    (out / "ipython").mkdir(parents=True, exist_ok=True)
    os.environ["IPYTHONDIR"] = str(out / "ipython")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    t0 = time.time()
    failed = [p.name for p in paths if not run_one(p.resolve(), out, args.timeout, args.np)]
    print(f"run_notebooks: {len(paths) - len(failed)}/{len(paths)} passed in {time.time() - t0:.1f} s")
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
