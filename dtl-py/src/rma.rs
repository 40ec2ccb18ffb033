//! RMA windows for Python (`dtl.Window`, the `dtl.rma_*` functions in
//! `dtl/_rma.py`), on `dtl_core::rma::Window`'s run-time checked interface.
//!
//! Results of `rma_get` and the atomics are complete on return inside a
//! lock / lock_all epoch (the call ends with `MPI_Win_flush_local`). In a
//! fence or post/start/complete/wait epoch MPI completes them only at the
//! epoch's end: the call returns the NumPy array MPI will fill, and the
//! window keeps it (and every origin array) alive until then.

use dtl_core::rma::{LockMode, RmaOp, Window};
use dtl_core::{dispatch_dtype, Element};
use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::context::PyContext;
use crate::dtype;
use crate::errors::{invalid, IntoPy};

/// An RMA window: ``size`` bytes of every rank's memory open to one-sided
/// access (the guide's ``dtl.Window``). ``Window(ctx, size=n)`` exposes
/// ``n`` zeroed bytes that MPI allocates (``MPI_Win_allocate``);
/// ``Window(ctx, base=arr)`` exposes a C-contiguous, writeable NumPy array
/// in place (``MPI_Win_create``) and keeps it alive. **Collective**; ranks
/// may pass different sizes. ``free()`` (or leaving a ``with`` block) is
/// collective too; a window garbage-collected without it is leaked, never
/// freed behind the other ranks' backs.
#[pyclass(name = "Window", module = "dtl._dtl")]
pub struct PyWindow {
    win: Option<Window<'static>>,
    /// The exposed NumPy array (`base=` windows).
    owner: Option<Py<PyAny>>,
    /// Buffers MPI may still read or write (fence / PSCW epochs).
    pending: Vec<Py<PyAny>>,
}

impl Drop for PyWindow {
    fn drop(&mut self) {
        // Not collective here: leak the window and what it exposes.
        if let Some(w) = self.win.take() {
            std::mem::forget(w);
            if let Some(o) = self.owner.take() {
                std::mem::forget(o);
            }
            std::mem::forget(std::mem::take(&mut self.pending));
        }
    }
}

impl PyWindow {
    /// A window over the NumPy array `base` (`Window(ctx, base=...)`).
    pub(crate) fn over(py: Python<'_>, ctx: &PyContext, base: &Bound<'_, PyAny>) -> PyResult<Self> {
        PyWindow::new(py, ctx, None, Some(base))
    }

    fn win(&self) -> PyResult<&Window<'static>> {
        self.win.as_ref().ok_or_else(|| {
            crate::errors::to_py(dtl_core::Error::InvalidState("window: the window has been freed".into()))
        })
    }

    /// After an operation on `target`: complete it now in a passive epoch,
    /// or keep `keep` alive until the active epoch ends.
    fn settle<const N: usize>(&mut self, target: usize, keep: [&Bound<'_, PyAny>; N]) -> PyResult<()> {
        let d = self.win()?.dynamic();
        if d.passive(target) {
            d.flush(Some(target), true).py()
        } else {
            self.pending.extend(keep.map(|b| b.clone().unbind()));
            Ok(())
        }
    }

    fn release_if_idle(&mut self) {
        if let Some(w) = &self.win {
            if !w.dynamic().any_epoch() {
                self.pending.clear();
            }
        }
    }
}

/// The guide's lock modes.
fn lock_mode(mode: &str) -> PyResult<LockMode> {
    LockMode::from_name(mode).py()
}

#[pymethods]
impl PyWindow {
    #[new]
    #[pyo3(signature = (ctx, size = None, base = None))]
    fn new(py: Python<'_>, ctx: &PyContext, size: Option<i64>, base: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let c = ctx.ctx.clone();
        match (size, base) {
            (Some(_), Some(_)) | (None, None) => {
                Err(invalid("Window: pass exactly one of size= (bytes) and base= (a NumPy array)"))
            }
            (Some(n), None) => {
                let n = usize::try_from(n).map_err(|_| invalid(format!("size must be >= 0 bytes, got {n}")))?;
                let w = py.detach(|| Window::allocate(&c, n)).py()?;
                Ok(PyWindow { win: Some(w), owner: None, pending: Vec::new() })
            }
            (None, Some(b)) => {
                let arr = b
                    .cast::<PyUntypedArray>()
                    .map_err(|_| invalid(format!("base must be a NumPy array, got {}", b.get_type())))?;
                if !arr.is_c_contiguous() {
                    return Err(invalid("base must be a C-contiguous NumPy array"));
                }
                // SAFETY: reading the array object's flags and data pointer.
                let (ptr, writeable) = unsafe {
                    let raw = arr.as_array_ptr();
                    ((*raw).fields.data as *mut u8, (*raw).fields.flags & numpy::npyffi::NPY_ARRAY_WRITEABLE != 0)
                };
                if !writeable {
                    return Err(invalid("base must be a writeable NumPy array"));
                }
                let bytes = arr.len() * arr.dtype().itemsize();
                let (p, c2) = (ptr as usize, c.clone());
                // SAFETY: the window keeps the array alive (`owner`) until it is
                // freed or leaked; NumPy arrays do not move their data.
                let w = py.detach(move || unsafe { Window::from_raw_parts(&c2, p as *mut u8, bytes) }).py()?;
                Ok(PyWindow { win: Some(w), owner: Some(b.clone().unbind()), pending: Vec::new() })
            }
        }
    }

    /// This rank's window size in bytes.
    #[getter]
    fn size(&self) -> PyResult<usize> {
        Ok(self.win()?.size())
    }

    /// The address of this rank's window memory (an integer).
    #[getter]
    fn base(&self) -> PyResult<usize> {
        Ok(self.win()?.base())
    }

    /// ``True`` until the window is freed.
    #[getter]
    fn is_valid(&self) -> bool {
        self.win.is_some()
    }

    /// Rank ``rank``'s window size in bytes. Raises ``BoundsError``.
    fn size_of(&self, rank: usize) -> PyResult<usize> {
        self.win()?.size_of(rank).py()
    }

    /// Frees the window (``MPI_Win_free``). **Collective**. Raises
    /// ``DTLError`` (invalid state) while this rank has epochs open. A
    /// second call does nothing.
    fn free(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(w) = &self.win else { return Ok(()) };
        py.detach(|| w.dynamic().free()).py()?;
        self.win = None;
        self.owner = None;
        self.pending.clear();
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Frees the window (collective) — unless an exception is leaving the
    /// block: then the other ranks may be anywhere, so the window is left
    /// alone (and leaked when collected) rather than risking a hang.
    #[pyo3(signature = (exc_type = None, *_rest))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _rest: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<bool> {
        if exc_type.is_none_or(|e| e.is_none()) {
            self.free(py)?;
        }
        Ok(false)
    }

    /// ``MPI_Win_fence``: ends the current fence epoch (completing its
    /// operations everywhere) and opens the next; ``last=True`` passes
    /// ``MPI_MODE_NOSUCCEED`` and opens none. **Collective**.
    #[pyo3(signature = (last = false))]
    fn fence(&mut self, py: Python<'_>, last: bool) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().fence(last)).py()?;
        self.pending.clear();
        Ok(())
    }

    /// ``MPI_Win_lock`` on ``target`` (``mode`` ``"exclusive"`` or
    /// ``"shared"``). Returns an epoch usable as ``with win.lock(t):``
    /// (unlocks on exit). Raises ``BoundsError`` for a bad target and
    /// ``DTLError`` if this rank already locks it.
    #[pyo3(signature = (target, mode = "exclusive"))]
    fn lock(slf: &Bound<'_, Self>, py: Python<'_>, target: usize, mode: &str) -> PyResult<PyEpoch> {
        let m = lock_mode(mode)?;
        {
            let me = slf.borrow();
            let w = me.win()?;
            py.detach(|| w.dynamic().lock(target, m)).py()?;
        }
        Ok(PyEpoch { win: slf.clone().unbind(), kind: EpochKind::Lock(target) })
    }

    /// ``MPI_Win_unlock``: completes every operation on ``target``.
    fn unlock(&mut self, py: Python<'_>, target: usize) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().unlock(target)).py()?;
        self.release_if_idle();
        Ok(())
    }

    /// ``MPI_Win_lock_all`` (shared locks on every rank); usable as
    /// ``with win.lock_all():``.
    fn lock_all(slf: &Bound<'_, Self>, py: Python<'_>) -> PyResult<PyEpoch> {
        {
            let me = slf.borrow();
            let w = me.win()?;
            py.detach(|| w.dynamic().lock_all()).py()?;
        }
        Ok(PyEpoch { win: slf.clone().unbind(), kind: EpochKind::LockAll })
    }

    /// ``MPI_Win_unlock_all``.
    fn unlock_all(&mut self, py: Python<'_>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().unlock_all()).py()?;
        self.release_if_idle();
        Ok(())
    }

    /// ``MPI_Win_flush``: operations on ``target`` are complete there.
    fn flush(&self, py: Python<'_>, target: usize) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().flush(Some(target), false)).py()
    }

    /// ``MPI_Win_flush_all``.
    fn flush_all(&self, py: Python<'_>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().flush(None, false)).py()
    }

    /// ``MPI_Win_flush_local``: this rank's buffers for ``target`` are
    /// reusable.
    fn flush_local(&self, py: Python<'_>, target: usize) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().flush(Some(target), true)).py()
    }

    /// ``MPI_Win_flush_local_all``.
    fn flush_local_all(&self, py: Python<'_>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().flush(None, true)).py()
    }

    /// ``MPI_Win_sync``: this rank's public and private window copies agree.
    fn sync(&self) -> PyResult<()> {
        self.win()?.dynamic().sync().py()
    }

    /// ``MPI_Win_post``: exposes this rank's window to the ranks in
    /// ``group`` (a sequence of ranks) until ``wait()``.
    fn post(&self, py: Python<'_>, group: Vec<usize>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().post(&group)).py()
    }

    /// ``MPI_Win_start``: an access epoch to the ranks in ``group``, until
    /// ``complete()``; usable as ``with win.start(group):``.
    fn start(slf: &Bound<'_, Self>, py: Python<'_>, group: Vec<usize>) -> PyResult<PyEpoch> {
        {
            let me = slf.borrow();
            let w = me.win()?;
            py.detach(|| w.dynamic().start(&group)).py()?;
        }
        Ok(PyEpoch { win: slf.clone().unbind(), kind: EpochKind::Start })
    }

    /// ``MPI_Win_complete``: ends the ``start`` epoch.
    fn complete(&mut self, py: Python<'_>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().complete()).py()?;
        self.release_if_idle();
        Ok(())
    }

    /// ``MPI_Win_wait``: ends the ``post`` epoch once every origin has
    /// completed.
    fn wait(&mut self, py: Python<'_>) -> PyResult<()> {
        let w = self.win()?;
        py.detach(|| w.dynamic().wait()).py()?;
        self.release_if_idle();
        Ok(())
    }

    /// ``MPI_Win_test``: ``wait()`` without blocking; ``True`` once the
    /// ``post`` epoch has ended.
    fn test(&mut self) -> PyResult<bool> {
        let done = self.win()?.dynamic().test().py()?;
        if done {
            self.release_if_idle();
        }
        Ok(done)
    }

    /// Whether a lock or lock_all epoch covers ``target`` (operations on it
    /// complete before they return).
    fn _passive(&self, target: usize) -> PyResult<bool> {
        Ok(self.win()?.dynamic().passive(target))
    }

    fn __repr__(&self) -> String {
        match &self.win {
            Some(w) => format!("Window(size={}, rank={}, base={:#x})", w.size(), w.context().rank(), w.base()),
            None => "Window(freed)".into(),
        }
    }
}

enum EpochKind {
    Lock(usize),
    LockAll,
    Start,
}

/// An open epoch returned by ``Window.lock``, ``lock_all`` and ``start``;
/// ``with`` closes it (unlock, unlock_all, complete).
#[pyclass(name = "Epoch", module = "dtl._dtl")]
pub struct PyEpoch {
    win: Py<PyWindow>,
    kind: EpochKind,
}

#[pymethods]
impl PyEpoch {
    fn __enter__(&self, py: Python<'_>) -> Py<PyWindow> {
        self.win.clone_ref(py)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        let mut w = self.win.bind(py).borrow_mut();
        match self.kind {
            EpochKind::Lock(t) => w.unlock(py, t)?,
            EpochKind::LockAll => w.unlock_all(py)?,
            EpochKind::Start => w.complete(py)?,
        }
        Ok(false)
    }
}

fn rma_op(op: i64) -> PyResult<RmaOp> {
    RmaOp::from_code(op).py()
}

/// A new 1-D array of `n` elements of `T` and its data as a mutable slice
/// (which MPI may fill later: the caller keeps the array alive).
fn out_array<T: Element + numpy::Element>(py: Python<'_>, n: usize) -> (Bound<'_, PyArray1<T>>, &'static mut [T]) {
    let a = PyArray1::<T>::zeros(py, n, false);
    // SAFETY: a fresh, C-contiguous array of `n` elements that nobody else
    // references yet; it outlives MPI's use of the slice (kept in `pending`
    // or completed by a flush before this function's caller returns).
    let s = unsafe { std::slice::from_raw_parts_mut(a.data(), n) };
    (a, s)
}

/// The elements of a C-contiguous array (its data, borrowed: kept alive by
/// the caller while MPI may read it).
fn in_slice<T: numpy::Element>(a: &Bound<'_, PyUntypedArray>) -> PyResult<&'static [T]> {
    let t = a.cast::<numpy::PyArrayDyn<T>>()?;
    if !t.is_c_contiguous() {
        return Err(invalid("data must be C-contiguous"));
    }
    // SAFETY: C-contiguous data of `len` elements, kept alive by the caller
    // (in `pending`, or until the flush that completes the operation).
    Ok(unsafe { std::slice::from_raw_parts(t.data(), t.len()) })
}

/// `MPI_Put` of the C-contiguous array `data` to `target` at byte `offset`.
#[pyfunction]
pub fn _rma_put(
    py: Python<'_>,
    win: &Bound<'_, PyWindow>,
    target: usize,
    offset: usize,
    data: &Bound<'_, PyUntypedArray>,
) -> PyResult<()> {
    let d = dtype::of_array(py, data, "data")?;
    let mut w = win.borrow_mut();
    dispatch_dtype!(d, T => {
        let s = in_slice::<T>(data)?;
        // SAFETY: `data` stays alive until completion (settle).
        unsafe { w.win()?.dynamic().put(target, offset, s) }.py()?;
    });
    w.settle(target, [data.as_any()])
}

/// `MPI_Get` of `nbytes` bytes (whole elements of `dtype`) from `target`
/// at byte `offset`.
#[pyfunction]
pub fn _rma_get<'py>(
    py: Python<'py>,
    win: &Bound<'py, PyWindow>,
    target: usize,
    offset: usize,
    nbytes: usize,
    dtype: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = dtype::parse(py, Some(dtype))?;
    let item = d.size_bytes();
    if nbytes % item != 0 {
        return Err(invalid(format!("size must be a multiple of {d}'s {item} bytes, got {nbytes}")));
    }
    let count = nbytes / item;
    let mut w = win.borrow_mut();
    let out = dispatch_dtype!(d, T => {
        let (a, s) = out_array::<T>(py, count);
        // SAFETY: `a` stays alive until completion (settle).
        unsafe { w.win()?.dynamic().get(target, offset, s) }.py()?;
        a.into_any()
    });
    w.settle(target, [&out])?;
    Ok(out)
}

/// `MPI_Accumulate` of `data` with `op` (a code).
#[pyfunction]
pub fn _rma_accumulate(
    py: Python<'_>,
    win: &Bound<'_, PyWindow>,
    target: usize,
    offset: usize,
    data: &Bound<'_, PyUntypedArray>,
    op: i64,
) -> PyResult<()> {
    let op = rma_op(op)?;
    let d = dtype::of_array(py, data, "data")?;
    let mut w = win.borrow_mut();
    dispatch_dtype!(d, T => {
        let s = in_slice::<T>(data)?;
        // SAFETY: as for `_rma_put`.
        unsafe { w.win()?.dynamic().accumulate(target, offset, s, op) }.py()?;
    });
    w.settle(target, [data.as_any()])
}

/// `MPI_Get_accumulate`: the old values (a new array), then `data` is
/// combined in with `op`.
#[pyfunction]
pub fn _rma_get_accumulate<'py>(
    py: Python<'py>,
    win: &Bound<'py, PyWindow>,
    target: usize,
    offset: usize,
    data: &Bound<'py, PyUntypedArray>,
    op: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = rma_op(op)?;
    let d = dtype::of_array(py, data, "data")?;
    let mut w = win.borrow_mut();
    let out = dispatch_dtype!(d, T => {
        let s = in_slice::<T>(data)?;
        let (a, r) = out_array::<T>(py, s.len());
        // SAFETY: both arrays stay alive until completion (settle).
        unsafe { w.win()?.dynamic().get_accumulate(target, offset, s, r, op) }.py()?;
        a.into_any()
    });
    w.settle(target, [data.as_any(), &out])?;
    Ok(out)
}

/// The scalar atomics without NumPy in between (the per-call cost is what
/// users of a distributed counter pay): `compare` is `None` for
/// `fetch_and_op`. Returns the old value as a Python number once complete
/// (lock epochs), or the 1-element array MPI fills at the epoch's end.
#[pyfunction]
#[pyo3(signature = (win, target, offset, value, op, dtype, compare = None))]
#[allow(clippy::too_many_arguments)]
pub fn _rma_atomic<'py>(
    py: Python<'py>,
    win: &Bound<'py, PyWindow>,
    target: usize,
    offset: usize,
    value: &Bound<'py, PyAny>,
    op: i64,
    dtype: &Bound<'py, PyAny>,
    compare: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = dtype::parse(py, Some(dtype))?;
    let mut w = win.borrow_mut();
    let passive = w.win()?.dynamic().passive(target);
    dispatch_dtype!(d, T => {
        let conv = |v: &Bound<'py, PyAny>, what: &str| -> PyResult<T> {
            v.extract::<T>().or_else(|_| {
                let f = v.extract::<f64>().map_err(|_| invalid(format!("{what} = {v} is not a number")))?;
                let t = T::from_f64(f);
                if t.to_f64() == f { Ok(t) } else { Err(invalid(format!("{what} = {v} is not representable as {}", T::DTYPE))) }
            })
        };
        let v = conv(value, if compare.is_some() { "swap" } else { "value" })?;
        let c = compare.map(|c| conv(c, "compare")).transpose()?;
        let dy = w.win()?.dynamic();
        if passive {
            let (mut old, val) = (T::ZERO, v);
            // SAFETY: the flush below completes the operation before the
            // locals go out of scope.
            unsafe {
                match &c {
                    Some(c) => dy.compare_and_swap(target, offset, c, &val, &mut old),
                    None => dy.fetch_and_op(target, offset, &val, &mut old, rma_op(op)?),
                }
            }
            .py()?;
            dy.flush(Some(target), true).py()?;
            return old.into_pyobject(py).map(|o| o.into_any()).map_err(Into::into);
        }
        let inputs = PyArray1::<T>::from_vec(py, vec![v, c.unwrap_or(T::ZERO)]);
        let (a, r) = out_array::<T>(py, 1);
        // SAFETY: `inputs` and `a` stay in `pending` until the epoch ends.
        let ins = unsafe { std::slice::from_raw_parts(inputs.data(), 2) };
        unsafe {
            if compare.is_some() {
                dy.compare_and_swap(target, offset, &ins[1], &ins[0], &mut r[0])
            } else {
                dy.fetch_and_op(target, offset, &ins[0], &mut r[0], rma_op(op)?)
            }
        }
        .py()?;
        w.pending.push(inputs.into_any().unbind());
        w.pending.push(a.clone().into_any().unbind());
        Ok(a.into_any())
    })
}
