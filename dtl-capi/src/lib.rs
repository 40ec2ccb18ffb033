//! # dtl-capi — the C ABI of dtl (`libdtl.so`, `libdtl.a`, `dtl.h`)
//!
//! Every C entry point is an `extern "C"` function in this crate; `build.rs`
//! runs cbindgen over these sources to produce `dtl.h` (a checked-in copy
//! lives in `include/dtl.h`, kept in sync by `tests/header.rs`).
//!
//! Conventions (see the preamble of `dtl.h` for the version C users read):
//!
//! * every fallible function returns a `dtl_status` (0 = `DTL_SUCCESS`, the
//!   codes of [`dtl_core::error::status`]) and writes results through
//!   pointer arguments; the body runs under [`std::panic::catch_unwind`]
//!   (a panic becomes `DTL_ERROR_INTERNAL`);
//! * objects are opaque handles (`dtl_context_t`, `dtl_vector_t`), validated
//!   on every call against a registry of live handles and a magic tag
//!   (`handle.rs`);
//! * a failure stores a message in a thread-local slot
//!   (`dtl_last_error_message`);
//! * enum-like arguments (`dtl_dtype`, `dtl_op`) cross the ABI as `int32_t`
//!   so that out-of-range values are checked errors, not undefined behaviour.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

// cbindgen writes the declarations in this order into dtl.h; the blank
// lines keep rustfmt from sorting the modules.
mod types; // dtl_status, DTL_ERROR_*, dtl_dtype, dtl_op

mod error; // last error message, status and version strings

mod env; // dtl_init, dtl_finalize

mod context; // dtl_context_t

mod vector; // dtl_vector_t

mod collective; // dtl_allreduce

mod handle;

pub use collective::dtl_allreduce;
pub use context::{
    dtl_context, dtl_context_barrier, dtl_context_create_from_comm, dtl_context_create_world, dtl_context_destroy,
    dtl_context_dup, dtl_context_rank, dtl_context_size, dtl_context_split, dtl_context_t,
};
pub use env::{dtl_finalize, dtl_init};
pub use error::{dtl_last_error_message, dtl_status_message, dtl_status_name, dtl_version_string};
pub use types::*;
pub use vector::{
    dtl_vector, dtl_vector_create, dtl_vector_destroy, dtl_vector_dtype, dtl_vector_fill, dtl_vector_global_size,
    dtl_vector_local_data, dtl_vector_local_offset, dtl_vector_local_size, dtl_vector_reduce, dtl_vector_resize,
    dtl_vector_t,
};

#[cfg(test)]
mod tests;
