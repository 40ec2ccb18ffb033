//! NumPy dtype ↔ dtl_core::DType, and typed access to NumPy arrays.

use dtl_core::{dispatch_dtype, DType};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors::invalid;

/// The dtl dtype of a NumPy dtype descriptor, if supported.
pub fn from_descr(py: Python<'_>, d: &Bound<'_, PyArrayDescr>) -> Option<DType> {
    // Fast path (this runs on every call of every binding): native-order
    // integers and floats by kind and size.
    if d.is_native_byteorder() != Some(false) {
        let fast = match (d.kind(), d.itemsize()) {
            (b'i', 1) => Some(DType::Int8),
            (b'i', 2) => Some(DType::Int16),
            (b'i', 4) => Some(DType::Int32),
            (b'i', 8) => Some(DType::Int64),
            (b'u', 1) => Some(DType::UInt8),
            (b'u', 2) => Some(DType::UInt16),
            (b'u', 4) => Some(DType::UInt32),
            (b'u', 8) => Some(DType::UInt64),
            (b'f', 4) => Some(DType::Float32),
            (b'f', 8) => Some(DType::Float64),
            _ => None,
        };
        if fast.is_some() {
            return fast;
        }
    }
    DType::ALL.into_iter().find(|&t| dispatch_dtype!(t, T => d.is_equiv_to(&numpy::dtype::<T>(py))))
}

/// Parses a user `dtype=` argument (`np.float64`, `"int32"`, `np.dtype(...)`).
///
/// # Errors
/// `InvalidArgumentError` naming the supported dtypes.
pub fn parse(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<DType> {
    let Some(obj) = obj else { return Ok(DType::Float64) };
    if obj.is_none() {
        return Ok(DType::Float64);
    }
    // NumPy's C converter first (no Python-level call).
    if let Ok(descr) = PyArrayDescr::new(py, obj) {
        if let Some(d) = from_descr(py, &descr) {
            return Ok(d);
        }
    }
    let np = py.import("numpy")?;
    let descr = np
        .getattr("dtype")?
        .call1((obj,))
        .map_err(|_| invalid(format!("dtype must be one of {}; got {obj}", DType::supported_names())))?;
    let descr = descr.cast_into::<PyArrayDescr>()?;
    from_descr(py, &descr).ok_or_else(|| {
        invalid(format!(
            "dtype must be one of {}; got {}",
            DType::supported_names(),
            descr.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })
}

/// The NumPy dtype object for a dtl dtype.
pub fn to_numpy<'py>(py: Python<'py>, d: DType) -> Bound<'py, PyArrayDescr> {
    dispatch_dtype!(d, T => numpy::dtype::<T>(py))
}

/// The dtype of a NumPy array, or an `InvalidArgumentError`.
pub fn of_array(py: Python<'_>, a: &Bound<'_, PyUntypedArray>, what: &str) -> PyResult<DType> {
    from_descr(py, &a.dtype()).ok_or_else(|| {
        invalid(format!(
            "{what} has dtype {}, which dtl does not support; supported dtypes are {}",
            a.dtype().str().map(|s| s.to_string()).unwrap_or_default(),
            DType::supported_names()
        ))
    })
}

/// Copies a (C-contiguous or not) typed NumPy array into a Vec in C order.
pub fn to_vec<T: numpy::Element + Copy>(a: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<T>> {
    let a = a.cast::<PyArrayDyn<T>>()?;
    let ro = a.try_readonly()?;
    Ok(match ro.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => ro.as_array().iter().copied().collect(),
    })
}

/// Converts a Python scalar to `T` with NumPy's rules
/// (`numpy.asarray(value, dtype)`), e.g. for `fill=`.
pub fn scalar<T: numpy::Element + Copy>(py: Python<'_>, value: &Bound<'_, PyAny>, d: DType, what: &str) -> PyResult<T> {
    let np = py.import("numpy")?;
    let arr = np
        .getattr("asarray")?
        .call1((value, to_numpy(py, d)))
        .map_err(|e| invalid(format!("{what} = {value} cannot be converted to {d}: {e}")))?;
    let arr = arr.cast_into::<PyUntypedArray>()?;
    if arr.len() != 1 {
        return Err(invalid(format!("{what} must be a scalar, got an array of {} elements", arr.len())));
    }
    Ok(to_vec::<T>(&arr)?[0])
}
