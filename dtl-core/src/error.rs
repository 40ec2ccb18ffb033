//! The one error type of dtl, with stable numeric status codes.
//!
//! Every fallible call in dtl returns [`Result<T>`](Result). The numeric
//! [`Error::status`] is the value the C ABI returns as `dtl_status`, and the
//! Python package maps it onto its exception classes:
//!
//! | status | variant | Python exception |
//! | --- | --- | --- |
//! | 100 | [`Error::Communication`] | `CommunicationError` |
//! | 200 | [`Error::Memory`] | `MemoryError` (also builtin `MemoryError`) |
//! | 300 | [`Error::InvalidArgument`] | `InvalidArgumentError` (also `ValueError`) |
//! | 301 | [`Error::Bounds`] | `BoundsError` (also `IndexError`) |
//! | 302 | [`Error::Mismatch`] | `InvalidArgumentError` |
//! | 400 | [`Error::Backend`] | `BackendError` |
//! | 401 | [`Error::NotSupported`] | `NotSupportedError` (a `BackendError`, also `NotImplementedError`) |
//! | 500 | [`Error::InvalidState`] | `DTLError` |
//! | 900 | [`Error::Internal`] | `DTLError` |
//!
//! The codes are part of the ABI: they never change meaning once released.

use thiserror::Error as ThisError;

/// Result alias used throughout dtl.
pub type Result<T> = std::result::Result<T, Error>;

/// Every error dtl reports. Messages name the argument and the valid range.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum Error {
    /// An MPI call failed (the message names the call).
    #[error("communication error: {0}")]
    Communication(String),
    /// An allocation failed or would exceed a limit.
    #[error("memory error: {0}")]
    Memory(String),
    /// An argument is outside its valid range or of the wrong kind.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An index or offset is out of bounds.
    #[error("index out of bounds: {0}")]
    Bounds(String),
    /// The ranks of a collective call passed arguments that do not agree
    /// (different sizes, dtypes or roots). Raised on every rank.
    #[error("collective argument mismatch: {0}")]
    Mismatch(String),
    /// A backend (MPI, CUDA, NCCL) is unavailable or failed.
    #[error("backend error: {0}")]
    Backend(String),
    /// The feature is not supported (yet) by this build or this container.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The object is in a state that does not allow the call.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// A bug in dtl (for example a caught panic at the C boundary).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Stable numeric status codes, shared with the C ABI (`dtl_status`).
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// [`super::Error::Communication`].
    pub const COMMUNICATION: i32 = 100;
    /// [`super::Error::Memory`].
    pub const MEMORY: i32 = 200;
    /// [`super::Error::InvalidArgument`].
    pub const INVALID_ARGUMENT: i32 = 300;
    /// [`super::Error::Bounds`].
    pub const BOUNDS: i32 = 301;
    /// [`super::Error::Mismatch`].
    pub const MISMATCH: i32 = 302;
    /// [`super::Error::Backend`].
    pub const BACKEND: i32 = 400;
    /// [`super::Error::NotSupported`].
    pub const NOT_SUPPORTED: i32 = 401;
    /// [`super::Error::InvalidState`].
    pub const INVALID_STATE: i32 = 500;
    /// [`super::Error::Internal`].
    pub const INTERNAL: i32 = 900;
}

impl Error {
    /// The stable numeric status of this error (see the [module docs](self)).
    pub fn status(&self) -> i32 {
        match self {
            Error::Communication(_) => status::COMMUNICATION,
            Error::Memory(_) => status::MEMORY,
            Error::InvalidArgument(_) => status::INVALID_ARGUMENT,
            Error::Bounds(_) => status::BOUNDS,
            Error::Mismatch(_) => status::MISMATCH,
            Error::Backend(_) => status::BACKEND,
            Error::NotSupported(_) => status::NOT_SUPPORTED,
            Error::InvalidState(_) => status::INVALID_STATE,
            Error::Internal(_) => status::INTERNAL,
        }
    }

    /// The symbolic name of this error's status, e.g. `"DTL_ERROR_BOUNDS"`.
    pub fn status_name(&self) -> &'static str {
        status_name(self.status())
    }

    /// The message without the category prefix.
    pub fn detail(&self) -> &str {
        match self {
            Error::Communication(m)
            | Error::Memory(m)
            | Error::InvalidArgument(m)
            | Error::Bounds(m)
            | Error::Mismatch(m)
            | Error::Backend(m)
            | Error::NotSupported(m)
            | Error::InvalidState(m)
            | Error::Internal(m) => m,
        }
    }

    /// Builds the error that corresponds to `status`, with `detail` as its
    /// message. Unknown codes give [`Error::Internal`].
    pub fn from_status(status: i32, detail: impl Into<String>) -> Error {
        let d = detail.into();
        match status {
            status::COMMUNICATION => Error::Communication(d),
            status::MEMORY => Error::Memory(d),
            status::INVALID_ARGUMENT => Error::InvalidArgument(d),
            status::BOUNDS => Error::Bounds(d),
            status::MISMATCH => Error::Mismatch(d),
            status::BACKEND => Error::Backend(d),
            status::NOT_SUPPORTED => Error::NotSupported(d),
            status::INVALID_STATE => Error::InvalidState(d),
            _ => Error::Internal(d),
        }
    }
}

/// The symbolic name of a numeric status (`"DTL_SUCCESS"` for 0,
/// `"DTL_ERROR_UNKNOWN"` for codes dtl does not define).
pub fn status_name(code: i32) -> &'static str {
    match code {
        status::OK => "DTL_SUCCESS",
        status::COMMUNICATION => "DTL_ERROR_COMMUNICATION",
        status::MEMORY => "DTL_ERROR_MEMORY",
        status::INVALID_ARGUMENT => "DTL_ERROR_INVALID_ARGUMENT",
        status::BOUNDS => "DTL_ERROR_BOUNDS",
        status::MISMATCH => "DTL_ERROR_MISMATCH",
        status::BACKEND => "DTL_ERROR_BACKEND",
        status::NOT_SUPPORTED => "DTL_ERROR_NOT_SUPPORTED",
        status::INVALID_STATE => "DTL_ERROR_INVALID_STATE",
        status::INTERNAL => "DTL_ERROR_INTERNAL",
        _ => "DTL_ERROR_UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        let all = [
            Error::Communication("a".into()),
            Error::Memory("a".into()),
            Error::InvalidArgument("a".into()),
            Error::Bounds("a".into()),
            Error::Mismatch("a".into()),
            Error::Backend("a".into()),
            Error::NotSupported("a".into()),
            Error::InvalidState("a".into()),
            Error::Internal("a".into()),
        ];
        for e in all {
            assert_eq!(Error::from_status(e.status(), "a"), e);
            assert!(e.status_name().starts_with("DTL_ERROR_"));
            assert_eq!(e.detail(), "a");
        }
        assert_eq!(status_name(0), "DTL_SUCCESS");
        assert_eq!(status_name(12345), "DTL_ERROR_UNKNOWN");
    }
}
