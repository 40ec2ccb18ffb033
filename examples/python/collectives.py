#!/usr/bin/env python3
"""Every dtl collective, on NumPy arrays and on containers, checked with NumPy.

Shows each collective of the ``dtl`` module (``allreduce`` with every op,
``reduce``, ``broadcast``, ``gather``, ``scatter``, ``allgather``,
``allgatherv``, ``reduce_scatter``, ``alltoall``, ``scan``, ``exscan``,
``barrier``) and the collective calls of the containers (``from_local``,
``scatter_from``, ``gather``, ``gather_all``, ``dtl.reduce`` of a container,
``dtl.inclusive_scan``/``exclusive_scan``, ``dtl.dot``, a tensor's
``gather``). Every call is collective: every rank makes it, in the same order.

What it checks: rank ``r``'s data is a function of ``r`` alone
(``contribution(r)``: integers drawn with seed ``1000 + r``; the float64
copy holds multiples of 1/4, so every sum below is exact), so every rank
rebuilds all ranks' data locally and computes each expected result with
NumPy (``np.sum``, ``np.cumsum``, ``np.bitwise_and.reduce``, ...) without
communication. Results must be equal, bit for bit. Each rank counts its
failed checks; one final ``allreduce`` makes every rank exit with status 1
if any rank saw a failure.

    mpirun -np 4 python examples/python/collectives.py
"""

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

import dtl

K = 6  # elements per rank in the array collectives

failures: list[str] = []


def check(what: str, got: Any, want: Any) -> None:
    """Records a failure unless ``got`` equals ``want`` (same shape, every element)."""
    g, w = np.asarray(got), np.asarray(want)
    if g.shape != w.shape or not np.array_equal(g, w):
        failures.append(f"{what}: got {g!r}, want {w!r}")


def contribution(r: int) -> npt.NDArray[np.int64]:
    """Rank ``r``'s K integers in -20 .. 20 (the same on every rank that asks)."""
    return np.random.default_rng(1000 + r).integers(-20, 21, size=K, dtype=np.int64)


with dtl.Context() as ctx:
    rank, size = ctx.rank, ctx.size
    ints = contribution(rank)
    floats = ints / 4.0  # exact binary fractions: sums are exact in any order
    all_ints = np.stack([contribution(r) for r in range(size)])  # (size, K): the reference
    all_floats = all_ints / 4.0
    last = size - 1

    # ---- allreduce (MPI_Allreduce), every op
    references: list[tuple[str, Callable[..., Any]]] = [(dtl.SUM, np.sum), (dtl.MIN, np.min), (dtl.MAX, np.max)]
    for op, ref in references:
        check(f"allreduce {op} float64", dtl.allreduce(ctx, floats, op=op), ref(all_floats, axis=0))
        check(f"allreduce {op} int64", dtl.allreduce(ctx, ints, op=op), ref(all_ints, axis=0))
    small = np.clip(ints, -3, 3)  # |product| <= 3**size: no overflow
    check("allreduce prod", dtl.allreduce(ctx, small, op=dtl.PROD),
          np.prod(np.clip(all_ints, -3, 3), axis=0))
    bits = (ints & 0xFF).astype(np.uint16)
    all_bits = (all_ints & 0xFF).astype(np.uint16)
    check("allreduce band", dtl.allreduce(ctx, bits, op=dtl.BAND), np.bitwise_and.reduce(all_bits, axis=0))
    check("allreduce bor", dtl.allreduce(ctx, bits, op=dtl.BOR), np.bitwise_or.reduce(all_bits, axis=0))
    check("allreduce bxor", dtl.allreduce(ctx, bits, op=dtl.BXOR), np.bitwise_xor.reduce(all_bits, axis=0))
    truth = (ints > 0).astype(np.int32)  # logical ops take integers (0 / non-zero), give 0 or 1
    all_truth = all_ints > 0
    check("allreduce land", dtl.allreduce(ctx, truth, op=dtl.LAND), np.all(all_truth, axis=0).astype(np.int32))
    check("allreduce lor", dtl.allreduce(ctx, truth, op=dtl.LOR), np.any(all_truth, axis=0).astype(np.int32))
    check("allreduce lxor", dtl.allreduce(ctx, truth, op=dtl.LXOR),
          (np.sum(all_truth, axis=0) % 2).astype(np.int32))
    n = dtl.allreduce(ctx, 1)  # a Python int in, a Python int out
    if not (isinstance(n, int) and n == size):
        failures.append(f"allreduce of the int 1 gave {n!r}")

    # ---- reduce (MPI_Reduce) onto the last rank: None elsewhere
    got = dtl.reduce(ctx, floats, op=dtl.SUM, root=last)
    if rank == last:
        check("reduce sum", got, all_floats.sum(axis=0))
    elif got is not None:
        failures.append("reduce returned data off the root")

    # ---- broadcast (MPI_Bcast): shape and dtype come from the root
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4) + last
    check("broadcast", dtl.broadcast(ctx, matrix if rank == last else None, root=last), matrix)

    # ---- gather / allgather (MPI_Gather, MPI_Allgather): shape (size, K)
    got = dtl.gather(ctx, ints, root=0)
    if rank == 0:
        check("gather", got, all_ints)
    check("allgather", dtl.allgather(ctx, floats), all_floats)

    # ---- allgatherv (MPI_Allgatherv): rank r sends r + 1 elements
    cat, counts = dtl.allgatherv(ctx, ints[: (rank % K) + 1])
    check("allgatherv data", cat, np.concatenate([all_ints[r, : (r % K) + 1] for r in range(size)]))
    check("allgatherv counts", counts, [(r % K) + 1 for r in range(size)])

    # ---- scatter (MPI_Scatter): row r of the root's (size, 3) array to rank r
    table = np.arange(size * 3, dtype=np.int32).reshape(size, 3) * 10
    check("scatter", dtl.scatter(ctx, table if rank == 0 else None, root=0), table[rank])

    # ---- reduce_scatter: block r of the element-wise sum
    long = np.resize(ints, 2 * size)  # 2 * size elements: 2 per rank
    all_long = np.stack([np.resize(all_ints[r], 2 * size) for r in range(size)])
    check("reduce_scatter", dtl.reduce_scatter(ctx, long, op=dtl.SUM), all_long.sum(axis=0)[2 * rank : 2 * rank + 2])

    # ---- alltoall (MPI_Alltoall): row d goes to rank d; row s of the result came from rank s
    outgoing = np.array([[100 * rank + d, -d] for d in range(size)], dtype=np.int64)
    check("alltoall", dtl.alltoall(ctx, outgoing), np.array([[100 * s + rank, -rank] for s in range(size)]))

    # ---- scan / exscan (MPI_Scan, MPI_Exscan): prefixes over ranks
    check("scan sum", dtl.scan(ctx, floats), np.cumsum(all_floats, axis=0)[rank])
    check("scan max", dtl.scan(ctx, ints, op=dtl.MAX), np.maximum.accumulate(all_ints, axis=0)[rank])
    prefix = np.cumsum(all_ints, axis=0)[rank - 1] if rank > 0 else np.zeros(K, dtype=np.int64)
    check("exscan sum", dtl.exscan(ctx, ints), prefix)  # rank 0 gets SUM's identity, 0

    dtl.barrier(ctx)  # MPI_Barrier

    # ---- containers
    # from_local: the global vector is rank 0's elements, then rank 1's, ...
    vec = dtl.DistributedVector.from_local(ctx, floats)
    whole = all_floats.reshape(-1)
    got = vec.gather(root=0)  # the whole vector on rank 0, None elsewhere
    if rank == 0:
        check("vector gather", got, whole)
    check("vector gather_all", vec.gather_all(), whole)
    check("dtl.reduce(vec, SUM)", dtl.reduce(vec, dtl.SUM), whole.sum())
    check("dtl.reduce(vec, MIN)", dtl.reduce(vec, dtl.MIN), whole.min())
    check("dtl.reduce(vec, MAX)", dtl.reduce(vec, dtl.MAX), whole.max())
    other = dtl.DistributedVector.from_local(ctx, np.full(K, 0.5))
    check("dtl.dot", dtl.dot(vec, other), np.dot(whole, np.full(whole.size, 0.5)))
    dtl.inclusive_scan(vec)  # in place, in global order
    check("dtl.inclusive_scan", vec.gather_all(), np.cumsum(whole))
    counts_vec = dtl.DistributedVector.from_local(ctx, ints)
    dtl.exclusive_scan(counts_vec, init=0)
    check("dtl.exclusive_scan", counts_vec.gather_all(),
          np.concatenate([[0], np.cumsum(all_ints.reshape(-1))[:-1]]))

    # scatter_from: rank 0's array, block-partitioned over the ranks
    source = np.arange(7 * size + 3, dtype=np.int64) ** 2 if rank == 0 else None
    sv = dtl.DistributedVector.scatter_from(ctx, source, root=0)
    expect = (np.arange(7 * size + 3, dtype=np.int64) ** 2)[sv.local_offset : sv.local_offset + sv.local_size]
    check("scatter_from local block", sv.local_view(), expect)
    check("scatter_from sizes", sum(sv.local_sizes), 7 * size + 3)

    # A tensor split by rows, gathered back whole.
    grid = np.arange(5 * size * 3, dtype=np.float64).reshape(5 * size, 3)
    t = dtl.DistributedTensor.scatter_from(ctx, grid if rank == 0 else None, root=0)
    check("tensor gather_all", t.gather_all(), grid)
    check("tensor reduce", dtl.reduce(t, dtl.SUM), grid.sum())

    # ---- verdict: the number of failures over all ranks, on every rank
    for f in failures:
        print(f"rank {rank}: FAILED {f}", file=sys.stderr)
    bad = dtl.allreduce(ctx, len(failures))
    if rank == 0:
        print(f"collectives on {size} rank(s): every result equals NumPy's -> {'OK' if bad == 0 else 'WRONG'}")

sys.exit(0 if bad == 0 else 1)
