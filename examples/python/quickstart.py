#!/usr/bin/env python3
"""The Quick Start of the DTL Python guide, with its answer checked.

Each rank fills its block of a 1000-element distributed vector with the
global indices of its elements, sums it locally, and ``dtl.allreduce`` adds
the local sums. The total must be 0 + 1 + ... + 999 = 999 * 1000 / 2 on
every rank, and ``vec.get(N - 1)`` (a one-sided read from the last rank)
must be N - 1; the script exits with status 1 otherwise.

    mpirun -np 4 python examples/python/quickstart.py
"""

import sys

import numpy as np

import dtl

N = 1000

# Create execution context
with dtl.Context() as ctx:
    print(f"Rank {ctx.rank} of {ctx.size}")

    # Create distributed vector (1000 elements, float64)
    vec = dtl.DistributedVector(ctx, size=N, dtype=np.float64)

    # Access local partition as NumPy array (zero-copy)
    local = vec.local_view()
    local[:] = np.arange(len(local)) + vec.local_offset

    # Collective reduce
    local_sum = np.sum(local)
    global_sum = dtl.allreduce(ctx, local_sum, op=dtl.SUM)

    expected = (N - 1) * N // 2  # 499500, exact in float64
    ok = global_sum == expected  # the same result on every rank

    # One-sided read of the last element, owned by the last rank (MPI_Get).
    last = vec.get(N - 1)
    ctx.barrier()  # nobody drops vec while another rank may still read it
    ok = ok and last == N - 1
    if ctx.is_root:
        print(f"Global sum: {global_sum}")
        print(f"Expected:   {expected}; vec.get({N - 1}) = {last} -> {'OK' if ok else 'WRONG'}")

sys.exit(0 if ok else 1)
