import pytest

import dtl


def test_version_and_backends():
    assert isinstance(dtl.__version__, str) and dtl.__version__.count(".") == 2
    assert dtl.has_mpi() is True
    assert isinstance(dtl.has_cuda(), bool)
    assert isinstance(dtl.cuda_status(), str)


def test_constants():
    assert dtl.PARTITION_BLOCK == 0 and dtl.PARTITION_CYCLIC == 1 and dtl.PARTITION_HASH == 3
    assert dtl.PLACEMENT_HOST == 0 and dtl.PLACEMENT_DEVICE == 1 and dtl.PLACEMENT_UNIFIED == 2
    assert {dtl.SUM, dtl.PROD, dtl.MIN, dtl.MAX} == {"sum", "prod", "min", "max"}
    assert dtl.status_name(301) == "DTL_ERROR_BOUNDS"


def test_exception_hierarchy():
    assert issubclass(dtl.MemoryError, dtl.DTLError) and issubclass(dtl.MemoryError, MemoryError)
    assert issubclass(dtl.BoundsError, IndexError)
    assert issubclass(dtl.InvalidArgumentError, ValueError)
    for cls in (dtl.CommunicationError, dtl.BackendError, dtl.BoundsError, dtl.InvalidArgumentError):
        assert issubclass(cls, dtl.DTLError)
    assert issubclass(dtl.NotSupportedError, dtl.BackendError)


def test_environment_refcount():
    base = dtl.Environment.ref_count()
    with dtl.Environment() as env:
        assert dtl.Environment.ref_count() == base + 1
        assert dtl.Environment.is_initialized()
        assert env.has_mpi is True
        assert env.has_hip is False and env.has_shmem is False
        assert isinstance(env.has_cuda, bool)
        assert env.thread_level.startswith("MPI_THREAD_")
        assert "MPI" in env.mpi_library_version
        # No C terminator or padding (rsmpi's string keeps the NUL); the same
        # text mpi4py reports.
        from mpi4py import MPI

        assert "\x00" not in env.mpi_library_version
        assert env.mpi_library_version == MPI.Get_library_version().strip("\x00").strip()
        ctx = env.make_world_context()
        cpu = env.make_cpu_context()
        assert cpu.size == 1 and cpu.rank == 0
        assert ctx.size >= 1
    assert dtl.Environment.ref_count() == base


def test_context_properties(ctx):
    from mpi4py import MPI

    assert ctx.rank == MPI.COMM_WORLD.Get_rank()
    assert ctx.size == MPI.COMM_WORLD.Get_size()
    assert ctx.is_root == (ctx.rank == 0)
    assert ctx.device_id == -1 and ctx.has_device is False
    assert ctx.has_mpi is True and ctx.has_nccl is False and ctx.nccl_mode == -1
    ctx.fence()
    ctx.barrier()


def test_dup_is_independent(ctx):
    d = ctx.dup()
    assert (d.rank, d.size) == (ctx.rank, ctx.size)
    assert dtl.allreduce(d, 1) == ctx.size


def test_split_by_parity(ctx):
    sub = ctx.split(ctx.rank % 2, key=ctx.rank)
    members = [r for r in range(ctx.size) if r % 2 == ctx.rank % 2]
    assert sub.size == len(members)
    assert sub.rank == members.index(ctx.rank)
    assert dtl.allreduce(sub, ctx.rank) == sum(members)


def test_split_undefined_color(ctx):
    sub = ctx.split(None if ctx.rank == 0 else 0)
    if ctx.rank == 0:
        assert sub is None
    else:
        assert sub.size == ctx.size - 1


def test_split_negative_color_is_an_error(ctx):
    with pytest.raises(dtl.InvalidArgumentError, match="color"):
        ctx.split(-3)


def test_placement_policies(ctx):
    assert dtl.placement_available(dtl.PLACEMENT_HOST) is True
    for p in (dtl.PLACEMENT_DEVICE, dtl.PLACEMENT_UNIFIED, dtl.PLACEMENT_DEVICE_PREFERRED):
        assert isinstance(dtl.placement_available(p), bool)
        if not dtl.placement_available(p):
            with pytest.raises(ValueError, match="not available.*CUDA"):
                dtl.DistributedVector(ctx, 10, placement=p)
    with pytest.raises(dtl.InvalidArgumentError, match="placement must be one of"):
        dtl.placement_available(9)
    with pytest.raises(dtl.InvalidArgumentError, match="partition must be one of"):
        dtl.DistributedVector(ctx, 10, partition=42)


def test_policy_enums():
    assert dtl.PartitionPolicy.CYCLIC == dtl.PARTITION_CYCLIC == 1
    assert dtl.PARTITION_WEIGHTED == 5 and dtl.PARTITION_REPLICATED == 4
    assert dtl.ExecutionPolicy.PAR == dtl.EXEC_PAR and dtl.EXEC_SEQ == 0
    assert dtl.PlacementPolicy.UNIFIED == dtl.PLACEMENT_UNIFIED


def test_context_from_mpi4py_comm():
    from mpi4py import MPI

    c = dtl.Context(comm=MPI.COMM_WORLD)
    assert c.size == MPI.COMM_WORLD.Get_size()
    with pytest.raises(dtl.InvalidArgumentError, match="intra-communicator"):
        dtl.Context(comm=42)
    with pytest.raises(dtl.InvalidArgumentError, match="COMM_NULL"):
        dtl.Context(comm=MPI.COMM_NULL)


def test_context_from_mpi4py_subcomm_really_used():
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    sub_comm = world.Split(world.Get_rank() % 2, world.Get_rank())
    sub = dtl.Context(comm=sub_comm)
    assert (sub.rank, sub.size) == (sub_comm.Get_rank(), sub_comm.Get_size())
    vec = dtl.DistributedVector(sub, 1000)
    assert vec.local_size == len(range(*__import__("conftest").block_range(1000, sub.size, sub.rank)))
    members = [r for r in range(world.Get_size()) if r % 2 == world.Get_rank() % 2]
    assert dtl.allreduce(sub, float(world.Get_rank())) == float(sum(members))
    sub_comm.Free()  # dtl holds its own duplicate
    assert dtl.allreduce(sub, 1) == len(members)
