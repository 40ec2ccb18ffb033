"""dtl's algorithms side by side with what users would write instead, in one
run (``make bench`` runs it at np 1 and 2).

* **local kernels** (np 1 only; ``--n-local``, default 10^8 float64):
  ``dtl.transform(src, dst, np.negative)`` (dtl hands the ufunc the local
  views) vs ``numpy.negative(x, out=y)``; ``dtl.transform`` of a vectorised
  ``x + 1`` vs ``numpy.add(x, 1.0, out=y)``; ``dtl.reduce(v, SUM)`` (and
  ``deterministic=True``) vs ``numpy.sum``; ``dtl.inclusive_scan(v)`` in
  place vs ``numpy.cumsum(y, out=y)``; and, measured in the same run as the
  memory ceiling, a STREAM triad ``a = b + s*c`` with NumPy in place
  (``multiply(c, s, out=a); add(a, b, out=a)``), its GB/s counting 24 bytes
  per element as STREAM does;
* **distributed sort** of ``--n-sort`` (default 10^6, 10^7, 10^8) uniform
  float64: ``dtl.sort(v)`` vs ``numpy.sort`` of all values in one process
  (rank 0) and vs a straightforward mpi4py + NumPy sample sort (local sort,
  regular sampling, ``Alltoallv``, local re-sort; no rebalancing), the three
  taking turns; plus ``dtl.median`` vs ``numpy.median`` on one process.

Results are checked (transform/scan/reduce against NumPy; sorts against the
one-process sort); a wrong one exits 1 on every rank.

    mpirun -np 2 python bench/bench_algorithms.py --json bench/results/algorithms_np2.json
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, List

import numpy as np
from harness import Bench
from mpi4py import MPI

import dtl


def mpi4py_sample_sort(comm: MPI.Comm, local: np.ndarray) -> np.ndarray:
    """The textbook mpi4py + NumPy sample sort a user would write."""
    p = comm.Get_size()
    local = np.sort(local)
    if p == 1:
        return local
    idx = (np.arange(1, p) * len(local)) // p
    samples = np.ascontiguousarray(local[idx]) if len(local) else np.zeros(p - 1)
    allsamples = np.empty((p - 1) * p, dtype=local.dtype)
    comm.Allgather(samples, allsamples)
    allsamples.sort()
    splitters = allsamples[(p - 1) * np.arange(1, p)]
    cuts = np.searchsorted(local, splitters)
    sendcounts = np.diff(np.concatenate(([0], cuts, [len(local)]))).astype(np.int64)
    recvcounts = np.empty(p, dtype=np.int64)
    comm.Alltoall(sendcounts, recvcounts)
    out = np.empty(int(recvcounts.sum()), dtype=local.dtype)
    comm.Alltoallv([local, sendcounts], [out, recvcounts])
    out.sort()
    return out


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n-local", type=float, default=1e8, help="elements of the np-1 local kernels (0: skip)")
    ap.add_argument("--n-sort", type=float, nargs="*", default=[1e6, 1e7, 1e8], help="sizes of the sort")


def local_kernels(b: Bench, ctx: dtl.Context, n: int) -> None:
    reps = 5
    g = "local kernels"
    v = dtl.DistributedVector(ctx, size=n, dtype=np.float64)
    w = dtl.DistributedVector(ctx, size=n, dtype=np.float64)
    x, y = v.local_view(), w.local_view()
    x[:] = np.random.default_rng(0).random(n)
    nb = 16 * n  # read + write

    # transform: ufunc and vectorised callable
    dtl.transform(v, w, np.negative)
    b.check(np.array_equal(y, -x), "transform np.negative")
    b.measure(g, "transform np.negative", {"dtl": lambda: dtl.transform(v, w, np.negative),
                                           "numpy": lambda: np.negative(x, out=y)}, reps, n, nb,
              targets={"numpy": 0.9}, batch=1)
    dtl.transform(v, w, lambda a: a + 1.0)
    b.check(np.array_equal(y, x + 1.0), "transform x + 1")
    b.measure(g, "transform x + 1", {"dtl": lambda: dtl.transform(v, w, lambda a: a + 1.0),
                                     "numpy": lambda: np.add(x, 1.0, out=y)}, reps, n, nb,
              targets={"numpy": 0.9}, batch=1,
              notes={"dtl": "the callable allocates x + 1, then dtl copies it into dst"})

    # reduce
    s = dtl.reduce(v, dtl.SUM)
    b.check(abs(float(s) - float(np.sum(x))) <= 1e-9 * abs(float(np.sum(x))), "reduce SUM")
    b.measure(g, "reduce SUM", {"dtl": lambda: dtl.reduce(v, dtl.SUM),
                                "dtl deterministic": lambda: dtl.reduce(v, dtl.SUM, deterministic=True),
                                "numpy": lambda: np.sum(x)}, reps, n, 8 * n, targets={"numpy": 0.9}, batch=1)

    # inclusive scan, in place on a fresh copy each time
    ref = np.cumsum(x)

    def reset_v() -> None:
        x[:] = ref_src

    ref_src = x.copy()
    dtl.inclusive_scan(v)
    b.check(bool(np.allclose(x, ref, rtol=1e-12)), "inclusive_scan")
    del ref
    b.measure(g, "inclusive_scan SUM", {"dtl": (lambda: dtl.inclusive_scan(v), reset_v),
                                        "numpy": (lambda: np.cumsum(y, out=y), lambda: np.copyto(y, ref_src))},
              reps, n, nb, targets={"numpy": 0.9}, batch=1)

    # STREAM triad: the memory ceiling of this run
    a = np.empty(n)
    c = np.full(n, 2.0)
    x[:] = 1.0

    def triad() -> None:
        np.multiply(c, 3.0, out=a)
        np.add(a, x, out=a)

    triad()
    b.check(bool(np.all(a == 7.0)), "triad")
    t = b.time({"numpy triad": triad}, reps, batch=1)["numpy triad"]
    b.row(g, "STREAM triad a = b + s*c", "numpy", t, reps, n, 24 * n,
          note=f"{24 * n / t / 1e9:.1f} GB/s counting 24 B/element as STREAM does (NumPy makes two passes)")


def sort_group(b: Bench, ctx: dtl.Context, n: int) -> None:
    comm, rank = b.comm, b.rank
    reps = 3 if n >= 10**8 else 7
    rng = np.random.default_rng(42)
    full = rng.random(n) if rank == 0 else None
    v = dtl.DistributedVector.scatter_from(ctx, full, root=0)
    mine = v.local_view().copy()
    scratch = np.empty_like(full) if rank == 0 else None

    def copy_full() -> None:
        if scratch is not None:
            np.copyto(scratch, full)

    def sort_full() -> None:
        if scratch is not None:
            scratch.sort()

    def reset() -> None:
        v.local_view()[:] = mine

    out: List[Any] = [None]

    def sample() -> None:
        out[0] = mpi4py_sample_sort(comm, mine)

    b.measure("sort", "sort", {"dtl": (lambda: dtl.sort(v), reset), "mpi4py + NumPy sample sort": sample,
                               "numpy.sort, one process": (sort_full, copy_full)}, reps, n, 8 * n,
              targets={"numpy.sort, one process": 1.0 if b.size > 1 else None,
                       "mpi4py + NumPy sample sort": 2.0 if b.size > 1 else None}, batch=1)
    # Both distributed results against the one-process sort.
    got = v.gather(root=0)
    parts = comm.gather(out[0], root=0)
    ok = True
    if rank == 0:
        assert scratch is not None and got is not None and parts is not None
        ok = bool(np.array_equal(got, scratch) and np.array_equal(np.concatenate(parts), scratch))
    b.check(ok, f"sort {n}")
    if n <= 10**7:
        med = dtl.median(v)
        ok = True
        if rank == 0:
            ok = float(med) == float(np.median(full))
        b.check(ok, "median")
        t = b.time({"dtl": lambda: dtl.median(v)}, reps, batch=1)["dtl"]
        b.row("sort", "median", "dtl", t, reps, n, 8 * n)
        tn = 0.0
        if rank == 0:
            tn = b.time({"numpy": lambda: np.median(full)}, 3, batch=1, collective=False)["numpy"]
        tn = comm.bcast(tn, root=0)
        b.row("sort", "median", "numpy.median, one process", tn, 3, n, 8 * n)
        b.ratio("sort", "median", "numpy.median, one process", "dtl", {"dtl": t, "numpy.median, one process": tn},
                n, 8 * n)


def main() -> int:
    b = Bench("algorithms", __doc__, add_args)
    n_local = int(b.args.n_local)
    sorts = [int(x) for x in b.args.n_sort]
    if b.quick:
        n_local, sorts = (10**5 if n_local else 0), [10**4]
    with dtl.Context() as ctx:
        if b.size == 1 and n_local:
            local_kernels(b, ctx, n_local)
        for n in sorts:
            sort_group(b, ctx, n)
            if b.rank == 0:
                print(f"algorithms: sort {n:.0e} done", flush=True)
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
