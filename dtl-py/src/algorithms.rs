//! The Python side of the distributed algorithms of `dtl_core::algorithms`
//! on `DistributedVector` / `DistributedArray` (the methods `reduce`,
//! `find`, `inclusive_scan`, … that `containers.rs` forwards here).
//!
//! Each function converts its arguments, releases the GIL around the core
//! call (which may run MPI and rayon) and returns NumPy scalars of the
//! container's dtype, indices as Python ints (or `None`).
//!
//! Argument problems of a collective call (an unknown op, a value that is
//! not a number) found on one rank are not raised there alone: the rank
//! first takes part in the agreement step the other ranks' core call begins
//! with (`Context::agree_or_reject`), so every rank raises instead of the
//! others waiting (with collective checks on, the default).

use std::any::Any;

use dtl_core::containers::Distributed1D;
use dtl_core::{Context, Error, Execution, Located, ReduceOp};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBool, PyString};

use crate::containers::{PyDistributedArray, PyDistributedVector, PyElem};
use crate::context::PyContext;
use crate::dtype;
use crate::errors::{invalid, to_py, IntoPy};

/// `0` for `Seq`, `1` for `Par` (the `EXEC_*` values).
pub(crate) fn execution_code(e: Execution) -> i64 {
    match e {
        Execution::Seq => 0,
        Execution::Par => 1,
    }
}

/// Parses an `execution` value (`EXEC_SEQ` / `EXEC_PAR` or 0 / 1).
pub(crate) fn execution_arg(value: &Bound<'_, PyAny>) -> PyResult<Execution> {
    let code = if value.is_instance_of::<PyBool>() {
        None
    } else {
        value.py().import("operator")?.getattr("index")?.call1((value,)).ok().and_then(|i| i.extract::<i64>().ok())
    };
    match code {
        Some(c) => Execution::from_code(c).py(),
        None => Err(invalid(format!("execution must be EXEC_SEQ (0) or EXEC_PAR (1), got {value}"))),
    }
}

/// Parses an `op` argument: a name (`dtl.SUM` is `"sum"`; `"MPI_SUM"`,
/// `"product"`, … as the collectives accept) or a code in `0..=9`.
pub(crate) fn op_arg(op: Option<&Bound<'_, PyAny>>) -> PyResult<ReduceOp> {
    let Some(op) = op.filter(|o| !o.is_none()) else { return Ok(ReduceOp::Sum) };
    let valid = "op must be one of dtl.SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR \
                 (or their names as strings, or codes 0..=9)";
    if let Ok(s) = op.cast::<PyString>() {
        return ReduceOp::from_name(&s.to_string()).map_err(|_| invalid(format!("{valid}; got {op:?}")));
    }
    if !op.is_instance_of::<PyBool>() {
        if let Ok(c) = op.extract::<i64>() {
            return ReduceOp::from_code(c).map_err(|_| invalid(format!("{valid}; got {c}")));
        }
    }
    Err(invalid(format!("{valid}; got {}", op.repr().map(|r| r.to_string()).unwrap_or_default())))
}

/// A Python error's dtl status (300, InvalidArgument, for non-dtl errors).
fn status_of(py: Python<'_>, e: &PyErr) -> i32 {
    e.value(py).getattr("status").and_then(|s| s.extract::<i32>()).unwrap_or(300)
}

/// `r`, or, when it failed on this rank, the error after taking part in the
/// agreement step of the collective call `what` that the other ranks make
/// (so they raise too). Collective when `r` is an error.
fn agreed<T: PyElem, X>(py: Python<'_>, v: &Distributed1D<T>, what: &str, r: PyResult<X>) -> PyResult<X> {
    r.inspect_err(|e| {
        let mine = Error::from_status(status_of(py, e), e.to_string());
        let c = v.context();
        let _ = py.detach(|| c.agree_or_reject(what, &[], Some(mine)));
    })
}

/// `x` as a NumPy scalar of its dtype.
pub(crate) fn scalar_out<T: PyElem>(py: Python<'_>, x: T) -> PyResult<Bound<'_, PyAny>> {
    PyArray1::from_vec(py, vec![x]).get_item(0)
}

/// `value` (a scalar) as `T` with NumPy's conversion rules (an
/// out-of-range integer is an error); `what` names the argument.
pub(crate) fn element<T: PyElem>(py: Python<'_>, value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    dtype::scalar::<T>(py, value, T::DTYPE, what)
}

/// `value` as a `T` it compares equal to (`None` if no `T` does, e.g. 300
/// for uint8 or 0.5 for int32: then nothing matches). Comparison follows
/// NumPy (`array == value`): a Python float is compared at the array's
/// precision, a NumPy float64 at float64's. Errors for non-numbers.
pub(crate) fn probe<T: PyElem>(py: Python<'_>, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<T>> {
    let np = py.import("numpy")?;
    let a = np.getattr("asarray")?.call1((value,)).map_err(|e| invalid(format!("{what} must be a number: {e}")))?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim != 0 || !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        return Err(invalid(format!(
            "{what} must be a real number (a scalar), got {}",
            value.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    // The unchecked cast, then NumPy's own comparison tells if it is exact.
    let cast = np.getattr("errstate")?.call((), Some(&[("all", "ignore")].into_py_dict(py)?))?;
    let _guard = cast.call_method0("__enter__")?;
    let t = a.call_method1("astype", (dtype::to_numpy(py, T::DTYPE),));
    let _ = cast.call_method1("__exit__", (py.None(), py.None(), py.None()));
    let t = t?;
    let same: bool = np.getattr("equal")?.call1((&t, value))?.call_method0("__bool__")?.extract()?;
    if !same {
        return Ok(None);
    }
    Ok(Some(dtype::to_vec::<T>(t.cast::<numpy::PyUntypedArray>()?)?[0]))
}

/// A `DistributedVector` or `DistributedArray` passed as an argument
/// (`other=` of `dot`, `src=` of `copy_from`), borrowed for the call.
pub(crate) enum Peer<'py> {
    Vector(PyRef<'py, PyDistributedVector>),
    Array(PyRef<'py, PyDistributedArray>),
}

impl<'py> Peer<'py> {
    /// Borrows `obj`; `InvalidArgumentError` naming `what` if it is not a
    /// 1-D container.
    pub(crate) fn borrow(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(v) = obj.cast::<PyDistributedVector>() {
            return Ok(Peer::Vector(v.try_borrow()?));
        }
        if let Ok(a) = obj.cast::<PyDistributedArray>() {
            return Ok(Peer::Array(a.try_borrow()?));
        }
        Err(invalid(format!(
            "{what} must be a dtl.DistributedVector or dtl.DistributedArray, got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        )))
    }

    /// The core container if its dtype is `T`, else an
    /// `InvalidArgumentError` naming both dtypes.
    fn get<T: PyElem>(&self, what: &str) -> PyResult<&Distributed1D<T>> {
        let (any, d): (&dyn Any, _) = match self {
            Peer::Vector(v) => (v.core_any(), v.dt()),
            Peer::Array(a) => (a.core_any(), a.dt()),
        };
        any.downcast_ref::<Distributed1D<T>>().ok_or_else(|| {
            invalid(format!("{what} has dtype {d}, but this container has dtype {}; they must match", T::DTYPE))
        })
    }
}

/// `v.reduce(op)`. Collective.
pub(crate) fn reduce<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    op: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = agreed(py, v, "reduce", op_arg(op))?;
    let x = py.detach(|| v.reduce(op)).py()?;
    scalar_out(py, x)
}

/// `v.reduce_local(op)`. Not collective.
pub(crate) fn reduce_local<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    op: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = op_arg(op)?;
    let x = py.detach(|| v.reduce_local(op)).py()?;
    scalar_out(py, x)
}

/// `v.dot(other)` (`local`: `v.dot_local(other)`). Collective unless local.
pub(crate) fn dot<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    other: &Bound<'py, PyAny>,
    local: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let peer = Peer::borrow(other, "other");
    let peer = if local { peer? } else { agreed(py, v, "dot", peer)? };
    let o = if local { peer.get::<T>("other")? } else { agreed(py, v, "dot", peer.get::<T>("other"))? };
    let x = py.detach(|| if local { v.dot_local(o) } else { v.dot(o) }).py()?;
    scalar_out(py, x)
}

/// `v.inclusive_scan(op)` or `v.exclusive_scan(op, init)` (`init` given;
/// `None` is the op's identity), global or `local`. Collective unless local.
pub(crate) fn scan<T: PyElem>(
    py: Python<'_>,
    v: &mut Distributed1D<T>,
    op: Option<&Bound<'_, PyAny>>,
    exclusive: Option<Option<&Bound<'_, PyAny>>>,
    local: bool,
) -> PyResult<()> {
    let what = if exclusive.is_some() { "exclusive_scan" } else { "inclusive_scan" };
    let args = op_arg(op).and_then(|op| {
        let init = match exclusive {
            Some(Some(i)) if !i.is_none() => Some(element::<T>(py, i, "init")?),
            Some(_) => Some(op.identity::<T>()),
            None => None,
        };
        Ok((op, init))
    });
    let (op, init) = if local { args? } else { agreed(py, v, what, args)? };
    py.detach(|| match (init, local) {
        (None, false) => v.inclusive_scan(op),
        (None, true) => v.inclusive_scan_local(op),
        (Some(i), false) => v.exclusive_scan(op, i),
        (Some(i), true) => v.exclusive_scan_local(op, i),
    })
    .py()
}

/// `v.find(value)`: the smallest global index holding `value`, or `None`.
/// Collective.
pub(crate) fn find<T: PyElem>(
    py: Python<'_>,
    v: &Distributed1D<T>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Option<usize>> {
    match agreed(py, v, "find", probe::<T>(py, value, "value"))? {
        Some(x) => py.detach(|| v.find(x)).py(),
        None => py.detach(|| v.find_if(|_| false)).py(),
    }
}

/// `v.count(value)`. Collective.
pub(crate) fn count<T: PyElem>(py: Python<'_>, v: &Distributed1D<T>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    match agreed(py, v, "count", probe::<T>(py, value, "value"))? {
        Some(x) => py.detach(|| v.count(x)).py(),
        None => py.detach(|| v.count_if(|_| false)).py(),
    }
}

pub(crate) fn located<'py, T: PyElem>(py: Python<'py>, l: Located<T>) -> PyResult<(usize, Bound<'py, PyAny>)> {
    Ok((l.index, scalar_out(py, l.value)?))
}

/// `v.min_element()` (`max`: `v.max_element()`) as `(index, value)` or
/// `None`. Collective.
pub(crate) fn best<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    max: bool,
) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
    let r = py.detach(|| if max { v.max_element() } else { v.min_element() }).py()?;
    r.map(|l| located(py, l)).transpose()
}

/// A `(min, max)` pair of `(index, value)`, or `None` when empty.
pub(crate) type MinMax<'py> = Option<((usize, Bound<'py, PyAny>), (usize, Bound<'py, PyAny>))>;

/// `v.minmax()`. Collective.
pub(crate) fn minmax<'py, T: PyElem>(py: Python<'py>, v: &Distributed1D<T>) -> PyResult<MinMax<'py>> {
    match py.detach(|| v.minmax()).py()? {
        Some((lo, hi)) => Ok(Some((located(py, lo)?, located(py, hi)?))),
        None => Ok(None),
    }
}

/// `v.iota(start)`. Not collective.
pub(crate) fn iota<T: PyElem>(
    py: Python<'_>,
    v: &mut Distributed1D<T>,
    start: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let s = match start.filter(|s| !s.is_none()) {
        Some(s) => element::<T>(py, s, "start")?,
        None => T::ZERO,
    };
    py.detach(|| v.iota(s));
    Ok(())
}

/// `v.replace(old, new)`; an `old` no element can equal replaces nothing.
/// Not collective.
pub(crate) fn replace<T: PyElem>(
    py: Python<'_>,
    v: &mut Distributed1D<T>,
    old: &Bound<'_, PyAny>,
    new: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let old = probe::<T>(py, old, "old")?;
    let new = element::<T>(py, new, "new")?;
    if let Some(old) = old {
        py.detach(|| v.replace(old, new));
    }
    Ok(())
}

/// `v.copy_from(src)` (`src` already borrowed; same dtype). Collective when
/// the partitions differ.
pub(crate) fn copy_from<T: PyElem>(py: Python<'_>, v: &mut Distributed1D<T>, src: &Peer<'_>) -> PyResult<()> {
    let s = src.get::<T>("src")?;
    py.detach(|| v.copy_from(s)).py()
}

/// The global index of local element `l`. Pure.
pub(crate) fn to_global<T: PyElem>(v: &Distributed1D<T>, l: i64) -> PyResult<usize> {
    let n = v.local_size();
    match usize::try_from(l).ok().filter(|&l| l < n) {
        Some(l) => v.to_global(l).py(),
        None => Err(to_py(Error::Bounds(format!("local index {l} is out of range 0..{n} (local_size)")))),
    }
}

/// `_reject(ctx, what, status, message)`: for the Python layer, when an
/// argument of the collective call `what` failed on this rank before the
/// call: takes part in the agreement step the other ranks' call begins with
/// (one `MPI_Allreduce`, as `Context::agree_or_reject`), so that they raise
/// a dtl error of class `status` too. The caller then raises its own error.
/// Collective; nothing happens with one rank or collective checks off.
#[pyfunction]
pub fn _reject(py: Python<'_>, ctx: &PyContext, what: &str, status: i32, message: &str) {
    let c = &ctx.ctx;
    let _ = py.detach(|| c.agree_or_reject(what, &[], Some(Error::from_status(status, message))));
}

/// `v.reduce_deterministic(op)`: the one-process bits at any number of
/// ranks. Collective.
pub(crate) fn reduce_deterministic<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    op: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = agreed(py, v, "reduce_deterministic", op_arg(op))?;
    let x = py.detach(|| v.reduce_deterministic(op)).py()?;
    scalar_out(py, x)
}

/// `v.sort(reverse)` or `v.stable_sort(reverse)`. Collective.
/// `reduce` or, with `deterministic`, `reduce_deterministic`. Collective.
pub(crate) fn reduce_any<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    op: Option<&Bound<'py, PyAny>>,
    deterministic: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if deterministic {
        reduce_deterministic(py, v, op)
    } else {
        reduce(py, v, op)
    }
}

pub(crate) fn sort<T: PyElem>(py: Python<'_>, v: &mut Distributed1D<T>, reverse: bool, stable: bool) -> PyResult<()> {
    py.detach(|| if stable { v.stable_sort(reverse) } else { v.sort(reverse) }).py()
}

/// `v.sort_presorted(reverse)`: each rank's part is already sorted
/// (ascending, NaN last). Collective.
pub(crate) fn sort_presorted<T: PyElem>(py: Python<'_>, v: &mut Distributed1D<T>, reverse: bool) -> PyResult<()> {
    py.detach(|| v.sort_presorted(reverse)).py()
}

/// `v.is_sorted(reverse)`. Collective.
pub(crate) fn is_sorted<T: PyElem>(py: Python<'_>, v: &Distributed1D<T>, reverse: bool) -> PyResult<bool> {
    py.detach(|| v.is_sorted(reverse)).py()
}

/// `v.nth_element(k)` as a NumPy scalar; a negative `k` counts from the
/// end, as NumPy indices do. Collective.
pub(crate) fn nth_element<'py, T: PyElem>(
    py: Python<'py>,
    v: &Distributed1D<T>,
    k: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let n = v.global_size() as i64;
    // Out of range either way: pass an index the core rejects on every rank.
    let k = if k < 0 && k + n >= 0 {
        k + n
    } else if k < 0 {
        i64::MAX
    } else {
        k
    };
    let x = py.detach(|| v.nth_element(k as usize)).py()?;
    scalar_out(py, x)
}

/// `v.median()` (`q = None`) or `v.percentile(q)`, a Python float.
/// Collective.
pub(crate) fn quantile<T: PyElem>(py: Python<'_>, v: &Distributed1D<T>, q: Option<f64>) -> PyResult<f64> {
    py.detach(|| match q {
        None => v.median(),
        Some(q) => v.percentile(q),
    })
    .py()
}

/// `reduce` (or `reduce_deterministic`) with the container lent `ctx`, the
/// async lane's context (`Distributed1D::with_context`): its collectives
/// run over the lane's communicator. Collective over `ctx`.
pub(crate) fn reduce_on<'py, T: PyElem>(
    py: Python<'py>,
    v: &mut Distributed1D<T>,
    ctx: &Context,
    op: Option<&Bound<'py, PyAny>>,
    deterministic: bool,
) -> PyResult<Bound<'py, PyAny>> {
    v.with_context(ctx, |v| reduce_any(py, v, op, deterministic)).py()?
}

/// `sort` / `stable_sort` with the container lent `ctx`, the async lane's
/// context. Collective over `ctx`.
pub(crate) fn sort_on<T: PyElem>(
    py: Python<'_>,
    v: &mut Distributed1D<T>,
    ctx: &Context,
    reverse: bool,
    stable: bool,
) -> PyResult<()> {
    v.with_context(ctx, |v| sort(py, v, reverse, stable)).py()?
}
