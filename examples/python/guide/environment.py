# DTL Python guide, "Environment API" (verbatim blocks).
import dtl

# As context manager (recommended)
with dtl.Environment() as env:
    ctx = env.make_world_context()
    print(f"Rank {ctx.rank} of {ctx.size}")

env = dtl.Environment()
# Create context spanning all MPI ranks (CPU)
ctx = env.make_world_context()
# Create single-process CPU-only context (no MPI)
ctx = env.make_cpu_context()

env.has_mpi  # bool: MPI available
env.has_cuda  # bool: CUDA available
env.has_hip  # bool: HIP available
env.has_nccl  # bool: NCCL available
env.has_shmem  # bool: SHMEM available

dtl.Environment.is_initialized()  # True if any environment handle exists
dtl.Environment.ref_count()  # Number of active environment handles
