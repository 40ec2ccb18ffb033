#!/usr/bin/env python3
"""Example 1 of the DTL Python guide (distributed mean), checked against NumPy.

Every rank fills its block of a 1 000 000-element vector with normal random
numbers (seed 42 + rank), and two ``dtl.allreduce`` calls give the global sum
and count. The check gathers the whole vector on rank 0
(``DistributedVector.gather``) and compares the mean with ``np.mean`` of it;
rank 0 broadcasts the verdict so that every rank exits with the same status
(0 correct, 1 wrong).

    mpirun -np 4 python examples/python/distributed_mean.py
"""

import sys

import numpy as np

import dtl

N = 1_000_000

with dtl.Context() as ctx:
    # Create vector with 1M elements
    vec = dtl.DistributedVector(ctx, size=N, dtype=np.float64)

    # Fill with random data
    local = vec.local_view()
    np.random.seed(42 + ctx.rank)
    local[:] = np.random.randn(len(local))

    # Local sum and count
    local_sum = np.sum(local)
    local_count = len(local)

    # Global reduction
    global_sum = dtl.allreduce(ctx, local_sum, op=dtl.SUM)
    global_count = dtl.allreduce(ctx, float(local_count), op=dtl.SUM)
    global_mean = global_sum / global_count

    # Check: the whole vector on rank 0, and NumPy's mean of it.
    everything = vec.gather(root=0)  # collective; None off rank 0
    verdict = np.zeros(1, dtype=np.int64)
    if ctx.is_root:
        assert everything is not None  # gather returns the data on the root
        reference = float(np.mean(everything))
        # Summation order differs (per rank, then across ranks), so allow
        # for rounding: the sum of 1e6 values of size ~1 is exact to ~1e-10.
        ok = global_count == N and everything.shape == (N,) and abs(global_mean - reference) <= 1e-12
        print(f"Global mean: {global_mean:.6f}  ({int(global_count)} elements on {ctx.size} rank(s))")
        print(
            f"NumPy mean of the gathered vector: {reference:.6f}; "
            f"difference {abs(global_mean - reference):.3g} -> {'OK' if ok else 'WRONG'}"
        )
        verdict[0] = 0 if ok else 1
    status = int(dtl.broadcast(ctx, verdict, root=0)[0])

sys.exit(status)
