//! Native collectives over C-contiguous NumPy arrays. The Python layer
//! (`dtl/_collectives.py`) applies the guide's shapes and scalar rule; these
//! functions dispatch on the dtype and release the GIL during MPI.

use dtl_core::{dispatch_dtype, ReduceOp};
use numpy::{PyArray1, PyUntypedArray};
use pyo3::prelude::*;

use crate::context::PyContext;
use crate::dtype;
use crate::errors::IntoPy;

fn flat<'py, T: numpy::Element + Copy>(py: Python<'py>, v: Vec<T>) -> Bound<'py, PyAny> {
    PyArray1::from_vec(py, v).into_any()
}

/// Shares the root's dtype code with every rank (`MPI_Bcast`), so ranks
/// whose argument is ignored need not pass a matching dtype.
fn root_dtype(
    py: Python<'_>,
    ctx: &dtl_core::Context,
    arr: &Bound<'_, PyUntypedArray>,
    root: usize,
) -> PyResult<dtl_core::DType> {
    let mine = if ctx.rank() == root { dtype::of_array(py, arr, "data").map(|d| d as i64) } else { Ok(-1) };
    let code = py.detach(|| ctx.broadcast_vec(&[*mine.as_ref().unwrap_or(&-1)], root)).py()?[0];
    mine?;
    dtl_core::DType::from_code(code as i32)
        .ok_or_else(|| crate::errors::invalid(format!("the root rank {root} passed data of an unsupported dtype")))
}

/// `MPI_Allreduce` of a flat array; returns a new flat array.
#[pyfunction]
pub fn _allreduce<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    op: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = ReduceOp::from_code(op).py()?;
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| ctx.ctx.allreduce(&v, op)).py()?;
        Ok(flat(py, out))
    })
}

/// `MPI_Reduce` onto `root`; `None` on other ranks.
#[pyfunction]
pub fn _reduce<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    op: i64,
    root: usize,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let op = ReduceOp::from_code(op).py()?;
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| ctx.ctx.reduce(&v, op, root)).py()?;
        Ok(out.map(|o| flat(py, o)))
    })
}

/// `MPI_Bcast` of the root's flat array (length and dtype from the root).
#[pyfunction]
pub fn _broadcast<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    root: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let c = &ctx.ctx;
    let d = root_dtype(py, c, arr, root)?;
    dispatch_dtype!(d, T => {
        let v: Vec<T> = if c.rank() == root { dtype::to_vec::<T>(arr)? } else { Vec::new() };
        let out = py.detach(|| c.broadcast_vec(&v, root)).py()?;
        Ok(flat(py, out))
    })
}

/// `MPI_Gather` of equal-length flat arrays; `None` off the root.
#[pyfunction]
pub fn _gather<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    root: usize,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| ctx.ctx.gather(&v, root)).py()?;
        Ok(out.map(|o| flat(py, o)))
    })
}

/// `MPI_Scatter` of the root's flat array into `size` equal chunks.
#[pyfunction]
pub fn _scatter<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    root: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let c = &ctx.ctx;
    let d = root_dtype(py, c, arr, root)?;
    dispatch_dtype!(d, T => {
        let v: Vec<T> = if c.rank() == root { dtype::to_vec::<T>(arr)? } else { Vec::new() };
        let out = py.detach(|| c.scatter(&v, root)).py()?;
        Ok(flat(py, out))
    })
}

/// `MPI_Allgather` of equal-length flat arrays.
#[pyfunction]
pub fn _allgather<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| ctx.ctx.allgather(&v)).py()?;
        Ok(flat(py, out))
    })
}

/// `MPI_Allgatherv`: returns `(data, counts)`.
#[pyfunction]
pub fn _allgatherv<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
) -> PyResult<(Bound<'py, PyAny>, Vec<usize>)> {
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let (out, counts) = py.detach(|| ctx.ctx.allgatherv(&v)).py()?;
        Ok((flat(py, out), counts))
    })
}

/// `MPI_Alltoall` of a flat array of `size` equal chunks.
#[pyfunction]
pub fn _alltoall<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| ctx.ctx.alltoall(&v)).py()?;
        Ok(flat(py, out))
    })
}

/// `MPI_Scan` (`exclusive=False`) or `MPI_Exscan` (`exclusive=True`; rank 0
/// gets the op's identity).
#[pyfunction]
pub fn _scan<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    op: i64,
    exclusive: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = ReduceOp::from_code(op).py()?;
    let d = dtype::of_array(py, arr, "data")?;
    dispatch_dtype!(d, T => {
        let v = dtype::to_vec::<T>(arr)?;
        let out = py.detach(|| if exclusive { ctx.ctx.exscan(&v, op) } else { ctx.ctx.scan(&v, op) }).py()?;
        Ok(flat(py, out))
    })
}

/// Agreement of a few integers across ranks (`MPI_Allreduce`); raises the
/// same `InvalidArgumentError` on every rank when they differ.
#[pyfunction]
pub fn _agree(py: Python<'_>, ctx: &PyContext, what: &str, names: Vec<String>, values: Vec<i64>) -> PyResult<()> {
    let fields: Vec<(&str, i64)> = names.iter().map(|s| s.as_str()).zip(values).collect();
    py.detach(|| ctx.ctx.agree(what, &fields)).py()
}
