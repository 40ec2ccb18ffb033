import gc

import numpy as np
import pytest
from conftest import DTYPES, block_range, pattern, sizes_for

import dtl

CLASSES = [dtl.DistributedVector, dtl.DistributedArray]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_layout_and_gather(ctx, cls, dtype):
    for n in sizes_for(ctx.size):
        c = cls(ctx, size=n, dtype=dtype)
        lo, hi = block_range(n, ctx.size, ctx.rank)
        assert c.global_size == n and len(c) == n and c.shape == (n,)
        assert c.local_size == hi - lo and c.local_shape == (hi - lo,)
        assert c.local_offset == lo if hi > lo else True
        assert c.dtype == np.dtype(dtype)
        assert c.partition_policy == dtl.PARTITION_BLOCK and c.placement_policy == dtl.PLACEMENT_HOST
        local = c.local_view()
        assert local.dtype == np.dtype(dtype) and local.shape == (hi - lo,)
        assert np.all(local == 0)
        local[:] = pattern(n, dtype)[lo:hi]
        expected = pattern(n, dtype)
        full = c.gather(root=0)
        if ctx.is_root:
            np.testing.assert_array_equal(full, expected)
            assert full.dtype == np.dtype(dtype)
        else:
            assert full is None
        np.testing.assert_array_equal(c.gather_all(), expected)
        np.testing.assert_array_equal(c.to_numpy(), expected[lo:hi])


@pytest.mark.parametrize("cls", CLASSES)
def test_owner_and_is_local(ctx, cls):
    for n in sizes_for(ctx.size):
        c = cls(ctx, n)
        for i in range(n):
            owner = next(r for r in range(ctx.size) if block_range(n, ctx.size, r)[0] <= i < block_range(n, ctx.size, r)[1])
            assert c.owner(i) == owner
            assert c.is_local(i) == (owner == ctx.rank)
        with pytest.raises(dtl.BoundsError, match=f"out of range 0..{n}"):
            c.owner(n)
        with pytest.raises(IndexError):
            c.owner(-1)
        assert not c.is_local(n) and not c.is_local(-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_keyword_and_method(ctx, dtype):
    v = dtl.DistributedVector(ctx, size=23, dtype=dtype, fill=7)
    assert np.all(v.local_view() == 7)
    v.fill(3)
    np.testing.assert_array_equal(v.gather_all(), np.full(23, 3, dtype=dtype))


def test_local_view_is_zero_copy(ctx):
    v = dtl.DistributedVector(ctx, 100, dtype=np.float64)
    a = v.local_view()
    b = v.local_view()
    a[:] = 1.5
    assert np.all(b == 1.5)
    np.multiply(a, 2, out=a)
    assert np.all(v.to_numpy() == 3.0)
    assert np.shares_memory(a, b)


def test_view_outlives_container_name(ctx):
    local = dtl.DistributedVector(ctx, 1000, dtype=np.float64, fill=2.0).local_view()
    gc.collect()
    local[:] += 1  # safe: the view keeps its container alive
    assert np.all(local == 3.0)
    part = local[1:4]
    del local
    gc.collect()
    part[:] = 9
    assert np.all(part == 9)


def test_from_numpy(ctx):
    v = dtl.DistributedArray(ctx, 30, dtype=np.int32)
    v.from_numpy(np.arange(v.local_size) + v.local_offset)
    np.testing.assert_array_equal(v.gather_all(), np.arange(30, dtype=np.int32))
    with pytest.raises(dtl.InvalidArgumentError, match="from_numpy"):
        v.from_numpy(np.zeros(v.local_size + 1))


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.uint8])
def test_resize_keeps_global_order(ctx, dtype):
    v = dtl.DistributedVector(ctx, 10, dtype=dtype)
    lo, hi = block_range(10, ctx.size, ctx.rank)
    v.local_view()[:] = pattern(10, dtype)[lo:hi]
    for n in [25, 3, 0, 12]:
        old = v.gather_all()
        v.resize(n, fill=5)
        expected = np.concatenate([old[:n], np.full(max(0, n - len(old)), 5, dtype=dtype)])
        assert v.global_size == n
        lo, hi = block_range(n, ctx.size, ctx.rank)
        assert v.local_size == hi - lo
        np.testing.assert_array_equal(v.gather_all(), expected)


def test_resize_refuses_while_views_alive(ctx):
    v = dtl.DistributedVector(ctx, 10)
    view = v.local_view()
    with pytest.raises(dtl.DTLError, match="local view"):
        v.resize(20)
    del view
    gc.collect()
    v.resize(20)
    assert v.global_size == 20


def test_array_has_no_resize(ctx):
    a = dtl.DistributedArray(ctx, 10)
    assert not hasattr(a, "resize")


def test_scatter_from_and_from_local(ctx):
    data = np.arange(37, dtype=np.int64) * 3 if ctx.is_root else None
    v = dtl.DistributedVector.scatter_from(ctx, data, root=0)
    np.testing.assert_array_equal(v.gather_all(), np.arange(37) * 3)
    # uneven local parts: rank r contributes r+1 elements
    local = np.full(ctx.rank + 1, ctx.rank, dtype=np.float32)
    w = dtl.DistributedVector.from_local(ctx, local)
    expected = np.concatenate([np.full(r + 1, r, dtype=np.float32) for r in range(ctx.size)])
    assert w.global_size == len(expected)
    np.testing.assert_array_equal(w.gather_all(), expected)
    g = dtl.DistributedArray.from_global(ctx, np.arange(11, dtype=np.uint16))
    lo, hi = block_range(11, ctx.size, ctx.rank)
    np.testing.assert_array_equal(g.local_view(), np.arange(lo, hi, dtype=np.uint16))


@pytest.mark.parametrize("bad", [-1, -1000])
def test_negative_size_is_invalid_argument(ctx, bad):
    with pytest.raises(dtl.InvalidArgumentError, match=r"size must be >= 0, got -1"[: 20]):
        dtl.DistributedVector(ctx, bad)
    with pytest.raises(ValueError):
        dtl.DistributedArray(ctx, bad)


def test_bad_size_types(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="size"):
        dtl.DistributedVector(ctx, 2.5)
    with pytest.raises(dtl.InvalidArgumentError, match="size"):
        dtl.DistributedVector(ctx, "ten")


@pytest.mark.parametrize("dtype", [np.complex128, np.bool_, "U3", object])
def test_unsupported_dtype(ctx, dtype):
    with pytest.raises(dtl.InvalidArgumentError, match="dtype must be one of"):
        dtl.DistributedVector(ctx, 10, dtype=dtype)


def test_dtype_spellings(ctx):
    for spelling in ["float32", np.float32, np.dtype("float32"), "f4"]:
        assert dtl.DistributedVector(ctx, 3, dtype=spelling).dtype == np.float32


def test_fill_out_of_range(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="fill"):
        dtl.DistributedVector(ctx, 3, dtype=np.uint8, fill=300)


@pytest.mark.mpi(min_size=2)
def test_mismatched_sizes_raise_everywhere(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.DistributedVector(ctx, 10 + ctx.rank)
    # still usable afterwards
    assert dtl.allreduce(ctx, 1) == ctx.size


def test_vector_scatter_from_rejects_nd(ctx):
    data = np.arange(12).reshape(3, 4) if ctx.is_root else None
    with pytest.raises(dtl.InvalidArgumentError, match="1-D" if ctx.is_root else "root rank 0 rejected"):
        dtl.DistributedVector.scatter_from(ctx, data, root=0)
    assert dtl.allreduce(ctx, 1) == ctx.size
