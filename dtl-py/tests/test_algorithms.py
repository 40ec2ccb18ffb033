"""The distributed algorithms (``dtl.reduce``, ``dtl.find``, scans, …) on
DistributedVector / DistributedArray / DistributedSpan, under every
partition and dtype, against NumPy on the whole global array (which every
rank builds the same way) or closed forms. Errors must reach every rank.

Coverage is split to keep the file fast at np 4: every dtype on the block
and cyclic partitions, every partition on float64 and int32 (``CASES``);
each case runs the sizes 0, 1, size-1, size, size+1, 17 and 1000.
"""

import math

import numpy as np
import pytest
from conftest import DTYPES, model_policies, sizes_for

import dtl

ALL_PARTS = ["block", "cyclic", "block_cyclic3", "weighted", "replicated"]
CASES = [(np.dtype(d), p) for d in DTYPES for p in ("block", "cyclic")] + [
    (np.dtype(d), p) for d in (np.float64, np.int32) for p in ALL_PARTS[2:]
]
CASE_IDS = [f"{d}-{p}" for d, p in CASES]
FLOAT_OPS = [dtl.SUM, dtl.PROD, dtl.MIN, dtl.MAX]
INT_OPS = FLOAT_OPS + [dtl.LAND, dtl.LOR, dtl.LXOR, dtl.BAND, dtl.BOR, dtl.BXOR]


def values(n, dtype):
    """Deterministic global data: duplicates for integers, negatives where the dtype has them."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (np.random.default_rng(n + 7).standard_normal(n) * 50).astype(dt)
    base = (np.arange(n) * 37 + 11) % 101
    return (base - 50).astype(dt) if dt.kind == "i" else base.astype(dt)


def kwargs(ctx, part, n):
    return {name: kw for name, kw, _ in model_policies(ctx.size)}[part](n)


def build(ctx, data, part, cls=dtl.DistributedVector):
    return cls.from_global(ctx, data, **kwargs(ctx, part, len(data)))


def each_size(ctx):
    return sizes_for(ctx.size)


def identity(op, dt):
    if op in (dtl.SUM, dtl.LOR, dtl.LXOR, dtl.BOR, dtl.BXOR):
        return dt.type(0)
    if op in (dtl.PROD, dtl.LAND):
        return dt.type(1)
    if op == dtl.BAND:
        return np.array(-1).astype(dt)[()]
    if dt.kind == "f":
        return dt.type(np.inf if op == dtl.MIN else -np.inf)
    return np.iinfo(dt).max if op == dtl.MIN else np.iinfo(dt).min


def np_reduce(data, op, dt):
    if data.size == 0:
        return identity(op, dt)
    logical = {dtl.LAND: np.logical_and, dtl.LOR: np.logical_or, dtl.LXOR: np.logical_xor}
    if op in logical:
        return dt.type(logical[op].reduce(data.astype(bool)))
    f = {dtl.SUM: np.add, dtl.PROD: np.multiply, dtl.MIN: np.minimum, dtl.MAX: np.maximum,
         dtl.BAND: np.bitwise_and, dtl.BOR: np.bitwise_or, dtl.BXOR: np.bitwise_xor}[op]
    return f.reduce(data, dtype=dt)


def assert_sum_close(got, data, dt, what=""):
    """A float sum against numpy.sum: pairwise error bound, tight."""
    exact = np.sum(data.astype(np.float64))
    scale = np.sum(np.abs(data.astype(np.float64)))
    eps = np.finfo(dt).eps
    assert abs(float(got) - exact) <= 4 * eps * (math.log2(max(data.size, 2)) + 1) * scale + 1e-300, what


# ------------------------------------------------------------------ reductions


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_reduce_every_op(ctx, dt, part):
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        for op in FLOAT_OPS if dt.kind == "f" else INT_OPS:
            if dt.kind == "f" and op == dtl.PROD and n > 17:
                continue  # overflows; its order-dependence is not the point here
            got = dtl.reduce(v, op=op)
            assert isinstance(got, np.generic) and got.dtype == dt, (op, n)
            want = np_reduce(data, op, dt)
            msg = f"{part} {dt} n={n} op={op}"
            if op in (dtl.LAND, dtl.LOR, dtl.LXOR):
                # Truthiness only: see test_logical_reduce_gives_0_or_1.
                assert bool(got) == bool(want), msg
            elif dt.kind == "f" and op == dtl.SUM:
                assert_sum_close(got, data, dt, msg)
            elif dt.kind == "f" and op == dtl.PROD:
                np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=msg)
            else:
                assert got == want, msg
        # reduce_local: this rank's elements only.
        mine = v.to_numpy()
        for op in (dtl.SUM, dtl.MIN, dtl.MAX):
            got = dtl.reduce_local(v, op)
            if dt.kind == "f" and op == dtl.SUM:
                assert_sum_close(got, mine, dt)
            else:
                assert got == np_reduce(mine, op, dt)
        # The container method is the same call.
        assert v.reduce(dtl.MAX) == dtl.reduce(v, dtl.MAX)


def test_logical_reduce_gives_0_or_1(ctx):
    v = dtl.DistributedVector.from_global(ctx, np.array([5], dtype=np.int32))
    assert [dtl.reduce(v, op) for op in (dtl.LAND, dtl.LOR, dtl.LXOR)] == [1, 1, 1]


def test_reduce_large_seq_equals_par(ctx):
    n = 300_000
    data = values(n, np.float64)
    for part in ("block", "cyclic"):
        v = build(ctx, data, part)
        assert v.execution == dtl.EXEC_PAR
        par = dtl.reduce(v, execution=dtl.EXEC_PAR)
        seq = dtl.reduce(v, execution=dtl.EXEC_SEQ)
        assert v.execution == dtl.EXEC_PAR  # restored
        assert par == seq  # the same bits
        assert_sum_close(par, data, np.dtype(np.float64))
        assert abs(float(par) - math.fsum(data.tolist())) <= 1e-9 * np.sum(np.abs(data))


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_dot(ctx, dt, part):
    for n in each_size(ctx):
        a, b = values(n, dt), values(n, dt)[::-1].copy()
        va, vb = build(ctx, a, part), build(ctx, b, part, dtl.DistributedArray)
        got = dtl.dot(va, vb)
        assert got.dtype == dt
        if dt.kind == "f":
            assert_sum_close(got, a.astype(np.float64) * b, dt, f"n={n}")
        else:
            assert got == np.add.reduce(a * b, dtype=dt)
        assert dtl.inner_product(va, vb) == got
        la, lb = va.to_numpy(), vb.to_numpy()
        if dt.kind == "f":
            assert_sum_close(va.dot_local(vb), la.astype(np.float64) * lb, dt)
        else:
            assert va.dot_local(vb) == np.add.reduce(la * lb, dtype=dt)


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_transform_reduce(ctx, dt, part):
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        got = dtl.transform_reduce(v, np.square)
        assert got.dtype == dt
        if dt.kind == "f":
            assert_sum_close(got, data.astype(np.float64) ** 2, dt)
        else:
            assert got == np.add.reduce(np.square(data), dtype=dt)
        # A predicate counts (bool -> int64).
        c = dtl.transform_reduce(v, lambda x: x > 10)
        assert c.dtype == np.int64 and c == np.count_nonzero(data > 10)
        # Scalar-only function, fixed dtype (ranks with no elements agree too).
        m = dtl.transform_reduce(v, lambda x: 1.0 if x > 10 else 0.5, op=dtl.MAX, dtype=np.float64)
        assert m == (np_reduce(np.where(data > 10, 1.0, 0.5), dtl.MAX, np.dtype(np.float64)))
        # math.fabs: per-element path, float64 results.
        s = dtl.transform_reduce(v, math.fabs)
        assert_sum_close(s, np.abs(data.astype(np.float64)), np.dtype(np.float64))
        # func=None: the elements themselves.
        assert dtl.transform_reduce(v, None, dtl.MIN) == np_reduce(data, dtl.MIN, dt)


# ------------------------------------------------------------------ scans


def assert_scan_close(got, data, dt, msg=""):
    """A float prefix sum against float64 cumsum: the bound of sequential summation."""
    ref = np.cumsum(data.astype(np.float64))
    bound = 2 * max(data.size, 1) * np.finfo(dt).eps * np.cumsum(np.abs(data.astype(np.float64)))
    assert np.all(np.abs(got.astype(np.float64) - ref) <= bound), msg


def np_scan(data, op, dt):
    f = {dtl.SUM: np.add, dtl.PROD: np.multiply, dtl.MIN: np.minimum, dtl.MAX: np.maximum,
         dtl.BXOR: np.bitwise_xor, dtl.BOR: np.bitwise_or}[op]
    return f.accumulate(data, dtype=dt) if data.size else data


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_scans(ctx, dt, part):
    ops = [dtl.SUM, dtl.MIN, dtl.MAX] + ([dtl.PROD, dtl.BXOR, dtl.BOR] if dt.kind != "f" else [])
    for n in each_size(ctx):
        data = values(n, dt)
        for op in ops:
            msg = f"{part} {dt} n={n} op={op}"
            v = build(ctx, data, part)
            view = v.local_view()
            dtl.inclusive_scan(v, op)
            want = np_scan(data, op, dt)
            got = v.gather_all()
            if dt.kind == "f" and op == dtl.SUM:
                assert_scan_close(got, data, dt, msg)
            else:
                np.testing.assert_array_equal(got, want, err_msg=msg)
            np.testing.assert_array_equal(view, v.to_numpy())  # the view still shows the container
            # exclusive: init op (everything before); init defaults to the identity.
            for init in (None, 3):
                w = build(ctx, data, part)
                dtl.exclusive_scan(w, op, init)
                first = identity(op, dt) if init is None else dt.type(init)
                want = np_scan(np.concatenate([[first], data[:-1]]).astype(dt), op, dt) if n else data
                got = w.gather_all()
                if dt.kind == "f" and op == dtl.SUM:
                    assert_scan_close(got, np.concatenate([[first], data[:-1]]).astype(dt) if n else data, dt, msg)
                else:
                    np.testing.assert_array_equal(got, want, err_msg=f"{msg} init={init}")
        # local variants: this rank's part alone.
        v = build(ctx, data, part)
        mine = v.to_numpy()
        dtl.inclusive_scan_local(v, dtl.MAX)
        np.testing.assert_array_equal(v.to_numpy(), np_scan(mine, dtl.MAX, dt))
        v.from_numpy(mine)
        dtl.exclusive_scan_local(v, dtl.MIN, init=7)
        want = np_scan(np.concatenate([[dt.type(7)], mine[:-1]]).astype(dt), dtl.MIN, dt) if mine.size else mine
        np.testing.assert_array_equal(v.to_numpy(), want)


def test_scan_large_seq_equals_par(ctx):
    n = 200_000
    data = values(n, np.int64)
    out = []
    for ex in (dtl.EXEC_SEQ, dtl.EXEC_PAR):
        v = build(ctx, data, "block")
        dtl.inclusive_scan(v, execution=ex)
        out.append(v.gather_all())
    np.testing.assert_array_equal(out[0], np.cumsum(data))
    np.testing.assert_array_equal(out[1], out[0])


# ------------------------------------------------------------------ queries


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_find_count(ctx, dt, part):
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        probes = [data[k] for k in {0, n // 2, n - 1} if n] + [dt.type(101) if dt.kind != "f" else 1e6]
        for x in probes:
            hits = np.flatnonzero(data == x)
            want = int(hits[0]) if hits.size else None
            assert dtl.find(v, x) == want, (part, n, x)
            assert v.find(x) == want
            assert dtl.count(v, x) == hits.size
        # A value no element can hold matches nothing (no wrap-around to 44).
        if dt.kind in "iu" and dt.itemsize == 1:
            assert dtl.find(v, 300) is None and dtl.count(v, 300) == 0
        if dt.kind != "f":
            assert dtl.find(v, 0.5) is None and dtl.count(v, 0.5) == 0


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_predicates(ctx, dt, part):
    t = dt.type(10)
    vec_pred = lambda x: x > t  # noqa: E731
    scalar_pred = lambda x: True if x > t else False  # noqa: E731 - truthiness of an array: per element
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        mask = data > t
        hits = np.flatnonzero(mask)
        first = int(hits[0]) if hits.size else None
        for pred, vec in ((vec_pred, None), (scalar_pred, None), (vec_pred, False), (vec_pred, True)):
            assert dtl.find_if(v, pred, vectorized=vec) == first, (part, n)
            assert dtl.count_if(v, pred, vectorized=vec) == hits.size
            assert dtl.all_of(v, pred, vectorized=vec) == bool(mask.all())
            assert dtl.any_of(v, pred, vectorized=vec) == bool(mask.any())
            assert dtl.none_of(v, pred, vectorized=vec) == (not mask.any())
        # A scalar result of a vectorised predicate broadcasts.
        assert dtl.count_if(v, lambda x: True) == n and dtl.all_of(v, lambda x: False) == (n == 0)
        # A ufunc predicate (truthiness of its values).
        assert dtl.count_if(v, np.sign) == np.count_nonzero(data)


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_min_max_element(ctx, dt, part):
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        lo, hi = dtl.min_element(v), dtl.max_element(v)
        if n == 0:
            assert lo is None and hi is None and dtl.minmax(v) is None
            continue
        assert lo == (int(np.argmin(data)), data.min()) and hi == (int(np.argmax(data)), data.max())
        assert isinstance(lo[0], int) and lo[1].dtype == dt
        assert dtl.minmax(v) == (lo, hi)


@pytest.mark.parametrize("part", ALL_PARTS)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nan_semantics(ctx, dt, part):
    for n in (1, ctx.size + 1, 17):
        data = values(n, dt)
        nan_at = [n // 2, n - 1]
        data[nan_at] = np.nan
        v = build(ctx, data, part)
        assert np.isnan(dtl.reduce(v, dtl.MIN)) and np.isnan(dtl.reduce(v, dtl.MAX))
        assert np.isnan(dtl.reduce(v, dtl.SUM))
        i, x = dtl.min_element(v)
        assert i == int(np.argmin(data)) == n // 2 and np.isnan(x)
        assert dtl.max_element(v)[0] == int(np.argmax(data)) == n // 2
        assert dtl.find(v, np.nan) is None and dtl.count(v, np.nan) == 0
        assert dtl.find_if(v, np.isnan) == n // 2 and dtl.count_if(v, np.isnan) == len(set(nan_at))
        dtl.inclusive_scan(v, dtl.MAX)
        np.testing.assert_array_equal(v.gather_all(), np.maximum.accumulate(data))


def test_find_python_float_at_container_precision(ctx):
    v = dtl.DistributedVector(ctx, 10, dtype=np.float32, fill=0.1)
    assert dtl.find(v, 0.1) == 0 and dtl.count(v, 0.1) == 10  # as np.float32 array == 0.1
    assert dtl.find(v, np.float64(0.1)) is None  # float64 0.1 is not a float32 value


# ------------------------------------------------------------------ element-wise


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_iota_fill_replace_generate(ctx, dt, part):
    for n in each_size(ctx):
        v = build(ctx, np.zeros(n, dt), part, dtl.DistributedArray)
        dtl.iota(v, 5)
        want = (np.arange(n) + 5).astype(dt)
        fits = np.arange(n) + 5 <= (np.iinfo(dt).max if dt.kind != "f" else np.inf)
        np.testing.assert_array_equal(v.gather_all()[fits], want[fits], err_msg=f"{part} n={n}")
        dtl.fill(v, 3)
        np.testing.assert_array_equal(v.gather_all(), np.full(n, 3, dt))
        data = values(n, dt)
        v.from_numpy(data[v.local_indices()])
        if n:
            old = data[n // 2]
            dtl.replace(v, old, 7)
            np.testing.assert_array_equal(v.gather_all(), np.where(data == old, dt.type(7), data))
        dtl.generate(v, lambda i: i % 7)
        np.testing.assert_array_equal(v.gather_all(), (np.arange(n) % 7).astype(dt))
        dtl.generate(v, lambda i: i % 5 if i > 2 else 1)  # per index
        np.testing.assert_array_equal(v.gather_all(), np.where(np.arange(n) > 2, np.arange(n) % 5, 1).astype(dt))


def test_iota_wraps_like_numpy(ctx):
    v = dtl.DistributedVector(ctx, 300, dtype=np.int8)
    dtl.iota(v)
    np.testing.assert_array_equal(v.gather_all(), np.arange(300).astype(np.int8))


@pytest.mark.parametrize("dt,part", CASES, ids=CASE_IDS)
def test_transform_paths_agree(ctx, dt, part):
    for n in each_size(ctx):
        data = values(n, dt)
        src = build(ctx, data, part)
        outs = []
        # ufunc into a float64 dst; vectorised lambda; per-element math.sqrt; forced per-element ufunc.
        for f, vec in ((np.sqrt, None), (lambda x: np.sqrt(np.abs(x)), None), (lambda x: math.sqrt(abs(x)), None),
                       (lambda x: np.sqrt(np.abs(x)), False)):
            dst = build(ctx, np.zeros(n, np.float64), part, dtl.DistributedArray)
            with np.errstate(invalid="ignore"):
                dtl.transform(src, dst, f, vectorized=vec)
            outs.append(dst.gather_all())
        with np.errstate(invalid="ignore"):
            want = np.sqrt(data)
        np.testing.assert_allclose(outs[0], want, rtol=1e-6 if dt.kind == "f" else 1e-3, equal_nan=True)
        want_abs = np.sqrt(np.abs(data.astype(np.float64)))
        for o in outs[1:]:  # float16 results for 8-bit integers
            np.testing.assert_allclose(o, want_abs, rtol=1e-6 if dt.kind == "f" else 2e-3)
        np.testing.assert_array_equal(outs[1], outs[3])  # vectorised == per element, same function
        # In place, with a function only scalars accept (per-element path).
        dtl.transform(src, lambda x: x if x > 0 else 0)
        np.testing.assert_array_equal(src.gather_all(), np.where(data > 0, data, 0).astype(dt))
        # for_each: in-place ufunc, in-place vectorised mutation, returned values, with_index.
        dtl.for_each(src, np.negative)
        np.testing.assert_array_equal(src.gather_all(), -np.where(data > 0, data, 0).astype(dt))

        def double(view):
            view *= 2

        src.from_numpy(data[src.local_indices()])
        dtl.for_each(src, double)
        np.testing.assert_array_equal(src.gather_all(), data * dt.type(2))
        dtl.for_each(src, lambda i, x: i % 3, with_index=True)
        np.testing.assert_array_equal(src.gather_all(), (np.arange(n) % 3).astype(dt))
        dtl.for_each(src, lambda i, x: x + 1 if i % 2 else x, with_index=True)  # per element
        np.testing.assert_array_equal(src.gather_all(), (np.arange(n) % 3 + np.arange(n) % 2).astype(dt))
        seen = []
        dtl.for_each(src, lambda x: seen.append(int(x)) if np.ndim(x) == 0 else None, vectorized=False)
        assert sorted(seen) == sorted(src.to_numpy().astype(int).tolist())


@pytest.mark.parametrize("part", ALL_PARTS)
def test_copy(ctx, part):
    for n in each_size(ctx):
        data = values(n, np.float64)
        src = build(ctx, data, part)
        for dst_part in ("block", "cyclic", part):
            dst = build(ctx, np.zeros(n), dst_part, dtl.DistributedArray)
            dtl.copy(src, dst)  # any partition, same dtype (MPI_Alltoallv when they differ)
            np.testing.assert_array_equal(dst.gather_all(), data)
        # Different dtype, same layout: a local cast copy.
        d32 = build(ctx, np.zeros(n, np.float32), part)
        dtl.copy(src, d32)
        np.testing.assert_array_equal(d32.gather_all(), data.astype(np.float32))
        src.copy_from(src)  # self: nothing to do
        if part != "block":
            with pytest.raises(dtl.InvalidArgumentError, match="same partition"):
                dtl.copy(src, build(ctx, np.zeros(n, np.int32), "block"))
        with pytest.raises(dtl.InvalidArgumentError, match="same global size"):
            dtl.copy(src, dtl.DistributedVector(ctx, n + 1))
    ctx.barrier()


# ------------------------------------------------------------------ spans


@pytest.mark.parametrize("part", ALL_PARTS)
@pytest.mark.parametrize("dt", [np.float64, np.int32])
def test_spans(ctx, dt, part):
    dt = np.dtype(dt)
    for n in each_size(ctx):
        data = values(n, dt)
        v = build(ctx, data, part)
        off, cnt = n // 3, n // 2
        span = dtl.DistributedSpan(v).subspan(off, cnt)
        sub = data[off:off + cnt]
        r = dtl.reduce(span)
        if dt.kind == "f":
            assert_sum_close(r, sub, dt)
        else:
            assert r == np.add.reduce(sub, dtype=dt)
        assert dtl.reduce(span, dtl.MIN) == np_reduce(sub, dtl.MIN, dt)
        assert dtl.transform_reduce(span, np.abs, dtl.MAX) == np_reduce(np.abs(sub), dtl.MAX, dt)
        if cnt:
            x = sub[cnt // 2]
            assert dtl.find(span, x) == int(np.flatnonzero(sub == x)[0])
            assert dtl.count(span, x) == np.count_nonzero(sub == x)
        assert dtl.find_if(span, lambda y: y > 10) == (int(np.flatnonzero(sub > 10)[0]) if (sub > 10).any() else None)
        assert dtl.count_if(span, lambda y: y > 10) == np.count_nonzero(sub > 10)
        assert dtl.all_of(span, lambda y: y > -1000) and not dtl.any_of(span, lambda y: y > 1e9)
        lo, hi = span.local_range()
        mine = v.to_numpy()[lo:hi]
        assert dtl.reduce_local(span, dtl.MAX) == np_reduce(mine, dtl.MAX, dt)
        # Element-wise on the span's elements only; the rest is untouched.
        dtl.iota(span, 1)
        dtl.transform(span, np.negative)
        want = data.copy()
        want[off:off + cnt] = -(np.arange(cnt) + 1)
        np.testing.assert_array_equal(v.gather_all(), want)
        dtl.fill(span, 4)
        dtl.replace(span, 4, 9)
        dtl.for_each(span, lambda i, x: x + i, with_index=True)
        want[off:off + cnt] = 9 + np.arange(cnt)
        np.testing.assert_array_equal(v.gather_all(), want)
        dtl.generate(span, lambda i: 2 * i)
        want[off:off + cnt] = 2 * np.arange(cnt)
        np.testing.assert_array_equal(v.gather_all(), want)
        w = build(ctx, np.zeros(n, dt), part)
        dtl.copy(span, dtl.DistributedSpan(w).subspan(off, cnt))
        np.testing.assert_array_equal(w.gather_all()[off:off + cnt], want[off:off + cnt])
        for f in (dtl.min_element, dtl.inclusive_scan):
            with pytest.raises(dtl.NotSupportedError):
                f(span)
        with pytest.raises(dtl.NotSupportedError):
            dtl.dot(span, span)


# ------------------------------------------------------------------ dispatch, policy, errors


def test_reduce_dispatch(ctx):
    # The collective: first argument a Context.
    got = dtl.reduce(ctx, np.array([ctx.rank, 1.0]), dtl.SUM, 0)
    if ctx.rank == 0:
        np.testing.assert_array_equal(got, [sum(range(ctx.size)), ctx.size])
    else:
        assert got is None
    assert dtl.reduce(ctx, 2, op=dtl.MAX, root=ctx.size - 1) == (2 if ctx.rank == ctx.size - 1 else None)
    # The algorithm: first argument a container; op positional or keyword.
    v = dtl.DistributedVector(ctx, 10, dtype=np.int64)
    dtl.iota(v)
    assert dtl.reduce(v) == 45 and dtl.reduce(v, dtl.MAX) == 9 and dtl.reduce(v, op="min") == 0
    assert dtl.reduce(v, op=1) == 0 and dtl.reduce(dtl.DistributedSpan(v), "MPI_MAX") == 9
    with pytest.raises(dtl.InvalidArgumentError, match="Context .* or a container"):
        dtl.reduce([1, 2, 3])


def test_execution_policy(ctx):
    v = dtl.DistributedVector(ctx, 100, dtype=np.float64)
    assert v.execution == dtl.EXEC_PAR == 1
    v.execution = dtl.EXEC_SEQ
    assert v.execution == 0
    for bad in (2, -1, "par", True, None):
        with pytest.raises(dtl.InvalidArgumentError, match="EXEC_SEQ"):
            v.execution = bad
    with pytest.raises(dtl.InvalidArgumentError, match="EXEC_SEQ"):
        dtl.reduce(v, execution=5)  # every rank passes 5: every rank raises
    with pytest.raises(dtl.InvalidArgumentError, match="EXEC_SEQ"):
        dtl.count_if(v, np.isnan, execution="fast")
    with pytest.raises(dtl.InvalidArgumentError, match="EXEC_SEQ"):
        dtl.fill(v, 1.0, execution=3)
    assert v.execution == 0
    dtl.fill(v, 2.0, execution=dtl.EXEC_PAR)
    assert v.execution == 0 and dtl.reduce(v) == 200.0
    ctx.barrier()


def test_argument_errors(ctx):
    f = dtl.DistributedVector(ctx, 10, dtype=np.float64)
    i = dtl.DistributedVector(ctx, 10, dtype=np.int32)
    for op in (dtl.BAND, dtl.BOR, dtl.BXOR, dtl.LAND, dtl.LOR, dtl.LXOR):
        with pytest.raises(dtl.InvalidArgumentError, match="integer dtypes only.*sum, prod, min, max"):
            dtl.reduce(f, op)
        with pytest.raises(dtl.InvalidArgumentError, match="integer dtypes only"):
            dtl.inclusive_scan(f, op)
        with pytest.raises(dtl.InvalidArgumentError, match="integer dtypes only"):
            dtl.transform_reduce(f, np.abs, op)
    for bad in ("avg", 10, -1, None.__class__, 2.5, True):
        with pytest.raises(dtl.InvalidArgumentError, match="op must be one of"):
            dtl.reduce(i, bad)
    with pytest.raises(dtl.InvalidArgumentError, match="value must be a real number"):
        dtl.find(i, "x")
    with pytest.raises(dtl.InvalidArgumentError, match="value must be a real number"):
        dtl.count(i, [1, 2])
    with pytest.raises(dtl.InvalidArgumentError, match="init"):
        dtl.exclusive_scan(i, dtl.SUM, "x")
    with pytest.raises(dtl.InvalidArgumentError, match="dtype float64, but this container has dtype int32"):
        dtl.dot(i, f)
    with pytest.raises(dtl.InvalidArgumentError, match="same global size and partition"):
        dtl.dot(f, dtl.DistributedVector(ctx, 11))
    with pytest.raises(dtl.InvalidArgumentError, match="other must be a dtl.DistributedVector"):
        f.dot(np.ones(10))
    with pytest.raises(dtl.InvalidArgumentError, match="fit|converted"):
        dtl.iota(dtl.DistributedVector(ctx, 4, dtype=np.uint8), -1)
    with pytest.raises(dtl.InvalidArgumentError, match="func must be callable"):
        dtl.transform(f, 3)
    with pytest.raises(dtl.InvalidArgumentError, match="same size"):
        dtl.transform(f, dtl.DistributedVector(ctx, 12), np.abs)
    with pytest.raises(dtl.InvalidArgumentError, match="ufunc add takes 2"):
        dtl.transform(f, np.add)
    with pytest.raises(dtl.InvalidArgumentError, match="does not broadcast"):
        dtl.transform(f, lambda x: np.zeros(11), vectorized=True)
    with pytest.raises(dtl.InvalidArgumentError, match="vectorized must be"):
        dtl.for_each(f, np.abs, vectorized="yes")
    with pytest.raises(dtl.InvalidArgumentError, match="must be a dtl.DistributedVector"):
        dtl.count([1, 2], 1)
    with pytest.raises(dtl.InvalidArgumentError, match="does not support"):
        dtl.transform_reduce(f, lambda x: x.astype(np.complex128))
    t = dtl.DistributedTensor(ctx, (4, 3))
    with pytest.raises(dtl.NotSupportedError, match="DistributedTensor"):
        dtl.reduce(dtl.DistributedSpan(t))
    assert dtl.reduce(i) == 0  # the ranks are still in step
    ctx.barrier()


@pytest.mark.mpi(min_size=2)
def test_errors_on_one_rank_reach_every_rank(ctx):
    v = dtl.DistributedVector(ctx, 20, dtype=np.int64)
    dtl.iota(v)

    def flaky(x):
        if ctx.rank == 1:
            raise ZeroDivisionError("rank 1 cannot")
        return x > 3

    for call in (dtl.find_if, dtl.count_if, dtl.all_of, dtl.transform_reduce):
        if ctx.rank == 1:
            with pytest.raises(ZeroDivisionError):
                call(v, flaky)
        else:
            with pytest.raises(dtl.InvalidArgumentError, match=r"failed on rank\(s\) \[1\]"):
                call(v, flaky)
    # Argument errors of a native collective on one rank only.
    mine = {"op": "bogus" if ctx.rank == 0 else dtl.SUM, "value": "x" if ctx.rank == 0 else 3}
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.reduce(v, mine["op"])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.find(v, mine["value"])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.reduce(v, execution=7 if ctx.rank == 0 else None)
    # Different ops on different ranks: a mismatch, on every rank.
    with pytest.raises(dtl.InvalidArgumentError, match="op differs"):
        dtl.reduce(v, dtl.SUM if ctx.rank else dtl.MAX)
    # Different result dtypes of func on different ranks.
    with pytest.raises(dtl.InvalidArgumentError, match="different dtypes"):
        dtl.transform_reduce(v, (lambda x: x * 0.5) if ctx.rank else (lambda x: x))
    assert dtl.reduce(v) == sum(range(20))


@pytest.mark.parametrize("part", ALL_PARTS)
def test_native_helpers(ctx, part):
    n = 23
    v = build(ctx, values(n, np.uint8), part, dtl.DistributedArray)
    idx = v.local_indices()
    assert [v.to_global(k) for k in range(v.local_size)] == idx.tolist()
    assert all(v.to_local(int(g)) == k for k, g in enumerate(idx))
    assert v.to_local(-1) is None and v.to_local(n) is None
    with pytest.raises(dtl.BoundsError, match="local index"):
        v.to_global(v.local_size)
    before = v.gather_all()
    v.replace(300, 1)  # no uint8 equals 300: nothing changes (no wrap-around to 44)
    v.replace(-1, 1)
    np.testing.assert_array_equal(v.gather_all(), before)
    with pytest.raises(dtl.InvalidArgumentError, match="new"):
        v.replace(before[0], 256)
    dtl.generate(v, np.sqrt)  # a ufunc: float results cast into uint8
    np.testing.assert_array_equal(v.gather_all(), np.sqrt(np.arange(n)).astype(np.uint8))
    w = dtl.DistributedVector(ctx, n, dtype=np.uint8, partition=dtl.PARTITION_CYCLIC)
    w.copy_from(v)
    np.testing.assert_array_equal(w.gather_all(), v.gather_all())
    with pytest.raises(dtl.InvalidArgumentError, match="src has dtype float64"):
        w.copy_from(dtl.DistributedVector(ctx, n))
    with pytest.raises(dtl.InvalidArgumentError, match="src must be"):
        w.copy_from(np.zeros(n))
    ctx.barrier()
