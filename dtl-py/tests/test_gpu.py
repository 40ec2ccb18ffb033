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
