#!/usr/bin/env python3
"""Distributed sort of random data in several dtypes, checked with numpy.sort.

Shows ``dtl.sort`` (a sample sort: each rank sorts its part, the ranks agree
on exact splitters with a few small ``MPI_Allgather``/``MPI_Allreduce``
rounds, one ``MPI_Alltoallv`` sends every element to its final owner, each
rank merges what it got), ``dtl.sort(..., reverse=True)``, ``dtl.is_sorted``
and ``dtl.nth_element``/``dtl.median`` (selection without sorting).

Each rank makes a different number of random elements (so the parts are
uneven: ``DistributedVector.from_local`` with a weighted partition whose
weights are the counts) for each dtype: float64 (normal,
with a few NaN), float32, int64 and int32 (the full range), uint8 (many
duplicates) and uint64. ``gather_all`` takes a copy of the whole input
before sorting.

Checks, for every dtype, on every rank: the sorted vector gathered equals
``numpy.sort`` of the gathered input (NaN last, as NumPy puts them); the
descending sort equals the reverse of the ascending one with NaN still
last; every rank keeps its number of elements; ``is_sorted`` is true;
``nth_element(k)`` and ``median`` agree with the sorted array and
``numpy.median``. A final ``allreduce`` of the failure count makes every
rank exit with status 1 if any check failed anywhere.

    mpirun -np 4 python examples/python/distributed_sort.py
"""

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

import dtl

MEAN_PER_RANK = 20_000


def make(rng: np.random.Generator, dtype: Any, n: int) -> npt.NDArray[Any]:
    """``n`` random values of ``dtype``."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        x = rng.standard_normal(n).astype(dt)
        x[rng.integers(0, max(n, 1), size=min(n, 3))] = np.nan  # a few NaN, sorted last
        return x
    if dt == np.uint8:
        return rng.integers(0, 8, size=n, dtype=dt)  # many duplicates
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)


def descending(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """What ``sort(reverse=True)`` gives: numbers descending, NaN still last."""
    s = np.sort(x)
    if s.dtype.kind != "f":
        return s[::-1]
    nan = np.isnan(s)
    return np.concatenate([s[~nan][::-1], s[nan]])


failures: list[str] = []

with dtl.Context() as ctx:
    rng = np.random.default_rng([7, ctx.rank])  # each rank its own stream
    for dtype in [np.float64, np.float32, np.int64, np.int32, np.uint8, np.uint64]:
        name = np.dtype(dtype).name
        n_local = int(rng.integers(MEAN_PER_RANK // 2, 3 * MEAN_PER_RANK // 2))
        counts = [int(c) for c in dtl.allgather(ctx, n_local)]  # collective: every rank's count
        # A weighted partition with these counts keeps each rank's elements where they are.
        v = dtl.DistributedVector.from_local(
            ctx, make(rng, dtype, n_local), partition=dtl.PARTITION_WEIGHTED, weights=counts
        )  # collective
        sizes = v.local_sizes
        before = v.gather_all()  # collective: the whole input on every rank
        reference = np.sort(before)

        t0 = dtl.wtime()
        dtl.sort(v)  # collective
        elapsed = dtl.wtime() - t0
        after = v.gather_all()
        if not np.array_equal(after, reference, equal_nan=reference.dtype.kind == "f"):
            failures.append(f"{name}: sort differs from numpy.sort")
        if v.local_sizes != sizes or v.local_size != n_local:
            failures.append(f"{name}: local sizes changed from {sizes} to {v.local_sizes}")
        if not dtl.is_sorted(v):
            failures.append(f"{name}: is_sorted is false after sort")

        k = v.global_size // 3
        kth = dtl.nth_element(v, k)  # collective; the vector is unchanged
        if not (kth == reference[k] or (np.isnan(kth) and np.isnan(reference[k]))):
            failures.append(f"{name}: nth_element({k}) = {kth}, sorted[{k}] = {reference[k]}")
        if reference.dtype.kind != "f":  # numpy.median of data with NaN is NaN: check it on integers
            med, ref_med = dtl.median(v), float(np.median(before))
            if med != ref_med:
                failures.append(f"{name}: median {med} != numpy.median {ref_med}")

        dtl.sort(v, reverse=True)  # collective
        down = v.gather_all()
        if not np.array_equal(down, descending(before), equal_nan=reference.dtype.kind == "f"):
            failures.append(f"{name}: descending sort is not numpy.sort reversed (NaN last)")
        if not dtl.is_sorted(v, reverse=True):
            failures.append(f"{name}: is_sorted(reverse=True) is false")

        if ctx.is_root:
            print(f"{name:>8}: {v.global_size:>8} elements on {ctx.size} rank(s), "
                  f"sizes {sizes}, sorted in {elapsed:.3f} s")

    for f in failures:
        print(f"rank {ctx.rank}: FAILED {f}", file=sys.stderr)
    bad = dtl.allreduce(ctx, len(failures))  # collective: every rank gets the verdict
    if ctx.is_root:
        print(f"every dtype sorted as numpy.sort sorts it -> {'OK' if bad == 0 else 'WRONG'}")

sys.exit(0 if bad == 0 else 1)
