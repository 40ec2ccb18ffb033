//! dtl_core::Error → the Python exception classes of `dtl._errors`.

use pyo3::prelude::*;
use pyo3::types::PyAnyMethods;

/// Converts a core error into the documented Python exception: the class
/// is chosen by the stable status code, the message ends with the status
/// name, and the exception carries `.status` and `.status_name`.
pub fn to_py(e: dtl_core::Error) -> PyErr {
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let m = py.import("dtl._errors")?;
            let cls = m.getattr("_class_for_status")?.call1((e.status(),))?;
            let msg = format!("{} [{}]", e, e.status_name());
            let exc = cls.call1((msg,))?;
            exc.setattr("status", e.status())?;
            exc.setattr("status_name", e.status_name())?;
            Ok(PyErr::from_value(exc))
        };
        build().unwrap_or_else(|err| err)
    })
}

/// Extension so `?` works on core results inside `#[pymethods]`.
pub trait IntoPy<T> {
    /// Maps the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for dtl_core::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An `InvalidArgumentError` with `msg`.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    to_py(dtl_core::Error::InvalidArgument(msg.into()))
}
