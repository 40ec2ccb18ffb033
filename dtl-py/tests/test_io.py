"""Checkpoints to NumPy ``.npy`` files (``save`` / ``load`` over MPI-IO).

Runs single-process and under ``mpirun -np N python -m pytest --with-mpi``.
Every file lives in one directory that rank 0 creates and broadcasts, so
all ranks agree on the paths; every check is against NumPy itself
(``numpy.save`` / ``numpy.load``). Tests that expect an error finish with
an allreduce, so a rank that fell out of step would hang (and time out)
instead of passing.
"""

import os
import pathlib
import shutil
import tempfile
import zlib

import numpy as np
import pytest
from conftest import DTYPES, pattern

import dtl


@pytest.fixture(scope="module")
def tmpdir_shared(ctx):
    """A fresh directory, the same on every rank (rank 0's mkdtemp, broadcast)."""
    name = tempfile.mkdtemp(prefix="dtl-test-io-") if ctx.is_root else ""
    raw = np.frombuffer(name.encode(), dtype=np.uint8) if ctx.is_root else None
    got = dtl.broadcast(ctx, raw, root=0)
    d = pathlib.Path(bytes(np.asarray(got, dtype=np.uint8)).decode())
    yield d
    ctx.barrier()
    if ctx.is_root:
        shutil.rmtree(d, ignore_errors=True)


def on_root(ctx, fn):
    """Runs ``fn`` on rank 0 only, then a barrier so every rank sees its effect."""
    if ctx.is_root:
        fn()
    ctx.barrier()


def in_step(ctx):
    """Every rank reaches this point (an allreduce of 1 per rank)."""
    assert dtl.allreduce(ctx, 1, op=dtl.SUM) == ctx.size


def same_everywhere(ctx, text):
    """``text`` is identical on every rank (CRC32 min == max)."""
    h = zlib.crc32(text.encode())
    assert dtl.allreduce(ctx, h, op=dtl.MIN) == dtl.allreduce(ctx, h, op=dtl.MAX), text


def partitions(n, size):
    """Every partition as load/constructor keyword arguments."""
    counts = [0] * size
    counts[-1] = n
    if n > 0 and size > 1:  # uneven: one element on rank 0, the rest on the last rank
        counts[0], counts[-1] = 1, n - 1
    return [
        ("block", dict(partition=dtl.PARTITION_BLOCK)),
        ("cyclic", dict(partition=dtl.PARTITION_CYCLIC)),
        ("block_cyclic3", dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=3)),
        ("weighted", dict(partition=dtl.PARTITION_WEIGHTED, weights=counts)),
        ("replicated", dict(partition=dtl.PARTITION_REPLICATED)),
    ]


PARTITION_NAMES = [name for name, _ in partitions(0, 1)]


def numpy_bytes(arr):
    """What ``numpy.save`` writes for ``arr``."""
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def check_layout(c, full, kw):
    """``c`` holds ``full`` in the layout ``kw`` asks for."""
    np.testing.assert_array_equal(c.gather_all(), full)
    assert c.partition_policy == kw["partition"]
    np.testing.assert_array_equal(c.local_view(), full[c.local_indices()])


# ------------------------------------------------------------------ round trips


CASES_1D = [(dtl.DistributedVector, d) for d in DTYPES] + [(dtl.DistributedArray, d) for d in (np.int16, np.float64)]


@pytest.mark.parametrize("cls,dtype", CASES_1D, ids=[f"{c.__name__}-{np.dtype(d).name}" for c, d in CASES_1D])
@pytest.mark.parametrize("part", PARTITION_NAMES)
def test_roundtrip_1d(ctx, tmpdir_shared, cls, part, dtype):
    for n in [0, 1, 7, 100]:
        full = pattern(n, dtype) + (np.asarray(0.5, dtype) if np.dtype(dtype).kind == "f" else 0)
        kw = dict(partitions(n, ctx.size))[part]
        c = cls.from_global(ctx, full, **kw)
        p = tmpdir_shared / f"{cls.__name__}-{np.dtype(dtype).name}-{part}-{n}.npy"
        c.save(p)
        # The file is what numpy.save writes, and numpy.load reads it back.
        if ctx.is_root:
            assert p.read_bytes() == numpy_bytes(full)
        got = np.load(p)
        assert got.dtype == np.dtype(dtype) and got.shape == (n,)
        np.testing.assert_array_equal(got, full)
        np.testing.assert_array_equal(c.gather_all(), full)  # the save did not change it
        for _, kw2 in partitions(n, ctx.size):
            d = cls.load(ctx, p, **kw2)
            assert type(d) is cls and d.dtype == np.dtype(dtype) and d.global_size == n
            check_layout(d, full, kw2)
    in_step(ctx)


@pytest.mark.parametrize("dtype", [np.float64, np.int8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (100,), (7, 3), (4, 5, 2), (0, 3), (3, 0, 2)])
def test_roundtrip_tensor(ctx, tmpdir_shared, dtype, shape):
    full = pattern(int(np.prod(shape)), dtype).reshape(shape)
    for axis in range(len(shape)):
        for name, kw in partitions(shape[axis], ctx.size):
            t = dtl.DistributedTensor.scatter_from(ctx, full if ctx.is_root else None, axis=axis, **kw)
            p = tmpdir_shared / f"t-{np.dtype(dtype).name}-{'x'.join(map(str, shape))}-{axis}-{name}.npy"
            t.save(str(p))
            if ctx.is_root:
                assert p.read_bytes() == numpy_bytes(full)
            np.testing.assert_array_equal(np.load(p), full)
            np.testing.assert_array_equal(t.gather_all(), full)
            # Load back as saved, as the plain block layout of axis 0, and
            # (for the first file of each shape) into every axis and layout.
            targets = [(axis, kw), (0, dict(partition=dtl.PARTITION_BLOCK))]
            if axis == 0 and name == "block":
                targets = [(a, k) for a in range(len(shape)) for _, k in partitions(shape[a], ctx.size)]
            for axis2, kw2 in targets:
                u = dtl.DistributedTensor.load(ctx, p, axis=axis2, **kw2)
                assert u.shape == shape and u.axis == axis2 and u.dtype == np.dtype(dtype)
                assert u.partition_policy == kw2["partition"]
                np.testing.assert_array_equal(u.gather_all(), full)
    in_step(ctx)


# ------------------------------------------------------------------ files numpy wrote


NUMPY_FILES = [
    ("c1d", lambda: np.arange(11, dtype=np.float64) - 3.5),
    ("c2d", lambda: np.arange(35, dtype=np.int32).reshape(7, 5) - 9),
    ("c3d", lambda: np.arange(60, dtype=np.uint8).reshape(3, 4, 5)),
    ("f2d", lambda: np.asfortranarray(np.arange(35, dtype=np.float32).reshape(7, 5))),
    ("f3d", lambda: np.asfortranarray(np.arange(60, dtype=np.int64).reshape(3, 4, 5) * 1001)),
    ("be1d", lambda: (np.arange(13) * 0.25).astype(">f8")),
    ("be3d", lambda: (np.arange(24) * 0.25).reshape(2, 3, 4).astype(">f8")),
    ("bef2d", lambda: np.asfortranarray((np.arange(12) * 3).reshape(3, 4).astype(">i2"))),
    ("be_u4", lambda: np.arange(9, dtype=">u4") * 100003),
    ("f4d", lambda: np.asfortranarray(np.arange(12, dtype=np.uint64).reshape(1, 4, 1, 3))),
    ("f0", lambda: np.zeros((2, 0, 3), dtype=np.float64)),  # written with fortran_order: True by hand
]


def save_as_numpy(p, arr, name):
    """``numpy.save``, except for the empty 'f0' case, which NumPy would write
    in C order: its header is written by NumPy's own writer with
    ``fortran_order: True``."""
    if name != "f0":
        np.save(p, arr)
        return
    with open(p, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": True, "shape": arr.shape})


@pytest.mark.parametrize("name,make", NUMPY_FILES, ids=[n for n, _ in NUMPY_FILES])
def test_numpy_written_files(ctx, tmpdir_shared, name, make):
    arr = make()
    p = tmpdir_shared / f"numpy-{name}.npy"
    on_root(ctx, lambda: save_as_numpy(p, arr, name))
    fortran = name.startswith("f") or name.startswith("bef")
    assert (b"'fortran_order': True" in p.read_bytes()[:128]) == fortran
    want = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("="))
    for axis in range(arr.ndim):
        for _, kw in partitions(arr.shape[axis], ctx.size):
            t = dtl.DistributedTensor.load(ctx, p, axis=axis, **kw)
            assert t.dtype == want.dtype and t.shape == arr.shape and t.axis == axis
            np.testing.assert_array_equal(t.gather_all(), want)
    # Negative axes count from the end, as in NumPy.
    t = dtl.DistributedTensor.load(ctx, os.fspath(p), axis=-1)
    assert t.axis == arr.ndim - 1
    np.testing.assert_array_equal(t.gather_all(), want)
    if arr.ndim == 1:
        for _, kw in partitions(arr.shape[0], ctx.size):
            check_layout(dtl.DistributedVector.load(ctx, p, **kw), want, kw)
    in_step(ctx)


def test_save_load_paths(ctx, tmpdir_shared):
    """str, pathlib.Path, os.PathLike and bytes paths; overwriting keeps only the new content."""
    full = np.arange(50, dtype=np.float64)
    v = dtl.DistributedVector.from_global(ctx, full)
    p = tmpdir_shared / "paths.npy"

    class PathLike:
        def __fspath__(self):
            return str(p)

    for arg in [str(p), p, PathLike(), os.fsencode(str(p))]:
        v.save(arg)
        np.testing.assert_array_equal(np.load(p), full)
        np.testing.assert_array_equal(dtl.DistributedVector.load(ctx, arg).gather_all(), full)
    small = dtl.DistributedArray.from_global(ctx, np.arange(3, dtype=np.int16))
    small.save(p)
    if ctx.is_root:
        assert p.read_bytes() == numpy_bytes(np.arange(3, dtype=np.int16))
        assert not [f for f in os.listdir(tmpdir_shared) if "dtl-tmp" in f]
    with pytest.raises(dtl.InvalidArgumentError, match="path must be"):
        v.save(3.5)
    in_step(ctx)


def test_requested_dtype(ctx, tmpdir_shared):
    p = tmpdir_shared / "f64.npy"
    on_root(ctx, lambda: np.save(p, np.arange(6.0)))
    v = dtl.DistributedVector.load(ctx, p, dtype=np.float64)
    np.testing.assert_array_equal(v.gather_all(), np.arange(6.0))
    t = dtl.DistributedTensor.load(ctx, p, dtype="float64")
    np.testing.assert_array_equal(t.gather_all(), np.arange(6.0))
    in_step(ctx)


# ------------------------------------------------------------------ bad input


def expect_error(ctx, exc, fn, *needles):
    """``fn()`` raises ``exc`` on every rank, with the same message, which
    contains every needle; then the ranks are still in step."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg
    same_everywhere(ctx, msg)
    in_step(ctx)
    return msg


def bad_files(ctx, d):
    def write():
        (d / "text.npy").write_text("just some text, not a numpy file\n" * 3)
        good = numpy_bytes(np.arange(10.0))
        (d / "truncated.npy").write_bytes(good[:-4])
        (d / "truncated_header.npy").write_bytes(good[:40])
        (d / "empty.npy").write_bytes(b"")
        np.save(d / "complex.npy", np.arange(4, dtype=np.complex128))
        np.save(d / "bool.npy", np.array([True, False]))
        np.save(d / "strings.npy", np.array(["a", "bc"]))
        np.save(d / "objects.npy", np.array([1, "x"], dtype=object), allow_pickle=True)
        np.save(d / "float16.npy", np.ones(3, dtype=np.float16))
        np.save(d / "good.npy", np.arange(10.0))
        np.save(d / "twod.npy", np.zeros((3, 2)))
        np.save(d / "zerod.npy", np.float64(1.5))
        (d / "a_dir.npy").mkdir(exist_ok=True)

    on_root(ctx, write)


LOADERS = [
    ("vector", lambda ctx, p: dtl.DistributedVector.load(ctx, p)),
    ("array_cyclic", lambda ctx, p: dtl.DistributedArray.load(ctx, p, partition=dtl.PARTITION_CYCLIC)),
    ("tensor", lambda ctx, p: dtl.DistributedTensor.load(ctx, p)),
]


@pytest.mark.parametrize("name,load", LOADERS, ids=[n for n, _ in LOADERS])
def test_bad_files(ctx, tmpdir_shared, name, load):
    d = tmpdir_shared
    bad_files(ctx, d)
    cases = [
        ("missing.npy", "no such file"),
        ("text.npy", "not a .npy file"),
        ("empty.npy", "not a .npy file"),
        ("truncated.npy", "truncated"),
        ("truncated_header.npy", "truncated"),
        ("complex.npy", "unsupported dtype '<c16' (complex)"),
        ("bool.npy", "unsupported dtype '|b1' (bool)"),
        ("strings.npy", "(strings)"),
        ("objects.npy", "(Python objects)"),
        ("float16.npy", "unsupported dtype '<f2'"),
        ("a_dir.npy", "it is a directory"),
    ]
    for fname, what in cases:
        p = d / fname
        msg = expect_error(ctx, dtl.InvalidArgumentError, lambda: load(ctx, p), str(p), what)
        assert msg.endswith("[DTL_ERROR_INVALID_ARGUMENT]")
    # A missing file is also a ValueError (InvalidArgumentError is one).
    with pytest.raises(ValueError):
        load(ctx, d / "missing.npy")
    in_step(ctx)
    # Still in step: a good file loads.
    np.testing.assert_array_equal(load(ctx, d / "good.npy").gather_all(), np.arange(10.0))


def test_wrong_dtype_and_rank(ctx, tmpdir_shared):
    d = tmpdir_shared
    bad_files(ctx, d)
    good = d / "good.npy"
    expect_error(
        ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedVector.load(ctx, good, dtype=np.float32),
        str(good), "holds float64 elements, not the requested float32",
    )
    expect_error(
        ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedTensor.load(ctx, good, dtype=np.int64),
        str(good), "not the requested int64",
    )
    twod = d / "twod.npy"
    expect_error(ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedVector.load(ctx, twod), str(twod), "2-d")
    expect_error(ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedTensor.load(ctx, twod, axis=2), str(twod), "axis")
    expect_error(ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedTensor.load(ctx, twod, axis=-3), str(twod), "axis")
    zerod = d / "zerod.npy"
    expect_error(ctx, dtl.InvalidArgumentError, lambda: dtl.DistributedTensor.load(ctx, zerod), str(zerod), "0-d")
    expect_error(
        ctx, dtl.InvalidArgumentError,
        lambda: dtl.DistributedVector.load(ctx, good, partition=dtl.PARTITION_WEIGHTED, weights=[1] * ctx.size),
        str(good), "sum to the global size 10",
    )


def test_failed_save_leaves_no_trace(ctx, tmpdir_shared):
    d = tmpdir_shared
    full = np.arange(20, dtype=np.int32)
    v = dtl.DistributedVector.from_global(ctx, full, partition=dtl.PARTITION_CYCLIC)
    missing_dir = d / "no" / "such" / "dir" / "out.npy"
    expect_error(ctx, dtl.InvalidArgumentError, lambda: v.save(missing_dir), "out.npy", "no such file")
    expect_error(ctx, dtl.InvalidArgumentError, lambda: v.save(str(d) + "/"), "does not name a file")
    # The target is a directory: the data is written, the final rename
    # fails, the temporary file is removed and the directory is untouched.
    target = d / "a_directory.npy"
    on_root(ctx, lambda: (target / "inside").mkdir(parents=True, exist_ok=True))
    expect_error(ctx, dtl.InvalidArgumentError, lambda: v.save(target), "a_directory.npy")
    if ctx.is_root:
        assert (target / "inside").is_dir()
        assert not [f for f in os.listdir(d) if "dtl-tmp" in f]
    np.testing.assert_array_equal(v.gather_all(), full)  # the container is unchanged
    in_step(ctx)


def test_failed_load_changes_nothing(ctx, tmpdir_shared):
    v = dtl.DistributedVector.from_global(ctx, np.arange(5.0))
    before = v.gather_all()
    with pytest.raises(dtl.InvalidArgumentError):
        v = dtl.DistributedVector.load(ctx, tmpdir_shared / "missing.npy")
    np.testing.assert_array_equal(v.gather_all(), before)
    in_step(ctx)
