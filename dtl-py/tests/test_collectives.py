import numpy as np
import pytest
from conftest import DTYPES

import dtl


def rank_values(size, dtype, k=3):
    """What rank r contributes: r + j for j in 0..k (small, fits every dtype)."""
    return [np.arange(k, dtype=dtype) + r for r in range(size)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_allreduce_every_op(ctx, dtype):
    vals = rank_values(ctx.size, dtype)
    mine = vals[ctx.rank]
    stack = np.stack(vals)
    np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.SUM), stack.sum(axis=0, dtype=dtype))
    np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.MIN), stack.min(axis=0))
    np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.MAX), stack.max(axis=0))
    small = (np.arange(3) % 2 + 1).astype(dtype)
    np.testing.assert_array_equal(dtl.allreduce(ctx, small, op=dtl.PROD), small ** ctx.size)
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.BOR), np.bitwise_or.reduce(stack, axis=0))
        np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.BAND), np.bitwise_and.reduce(stack, axis=0))
        np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.BXOR), np.bitwise_xor.reduce(stack, axis=0))
        np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.LAND), np.all(stack != 0, axis=0).astype(dtype))
        np.testing.assert_array_equal(dtl.allreduce(ctx, mine, op=dtl.LOR), np.any(stack != 0, axis=0).astype(dtype))
    else:
        with pytest.raises(dtl.InvalidArgumentError, match="integer dtypes only"):
            dtl.allreduce(ctx, mine, op=dtl.BXOR)


def test_scalar_rule(ctx):
    n = ctx.size
    s = dtl.allreduce(ctx, 42.0, op=dtl.SUM)
    assert isinstance(s, float) and s == 42.0 * n
    i = dtl.allreduce(ctx, ctx.rank, op=dtl.MAX)
    assert isinstance(i, int) and i == n - 1
    f32 = dtl.allreduce(ctx, np.float32(1.5))
    assert isinstance(f32, np.float32) and f32 == 1.5 * n
    arr = dtl.allreduce(ctx, np.array([1.0, 2.0, 3.0]))
    assert isinstance(arr, np.ndarray) and arr.shape == (3,)
    np.testing.assert_array_equal(arr, np.array([1.0, 2.0, 3.0]) * n)
    m = dtl.allreduce(ctx, np.ones((2, 3), dtype=np.int32))
    assert m.shape == (2, 3) and np.all(m == n)


def test_guide_collective_examples(ctx):
    local_value = np.array([ctx.rank * 10.0])
    global_sum = dtl.allreduce(ctx, local_value, op=dtl.SUM)
    np.testing.assert_array_equal(global_sum, [10.0 * sum(range(ctx.size))])
    global_max = dtl.reduce(ctx, local_value, op=dtl.MAX, root=0)
    if ctx.is_root:
        np.testing.assert_array_equal(global_max, [10.0 * (ctx.size - 1)])
    else:
        assert global_max is None
    data = np.array([1.0, 2.0, 3.0]) if ctx.is_root else np.zeros(3)
    np.testing.assert_array_equal(dtl.broadcast(ctx, data, root=0), [1.0, 2.0, 3.0])
    my_data = np.array([ctx.rank])
    gathered = dtl.gather(ctx, my_data, root=0)
    if ctx.is_root:
        assert gathered.shape == (ctx.size, 1)
        np.testing.assert_array_equal(gathered[:, 0], np.arange(ctx.size))
    else:
        assert gathered is None
    all_data = np.arange(ctx.size * 3).reshape(ctx.size, 3) if ctx.is_root else np.empty((ctx.size, 3))
    my_chunk = dtl.scatter(ctx, all_data, root=0)
    assert my_chunk.shape == (3,)
    np.testing.assert_array_equal(my_chunk, np.arange(3) + 3 * ctx.rank)
    all_gathered = dtl.allgather(ctx, my_data)
    assert all_gathered.shape == (ctx.size, 1)
    np.testing.assert_array_equal(all_gathered[:, 0], np.arange(ctx.size))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rooted_collectives_every_dtype(ctx, dtype):
    root = ctx.size - 1
    vals = rank_values(ctx.size, dtype)
    red = dtl.reduce(ctx, vals[ctx.rank], op=dtl.SUM, root=root)
    if ctx.rank == root:
        np.testing.assert_array_equal(red, np.stack(vals).sum(axis=0, dtype=dtype))
    b = dtl.broadcast(ctx, (np.arange(5) * 2).astype(dtype) if ctx.rank == root else None, root=root)
    assert b.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(b, (np.arange(5) * 2).astype(dtype))
    sc = dtl.broadcast(ctx, dtype(7) if ctx.rank == root else None, root=root)
    assert sc == 7
    g = dtl.gather(ctx, vals[ctx.rank].reshape(1, 3), root=root)
    if ctx.rank == root:
        assert g.shape == (ctx.size, 1, 3)
        np.testing.assert_array_equal(g[:, 0, :], np.stack(vals))
    src = (np.arange(ctx.size * 2) % 50).astype(dtype).reshape(ctx.size, 2)
    s = dtl.scatter(ctx, src if ctx.rank == root else None, root=root)
    np.testing.assert_array_equal(s, src[ctx.rank])
    s1 = dtl.scatter(ctx, np.arange(ctx.size, dtype=dtype) if ctx.rank == root else None, root=root)
    assert s1 == ctx.rank
    ag = dtl.allgather(ctx, vals[ctx.rank])
    np.testing.assert_array_equal(ag, np.stack(vals))


@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.uint8])
def test_scan_exscan_alltoall_allgatherv(ctx, dtype):
    vals = rank_values(ctx.size, dtype)
    stack = np.stack(vals)
    np.testing.assert_array_equal(dtl.scan(ctx, vals[ctx.rank]), stack[: ctx.rank + 1].sum(axis=0, dtype=dtype))
    np.testing.assert_array_equal(dtl.exscan(ctx, vals[ctx.rank]), stack[: ctx.rank].sum(axis=0, dtype=dtype))
    send = np.array([[10 * ctx.rank + d] for d in range(ctx.size)], dtype=dtype)
    got = dtl.alltoall(ctx, send)
    np.testing.assert_array_equal(got[:, 0], np.array([10 * s + ctx.rank for s in range(ctx.size)], dtype=dtype))
    data, counts = dtl.allgatherv(ctx, np.full(ctx.rank, ctx.rank, dtype=dtype))
    np.testing.assert_array_equal(counts, np.arange(ctx.size))
    np.testing.assert_array_equal(data, np.concatenate([np.full(r, r, dtype=dtype) for r in range(ctx.size)]))


def test_empty_arrays(ctx):
    out = dtl.allreduce(ctx, np.zeros(0))
    assert out.shape == (0,)
    assert dtl.allgather(ctx, np.zeros(0, dtype=np.int8)).shape == (ctx.size, 0)


def test_bad_op_and_root(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="op must be one of"):
        dtl.allreduce(ctx, 1.0, op="avg")
    with pytest.raises(dtl.InvalidArgumentError, match=f"root must be in 0..{ctx.size}"):
        dtl.reduce(ctx, 1.0, root=ctx.size)
    with pytest.raises(dtl.InvalidArgumentError, match="root must be in"):
        dtl.scatter(ctx, np.zeros((ctx.size, 2)), root=ctx.size + 3)
    with pytest.raises(dtl.InvalidArgumentError, match="root must be in"):
        dtl.DistributedTensor.scatter_from(ctx, np.zeros((3, 2)), root=ctx.size)
    with pytest.raises(dtl.InvalidArgumentError, match="root"):
        dtl.broadcast(ctx, 1.0, root=-1)
    with pytest.raises(dtl.InvalidArgumentError, match="not supported"):
        dtl.allreduce(ctx, np.array([True]))
    with pytest.raises(dtl.InvalidArgumentError, match="dtype"):
        dtl.allreduce(ctx, np.array([1 + 2j]))
    with pytest.raises(dtl.InvalidArgumentError, match="dtl.Context"):
        dtl.allreduce("not a context", 1.0)


def test_scatter_wrong_leading_dimension(ctx):
    bad = np.zeros((ctx.size + 1, 2)) if ctx.is_root else None
    with pytest.raises(dtl.InvalidArgumentError, match=f"leading dimension equal to the context size {ctx.size}"):
        dtl.scatter(ctx, bad, root=0)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.scatter(ctx, np.float64(3.0) if ctx.is_root else None, root=0)
    assert dtl.allreduce(ctx, 1) == ctx.size  # everyone still in step


@pytest.mark.mpi(min_size=2)
def test_mismatched_collective_sizes(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allreduce(ctx, np.zeros(ctx.rank + 1))
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allgather(ctx, np.zeros(2 + ctx.rank))
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allreduce(ctx, np.zeros(3, dtype=np.float32 if ctx.rank == 0 else np.float64))
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allreduce(ctx, np.zeros((2, 3)) if ctx.rank == 0 else np.zeros((3, 2)))
    assert dtl.allreduce(ctx, 1) == ctx.size


def test_checks_can_be_turned_off(ctx):
    d = ctx.dup()
    assert d.collective_checks is True
    d.collective_checks = False
    assert dtl.allreduce(d, 2) == 2 * ctx.size


@pytest.mark.mpi(min_size=2)
def test_mismatched_ndim_does_not_hang(ctx):
    data = np.zeros((2, 2)) if ctx.rank == 0 else np.zeros((2, 2, 1))
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allgather(ctx, data)


def test_python_layer_errors_carry_status(ctx):
    with pytest.raises(dtl.InvalidArgumentError) as info:
        dtl.allreduce(ctx, 1.0, op="avg")
    assert info.value.status == 300 and info.value.status_name == "DTL_ERROR_INVALID_ARGUMENT"
    assert str(info.value).endswith("[DTL_ERROR_INVALID_ARGUMENT]")


def test_non_native_byte_order(ctx):
    big = np.arange(3, dtype=">f8")
    np.testing.assert_array_equal(dtl.allreduce(ctx, big), np.arange(3.0) * ctx.size)
    v = dtl.DistributedVector.from_global(ctx, np.arange(5, dtype=">i4"))
    np.testing.assert_array_equal(v.gather_all(), np.arange(5))


def test_wtime_increases():
    a = dtl.wtime()
    b = dtl.wtime()
    assert isinstance(a, float) and b >= a


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("per_rank", [0, 1, 3])
def test_reduce_scatter_matches_numpy(ctx, dtype, per_rank):
    n = per_rank * ctx.size
    mine = ((np.arange(n) + 7 * ctx.rank) % 11).astype(dtype)
    got = dtl.reduce_scatter(ctx, mine, op=dtl.SUM)
    every = np.array([((np.arange(n) + 7 * r) % 11).astype(dtype) for r in range(ctx.size)])
    want = every.sum(axis=0, dtype=dtype)[ctx.rank * per_rank : (ctx.rank + 1) * per_rank]
    assert got.dtype == np.dtype(dtype) and np.array_equal(got, want)
    got = dtl.reduce_scatter(ctx, mine, op=dtl.MAX)
    assert np.array_equal(got, every.max(axis=0)[ctx.rank * per_rank : (ctx.rank + 1) * per_rank])


def test_reduce_scatter_length_must_divide(ctx):
    if ctx.size == 1:
        pytest.skip("every length is a multiple of 1")
    with pytest.raises(dtl.InvalidArgumentError, match="multiple of the number of ranks"):
        dtl.reduce_scatter(ctx, np.zeros(ctx.size * 2 + 1))
    assert dtl.allreduce(ctx, 1) == ctx.size


# Sizes on both sides of every path of allreduce/broadcast: the fused
# agreement (data <= 64 bytes inside it), MPI_Allreduce / MPI_Bcast, and
# the shared-memory path (>= 16 KiB on one node, in 256 KiB chunks).
PATH_SIZES = [1, 8, 9, 1000, 70_000, 2 * 32768 + 5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shm", [True, False])
def test_allreduce_and_broadcast_every_path(ctx, dtype, shm):
    ctx.shm_collectives = shm
    try:
        for n in PATH_SIZES:
            vals = [((np.arange(n) * 7 + r * 3) % 50).astype(dtype) for r in range(ctx.size)]
            stack = np.stack(vals)
            want = stack.sum(axis=0, dtype=dtype)
            got = dtl.allreduce(ctx, vals[ctx.rank])
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.dtype(dtype) and got.shape == (n,)
            out = np.full(n, 99, dtype=dtype)
            assert dtl.allreduce(ctx, vals[ctx.rank], op=dtl.MAX, out=out) is out
            np.testing.assert_array_equal(out, stack.max(axis=0))
            # Every rank holds the same bits.
            everyone = dtl.allgather(ctx, got)
            assert all(np.array_equal(everyone[r], got) for r in range(ctx.size))
            for root in {0, ctx.size - 1}:
                data = (np.arange(n) % 100 + root).astype(dtype) if ctx.rank == root else None
                b = dtl.broadcast(ctx, data, root=root)
                np.testing.assert_array_equal(b, (np.arange(n) % 100 + root).astype(dtype))
                if ctx.rank == root:
                    assert b is data  # the root's own array, not a copy
    finally:
        ctx.shm_collectives = True


def test_allreduce_out_2d_and_in_place(ctx):
    a = np.arange(12.0).reshape(3, 4) + ctx.rank
    out = np.empty((3, 4))
    assert dtl.allreduce(ctx, a, out=out) is out
    expected = sum(np.arange(12.0).reshape(3, 4) + r for r in range(ctx.size))
    np.testing.assert_array_equal(out, expected)
    # out may be the input itself (MPI_IN_PLACE style).
    b = np.arange(5.0) + ctx.rank
    dtl.allreduce(ctx, b, out=b)
    np.testing.assert_array_equal(b, sum(np.arange(5.0) + r for r in range(ctx.size)))


@pytest.mark.parametrize(
    "bad",
    [np.empty(4, dtype=np.float32), np.empty(5), np.empty(8)[::2], "not an array"],
    ids=["dtype", "shape", "strided", "type"],
)
def test_allreduce_bad_out_raises_on_every_rank(ctx, bad):
    a = np.ones(4)
    # Only the last rank passes a bad out; every rank must raise, none hang.
    out = bad if ctx.rank == ctx.size - 1 else np.empty(4)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, a, out=out)
    # The context is still usable afterwards.
    assert dtl.allreduce(ctx, 1.0) == ctx.size


def test_allreduce_read_only_input_and_out(ctx):
    a = np.ones(10)
    a.flags.writeable = False
    np.testing.assert_array_equal(dtl.allreduce(ctx, a), np.full(10, float(ctx.size)))
    ro = np.empty(10)
    ro.flags.writeable = False
    with pytest.raises(dtl.InvalidArgumentError, match="read-only"):
        dtl.allreduce(ctx, a, out=ro)


def test_broadcast_scalars_and_shapes(ctx):
    assert dtl.broadcast(ctx, 2.5 if ctx.rank == 0 else None) == 2.5
    v = dtl.broadcast(ctx, 7 if ctx.rank == 0 else None)
    assert isinstance(v, int) and v == 7
    f = dtl.broadcast(ctx, np.float32(1.5) if ctx.rank == 0 else None)
    assert isinstance(f, np.float32) and f == 1.5
    t = np.arange(2 * 3 * 70_000, dtype=np.int16).reshape(2, 3, 70_000)
    got = dtl.broadcast(ctx, t if ctx.rank == 0 else None)
    assert got.shape == t.shape and got.dtype == t.dtype
    np.testing.assert_array_equal(got, t)
    ro = np.arange(5.0)
    ro.flags.writeable = False
    np.testing.assert_array_equal(dtl.broadcast(ctx, ro if ctx.rank == 0 else None), np.arange(5.0))


@pytest.mark.mpi(min_size=2)
def test_broadcast_bad_root_data_raises_everywhere(ctx):
    data = np.array([True, False]) if ctx.rank == 0 else None
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.broadcast(ctx, data, root=0)
    assert dtl.broadcast(ctx, 3 if ctx.rank == 0 else None) == 3


@pytest.mark.mpi(min_size=2)
def test_allreduce_local_errors_raise_everywhere(ctx):
    last = ctx.rank == ctx.size - 1
    # ndim differs (1-D on some ranks, 2-D on others): same error everywhere.
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        dtl.allreduce(ctx, np.zeros((2, 3)) if last else np.zeros(6))
    # A bad dtype or op on one rank only.
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, np.array([True]) if last else np.array([1]))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1.0, op="avg" if last else "sum")
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, np.zeros(2, dtype=np.complex128) if last else np.zeros(2))
    assert dtl.allreduce(ctx, 1) == ctx.size  # still in step


@pytest.mark.parametrize("dtype", DTYPES)
def test_allgather_alltoall_nd_every_dtype(ctx, dtype):
    p, r = ctx.size, ctx.rank
    for shape in [(3,), (2, 5), (70_000,)]:
        mine = ((np.arange(np.prod(shape)) + 7 * r) % 100).astype(dtype).reshape(shape)
        ag = dtl.allgather(ctx, mine)
        assert ag.shape == (p,) + shape and ag.dtype == np.dtype(dtype)
        for s in range(p):
            np.testing.assert_array_equal(ag[s], ((np.arange(np.prod(shape)) + 7 * s) % 100).astype(dtype).reshape(shape))
    send = np.array([[10 * r + d, d] for d in range(p)], dtype=dtype)
    got = dtl.alltoall(ctx, send)
    np.testing.assert_array_equal(got[:, 0], (10 * np.arange(p) + r).astype(dtype))
    np.testing.assert_array_equal(got[:, 1], np.full(p, r, dtype=dtype))


@pytest.mark.mpi(min_size=2)
def test_alltoall_bad_leading_dim_on_one_rank(ctx):
    p = ctx.size
    data = np.zeros((p + 1, 2)) if ctx.rank == 0 else np.zeros((p, 2))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.alltoall(ctx, data)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allgather(ctx, np.array([True]) if ctx.rank == 0 else np.array([1]))
    assert dtl.allreduce(ctx, 1) == p


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.float32, np.float64])
def test_allgather_alltoall_out(ctx, dtype):
    p, r = ctx.size, ctx.rank
    mine = (np.arange(6).reshape(2, 3) + 10 * r).astype(dtype)
    out = np.full((p, 2, 3), 99, dtype=dtype)
    assert dtl.allgather(ctx, mine, out=out) is out
    np.testing.assert_array_equal(out, np.stack([(np.arange(6).reshape(2, 3) + 10 * s).astype(dtype) for s in range(p)]))
    send = np.array([[10 * r + d, d] for d in range(p)], dtype=dtype)
    got = np.empty_like(send)
    assert dtl.alltoall(ctx, send, out=got) is got
    np.testing.assert_array_equal(got[:, 0], (10 * np.arange(p) + r).astype(dtype))
    # out overlapping data: the input is copied first, the result is right.
    buf = np.zeros((p + 1) * 4, dtype=dtype)
    buf[:4] = np.arange(4) + r
    view_in, view_out = buf[:4], buf[4:].reshape(p, 4)
    dtl.allgather(ctx, view_in, out=view_out)
    np.testing.assert_array_equal(view_out, np.stack([(np.arange(4) + s).astype(dtype) for s in range(p)]))


@pytest.mark.parametrize(
    "which",
    ["dtype", "shape", "strided", "readonly", "type"],
)
def test_allgather_alltoall_bad_out_raises_on_every_rank(ctx, which):
    p, last = ctx.size, ctx.rank == ctx.size - 1
    for op, data, shape in [(dtl.allgather, np.ones(4), (p, 4)), (dtl.alltoall, np.ones((p, 3)), (p, 3))]:
        good = np.empty(shape)
        bad: object = {
            "dtype": np.empty(shape, dtype=np.float32),
            "shape": np.empty((p + 1,) + shape[1:]),
            "strided": np.empty((shape[0], 2 * shape[1]))[:, ::2],
            "readonly": np.empty(shape),
            "type": [0.0] * p,
        }[which]
        if which == "readonly":
            bad.flags.writeable = False  # type: ignore[attr-defined]
        with pytest.raises(dtl.InvalidArgumentError):
            op(ctx, data, out=bad if last else good)
    assert dtl.allreduce(ctx, 1) == p  # still in step
