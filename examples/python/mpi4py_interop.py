#!/usr/bin/env python3
"""mpi4py interoperability, as in the DTL Python guide, with checks.

mpi4py initialises MPI here (on import) and dtl adopts it. A dtl context is
made over ``MPI.COMM_WORLD``, the world is split by rank parity with mpi4py's
``Split``, and a second dtl context is made over each half. Collectives on
the sub-context involve only the ranks of that half. Checks:

* the world context has the same rank and size as ``MPI.COMM_WORLD``;
* a 1000-element ``DistributedVector`` on the sub-context is spread over
  that half only: its local sizes add up to 1000 across the half, and its
  elements (set to their global indices) sum to 999 * 1000 / 2;
* ``dtl.allreduce`` over the sub-context of each rank's *world* rank equals
  the sum of the world ranks of that parity only, and equals what mpi4py's
  own ``sub_comm.allreduce`` gives.

Every rank checks its own half, and the verdicts are combined over the world
context, so that every rank exits with status 0 only if all checks passed.

    mpirun -np 4 python examples/python/mpi4py_interop.py
"""

import sys

import numpy as np
from mpi4py import MPI

import dtl

# Use existing communicator
world = MPI.COMM_WORLD
ctx = dtl.Context(comm=world)

# Split communicator
color = ctx.rank % 2
sub_comm = world.Split(color, ctx.rank)
sub_ctx = dtl.Context(comm=sub_comm)

# Operations within sub-communicator
vec = dtl.DistributedVector(sub_ctx, 1000)
# Collectives only involve ranks in sub_comm

failures = []
if (ctx.rank, ctx.size) != (world.Get_rank(), world.Get_size()):
    failures.append(
        f"world context is rank {ctx.rank} of {ctx.size}, MPI.COMM_WORLD says {world.Get_rank()} of {world.Get_size()}"
    )
members = [r for r in range(ctx.size) if r % 2 == color]
if sub_ctx.size != len(members) or sub_ctx.rank != members.index(ctx.rank):
    failures.append(
        f"sub-context is rank {sub_ctx.rank} of {sub_ctx.size}, expected {members.index(ctx.rank)} of {len(members)}"
    )

local = vec.local_view()
local[:] = np.arange(vec.local_size) + vec.local_offset
n_sub = dtl.allreduce(sub_ctx, vec.local_size, op=dtl.SUM)
vec_sum = dtl.allreduce(sub_ctx, float(local.sum()), op=dtl.SUM)
if n_sub != 1000 or vec_sum != 999 * 1000 / 2:
    failures.append(f"vector over the half: {n_sub} elements summing to {vec_sum}, expected 1000 and 499500")

rank_sum = dtl.allreduce(sub_ctx, ctx.rank, op=dtl.SUM)  # world ranks of this parity only
expected = sum(members)
theirs = sub_comm.allreduce(ctx.rank, op=MPI.SUM)
if rank_sum != expected or theirs != expected:
    failures.append(
        f"allreduce of world ranks over the half gave {rank_sum} (dtl) and {theirs} "
        f"(mpi4py), expected {expected} = sum of {members}"
    )

for f in failures:
    print(f"rank {ctx.rank}: WRONG: {f}", flush=True)

# Gather one line per half on world rank 0 (the first rank of each half reports).
report = np.array([color, sub_ctx.size, rank_sum, int(sub_ctx.rank == 0)], dtype=np.int64)
lines = dtl.gather(ctx, report, root=0)
bad = dtl.allreduce(ctx, len(failures), op=dtl.SUM)
if ctx.is_root:
    assert lines is not None  # gather returns the data on the root
    print(f"{ctx.size} world ranks, split by parity with mpi4py's Split")
    for c, size, total, first in lines:
        if first:
            print(
                f"  {'even' if c == 0 else 'odd '} ranks: sub-context of {size}, "
                f"allreduce(world rank) = {total} (sum of {[r for r in range(ctx.size) if r % 2 == c]})"
            )
    print("OK" if bad == 0 else f"WRONG: {bad} failed check(s)")

sub_comm.Free()  # dtl holds its own duplicate; the user's communicator is the user's to free
sys.exit(0 if bad == 0 else 1)
