//! The value types of the C ABI: `dtl_status` and its codes, `dtl_dtype`,
//! `dtl_op`, and their conversions to the dtl-core types.

use dtl_core::error::status;
use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{DType, Error, Execution, PartitionKind, Placement, ReduceOp, Result};

/// Status code returned by every fallible dtl function: DTL_SUCCESS (0) or
/// one of the DTL_ERROR_* codes below. The codes are stable ABI: a code
/// never changes meaning once released. dtl_status_name() and
/// dtl_status_message() describe a code; dtl_last_error_message() gives the
/// detailed message of the last failed call on the calling thread.
pub type dtl_status = i32;

/// The call succeeded.
pub const DTL_SUCCESS: dtl_status = 0;
/// An MPI call failed (the message names the call).
pub const DTL_ERROR_COMMUNICATION: dtl_status = 100;
/// An allocation failed or would exceed a limit.
pub const DTL_ERROR_MEMORY: dtl_status = 200;
/// An argument is invalid: a NULL pointer, an invalid, destroyed or
/// wrong-kind handle, a dtype or op code out of range, a value out of range.
pub const DTL_ERROR_INVALID_ARGUMENT: dtl_status = 300;
/// An index or offset is out of bounds.
pub const DTL_ERROR_BOUNDS: dtl_status = 301;
/// The ranks of a collective call passed arguments that do not agree
/// (different sizes, dtypes, ops, or an invalid value on some ranks only).
/// Returned on every rank of the call.
pub const DTL_ERROR_MISMATCH: dtl_status = 302;
/// A backend (MPI, CUDA, NCCL) is unavailable or failed; also returned when
/// a context is created after dtl has finalized MPI.
pub const DTL_ERROR_BACKEND: dtl_status = 400;
/// The feature is not supported by this build.
pub const DTL_ERROR_NOT_SUPPORTED: dtl_status = 401;
/// The object or library is in a state that does not allow the call (e.g.
/// dtl_finalize() without a matching dtl_init()).
pub const DTL_ERROR_INVALID_STATE: dtl_status = 500;
/// A bug in dtl: a Rust panic was caught at the C boundary.
pub const DTL_ERROR_INTERNAL: dtl_status = 900;

// The C codes are dtl-core's status codes.
const _: () = {
    assert!(DTL_SUCCESS == status::OK);
    assert!(DTL_ERROR_COMMUNICATION == status::COMMUNICATION);
    assert!(DTL_ERROR_MEMORY == status::MEMORY);
    assert!(DTL_ERROR_INVALID_ARGUMENT == status::INVALID_ARGUMENT);
    assert!(DTL_ERROR_BOUNDS == status::BOUNDS);
    assert!(DTL_ERROR_MISMATCH == status::MISMATCH);
    assert!(DTL_ERROR_BACKEND == status::BACKEND);
    assert!(DTL_ERROR_NOT_SUPPORTED == status::NOT_SUPPORTED);
    assert!(DTL_ERROR_INVALID_STATE == status::INVALID_STATE);
    assert!(DTL_ERROR_INTERNAL == status::INTERNAL);
};

/// Element type of a container or collective buffer. Functions take it as
/// an int32_t (the dtl_dtype typedef), so any value can be passed; codes
/// outside 0..9 are rejected with DTL_ERROR_INVALID_ARGUMENT.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_dtype {
    /// int8_t.
    Int8 = 0,
    /// int16_t.
    Int16 = 1,
    /// int32_t.
    Int32 = 2,
    /// int64_t.
    Int64 = 3,
    /// uint8_t.
    Uint8 = 4,
    /// uint16_t.
    Uint16 = 5,
    /// uint32_t.
    Uint32 = 6,
    /// uint64_t.
    Uint64 = 7,
    /// float (IEEE 754 binary32).
    Float32 = 8,
    /// double (IEEE 754 binary64).
    Float64 = 9,
}

/// Reduction operation. Functions take it as an int32_t (the dtl_op
/// typedef); codes outside 0..9 are rejected with
/// DTL_ERROR_INVALID_ARGUMENT. The logical and bitwise ops (LAND .. BXOR)
/// are defined for the integer dtypes only.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_op {
    /// Sum (MPI_SUM; wrapping for integers).
    Sum = 0,
    /// Product (MPI_PROD).
    Prod = 1,
    /// Minimum (MPI_MIN).
    Min = 2,
    /// Maximum (MPI_MAX).
    Max = 3,
    /// Logical and, result 0 or 1 (MPI_LAND; integers only).
    Land = 4,
    /// Logical or (MPI_LOR; integers only).
    Lor = 5,
    /// Logical exclusive or (MPI_LXOR; integers only).
    Lxor = 6,
    /// Bitwise and (MPI_BAND; integers only).
    Band = 7,
    /// Bitwise or (MPI_BOR; integers only).
    Bor = 8,
    /// Bitwise exclusive or (MPI_BXOR; integers only).
    Bxor = 9,
}

/// A `dtl_dtype` as it crosses the ABI: a plain `int32_t`, so that an
/// out-of-range code is a checked error rather than undefined behaviour.
/// Spelled `dtl_dtype` in dtl.h (see cbindgen.toml).
pub type dtl_dtype_code = i32;

/// A `dtl_op` as it crosses the ABI (see [`dtl_dtype_code`]).
pub type dtl_op_code = i32;

// The C codes are dtl-core's codes.
const _: () = {
    assert!(dtl_dtype::Int8 as i32 == DType::Int8 as i32);
    assert!(dtl_dtype::Int16 as i32 == DType::Int16 as i32);
    assert!(dtl_dtype::Int32 as i32 == DType::Int32 as i32);
    assert!(dtl_dtype::Int64 as i32 == DType::Int64 as i32);
    assert!(dtl_dtype::Uint8 as i32 == DType::UInt8 as i32);
    assert!(dtl_dtype::Uint16 as i32 == DType::UInt16 as i32);
    assert!(dtl_dtype::Uint32 as i32 == DType::UInt32 as i32);
    assert!(dtl_dtype::Uint64 as i32 == DType::UInt64 as i32);
    assert!(dtl_dtype::Float32 as i32 == DType::Float32 as i32);
    assert!(dtl_dtype::Float64 as i32 == DType::Float64 as i32);
    assert!(dtl_op::Sum as i32 == ReduceOp::Sum as i32);
    assert!(dtl_op::Prod as i32 == ReduceOp::Prod as i32);
    assert!(dtl_op::Min as i32 == ReduceOp::Min as i32);
    assert!(dtl_op::Max as i32 == ReduceOp::Max as i32);
    assert!(dtl_op::Land as i32 == ReduceOp::LAnd as i32);
    assert!(dtl_op::Lor as i32 == ReduceOp::LOr as i32);
    assert!(dtl_op::Lxor as i32 == ReduceOp::LXor as i32);
    assert!(dtl_op::Band as i32 == ReduceOp::BAnd as i32);
    assert!(dtl_op::Bor as i32 == ReduceOp::BOr as i32);
    assert!(dtl_op::Bxor as i32 == ReduceOp::BXor as i32);
};

/// Parses a `dtl_dtype` code.
pub(crate) fn parse_dtype(code: dtl_dtype_code) -> Result<DType> {
    DType::from_code(code).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "dtype must be a dtl_dtype code in 0..=9 (DTL_DTYPE_INT8 .. DTL_DTYPE_FLOAT64), got {code}"
        ))
    })
}

/// Parses a `dtl_op` code.
pub(crate) fn parse_op(code: dtl_op_code) -> Result<ReduceOp> {
    ReduceOp::from_code(i64::from(code)).map_err(|_| {
        Error::InvalidArgument(format!("op must be a dtl_op code in 0..=9 (DTL_OP_SUM .. DTL_OP_BXOR), got {code}"))
    })
}

/// Converts an element count from the ABI's `uint64_t`.
pub(crate) fn size_arg(n: u64, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::InvalidArgument(format!("{what} = {n} exceeds the address space")))
}

/// Partition policy of a container: which rank holds which global index.
/// Functions take it as an int32_t (the dtl_partition typedef, a field of
/// dtl_layout); codes outside 0..5 are rejected with
/// DTL_ERROR_INVALID_ARGUMENT.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_partition {
    /// Contiguous blocks, the remainder to the lowest ranks (the default).
    Block = 0,
    /// Round robin: global index i on rank i % size.
    Cyclic = 1,
    /// Round robin of blocks of dtl_layout.block_size elements.
    BlockCyclic = 2,
    /// By hash of the key: maps only (an index container rejects it).
    Hash = 3,
    /// Every rank holds every element.
    Replicated = 4,
    /// Contiguous blocks of user-given sizes (dtl_layout.counts or
    /// dtl_layout.fractions, one per rank).
    Weighted = 5,
}

/// Placement policy: where a container keeps its local part. Functions take
/// it as an int32_t (the dtl_placement typedef, a field of dtl_layout).
/// This build stores containers in host memory: the other placements are
/// rejected with DTL_ERROR_INVALID_ARGUMENT naming what the CUDA probe
/// found; codes outside 0..3 likewise.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_placement {
    /// Host (CPU) memory (the default).
    Host = 0,
    /// GPU device memory.
    Device = 1,
    /// CUDA unified (managed) memory.
    Unified = 2,
    /// Device memory if a GPU is present, else host.
    DevicePreferred = 3,
}

/// Where the local work of an algorithm runs. Functions take it as an
/// int32_t (the dtl_exec typedef).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_exec {
    /// On the calling thread, in local index order: callbacks are never
    /// called concurrently (the default for containers made through the C
    /// API).
    Seq = 0,
    /// On a thread pool (rayon) for local parts of at least 65536
    /// elements: callbacks may run concurrently on several threads, in any
    /// order, so they must be thread-safe.
    Par = 1,
}

/// A dtl_partition as it crosses the ABI (spelled `dtl_partition` in dtl.h).
pub type dtl_partition_code = i32;
/// A dtl_placement as it crosses the ABI (spelled `dtl_placement`).
pub type dtl_placement_code = i32;
/// A dtl_exec as it crosses the ABI (spelled `dtl_exec`).
pub type dtl_exec_code = i32;

const _: () = {
    assert!(dtl_partition::Block as i32 == PartitionKind::Block as i32);
    assert!(dtl_partition::Cyclic as i32 == PartitionKind::Cyclic as i32);
    assert!(dtl_partition::BlockCyclic as i32 == PartitionKind::BlockCyclic as i32);
    assert!(dtl_partition::Hash as i32 == PartitionKind::Hash as i32);
    assert!(dtl_partition::Replicated as i32 == PartitionKind::Replicated as i32);
    assert!(dtl_partition::Weighted as i32 == PartitionKind::Weighted as i32);
    assert!(dtl_placement::Host as i32 == Placement::Host as i32);
    assert!(dtl_placement::Device as i32 == Placement::Device as i32);
    assert!(dtl_placement::Unified as i32 == Placement::Unified as i32);
    assert!(dtl_placement::DevicePreferred as i32 == Placement::DevicePreferred as i32);
};

/// How a container is laid out over the ranks: partition, placement and,
/// for a tensor, the split axis. A zero-initialized dtl_layout (`dtl_layout
/// l = {0};`) is the default: block partition, host memory, axis 0; so is
/// passing NULL where a `const dtl_layout *` is expected. Every rank must
/// pass an equal layout to a collective constructor (checked).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dtl_layout {
    /// A DTL_PARTITION_* code (not DTL_PARTITION_HASH, which is for maps).
    pub partition: dtl_partition_code,
    /// A DTL_PLACEMENT_* code.
    pub placement: dtl_placement_code,
    /// Tensors: the axis split over the ranks, 0 .. ndim-1 (1-D containers
    /// take 0).
    pub axis: i32,
    /// DTL_PARTITION_BLOCK_CYCLIC: elements per block (>= 1); must be 0 for
    /// every other partition.
    pub block_size: u64,
    /// DTL_PARTITION_WEIGHTED: exact element counts per rank (size entries
    /// summing to the global size along the split axis), or NULL. Must be
    /// NULL for every other partition.
    pub counts: *const u64,
    /// DTL_PARTITION_WEIGHTED: fractions per rank (size entries, >= 0,
    /// summing to 1; counts are rounded by the largest-remainder method),
    /// or NULL. Exactly one of counts and fractions is non-NULL for a
    /// weighted partition.
    pub fractions: *const f64,
}

/// A parsed [`dtl_layout`].
pub(crate) struct LayoutArg {
    pub spec: PartitionSpec,
    pub axis: usize,
}

/// Parses the layout argument `p` (NULL = default) for a context of `size`
/// ranks: validates every field, and that the placement is available.
///
/// # Safety
/// `p` must be NULL or point to a readable `dtl_layout` whose non-NULL
/// `counts`/`fractions` point to `size` readable values.
pub(crate) unsafe fn parse_layout(p: *const dtl_layout, size: usize) -> Result<LayoutArg> {
    if p.is_null() {
        return Ok(LayoutArg { spec: PartitionSpec::Block, axis: 0 });
    }
    if !p.is_aligned() {
        return Err(Error::InvalidArgument(format!("layout ({p:p}) is not aligned")));
    }
    // SAFETY: non-NULL, aligned; readable per the caller's contract.
    let l = unsafe { *p };
    let kind = PartitionKind::from_code(i64::from(l.partition))
        .map_err(|e| Error::InvalidArgument(format!("layout.partition: {}", e.detail())))?;
    Placement::from_code(i64::from(l.placement))
        .and_then(|pl| pl.ensure_available(&dtl_gpu::cuda_status()))
        .map_err(|e| Error::InvalidArgument(format!("layout.placement: {}", e.detail())))?;
    let axis = usize::try_from(l.axis)
        .map_err(|_| Error::InvalidArgument(format!("layout.axis must be >= 0, got {}", l.axis)))?;
    let weights = match (l.counts.is_null(), l.fractions.is_null()) {
        (true, true) => None,
        (false, false) => {
            return Err(Error::InvalidArgument(
                "layout: set one of counts and fractions for DTL_PARTITION_WEIGHTED, not both".into(),
            ))
        }
        (false, true) => {
            check_array(l.counts, size, "layout.counts")?;
            // SAFETY: `size` readable values per the caller's contract.
            let c = unsafe { std::slice::from_raw_parts(l.counts, size) };
            Some(Weights::Counts(c.iter().map(|&x| size_arg(x, "layout.counts[i]")).collect::<Result<_>>()?))
        }
        (true, false) => {
            check_array(l.fractions, size, "layout.fractions")?;
            // SAFETY: as above.
            Some(Weights::Fractions(unsafe { std::slice::from_raw_parts(l.fractions, size) }.to_vec()))
        }
    };
    let block = (l.block_size != 0).then(|| size_arg(l.block_size, "layout.block_size")).transpose()?;
    let spec = PartitionSpec::from_kind(kind, block, weights)
        .map_err(|e| Error::InvalidArgument(format!("layout: {}", e.detail())))?;
    Ok(LayoutArg { spec, axis })
}

/// Checks a pointer to `n` values of `T` (alignment; NULL only when `n` is
/// 0).
fn check_array<T>(p: *const T, n: usize, what: &str) -> Result<()> {
    if p.is_null() && n > 0 {
        return Err(Error::InvalidArgument(format!("{what} is NULL")));
    }
    if !p.is_aligned() {
        return Err(Error::InvalidArgument(format!("{what} ({p:p}) is not aligned")));
    }
    Ok(())
}

/// Parses a `dtl_exec` code.
pub(crate) fn parse_exec(code: dtl_exec_code) -> Result<Execution> {
    Execution::from_code(i64::from(code))
        .map_err(|_| Error::InvalidArgument(format!("exec must be DTL_EXEC_SEQ (0) or DTL_EXEC_PAR (1), got {code}")))
}

/// Converts a rank argument (`int32_t`) for a context of `size` ranks.
pub(crate) fn rank_arg(r: i32, size: usize, what: &str) -> Result<usize> {
    usize::try_from(r)
        .ok()
        .filter(|&r| r < size)
        .ok_or_else(|| Error::InvalidArgument(format!("{what} must be a rank in 0..{size}, got {r}")))
}
