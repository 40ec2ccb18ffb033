//! Native collectives over C-contiguous NumPy arrays. The Python layer
//! (`dtl/_collectives.py`) applies the guide's shapes and scalar rule; these
//! functions dispatch on the dtype and release the GIL during MPI.

use dtl_core::{dispatch_dtype, ReduceOp};
use numpy::{PyArray1, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
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

/// Allreduce of a flat C-contiguous array (see `Context::allreduce_into`
/// for the paths underneath: the fused agreement for small messages, the
/// shared-memory path on one node, `MPI_Allreduce`), written into `out`
/// (1-D, same length and dtype) or into a new array. `out_error` is this
/// rank's complaint about the caller's `out` (raised on every rank, after
/// the agreement step). The input is read in place and the GIL released.
#[pyfunction]
#[pyo3(signature = (ctx, arr, op, shape=None, out=None, out_error=None))]
pub fn _allreduce<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    op: i64,
    shape: Option<Vec<usize>>,
    out: Option<&Bound<'py, PyUntypedArray>>,
    out_error: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let c = &ctx.ctx;
    let op = ReduceOp::from_code(op).py()?;
    let d = match dtype::of_array(py, arr, "data") {
        Ok(d) => d,
        Err(e) => {
            // Take part in the agreement step so the other ranks fail too.
            let local = Some(dtl_core::Error::InvalidArgument(e.to_string()));
            let _ = py.detach(|| c.allreduce_into_or_reject::<u8>(&[], &mut [], op, None, local));
            return Err(e);
        }
    };
    dispatch_dtype!(d, T => allreduce_typed::<T>(py, c, arr, op, shape.as_deref(), out, out_error))
}

fn allreduce_typed<'py, T: dtl_core::Element + numpy::Element>(
    py: Python<'py>,
    c: &dtl_core::Context,
    arr: &Bound<'py, PyUntypedArray>,
    op: ReduceOp,
    shape: Option<&[usize]>,
    out: Option<&Bound<'py, PyUntypedArray>>,
    out_error: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = arr.cast::<PyArray1<T>>()?;
    let ro = a.try_readonly()?;
    let send = ro.as_slice()?;
    let res: Bound<'py, PyArray1<T>> = match (out, &out_error) {
        (Some(o), None) => o.cast::<PyArray1<T>>()?.clone(),
        // SAFETY: every element is written by the allreduce before the
        // array is returned (on error it is dropped unread).
        _ => unsafe { PyArray1::<T>::new(py, [send.len()], false) },
    };
    let mut rw = res.try_readwrite()?;
    let recv = rw.as_slice_mut()?;
    let local = out_error.map(dtl_core::Error::InvalidArgument);
    py.detach(|| c.allreduce_into_or_reject(send, recv, op, shape, local)).py()?;
    drop(rw);
    Ok(res.into_any())
}

/// The common cases of `dtl.allreduce` in one native call: a Python
/// `float` or `int` (int64) without `out`, or a 1-D C-contiguous array of
/// a supported dtype, with `out` absent or a 1-D C-contiguous writeable
/// array of the same dtype and length that does not overlap it. Returns
/// `NotImplemented` for anything else (the Python layer then takes the
/// general path, which also reports errors). `op` is a name or a code.
#[pyfunction]
#[pyo3(signature = (ctx, data, op, out=None))]
pub fn _allreduce_fast<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    op: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::types::{PyFloat, PyInt, PyString};
    let not_impl = || Ok(py.NotImplemented().into_bound(py));
    let Ok(ctx) = ctx.cast::<PyContext>() else { return not_impl() };
    let op = if let Ok(s) = op.cast::<PyString>() {
        match ReduceOp::from_name(&s.to_cow()?) {
            Ok(o) => o,
            Err(_) => return not_impl(),
        }
    } else if let Ok(i) = op.cast::<PyInt>() {
        match i.extract::<i64>().ok().and_then(|c| ReduceOp::from_code(c).ok()) {
            Some(o) => o,
            None => return not_impl(),
        }
    } else {
        return not_impl();
    };
    let c = &ctx.borrow().ctx;
    let out = match out {
        None => None,
        Some(o) if o.is_none() => None,
        Some(o) => {
            let Ok(o) = o.cast::<PyUntypedArray>() else { return not_impl() };
            Some(o)
        }
    };
    if let (Ok(f), None) = (data.cast::<PyFloat>(), out) {
        let x = f.value();
        let mut r = [0f64];
        py.detach(|| c.allreduce_into(&[x], &mut r, op)).py()?;
        return Ok(PyFloat::new(py, r[0]).into_any());
    }
    if out.is_none() && data.is_instance_of::<PyInt>() && !data.is_instance_of::<pyo3::types::PyBool>() {
        let Ok(x) = data.extract::<i64>() else { return not_impl() };
        let mut r = [0i64];
        py.detach(|| c.allreduce_into(&[x], &mut r, op)).py()?;
        return Ok(r[0].into_pyobject(py)?.into_any());
    }
    let Ok(arr) = data.cast::<PyUntypedArray>() else { return not_impl() };
    if arr.ndim() != 1 || !arr.is_c_contiguous() {
        return not_impl();
    }
    let Some(d) = dtype::from_descr(py, &arr.dtype()) else { return not_impl() };
    if let Some(o) = out {
        let span = |a: &Bound<'py, PyUntypedArray>| {
            // SAFETY: reading the data pointer of a live array object.
            let p = unsafe { (*a.as_array_ptr()).fields.data } as usize;
            p..p + a.len() * a.dtype().itemsize()
        };
        let (a, b) = (span(arr), span(o));
        let overlap = a.start < b.end && b.start < a.end;
        if o.ndim() != 1
            || !o.is_c_contiguous()
            || o.len() != arr.len()
            || !o.dtype().is_equiv_to(&arr.dtype())
            || overlap
            || !o.getattr("flags")?.getattr("writeable")?.is_truthy()?
        {
            return not_impl();
        }
    }
    dispatch_dtype!(d, T => allreduce_typed::<T>(py, c, arr, op, None, out, None))
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
/// Kept for callers of the flat form; `dtl.broadcast` uses
/// [`_broadcast_array`].
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

/// Most dimensions of an array `dtl.broadcast` sends.
const BCAST_MAXDIM: usize = 32;
/// Header words: status, dtype, ndim, element count, scalar flag, Python
/// scalar flag, then the shape, then a 64-byte payload.
const BCAST_HDR: usize = 6;
const BCAST_PAYLOAD: usize = 8;
const BCAST_WORDS: usize = BCAST_HDR + BCAST_MAXDIM + BCAST_PAYLOAD;

/// `dtl.broadcast` in one native call. On the root, `arr` is its
/// C-contiguous, writeable data; elsewhere it is ignored. One header
/// broadcast (`Context::broadcast`: the agreement step on the root, then
/// `MPI_Bcast` of the dtype, the shape and, up to 64 bytes, the data
/// itself), then, for larger data, one `Context::broadcast_unchecked` into
/// a new array on the other ranks. Returns `(array, scalar, py_scalar)`;
/// on the root the array is `arr` itself.
#[pyfunction]
#[pyo3(signature = (ctx, arr, root, scalar=false, py_scalar=false))]
pub fn _broadcast_array<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: Option<&Bound<'py, PyUntypedArray>>,
    root: usize,
    scalar: bool,
    py_scalar: bool,
) -> PyResult<(Bound<'py, PyAny>, bool, bool)> {
    let c = &ctx.ctx;
    let mut hdr = [0i64; BCAST_WORDS];
    let mut local: Option<PyErr> = None;
    if c.rank() == root {
        match arr {
            None => local = Some(crate::errors::invalid("broadcast: data must be given on the root rank")),
            Some(a) => match dtype::of_array(py, a, "data") {
                Err(e) => local = Some(e),
                Ok(_) if a.ndim() > BCAST_MAXDIM => {
                    local = Some(crate::errors::invalid(format!(
                        "broadcast: data has {} dimensions; at most {BCAST_MAXDIM} are supported",
                        a.ndim()
                    )))
                }
                Ok(d) => {
                    hdr[1] = d as i64;
                    hdr[2] = a.ndim() as i64;
                    hdr[3] = a.len() as i64;
                    hdr[4] = i64::from(scalar);
                    hdr[5] = i64::from(py_scalar);
                    for (k, &n) in a.shape().iter().enumerate() {
                        hdr[BCAST_HDR + k] = n as i64;
                    }
                    dispatch_dtype!(d, T => {
                        let bytes = a.len() * std::mem::size_of::<T>();
                        if bytes <= 8 * BCAST_PAYLOAD {
                            let v = dtype::to_vec::<T>(a)?;
                            // SAFETY: `bytes` fit in the payload words; T is plain data.
                            unsafe {
                                std::ptr::copy_nonoverlapping(
                                    v.as_ptr().cast::<u8>(),
                                    hdr[BCAST_HDR + BCAST_MAXDIM..].as_mut_ptr().cast::<u8>(),
                                    bytes,
                                )
                            };
                        }
                    })
                }
            },
        }
        if local.is_some() {
            hdr[0] = dtl_core::Error::InvalidArgument(String::new()).status() as i64;
        }
    }
    py.detach(|| c.broadcast(&mut hdr, root)).py()?;
    if hdr[0] != 0 {
        return Err(local.unwrap_or_else(|| {
            crate::errors::invalid(format!("broadcast: rejected on the root rank {root}; see the error there"))
        }));
    }
    let d = dtl_core::DType::from_code(hdr[1] as i32)
        .ok_or_else(|| crate::errors::invalid("broadcast: the root sent an unknown dtype"))?;
    let ndim = hdr[2] as usize;
    let n = hdr[3] as usize;
    let (scalar, py_scalar) = (hdr[4] != 0, hdr[5] != 0);
    let shape: Vec<usize> = hdr[BCAST_HDR..BCAST_HDR + ndim].iter().map(|&x| x as usize).collect();
    dispatch_dtype!(d, T => {
        let small = n * std::mem::size_of::<T>() <= 8 * BCAST_PAYLOAD;
        let res: Bound<'py, PyArrayDyn<T>> = if c.rank() == root {
            arr.expect("checked above").cast::<PyArrayDyn<T>>()?.clone()
        } else {
            // SAFETY: every element is written below before it is returned.
            unsafe { PyArrayDyn::<T>::new(py, shape.clone(), false) }
        };
        if small {
            if c.rank() != root {
                let mut rw = res.try_readwrite()?;
                let dst = rw.as_slice_mut()?;
                // SAFETY: the root stored n elements of T at the payload start.
                let src = unsafe {
                    std::slice::from_raw_parts(hdr[BCAST_HDR + BCAST_MAXDIM..].as_ptr().cast::<T>(), n)
                };
                dst.copy_from_slice(src);
            }
        } else {
            let mut rw = res.try_readwrite()?;
            let buf = rw.as_slice_mut()?;
            py.detach(|| c.broadcast_unchecked(buf, root)).py()?;
        }
        Ok((res.into_any(), scalar, py_scalar))
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

/// Which collective [`gather_like`] runs.
#[derive(Clone, Copy)]
enum GatherLike {
    Allgather,
    Alltoall,
}

/// `dtl.allgather` / `dtl.alltoall` of an N-d C-contiguous array in one
/// native call: the input is read in place, the result written into `out`
/// (checked by the caller) or allocated by NumPy
/// (shape `(size, *shape)` for allgather, `shape` for alltoall), one
/// agreement step over dtype and shape (plus this rank's complaint
/// `error`, raised on every rank), then `MPI_Allgather` / `MPI_Alltoall`
/// with the GIL released.
fn gather_like<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    error: Option<String>,
    kind: GatherLike,
    out: Option<&Bound<'py, PyUntypedArray>>,
) -> PyResult<Bound<'py, PyAny>> {
    let c = &ctx.ctx;
    let reject = |msg: String| {
        let local = Some(dtl_core::Error::InvalidArgument(msg));
        let _ = py.detach(|| match kind {
            GatherLike::Allgather => c.allgather_into_or_reject::<u8>(&[], &mut [], None, local),
            GatherLike::Alltoall => c.alltoall_into_or_reject::<u8>(&[], &mut [], None, local),
        });
    };
    if let Some(msg) = error {
        reject(msg.clone());
        return Err(crate::errors::invalid(msg));
    }
    let d = match dtype::of_array(py, arr, "data") {
        Ok(d) => d,
        Err(e) => {
            reject(e.to_string());
            return Err(e);
        }
    };
    let shape: Vec<usize> = arr.shape().to_vec();
    dispatch_dtype!(d, T => {
        let a = arr.cast::<PyArrayDyn<T>>()?;
        let ro = a.try_readonly()?;
        let send = ro.as_slice()?;
        let out_shape: Vec<usize> = match kind {
            GatherLike::Allgather => std::iter::once(c.size()).chain(shape.iter().copied()).collect(),
            GatherLike::Alltoall => shape.clone(),
        };
        let res = match out {
            // Checked by the caller (shape, dtype, C order, writeable, no
            // overlap with `arr`); a failure here still joins the agreement.
            Some(o) => match o.cast::<PyArrayDyn<T>>() {
                Ok(o) if o.shape() == out_shape.as_slice() && o.is_c_contiguous() => o.clone(),
                _ => {
                    let msg = format!("out must be a C-contiguous {} array of shape {out_shape:?}", d.name());
                    reject(msg.clone());
                    return Err(crate::errors::invalid(msg));
                }
            },
            // SAFETY: every element is written by the collective before the
            // array is returned (on error it is dropped unread).
            None => unsafe { PyArrayDyn::<T>::new(py, out_shape, false) },
        };
        let mut rw = match res.try_readwrite() {
            Ok(rw) => rw,
            Err(e) => {
                reject(format!("out cannot be written: {e}"));
                return Err(e.into());
            }
        };
        let recv = rw.as_slice_mut()?;
        py.detach(|| match kind {
            GatherLike::Allgather => c.allgather_into_or_reject(send, recv, Some(&shape), None),
            GatherLike::Alltoall => c.alltoall_into_or_reject(send, recv, Some(&shape), None),
        })
        .py()?;
        drop(rw);
        Ok(res.into_any())
    })
}

/// `dtl.allgather` of an N-d array (see [`gather_like`]).
#[pyfunction]
#[pyo3(signature = (ctx, arr, error=None, out=None))]
pub fn _allgather_nd<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    error: Option<String>,
    out: Option<Bound<'py, PyUntypedArray>>,
) -> PyResult<Bound<'py, PyAny>> {
    gather_like(py, ctx, arr, error, GatherLike::Allgather, out.as_ref())
}

/// `dtl.alltoall` of an N-d array whose leading dimension is the context
/// size (see [`gather_like`]).
#[pyfunction]
#[pyo3(signature = (ctx, arr, error=None, out=None))]
pub fn _alltoall_nd<'py>(
    py: Python<'py>,
    ctx: &PyContext,
    arr: &Bound<'py, PyUntypedArray>,
    error: Option<String>,
    out: Option<Bound<'py, PyUntypedArray>>,
) -> PyResult<Bound<'py, PyAny>> {
    gather_like(py, ctx, arr, error, GatherLike::Alltoall, out.as_ref())
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
