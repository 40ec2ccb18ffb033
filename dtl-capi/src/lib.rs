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
#![deny(missing_docs)]
// The doc comments are written for C readers and copied verbatim into dtl.h:
// `a[i]` there is C indexing, not a rustdoc intra-doc link.
#![allow(rustdoc::broken_intra_doc_links)]

// cbindgen writes the declarations in this order into dtl.h; the blank
// lines keep rustfmt from sorting the modules.
mod types; // dtl_status, DTL_ERROR_*, dtl_dtype, dtl_op, dtl_layout, ...

mod error; // last error message, status and version strings

mod env; // dtl_init, dtl_finalize

mod info; // dtl_print_info, dtl_info_string

mod context; // dtl_context_t

mod container; // dtl_vector_t, dtl_array_t, dtl_tensor_t, dtl_span_t and dtl_container_*

mod algorithms; // dtl_for_each, dtl_reduce, dtl_sort, ... on any container

mod halo; // halo exchange and padded local blocks for stencils

mod collective; // collectives on caller buffers

mod map; // dtl_map_t

mod window; // dtl_window_t (RMA)

mod handle;

pub use algorithms::*;
pub use collective::*;
pub use container::*;
pub use context::*;
pub use env::*;
pub use error::*;
pub use halo::*;
pub use info::*;
pub use map::*;
pub use types::*;
pub use window::*;

#[cfg(test)]
mod tests;
