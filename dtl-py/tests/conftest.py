"""Shared fixtures. The same tests run single-process (`pytest`) and under
`mpirun -np N python -m pytest --with-mpi`; every expected value is computed
independently with NumPy or a closed form."""

import numpy as np
import pytest

import dtl

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.float32, np.float64]
GUIDE_DTYPES = [np.float64, np.float32, np.int64, np.int32, np.uint64, np.uint32, np.int8, np.uint8]


@pytest.fixture(scope="session")
def ctx():
    with dtl.Context() as c:
        yield c


def block_range(n, size, rank):
    """Closed form of the block partition: remainder to the lowest ranks."""
    q, r = divmod(n, size)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def sizes_for(size):
    return sorted({0, 1, max(size - 1, 0), size, size + 1, 17, 1000})


def pattern(n, dtype):
    """A deterministic value per global index that fits every dtype."""
    return (np.arange(n) % 100).astype(dtype)


def model_policies(size):
    """(name, kwargs(n), model(n) -> per-rank lists of global indices in local order)."""

    def block(n):
        return [list(range(*block_range(n, size, k))) for k in range(size)]

    def counts(n):  # uneven: half on the last rank, the rest on rank 0
        c = [0] * size
        c[-1] += n // 2
        c[0] += n - n // 2
        return c

    def weighted(n):
        out, nxt = [], 0
        for c in counts(n):
            out.append(list(range(nxt, nxt + c)))
            nxt += c
        return out

    return [
        ("block", lambda n: dict(partition=dtl.PARTITION_BLOCK), block),
        ("cyclic", lambda n: dict(partition=dtl.PARTITION_CYCLIC), lambda n: [list(range(k, n, size)) for k in range(size)]),
        (
            "block_cyclic3",
            lambda n: dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=3),
            lambda n: [[i for i in range(n) if (i // 3) % size == k] for k in range(size)],
        ),
        ("weighted", lambda n: dict(partition=dtl.PARTITION_WEIGHTED, weights=counts(n)), weighted),
        ("replicated", lambda n: dict(partition=dtl.PARTITION_REPLICATED), lambda n: [list(range(n))] * size),
    ]


def pattern_values(n, dtype):
    return ((np.arange(n) * 7 + 3) % 101).astype(dtype)
