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
