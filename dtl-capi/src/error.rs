//! The call guard every entry point runs in, the thread-local last error
//! message, and the static description strings.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use dtl_core::{Error, Result};

use crate::types::*;

thread_local! {
    /// Message of the last failed call on this thread ("" before any).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `err`, raised by the C function `func`, as this thread's last
/// error. Never panics (an unavailable thread-local is skipped).
pub(crate) fn set_last_error(func: &str, err: &Error) {
    let msg = format!("{func}: {err}").replace('\0', "\\0");
    let msg = CString::new(msg).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            *s = msg;
        }
    });
}

/// Runs the body of the C function `func`: converts its `Result` into a
/// `dtl_status`, records the message of a failure as the thread's last
/// error, and turns a panic into `DTL_ERROR_INTERNAL` (a panic must never
/// unwind into C).
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> Result<()>) -> dtl_status {
    let err = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return DTL_SUCCESS,
        Ok(Err(e)) => e,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            Error::Internal(format!("panic caught at the C boundary: {what}"))
        }
    };
    set_last_error(func, &err);
    err.status()
}

/// The message of the last failed dtl call on the calling thread, as
/// "function: category: detail" (e.g. "dtl_vector_create: invalid argument:
/// dtype must be a dtl_dtype code in 0..=9 ..., got 42"); "" if no call
/// has failed on this thread yet. Successful calls do not change it.
///
/// Not collective, never fails, no MPI call. The string is owned by dtl and
/// stays valid until the next failing dtl call on the same thread; copy it
/// to keep it longer.
#[no_mangle]
pub extern "C" fn dtl_last_error_message() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| match slot.try_borrow() {
            Ok(s) => s.as_ptr(),
            Err(_) => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}

/// The symbolic name of a status code as a static string, e.g.
/// "DTL_SUCCESS", "DTL_ERROR_INVALID_ARGUMENT"; "DTL_ERROR_UNKNOWN" for a
/// code dtl does not define.
///
/// Not collective, never fails, no MPI call. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn dtl_status_name(status: dtl_status) -> *const c_char {
    status_name_cstr(status).as_ptr()
}

/// A one-line English description of a status code as a static string
/// (e.g. "invalid argument" for DTL_ERROR_INVALID_ARGUMENT); "unknown
/// status code" for a code dtl does not define. For the details of a
/// failure, see dtl_last_error_message().
///
/// Not collective, never fails, no MPI call. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn dtl_status_message(status: dtl_status) -> *const c_char {
    status_message_cstr(status).as_ptr()
}

/// The dtl version as a static string, e.g. "0.1.0" (the version of
/// libdtl, which is also the version dtl.h was generated from).
///
/// Not collective, never fails, no MPI call. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn dtl_version_string() -> *const c_char {
    VERSION.as_ptr()
}

const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("the crate version contains a NUL byte"),
};

pub(crate) fn status_name_cstr(status: dtl_status) -> &'static CStr {
    match status {
        DTL_SUCCESS => c"DTL_SUCCESS",
        DTL_ERROR_COMMUNICATION => c"DTL_ERROR_COMMUNICATION",
        DTL_ERROR_MEMORY => c"DTL_ERROR_MEMORY",
        DTL_ERROR_INVALID_ARGUMENT => c"DTL_ERROR_INVALID_ARGUMENT",
        DTL_ERROR_BOUNDS => c"DTL_ERROR_BOUNDS",
        DTL_ERROR_MISMATCH => c"DTL_ERROR_MISMATCH",
        DTL_ERROR_BACKEND => c"DTL_ERROR_BACKEND",
        DTL_ERROR_NOT_SUPPORTED => c"DTL_ERROR_NOT_SUPPORTED",
        DTL_ERROR_INVALID_STATE => c"DTL_ERROR_INVALID_STATE",
        DTL_ERROR_INTERNAL => c"DTL_ERROR_INTERNAL",
        _ => c"DTL_ERROR_UNKNOWN",
    }
}

pub(crate) fn status_message_cstr(status: dtl_status) -> &'static CStr {
    match status {
        DTL_SUCCESS => c"success",
        DTL_ERROR_COMMUNICATION => c"an MPI call failed",
        DTL_ERROR_MEMORY => c"memory allocation failed",
        DTL_ERROR_INVALID_ARGUMENT => c"invalid argument",
        DTL_ERROR_BOUNDS => c"index out of bounds",
        DTL_ERROR_MISMATCH => c"the ranks of a collective call passed disagreeing arguments",
        DTL_ERROR_BACKEND => c"backend unavailable or failed",
        DTL_ERROR_NOT_SUPPORTED => c"not supported",
        DTL_ERROR_INVALID_STATE => c"invalid state",
        DTL_ERROR_INTERNAL => c"internal error (a bug in dtl)",
        _ => c"unknown status code",
    }
}
