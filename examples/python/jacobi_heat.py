#!/usr/bin/env python3
"""Jacobi iterations with halo exchange: a 1-D rod and a 2-D plate, checked.

Both solve the steady heat equation -laplace(u) = f with u = 0 on the
boundary (a fixed Dirichlet boundary, held by the ghost cells) by Jacobi
iteration, each rank updating its own part from a padded copy that
``local_with_halo`` returns:

* rod: a ``DistributedVector`` of N points. ``vec.local_with_halo(1,
  boundary=0.0)`` gives this rank's points with one ghost point on each
  side (the neighbour's point, or 0.0 past the ends), so
  ``u_new = (p[:-2] + p[2:] + h*h*f) / 2`` on every local point.
* ring: the same rod bent into a ring, ``periodic=True`` (the first rank
  gets the last point as its lower ghost and vice versa), with explicit
  diffusion steps, which keep the total heat.
* plate: a ``DistributedTensor`` of ROWS x COLS points split by rows.
  ``t.local_with_halo([(1, 1), (1, 1)], boundary=0.0)`` pads the block on
  both axes (neighbour rows along axis 0, zeros elsewhere outside the
  plate), so the 5-point stencil runs on every local point at once.

Each halo call is collective: one ``MPI_Allreduce`` checks the widths, then
``MPI_Isend``/``MPI_Irecv`` between neighbours. At the end the results are
gathered on rank 0 and compared with the same iterations done serially in
NumPy on the whole array (``np.pad`` for the ghosts); the script exits with
status 1 on every rank if any differs by more than 1e-12.

    mpirun -np 4 python examples/python/jacobi_heat.py
"""

import sys
import time

import numpy as np
import numpy.typing as npt

import dtl

N = 200  # rod points
ROD_STEPS = 400
RING_STEPS = 300
ROWS, COLS = 48, 40  # plate points
PLATE_STEPS = 200
TOL = 1e-12

# (name, parallel result gathered on rank 0, serial result, summary line)
Result = tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64], str]


def rod_source(n: int) -> npt.NDArray[np.float64]:
    """A heat source on the middle fifth of the rod."""
    x = (np.arange(n) + 1) / (n + 1)
    return np.where(np.abs(x - 0.5) < 0.1, 1.0, 0.0)


def plate_source(rows: int, cols: int) -> npt.NDArray[np.float64]:
    """A hot square off-centre on the plate."""
    f = np.zeros((rows, cols))
    f[rows // 4 : rows // 4 + 6, cols // 3 : cols // 3 + 5] = 50.0
    return f


def rod(ctx: dtl.Context) -> Result | None:
    h2 = (1.0 / (N + 1)) ** 2
    f = rod_source(N)
    u = dtl.DistributedVector(ctx, size=N, dtype=np.float64)  # starts at 0
    mine = slice(u.local_offset, u.local_offset + u.local_size)
    for _ in range(ROD_STEPS):
        p = u.local_with_halo(1, boundary=0.0)  # collective; len = local_size + 2
        u.local_view()[:] = 0.5 * (p[:-2] + p[2:] + h2 * f[mine])
    got = u.gather(root=0)
    if got is None:  # not the root
        return None
    s = np.zeros(N)
    for _ in range(ROD_STEPS):
        p = np.pad(s, 1, mode="constant", constant_values=0.0)
        s = 0.5 * (p[:-2] + p[2:] + h2 * f)
    return "rod", got, s, f"u max {got.max():.6f} at x = {(np.argmax(got) + 1) / (N + 1):.3f}"


def ring(ctx: dtl.Context) -> Result | None:
    r = 0.25  # diffusion number (stable below 0.5)
    u0 = np.exp(-(((np.arange(N) - N / 8) / 6.0) ** 2))  # a hot spot near the seam
    u = dtl.DistributedVector.from_global(ctx, u0)
    for _ in range(RING_STEPS):
        p = u.local_with_halo(1, periodic=True)  # collective; wraps around the ring
        u.local_view()[:] = p[1:-1] + r * (p[:-2] - 2.0 * p[1:-1] + p[2:])
    got = u.gather(root=0)
    if got is None:  # not the root
        return None
    s = u0.copy()
    for _ in range(RING_STEPS):
        p = np.pad(s, 1, mode="wrap")
        s = p[1:-1] + r * (p[:-2] - 2.0 * p[1:-1] + p[2:])
    drift = abs(got.sum() - u0.sum())
    return "ring", got, s, f"total heat {got.sum():.6f} (start {u0.sum():.6f}, drift {drift:.1e})"


def plate(ctx: dtl.Context) -> Result | None:
    h2 = (1.0 / (COLS + 1)) ** 2
    f = plate_source(ROWS, COLS)
    t = dtl.DistributedTensor(ctx, (ROWS, COLS), dtype=np.float64)  # starts at 0
    mine = slice(t.local_offset, t.local_offset + t.local_shape[0])
    for _ in range(PLATE_STEPS):
        p = t.local_with_halo([(1, 1), (1, 1)], boundary=0.0)  # collective
        t.local_view()[...] = 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + h2 * f[mine])
    got = t.gather(root=0)
    if got is None:  # not the root
        return None
    s = np.zeros((ROWS, COLS))
    for _ in range(PLATE_STEPS):
        p = np.pad(s, 1, mode="constant", constant_values=0.0)
        s = 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + h2 * f)
    i, j = np.unravel_index(np.argmax(got), got.shape)
    return "plate", got, s, f"u max {got.max():.6f} at ({i}, {j})"


with dtl.Context() as ctx:
    t0 = time.perf_counter()
    results = [rod(ctx), ring(ctx), plate(ctx)]
    dt = time.perf_counter() - t0
    failures: list[str] = []
    if ctx.is_root:
        print(f"jacobi_heat: {ctx.size} rank(s), {dt:.3f} s")
        for result in results:
            assert result is not None  # every part returns its result on the root
            name, got, want, summary = result
            diff = float(np.max(np.abs(got - want))) if got.size else 0.0
            print(f"  {name:5s} shape {got.shape}: {summary}; max |parallel - serial| = {diff:.1e}")
            if not diff <= TOL:
                failures.append(f"{name}: parallel and serial results differ by {diff:e} (limit {TOL:e})")
    nfail = int(dtl.broadcast(ctx, np.array([len(failures)]), root=0)[0])
    if ctx.is_root:
        for msg in failures:
            print(f"jacobi_heat: FAILED: {msg}", file=sys.stderr)
        if not failures:
            print("  ok")

sys.exit(1 if nfail else 0)
