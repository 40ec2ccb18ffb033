"""dtl's RMA windows side by side with mpi4py's ``MPI.Win`` in one run
(``make bench`` runs it at np 2): rank 0 is the origin, rank 1 the target,
both windows allocated the same way (``MPI_Win_allocate_shared`` on one
node, which is what ``dtl.Window(ctx, size=...)`` uses there), inside one
``lock_all`` epoch.

* latency of 8 bytes: ``dtl.rma_put`` / ``rma_get`` / ``rma_accumulate``
  (each completes before it returns: ``MPI_Win_flush_local``) vs mpi4py
  ``Put`` / ``Get`` / ``Accumulate`` + ``Flush_local``; ``rma_fetch_and_add``
  on one int64 vs ``Fetch_and_op`` + ``Flush_local``;
* bandwidth of 4 MiB: put, get (dtl returns a new array; mpi4py fills a
  preallocated one), accumulate (SUM of float64).

Only rank 0 times (one-sided: the target does nothing); each figure is the
median over the repetitions of a batch's time per operation, dtl and mpi4py
taking turns. Ratio = mpi4py time / dtl time (the issue's bound, dtl at most
1.3x mpi4py's time, is ratio >= 0.77). The results of each library's calls
are checked once afterwards; a wrong one exits 1 on every rank.

    mpirun -np 2 python bench/bench_rma.py --json bench/results/rma_np2.json
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import numpy as np
from harness import Bench
from mpi4py import MPI

import dtl

TARGET = 1 / 1.3


def main() -> int:
    b = Bench("rma", __doc__)
    comm, rank = b.comm, b.rank
    if b.size < 2:
        if rank == 0:
            print("bench_rma needs 2 ranks; nothing measured")
        return b.finish()
    big = (64 << 10) if b.quick else (4 << 20)
    ctr = big  # byte offset of the int64 counter, after the bulk area
    wsize = big + 64
    reps = 7
    with dtl.Context() as ctx:
        win = dtl.Window(ctx, size=wsize)
        mwin = MPI.Win.Allocate_shared(wsize, 1, comm=comm)
        small = np.ones(1, dtype=np.float64)
        blob = np.ones(big // 8, dtype=np.float64)
        one = np.ones(1, dtype=np.int64)
        out = np.zeros(1, dtype=np.float64)
        bigout = np.zeros(big // 8, dtype=np.float64)
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

            def m_acc() -> None:
                mwin.Accumulate(small, 1, 0, MPI.SUM)
                mwin.Flush_local(1)

            def m_fao() -> None:
                mwin.Fetch_and_op(one, old, 1, ctr)
                mwin.Flush_local(1)

            def m_bput() -> None:
                mwin.Put(blob, 1, 0)
                mwin.Flush_local(1)

            def m_bget() -> None:
                mwin.Get(bigout, 1, 0)
                mwin.Flush_local(1)

            def m_bacc() -> None:
                mwin.Accumulate(blob, 1, 0, MPI.SUM)
                mwin.Flush_local(1)

            cases: List[tuple[str, int, Dict[str, Any]]] = [
                ("put 8 B", 8, {"dtl": lambda: dtl.rma_put(win, 1, 0, small), "mpi4py MPI.Win": m_put}),
                ("get 8 B", 8, {"dtl": lambda: dtl.rma_get(win, 1, 0, 8, np.float64), "mpi4py MPI.Win": m_get}),
                ("accumulate 8 B", 8, {"dtl": lambda: dtl.rma_accumulate(win, 1, 0, small, "sum"),
                                       "mpi4py MPI.Win": m_acc}),
                ("fetch_and_add int64", 8, {"dtl": lambda: dtl.rma_fetch_and_add(win, 1, ctr, 1, dtype=np.int64),
                                            "mpi4py MPI.Win": m_fao}),
                ("put 4 MiB", big, {"dtl": lambda: dtl.rma_put(win, 1, 0, blob), "mpi4py MPI.Win": m_bput}),
                ("get 4 MiB", big, {"dtl": lambda: dtl.rma_get(win, 1, 0, big, np.float64),
                                    "mpi4py MPI.Win": m_bget}),
                ("accumulate 4 MiB", big, {"dtl": lambda: dtl.rma_accumulate(win, 1, 0, blob, "sum"),
                                           "mpi4py MPI.Win": m_bacc}),
            ]
            for case, nbytes, impls in cases:
                if b.quick:
                    case = case.replace("4 MiB", "64 KiB")
                b.measure("rma", case, impls, reps, nbytes // 8, nbytes, collective=False,
                          targets={"mpi4py MPI.Win": TARGET})
        comm.Barrier()
        # ---------------------------------------------- checks (rank 0 on rank 1's memory)
        ok = True
        if rank == 0:
            dtl.rma_put(win, 1, 0, np.array([5.0]))
            dtl.rma_accumulate(win, 1, 0, np.array([2.0]), "sum")
            ok &= float(dtl.rma_get(win, 1, 0, 8, np.float64)[0]) == 7.0
            dtl.rma_put(win, 1, ctr, np.array([10], dtype=np.int64))
            ok &= int(dtl.rma_fetch_and_add(win, 1, ctr, 3, dtype=np.int64)) == 10
            ok &= int(dtl.rma_get(win, 1, ctr, 8, np.int64)[0]) == 13
            mwin.Put(np.array([5.0]), 1, 0)
            mwin.Accumulate(np.array([2.0]), 1, 0, MPI.SUM)
            mwin.Get(out, 1, 0)
            mwin.Flush(1)
            ok &= float(out[0]) == 7.0
            mwin.Put(np.array([10], dtype=np.int64), 1, ctr)
            mwin.Fetch_and_op(np.array([3], dtype=np.int64), old, 1, ctr)
            mwin.Flush(1)
            ok &= int(old[0]) == 10
        comm.Barrier()
        mwin.Unlock_all()
        win.unlock_all()
        b.check(ok, "RMA results")
        mwin.Free()
        win.free()
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
