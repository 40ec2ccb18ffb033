"""A ring of one-sided puts: in each of ``size`` rounds every rank puts the
token it holds into its right neighbour's window (a fence epoch per
round), so after ``size`` rounds every token is back home. Checked on every
rank.

The token is copied out of the window *before* the fence that opens the
round: once a rank has called that fence, its neighbour's put may land at
any moment of the epoch, and MPI forbids reading window memory that a
remote put is updating in the same epoch.

    mpirun -np 4 python examples/python/rma_ring.py
"""

import numpy as np

import dtl

with dtl.Context() as ctx:
    p, me = ctx.size, ctx.rank
    slot = np.array([1000.0 + me])          # the token this rank holds, exposed
    with dtl.Window(ctx, base=slot) as win:
        for step in range(p):
            token = slot.copy()             # outside any epoch
            win.fence()                     # opens the round's epoch
            dtl.rma_put(win, target=(me + 1) % p, offset=0, data=token)
            win.fence(last=True)            # ends it: every put has landed
            assert slot[0] == 1000.0 + (me - step - 1) % p, (me, step, slot[0])
    assert slot[0] == 1000.0 + me
    if ctx.is_root:
        print(f"token ring of {p} ranks: every token went round and came home")
