"""dtl.DistributedMap: hash-partitioned key -> value map.

Every expected value comes from a plain Python dict model built from the
same deterministic inputs on every rank; the owner of a key is recomputed
here from the documented hash (FNV-1a fold + SplitMix64 finaliser of the
key's little-endian bytes). Every test ends with a collective call so the
ranks stay in step under ``mpirun -np N python -m pytest --with-mpi``.
"""

from collections import Counter

import numpy as np
import pytest
from conftest import DTYPES

import dtl

KEY_DTYPES = [np.int32, np.int64, np.uint32, np.uint64, np.float64]
MASK = (1 << 64) - 1


def hash_bytes(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & MASK
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def owner_of(key, key_dtype, size):
    if np.dtype(key_dtype).kind == "f" and key == 0:
        key = 0.0  # -0.0 is stored (and owned) as 0.0
    data = np.array([key], dtype=np.dtype(key_dtype).newbyteorder("<")).tobytes()
    return hash_bytes(data) % size


# ------------------------------------------------------------------ model

M = 100


def ops_of(rank):
    """Rank `rank`'s writes: overlapping inserts, some erases, re-inserts."""
    ops = [("ins", (i * (rank + 1) + rank) % M, (rank * 31 + i) % 120) for i in range(40)]
    ops += [("era", (i * (rank + 1)) % M, None) for i in range(0, 40, 5)]
    ops += [("ins", (i * 7 + rank) % M, (rank + i * 3) % 120) for i in range(5)]
    return ops


def apply(model, op):
    kind, k, v = op
    if kind == "ins":
        model[k] = v
    else:
        model.pop(k, None)


def model_of(all_ops, key_dtype, size, flushed=True):
    """The documented semantics: each owner applies its own writes at once;
    a flush then applies the other ranks' queued writes by source rank,
    then queue order."""
    model = {}
    for r, ops in enumerate(all_ops):
        for op in ops:
            if owner_of(op[1], key_dtype, size) == r:
                apply(model, op)
    if flushed:
        for r, ops in enumerate(all_ops):
            for op in ops:
                if owner_of(op[1], key_dtype, size) != r:
                    apply(model, op)
    return model


def run_ops(m, ops):
    for kind, k, v in ops:
        if kind == "ins":
            m.insert(k, v)
        else:
            m.erase(k)


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("key_dtype", KEY_DTYPES)
def test_workload_against_model(ctx, key_dtype):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=key_dtype, value_dtype=np.int64)
    all_ops = [ops_of(r) for r in range(p)]
    run_ops(m, all_ops[me])

    def mine(k):
        return owner_of(k, key_dtype, p) == me

    # Before any flush only the writes this rank owns are applied here.
    before = model_of(all_ops, key_dtype, p, flushed=False)
    assert m.local_view() == {k: v for k, v in sorted(before.items()) if mine(k)}
    assert m.local_size == sum(1 for k in before if mine(k))
    assert m.pending == sum(1 for op in all_ops[me] if not mine(op[1]))
    # Pairs actually stored anywhere, counted without a flush.
    stored = dtl.allreduce(ctx, m.local_size, op=dtl.SUM)
    assert stored == len(before)

    full = model_of(all_ops, key_dtype, p)
    # find() of a remote and a local key, before any explicit flush: the
    # collective read flushes, so every rank sees every write.
    probe = (me * 13) % M
    assert m.find(probe) == full.get(probe)
    assert m.pending == 0
    local_keys = [k for k in range(M) if mine(k)]
    k_local = local_keys[0] if local_keys else probe
    assert m.find(k_local) == full.get(k_local)
    assert ((me * 17 + 3) % M in m) == ((me * 17 + 3) % M in full)
    assert m.contains(k_local) == (k_local in full)
    # All keys at once.
    values, found = m.find_many(np.arange(M))
    assert found.tolist() == [k in full for k in range(M)]
    assert [int(v) for v, f in zip(values, found) if f] == [full[k] for k in range(M) if k in full]

    assert m.local_view() == {k: v for k, v in sorted(full.items()) if mine(k)}
    gv = m.global_view()
    assert gv == full
    assert list(gv) == sorted(full)
    assert all(type(k) is (float if key_dtype == np.float64 else int) for k in gv)
    # Separate statements: a chained comparison or `and` could skip a
    # collective call on some ranks.
    sizes = (m.size, m.global_size, len(m))
    assert sizes == (len(full),) * 3
    assert m.empty is (len(full) == 0)
    assert dtl.allreduce(ctx, m.local_size, op=dtl.SUM) == len(full)

    # A second phase with an explicit flush: every rank erases the keys
    # below 10 and inserts 1000 + rank.
    for k in range(10):
        m.erase(k)
    m.insert(1000 + me, me)
    m.flush()
    assert m.pending == 0
    for k in range(10):
        full.pop(k, None)
    for r in range(p):
        full[1000 + r] = r
    assert m.global_view() == full
    assert (1000 + (me + 1) % p) in m
    assert 5 not in m
    assert len(m) == len(full)


def test_word_count_by_rounds(ctx):
    """A real word count with find_many + insert_many, one rank per round."""
    me, p = ctx.rank, ctx.size
    rng = np.random.default_rng(1234)
    words = [rng.integers(0, 50, size=200 + 37 * r) for r in range(p)]  # the same on every rank
    expected = Counter()
    for w in words:
        expected.update(int(x) for x in w)
    m = dtl.DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.int64)
    mine = Counter(int(x) for x in words[me])
    keys = np.array(sorted(mine), dtype=np.int64)
    for r in range(p):
        ask = keys if me == r else np.array([], dtype=np.int64)
        old, found = m.find_many(ask)  # collective: every rank calls it
        if me == r:
            assert found.dtype == np.bool_ and old.dtype == np.int64
            m.insert_many(keys, old + np.array([mine[int(k)] for k in keys]))
        m.flush()
    assert m.global_view() == dict(expected)
    assert m.global_size == len(expected)


def test_queued_writes_visible_after_flush_or_read(ctx):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=np.uint64, value_dtype=np.float32)
    key = 5000 + me
    m.insert(key, me + 0.5)
    owned = owner_of(key, np.uint64, p) == me
    assert m.pending == (0 if owned else 1)
    assert m.local_size == (1 if owned else 0)
    assert m.is_local(key) == owned and m.owner(key) == owner_of(key, np.uint64, p)
    # Not flushed: only owner-local inserts are stored anywhere.
    assert dtl.allreduce(ctx, m.local_size, op=dtl.SUM) == dtl.allreduce(ctx, int(owned), op=dtl.SUM)
    # Each rank reads the previous rank's key (remote in general): visible.
    prev = (me - 1) % p
    assert m.find(5000 + prev) == prev + 0.5
    assert m.pending == 0
    assert dtl.allreduce(ctx, m.local_size, op=dtl.SUM) == p
    # Erase the next rank's key, queue it, flush explicitly.
    m.erase(5000 + (me + 1) % p)
    m.flush()
    assert m.local_view() == {}
    assert m.empty
    assert key not in m


def test_conflicting_writes_order(ctx):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=np.int32, value_dtype=np.int16)
    for k in range(20):
        m.insert(k, me + 1)
    m.flush()
    gv = m.global_view()
    for k in range(20):
        o = owner_of(k, np.int32, p)
        # The owner's own write first, then the other ranks' by rank.
        winner = max((r for r in range(p) if r != o), default=o)
        assert gv[k] == winner + 1, (k, o)
    # Insert, erase, insert again on one rank: the last write wins.
    base = 100 * (me + 1)
    m.insert(base, 1)
    m.erase(base)
    m.insert(base, 2)
    m.insert(base + 1, 3)
    m.erase(base + 1)
    m.erase(base + 2)  # missing: nothing happens
    gv = m.global_view()
    for r in range(p):
        b = 100 * (r + 1)
        assert gv[b] == 2 and b + 1 not in gv and b + 2 not in gv


@pytest.mark.parametrize("key_dtype", KEY_DTYPES)
@pytest.mark.parametrize("value_dtype", DTYPES)
def test_every_dtype_pair(ctx, key_dtype, value_dtype):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=key_dtype, value_dtype=value_dtype)
    assert m.key_dtype == np.dtype(key_dtype) and m.value_dtype == np.dtype(value_dtype)
    assert repr(m).startswith(f"<dtl.DistributedMap key_dtype={np.dtype(key_dtype)} value_dtype={np.dtype(value_dtype)}")
    for i in range(10):
        m.insert(i * p + me, i + me)  # disjoint keys per rank
        m.insert(7, 3)  # one key written by every rank, same value
    m.erase(me)  # this rank's own key me (i == 0), erased after its insert
    model = {i * p + r: i + r for r in range(p) for i in range(10)}
    model[7] = 3  # every rank's last write to key 7
    for r in range(p):
        model.pop(r, None)
    is_float = np.dtype(value_dtype).kind == "f"
    gv = m.global_view()
    assert gv == model
    assert all(type(v) is (float if is_float else int) for v in gv.values())
    assert m.find(7) == 3
    assert m.find(10 * p + 5) is None
    values, found = m.find_many(np.array([7, 1, 10 * p + 1], dtype=key_dtype))
    assert values.dtype == np.dtype(value_dtype) and found.dtype == np.bool_
    assert found.tolist() == [True, 1 in model, False]
    assert values[0] == 3
    assert len(m.local_view()) == m.local_size
    assert m.size == len(model)


@pytest.mark.parametrize("key_dtype", KEY_DTYPES)
def test_wrong_key_types(ctx, key_dtype):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=key_dtype, value_dtype=np.float64)
    kind = np.dtype(key_dtype).kind
    bad = ["a", b"x", None, [1], 1 + 2j]
    if kind in "iu":
        bad += [1.5, 2.0, np.float64(3.0), 2**64]
        info = np.iinfo(key_dtype)
        bad += [info.max + 1, info.min - 1]
    else:
        bad += [2**53 + 1, -(2**60)]
    for k in bad:
        for call in (lambda: m.insert(k, 1.0), lambda: m.erase(k), lambda: m.owner(k), lambda: m.is_local(k)):
            with pytest.raises(dtl.KeyTypeError) as exc:
                call()
            assert isinstance(exc.value, TypeError) and isinstance(exc.value, dtl.DTLError)
            assert exc.value.status == 300 and "DTL_ERROR_INVALID_ARGUMENT" in str(exc.value)
    assert m.local_size == 0 and m.pending == 0
    # The conversions that are allowed.
    m.insert(np.int32(5), 1.0)
    m.insert(True, 2.0)
    if kind == "f":
        m.insert(np.float32(0.5), 3.0)
        m.insert(2**53, 4.0)
    # A collective read with a bad key on one rank: every rank raises (the
    # bad rank a KeyTypeError, the others an InvalidArgumentError), none hangs.
    for read in (m.find, m.contains, m.__contains__):
        key = "bad" if me == p - 1 else 5
        if p == 1 or me == p - 1:
            with pytest.raises(dtl.KeyTypeError):
                read(key)
        else:
            with pytest.raises(dtl.InvalidArgumentError, match="another rank rejected"):
                read(key)
    # ... and after that the map still works on every rank.
    assert m.find(5) == 1.0
    assert m.find(1) == 2.0
    assert m.size == (4 if kind == "f" else 2)


def test_wrong_key_arrays(ctx):
    me = ctx.rank
    m = dtl.DistributedMap(ctx, key_dtype=np.int32, value_dtype=np.int64)
    for keys in [np.array([1.0, 2.0]), np.array([2**40]), np.array([-1, 2**31]), ["a", "b"], [1, "b"], [1, 2.5]]:
        with pytest.raises(dtl.KeyTypeError):
            m.insert_many(keys, 1)
        with pytest.raises(TypeError):
            m.erase_many(keys)
    u = dtl.DistributedMap(ctx, key_dtype=np.uint32, value_dtype=np.int64)
    with pytest.raises(TypeError):
        u.insert_many(np.array([3, -1]), [1, 2])
    assert m.local_size == 0 and m.pending == 0 and u.pending == 0
    with pytest.raises(dtl.InvalidArgumentError, match="1-D"):
        m.insert_many(np.zeros((2, 2), dtype=np.int32), 1)
    with pytest.raises(dtl.InvalidArgumentError, match="3 keys but 2 values"):
        m.insert_many([1, 2, 3], [1, 2])
    # Allowed: other integer dtypes in range, lists, bools, object arrays of ints.
    m.insert_many(np.array([1, 2], dtype=np.uint64), np.array([10, 20], dtype=np.int8))
    m.insert_many([3, True], 7)
    m.insert_many(np.array([4, np.int16(5)], dtype=object), [40, 50])
    # find_many with a bad array on one rank: every rank raises.
    bad = np.array([1.5]) if me == 0 else np.array([1], dtype=np.int32)
    with pytest.raises(dtl.DTLError):
        m.find_many(bad)
    assert m.global_view() == {1: 7, 2: 20, 3: 7, 4: 40, 5: 50}


def test_invalid_values(ctx):
    m = dtl.DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.int8)
    for v in ["x", None, 1.5, 300, -129, [1], np.float64(2.0)]:
        with pytest.raises(dtl.InvalidArgumentError):
            m.insert(1, v)
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert_many([1, 2], np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        m.insert_many([1, 2], np.array([1, 1000]))
    assert m.local_size == 0 and m.pending == 0
    f = dtl.DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.float32)
    f.insert(1, 2)  # integers are fine for float values
    f.insert(2, float("nan"))  # NaN values are stored as they are
    f.insert(3, np.float64(0.25))
    with pytest.raises(dtl.InvalidArgumentError):
        f.insert(4, "1.5")
    gv = f.global_view()
    assert gv[1] == 2.0 and np.isnan(gv[2]) and gv[3] == 0.25 and 4 not in gv


def test_float_keys_nan_and_negative_zero(ctx):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=np.float64, value_dtype=np.int32)
    nan = float("nan")
    with pytest.raises(dtl.InvalidArgumentError, match="NaN"):
        m.insert(nan, 1)
    with pytest.raises(ValueError):
        m.erase(nan)
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert_many([1.0, nan], [1, 2])
    assert m.local_size == 0 and m.pending == 0
    assert m.owner(-0.0) == m.owner(0.0) == owner_of(0.0, np.float64, p)
    if me == p - 1:
        m.insert(-0.0, 5)
        m.insert_many([float("inf"), float("-inf"), -1.5], [6, 7, 8])
    assert m.find(0.0) == 5
    assert -0.0 in m
    gv = m.global_view()
    assert list(gv.items()) == [(float("-inf"), 7), (-1.5, 8), (0.0, 5), (float("inf"), 6)]
    assert np.copysign(1.0, list(gv)[2]) == 1.0  # stored as +0.0
    # NaN in a collective read on one rank: every rank raises.
    with pytest.raises(dtl.InvalidArgumentError):
        m.find(nan if me == 0 else 1.0)
    with pytest.raises(dtl.InvalidArgumentError):
        m.find_many(np.array([1.0, nan if me == p - 1 else 2.0]))
    assert m.find(-1.5) == 8


def test_empty_map(ctx):
    m = dtl.DistributedMap(ctx)
    assert m.key_dtype == np.int64 and m.value_dtype == np.float64
    sizes = (m.empty, m.size, m.global_size, len(m))
    assert sizes == (True, 0, 0, 0)
    assert m.local_size == 0 and m.pending == 0
    assert m.local_view() == {} and m.global_view() == {}
    assert m.find(ctx.rank) is None
    assert ctx.rank not in m
    assert not m.contains(-1)
    values, found = m.find_many([])
    assert values.shape == (0,) and found.shape == (0,) and values.dtype == np.float64
    m.flush()
    m.erase(3)
    m.flush()
    assert m.empty


def test_construction_errors(ctx):
    me, p = ctx.rank, ctx.size
    with pytest.raises(dtl.NotSupportedError, match="key_dtype int8"):
        dtl.DistributedMap(ctx, key_dtype=np.int8)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedMap(ctx, value_dtype=np.complex128)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedMap(ctx, key_dtype="not a dtype")
    # Only one rank passes a bad dtype: every rank raises.
    with pytest.raises(dtl.DTLError):
        dtl.DistributedMap(ctx, key_dtype=np.float32 if me == p - 1 else np.float64)
    if p > 1:
        # Dtypes that differ across ranks: a mismatch on every rank.
        with pytest.raises(dtl.InvalidArgumentError, match="differs across ranks"):
            dtl.DistributedMap(ctx, value_dtype=np.float64 if me == 0 else np.int32)
    m = dtl.DistributedMap(ctx, key_dtype="uint32", value_dtype="uint8")
    assert m.key_dtype == np.uint32 and m.value_dtype == np.uint8
    assert m.context.size == p
    assert m.empty


def test_owner_matches_documented_hash(ctx):
    me, p = ctx.rank, ctx.size
    for kd in KEY_DTYPES:
        m = dtl.DistributedMap(ctx, key_dtype=kd, value_dtype=np.uint8)
        owners = [m.owner(k) for k in range(200)]
        assert owners == [owner_of(k, kd, p) for k in range(200)]
        assert [m.is_local(k) for k in range(200)] == [o == me for o in owners]
        if p > 1:
            assert set(owners) == set(range(p))
        # The same on every rank.
        assert dtl.allgather(ctx, np.array(owners)).reshape(p, 200).tolist() == [owners] * p


def test_large_vectorised(ctx):
    me, p = ctx.rank, ctx.size
    m = dtl.DistributedMap(ctx, key_dtype=np.uint64, value_dtype=np.uint64)
    n = 20000
    keys = [(np.arange(n, dtype=np.uint64) * 7919 + r * 104729) % 50000 for r in range(p)]
    model = {}
    for k in keys:
        model.update((int(x), int(x) * 3 + 1) for x in k)
    m.insert_many(keys[me], keys[me] * 3 + 1)
    assert m.global_size == len(model)
    probe = (np.arange(5000, dtype=np.uint64) * 13 + me) % 60000
    values, found = m.find_many(probe)
    assert found.tolist() == [int(k) in model for k in probe]
    assert np.array_equal(values[found], probe[found] * 3 + 1)
    m.erase_many(keys[me][: n // 2])
    for k in keys:
        for x in k[: n // 2]:
            model.pop(int(x), None)
    assert m.global_view() == model
