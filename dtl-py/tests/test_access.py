"""gather_indices / scatter_indices (vectorised global element access) on
DistributedVector and DistributedArray over every partition; expected
values come from NumPy on the global array. Errors must reach every rank
(nothing hangs, nothing is written). Every test ends with a collective."""

import numpy as np
import pytest
from conftest import model_policies as policies
from conftest import pattern_values as values

import dtl

SIZES = [0, 1, 5, 40]


def requests(r, n):
    """Rank r's global indices: duplicates, both ends, any order; empty on some ranks."""
    if n == 0 or r % 4 == 2:
        return np.zeros(0, dtype=np.int64)
    k = [9, 3, 0, 14][r % 4] + n % 3
    v = [(j * 17 + r * 5 + 3) % n for j in range(k)] + [n - 1, 0]
    v.append(v[0])
    return np.array(v, dtype=np.int64)


def writes(r, n, dtype):
    idx = requests(r, n)
    return idx, ((r * 13 + np.arange(len(idx)) * 3) % 97).astype(dtype)


def scattered(n, size, dtype):
    """Model: every rank's writes applied in (rank, position) order."""
    g = values(n, dtype)
    for r in range(size):
        idx, vals = writes(r, n, dtype)
        for i, x in zip(idx, vals):
            g[i] = x
    return g


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8, np.int64])
def test_gather_indices_every_partition(ctx, cls, dtype):
    for name, kw, _ in policies(ctx.size):
        for n in SIZES:
            g = values(n, dtype)
            v = cls.from_global(ctx, g, **kw(n))
            idx = requests(ctx.rank, n)
            got = v.gather_indices(idx)
            assert got.dtype == np.dtype(dtype) and got.shape == idx.shape
            np.testing.assert_array_equal(got, g[idx], err_msg=f"{name} n={n}")
            # Everything, reversed, as a 2-D uint64 array: the result takes idx's shape.
            rev = np.arange(n, dtype=np.uint64)[::-1]
            if n % 2 == 0:
                rev = rev.reshape(2, n // 2)
            np.testing.assert_array_equal(v.gather_indices(rev), g[rev.astype(np.int64)], err_msg=f"{name} n={n}")
            # Plain lists, int32, empty.
            np.testing.assert_array_equal(v.gather_indices(list(idx)), g[idx])
            np.testing.assert_array_equal(v.gather_indices(idx.astype(np.int32)), g[idx])
            assert v.gather_indices([]).shape == (0,)
    ctx.barrier()


def test_gather_scalar_index(ctx):
    v = dtl.DistributedVector.from_global(ctx, values(9, np.float64), partition=dtl.PARTITION_CYCLIC)
    got = v.gather_indices(np.int64(ctx.rank % 9))
    assert got.shape == () and got == values(9, np.float64)[ctx.rank % 9]
    ctx.barrier()


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint64])
def test_scatter_indices_every_partition(ctx, cls, dtype):
    for name, kw, model in policies(ctx.size):
        for n in SIZES:
            v = cls.from_global(ctx, values(n, dtype), **kw(n))
            view = v.local_view()  # writes are in place: a live view sees them
            idx, vals = writes(ctx.rank, n, dtype)
            v.scatter_indices(idx, vals)
            want = scattered(n, ctx.size, dtype)
            np.testing.assert_array_equal(v.gather_all(), want, err_msg=f"{name} n={n}")
            # This rank's part (every copy, for a replicated container).
            np.testing.assert_array_equal(view, want[model(n)[ctx.rank]], err_msg=f"{name} n={n}")
            v.scatter_indices([], [])
            np.testing.assert_array_equal(v.gather_all(), want)
    ctx.barrier()


def test_scatter_last_writer_wins_and_scalars(ctx):
    for name, kw, _ in policies(ctx.size):
        n = 5
        v = dtl.DistributedVector(ctx, n, dtype=np.int64, **kw(n))
        r = ctx.rank
        v.scatter_indices([0, 0, 1, 4], [r, r + 100, r, 7])
        want = np.array([ctx.size - 1 + 100, ctx.size - 1, 0, 0, 7])
        np.testing.assert_array_equal(v.gather_all(), want, err_msg=name)
        v.scatter_indices(np.array([[2, 3]]), 9.7)  # a scalar is repeated; cast like NumPy
        want[2:4] = 9
        np.testing.assert_array_equal(v.gather_all(), want, err_msg=name)
    ctx.barrier()


def test_out_of_range_on_one_rank_raises_everywhere(ctx):
    bad = ctx.size - 1
    for name, kw, _ in policies(ctx.size):
        for n in SIZES:
            g = values(n, np.float64)
            v = dtl.DistributedVector.from_global(ctx, g, **kw(n))
            idx = [0, n] if (ctx.rank == bad and n) else ([0] if ctx.rank == bad else [])
            i = n if n else 0
            with pytest.raises(dtl.BoundsError) as e:
                v.gather_indices(idx)
            msg = str(e.value)
            assert f"global index {i}" in msg and f"0..{n}" in msg, msg
            assert isinstance(e.value, IndexError)
            if ctx.rank != bad:
                assert f"rank {bad}" in msg, msg
            # A negative index on one rank, valid writes elsewhere: nothing written anywhere.
            if ctx.rank == bad:
                widx, wval = [-1], [5.0]
            else:
                widx, wval = ([0, n - 1] if n else []), ([-7.0, -7.0] if n else [])
            with pytest.raises(dtl.BoundsError) as e:
                v.scatter_indices(widx, wval)
            assert "-1" in str(e.value)
            np.testing.assert_array_equal(v.gather_all(), g, err_msg=f"{name} n={n}: nothing written")
    ctx.barrier()


def test_bad_arguments_on_one_rank_raise_everywhere(ctx):
    n = 40
    g = values(n, np.int32)
    v = dtl.DistributedArray.from_global(ctx, g, partition=dtl.PARTITION_CYCLIC)
    odd = ctx.rank == ctx.size // 2
    with pytest.raises(dtl.InvalidArgumentError) as e:
        v.gather_indices(np.array([1.5, 2.0]) if odd else [1, 2])
    if odd:
        assert "float64" in str(e.value)
    with pytest.raises(dtl.InvalidArgumentError):
        v.gather_indices(np.array([True, False]) if odd else [1])
    with pytest.raises(dtl.InvalidArgumentError) as e:
        v.scatter_indices([1, 2, 3], [1, 2] if odd else [1, 2, 3])
    if odd:
        assert "2 elements" in str(e.value) and "idx has 3" in str(e.value), str(e.value)
    np.testing.assert_array_equal(v.gather_all(), g)  # nothing written
    ctx.barrier()


def test_out_of_range_with_collective_checks_off(ctx):
    ctx.collective_checks = False
    try:
        v = dtl.DistributedVector.from_global(ctx, values(5, np.int64), partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=3)
        with pytest.raises(dtl.BoundsError):
            v.gather_indices([1, 99] if ctx.is_root else [2])
        with pytest.raises(dtl.BoundsError):
            v.scatter_indices([99] if ctx.is_root else [2], 0)
        np.testing.assert_array_equal(v.gather_all(), values(5, np.int64))
        np.testing.assert_array_equal(v.gather_indices([4, 0]), values(5, np.int64)[[4, 0]])
    finally:
        ctx.collective_checks = True
    ctx.barrier()


# ---------------------------------------------------------------- one-sided get / set

from conftest import DTYPES  # noqa: E402


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", DTYPES)
def test_get_every_partition(ctx, cls, dtype):
    """Every rank reads every element one-sidedly (most are remote)."""
    for name, kw, _ in policies(ctx.size):
        for n in SIZES:
            g = values(n, dtype)
            v = cls.from_global(ctx, g, **kw(n))
            got = [v.get(i) for i in range(n)]
            assert all(isinstance(x, np.generic) and x.dtype == np.dtype(dtype) for x in got)
            np.testing.assert_array_equal(np.array(got, dtype=dtype), g, err_msg=f"{name} n={n}")
            ctx.barrier()  # nobody drops v while another rank still reads it


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.uint32])
def test_set_every_partition(ctx, dtype):
    """Rank r writes the elements i % size == r (mostly owned elsewhere);
    after a barrier the container equals the model on every rank."""
    for name, kw, model in policies(ctx.size):
        for n in SIZES:
            g = values(n, dtype)
            v = dtl.DistributedVector(ctx, n, dtype=dtype, **kw(n))
            view = v.local_view()
            for i in range(ctx.rank, n, ctx.size):
                v.set(i, g[i])
            ctx.barrier()
            np.testing.assert_array_equal(v.gather_all(), g, err_msg=f"{name} n={n}")
            np.testing.assert_array_equal(view, g[model(n)[ctx.rank]], err_msg=f"{name} n={n}: local view")
            ctx.barrier()


def test_get_set_after_redistribute_and_resize(ctx):
    v = dtl.DistributedVector.from_global(ctx, np.arange(11.0))
    v.redistribute(dtl.PARTITION_CYCLIC)
    assert [float(v.get(i)) for i in range(11)] == list(np.arange(11.0))
    ctx.barrier()
    v.resize(17)
    if ctx.is_root:
        v.set(16, 2.5)  # owned by the last rank (cyclic: 16 % size)
    ctx.barrier()
    want = np.concatenate([np.arange(11.0), np.zeros(5), [2.5]])
    np.testing.assert_array_equal([v.get(i) for i in range(17)], want)
    ctx.barrier()


def test_set_converts_like_numpy(ctx):
    v = dtl.DistributedVector(ctx, 3, dtype=np.int32)
    if ctx.is_root:
        v.set(2, 7.9)  # truncated as numpy.asarray(7.9, int32)
        with pytest.raises(ValueError, match="value"):
            v.set(1, "seven")
    ctx.barrier()
    assert v.get(2) == 7 and v.get(1) == 0
    ctx.barrier()


def test_get_set_bounds_on_the_calling_rank_only(ctx):
    v = dtl.DistributedVector(ctx, 5, dtype=np.float64)
    for bad in (5, -1, 2**40):
        with pytest.raises(dtl.BoundsError, match=r"0\.\.5"):
            v.get(bad)
    if ctx.is_root:  # only rank 0 errs; nothing collective is pending
        with pytest.raises(dtl.BoundsError):
            v.set(5, 1.0)
        with pytest.raises(IndexError):
            v.set(-1, 1.0)
    ctx.barrier()
    np.testing.assert_array_equal(v.gather_all(), np.zeros(5))


def test_get_on_the_halves_of_a_split(ctx):
    """Containers on the two halves of a split build their windows at the
    same moment, on communicators with the same context id. Open MPI 4.1's
    osc/rdma names its shared-memory file after that id, so without dtl's
    node-wide serialisation of window creation this crashed or failed
    MPI_Get (MPI_ERR_RMA_RANGE) in about one run of three at np 4."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    for i in range(12):
        sub = world.Split(world.rank % 2, world.rank)
        sub_ctx = dtl.Context(comm=sub)
        v = dtl.DistributedVector(sub_ctx, 50 + i, dtype=np.float64)
        v.local_view()[:] = sub_ctx.rank + 0.5
        w = dtl.DistributedVector(sub_ctx, 7, dtype=np.int32)
        sub_ctx.barrier()
        n = 50 + i
        got = [float(v.get(j)) for j in range(n)]
        want = np.repeat(np.arange(sub_ctx.size) + 0.5, [len(p) for p in np.array_split(np.arange(n), sub_ctx.size)])
        assert got == list(want), f"iteration {i}"
        sub_ctx.barrier()
        del v, w, sub_ctx
        sub.Free()
    ctx.barrier()
