"""Halo exchange on DistributedVector, DistributedArray and DistributedTensor.

Every expected value is computed independently from the global array with
NumPy: ``np.pad(..., mode="wrap" | "constant")`` for the padded blocks, plain
slices for the non-periodic halos. Runs single-process and under
``mpirun -np N python -m pytest --with-mpi``.
"""

import numpy as np
import pytest
from conftest import DTYPES, block_range

import dtl


def layouts(n, size):
    """(name, kwargs, first, stop) of this rank's rows, for contiguous partitions."""
    half = [0] * size
    half[-1] += n // 2
    half[0] += n - n // 2
    thin = [1 if r % 3 == 1 else 0 for r in range(size)]
    out = [("block", {}, [block_range(n, size, r)[1] - block_range(n, size, r)[0] for r in range(size)])]
    out.append(("weighted_half", dict(partition=dtl.PARTITION_WEIGHTED, weights=half), half))
    if sum(thin) <= n:
        thin[0] += n - sum(thin)
        out.append(("weighted_thin", dict(partition=dtl.PARTITION_WEIGHTED, weights=thin), thin))
    return out


def held(counts, rank):
    start = sum(counts[:rank])
    return start, start + counts[rank]


def widths_for(n):
    """(lower, upper, periodic) combinations; periodic only when valid (<= n)."""
    out = []
    for lo, hi in [(0, 0), (1, 1), (2, 2), (1, 2), (2, 0), (0, 3), (n, n), (n + 2, 1)]:
        out.append((lo, hi, False))
        if max(lo, hi) <= n:
            out.append((lo, hi, True))
    return out


def width_arg(lo, hi):
    return lo if lo == hi else (lo, hi)


def expected_halos(g, s, e, lo, hi, periodic):
    """The rows just before s and just after e (axis 0), by NumPy."""
    if s == e:
        return g[:0], g[:0]
    if periodic:
        pad = [(lo, hi)] + [(0, 0)] * (g.ndim - 1)
        p = np.pad(g, pad, mode="wrap")
        return p[s : s + lo], p[e + lo : e + lo + hi]
    return g[max(0, s - lo) : s], g[e : min(g.shape[0], e + hi)]


def expected_padded(g, s, e, pad, mode, value=0):
    """np.pad of the global array, the rows covering [s, e) and their ghosts."""
    if s == e:
        shape = (0,) + tuple(d + a + b for d, (a, b) in zip(g.shape[1:], pad[1:]))
        return np.zeros(shape, g.dtype)
    if mode == "wrap":
        p = np.pad(g, pad, mode="wrap")
    else:
        p = np.pad(g, pad, mode="constant", constant_values=value)
    return p[s : e + pad[0][0] + pad[0][1]]


def sizes(size):
    return sorted({0, 1, 2, max(size - 1, 0), size, size + 1, 7, 40})


def check_same(got, want, what):
    assert got.dtype == want.dtype, what
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_array_equal(got, want, err_msg=what)


# ------------------------------------------------------------------ 1-D containers


@pytest.mark.parametrize("cls", [dtl.DistributedVector, dtl.DistributedArray])
@pytest.mark.parametrize("dtype", DTYPES)
def test_1d_halo_against_numpy(ctx, cls, dtype):
    for n in sizes(ctx.size):
        g = ((np.arange(n) * 37 + 11) % 97).astype(dtype)
        for name, kw, counts in layouts(n, ctx.size):
            v = cls.from_global(ctx, g, **kw)
            s, e = held(counts, ctx.rank)
            assert v.local_size == e - s, name
            for lo, hi, periodic in widths_for(n):
                what = f"{name} n={n} width=({lo}, {hi}) periodic={periodic}"
                w = width_arg(lo, hi)
                lower, upper = v.halo_exchange(w, periodic=periodic)
                want_lo, want_hi = expected_halos(g, s, e, lo, hi, periodic)
                check_same(lower, want_lo, what + ": lower")
                check_same(upper, want_hi, what + ": upper")
                check_same(v.local_with_halo(w, periodic=periodic), np.concatenate([want_lo, g[s:e], want_hi]), what)
                if periodic:
                    continue
                got = v.local_with_halo(w, boundary=5)
                check_same(got, expected_padded(g, s, e, [(lo, hi)], "constant", 5), what + " boundary=5")


def test_1d_defaults_and_pair_forms(ctx):
    n = 3 * ctx.size + 2
    g = np.arange(n, dtype=np.float64)
    v = dtl.DistributedVector.from_global(ctx, g)
    s, e = block_range(n, ctx.size, ctx.rank)
    lower, upper = v.halo_exchange()  # width=1
    check_same(lower, g[max(0, s - 1) : s], "default lower")
    check_same(upper, g[e : e + 1], "default upper")
    for w in [(1, 2), [1, 2], np.array([1, 2]), (np.int64(1), np.int32(2))]:
        got = v.local_with_halo(w, periodic=True)
        check_same(got, np.pad(g, (1, 2), mode="wrap")[s : e + 3], f"width={w!r}")
    np.testing.assert_array_equal(v.local_with_halo(width=0), g[s:e])


# ------------------------------------------------------------------ tensors


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("rest", [(), (3,), (2, 3)])
def test_tensor_halo_against_numpy(ctx, dtype, rest):
    for n in sizes(ctx.size):
        shape = (n,) + rest
        g = ((np.arange(int(np.prod(shape))) * 37 + 11) % 97).astype(dtype).reshape(shape)
        for name, kw, counts in layouts(n, ctx.size):
            t = dtl.DistributedTensor(ctx, shape, dtype=dtype, **kw)
            s, e = held(counts, ctx.rank)
            t.local_view()[...] = g[s:e]
            for lo, hi, periodic in widths_for(n):
                what = f"{name} shape={shape} width=({lo}, {hi}) periodic={periodic}"
                w = width_arg(lo, hi)
                lower, upper = t.halo_exchange(w, periodic=periodic)
                want_lo, want_hi = expected_halos(g, s, e, lo, hi, periodic)
                check_same(lower, want_lo, what + ": lower")
                check_same(upper, want_hi, what + ": upper")
                got = t.local_with_halo(w, periodic=periodic)
                check_same(got, np.concatenate([want_lo, g[s:e], want_hi]), what + ": local_with_halo")
                # Per-axis widths: padded on every axis.
                for others in [(0, 0), (1, 1), (2, 1)]:
                    pad = [(lo, hi)] + [others] * len(rest)
                    if periodic:
                        if any(max(others) > d for d in rest):
                            with pytest.raises(dtl.InvalidArgumentError, match="width"):
                                t.local_with_halo(pad, periodic=True)
                            continue
                        got = t.local_with_halo(pad, periodic=True)
                        check_same(got, expected_padded(g, s, e, pad, "wrap"), f"{what} pad={pad} wrap")
                    else:
                        got = t.local_with_halo(pad, boundary=3)
                        check_same(got, expected_padded(g, s, e, pad, "constant", 3), f"{what} pad={pad} const 3")
                        got = t.local_with_halo(pad)
                        check_same(got, expected_padded(g, s, e, pad, "constant", 0), f"{what} pad={pad} const 0")
                if not periodic:
                    got = t.local_with_halo(w, boundary=7)
                    pad = [(lo, hi)] + [(0, 0)] * len(rest)
                    check_same(got, expected_padded(g, s, e, pad, "constant", 7), what + ": split pair, boundary=7")


def test_tensor_2d_plate_periodic_and_dirichlet(ctx):
    """A 2-D plate: the padded blocks give the same 5-point Laplacian as NumPy."""
    g = np.random.default_rng(3).normal(size=(13, 8))
    t = dtl.DistributedTensor.scatter_from(ctx, g if ctx.is_root else None)
    s, e = block_range(13, ctx.size, ctx.rank)

    def lap(p):
        return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]

    for kw, full in [
        (dict(periodic=True), np.pad(g, 1, mode="wrap")),
        (dict(boundary=0.0), np.pad(g, 1, mode="constant")),
    ]:
        padded = t.local_with_halo([(1, 1), (1, 1)], **kw)
        if e > s:
            np.testing.assert_allclose(lap(padded), lap(full)[s:e], rtol=0, atol=1e-12)
        else:
            assert padded.shape == (0, 10)


# ------------------------------------------------------------------ errors


def test_non_contiguous_partitions_are_refused(ctx):
    g = np.arange(8.0)
    for part, extra, name in [
        (dtl.PARTITION_CYCLIC, {}, "PARTITION_CYCLIC"),
        (dtl.PARTITION_BLOCK_CYCLIC, {"block_size": 2}, "PARTITION_BLOCK_CYCLIC"),
    ]:
        v = dtl.DistributedVector.from_global(ctx, g, partition=part, **extra)
        t = dtl.DistributedTensor(ctx, (8, 2), partition=part, **extra)
        if ctx.size == 1:  # one rank: the whole range, one block
            v.halo_exchange(1, periodic=True)
            t.local_with_halo([(1, 1), (1, 1)])
            continue
        with pytest.raises(dtl.NotSupportedError, match=f"{name}.*redistribute to PARTITION_BLOCK"):
            v.halo_exchange(1)
        with pytest.raises(dtl.NotSupportedError, match=name):
            v.local_with_halo((1, 2), periodic=True)
        with pytest.raises(dtl.NotSupportedError, match=name):
            t.local_with_halo([(1, 1), (1, 1)], boundary=1.0)
    r = dtl.DistributedArray.from_global(ctx, g, partition=dtl.PARTITION_REPLICATED)
    with pytest.raises(dtl.NotSupportedError, match="REPLICATED"):
        r.halo_exchange(1)
    a1 = dtl.DistributedTensor(ctx, (4, 6), axis=1)
    with pytest.raises(dtl.NotSupportedError, match="axis 1"):
        a1.local_with_halo([(1, 1), (1, 1)], periodic=True)


def test_bad_widths(ctx):
    n = 5
    v = dtl.DistributedVector(ctx, n)
    t = dtl.DistributedTensor(ctx, (n, 3))
    for obj in [v, t]:
        with pytest.raises(dtl.InvalidArgumentError, match=r"width.*0\.\.=5"):
            obj.halo_exchange(6, periodic=True)
        with pytest.raises(dtl.InvalidArgumentError, match=r"width.*0\.\.=5"):
            obj.local_with_halo((0, 6), periodic=True)
        for bad in [-1, (1, -1), "2", (1, 2, 3), 1.5, object()]:
            with pytest.raises(dtl.InvalidArgumentError, match="width"):
                obj.halo_exchange(bad)
        with pytest.raises(dtl.InvalidArgumentError, match="periodic"):
            obj.local_with_halo(1, periodic=True, boundary=0)
        obj.halo_exchange((n, n), periodic=True)  # width == n is fine
        obj.halo_exchange(10**6)  # not periodic: clipped to the array
    with pytest.raises(dtl.InvalidArgumentError, match="width"):
        v.local_with_halo([(1, 1)])  # per-axis widths are for tensors
    with pytest.raises(dtl.InvalidArgumentError, match="width"):
        v.halo_exchange([(1, 1), (1, 1)])
    with pytest.raises(dtl.InvalidArgumentError, match=r"one \(lower, upper\) pair per axis"):
        t.local_with_halo([(1, 1)] * 3)
    with pytest.raises(dtl.InvalidArgumentError, match="axis 1"):
        t.local_with_halo([(1, 1), (4, 0)], periodic=True)
    with pytest.raises(dtl.InvalidArgumentError, match="boundary"):
        dtl.DistributedTensor(ctx, (n, 3), dtype=np.int32).local_with_halo([(1, 1), (1, 1)], boundary="x")
    e = dtl.DistributedVector(ctx, 0)
    assert [a.shape for a in e.halo_exchange(0, periodic=True)] == [(0,), (0,)]
    with pytest.raises(dtl.InvalidArgumentError, match="width"):
        e.halo_exchange(1, periodic=True)


@pytest.mark.mpi(min_size=2)
def test_disagreeing_ranks_fail_everywhere(ctx):
    v = dtl.DistributedVector(ctx, 10)
    t = dtl.DistributedTensor(ctx, (10, 4))
    with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
        v.halo_exchange(1 + ctx.rank)
    with pytest.raises(dtl.InvalidArgumentError, match="periodic"):
        t.halo_exchange(1, periodic=ctx.rank == 0)
    with pytest.raises(dtl.InvalidArgumentError):
        t.local_with_halo([(1, 1), (ctx.rank, 1)])
    # A width only one rank gets wrong: every rank raises, nobody waits.
    with pytest.raises(dtl.InvalidArgumentError):
        v.local_with_halo(-1 if ctx.rank == ctx.size - 1 else 1)
    with pytest.raises(dtl.InvalidArgumentError):
        t.local_with_halo([(1, 1)] if ctx.rank == 0 else [(1, 1), (1, 1)])
    with pytest.raises(dtl.InvalidArgumentError):
        t.local_with_halo(1, periodic=True, boundary=0 if ctx.rank == 0 else None)
    # Everything still works afterwards.
    lower, upper = v.halo_exchange(1, periodic=True)
    assert lower.shape == (1,) and upper.shape == (1,)
