"""Distributed sort and order statistics (``dtl.sort``, ``is_sorted``,
``nth_element``, ``median``, ``percentile``) and the deterministic
reduction, on DistributedVector / DistributedArray under every partition
and dtype, against ``numpy.sort`` / ``numpy.median`` / ``numpy.percentile``
of the global array (which every rank builds the same way)."""

import numpy as np
import pytest
from conftest import DTYPES, model_policies, sizes_for

import dtl

ALL_PARTS = ["block", "cyclic", "block_cyclic3", "weighted", "replicated"]
CASES = [(np.dtype(d), p) for d in DTYPES for p in ("block", "cyclic")] + [
    (np.dtype(d), p) for d in (np.float64, np.int16, np.uint32) for p in ALL_PARTS[2:]
]
CASE_IDS = [f"{d}-{p}" for d, p in CASES]


def values(n, dt):
    """Random global data with duplicates; negatives where the dtype has them."""
    rng = np.random.default_rng(n + 11)
    if dt.kind == "f":
        return (rng.standard_normal(n) * 30).round(1).astype(dt)
    x = rng.integers(0, 100, n)
    return (x - 50).astype(dt) if dt.kind == "i" else x.astype(dt)


def build(ctx, data, part, cls=dtl.DistributedVector):
    kw = {name: k for name, k, _ in model_policies(ctx.size)}[part](len(data))
    return cls.from_global(ctx, data, **kw)


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_sort_matches_numpy(ctx, dt, part):
    for n in sizes_for(ctx.size) + [5000]:
        data = values(n, dt)
        for reverse in (False, True):
            for stable in (False, True):
                v = build(ctx, data, part)
                before = v.local_size
                view = v.local_view()
                dtl.sort(v, reverse=reverse, stable=stable)
                want = np.sort(data)[::-1] if reverse else np.sort(data)
                np.testing.assert_array_equal(v.gather_all(), want, err_msg=f"n={n} reverse={reverse}")
                assert v.local_size == before
                if before:
                    assert np.shares_memory(view, v.local_view()), "local views stay valid"
                assert dtl.is_sorted(v, reverse=reverse)
                if n > 2 and data.min() != data.max():
                    assert not dtl.is_sorted(v, reverse=not reverse)


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_order_statistics_match_numpy(ctx, dt, part):
    for n in sizes_for(ctx.size):
        data = values(n, dt)
        v = build(ctx, data, part)
        if n == 0:
            assert np.isnan(dtl.median(v))
            with pytest.raises(dtl.BoundsError):
                dtl.nth_element(v, 0)
            continue
        s = np.sort(data)
        for k in {0, n // 2, n - 1, -1}:
            got = dtl.nth_element(v, k)
            assert got == s[k] and np.asarray(got).dtype == dt
        assert dtl.median(v) == pytest.approx(float(np.median(data.astype(np.float64))), rel=1e-12, abs=1e-12)
        for q in (0, 10, 33.3, 50, 95, 100):
            want = float(np.percentile(data.astype(np.float64), q))
            assert dtl.percentile(v, q) == pytest.approx(want, rel=1e-12, abs=1e-12), q
        np.testing.assert_array_equal(v.gather_all(), data, err_msg="selection leaves the data alone")


@pytest.mark.parametrize("part", ALL_PARTS)
def test_nan_goes_last(ctx, part):
    data = values(40, np.dtype(np.float64))
    data[::7] = np.nan
    for reverse in (False, True):
        v = build(ctx, data, part)
        dtl.sort(v, reverse=reverse)
        got = v.gather_all()
        k = int(np.count_nonzero(~np.isnan(data)))
        numbers = np.sort(data[~np.isnan(data)])
        np.testing.assert_array_equal(got[:k], numbers[::-1] if reverse else numbers)
        assert np.isnan(got[k:]).all()
        assert dtl.is_sorted(v, reverse=reverse)
    assert np.isnan(dtl.median(v)) and np.isnan(dtl.percentile(v, 20))


def test_array_and_methods(ctx):
    data = values(3001, np.dtype(np.int64))
    a = dtl.DistributedArray.from_global(ctx, data, partition=dtl.PARTITION_CYCLIC)
    a.sort(reverse=True)
    np.testing.assert_array_equal(a.gather_all(), np.sort(data)[::-1])
    assert a.is_sorted(reverse=True)
    v = dtl.DistributedVector.from_global(ctx, data)
    mine = np.sort(v.local_view().copy())
    dtl.sort_local(v)
    np.testing.assert_array_equal(v.local_view(), mine)
    for ex in (dtl.EXEC_SEQ, dtl.EXEC_PAR):
        w = dtl.DistributedVector.from_global(ctx, data)
        dtl.sort(w, execution=ex)
        np.testing.assert_array_equal(w.gather_all(), np.sort(data))


def test_sort_errors_on_every_rank(ctx):
    v = dtl.DistributedVector.from_global(ctx, values(10, np.dtype(np.float64)))
    with pytest.raises(dtl.BoundsError):
        dtl.nth_element(v, 10)
    with pytest.raises(dtl.BoundsError):
        dtl.nth_element(v, -11)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.percentile(v, 101)
    with pytest.raises(dtl.NotSupportedError):
        dtl.sort(dtl.DistributedSpan(v))
    if ctx.size > 1:
        with pytest.raises(dtl.DTLError):
            dtl.sort(v, reverse=ctx.rank == 0)


@pytest.mark.parametrize("part", ALL_PARTS)
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_deterministic_reduce_equals_one_process(ctx, part, dt):
    """reduce(deterministic=True) gives the bits one process gets, whatever the
    number of ranks and the partition; plain reduce agrees with numpy.sum closely."""
    from mpi4py import MPI

    with dtl.Context(comm=MPI.COMM_SELF) as me:
        for n in (0, 1, 1000, 32768 * 3 + 5):
            rng = np.random.default_rng(n)
            data = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 7, n)).astype(dt)
            one = dtl.DistributedVector.from_global(me, data).reduce(dtl.SUM)
            v = build(ctx, data, part)
            got = dtl.reduce(v, dtl.SUM, deterministic=True)
            assert got.tobytes() == one.tobytes(), (n, got, one)
            assert float(dtl.reduce(v, dtl.SUM)) == pytest.approx(float(np.sum(data, dtype=np.float64)), rel=1e-4, abs=1e-3)
