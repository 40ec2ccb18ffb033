"""dtl's distributed algorithms side by side with what users would write
instead, in one run (``make bench`` runs it at np 1 and 2).

* local ``reduce`` (SUM) of 10^8 float64 at np 1: ``dtl.reduce(v)`` vs
  ``numpy.sum`` of the same array;
* ``transform`` of 10^8 float64 at np 1: ``dtl.transform(src, dst,
  np.add-like ufunc)`` vs ``numpy.add(x, 1.0, out=y)`` (dtl hands ufuncs the
  local views, so this measures its dispatch overhead);
* distributed ``sort`` of 10^7 float64 (uniform random): ``dtl.sort(v)`` vs
  ``numpy.sort`` of all 10^7 values in one process, and vs a straightforward
  mpi4py + NumPy sample sort (local sort, regular sampling, ``Alltoallv``,
  local re-sort; no rebalancing) at the same np;
* ``reduce(..., deterministic=True)`` vs the plain ``reduce``.

Every figure is the median of ``REPEATS`` timed runs after one warm-up; a
run's time is the maximum over the ranks (``MPI_Wtime``, after a barrier).
Each comparison is a ratio of figures from this same run. Results go to
stdout (a markdown table) and to ``--json PATH``.

    mpirun -np 2 python bench/bench_algorithms.py --json bench/results/algorithms_np2.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from typing import Any, Callable, Dict, List

import numpy as np
from mpi4py import MPI

import dtl

REPEATS = 5


def timed(comm: MPI.Comm, fn: Callable[[], Any], setup: Callable[[], Any] = lambda: None) -> float:
    """Median over REPEATS (after one warm-up) of the slowest rank's time."""
    return timed_together(comm, [(fn, setup)], REPEATS)[0]


def timed_together(comm: MPI.Comm, cases: list[tuple[Callable[[], Any], Callable[[], Any]]],
                   repeats: int) -> list[float]:
    """Medians over ``repeats`` (after one warm-up round) of the slowest
    rank's time for several ``(fn, setup)`` cases, run in turn in every
    repetition; in the order given."""
    times: list[list[float]] = [[] for _ in cases]
    for k in range(repeats + 1):
        for (fn, setup), out in zip(cases, times):
            setup()
            comm.Barrier()
            t0 = MPI.Wtime()
            fn()
            dt = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
            if k:
                out.append(dt)
    return [statistics.median(t) for t in times]


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
    splitters = allsamples[(p - 1) * np.arange(1, p) + (p - 1) // 2 - (p - 1) // 2]
    cuts = np.searchsorted(local, splitters)
    sendcounts = np.diff(np.concatenate(([0], cuts, [len(local)]))).astype(np.int64)
    recvcounts = np.empty(p, dtype=np.int64)
    comm.Alltoall(sendcounts, recvcounts)
    out = np.empty(int(recvcounts.sum()), dtype=local.dtype)
    comm.Alltoallv([local, sendcounts], [out, recvcounts])
    out.sort()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the figures here (rank 0)")
    ap.add_argument("--n-local", type=float, default=1e8, help="elements for the np-1 local kernels")
    ap.add_argument("--n-sort", type=float, default=1e7, help="elements for the sort")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    rows: List[Dict[str, Any]] = []

    def row(group: str, what: str, dtl_s: float, base: str, base_s: float, note: str = "") -> None:
        rows.append(dict(group=group, what=what, np=size, dtl_s=dtl_s, baseline=base, baseline_s=base_s,
                         speedup=base_s / dtl_s, note=note))

    with dtl.Context() as ctx:
        # ------------------------------------------------ local kernels (np 1)
        if size == 1:
            n = int(args.n_local)
            v = dtl.DistributedVector(ctx, size=n, dtype=np.float64)
            x = v.local_view()
            x[:] = np.random.default_rng(0).random(n)
            t_np = timed(comm, lambda: np.sum(x))
            t_dtl = timed(comm, lambda: dtl.reduce(v, dtl.SUM))
            gbs = n * 8 / t_dtl / 1e9
            row("local kernels", f"reduce SUM, {n:.0e} f64", t_dtl, "numpy.sum", t_np, f"{gbs:.1f} GB/s read")
            t_det = timed(comm, lambda: dtl.reduce(v, dtl.SUM, deterministic=True))
            row("local kernels", f"reduce SUM deterministic, {n:.0e} f64", t_det, "dtl reduce", t_dtl)
            w = dtl.DistributedVector(ctx, size=n, dtype=np.float64)
            y = w.local_view()
            t_np = timed(comm, lambda: np.add(x, 1.0, out=y))
            t_dtl = timed(comm, lambda: dtl.transform(v, w, lambda a: np.add(a, 1.0, out=y)))
            t_uf = timed(comm, lambda: dtl.transform(v, w, np.negative))
            t_npneg = timed(comm, lambda: np.negative(x, out=y))
            row("local kernels", f"transform x+1, {n:.0e} f64", t_dtl, "numpy.add(out=)", t_np)
            row("local kernels", f"transform ufunc, {n:.0e} f64", t_uf, "numpy.negative(out=)", t_npneg)
            del v, w, x, y
        # ------------------------------------------------ distributed sort
        n = int(args.n_sort)
        rng = np.random.default_rng(42)
        full = rng.random(n) if rank == 0 else None
        v = dtl.DistributedVector.scatter_from(ctx, full, root=0)
        mine = v.local_view().copy()
        scratch = np.empty_like(full) if rank == 0 else None

        def copy_full() -> None:
            if scratch is not None:
                scratch[:] = full

        def sort_full() -> None:
            if scratch is not None:
                scratch.sort()

        # The three sorts take turns, so that they see the same machine
        # (this VM's speed drifts by 20 % over a minute).
        t_dtl, t_sample, t_one = timed_together(comm, [
            (lambda: dtl.sort(v), lambda: v.local_view().__setitem__(slice(None), mine)),
            (lambda: mpi4py_sample_sort(comm, mine), lambda: None),
            (sort_full, copy_full),
        ], repeats=2 * REPEATS + 1)
        assert dtl.is_sorted(v)
        row("distributed sort", f"sort {n:.0e} f64", t_dtl, "numpy.sort, one process", t_one)
        row("distributed sort", f"sort {n:.0e} f64", t_dtl, "mpi4py + NumPy sample sort", t_sample)
        t_med = timed(comm, lambda: dtl.median(v))
        row("distributed sort", f"median {n:.0e} f64 (selection)", t_med, "numpy.median, one process",
            comm.bcast(statistics.median([_time(lambda: np.median(full)) for _ in range(3)]) if rank == 0 else 0.0,
                       root=0))

    if rank == 0:
        print(f"\n### dtl algorithms at np {size} ({platform.node()}, {MPI.Get_library_version().splitlines()[0]})\n")
        print("| group | operation | dtl (s) | baseline | baseline (s) | baseline / dtl |")
        print("| --- | --- | ---: | --- | ---: | ---: |")
        for r in rows:
            print(f"| {r['group']} | {r['what']} | {r['dtl_s']:.4f} | {r['baseline']} | {r['baseline_s']:.4f} | "
                  f"{r['speedup']:.2f}x {r['note']} |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(np=size, node=platform.node(), rows=rows), f, indent=1)
    return 0


def _time(fn: Callable[[], Any]) -> float:
    t0 = MPI.Wtime()
    fn()
    return MPI.Wtime() - t0


if __name__ == "__main__":
    sys.exit(main())
