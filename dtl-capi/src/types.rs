//! The value types of the C ABI: `dtl_status` and its codes, `dtl_dtype`,
//! `dtl_op`, and their conversions to the dtl-core types.

use dtl_core::error::status;
use dtl_core::{DType, Error, ReduceOp, Result};

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
