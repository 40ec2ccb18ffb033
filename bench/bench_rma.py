"""dtl's RMA windows side by side with mpi4py's ``MPI.Win`` in one run
(``make bench`` runs it at np 2): rank 0 is the origin, rank 1 the target,
both windows allocated the same way (``MPI_Win_allocate_shared`` on one
node, which is what ``dtl.Window(ctx, size=...)`` uses there), inside one
``lock_all`` epoch.

* put and get latency of 8 bytes: ``dtl.rma_put`` / ``dtl.rma_get`` (each
  completes with ``MPI_Win_flush_local``) vs mpi4py ``Put``/``Get`` +
  ``Flush_local``;
* put bandwidth of 4 MiB;
* ``fetch_and_add`` rate on one int64: ``dtl.rma_fetch_and_add`` vs
  ``Fetch_and_op`` + ``Flush_local``.

Each figure is the median over ``REPEATS`` batches of the per-operation
time; ratio = mpi4py time / dtl time (the issue's bound: dtl's overhead at
most 1.3x mpi4py's, i.e. ratio >= 0.77).

    mpirun -np 2 python bench/bench_rma.py --json bench/results/rma_np2.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from typing import Any, Callable

import numpy as np
from mpi4py import MPI

import dtl

REPEATS = 7


def per_op(fn: Callable[[], Any], n: int) -> float:
    times = []
    for k in range(REPEATS + 1):
        t0 = MPI.Wtime()
        for _ in range(n):
            fn()
        if k:
            times.append((MPI.Wtime() - t0) / n)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--ops", type=int, default=2000, help="operations per batch (latency)")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    if comm.size < 2:
        print("bench_rma needs 2 ranks")
        return 0
    rank = comm.rank
    big = 4 << 20
    rows: list[dict[str, Any]] = []
    with dtl.Context() as ctx:
        win = dtl.Window(ctx, size=big)
        mwin = MPI.Win.Allocate_shared(big, 1, comm=comm)
        small = np.ones(1, dtype=np.float64)
        blob = np.ones(big // 8, dtype=np.float64)
        one = np.ones(1, dtype=np.int64)
        out = np.zeros(1, dtype=np.float64)
        old = np.zeros(1, dtype=np.int64)
        win.lock_all()
        mwin.Lock_all()
        comm.Barrier()
        if rank == 0:
            def m_put() -> None:
                mwin.Put(small, 1, 0)
                mwin.Flush_local(1)

            def m_get() -> None:
                mwin.Get(out, 1, 0)
                mwin.Flush_local(1)

            def m_big() -> None:
                mwin.Put(blob, 1, 0)
                mwin.Flush_local(1)

            def m_fao() -> None:
                mwin.Fetch_and_op(one, old, 1, 8)
                mwin.Flush_local(1)

            cases = [
                ("put 8 B latency", lambda: dtl.rma_put(win, 1, 0, small), m_put, args.ops, None),
                ("get 8 B latency", lambda: dtl.rma_get(win, 1, 0, 8, np.float64), m_get, args.ops, None),
                ("put 4 MiB", lambda: dtl.rma_put(win, 1, 0, blob), m_big, 20, big),
                ("fetch_and_add int64", lambda: dtl.rma_fetch_and_add(win, 1, 8, 1, dtype=np.int64), m_fao,
                 args.ops, None),
            ]
            for what, fd, fm, n, nbytes in cases:
                # Alternate, so that both see the same machine.
                td, tm = [], []
                for _ in range(3):
                    td.append(per_op(fd, n))
                    tm.append(per_op(fm, n))
                t_d, t_m = min(td), min(tm)
                note = f"{nbytes / t_d / 1e9:.1f} GB/s vs {nbytes / t_m / 1e9:.1f} GB/s" if nbytes else \
                    f"{t_d * 1e6:.2f} us vs {t_m * 1e6:.2f} us"
                rows.append(dict(what=what, np=comm.size, dtl_s=t_d, baseline="mpi4py MPI.Win", baseline_s=t_m,
                                 ratio=t_m / t_d, note=note))
        comm.Barrier()
        mwin.Unlock_all()
        win.unlock_all()
        mwin.Free()
        win.free()
    if rank == 0:
        print(f"\n### dtl RMA at np {comm.size} ({platform.node()}, {MPI.Get_library_version().splitlines()[0]})\n")
        print("| operation | dtl (s/op) | baseline | baseline (s/op) | baseline / dtl | |")
        print("| --- | ---: | --- | ---: | ---: | --- |")
        for r in rows:
            print(f"| {r['what']} | {r['dtl_s']:.3g} | {r['baseline']} | {r['baseline_s']:.3g} | {r['ratio']:.2f}x "
                  f"| {r['note']} |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(np=comm.size, node=platform.node(), rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
