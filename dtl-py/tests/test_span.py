"""dtl.DistributedSpan over every partition, for 1-D containers and tensors
split along different axes; expected values come from NumPy on the global
array and a brute-force model of each partition. Every test ends with a
collective so the ranks stay in step."""

import gc

import numpy as np
import pytest
from conftest import model_policies as policies
from conftest import pattern_values as values

import dtl

SIZES = [0, 1, 5, 40]


def windows(n):
    """A few (a, b) ranges of 0..n: the whole, empty ones, both ends, the middle."""
    w = {(0, n), (n // 3, min(n // 2 + 1, n)), (min(1, n), max(n - 1, min(1, n))), (n, n), (n // 2, n // 2)}
    w |= {(0, min(1, n)), (max(n - 3, 0), n)}
    return sorted(w)


def total(ctx, x):
    return int(dtl.allreduce(ctx, int(x), op=dtl.SUM))


def base_owner(arr):
    """Follows .base to the end of the chain (the _LocalViewOwner)."""
    while isinstance(arr, np.ndarray) and arr.base is not None:
        arr = arr.base
    return arr


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8])
def test_span_every_partition(ctx, cls, dtype):
    for name, kw, model in policies(ctx.size):
        for n in SIZES:
            g = values(n, dtype)
            v = cls.from_global(ctx, g, **kw(n))
            mine = model(n)[ctx.rank]
            span = dtl.DistributedSpan(v)
            what = f"{name} n={n}"
            assert span.source is v
            assert (len(span), span.global_size, span.offset, span.axis) == (n, n, 0, 0), what
            assert (span.rank, span.num_ranks) == (ctx.rank, ctx.size)
            assert span.dtype == np.dtype(dtype)
            assert span.shape == (n,) and span.local_shape == (len(mine),), what
            assert span.local_size == len(mine), what
            assert span.size_bytes == len(mine) * np.dtype(dtype).itemsize, what
            lv = span.local_view()
            np.testing.assert_array_equal(lv, g[mine], err_msg=what)
            if lv.size:
                assert np.shares_memory(lv, v.local_view()), what
            for a, b in windows(n):
                w = f"{what} window {a}..{b}"
                sub = span.subspan(a, b - a)
                idx = [i for i in mine if a <= i < b]
                view = sub.local_view()
                np.testing.assert_array_equal(view, g[idx], err_msg=w)
                assert view.dtype == np.dtype(dtype)
                copy = sub.to_numpy()
                np.testing.assert_array_equal(copy, g[idx], err_msg=w)
                assert not np.shares_memory(copy, v.local_view())
                if view.size:
                    assert np.shares_memory(view, v.local_view()), w
                assert (sub.offset, len(sub), sub.global_size) == (a, b - a, b - a), w
                assert sub.shape == (b - a,) and sub.local_shape == (len(idx),), w
                assert sub.local_size == len(idx), w
                assert sub.size_bytes == view.nbytes == len(idx) * np.dtype(dtype).itemsize, w
                lo, hi = sub.local_range()
                np.testing.assert_array_equal(v.local_view()[lo:hi], g[idx], err_msg=w)
                fl = span.first(b).last(b - a)
                assert (fl.offset, len(fl)) == (a, b - a), w
                np.testing.assert_array_equal(fl.local_view(), g[idx], err_msg=w)
                if b - a >= 2:
                    inner = sub.subspan(1, b - a - 2)
                    assert inner.offset == a + 1
                    np.testing.assert_array_equal(inner.to_numpy(), g[[i for i in idx if a < i < b - 1]], err_msg=w)
                copies = ctx.size if name == "replicated" else 1
                assert total(ctx, sub.local_size) == (b - a) * copies, w
    ctx.barrier()


def test_writes_go_to_the_container(ctx):
    for name, kw, model in policies(ctx.size):
        for n in SIZES:
            for a, b in windows(n):
                g = values(n, np.int64)
                v = dtl.DistributedVector.from_global(ctx, g, **kw(n))
                sub = dtl.DistributedSpan(v).subspan(a, b - a)
                sub.from_numpy(np.full(sub.local_size, -1.9))  # cast like NumPy: -1
                if b - a >= 1:
                    head = sub.first(1).local_view()
                    head[...] = 77
                want = g.copy()
                want[a:b] = -1
                if b - a >= 1:
                    want[a] = 77
                np.testing.assert_array_equal(v.gather_all(), want, err_msg=f"{name} n={n} {a}..{b}")
                np.testing.assert_array_equal(v.local_view(), want[model(n)[ctx.rank]])
    ctx.barrier()


def test_from_numpy_size_mismatch(ctx):
    v = dtl.DistributedVector(ctx, 40, dtype=np.float32, partition=dtl.PARTITION_CYCLIC)
    sub = dtl.DistributedSpan(v).subspan(3, 20)
    k = sub.local_size
    with pytest.raises(dtl.InvalidArgumentError) as e:
        sub.from_numpy(np.zeros(k + 1))
    assert f"{k + 1} elements" in str(e.value) and f"has {k}" in str(e.value)
    assert isinstance(e.value, ValueError)
    sub.from_numpy(np.arange(k).reshape(k, 1))  # any shape with the right size
    np.testing.assert_array_equal(sub.local_view(), np.arange(k))
    ctx.barrier()


def test_bounds_errors(ctx):
    for n in SIZES:
        span = dtl.DistributedSpan(dtl.DistributedArray(ctx, n, dtype=np.int16))
        for off, count in [(n + 1, 0), (0, n + 1), (n, 1), (1, n), (-1, 1), (0, -1)]:
            with pytest.raises(dtl.BoundsError) as e:
                span.subspan(off, count)
            msg = str(e.value)
            assert f"offset {off}" in msg and f"count {count}" in msg and f"0..={n}" in msg, msg
            assert isinstance(e.value, IndexError) and e.value.status_name == "DTL_ERROR_BOUNDS"
        for bad in (n + 1, -1):
            with pytest.raises(dtl.BoundsError):
                span.first(bad)
            with pytest.raises(dtl.BoundsError):
                span.last(bad)
        assert len(span.first(n)) == len(span.last(n)) == n and len(span.subspan(n, 0)) == 0
        if n >= 5:
            sub = span.subspan(1, 3)
            with pytest.raises(dtl.BoundsError):
                sub.subspan(2, 2)  # inside the container, outside the parent span
            with pytest.raises(dtl.BoundsError):
                sub.first(4)
            assert sub.last(3).offset == 1
        with pytest.raises(dtl.InvalidArgumentError):
            span.subspan(1.5, 0)
        with pytest.raises(dtl.InvalidArgumentError):
            span.first("2")
        span.subspan(np.int64(0), np.uint8(0))  # NumPy integers are integers
    ctx.barrier()


def test_invalid_source(ctx):
    v = dtl.DistributedVector(ctx, 4)
    for bad in (np.zeros(3), 42, [1, 2], None, dtl.DistributedSpan(v)):
        with pytest.raises(dtl.InvalidArgumentError):
            dtl.DistributedSpan(bad)
    ctx.barrier()


def test_views_outlive_the_container_name(ctx):
    n = 40
    g = values(n, np.float64)
    mine = policies(ctx.size)[1][2](n)[ctx.rank]  # cyclic

    def make_span():
        return dtl.DistributedSpan(dtl.DistributedVector.from_global(ctx, g, partition=dtl.PARTITION_CYCLIC))

    span = make_span()  # the only reference to the vector is the span's
    gc.collect()
    np.testing.assert_array_equal(span.local_view(), g[mine])

    view = make_span().subspan(10, 20).local_view()  # span and vector unnamed
    gc.collect()
    idx = [i for i in mine if 10 <= i < 30]
    np.testing.assert_array_equal(view, g[idx])
    assert type(base_owner(view)).__name__ == "_LocalViewOwner"
    view[...] = 5.0  # still the container's memory, still alive
    np.testing.assert_array_equal(view, 5.0)

    vec = dtl.DistributedVector.from_global(ctx, g, partition=dtl.PARTITION_CYCLIC)
    view = dtl.DistributedSpan(vec).last(7).local_view()
    del vec
    gc.collect()
    np.testing.assert_array_equal(view, g[[i for i in mine if i >= n - 7]])
    ctx.barrier()


TENSOR_CASES = [((3, 5, 2), 0), ((3, 5, 2), 1), ((3, 5, 2), 2), ((40, 2), 0), ((2, 40), 1), ((0, 4), 1), ((4, 0), 0)]


@pytest.mark.parametrize("shape,axis", TENSOR_CASES)
def test_tensor_spans(ctx, shape, axis):
    extent = shape[axis]
    per = int(np.prod([d for k, d in enumerate(shape) if k != axis]))
    for name, kw, model in policies(ctx.size):
        G = values(int(np.prod(shape)), np.float64).reshape(shape)
        t = dtl.DistributedTensor.scatter_from(ctx, G if ctx.is_root else None, root=0, axis=axis, **kw(extent))
        mine = model(extent)[ctx.rank]
        span = dtl.DistributedSpan(t)
        what = f"{name} shape={shape} axis={axis}"
        assert (span.axis, len(span), span.shape, span.global_size) == (axis, extent, shape, G.size), what
        for a, b in windows(extent):
            w = f"{what} window {a}..{b}"
            sub = span.subspan(a, b - a)
            idx = [i for i in mine if a <= i < b]
            want = np.take(G, idx, axis=axis)
            view = sub.local_view()
            np.testing.assert_array_equal(view, want, err_msg=w)
            assert view.shape == want.shape == sub.local_shape, w
            if view.size:
                assert np.shares_memory(view, t.local_view()), w
            np.testing.assert_array_equal(sub.to_numpy(), want, err_msg=w)
            assert sub.to_numpy().flags.c_contiguous
            assert sub.local_size == len(idx) * per and sub.global_size == (b - a) * per, w
            assert sub.size_bytes == want.nbytes, w
            s = list(shape)
            s[axis] = b - a
            assert sub.shape == tuple(s), w
            copies = ctx.size if name == "replicated" else 1
            assert total(ctx, sub.local_size) == (b - a) * per * copies, w
        # Writes through a strided span view land in the right slab.
        a, b = extent // 3, min(extent // 3 + 2, extent)
        sub = span.subspan(a, b - a)
        sub.from_numpy(np.full(sub.local_size, -1.0))
        want = G.copy()
        sl = [slice(None)] * len(shape)
        sl[axis] = slice(a, b)
        want[tuple(sl)] = -1.0
        np.testing.assert_array_equal(t.gather_all(), want, err_msg=what)
        with pytest.raises(dtl.BoundsError):
            span.subspan(0, extent + 1)
    ctx.barrier()


def test_span_follows_resize_and_redistribute(ctx):
    n = 12
    g = values(n, np.int64)
    v = dtl.DistributedVector.from_global(ctx, g)
    sub = dtl.DistributedSpan(v).subspan(4, 6)
    v.redistribute(dtl.PARTITION_CYCLIC)  # collective; the span names the same global range
    mine = [i for i in range(ctx.rank, n, ctx.size) if 4 <= i < 10]
    np.testing.assert_array_equal(sub.local_view(), g[mine])
    v.resize(6)  # collective; 4..10 no longer exists
    with pytest.raises(dtl.BoundsError):
        sub.local_view()
    assert len(sub.first(2)) == 2 and sub.first(2).global_size == 2  # pure metadata still works
    t = dtl.DistributedTensor(ctx, (4, 6))
    ts = dtl.DistributedSpan(t)
    t.redistribute(axis=1)  # collective
    with pytest.raises(dtl.DTLError):
        ts.local_view()
    ctx.barrier()


def test_repr(ctx):
    v = dtl.DistributedVector(ctx, 10, dtype=np.int8)
    r = repr(dtl.DistributedSpan(v).subspan(2, 3))
    assert r.startswith("<dtl.DistributedSpan of DistributedVector offset=2 len=3") and "int8" in r, r
    ctx.barrier()
