//! Single-process tests of the C ABI, run by `cargo test -p dtl-capi`.
//!
//! Only `live_handles_and_mpi_lifetime` initializes MPI (a singleton MPI
//! job of one rank); the other tests exercise the validation paths that
//! fail before any MPI call, so they can run in parallel with it.

use std::ffi::{c_void, CStr};
use std::ptr;

use dtl_core::{dispatch_dtype, DType, Element, Environment};

use crate::handle::{live_count, Handle};
use crate::*;

// The C enumerators, spelled as in dtl.h.
const DTL_DTYPE_INT8: i32 = dtl_dtype::Int8 as i32;
const DTL_DTYPE_INT32: i32 = dtl_dtype::Int32 as i32;
const DTL_DTYPE_UINT16: i32 = dtl_dtype::Uint16 as i32;
const DTL_DTYPE_FLOAT64: i32 = dtl_dtype::Float64 as i32;
const DTL_OP_SUM: i32 = dtl_op::Sum as i32;
const DTL_OP_MIN: i32 = dtl_op::Min as i32;
const DTL_OP_MAX: i32 = dtl_op::Max as i32;
const DTL_OP_BAND: i32 = dtl_op::Band as i32;
const DTL_OP_BXOR: i32 = dtl_op::Bxor as i32;

fn last_error() -> String {
    // SAFETY: dtl_last_error_message never returns NULL.
    unsafe { CStr::from_ptr(dtl_last_error_message()) }.to_string_lossy().into_owned()
}

fn cstr(p: *const std::ffi::c_char) -> &'static str {
    // SAFETY: the status/version strings are static and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

/// Asserts `status == expected` and that the thread's last error contains
/// `needle`.
#[track_caller]
fn expect_err(status: dtl_status, expected: dtl_status, needle: &str) {
    assert_eq!(
        status,
        expected,
        "got {} ({}), expected {}",
        cstr(dtl_status_name(status)),
        last_error(),
        cstr(dtl_status_name(expected))
    );
    let msg = last_error();
    assert!(msg.contains(needle), "last error {msg:?} does not mention {needle:?}");
}

#[track_caller]
fn ok(status: dtl_status) {
    assert_eq!(status, DTL_SUCCESS, "{} ({})", cstr(dtl_status_name(status)), last_error());
}

/// A non-NULL pointer value that is no handle, to check that outputs are
/// reset to NULL on failure.
fn garbage<T>() -> *mut T {
    ptr::NonNull::dangling().as_ptr()
}

#[test]
fn status_strings_match_dtl_core() {
    for code in [0, 100, 200, 300, 301, 302, 400, 401, 500, 900, 1, -1, 12345] {
        assert_eq!(cstr(dtl_status_name(code)), dtl_core::error::status_name(code), "code {code}");
        assert!(!cstr(dtl_status_message(code)).is_empty());
    }
    assert_eq!(cstr(dtl_status_name(DTL_ERROR_INVALID_ARGUMENT)), "DTL_ERROR_INVALID_ARGUMENT");
    assert_eq!(cstr(dtl_status_message(12345)), "unknown status code");
    assert_eq!(cstr(dtl_version_string()), dtl_core::VERSION);
}

#[test]
fn null_handles_and_outputs_are_rejected() {
    let mut ctx: dtl_context_t = garbage();
    let mut vec: dtl_vector_t = garbage();
    let (mut i, mut u, mut d) = (7i32, 7u64, 7i32);
    let mut p: *mut c_void = ptr::null_mut();
    let x = 1.0f64;
    let mut y = 0.0f64;
    // SAFETY: every pointer is NULL or valid; the calls must fail before
    // touching MPI.
    unsafe {
        expect_err(dtl_context_create_world(ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "out is NULL");
        expect_err(dtl_context_create_from_comm(ptr::null(), &mut ctx), DTL_ERROR_INVALID_ARGUMENT, "mpi_comm is NULL");
        assert!(ctx.is_null(), "a failed create sets *out to NULL");
        expect_err(dtl_context_destroy(ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        expect_err(dtl_context_rank(ptr::null_mut(), &mut i), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        expect_err(dtl_context_size(ptr::null_mut(), &mut i), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        expect_err(dtl_context_barrier(ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        ctx = garbage();
        expect_err(dtl_context_dup(ptr::null_mut(), &mut ctx), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        assert!(ctx.is_null());
        ctx = garbage();
        expect_err(dtl_context_split(ptr::null_mut(), 0, 0, &mut ctx), DTL_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        assert!(ctx.is_null());
        expect_err(
            dtl_vector_create(ptr::null_mut(), DTL_DTYPE_FLOAT64, 10, &mut vec),
            DTL_ERROR_INVALID_ARGUMENT,
            "ctx is NULL",
        );
        assert!(vec.is_null());
        expect_err(dtl_vector_destroy(ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "vec is NULL");
        expect_err(dtl_container_global_size(ptr::null(), &mut u), DTL_ERROR_INVALID_ARGUMENT, "container is NULL");
        expect_err(dtl_container_local_size(ptr::null(), &mut u), DTL_ERROR_INVALID_ARGUMENT, "container is NULL");
        expect_err(dtl_container_local_offset(ptr::null(), &mut u), DTL_ERROR_INVALID_ARGUMENT, "container is NULL");
        expect_err(dtl_container_dtype(ptr::null(), &mut d), DTL_ERROR_INVALID_ARGUMENT, "container is NULL");
        expect_err(dtl_container_local_data(ptr::null(), &mut p), DTL_ERROR_INVALID_ARGUMENT, "container is NULL");
        expect_err(
            dtl_container_fill(ptr::null(), (&x as *const f64).cast()),
            DTL_ERROR_INVALID_ARGUMENT,
            "container is NULL",
        );
        expect_err(dtl_vector_resize(ptr::null_mut(), 5), DTL_ERROR_INVALID_ARGUMENT, "vec is NULL");
        expect_err(
            dtl_reduce(ptr::null(), DTL_OP_SUM, (&mut y as *mut f64).cast()),
            DTL_ERROR_INVALID_ARGUMENT,
            "container is NULL",
        );
        expect_err(
            dtl_allreduce(
                ptr::null_mut(),
                (&x as *const f64).cast(),
                (&mut y as *mut f64).cast(),
                1,
                DTL_DTYPE_FLOAT64,
                DTL_OP_SUM,
            ),
            DTL_ERROR_INVALID_ARGUMENT,
            "ctx is NULL",
        );
    }
    assert_eq!((i, u, d), (7, 7, 7), "outputs are untouched on failure");
}

#[test]
fn pointers_that_are_not_handles_are_rejected_without_dereference() {
    // A pointer dtl never returned (here: to a local array filled with the
    // context tag, so a tag check alone would accept it).
    let mut fake = [dtl_context::TAG; 8];
    let fake_ctx = fake.as_mut_ptr().cast::<dtl_context>();
    let mut i = 0i32;
    let mut vec: dtl_vector_t = ptr::null_mut();
    // SAFETY: the handle is rejected before any dereference.
    unsafe {
        expect_err(dtl_context_rank(fake_ctx, &mut i), DTL_ERROR_INVALID_ARGUMENT, "not a live dtl_context_t");
        expect_err(dtl_context_destroy(fake_ctx), DTL_ERROR_INVALID_ARGUMENT, "not a live dtl_context_t");
        expect_err(
            dtl_vector_create(fake_ctx, DTL_DTYPE_INT32, 3, &mut vec),
            DTL_ERROR_INVALID_ARGUMENT,
            "not a live dtl_context_t",
        );
        expect_err(dtl_vector_destroy(fake.as_mut_ptr().cast()), DTL_ERROR_INVALID_ARGUMENT, "not a live dtl_vector_t");
    }
}

#[test]
fn panics_become_internal_errors() {
    let status = crate::error::guard("dtl_test_panic", || panic!("boom {}", 42));
    expect_err(status, DTL_ERROR_INTERNAL, "dtl_test_panic: internal error: panic caught at the C boundary: boom 42");
    let status = crate::error::guard("dtl_test_panic", || std::panic::panic_any(7u8));
    expect_err(status, DTL_ERROR_INTERNAL, "unknown panic payload");
}

#[test]
fn last_error_is_per_thread_and_kept_on_success() {
    let status = crate::error::guard("dtl_test_here", || Err(dtl_core::Error::Bounds("index 9".into())));
    expect_err(status, DTL_ERROR_BOUNDS, "dtl_test_here: index out of bounds: index 9");
    std::thread::spawn(|| {
        assert_eq!(last_error(), "", "a new thread starts with no error");
        let s = crate::error::guard("dtl_test_there", || Err(dtl_core::Error::Memory("x".into())));
        assert_eq!(s, DTL_ERROR_MEMORY);
    })
    .join()
    .unwrap();
    ok(crate::error::guard("dtl_test_ok", || Ok(())));
    assert!(last_error().starts_with("dtl_test_here:"), "{}", last_error());
}

/// Fills a `dtype` vector of 7 elements with 2 and checks the local view
/// and the reductions.
///
/// # Safety
/// `ctx` is a live single-rank context.
unsafe fn check_vector_of(ctx: dtl_context_t, dtype: DType) {
    dispatch_dtype!(dtype, T => {
        let mut v: dtl_vector_t = ptr::null_mut();
        // SAFETY: valid pointers throughout; the local data is accessed
        // within local_size elements.
        unsafe {
            ok(dtl_vector_create(ctx, dtype as i32, 7, &mut v));
            let mut d = -1;
            ok(dtl_container_dtype(v.cast(), &mut d));
            assert_eq!(d, dtype as i32);
            let two = T::from_f64(2.0);
            ok(dtl_container_fill(v.cast(), (&two as *const T).cast()));
            let mut data: *mut c_void = ptr::null_mut();
            ok(dtl_container_local_data(v.cast(), &mut data));
            let local = std::slice::from_raw_parts_mut(data.cast::<T>(), 7);
            assert!(local.iter().all(|&x| x == two));
            local[6] = T::from_f64(3.0);
            let mut r = T::ZERO;
            ok(dtl_reduce(v.cast(), DTL_OP_SUM, (&mut r as *mut T).cast()));
            assert_eq!(r, T::from_f64(15.0), "{dtype} sum");
            ok(dtl_reduce(v.cast(), DTL_OP_MAX, (&mut r as *mut T).cast()));
            assert_eq!(r, T::from_f64(3.0), "{dtype} max");
            let band = dtl_reduce(v.cast(), DTL_OP_BAND, (&mut r as *mut T).cast());
            if dtype.is_float() {
                expect_err(band, DTL_ERROR_INVALID_ARGUMENT, "integer dtypes only");
            } else {
                ok(band);
                assert_eq!(r, T::from_f64(2.0), "{dtype} band");
            }
            ok(dtl_vector_destroy(v));
        }
    })
}

/// Everything that needs MPI, in one test because MPI can be initialized
/// only once per process: the live-handle checks, every function on a
/// one-rank world, and the dtl_init/dtl_finalize lifetime at the end.
#[test]
fn live_handles_and_mpi_lifetime() {
    // SAFETY: valid pointers throughout; invalid handles are rejected
    // before any dereference.
    unsafe {
        ok(dtl_init());
        assert!(Environment::mpi_active());

        let mut ctx: dtl_context_t = ptr::null_mut();
        ok(dtl_context_create_world(&mut ctx));
        let (mut rank, mut size) = (-1, -1);
        ok(dtl_context_rank(ctx, &mut rank));
        ok(dtl_context_size(ctx, &mut size));
        assert_eq!((rank, size), (0, 1));
        ok(dtl_context_barrier(ctx));

        // Invalid dtype and op codes.
        let mut v: dtl_vector_t = garbage();
        expect_err(dtl_vector_create(ctx, 42, 10, &mut v), DTL_ERROR_INVALID_ARGUMENT, "got 42");
        assert!(v.is_null());
        expect_err(dtl_vector_create(ctx, -1, 10, &mut v), DTL_ERROR_INVALID_ARGUMENT, "got -1");
        expect_err(
            dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, 10, ptr::null_mut()),
            DTL_ERROR_INVALID_ARGUMENT,
            "out is NULL",
        );
        ok(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, 10, &mut v));
        let mut r = 0.0f64;
        let rp = (&mut r as *mut f64).cast::<c_void>();
        expect_err(dtl_reduce(v.cast(), 42, rp), DTL_ERROR_INVALID_ARGUMENT, "op must be a dtl_op code");
        expect_err(dtl_reduce(v.cast(), -7, rp), DTL_ERROR_INVALID_ARGUMENT, "got -7");
        expect_err(dtl_reduce(v.cast(), DTL_OP_SUM, ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "result is NULL");
        expect_err(dtl_container_fill(v.cast(), ptr::null()), DTL_ERROR_INVALID_ARGUMENT, "value is NULL");
        let mut p: *mut c_void = ptr::null_mut();
        expect_err(dtl_container_local_data(v.cast(), ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "data is NULL");
        ok(dtl_container_local_data(v.cast(), &mut p));
        assert!(!p.is_null());

        // Collective allreduce on caller buffers, with bad codes and in place.
        let send = [1.5f64, 2.5];
        let mut recv = [0.0f64; 2];
        let (sp, rp2) = (send.as_ptr().cast::<c_void>(), recv.as_mut_ptr().cast::<c_void>());
        ok(dtl_allreduce(ctx, sp, rp2, 2, DTL_DTYPE_FLOAT64, DTL_OP_SUM));
        assert_eq!(recv, send);
        expect_err(dtl_allreduce(ctx, sp, rp2, 2, 42, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT, "got 42");
        expect_err(dtl_allreduce(ctx, sp, rp2, 2, DTL_DTYPE_FLOAT64, 10), DTL_ERROR_INVALID_ARGUMENT, "got 10");
        expect_err(
            dtl_allreduce(ctx, sp, rp2, 2, DTL_DTYPE_FLOAT64, DTL_OP_BXOR),
            DTL_ERROR_INVALID_ARGUMENT,
            "integer dtypes only",
        );
        expect_err(
            dtl_allreduce(ctx, ptr::null(), rp2, 2, DTL_DTYPE_FLOAT64, DTL_OP_SUM),
            DTL_ERROR_INVALID_ARGUMENT,
            "send is NULL",
        );
        expect_err(
            dtl_allreduce(ctx, sp.byte_add(1), rp2, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM),
            DTL_ERROR_INVALID_ARGUMENT,
            "not aligned",
        );
        ok(dtl_allreduce(ctx, ptr::null(), ptr::null_mut(), 0, DTL_DTYPE_INT8, DTL_OP_SUM));
        let mut inplace = [3i32, -4, 5];
        let ip = inplace.as_mut_ptr().cast::<c_void>();
        ok(dtl_allreduce(ctx, ip, ip, 3, DTL_DTYPE_INT32, DTL_OP_MIN));
        assert_eq!(inplace, [3, -4, 5]);

        // Handles of the wrong kind, and a corrupted tag.
        let mut u = 0u64;
        expect_err(
            dtl_container_global_size(ctx.cast(), &mut u),
            DTL_ERROR_INVALID_ARGUMENT,
            "is a dtl_context_t, not a dtl_vector_t",
        );
        expect_err(
            dtl_context_rank(v.cast(), &mut rank),
            DTL_ERROR_INVALID_ARGUMENT,
            "is a dtl_vector_t, not a dtl_context_t",
        );
        expect_err(dtl_context_destroy(v.cast()), DTL_ERROR_INVALID_ARGUMENT, "not a dtl_context_t");
        let saved = (*v).tag();
        (*v).set_tag(0x1234);
        expect_err(
            dtl_container_global_size(v.cast(), &mut u),
            DTL_ERROR_INVALID_ARGUMENT,
            "has tag 0x0000000000001234",
        );
        expect_err(dtl_vector_destroy(v), DTL_ERROR_INVALID_ARGUMENT, "memory corruption");
        (*v).set_tag(saved);
        ok(dtl_container_global_size(v.cast(), &mut u));
        assert_eq!(u, 10);

        // Resize, then double destroy and use after destroy.
        ok(dtl_vector_resize(v, 25));
        ok(dtl_container_local_size(v.cast(), &mut u));
        assert_eq!(u, 25);
        ok(dtl_container_local_offset(v.cast(), &mut u));
        assert_eq!(u, 0);
        ok(dtl_vector_resize(v, 0));
        ok(dtl_container_local_data(v.cast(), &mut p));
        assert!(p.is_null(), "an empty local part gives NULL");
        ok(dtl_reduce(v.cast(), DTL_OP_MIN, rp));
        assert_eq!(r, f64::INFINITY, "the reduction of nothing is the identity");
        ok(dtl_vector_destroy(v));
        expect_err(dtl_vector_destroy(v), DTL_ERROR_INVALID_ARGUMENT, "not a live dtl_vector_t");
        expect_err(dtl_container_global_size(v.cast(), &mut u), DTL_ERROR_INVALID_ARGUMENT, "already destroyed");

        // Every dtype.
        for dtype in DType::ALL {
            check_vector_of(ctx, dtype);
        }

        // Allocation failure is DTL_ERROR_MEMORY, not an abort.
        expect_err(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, 1 << 62, &mut v), DTL_ERROR_MEMORY, "cannot allocate");
        assert!(v.is_null());

        // dup, split, from_comm; a vector outlives its context handle.
        let (mut dup, mut sub, mut none, mut from): (dtl_context_t, _, _, _) =
            (garbage(), garbage(), garbage(), garbage());
        ok(dtl_context_dup(ctx, &mut dup));
        ok(dtl_context_split(ctx, 3, 0, &mut sub));
        ok(dtl_context_size(sub, &mut size));
        assert_eq!(size, 1);
        ok(dtl_context_split(ctx, -1, 0, &mut none));
        assert!(none.is_null(), "a negative color joins no sub-context");
        expect_err(dtl_context_split(ctx, 0, 0, ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "out is NULL");
        expect_err(dtl_context_dup(ctx, ptr::null_mut()), DTL_ERROR_INVALID_ARGUMENT, "out is NULL");
        let world = dtl_core::raw::comm_world();
        ok(dtl_context_create_from_comm((&world as *const dtl_core::raw::RawComm).cast(), &mut from));
        let null = dtl_core::raw::comm_null();
        let mut bad: dtl_context_t = garbage();
        expect_err(
            dtl_context_create_from_comm((&null as *const dtl_core::raw::RawComm).cast(), &mut bad),
            DTL_ERROR_INVALID_ARGUMENT,
            "MPI_COMM_NULL",
        );
        assert!(bad.is_null());
        ok(dtl_vector_create(from, DTL_DTYPE_UINT16, 4, &mut v));
        for c in [dup, sub, from, ctx] {
            ok(dtl_context_destroy(c));
        }
        expect_err(dtl_context_destroy(ctx), DTL_ERROR_INVALID_ARGUMENT, "already destroyed");
        let seven = 7u16;
        ok(dtl_container_fill(v.cast(), (&seven as *const u16).cast()));
        let mut r16 = 0u16;
        ok(dtl_reduce(v.cast(), DTL_OP_SUM, (&mut r16 as *mut u16).cast()));
        assert_eq!(r16, 28, "the vector still works after its context handle is destroyed");
        ok(dtl_vector_destroy(v));
        assert_eq!(live_count::<dtl_context>(), 0);
        assert_eq!(live_count::<dtl_vector>(), 0);

        // dtl_finalize releases the last hold: dtl initialized MPI, so it
        // finalizes it, and MPI cannot come back.
        assert!(Environment::mpi_active());
        ok(dtl_finalize());
        assert!(!Environment::mpi_active(), "MPI is finalized by the last dtl_finalize");
        expect_err(dtl_finalize(), DTL_ERROR_INVALID_STATE, "without a matching dtl_init");
        expect_err(dtl_context_create_world(&mut ctx), DTL_ERROR_BACKEND, "finalized");
        assert!(ctx.is_null());
        expect_err(dtl_init(), DTL_ERROR_BACKEND, "finalized");
    }
}
