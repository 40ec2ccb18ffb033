"""Every partition policy on every container, against a brute-force model."""

import itertools

import numpy as np
import pytest
from conftest import block_range

import dtl


def policies(size):
    """(name, kwargs, model) for every policy; model(n) -> per-rank lists of global indices."""

    def block(n):
        return [list(range(*block_range(n, size, k))) for k in range(size)]

    def cyclic(n):
        return [list(range(k, n, size)) for k in range(size)]

    def block_cyclic(b):
        return lambda n: [[i for i in range(n) if (i // b) % size == k] for k in range(size)]

    def weighted_counts(n):
        counts = [0] * size
        counts[-1] = n  # everything on the last rank
        return counts

    def weighted(n):
        out, nxt = [], 0
        for c in weighted_counts(n):
            out.append(list(range(nxt, nxt + c)))
            nxt += c
        return out

    return [
        ("block", dict(partition=dtl.PARTITION_BLOCK), block),
        ("cyclic", dict(partition=dtl.PARTITION_CYCLIC), cyclic),
        ("block_cyclic2", dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=2), block_cyclic(2)),
        ("block_cyclic5", dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=5), block_cyclic(5)),
        ("weighted", "weighted", weighted),
        ("replicated", dict(partition=dtl.PARTITION_REPLICATED), lambda n: [list(range(n))] * size),
    ]


def kwargs_for(kw, n, size):
    if kw == "weighted":
        counts = [0] * size
        counts[-1] = n
        return dict(partition=dtl.PARTITION_WEIGHTED, weights=counts)
    return kw


SIZES = [0, 1, 2, 3, 5, 11, 40]


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8])
def test_every_policy_layout_and_gather(ctx, cls, dtype):
    for name, kw, model in policies(ctx.size):
        for n in SIZES:
            v = cls(ctx, n, dtype=dtype, **kwargs_for(kw, n, ctx.size))
            mine = model(n)[ctx.rank]
            assert v.local_size == len(mine), (name, n)
            np.testing.assert_array_equal(v.local_indices(), mine)
            assert v.local_sizes == [len(m) for m in model(n)]
            assert v.partition_policy == (dtl.PARTITION_WEIGHTED if kw == "weighted" else kw["partition"])
            if mine:
                assert v.local_offset == mine[0]
            for i in range(n):
                owners = [k for k, m in enumerate(model(n)) if i in m]
                assert v.is_local(i) == (ctx.rank in owners)
                if name != "replicated":
                    assert v.owner(i) == owners[0]
            with pytest.raises(dtl.BoundsError):
                v.owner(n)
            expected = (np.arange(n) * 7 % 251).astype(dtype)
            v.local_view()[:] = expected[mine]
            np.testing.assert_array_equal(v.gather_all(), expected, err_msg=f"{name} n={n}")
            g = v.gather(root=ctx.size - 1)
            if ctx.rank == ctx.size - 1:
                np.testing.assert_array_equal(g, expected)
            else:
                assert g is None


def test_redistribute_every_pair(ctx):
    pols = policies(ctx.size)
    for n in [0, 1, 7, 40]:
        expected = np.arange(n, dtype=np.float64) * 1.5
        for (na, ka, ma), (nb, kb, mb) in itertools.product(pols, pols):
            v = dtl.DistributedVector.from_global(ctx, expected, **kwargs_for(ka, n, ctx.size))
            np.testing.assert_array_equal(v.local_view(), expected[ma(n)[ctx.rank]])
            kwb = kwargs_for(kb, n, ctx.size)
            v.redistribute(kwb["partition"], block_size=kwb.get("block_size"), weights=kwb.get("weights"))
            np.testing.assert_array_equal(v.local_view(), expected[mb(n)[ctx.rank]], err_msg=f"{na}->{nb} n={n}")
            np.testing.assert_array_equal(v.gather_all(), expected)


def test_scatter_from_and_from_local_with_policies(ctx):
    data = np.arange(23, dtype=np.int64) if ctx.is_root else None
    for name, kw, model in policies(ctx.size):
        kwv = kwargs_for(kw, 23, ctx.size)
        v = dtl.DistributedVector.scatter_from(ctx, data, root=0, **kwv)
        np.testing.assert_array_equal(v.local_view(), np.arange(23)[model(23)[ctx.rank]], err_msg=name)
        local = np.full(ctx.rank + 1, ctx.rank, dtype=np.int16)
        total = ctx.size * (ctx.size + 1) // 2
        w = dtl.DistributedArray.from_local(ctx, local, **kwargs_for(kw, total, ctx.size))
        full = np.concatenate([np.full(r + 1, r, dtype=np.int16) for r in range(ctx.size)])
        np.testing.assert_array_equal(w.local_view(), full[model(total)[ctx.rank]], err_msg=name)


def test_resize_keeps_policy(ctx):
    v = dtl.DistributedVector(ctx, 10, dtype=np.int64, partition=dtl.PARTITION_CYCLIC)
    v.local_view()[:] = v.local_indices()
    v.resize(17, fill=-1)
    assert v.partition_policy == dtl.PARTITION_CYCLIC
    np.testing.assert_array_equal(v.local_indices(), np.arange(ctx.rank, 17, ctx.size))
    np.testing.assert_array_equal(v.gather_all(), np.concatenate([np.arange(10), np.full(7, -1)]))


def test_weighted_fractions(ctx):
    fr = np.full(ctx.size, 1.0 / ctx.size)
    v = dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_WEIGHTED, weights=fr)
    assert sum(v.local_sizes) == 10
    assert max(v.local_sizes) - min(v.local_sizes) <= 1


def test_block_cyclic_block_size_property(ctx):
    v = dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=3)
    assert v.block_size == 3
    assert dtl.DistributedVector(ctx, 10).block_size is None


def test_policy_bad_input(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="block_size must be >= 1, got 0"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=0)
    with pytest.raises(dtl.InvalidArgumentError, match="needs block_size"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_BLOCK_CYCLIC)
    with pytest.raises(dtl.InvalidArgumentError, match="only used with PARTITION_BLOCK_CYCLIC"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_CYCLIC, block_size=4)
    with pytest.raises(dtl.InvalidArgumentError, match="must sum to the global size 10"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_WEIGHTED, weights=[1] * ctx.size)
    with pytest.raises(dtl.InvalidArgumentError, match="must sum to 1"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_WEIGHTED, weights=[0.9] * ctx.size)
    with pytest.raises(dtl.InvalidArgumentError, match="one entry per rank"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_WEIGHTED, weights=[10] + [0] * ctx.size)
    with pytest.raises(dtl.InvalidArgumentError, match="needs weights"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_WEIGHTED)
    with pytest.raises(dtl.InvalidArgumentError, match="DistributedMap"):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_HASH)
    with pytest.raises(dtl.InvalidArgumentError, match="partition must be one of"):
        dtl.DistributedVector(ctx, 10, partition=-1)
    assert dtl.allreduce(ctx, 1) == ctx.size


def test_redistribute_refuses_with_views(ctx):
    v = dtl.DistributedVector(ctx, 10)
    view = v.local_view()
    with pytest.raises(dtl.DTLError, match="local view"):
        v.redistribute(dtl.PARTITION_CYCLIC)
    del view
    v.redistribute(dtl.PARTITION_CYCLIC)
    assert v.partition_policy == dtl.PARTITION_CYCLIC


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_tensor_axis_and_policies(ctx, axis):
    full = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    for name, kw, model in policies(ctx.size):
        ax = axis % 3
        kwt = kwargs_for(kw, full.shape[ax], ctx.size)
        t = dtl.DistributedTensor(ctx, full.shape, dtype=np.float32, axis=axis, **kwt)
        assert t.axis == ax
        mine = model(full.shape[ax])[ctx.rank]
        expect_local = np.take(full, mine, axis=ax)
        assert t.local_shape == expect_local.shape, name
        t.local_view()[...] = expect_local
        np.testing.assert_array_equal(t.gather_all(), full, err_msg=name)
        t2 = dtl.DistributedTensor.scatter_from(ctx, full if ctx.is_root else None, axis=ax, **kwt)
        np.testing.assert_array_equal(t2.local_view(), expect_local, err_msg=name)


def test_tensor_redistribute_axis_change(ctx):
    full = np.arange(6 * 5 * 2, dtype=np.int64).reshape(6, 5, 2)
    t = dtl.DistributedTensor.scatter_from(ctx, full if ctx.is_root else None)
    for partition, axis, extra in [
        (dtl.PARTITION_CYCLIC, 1, {}),
        (dtl.PARTITION_BLOCK, 2, {}),
        (dtl.PARTITION_BLOCK_CYCLIC, 0, {"block_size": 2}),
        (dtl.PARTITION_REPLICATED, 1, {}),
        (dtl.PARTITION_BLOCK, 0, {}),
    ]:
        t.redistribute(partition, axis=axis, **extra)
        assert t.axis == axis
        np.testing.assert_array_equal(t.gather_all(), full)
    with pytest.raises(dtl.InvalidArgumentError, match="axis"):
        t.redistribute(dtl.PARTITION_BLOCK, axis=3)


def test_halo_needs_contiguous_axis0(ctx):
    t = dtl.DistributedTensor(ctx, (6, 2), partition=dtl.PARTITION_CYCLIC)
    if ctx.size > 1:  # on one rank a cyclic partition is one contiguous block
        with pytest.raises(dtl.NotSupportedError, match="halo_exchange"):
            t.halo_exchange(1)
    s = dtl.DistributedTensor(ctx, (6, 2), axis=1)
    with pytest.raises(dtl.NotSupportedError, match="axis 1"):
        s.halo_exchange(1)
    w = dtl.DistributedTensor(ctx, (6, 2), partition=dtl.PARTITION_WEIGHTED, weights=[6] + [0] * (ctx.size - 1))
    lower, upper = w.halo_exchange(1)
    assert lower.shape[0] == 0 and upper.shape[0] == 0


@pytest.mark.mpi(min_size=2)
def test_bad_keyword_on_one_rank_fails_everywhere(ctx):
    bs = 0 if ctx.rank == 0 else 2
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=bs)
    w = [10, 0] + [0] * (ctx.size - 2) if ctx.rank == 0 else [5] * ctx.size
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedTensor(ctx, (10, 2), partition=dtl.PARTITION_WEIGHTED, weights=w)
    v = dtl.DistributedVector(ctx, 10)
    with pytest.raises(dtl.InvalidArgumentError):
        v.redistribute(dtl.PARTITION_BLOCK_CYCLIC, block_size=-1 if ctx.rank == ctx.size - 1 else 3)
    assert dtl.allreduce(ctx, 1) == ctx.size
