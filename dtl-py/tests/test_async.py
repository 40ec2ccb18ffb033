"""Asynchronous algorithms (``dtl.async_for_each``, ``async_transform``,
``async_reduce``, ``async_sort``, ``dtl.Future``, ``when_all``,
``when_any``): results against NumPy on the global data (which every rank
builds the same way) and against the synchronous calls, several futures in
flight while the caller makes collectives of its own, errors re-raised by
``get()`` on every rank, and the container refusing use while a job holds
it."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import DTYPES, model_policies, sizes_for

import dtl

ALL_PARTS = ["block", "cyclic", "block_cyclic3", "weighted", "replicated"]
CASES = [(np.dtype(d), "block") for d in DTYPES] + [
    (np.dtype(d), p) for d in (np.float64, np.int32) for p in ALL_PARTS[1:]
]
CASE_IDS = [f"{d}-{p}" for d, p in CASES]


def values(n, dt, seed=0):
    """Random global data with duplicates; negatives where the dtype has them."""
    rng = np.random.default_rng(n + 11 + seed)
    if dt.kind == "f":
        return (rng.standard_normal(n) * 30).round(1).astype(dt)
    x = rng.integers(0, 100, n)
    return (x - 50).astype(dt) if dt.kind == "i" else x.astype(dt)


def build(ctx, data, part, cls=dtl.DistributedVector):
    kw = {name: k for name, k, _ in model_policies(ctx.size)}[part](len(data))
    return cls.from_global(ctx, data, **kw)


def all_ranks(ctx, flag):
    """True if ``flag`` holds on every rank (one MPI_Allreduce)."""
    return bool(dtl.allreduce(ctx, np.int32(bool(flag)), op=dtl.MIN))


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_async_sort_matches_numpy(ctx, dt, part):
    for n in sizes_for(ctx.size) + [5000]:
        data = values(n, dt)
        for reverse in (False, True):
            v = build(ctx, data, part)
            before = v.local_size
            fut = dtl.async_sort(v, reverse=reverse)
            assert isinstance(fut, dtl.Future)
            assert fut.get() is None
            assert fut.done() and fut.test()
            want = np.sort(data)[::-1] if reverse else np.sort(data)
            np.testing.assert_array_equal(v.gather_all(), want, err_msg=f"n={n} reverse={reverse}")
            assert v.local_size == before
            assert dtl.is_sorted(v, reverse=reverse)
    data = values(300, dt)
    a = build(ctx, data, part, cls=dtl.DistributedArray)
    dtl.async_sort(a, stable=True, execution=dtl.EXEC_SEQ).get()
    np.testing.assert_array_equal(a.gather_all(), np.sort(data, kind="stable"))
    assert a.execution == dtl.EXEC_PAR, "the policy is restored after the job"


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_async_reduce_matches_sync_and_numpy(ctx, dt, part):
    for n in sizes_for(ctx.size):
        data = values(n, dt)
        v = build(ctx, data, part)
        for op in (dtl.SUM, dtl.MIN, dtl.MAX, dtl.PROD):
            got = dtl.async_reduce(v, op=op).get()
            want = dtl.reduce(v, op=op)
            assert type(got) is type(want) and got.dtype == dt
            assert got == want or (np.isnan(got) and np.isnan(want)), f"n={n} op={op}"
        if n:
            assert dtl.async_reduce(v, op=dtl.MIN).get() == data.min()
            assert dtl.async_reduce(v, op=dtl.MAX).get() == data.max()
            if dt.kind in "iu":
                assert dtl.async_reduce(v).get() == data.sum(dtype=dt)
        det = dtl.async_reduce(v, deterministic=True).get()
        assert det == dtl.reduce(v, deterministic=True)


def test_async_for_each_and_transform(ctx):
    for name, kw, _ in model_policies(ctx.size):
        n = 10_007
        data = np.arange(n, dtype=np.float64)
        v = dtl.DistributedVector.from_global(ctx, data, **kw(n))
        f1 = dtl.async_transform(v, np.sqrt)            # a ufunc: releases the GIL
        f2 = dtl.async_for_each(v, lambda x: x * 2)      # queued behind it, in order
        assert f1.get() is None and f2.get() is None
        np.testing.assert_allclose(v.gather_all(), 2 * np.sqrt(data), err_msg=name)
        w = dtl.DistributedVector.from_global(ctx, np.zeros(n, dtype=np.int64), **kw(n))
        dtl.async_transform(v, w, lambda x: np.rint(x * x)).get()
        np.testing.assert_array_equal(w.gather_all(), (4 * data).astype(np.int64), err_msg=name)
        dtl.async_for_each(w, lambda i, x: i, with_index=True).get()
        np.testing.assert_array_equal(w.gather_all(), np.arange(n), err_msg=name)
    # A span.
    v = dtl.DistributedVector.from_global(ctx, np.ones(100, dtype=np.int32))
    dtl.async_for_each(dtl.DistributedSpan(v).subspan(10, 10), lambda x: x + 1).get()
    want = np.ones(100, dtype=np.int32)
    want[10:20] = 2
    np.testing.assert_array_equal(v.gather_all(), want)
    # Local: one rank alone may run one.
    if ctx.rank == 0:
        dtl.async_for_each(v, lambda x: x * 0).get()
    got = v.gather_all()
    lo, hi = v.local_sizes[0], 100
    np.testing.assert_array_equal(got[:lo], 0)
    np.testing.assert_array_equal(got[lo:hi], want[lo:hi])


def test_several_in_flight_with_caller_collectives(ctx):
    n = 30_011
    datas = [values(n, np.dtype(np.float64), seed=k) for k in range(4)]
    vs = [dtl.DistributedVector.from_global(ctx, d) for d in datas]
    futs = [dtl.async_sort(v, reverse=(k % 2 == 1)) for k, v in enumerate(vs)]
    sums = [dtl.async_reduce(dtl.DistributedVector(ctx, size=1000 + k, dtype=np.int64, fill=2)) for k in range(3)]
    # Meanwhile, the caller's own collectives on the same context.
    for r in range(5):
        assert dtl.allreduce(ctx, np.int64(r + 1)) == (r + 1) * ctx.size
        w = dtl.DistributedVector.from_global(ctx, datas[r % 4])
        dtl.sort(w)
        np.testing.assert_array_equal(w.gather_all(), np.sort(datas[r % 4]))
        dtl.barrier(ctx)
    assert dtl.when_all(futs) == [None] * 4
    for k, (v, d) in enumerate(zip(vs, datas)):
        want = np.sort(d)[::-1] if k % 2 else np.sort(d)
        np.testing.assert_array_equal(v.gather_all(), want)
    assert [int(s) for s in dtl.when_all(sums)] == [2 * (1000 + k) for k in range(3)]


def test_calls_on_one_container_queue_in_order(ctx):
    n = 50_000
    data = values(n, np.dtype(np.float64), seed=3)
    v = dtl.DistributedVector.from_global(ctx, data)
    f1 = dtl.async_sort(v)
    f2 = dtl.async_transform(v, np.negative)        # submitted while the sort may hold v
    f3 = dtl.async_sort(v, reverse=True)
    f4 = dtl.async_reduce(v, op=dtl.MAX)
    f5 = dtl.async_for_each(v, lambda x: x + 1.0)
    assert dtl.when_all([f1, f2, f3]) == [None] * 3
    assert f4.get() == -data.min()
    f5.get()
    np.testing.assert_array_equal(v.gather_all(), np.sort(-data)[::-1] + 1.0)


def test_overlap_with_numpy_work(ctx):
    n = 1_000_000
    data = values(n, np.dtype(np.float64), seed=5)
    v = dtl.DistributedVector.from_global(ctx, data)
    fut = dtl.async_sort(v)
    # NumPy work on the caller's side while the sort runs (GIL released).
    acc = 0.0
    while not all_ranks(ctx, fut.test()):
        acc += float(np.sin(np.arange(20_000, dtype=np.float64)).sum())
    assert fut.done()
    fut.get()
    np.testing.assert_array_equal(v.gather_all(), np.sort(data))


def test_get_reraises_on_every_rank(ctx):
    v = dtl.DistributedVector.from_global(ctx, np.arange(10, dtype=np.float64))
    fut = dtl.async_reduce(v, op=dtl.BAND)
    with pytest.raises(dtl.InvalidArgumentError):
        fut.get()
    assert fut.done()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.async_reduce(v, op="nonsense").get()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.when_all([dtl.async_reduce(v, op=dtl.MAX), dtl.async_reduce(v, op=dtl.LXOR)])
    # The lane is still in step afterwards.
    assert dtl.async_reduce(v, op=dtl.MAX).get() == 9.0
    # A bad execution on one rank: every rank's get() raises.
    bad = "fast" if ctx.rank == 0 else None
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.async_sort(v, execution=bad).get()
    assert dtl.async_reduce(v).get() == 45.0
    # A Python exception of a local job is re-raised as it is.
    def boom(x):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        dtl.async_for_each(v, boom).get()
    with pytest.raises(dtl.NotSupportedError, match="inner axis"):
        dtl.async_sort(dtl.DistributedTensor(ctx, shape=(4, 2), axis=1)).get()
    t = dtl.DistributedTensor(ctx, shape=(5, 3), dtype=np.int64)
    dtl.iota(t)
    assert dtl.async_reduce(t).get() == 105
    dtl.async_sort(t, reverse=True).get()
    np.testing.assert_array_equal(t.gather_all(), np.arange(15)[::-1].reshape(5, 3))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.async_reduce([1, 2, 3])


@pytest.mark.mpi(min_size=2)
def test_ranks_disagreeing_raise_everywhere(ctx):
    v = dtl.DistributedVector.from_global(ctx, np.arange(10, dtype=np.int16))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.async_sort(v, reverse=(ctx.rank == 0)).get()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.async_reduce(v, op=dtl.SUM if ctx.rank else dtl.MAX).get()
    assert dtl.async_reduce(v).get() == 45


@pytest.mark.mpi(min_size=2)
def test_container_busy_while_a_job_holds_it(ctx):
    v = dtl.DistributedVector.from_global(ctx, np.arange(1000, dtype=np.float64)[::-1].copy())
    if ctx.rank == 0:
        # Rank 0's job starts at once and waits on the lane for the other
        # ranks, which submit theirs only after the barrier below.
        fut = dtl.async_sort(v)
        deadline = time.monotonic() + 30
        busy = False
        while not busy and time.monotonic() < deadline:
            try:
                v.local_size
                time.sleep(0.001)
            except RuntimeError:
                busy = True
        assert busy, "the job holds the container"
        assert not fut.done()
        with pytest.raises(RuntimeError, match="borrow"):
            v.local_view()
        with pytest.raises(RuntimeError, match="borrow"):
            dtl.sort(v)
        with pytest.raises(RuntimeError, match="borrow"):
            dtl.fill(v, 1.0)
        dtl.barrier(ctx)                       # the caller's collectives still work
    else:
        dtl.barrier(ctx)
        fut = dtl.async_sort(v)
    fut.get()
    np.testing.assert_array_equal(v.gather_all(), np.arange(1000, dtype=np.float64))


def test_when_all_and_when_any(ctx):
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.when_any([])
    assert dtl.when_all([]) == []
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.when_all([1])
    other = ctx.dup()                           # another communicator: another worker
    gate = threading.Event()
    slow_v = dtl.DistributedVector(other, size=10, dtype=np.int32)
    quick_v = dtl.DistributedVector(ctx, size=10, dtype=np.int32)

    def wait_then_fill(view):
        assert gate.wait(30)
        view[...] = 7

    slow = dtl.async_for_each(slow_v, wait_then_fill, vectorized=True)
    quick = dtl.async_for_each(quick_v, lambda x: x + 3)
    assert dtl.when_any([slow, quick]) == 1
    assert not slow.done() and not slow.test()
    assert not slow.wait(timeout=0.01)
    gate.set()
    assert slow.wait()
    assert dtl.when_any([slow, quick]) == 0
    assert dtl.when_all([slow, quick]) == [None, None]
    assert (slow_v.local_view() == 7).all() and (quick_v.local_view() == 3).all()
    # Collective futures.
    futs = [dtl.async_reduce(dtl.DistributedVector(ctx, size=5, dtype=np.int64, fill=k), op=dtl.MAX) for k in range(3)]
    i = dtl.when_any(futs)
    assert futs[i].done()
    assert [int(x) for x in dtl.when_all(futs)] == [0, 1, 2]
    assert "done" in repr(futs[0])


def test_lane_and_worker_per_communicator(ctx):
    c = ctx.dup()
    v = dtl.DistributedVector(c, size=100, dtype=np.float32, fill=1)
    dtl.async_transform(v, lambda x: x + 1).get()
    dtl.sort(v)
    assert not c._has_async_lane, "local async calls and sync ones make no lane"
    assert dtl.async_reduce(v).get() == 200.0
    assert c._has_async_lane
    from dtl import _async

    d = c.with_cuda(0)                          # same communicator
    assert d._comm_id == c._comm_id and d._has_async_lane
    assert _async._worker_of(d) is _async._worker_of(c)
    assert _async._worker_of(ctx) is not _async._worker_of(c)
    lane = c._async_context()
    assert lane._comm_id != c._comm_id and (lane.rank, lane.size) == (c.rank, c.size)
    c.collective_checks = False
    assert c._async_context().collective_checks is False
    assert dtl.async_reduce(v, op=dtl.MAX).get() == 2.0


def test_short_lived_contexts_released_by_the_caller(ctx):
    # The last reference to a container (and with it its context: MPI_Win_free,
    # MPI_Comm_free, collective) must go on the caller's thread, never on the
    # worker, while the caller is making new communicators and windows.
    for k in range(25):
        c = ctx.dup()
        v = dtl.DistributedVector.from_global(c, np.arange(2000, dtype=np.int64)[::-1].copy())
        f = dtl.async_sort(v) if k % 3 else dtl.async_transform(v, np.negative)
        g = dtl.async_reduce(v, op=dtl.MAX)
        del v, c
        if k % 2:
            f.get()
        del f                                   # waits for the sort
        w = dtl.DistributedVector(ctx, size=100, dtype=np.float64)
        assert g.get() == (1999 if k % 3 else 0)
        del g, w


@pytest.mark.skipif("OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ,
                    reason="starts a singleton MPI process; not under mpirun")
def test_interpreter_exits_with_jobs_in_flight():
    code = (
        "import dtl, numpy as np\n"
        "ctx = dtl.Context()\n"
        "v = dtl.DistributedVector.from_global(ctx, np.random.default_rng(1).random(2_000_000))\n"
        "f = dtl.async_sort(v)\n"
        "g = dtl.async_transform(v, np.sqrt)\n"
        "h = dtl.async_reduce(v)\n"
        "print('submitted', flush=True)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "submitted" in r.stdout
