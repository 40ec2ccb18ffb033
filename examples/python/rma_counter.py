"""The guide's distributed counter: every rank atomically increments rank
0's counter ``INCREMENTS`` times with ``rma_fetch_and_add`` under an
exclusive lock. The final value is INCREMENTS x size, and every old value
0 .. INCREMENTS*size-1 was seen exactly once (checked on rank 0, which
broadcasts the verdict: every rank exits with status 1 if it is wrong).

    mpirun -np 4 python examples/python/rma_counter.py
"""

import sys

import numpy as np

import dtl

INCREMENTS = 100

with dtl.Context() as ctx:
    counter = np.zeros(1, dtype=np.int64)
    with dtl.Window(ctx, base=counter) as win:
        seen: list[int] = []
        for _ in range(INCREMENTS):
            with win.lock(target=0, mode="exclusive"):
                seen.append(int(dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64)))
        ctx.barrier()
        everyone, _counts = dtl.allgatherv(ctx, np.array(seen, dtype=np.int64))
        verdict = np.zeros(1, dtype=np.int64)
        if ctx.is_root:
            ok = counter[0] == INCREMENTS * ctx.size and sorted(everyone.tolist()) == list(
                range(INCREMENTS * ctx.size)
            )
            print(f"Final counter value: {counter[0]} (= {INCREMENTS} x {ctx.size} ranks) -> {'OK' if ok else 'WRONG'}")
            verdict[0] = 0 if ok else 1
        status = int(dtl.broadcast(ctx, verdict, root=0)[0])

sys.exit(status)
