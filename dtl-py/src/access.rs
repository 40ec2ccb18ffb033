//! The Python side of `gather_indices` / `scatter_indices` (vectorised
//! global element access on the 1-D containers) and of `local_range`, the
//! pure query `dtl.DistributedSpan` is built on.
//!
//! Argument problems found here (indices that are not integers, values of
//! the wrong size) are not raised directly: they are handed to the core's
//! `*_or_reject` calls, which still take part in the collective verdict, so
//! every rank raises instead of the others hanging.

use dtl_core::containers::Distributed1D;
use dtl_core::partition::{Layout, Partition};
use dtl_core::Error;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArray};
use pyo3::prelude::*;

use crate::containers::PyElem;
use crate::dtype;
use crate::errors::{to_py, IntoPy};

/// Global indices as NumPy gave them (signed or unsigned 64-bit).
enum Indices {
    Signed(Vec<i64>),
    Unsigned(Vec<u64>),
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// `obj` (an ndarray) flattened in C order and cast to `T`.
fn flat<T: PyElem>(py: Python<'_>, a: &Bound<'_, PyAny>) -> PyResult<Vec<T>> {
    let np = py.import("numpy")?;
    let c = np.getattr("ascontiguousarray")?.call1((a.call_method0("ravel")?, dtype::to_numpy(py, T::DTYPE)))?;
    dtype::to_vec::<T>(&c.cast_into::<PyUntypedArray>()?)
}

/// Parses `idx` (an array-like of integers, any shape) into indices and
/// the shape the result takes.
fn parse_indices(py: Python<'_>, idx: &Bound<'_, PyAny>, op: &str) -> Result<(Indices, Vec<usize>), Error> {
    let py_err = |e: PyErr| invalid(format!("{op}: idx could not be read as an array of integers: {e}"));
    let np = py.import("numpy").map_err(py_err)?;
    let a = np.getattr("asarray").and_then(|f| f.call1((idx,))).map_err(py_err)?;
    let shape: Vec<usize> = a.getattr("shape").and_then(|s| s.extract()).map_err(py_err)?;
    let size: usize = a.getattr("size").and_then(|s| s.extract()).map_err(py_err)?;
    let kind: String = a.getattr("dtype").and_then(|d| d.getattr("kind")).and_then(|k| k.extract()).map_err(py_err)?;
    if size == 0 {
        return Ok((Indices::Signed(Vec::new()), shape));
    }
    let ix = match kind.as_str() {
        "i" => Indices::Signed(flat::<i64>(py, &a).map_err(py_err)?),
        "u" => Indices::Unsigned(flat::<u64>(py, &a).map_err(py_err)?),
        "b" => {
            return Err(invalid(format!(
                "{op}: idx must hold integer global indices, got a boolean array \
                 (for a mask, pass np.flatnonzero(mask))"
            )))
        }
        _ => {
            let dt = a.getattr("dtype").and_then(|d| d.str().map(|s| s.to_string())).unwrap_or_default();
            return Err(invalid(format!("{op}: idx must hold integer global indices, got dtype {dt}")));
        }
    };
    Ok((ix, shape))
}

/// `values` cast to `T` with NumPy's rules: a scalar (0-d) is repeated `n`
/// times, anything else must have exactly `n` elements (flattened in C
/// order).
fn parse_values<T: PyElem>(py: Python<'_>, values: &Bound<'_, PyAny>, n: usize) -> Result<Vec<T>, Error> {
    let py_err = |e: PyErr| invalid(format!("scatter_indices: values could not be converted to {}: {e}", T::DTYPE));
    let np = py.import("numpy").map_err(py_err)?;
    let a = np.getattr("asarray").and_then(|f| f.call1((values, dtype::to_numpy(py, T::DTYPE)))).map_err(py_err)?;
    let ndim: usize = a.getattr("ndim").and_then(|s| s.extract()).map_err(py_err)?;
    let size: usize = a.getattr("size").and_then(|s| s.extract()).map_err(py_err)?;
    let v = flat::<T>(py, &a).map_err(py_err)?;
    if ndim == 0 {
        return Ok(vec![v[0]; n]);
    }
    if size != n {
        let shape: Vec<usize> = a.getattr("shape").and_then(|s| s.extract()).unwrap_or_default();
        return Err(invalid(format!(
            "scatter_indices: values has {size} elements (shape {shape:?}) but idx has {n}; \
             pass one value per index, or a scalar"
        )));
    }
    Ok(v)
}

/// `v.gather_indices(idx)`: the values at the global indices `idx`, as a
/// NumPy array of `idx`'s shape. Collective.
pub(crate) fn gather_indices<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    idx: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (ix, shape, err) = match parse_indices(py, idx, "gather_indices") {
        Ok((ix, shape)) => (ix, shape, None),
        Err(e) => (Indices::Signed(Vec::new()), vec![0], Some(e)),
    };
    let out = py
        .detach(|| match &ix {
            Indices::Signed(s) => v.gather_indices_or_reject(s, err),
            Indices::Unsigned(u) => v.gather_indices_or_reject(u, err),
        })
        .py()?;
    Ok(PyArray1::from_vec(py, out).reshape(shape)?.into_any())
}

/// `v.scatter_indices(idx, values)`: writes `values` at the global indices
/// `idx` on their owners. Collective.
pub(crate) fn scatter_indices<T: PyElem>(
    py: Python<'_>,
    v: &mut Distributed1D<T>,
    idx: &Bound<'_, PyAny>,
    values: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let parsed = parse_indices(py, idx, "scatter_indices").and_then(|(ix, _)| {
        let n = match &ix {
            Indices::Signed(s) => s.len(),
            Indices::Unsigned(u) => u.len(),
        };
        parse_values::<T>(py, values, n).map(|vals| (ix, vals))
    });
    let (ix, vals, err) = match parsed {
        Ok((ix, vals)) => (ix, vals, None),
        Err(e) => (Indices::Signed(Vec::new()), Vec::new(), Some(e)),
    };
    py.detach(|| match &ix {
        Indices::Signed(s) => v.scatter_indices_or_reject(s, &vals, err),
        Indices::Unsigned(u) => v.scatter_indices_or_reject(u, &vals, err),
    })
    .py()
}

/// `container.local_range(start, stop)`: the local indices (along the split
/// axis) of this rank's elements whose global indices lie in
/// `start..stop`, as `(lo, hi)`. Pure.
pub(crate) fn local_range(part: &Layout, rank: usize, start: i64, stop: i64) -> PyResult<(usize, usize)> {
    let n = part.global_size();
    let ok = 0 <= start && start <= stop && usize::try_from(stop).is_ok_and(|s| s <= n);
    if !ok {
        return Err(to_py(Error::Bounds(format!(
            "local_range: start {start} and stop {stop} must satisfy 0 <= start <= stop <= {n}"
        ))));
    }
    let r = part.local_range(rank, start as usize..stop as usize);
    Ok((r.start, r.end))
}
