"""Asynchronous gradient descent with one-sided communication (the mpi4py
tutorial's ``gd_async``): rank 0 holds the parameter vector ``x`` of a
least-squares problem ``min |A x - b|^2`` in an RMA window; every rank
owns some rows of ``A``, and repeatedly reads ``x`` (``rma_get`` under a
shared lock), computes the gradient of its rows and adds ``-lr * grad``
into rank 0's ``x`` with ``rma_accumulate`` — no rank waits for another.
The system is consistent (``b = A x_true``), so every rank's rows have the
same least-squares solution and the asynchronous updates converge to it
whatever the interleaving (with noisy ``b``, ranks that finish last would
pull ``x`` towards their own rows' solution). Checked against
``numpy.linalg.lstsq`` of the whole problem.

    mpirun -np 4 python examples/python/rma_gradient.py
"""

import numpy as np

import dtl

ROWS, COLS, STEPS = 400, 8, 400

with dtl.Context() as ctx:
    p, me = ctx.size, ctx.rank
    rng = np.random.default_rng(7)
    A = rng.standard_normal((ROWS, COLS))
    x_true = np.arange(1.0, COLS + 1)
    b = A @ x_true
    mine = slice(me * ROWS // p, (me + 1) * ROWS // p)
    A_mine, b_mine = A[mine], b[mine]

    x = np.zeros(COLS)                          # rank 0's parameters (others expose nothing)
    win = dtl.Window(ctx, base=x if me == 0 else np.zeros(0))
    lr = 0.5 / ROWS
    for _ in range(STEPS):
        with win.lock(0, mode="shared"):
            x_now = dtl.rma_get(win, target=0, offset=0, size=x.nbytes, dtype=np.float64)
            grad = 2.0 * A_mine.T @ (A_mine @ x_now - b_mine)
            dtl.rma_accumulate(win, target=0, offset=0, data=-lr * grad, op=dtl.SUM)
    ctx.barrier()
    with win.lock(0, mode="shared"):
        final = dtl.rma_get(win, target=0, offset=0, size=x.nbytes, dtype=np.float64)
    ctx.barrier()
    win.free()
    best = np.linalg.lstsq(A, b, rcond=None)[0]
    err = np.max(np.abs(final - best))
    assert err < 1e-8, err
    if ctx.is_root:
        print(f"async gradient descent on {p} ranks: max |x - lstsq| = {err:.2e}")
