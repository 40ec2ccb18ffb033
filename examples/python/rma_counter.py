"""The guide's distributed counter: every rank atomically increments rank
0's counter ``INCREMENTS`` times with ``rma_fetch_and_add`` under an
exclusive lock. The final value is INCREMENTS x size, and every old value
0 .. INCREMENTS*size-1 was seen exactly once (checked)."""

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
        if ctx.is_root:
            assert counter[0] == INCREMENTS * ctx.size, counter[0]
            assert sorted(everyone.tolist()) == list(range(INCREMENTS * ctx.size))
            print(f"Final counter value: {counter[0]} (= {INCREMENTS} x {ctx.size} ranks)")
