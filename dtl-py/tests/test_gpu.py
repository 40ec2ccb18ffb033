"""GPU placement and NCCL from Python.

Without CUDA (CI, most machines) these check that every GPU request fails
fast and cleanly, with the same error on every rank; tests marked ``cuda``
need a CUDA device (and ``nccl`` ones libnccl) and are skipped otherwise.
Run them on a GPU machine with ``mpirun -np 2 python -m pytest --with-mpi
dtl-py/tests/test_gpu.py``."""

import time

import numpy as np
import pytest

import dtl

NCCL_OPS = [
    "ALLREDUCE", "BROADCAST", "REDUCE", "ALLGATHER", "REDUCE_SCATTER", "SEND", "RECV", "BARRIER",
    "GATHER", "SCATTER", "ALLTOALL", "VCOLLECTIVES", "SCAN", "EXSCAN", "LOGICAL_REDUCE",
]
NATIVE = {"ALLREDUCE", "BROADCAST", "REDUCE", "ALLGATHER", "REDUCE_SCATTER", "SEND", "RECV", "BARRIER"}

cuda = pytest.mark.skipif(not dtl.has_cuda(), reason="needs a CUDA device")
nccl = pytest.mark.skipif(not dtl.has_nccl(), reason="needs CUDA and libnccl")
no_cuda = pytest.mark.skipif(dtl.has_cuda(), reason="checks the behaviour without CUDA")


def test_nccl_constants_and_tables():
    codes = [getattr(dtl, f"DTL_NCCL_OP_{o}") for o in NCCL_OPS]
    assert codes == list(range(len(NCCL_OPS)))
    assert dtl.DTL_NCCL_MODE_NATIVE_ONLY == 0 and dtl.DTL_NCCL_MODE_HYBRID_PARITY == 1
    for name, code in zip(NCCL_OPS, codes):
        assert dtl.nccl_supports_native(code) is (name in NATIVE)
        assert dtl.nccl_supports_hybrid(code) is True
    for bad in (-1, len(NCCL_OPS)):
        with pytest.raises(dtl.InvalidArgumentError, match="DTL_NCCL_OP"):
            dtl.nccl_supports_native(bad)


def test_context_nccl_queries_without_nccl_domain(ctx):
    assert ctx.has_nccl is False and ctx.nccl_mode == -1
    assert ctx.nccl_supports_native(dtl.DTL_NCCL_OP_ALLREDUCE) is False
    assert ctx.nccl_supports_hybrid(dtl.DTL_NCCL_OP_SCAN) is False
    with pytest.raises(dtl.InvalidArgumentError, match="DTL_NCCL_OP"):
        ctx.nccl_supports_hybrid(99)


def test_probes_are_fast_and_consistent():
    t = time.perf_counter()
    for _ in range(100):
        dtl.has_cuda(), dtl.has_nccl(), dtl.placement_available(dtl.PLACEMENT_DEVICE)
    assert time.perf_counter() - t < 1.0
    assert dtl.has_nccl() <= dtl.has_cuda()
    assert dtl.placement_available(dtl.PLACEMENT_DEVICE) is dtl.has_cuda()
    assert dtl.placement_available(dtl.PLACEMENT_UNIFIED) is dtl.has_cuda()
    assert dtl.placement_available(dtl.PLACEMENT_DEVICE_PREFERRED) is True
    assert dtl.placement_available(dtl.PLACEMENT_HOST) is True
    assert isinstance(dtl.cuda_status(), str) and dtl.cuda_status()


@no_cuda
@pytest.mark.parametrize("cls", ["DistributedVector", "DistributedArray"])
@pytest.mark.parametrize("placement", [dtl.PLACEMENT_DEVICE, dtl.PLACEMENT_UNIFIED])
def test_device_placement_without_cuda_raises_on_every_rank(ctx, cls, placement):
    with pytest.raises(dtl.InvalidArgumentError, match="not available"):
        getattr(dtl, cls)(ctx, 100, placement=placement)
    # The ranks are still in step: a collective after the error works.
    assert dtl.allreduce(ctx, 1, op=dtl.SUM) == ctx.size


@no_cuda
def test_device_tensor_without_cuda_raises(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="not available"):
        dtl.DistributedTensor(ctx, (4, 4), placement=dtl.PLACEMENT_DEVICE)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.uint16, np.int64])
@pytest.mark.parametrize("kind", ["vector", "array", "tensor"])
def test_host_containers_export_dlpack_zero_copy(ctx, dtype, kind):
    if kind == "tensor":
        c = dtl.DistributedTensor(ctx, (2 * ctx.size + 1, 3), dtype=dtype, fill=4)
    else:
        cls = dtl.DistributedVector if kind == "vector" else dtl.DistributedArray
        c = cls(ctx, 3 * ctx.size + 1, dtype=dtype, fill=4)
    assert c.__dlpack_device__() == (1, 0)
    assert c.placement_policy == dtl.PLACEMENT_HOST and c.device_id == -1 and c.is_host_accessible
    a = np.from_dlpack(c)
    view = c.local_view()
    assert a.shape == view.shape and a.dtype == np.dtype(dtype)
    assert a.size == 0 or a.__array_interface__["data"][0] == view.__array_interface__["data"][0]
    view[...] = 9  # same memory: the DLPack array sees the write
    assert np.all(a == 9)
    del c, view
    assert np.all(a == 9)  # the capsule keeps the container alive
    assert not hasattr(dtl.DistributedVector(ctx, 3), "__cuda_array_interface__")


def test_dlpack_of_empty_parts(ctx):
    v = dtl.DistributedVector(ctx, 0, dtype=np.uint8)
    assert np.from_dlpack(v).shape == (0,)


@pytest.mark.parametrize("kind", ["vector", "array", "tensor"])
def test_to_host_copies_with_the_same_layout(ctx, kind):
    n = 5 * ctx.size + 2
    if kind == "tensor":
        c = dtl.DistributedTensor(ctx, (n, 2), dtype=np.int32, partition=dtl.PARTITION_CYCLIC)
    else:
        cls = dtl.DistributedVector if kind == "vector" else dtl.DistributedArray
        c = cls(ctx, n, dtype=np.int32, partition=dtl.PARTITION_CYCLIC)
    c.local_view()[...] = np.arange(c.local_view().size).reshape(c.local_view().shape) + 100 * ctx.rank
    h = dtl.to_host(ctx, c)
    assert type(h) is type(c) and h.partition_policy == dtl.PARTITION_CYCLIC
    assert np.array_equal(h.local_view(), c.local_view())
    h.local_view()[...] = -1  # a copy, not a view
    assert not np.any(c.local_view() == -1) or c.local_view().size == 0
    with pytest.raises(dtl.InvalidArgumentError, match="container must be"):
        dtl.to_host(ctx, np.zeros(3))
    other = ctx.dup()
    with pytest.raises(dtl.InvalidArgumentError, match="context"):
        dtl.to_host(other, c)


@no_cuda
def test_to_device_without_cuda_raises_on_every_rank(ctx):
    v = dtl.DistributedVector(ctx, 10)
    for p in (dtl.PLACEMENT_DEVICE, dtl.PLACEMENT_UNIFIED):
        with pytest.raises(dtl.InvalidArgumentError, match="not available"):
            dtl.to_device(ctx, v, placement=p)
    assert dtl.allreduce(ctx, 1, op=dtl.SUM) == ctx.size


@no_cuda
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8])
def test_device_preferred_falls_back_to_host(ctx, dtype):
    v = dtl.DistributedVector(ctx, 37, dtype=dtype, fill=3, placement=dtl.PLACEMENT_DEVICE_PREFERRED)
    assert v.placement_policy == dtl.PLACEMENT_HOST
    assert np.all(v.local_view() == 3)
    assert v.reduce(op=dtl.SUM) == 3 * 37


@no_cuda
def test_nccl_without_cuda_raises_backend_error_on_every_rank(ctx):
    with pytest.raises(dtl.BackendError, match="not available"):
        ctx.with_nccl(0)
    with pytest.raises(dtl.BackendError, match="not available"):
        ctx.with_nccl()
    with pytest.raises(dtl.BackendError, match="not available"):
        ctx.split_nccl(ctx.rank % 2)
    assert ctx.split_nccl(None) is None
    assert dtl.allreduce(ctx, 1, op=dtl.SUM) == ctx.size


def test_bad_nccl_mode_is_rejected_everywhere(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="DTL_NCCL_MODE"):
        ctx.with_nccl(0, mode=7)
    with pytest.raises(dtl.InvalidArgumentError, match="DTL_NCCL_MODE"):
        ctx.split_nccl(0, mode=-2)


@nccl
@pytest.mark.parametrize("mode", [0, 1])
def test_with_nccl_makes_an_nccl_context(ctx, mode):
    n = ctx.with_nccl(mode=mode)
    assert n.has_nccl and n.nccl_mode == mode and n.has_device
    assert n.rank == ctx.rank and n.size == ctx.size
    assert n.nccl_supports_native(dtl.DTL_NCCL_OP_ALLREDUCE)
    assert not n.nccl_supports_native(dtl.DTL_NCCL_OP_SCAN)
    assert n.nccl_supports_hybrid(dtl.DTL_NCCL_OP_SCAN)
    sub = ctx.split_nccl(ctx.rank % 2, mode=mode)
    assert sub.has_nccl and sub.size == len(range(ctx.rank % 2, ctx.size, 2))


@cuda
def test_device_id_must_be_in_range(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="device_id"):
        ctx.with_nccl(10_000)


# ---------------------------------------------------------------- with a GPU

DEVICE_PLACEMENTS = [dtl.PLACEMENT_DEVICE, dtl.PLACEMENT_UNIFIED]


@cuda
@pytest.mark.parametrize("placement", DEVICE_PLACEMENTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("partition", [dtl.PARTITION_BLOCK, dtl.PARTITION_CYCLIC])
def test_device_vector_algorithms_match_numpy(ctx, placement, dtype, partition):
    n = 1000 * ctx.size + 7
    v = dtl.DistributedVector(ctx, n, dtype=dtype, fill=1, partition=partition, placement=placement)
    assert v.placement_policy == placement and v.device_id >= 0
    assert v.is_host_accessible is (placement == dtl.PLACEMENT_UNIFIED)
    g = (np.arange(n) % 50).astype(dtype)
    h = dtl.DistributedVector(ctx, n, dtype=dtype, partition=partition)
    mine = g[h.local_indices()]
    v.from_numpy(mine)
    assert np.array_equal(v.to_numpy(), mine)
    assert np.array_equal(v.gather_all(), g)
    assert v.reduce(op=dtl.SUM) == g.sum(dtype=dtype)
    assert v.reduce(op=dtl.MAX) == g.max() and v.reduce(op=dtl.MIN) == g.min()
    v.sort(reverse=True)
    assert np.array_equal(v.gather_all(), np.sort(g)[::-1])
    v.from_numpy(mine)
    v.inclusive_scan(op=dtl.SUM)
    assert np.array_equal(v.gather_all(), np.cumsum(g, dtype=dtype))
    v.fill(3)
    assert np.all(v.to_numpy() == 3)
    w = dtl.to_host(ctx, v)
    assert w.placement_policy == dtl.PLACEMENT_HOST and np.all(w.local_view() == 3)
    d = dtl.to_device(ctx, w, placement=placement)
    assert np.all(d.to_numpy() == 3)


@cuda
def test_device_only_local_view_and_host_algorithms_raise(ctx):
    v = dtl.DistributedVector(ctx, 10, placement=dtl.PLACEMENT_DEVICE)
    with pytest.raises(RuntimeError, match="device-only"):
        v.local_view()
    with pytest.raises(RuntimeError, match="device-only"):
        v.halo_exchange(1)
    u = dtl.DistributedVector(ctx, 10, fill=2, placement=dtl.PLACEMENT_UNIFIED)
    assert np.all(u.local_view() == 2)  # unified memory: zero copy on the host


@cuda
def test_cuda_array_interface_and_dlpack_device(ctx):
    v = dtl.DistributedTensor(ctx, (4 * ctx.size, 3), dtype=np.float32, fill=1.5, placement=dtl.PLACEMENT_DEVICE)
    cai = v.__cuda_array_interface__
    assert cai["shape"] == tuple(v.local_shape) and cai["typestr"] == "<f4" and cai["version"] == 3
    assert cai["data"][0] != 0
    assert v.__dlpack_device__() == (2, v.device_id)


@cuda
def test_cupy_and_torch_see_the_same_memory(ctx):
    cp = pytest.importorskip("cupy")
    v = dtl.DistributedVector(ctx, 100, dtype=np.float64, fill=2, placement=dtl.PLACEMENT_DEVICE)
    a = cp.asarray(v)  # __cuda_array_interface__, zero copy
    a *= 3
    assert np.all(v.to_numpy() == 6)
    b = cp.from_dlpack(v)
    assert int(b.data.ptr) == int(a.data.ptr)
    src = cp.arange(v.local_size, dtype=cp.float64)
    v.from_numpy(src)  # device-to-device import
    assert np.array_equal(v.to_numpy(), np.arange(v.local_size))
    torch = pytest.importorskip("torch")
    t = torch.from_dlpack(v)
    assert t.is_cuda and t.shape == (v.local_size,)


@cuda
@pytest.mark.parametrize("use_nccl", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int16])
def test_device_collectives_match_mpi(ctx, use_nccl, dtype):
    if use_nccl and not dtl.has_nccl():
        pytest.skip("needs libnccl")
    c = ctx.with_nccl() if use_nccl else ctx
    k = 6
    mine = ((np.arange(k * ctx.size) + 3 * ctx.rank) % 7).astype(dtype)
    every = np.array([((np.arange(k * ctx.size) + 3 * r) % 7).astype(dtype) for r in range(ctx.size)])
    n = k * ctx.size * ctx.size  # every rank's local part has k * size elements (block)

    def fresh():
        v = dtl.DistributedVector(ctx, n, dtype=dtype, placement=dtl.PLACEMENT_DEVICE)
        v.from_numpy(mine)
        return v

    v = fresh()
    assert dtl.allreduce(c, v, op=dtl.SUM) is v
    assert np.array_equal(v.to_numpy(), every.sum(axis=0, dtype=dtype))
    v = fresh()
    dtl.allreduce(c, v, op=dtl.MAX)
    assert np.array_equal(v.to_numpy(), every.max(axis=0))
    v = fresh()
    dtl.broadcast(c, v, root=ctx.size - 1)
    assert np.array_equal(v.to_numpy(), every[-1])
    v = fresh()
    dtl.reduce(c, v, op=dtl.SUM, root=0)
    if ctx.rank == 0:
        assert np.array_equal(v.to_numpy(), every.sum(axis=0, dtype=dtype))
    g = dtl.allgather(c, fresh())
    assert g.placement_policy == dtl.PLACEMENT_DEVICE and np.array_equal(g.to_numpy(), every.reshape(-1))
    rs = dtl.reduce_scatter(c, fresh(), op=dtl.SUM)
    assert np.array_equal(rs.to_numpy(), every.sum(axis=0, dtype=dtype)[ctx.rank * k : (ctx.rank + 1) * k])


@cuda
@pytest.mark.parametrize("ufunc", [np.negative, np.absolute, np.square, np.sqrt, np.exp, np.sin])
def test_device_transform_matches_numpy(ctx, ufunc):
    src = dtl.DistributedVector(ctx, 1000, dtype=np.float64, placement=dtl.PLACEMENT_DEVICE)
    x = np.linspace(0.1, 3.0, src.local_size)
    src.from_numpy(x)
    dst = dtl.DistributedVector(ctx, 1000, dtype=np.float64, placement=dtl.PLACEMENT_DEVICE)
    dtl.transform(src, dst, ufunc)
    assert np.allclose(dst.to_numpy(), ufunc(x))
    dtl.transform(src, ufunc)
    assert np.allclose(src.to_numpy(), ufunc(x))
    with pytest.raises(dtl.NotSupportedError, match="built-in device kernels"):
        dtl.transform(src, lambda a: a + 1)


@cuda
def test_device_allgatherv_uneven_parts(ctx):
    n = ctx.size * (ctx.size + 1) // 2  # weighted: rank r holds r + 1 elements
    v = dtl.DistributedVector(ctx, n, dtype=np.int32, partition=dtl.PARTITION_WEIGHTED,
                              weights=list(range(1, ctx.size + 1)), placement=dtl.PLACEMENT_DEVICE)
    v.from_numpy(np.full(v.local_size, ctx.rank, dtype=np.int32))
    g, counts = dtl.allgatherv(ctx, v)
    assert list(counts) == list(range(1, ctx.size + 1))
    assert np.array_equal(g.to_numpy(), np.repeat(np.arange(ctx.size), np.arange(1, ctx.size + 1)))
