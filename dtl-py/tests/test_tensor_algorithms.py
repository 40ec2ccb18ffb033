"""The algorithms on DistributedTensor: the tensor as its elements in global
C order (``ravel()``), split along every axis by every partition, checked
against NumPy on the global array (gathered independently with
``gather_all``). Tensors split along an inner axis take the copy path of the
order-dependent algorithms; axis-0 splits work in place."""

import numpy as np
import pytest
from conftest import model_policies as policies

import dtl

SHAPES = [(0, 3), (5,), (7, 4, 3), (3, 0), (1, 4)]
DTYPES = [np.float64, np.int32, np.uint8, np.float32, np.int64]


def values(shape, dtype):
    n = int(np.prod(shape))
    return ((np.arange(n) * 37 + 11) % 53).reshape(shape).astype(dtype)


def tensors(ctx, shape, dtype):
    """(name, tensor holding values(shape)) for every split axis and partition."""
    g = values(shape, dtype)
    for axis in range(len(shape)):
        for name, kw, _ in policies(ctx.size):
            t = dtl.DistributedTensor(ctx, shape, dtype=dtype, axis=axis, **kw(shape[axis]))
            t.local_view().reshape(-1)[:] = g.ravel()[t.local_flat_indices()]
            np.testing.assert_array_equal(t.gather_all(), g, err_msg="setup")
            yield f"{shape} axis {axis} {name}", t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_queries_and_reductions(ctx, shape, dtype):
    g = values(shape, dtype)
    flat = g.ravel()
    for name, t in tensors(ctx, shape, dtype):
        assert dtl.reduce(t) == flat.sum(dtype=dtype), name
        assert dtl.reduce(t, dtl.SUM, deterministic=True) == flat.sum(dtype=dtype), name
        if flat.size:
            assert dtl.reduce(t, dtl.MAX) == flat.max(), name
            assert dtl.min_element(t) == (int(flat.argmin()), flat.min()), name
            assert dtl.max_element(t) == (int(flat.argmax()), flat.max()), name
            assert dtl.median(t) == np.median(flat), name
            assert dtl.percentile(t, 30) == pytest.approx(np.percentile(flat, 30)), name
            assert dtl.nth_element(t, -2) == np.sort(flat)[-2], name
        else:
            assert dtl.min_element(t) is None and np.isnan(dtl.median(t)), name
        x = flat[len(flat) // 2] if flat.size else 1
        hits = np.flatnonzero(flat == x)
        assert dtl.find(t, x) == (int(hits[0]) if hits.size else None), name
        assert dtl.count(t, x) == hits.size, name
        big = np.flatnonzero(flat > 40)
        assert dtl.find_if(t, lambda v: v > 40) == (int(big[0]) if big.size else None), name
        assert dtl.count_if(t, lambda v: v > 40) == big.size, name
        assert dtl.all_of(t, lambda v: v < 53) and dtl.any_of(t, lambda v: v > 40) == bool(big.size), name
        assert dtl.transform_reduce(t, lambda v: v.astype(np.float64) ** 2) == (flat.astype(np.float64) ** 2).sum(), name
        assert dtl.dot(t, t) == np.dot(flat, flat).astype(dtype), name
        assert dtl.reduce_local(t) == t.local_view().sum(dtype=dtype), name
        ctx.barrier()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_scans_and_sort(ctx, shape, dtype):
    g = values(shape, dtype)
    for name, t in tensors(ctx, shape, dtype):
        local_shape = t.local_shape
        view = t.local_view()
        dtl.inclusive_scan(t)
        np.testing.assert_array_equal(t.gather_all(), np.cumsum(g, dtype=dtype).reshape(shape), err_msg=name)
        t.local_view().reshape(-1)[:] = g.ravel()[t.local_flat_indices()]
        dtl.exclusive_scan(t, dtl.MAX, init=0)
        want = np.concatenate([[0], np.maximum.accumulate(g.ravel())[:-1]])[: g.size].astype(dtype)
        np.testing.assert_array_equal(t.gather_all().ravel(), want, err_msg=name)
        for reverse in (False, True):
            t.local_view().reshape(-1)[:] = g.ravel()[t.local_flat_indices()]
            dtl.sort(t, reverse=reverse)
            s = np.sort(g, axis=None)
            np.testing.assert_array_equal(t.gather_all(), (s[::-1] if reverse else s).reshape(shape), err_msg=name)
            assert t.local_shape == local_shape and dtl.is_sorted(t, reverse=reverse), name
        t.local_view().reshape(-1)[:] = g.ravel()[t.local_flat_indices()]
        dtl.stable_sort(t)
        np.testing.assert_array_equal(t.gather_all(), np.sort(g, axis=None).reshape(shape), err_msg=name)
        assert view.size == 0 or np.shares_memory(view, t.local_view()), name  # the buffer never moves
        ctx.barrier()


@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise(ctx, shape):
    n = int(np.prod(shape))
    for name, t in tensors(ctx, shape, np.float64):
        dtl.iota(t, 2)
        np.testing.assert_array_equal(t.gather_all(), np.arange(n).reshape(shape) + 2.0, err_msg=name)
        dtl.generate(t, lambda i: i * 0.5)
        np.testing.assert_array_equal(t.gather_all(), np.arange(n).reshape(shape) * 0.5, err_msg=name)
        dtl.for_each(t, lambda i, v: v + i, with_index=True)
        np.testing.assert_array_equal(t.gather_all(), np.arange(n).reshape(shape) * 1.5, err_msg=name)
        dtl.transform(t, np.negative)
        dtl.replace(t, -3.0, 7.0)
        want = -np.arange(n).reshape(shape) * 1.5
        want[want == -3.0] = 7.0
        np.testing.assert_array_equal(t.gather_all(), want, err_msg=name)
        dst = dtl.DistributedTensor(ctx, shape, dtype=np.int64, axis=t.axis, partition=t.partition_policy,
                                    **({"block_size": 3} if t.partition_policy == dtl.PARTITION_BLOCK_CYCLIC else {}),
                                    **({"weights": _rows(t, ctx)} if t.partition_policy == dtl.PARTITION_WEIGHTED else {}))
        dtl.transform(t, dst, lambda v: v * 2)
        np.testing.assert_array_equal(dst.gather_all(), (want * 2).astype(np.int64), err_msg=name)
        other = dtl.DistributedTensor(ctx, shape, dtype=np.float64)  # block along axis 0
        dtl.copy(t, other)
        np.testing.assert_array_equal(other.gather_all(), want, err_msg=name)
        dtl.fill(t, 4)
        assert (t.gather_all() == 4).all(), name
        ctx.barrier()


def _rows(t, ctx):
    """Every rank's extent along the split axis (for a matching weighted layout)."""
    return [int(x) for x in np.ravel(dtl.allgather(ctx, np.array([t.local_shape[t.axis]], dtype=np.int64)))]


def test_errors_on_every_rank(ctx):
    t = dtl.DistributedTensor(ctx, (6, 4))
    other = dtl.DistributedTensor(ctx, (4, 6))
    with pytest.raises(dtl.InvalidArgumentError, match="shape"):
        dtl.dot(t, other)
    with pytest.raises(dtl.InvalidArgumentError, match="same partition"):
        dtl.transform(t, other, np.negative)
    with pytest.raises(dtl.InvalidArgumentError, match="integer dtypes"):
        dtl.reduce(t, dtl.BAND)
    with pytest.raises(dtl.BoundsError):
        dtl.nth_element(t, 24)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.percentile(t, 101)
    with pytest.raises(dtl.NotSupportedError, match="spans of a DistributedTensor"):
        dtl.reduce(dtl.DistributedSpan(t))
    ctx.barrier()
