#!/usr/bin/env python3
"""Example 2 of the DTL Python guide (distributed dot product), checked.

a[i] = i and b[i] = 2 for i in 0..N-1, so a . b = 2 * (0 + ... + N-1) =
N * (N - 1). Every term and partial sum is an integer below 2**53, so the
float64 result must equal it exactly; the script exits with status 1 if it
does not.

    mpirun -np 4 python examples/python/dot_product.py
"""

import sys

import numpy as np

import dtl

with dtl.Context() as ctx:
    N = 100_000

    # Create two vectors
    a = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
    b = dtl.DistributedVector(ctx, size=N, dtype=np.float64)

    # Initialize
    local_a = a.local_view()
    local_b = b.local_view()
    local_a[:] = np.arange(len(local_a)) + a.local_offset
    local_b[:] = 2.0

    # Local dot product
    local_dot = np.dot(local_a, local_b)

    # Global sum
    global_dot = dtl.allreduce(ctx, local_dot, op=dtl.SUM)

    # Expected: 2 * sum(0..N-1) = 2 * N*(N-1)/2 = N*(N-1)
    expected = N * (N - 1)
    ok = global_dot == expected  # the same on every rank
    if ctx.is_root:
        print(f"Dot product: {global_dot:.0f}")
        print(f"Expected: {expected} -> {'OK' if ok else 'WRONG'}")

sys.exit(0 if ok else 1)
