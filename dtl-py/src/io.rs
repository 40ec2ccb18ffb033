//! Argument shaping for `save` / `load` (`.npy` checkpoints over MPI-IO,
//! see `dtl_core::io`); the methods themselves live on the container
//! classes in `containers.rs`.

use std::path::{Path, PathBuf};

use dtl_core::io::NpyHeader;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::{invalid, IntoPy};

/// A filesystem path from a `str`, `bytes` or `os.PathLike` (through
/// `os.fspath`, as `open()` takes it).
///
/// # Errors
/// `InvalidArgumentError` for any other type.
pub fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let py = obj.py();
    let bad = || {
        invalid(format!(
            "path must be a str, bytes or os.PathLike, got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
        ))
    };
    let p = py.import("os")?.getattr("fspath")?.call1((obj,)).map_err(|_| bad())?;
    if p.is_instance_of::<PyString>() {
        return Ok(PathBuf::from(p.extract::<String>()?));
    }
    if let Ok(b) = p.cast::<PyBytes>() {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            return Ok(PathBuf::from(std::ffi::OsStr::from_bytes(b.as_bytes())));
        }
        #[cfg(not(unix))]
        {
            return Ok(PathBuf::from(String::from_utf8_lossy(b.as_bytes()).into_owned()));
        }
    }
    Err(bad())
}

/// The header of the `.npy` file at `path`, the same on every rank (rank 0
/// reads it, `MPI_Bcast`), with the GIL released. Collective.
pub fn header(py: Python<'_>, c: &dtl_core::Context, path: &Path) -> PyResult<NpyHeader> {
    py.detach(|| dtl_core::io::read_header(c, path)).py()
}

/// A tensor axis for a file of `ndim` dimensions; negative counts from the
/// end. An axis `>= ndim` is passed on for the core to reject (its message
/// names the file); a negative one that stays negative is rejected here.
/// Every rank sees the same header, so every rank decides alike.
pub fn file_axis(axis: i64, ndim: usize, path: &Path) -> PyResult<usize> {
    let a = if axis < 0 { axis + ndim as i64 } else { axis };
    usize::try_from(a).map_err(|_| {
        invalid(format!(
            "cannot load '{}': axis must be in -{ndim}..{ndim} for its {ndim}-d array, got {axis}",
            path.display()
        ))
    })
}
