"""RMA windows (dtl.Window, dtl.rma_*): every operation x dtype x
synchronisation mode (fence, lock, lock_all, post/start/complete/wait),
with contention (every rank on rank 0), exact expected values from closed
forms, and the errors on bad input. Every test ends with a collective."""

import numpy as np
import pytest
from conftest import DTYPES

import dtl


def isz(dt):
    return np.dtype(dt).itemsize


def test_guide_counter(ctx):
    counter = np.zeros(1, dtype=np.int64)
    win = dtl.Window(ctx, base=counter)
    win.lock(target=0, mode="exclusive")
    old = dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64)
    win.unlock(target=0)
    assert 0 <= old < ctx.size
    ctx.barrier()
    if ctx.is_root:
        assert counter[0] == ctx.size
    olds = dtl.allgather(ctx, np.array([old]))
    assert sorted(olds.ravel().tolist()) == list(range(ctx.size))
    win.free()
    assert not win.is_valid


@pytest.mark.parametrize("dtype", DTYPES)
def test_fence_put_get_accumulate(ctx, dtype):
    p, me = ctx.size, ctx.rank
    s = isz(dtype)
    with dtl.Window(ctx, size=4 * s) as win:
        assert win.size == 4 * s and win.size_of(p - 1) == 4 * s
        right, left = (me + 1) % p, (me - 1) % p
        win.fence()
        dtl.rma_put(win, right, 0, np.array([me + 1], dtype=dtype))
        dtl.rma_accumulate(win, 0, s, np.array([me + 1], dtype=dtype), op=dtl.SUM)
        win.fence()
        got = dtl.rma_get(win, left, 0, s, dtype)  # pending until the next fence
        old = dtl.rma_fetch_and_add(win, 0, 2 * s, 1, dtype=dtype)
        win.fence()
        assert got[0] == ((left - 1) % p) + 1
        assert 0 <= int(old[0]) < p
        got = dtl.rma_get(win, 0, s, 2 * s, dtype)
        win.fence(last=True)
        assert got.tolist() == [p * (p + 1) // 2, p]
        olds = dtl.allgather(ctx, np.asarray(old, dtype=np.int64))
        assert sorted(olds.ravel().tolist()) == list(range(p))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["exclusive", "shared"])
def test_lock_atomics(ctx, dtype, mode):
    p, me = ctx.size, ctx.rank
    s = isz(dtype)
    win = dtl.Window(ctx, size=4 * s)
    ctx.barrier()
    with win.lock(0, mode=mode):
        old = dtl.rma_fetch_and_op(win, 0, 0, 2, op=dtl.SUM, dtype=dtype)
        dtl.rma_accumulate(win, 0, s, np.array([me + 1], dtype=dtype), op=dtl.MAX)
        cas = dtl.rma_compare_and_swap(win, 0, 2 * s, compare=0, swap=me + 1, dtype=dtype)
        dtl.rma_get_accumulate(win, 0, 3 * s, np.array([1], dtype=dtype), op=dtl.SUM)
    assert np.ndim(old) == 0 and int(old) % 2 == 0
    ctx.barrier()
    with win.lock(0, "shared"):
        got = dtl.rma_get(win, 0, 0, 4 * s, dtype)
        now = dtl.rma_get_accumulate(win, 0, 0, np.zeros(1, dtype=dtype), op=dtl.NO_OP)
    assert got[0] == 2 * p and got[1] == p and got[3] == p
    assert 1 <= got[2] <= p and now[0] == 2 * p
    winners = dtl.allgather(ctx, np.array([int(cas) == 0], dtype=np.int32))
    assert int(np.sum(winners)) == 1
    win.free()


@pytest.mark.parametrize("dtype", DTYPES)
def test_lock_all_and_flush(ctx, dtype):
    p, me = ctx.size, ctx.rank
    s = isz(dtype)
    mine = np.full(2, me + 1, dtype=dtype)
    win = dtl.Window(ctx, base=mine.copy())
    with win.lock_all():
        for t in range(p):
            assert dtl.rma_get(win, t, 0, s, dtype)[0] == t + 1
        win.flush_all()
    ctx.barrier()
    win.lock_all()
    for t in range(p):
        dtl.rma_accumulate(win, t, s, np.array([1], dtype=dtype), op="sum")
        win.flush(t)
        win.flush_local(t)
    win.flush_local_all()
    win.unlock_all()
    ctx.barrier()
    with win.lock(me, "shared"):
        assert dtl.rma_get(win, me, s, s, dtype)[0] == me + 1 + p
    win.sync()
    win.free()


@pytest.mark.parametrize("dtype", DTYPES)
def test_pscw(ctx, dtype):
    p, me = ctx.size, ctx.rank
    s = isz(dtype)
    left, right = (me - 1) % p, (me + 1) % p
    buf = np.zeros(2, dtype=dtype)
    win = dtl.Window(ctx, base=buf)
    win.post([left])
    with win.start([right]):
        dtl.rma_put(win, right, 0, np.array([me + 1], dtype=dtype))
    win.wait()
    assert buf[0] == left + 1
    if me == 0:
        win.post(list(range(p)))
    win.start([0])
    dtl.rma_accumulate(win, 0, s, np.array([me + 1], dtype=dtype), op=dtl.SUM)
    win.complete()
    if me == 0:
        while not win.test():
            pass
        assert buf[1] == p * (p + 1) // 2
    ctx.barrier()
    win.free()


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_accumulate_op(ctx, dtype):
    p, me = ctx.size, ctx.rank
    ops = [("sum", 1, me + 1), ("prod", 1, 2), ("min", 50, me + 1), ("max", 0, me + 1), ("replace", 0, me + 1)]
    if np.dtype(dtype).kind in "iu":
        ops += [("band", 127, me + 1), ("bor", 0, me + 1), ("bxor", 0, me + 1)]
    for op, init, mine in ops:
        cell = np.full(1, init, dtype=dtype)
        win = dtl.Window(ctx, base=cell)
        ctx.barrier()
        with win.lock(0):
            dtl.rma_accumulate(win, 0, 0, np.array([mine], dtype=dtype), op=op)
        ctx.barrier()
        r = range(1, p + 1)
        want = {"sum": 1 + sum(r), "prod": 2**p, "min": 1, "max": p,
                "band": np.bitwise_and.reduce([127, *r]), "bor": np.bitwise_or.reduce([0, *r]),
                "bxor": np.bitwise_xor.reduce([0, *r])}
        if me == 0:
            if op == "replace":
                assert 1 <= cell[0] <= p
            else:
                assert cell[0] == want[op], op
        win.free()


def test_container_window(ctx):
    p, me = ctx.size, ctx.rank
    v = dtl.DistributedVector(ctx, size=3 * p, dtype=np.float64)
    win = v.window()
    with pytest.raises(dtl.DTLError):
        v.resize(4 * p)
    win.fence()
    dtl.rma_put(win, (me + 1) % p, 8, np.array([me + 0.5]))
    win.fence()
    assert v.local_view()[1] == (me - 1) % p + 0.5
    win.free()
    del win
    v.resize(4 * p)
    ctx.barrier()


def test_errors(ctx):
    p = ctx.size
    win = dtl.Window(ctx, size=16)
    with pytest.raises(dtl.DTLError):
        dtl.rma_put(win, 0, 0, np.array([1.0]))  # no epoch
    win.lock(0)
    with pytest.raises(dtl.BoundsError):
        dtl.rma_put(win, 0, 16, np.array([1], dtype=np.uint8))
    with pytest.raises(dtl.BoundsError):
        dtl.rma_get(win, 0, 8, 16, np.float64)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.rma_get(win, 0, 4, 8, np.float64)  # misaligned
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.rma_get(win, 0, 0, 7, np.float64)  # not whole elements
    with pytest.raises(dtl.BoundsError):
        dtl.rma_put(win, p, 0, np.array([1.0]))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.rma_accumulate(win, 0, 0, np.array([1.0]), op=dtl.BXOR)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.rma_accumulate(win, 0, 0, np.array([1.0]), op=dtl.LAND)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.rma_put(win, -1, 0, np.array([1.0]))
    with pytest.raises(dtl.DTLError):
        win.lock(0)  # already locked
    with pytest.raises(dtl.DTLError):
        win.free()  # epoch open
    win.unlock(0)
    with pytest.raises(dtl.DTLError):
        win.unlock(0)
    with pytest.raises(dtl.InvalidArgumentError):
        win.lock(0, mode="both")
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, size=8, base=np.zeros(1))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Window(ctx, base=np.zeros(4)[::2])
    ctx.barrier()
    win.free()
    win.free()
    with pytest.raises(dtl.DTLError):
        win.fence()
