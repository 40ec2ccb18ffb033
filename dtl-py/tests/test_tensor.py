import numpy as np
import pytest
from conftest import DTYPES, block_range

import dtl


def shapes(size):
    return [(n,) + rest for n in sorted({0, 1, size - 1 if size > 1 else 2, size + 1, 10}) for rest in [(), (3,), (2, 2)]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_layout_gather(ctx, dtype):
    for shape in shapes(ctx.size):
        t = dtl.DistributedTensor(ctx, shape=shape, dtype=dtype)
        lo, hi = block_range(shape[0], ctx.size, ctx.rank)
        assert t.shape == shape and t.ndim == len(shape)
        assert t.local_shape == (hi - lo,) + shape[1:]
        full = (np.arange(int(np.prod(shape))) % 97).astype(dtype).reshape(shape)
        view = t.local_view()
        assert view.shape == t.local_shape
        view[...] = full[lo:hi]
        np.testing.assert_array_equal(t.gather_all(), full)
        g = t.gather(root=ctx.size - 1)
        if ctx.rank == ctx.size - 1:
            np.testing.assert_array_equal(g, full)
        else:
            assert g is None


def test_tensor_scatter_from(ctx):
    full = np.random.default_rng(1).normal(size=(13, 4, 2))
    t = dtl.DistributedTensor.scatter_from(ctx, full if ctx.is_root else None, root=0)
    lo, hi = block_range(13, ctx.size, ctx.rank)
    np.testing.assert_array_equal(t.local_view(), full[lo:hi])
    assert t.dtype == np.float64
    # non-contiguous input on the root
    t2 = dtl.DistributedTensor.scatter_from(ctx, full[:, ::2, 0].T if ctx.is_root else None)
    np.testing.assert_array_equal(t2.gather_all(), full[:, ::2, 0].T)


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("rows", [0, 1, 2, 5, 9])
def test_halo_exchange_matches_global_rows(ctx, width, rows):
    full = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3)
    t = dtl.DistributedTensor(ctx, (rows, 3))
    lo, hi = block_range(rows, ctx.size, ctx.rank)
    t.local_view()[...] = full[lo:hi]
    lower, upper = t.halo_exchange(width)
    if hi > lo:
        np.testing.assert_array_equal(lower, full[max(0, lo - width) : lo])
        np.testing.assert_array_equal(upper, full[hi : min(rows, hi + width)])
    else:
        assert lower.shape == (0, 3) and upper.shape == (0, 3)
    padded = t.local_with_halo(width)
    if hi > lo:
        np.testing.assert_array_equal(padded, full[max(0, lo - width) : min(rows, hi + width)])


def test_halo_stencil_equals_numpy_gradient(ctx):
    grid = np.random.default_rng(7).normal(size=(11, 6))
    t = dtl.DistributedTensor.scatter_from(ctx, grid if ctx.is_root else None)
    lo, hi = block_range(11, ctx.size, ctx.rank)
    padded = t.local_with_halo(1)
    if hi > lo and padded.shape[0] >= 2:
        g = np.gradient(padded, axis=0)
        start = lo - max(0, lo - 1)
        np.testing.assert_allclose(g[start : start + (hi - lo)], np.gradient(grid, axis=0)[lo:hi], rtol=0, atol=1e-12)


def test_tensor_bad_input(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="shape"):
        dtl.DistributedTensor(ctx, (3, -2))
    with pytest.raises(dtl.InvalidArgumentError, match="ndim >= 1"):
        dtl.DistributedTensor(ctx, ())
    t = dtl.DistributedTensor(ctx, (4, 2))
    with pytest.raises(dtl.BoundsError):
        t.owner(4)
    with pytest.raises(dtl.InvalidArgumentError, match="from_numpy"):
        t.from_numpy(np.zeros(t.local_size + 2))
    with pytest.raises(dtl.InvalidArgumentError, match="width"):
        t.halo_exchange(-1)
