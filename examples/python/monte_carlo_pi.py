#!/usr/bin/env python3
"""Monte Carlo estimate of pi over all ranks, reproducible and checked.

Shows the embarrassingly parallel pattern: the N samples are split over
the ranks as a block partition would split N elements (rank r draws
``n_r`` points, the first ``N mod size`` ranks one more), each rank counts
the points of the unit square that fall inside the quarter circle, and
``dtl.allreduce`` adds the counts; pi ~= 4 * hits / N.

Reproducible per-rank streams: rank r draws from
``np.random.default_rng(np.random.SeedSequence(SEED).spawn(size)[r])``,
NumPy's recipe for independent parallel streams, in batches of at most
BATCH points. A run at a given number of ranks gives the same bits every
time.

Checks (rank 0 decides, ``dtl.broadcast`` gives every rank the verdict,
exit status 1 if wrong):

* statistical: hits is Binomial(N, pi/4), so the estimate's standard
  deviation is ``4 * sqrt(p (1 - p) / N)``; the estimate must lie within
  5 of them of pi (a false alarm has probability below 1e-6);
* exact: rank 0 regenerates every rank's stream in one process, counts
  again, and must find the same per-rank counts (``dtl.gather``) and
  the same total.

    mpirun -np 4 python examples/python/monte_carlo_pi.py [N]
"""

import math
import sys

import numpy as np

import dtl

SEED = 20240611
BATCH = 1 << 20


def share(n: int, size: int, rank: int) -> int:
    """Points drawn by ``rank``: ``n`` split as a block partition splits n elements."""
    return n // size + (1 if rank < n % size else 0)


def count_hits(seed: np.random.SeedSequence, n: int) -> int:
    """Points of ``n`` uniform draws in [0, 1)^2 with x^2 + y^2 < 1, in batches."""
    rng = np.random.default_rng(seed)
    hits = 0
    left = n
    while left > 0:
        m = min(left, BATCH)
        xy = rng.random((m, 2))
        hits += int(np.count_nonzero(np.einsum("ij,ij->i", xy, xy) < 1.0))
        left -= m
    return hits


n_total = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000

with dtl.Context() as ctx:
    seeds = np.random.SeedSequence(SEED).spawn(ctx.size)  # the same list on every rank
    t0 = dtl.wtime()
    local_hits = count_hits(seeds[ctx.rank], share(n_total, ctx.size, ctx.rank))
    hits = dtl.allreduce(ctx, local_hits)  # collective: MPI_Allreduce; a Python int
    elapsed = dtl.wtime() - t0
    per_rank = dtl.gather(ctx, np.array([local_hits], dtype=np.int64), root=0)  # collective

    verdict = np.zeros(1, dtype=np.int64)
    if ctx.is_root:
        assert per_rank is not None  # gather returns the data on the root
        estimate = 4.0 * hits / n_total
        p = math.pi / 4
        sigma = 4.0 * math.sqrt(p * (1 - p) / n_total)
        within = abs(estimate - math.pi) <= 5 * sigma
        # The same samples drawn again in one process.
        serial = [count_hits(seeds[r], share(n_total, ctx.size, r)) for r in range(ctx.size)]
        same = serial == per_rank.reshape(-1).tolist() and sum(serial) == hits
        print(f"pi ~= {estimate:.6f} from {n_total} samples on {ctx.size} rank(s) ({elapsed:.3f} s)")
        print(f"  |estimate - pi| = {abs(estimate - math.pi):.2e}, 5 sigma = {5 * sigma:.2e} -> "
              f"{'OK' if within else 'WRONG'}")
        print(f"  one-process recount of the same samples: {sum(serial)} hits -> {'OK' if same else 'WRONG'}")
        verdict[0] = 0 if within and same else 1
    status = int(dtl.broadcast(ctx, verdict, root=0)[0])

sys.exit(status)
