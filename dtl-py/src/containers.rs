//! `dtl.DistributedVector`, `dtl.DistributedArray`, `dtl.DistributedTensor`.
//!
//! Each Python class holds one core container of the dtype chosen at
//! construction (an enum over the ten element types). `local_view()` returns
//! a NumPy array over the container's own memory whose base object is a
//! small `_LocalViewOwner` holding a strong reference to the container, so a
//! view (or any slice of it) keeps its container alive; `resize` refuses to
//! reallocate while such views exist.

use std::sync::Arc;

use dtl_core::containers::checked_size;
use dtl_core::partition::{Partition, PartitionSpec, Weights};
use dtl_core::{
    Boundary, DType, DistributedArray, DistributedTensor, DistributedVector, Element, HaloSpec, PartitionKind,
    Placement,
};
use ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::context::PyContext;
use crate::dtype;
use crate::errors::{invalid, to_py, IntoPy};
use dtl_gpu::DeviceContainer;

/// Refuses (on every rank, after one `MPI_Allreduce`) an operation that
/// reallocates the local part while NumPy views of it are alive anywhere.
fn refuse_while_viewed(py: Python<'_>, c: &dtl_core::Context, views: &Arc<()>, what: &str) -> PyResult<()> {
    let mine = Arc::strong_count(views) - 1;
    let busy = py.detach(|| c.allreduce_scalar(mine as u64, dtl_core::ReduceOp::Max)).py()?;
    if busy > 0 {
        return Err(to_py(dtl_core::Error::InvalidState(format!(
            "{what}: {mine} local view(s) of this container are alive on this rank ({busy} at most on one rank); \
             delete them first, since {what} reallocates the local part"
        ))));
    }
    Ok(())
}

/// Numeric element types usable both in the core and in NumPy.
pub trait PyElem: Element + numpy::Element {}
impl<T: Element + numpy::Element> PyElem for T {}

macro_rules! any_enum {
    ($name:ident, $inner:ident) => {
        /// One core container of any supported dtype.
        pub enum $name {
            I8($inner<i8>),
            I16($inner<i16>),
            I32($inner<i32>),
            I64($inner<i64>),
            U8($inner<u8>),
            U16($inner<u16>),
            U32($inner<u32>),
            U64($inner<u64>),
            F32($inner<f32>),
            F64($inner<f64>),
        }
        any_enum!(@from $name, $inner, I8 i8, I16 i16, I32 i32, I64 i64, U8 u8, U16 u16, U32 u32, U64 u64, F32 f32, F64 f64);
    };
    (@from $name:ident, $inner:ident, $($var:ident $t:ty),*) => {$(
        impl From<$inner<$t>> for $name {
            fn from(v: $inner<$t>) -> Self {
                $name::$var(v)
            }
        }
    )*};
}
any_enum!(AnyVector, DistributedVector);
any_enum!(AnyArray, DistributedArray);
any_enum!(AnyTensor, DistributedTensor);
any_enum!(AnyDevice, DeviceContainer);

/// `match` on every variant of an `Any*` enum, binding the container to `$v`.
macro_rules! each {
    ($e:expr, $name:ident, $v:ident => $body:expr) => {
        match $e {
            $name::I8($v) => $body,
            $name::I16($v) => $body,
            $name::I32($v) => $body,
            $name::I64($v) => $body,
            $name::U8($v) => $body,
            $name::U16($v) => $body,
            $name::U32($v) => $body,
            $name::U64($v) => $body,
            $name::F32($v) => $body,
            $name::F64($v) => $body,
        }
    };
}

/// Builds the `Any*` variant for a runtime dtype from a generic constructor.
macro_rules! make_any {
    ($name:ident, $d:expr, $T:ident => $ctor:expr) => {
        match $d {
            DType::Int8 => {
                type $T = i8;
                $name::I8($ctor)
            }
            DType::Int16 => {
                type $T = i16;
                $name::I16($ctor)
            }
            DType::Int32 => {
                type $T = i32;
                $name::I32($ctor)
            }
            DType::Int64 => {
                type $T = i64;
                $name::I64($ctor)
            }
            DType::UInt8 => {
                type $T = u8;
                $name::U8($ctor)
            }
            DType::UInt16 => {
                type $T = u16;
                $name::U16($ctor)
            }
            DType::UInt32 => {
                type $T = u32;
                $name::U32($ctor)
            }
            DType::UInt64 => {
                type $T = u64;
                $name::U64($ctor)
            }
            DType::Float32 => {
                type $T = f32;
                $name::F32($ctor)
            }
            DType::Float64 => {
                type $T = f64;
                $name::F64($ctor)
            }
        }
    };
}

/// Where a Python container keeps its elements: a core (host) container,
/// or a `dtl_gpu::DeviceContainer` (`PLACEMENT_DEVICE` / `PLACEMENT_UNIFIED`).
pub enum Store<H> {
    /// Host memory.
    Host(H),
    /// GPU memory (device or unified).
    Device(AnyDevice),
}

/// What `core_any` gives for a GPU container: no core container to
/// downcast to, so peers that need one report a mismatch.
static NO_HOST_CONTAINER: () = ();

/// The error of a host-only operation on a GPU container.
fn device_only(placement: Placement) -> PyErr {
    to_py(dtl_core::Error::NotSupported(format!(
        "this operation needs the elements in host memory, but the container's local parts are device-only \
         (PLACEMENT_{}); copy it with dtl.to_host(ctx, c), or use the device algorithms (fill, reduce, \
         inclusive_scan, exclusive_scan, sort, to_numpy, from_numpy)",
        placement.name()
    )))
}

/// Evaluates `$body` on the container behind a [`Store`], host or device
/// (for what both have: sizes, layout queries).
macro_rules! meta {
    ($store:expr, $any:ident, $v:ident => $body:expr) => {
        match $store {
            Store::Host(h) => each!(h, $any, $v => $body),
            Store::Device(d) => each!(d, AnyDevice, $v => $body),
        }
    };
}

impl<H> Store<H> {
    fn host(&self) -> PyResult<&H> {
        match self {
            Store::Host(h) => Ok(h),
            Store::Device(d) => Err(device_only(each!(d, AnyDevice, v => v.placement()))),
        }
    }
    fn host_mut(&mut self) -> PyResult<&mut H> {
        match self {
            Store::Host(h) => Ok(h),
            Store::Device(d) => Err(device_only(each!(d, AnyDevice, v => v.placement()))),
        }
    }
}

/// Runs `$body` on the device container and returns its value when the
/// store is on a GPU; falls through for host containers.
macro_rules! on_device {
    ($store:expr, $v:ident => $body:expr) => {
        if let Store::Device(d) = $store {
            return each!(d, AnyDevice, $v => $body);
        }
    };
}

/// The placement a constructor asked for, resolved (`DEVICE_PREFERRED`
/// becomes device or host), agreed on by every rank (one `MPI_Allreduce`
/// unless collective checks are off). Collective.
fn placement_arg(c: &dtl_core::Context, placement: i64) -> PyResult<Placement> {
    let p = Placement::from_code(placement).and_then(dtl_gpu::resolve_placement);
    let code = p.as_ref().map(|p| *p as i64).unwrap_or(-1);
    c.agree_or_reject("container placement", &[("placement", code)], p.as_ref().err().cloned()).py()?;
    p.py()
}

/// `""` for host containers, `" placement=DEVICE device=0"` for GPU ones
/// (for `__repr__`).
fn placement_note<H>(s: &Store<H>) -> String {
    match s {
        Store::Host(_) => String::new(),
        Store::Device(d) => {
            each!(d, AnyDevice, v => format!(" placement={} device={}", v.placement().name(), v.device_id()))
        }
    }
}

/// `(placement code, device id, host accessible)` of a store.
fn placement_of<H>(s: &Store<H>) -> (i32, i32, bool) {
    match s {
        Store::Host(_) => (Placement::Host as i32, -1, true),
        Store::Device(d) => {
            each!(d, AnyDevice, v => (v.placement() as i32, v.device_id(), v.is_host_accessible()))
        }
    }
}

/// This rank's local part as DLPack and `__cuda_array_interface__` see it:
/// address (0 for an empty part), C-order shape, dtype.
pub(crate) trait LocalParts {
    /// `(address, shape, dtype)` of this rank's local part.
    fn local_parts(&self) -> (u64, Vec<usize>, DType);
}

macro_rules! host_local_parts {
    ($any:ident, $v:ident => $shape:expr) => {
        impl LocalParts for $any {
            fn local_parts(&self) -> (u64, Vec<usize>, DType) {
                each!(self, $any, $v => ($v.local().as_ptr() as u64, $shape, element_dtype($v.local())))
            }
        }
    };
}
host_local_parts!(AnyVector, v => vec![v.local_size()]);
host_local_parts!(AnyArray, v => vec![v.local_size()]);
host_local_parts!(AnyTensor, v => v.local_shape());

impl LocalParts for AnyDevice {
    fn local_parts(&self) -> (u64, Vec<usize>, DType) {
        each!(self, AnyDevice, v => (
            if v.local_size() == 0 { 0 } else { v.buffer().device_ptr() },
            v.local_shape(),
            v.dtype(),
        ))
    }
}

impl<H: LocalParts> Store<H> {
    fn local_parts(&self) -> (u64, Vec<usize>, DType) {
        match self {
            Store::Host(h) => h.local_parts(),
            Store::Device(d) => d.local_parts(),
        }
    }

    /// `__cuda_array_interface__` (version 3) of a GPU container's local
    /// part: shape, typestr, data pointer; `stream` 1 (the legacy default
    /// stream, which dtl's work is ordered on and synchronised before
    /// return). `AttributeError` for host containers.
    fn cuda_array_interface<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        if let Store::Host(_) = self {
            return Err(pyo3::exceptions::PyAttributeError::new_err(
                "__cuda_array_interface__: this container is in host memory (use local_view())",
            ));
        }
        let (ptr, shape, dt) = self.local_parts();
        let d = pyo3::types::PyDict::new(py);
        d.set_item("shape", PyTuple::new(py, shape)?)?;
        let typestr: String = py.import("numpy")?.getattr("dtype")?.call1((dt.name(),))?.getattr("str")?.extract()?;
        d.set_item("typestr", typestr)?;
        d.set_item("data", (ptr, false))?;
        d.set_item("strides", py.None())?;
        d.set_item("version", 3)?;
        d.set_item("stream", 1)?;
        Ok(d)
    }

    /// A DLPack capsule over the local part of `owner` (whose store this
    /// is), keeping it alive and counted among its views.
    fn dlpack<'py>(&self, owner: &Bound<'py, PyAny>, views: &Arc<()>) -> PyResult<Bound<'py, PyAny>> {
        let (ptr, shape, dt) = self.local_parts();
        crate::dlpack::capsule(owner.py(), owner.clone().unbind(), views.clone(), ptr, &shape, dt, placement_of(self))
    }
}

/// The device address of `array` if it is a GPU array (it has a
/// `__cuda_array_interface__`: CuPy, PyTorch, Numba, JAX), after checking
/// that it is C-contiguous, holds `n` elements and has the dtype `dt`;
/// `None` for anything else. Not collective.
fn device_source(py: Python<'_>, array: &Bound<'_, PyAny>, dt: DType, n: usize) -> PyResult<Option<u64>> {
    let Ok(cai) = array.getattr("__cuda_array_interface__") else { return Ok(None) };
    let shape: Vec<usize> = cai.get_item("shape")?.extract()?;
    let typestr: String = cai.get_item("typestr")?.extract()?;
    let want: String = py.import("numpy")?.getattr("dtype")?.call1((dt.name(),))?.getattr("str")?.extract()?;
    if typestr != want {
        return Err(invalid(format!("array: a device array of typestr {typestr:?}; the container holds {want:?}")));
    }
    let m: usize = shape.iter().product();
    if m != n {
        return Err(invalid(format!(
            "array: a device array of {m} elements (shape {shape:?}); the local part has {n}"
        )));
    }
    if let Ok(st) = cai.get_item("strides") {
        if !st.is_none() {
            let strides: Vec<isize> = st.extract()?;
            let mut expect = dt.size_bytes() as isize;
            for (&d, &st) in shape.iter().zip(&strides).rev() {
                if d > 1 && st != expect {
                    return Err(invalid("array: the device array must be C-contiguous"));
                }
                expect *= d as isize;
            }
        }
    }
    let (ptr, _ro): (u64, bool) = cai.get_item("data")?.extract()?;
    Ok(Some(ptr))
}

/// The device op for a NumPy ufunc name, for ``dtl.transform`` on GPU
/// containers.
fn device_unary(name: &str) -> PyResult<dtl_gpu::UnaryOp> {
    dtl_gpu::UnaryOp::from_name(name)
        .filter(|o| !matches!(o, dtl_gpu::UnaryOp::Scale | dtl_gpu::UnaryOp::Add))
        .ok_or_else(|| {
            to_py(dtl_core::Error::NotSupported(format!(
                "transform on a GPU container runs built-in device kernels only: numpy.negative, absolute, square, \
             sqrt, exp, log, sin, cos, reciprocal; got {name:?} (copy to the host with dtl.to_host for others)"
            )))
        })
}

/// `match` on two `AnyDevice`s of the same dtype, binding both; an error
/// for different dtypes.
macro_rules! device_pair {
    ($a:expr, $b:expr, $x:ident, $y:ident => $body:expr) => {
        match ($a, $b) {
            (AnyDevice::I8($x), AnyDevice::I8($y)) => $body,
            (AnyDevice::I16($x), AnyDevice::I16($y)) => $body,
            (AnyDevice::I32($x), AnyDevice::I32($y)) => $body,
            (AnyDevice::I64($x), AnyDevice::I64($y)) => $body,
            (AnyDevice::U8($x), AnyDevice::U8($y)) => $body,
            (AnyDevice::U16($x), AnyDevice::U16($y)) => $body,
            (AnyDevice::U32($x), AnyDevice::U32($y)) => $body,
            (AnyDevice::U64($x), AnyDevice::U64($y)) => $body,
            (AnyDevice::F32($x), AnyDevice::F32($y)) => $body,
            (AnyDevice::F64($x), AnyDevice::F64($y)) => $body,
            _ => Err(invalid("transform: on GPU containers src and dst must have the same dtype")),
        }
    };
}

/// Base object of every local view: keeps the container alive and counts
/// live views (through the shared token).
#[pyclass(name = "_LocalViewOwner", module = "dtl", frozen)]
pub struct LocalViewOwner {
    _container: Py<PyAny>,
    _token: Arc<()>,
}

/// Parses `weights=`: integers are per-rank counts (summing to the global
/// size), floats are per-rank fractions (summing to 1).
fn weights_arg(w: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Weights>> {
    let Some(w) = w.filter(|w| !w.is_none()) else { return Ok(None) };
    let np = w.py().import("numpy")?;
    let a = np.getattr("asarray")?.call1((w,))?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(invalid("weights must be a 1-D sequence with one entry per rank"));
    }
    match kind.as_str() {
        "i" | "u" => {
            let v: Vec<i64> = a.call_method0("tolist")?.extract()?;
            let counts = v
                .iter()
                .map(|&c| {
                    usize::try_from(c).map_err(|_| invalid(format!("weights given as counts must be >= 0, got {c}")))
                })
                .collect::<PyResult<Vec<usize>>>()?;
            Ok(Some(Weights::Counts(counts)))
        }
        "f" => Ok(Some(Weights::Fractions(a.call_method0("tolist")?.extract()?))),
        _ => Err(invalid(format!("weights must be integers (counts) or floats (fractions), got dtype kind {kind:?}"))),
    }
}

/// Parses the `partition=`, `block_size=`, `weights=` and `placement=`
/// keywords into a partition spec (the placement code is only checked
/// here; [`placement_arg`] resolves it).
fn spec_arg_local(
    partition: i64,
    placement: i64,
    block_size: Option<i64>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<PartitionSpec> {
    let kind = PartitionKind::from_code(partition).py()?;
    let bs = match block_size {
        None => None,
        Some(b) if b <= 0 => return Err(invalid(format!("block_size must be >= 1, got {b}"))),
        Some(b) => Some(b as usize),
    };
    let spec = PartitionSpec::from_kind(kind, bs, weights_arg(weights)?).py()?;
    Placement::from_code(placement).py()?;
    Ok(spec)
}

/// [`spec_arg_local`], and when it fails on this rank, still take part in
/// the agreement step the other ranks' collective call begins with, so that
/// they fail too instead of waiting (`Context::agree_or_reject`).
fn spec_arg(
    c: &dtl_core::Context,
    partition: i64,
    placement: i64,
    block_size: Option<i64>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<PartitionSpec> {
    spec_arg_local(partition, placement, block_size, weights).inspect_err(|e| {
        let msg = e.to_string();
        let _ = c.agree_or_reject("container arguments", &[], Some(dtl_core::Error::InvalidArgument(msg)));
    })
}

/// `size` from any Python integer-like, as usize (negative → InvalidArgumentError).
fn size_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
    let idx = obj.py().import("operator")?.getattr("index")?.call1((obj,)).map_err(|_| {
        invalid(format!(
            "{what} must be an integer >= 0, got {}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })?;
    let v: i64 = idx.extract().map_err(|_| invalid(format!("{what} must be an integer in 0..2**63, got {idx}")))?;
    checked_size(v, what).py()
}

/// A global index argument; negative or too large → BoundsError.
fn index_arg(i: i64, n: usize) -> PyResult<usize> {
    usize::try_from(i)
        .ok()
        .filter(|&u| u < n)
        .ok_or_else(|| to_py(dtl_core::Error::Bounds(format!("global index {i} is out of range 0..{n}"))))
}

/// `value` converted to `T` with NumPy's rules; errors name `what`.
fn element_value<T: PyElem>(py: Python<'_>, value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    dtype::scalar::<T>(py, value, T::DTYPE, what)
}

fn fill_value<T: PyElem>(py: Python<'_>, fill: Option<&Bound<'_, PyAny>>) -> PyResult<T> {
    match fill {
        Some(f) if !f.is_none() => element_value(py, f, "fill"),
        _ => Ok(T::ZERO),
    }
}

/// A zero-copy NumPy view of `data` with `shape`, based on a view owner.
fn view_of<'py, T: PyElem>(
    owner: &Bound<'py, PyAny>,
    token: &Arc<()>,
    data: &[T],
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let py = owner.py();
    let base = Bound::new(py, LocalViewOwner { _container: owner.clone().unbind(), _token: token.clone() })?;
    let view = ArrayViewD::from_shape(IxDyn(shape), data).map_err(|e| invalid(e.to_string()))?;
    // SAFETY: `base` keeps the container (and so `data`) alive; the container
    // never reallocates `data` while a view token is alive (resize checks).
    let arr = unsafe { PyArrayDyn::<T>::borrow_from_array(&view, base.into_any()) };
    Ok(arr.into_any())
}

/// Copies `src` (any array-like with `dst.len()` elements) into `dst`,
/// casting with NumPy's rules.
fn copy_from_numpy<T: PyElem>(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &mut [T],
    local_shape: &[usize],
) -> PyResult<()> {
    let np = py.import("numpy")?;
    let arr = np.getattr("ascontiguousarray")?.call1((src, dtype::to_numpy(py, T::DTYPE)))?;
    let arr = arr.cast_into::<PyUntypedArray>()?;
    if arr.len() != dst.len() {
        return Err(invalid(format!(
            "from_numpy: the array has {} elements (shape {:?}) but the local part has {} (local_shape {:?})",
            arr.len(),
            arr.shape(),
            dst.len(),
            local_shape
        )));
    }
    let typed = arr.cast::<PyArrayDyn<T>>()?;
    let ro = typed.try_readonly()?;
    dst.copy_from_slice(ro.as_slice().map_err(|e| invalid(e.to_string()))?);
    Ok(())
}

fn vec_to_numpy<'py, T: PyElem>(py: Python<'py>, v: Vec<T>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let a = PyArray1::from_vec(py, v);
    Ok(a.reshape(shape.to_vec())?.into_any())
}

// ------------------------------------------------------------------ halo arguments

/// A parsed ``width=`` of the halo methods.
enum HaloWidth {
    /// ``(lower, upper)`` ghost rows along the split axis (an int ``w`` is ``(w, w)``).
    Split(usize, usize),
    /// One ``(lower, upper)`` pair per axis.
    PerAxis(Vec<(usize, usize)>),
}

/// True if `obj` is an integer (``operator.index`` accepts it: ints, NumPy
/// integer scalars and 0-d integer arrays, not floats or longer arrays).
fn is_int(obj: &Bound<'_, PyAny>) -> bool {
    obj.py().import("operator").and_then(|m| m.getattr("index")).and_then(|f| f.call1((obj,))).is_ok()
}

/// A ``(lower, upper)`` pair of widths, if `obj` is a sequence of two ints.
fn width_pair(obj: &Bound<'_, PyAny>) -> PyResult<Option<(usize, usize)>> {
    if is_int(obj) || obj.is_instance_of::<pyo3::types::PyString>() {
        return Ok(None);
    }
    let Ok(it) = obj.try_iter() else { return Ok(None) };
    let items: Vec<Bound<'_, PyAny>> = it.collect::<PyResult<_>>()?;
    if items.len() != 2 || !items.iter().all(is_int) {
        return Ok(None);
    }
    Ok(Some((size_arg(&items[0], "width (lower)")?, size_arg(&items[1], "width (upper)")?)))
}

/// Parses ``width=``: an int >= 0 (both sides of the split axis), a
/// ``(lower, upper)`` pair for the split axis, or (if `per_axis`) a
/// sequence of one ``(lower, upper)`` pair per axis. Local.
fn halo_width(obj: Option<&Bound<'_, PyAny>>, per_axis: bool) -> PyResult<HaloWidth> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(HaloWidth::Split(1, 1)) };
    let bad = || {
        let repr = obj.repr().map(|r| r.to_string()).unwrap_or_default();
        let more = if per_axis { ", or a sequence of one (lower, upper) pair per axis" } else { "" };
        invalid(format!("width must be an int >= 0 or a (lower, upper) pair of ints >= 0{more}, got {repr}"))
    };
    if is_int(obj) {
        let w = size_arg(obj, "width")?;
        return Ok(HaloWidth::Split(w, w));
    }
    if let Some((lo, hi)) = width_pair(obj)? {
        return Ok(HaloWidth::Split(lo, hi));
    }
    if !per_axis {
        return Err(bad());
    }
    let Ok(it) = obj.try_iter() else { return Err(bad()) };
    let mut pairs = Vec::new();
    for item in it {
        pairs.push(width_pair(&item?)?.ok_or_else(bad)?);
    }
    Ok(HaloWidth::PerAxis(pairs))
}

/// [`halo_width`] without per-axis widths: ``(lower, upper)``. Local.
fn halo_width_pair(obj: Option<&Bound<'_, PyAny>>) -> PyResult<(usize, usize)> {
    match halo_width(obj, false)? {
        HaloWidth::Split(lo, hi) => Ok((lo, hi)),
        HaloWidth::PerAxis(_) => Err(invalid("width must be an int or a (lower, upper) pair here")),
    }
}

/// `r`, and when it is an error of this rank's arguments, still take part
/// in the agreement step that the other ranks' collective `op` begins with
/// (`Context::agree_or_reject`), so that they fail too instead of waiting.
fn collective_arg<T>(c: &dtl_core::Context, op: &str, r: PyResult<T>) -> PyResult<T> {
    r.inspect_err(|e| {
        let _ = c.agree_or_reject(op, &[], Some(dtl_core::Error::InvalidArgument(e.to_string())));
    })
}

/// ``boundary=`` (a number, converted to the dtype) for a non-periodic
/// halo; an error with ``periodic=True``. Local.
fn halo_boundary<T: PyElem>(py: Python<'_>, b: Option<&Bound<'_, PyAny>>, periodic: bool) -> PyResult<Option<T>> {
    match b.filter(|b| !b.is_none()) {
        None => Ok(None),
        Some(_) if periodic => {
            Err(invalid("boundary is the value outside a non-periodic array; it cannot be given with periodic=True"))
        }
        Some(b) => element_value::<T>(py, b, "boundary").map(Some),
    }
}

fn or_zero<T: Element>(b: Option<T>) -> T {
    b.unwrap_or(T::ZERO)
}

/// ``(lower, upper)`` of a core halo as two new NumPy arrays.
fn halo_to_numpy<'py, T: PyElem>(
    py: Python<'py>,
    h: dtl_core::Halo<T>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (ls, us) = (h.lower.shape().to_vec(), h.upper.shape().to_vec());
    Ok((
        vec_to_numpy(py, h.lower.into_raw_vec_and_offset().0, &ls)?,
        vec_to_numpy(py, h.upper.into_raw_vec_and_offset().0, &us)?,
    ))
}

/// Methods shared by the two 1-D classes, generated for each.
macro_rules! one_d_class {
    ($py_name:literal, $cls:ident, $any:ident, $core:ident, $doc:literal, { $($extra:tt)* }) => {
        #[doc = $doc]
        #[pyclass(name = $py_name, module = "dtl", weakref)]
        pub struct $cls {
            inner: Store<$any>,
            ctx: Py<PyContext>,
            views: Arc<()>,
        }

        impl $cls {
            fn wrap(ctx: Py<PyContext>, inner: $any) -> Self {
                $cls { inner: Store::Host(inner), ctx, views: Arc::new(()) }
            }
        }

        #[pymethods]
        impl $cls {
            #[new]
            #[pyo3(signature = (ctx, size, dtype=None, fill=None, partition=0, placement=0, block_size=None, device_id=None, weights=None))]
            #[allow(clippy::too_many_arguments)]
            fn new(
                py: Python<'_>,
                ctx: Py<PyContext>,
                size: &Bound<'_, PyAny>,
                dtype: Option<&Bound<'_, PyAny>>,
                fill: Option<&Bound<'_, PyAny>>,
                partition: i64,
                placement: i64,
                block_size: Option<i64>,
                device_id: Option<i32>,
                weights: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let n = size_arg(size, "size")?;
                let d = dtype::parse(py, dtype)?;
                let spec = spec_arg(&ctx.get().ctx, partition, placement, block_size, weights)?;
                let c = ctx.get().ctx.clone();
                let p = placement_arg(&c, placement)?;
                if p != Placement::Host {
                    let dev = make_any!(AnyDevice, d, T => {
                        let v: T = fill_value::<T>(py, fill)?;
                        py.detach(|| DeviceContainer::<T>::vector(&c, n, v, &spec, p, device_id)).py()?
                    });
                    return Ok($cls { inner: Store::Device(dev), ctx, views: Arc::new(()) });
                }
                let inner = make_any!($any, d, T => {
                    let v: T = fill_value::<T>(py, fill)?;
                    py.detach(|| $core::<T>::with_layout(&c, n, v, &spec)).py()?
                });
                Ok(Self::wrap(ctx, inner))
            }

            /// Distributes ``data`` (a 1-D array-like, read on ``root`` only)
            /// by blocks (``MPI_Scatterv``). Collective.
            #[classmethod]
            #[pyo3(signature = (ctx, data, root=0, partition=0, block_size=None, weights=None))]
            #[allow(clippy::too_many_arguments)]
            fn scatter_from(
                _cls: &Bound<'_, PyType>,
                py: Python<'_>,
                ctx: Py<PyContext>,
                data: &Bound<'_, PyAny>,
                root: usize,
                partition: i64,
                block_size: Option<i64>,
                weights: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let c = ctx.get().ctx.clone();
                let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
                let (d, flat) = root_payload(py, &c, data, root, true)?;
                let inner = make_any!($any, d, T => {
                    let v: Vec<T> = match &flat { Some(a) => dtype::to_vec::<T>(a)?, None => Vec::new() };
                    py.detach(|| $core::<T>::scatter_from_with(&c, &v, root, &spec)).py()?
                });
                Ok(Self::wrap(ctx, inner))
            }

            /// Builds from every rank's local 1-D array; the global order is
            /// rank 0's elements, then rank 1's, … (``MPI_Allgather`` of the
            /// counts; ``MPI_Alltoallv`` if they must move to the block
            /// layout). Collective; every rank passes the same dtype.
            #[classmethod]
            #[pyo3(signature = (ctx, local, partition=0, block_size=None, weights=None))]
            fn from_local(
                _cls: &Bound<'_, PyType>,
                py: Python<'_>,
                ctx: Py<PyContext>,
                local: &Bound<'_, PyAny>,
                partition: i64,
                block_size: Option<i64>,
                weights: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let c = ctx.get().ctx.clone();
                let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
                let a = as_array(py, local)?;
                let d = dtype::of_array(py, &a, "local")?;
                let inner = make_any!($any, d, T => {
                    let v: Vec<T> = dtype::to_vec::<T>(&a)?;
                    py.detach(|| $core::<T>::from_local_with(&c, v, &spec)).py()?
                });
                Ok(Self::wrap(ctx, inner))
            }

            /// Builds from the full 1-D data, present on every rank; each
            /// rank keeps its block. Collective.
            #[classmethod]
            #[pyo3(signature = (ctx, data, partition=0, block_size=None, weights=None))]
            fn from_global(
                _cls: &Bound<'_, PyType>,
                py: Python<'_>,
                ctx: Py<PyContext>,
                data: &Bound<'_, PyAny>,
                partition: i64,
                block_size: Option<i64>,
                weights: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let c = ctx.get().ctx.clone();
                let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
                let a = as_array(py, data)?;
                let d = dtype::of_array(py, &a, "data")?;
                let inner = make_any!($any, d, T => {
                    let v: Vec<T> = dtype::to_vec::<T>(&a)?;
                    py.detach(|| $core::<T>::from_global_with(&c, &v, &spec)).py()?
                });
                Ok(Self::wrap(ctx, inner))
            }

            /// Reads the 1-d ``.npy`` file at ``path`` (``str`` or
            /// ``os.PathLike``; any file ``numpy.save`` writes for the ten
            /// dtl dtypes, either byte order) into a new container laid out
            /// by ``partition``; the dtype comes from the file. Rank 0
            /// validates the header and broadcasts it (``MPI_Bcast``), every
            /// rank reads its block in one ``MPI_File_read_at_all``, then
            /// one ``MPI_Alltoallv`` moves the elements unless ``partition``
            /// is ``PARTITION_BLOCK``. Collective: every rank passes the same
            /// arguments. Raises ``InvalidArgumentError`` on every rank,
            /// with the same message naming the file, if it is missing, not
            /// a ``.npy`` file, truncated, of an unsupported dtype (complex,
            /// bool, strings, objects, …) or not 1-d;
            /// ``CommunicationError`` for other I/O failures. With
            /// ``dtype`` given, a file of another dtype is an
            /// ``InvalidArgumentError`` too (no conversion).
            #[classmethod]
            #[pyo3(signature = (ctx, path, partition=0, block_size=None, weights=None, dtype=None))]
            #[allow(clippy::too_many_arguments)]
            fn load(
                _cls: &Bound<'_, PyType>,
                py: Python<'_>,
                ctx: Py<PyContext>,
                path: &Bound<'_, PyAny>,
                partition: i64,
                block_size: Option<i64>,
                weights: Option<&Bound<'_, PyAny>>,
                dtype: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let c = ctx.get().ctx.clone();
                let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
                let path = crate::io::path_arg(path)?;
                let d = match dtype.filter(|d| !d.is_none()) {
                    Some(d) => dtype::parse(py, Some(d))?,
                    None => crate::io::header(py, &c, &path)?.dtype,
                };
                let inner = make_any!($any, d, T => py.detach(|| $core::<T>::load(&c, &path, &spec)).py()?);
                Ok(Self::wrap(ctx, inner))
            }

            /// Writes the container to ``path`` (``str`` or
            /// ``os.PathLike``) as a 1-d ``.npy`` file that ``numpy.load``
            /// reads (the bytes ``numpy.save`` writes for the gathered
            /// array). Rank 0 writes the header, every rank its elements in
            /// one ``MPI_File_write_at_all``; cyclic and block-cyclic
            /// layouts are first copied to blocks (one ``MPI_Alltoallv``),
            /// a replicated container is written by rank 0. The file is
            /// written under a temporary name and renamed over ``path`` once
            /// complete, so a failed save leaves ``path`` untouched.
            /// Collective: every rank passes the same path. Raises
            /// ``InvalidArgumentError`` (e.g. the directory does not exist)
            /// or ``CommunicationError`` (other I/O failures) on every rank.
            fn save(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<()> {
                let path = crate::io::path_arg(path)?;
                each!(self.inner.host()?, $any, v => py.detach(|| v.save(&path)).py())
            }

            /// The :class:`Context` the container lives on.
            #[getter]
            fn context(&self, py: Python<'_>) -> Py<PyContext> {
                self.ctx.clone_ref(py)
            }
            /// Total number of elements over all ranks.
            #[getter]
            fn global_size(&self) -> usize {
                meta!(&self.inner, $any, v => v.global_size())
            }
            /// Number of elements on this rank.
            #[getter]
            fn local_size(&self) -> usize {
                meta!(&self.inner, $any, v => v.local_size())
            }
            /// Global index of this rank's first element.
            #[getter]
            fn local_offset(&self) -> usize {
                meta!(&self.inner, $any, v => v.local_offset())
            }
            /// The NumPy dtype of the elements.
            #[getter]
            fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDescr> {
                dtype::to_numpy(py, self.dt())
            }
            /// ``(global_size,)``.
            #[getter]
            fn shape(&self) -> (usize,) {
                (self.global_size(),)
            }
            /// ``(local_size,)``.
            #[getter]
            fn local_shape(&self) -> (usize,) {
                (self.local_size(),)
            }
            /// ``1``.
            #[getter]
            fn ndim(&self) -> usize {
                1
            }
            /// The partition policy (a ``PARTITION_*`` value).
            #[getter]
            fn partition_policy(&self) -> i32 {
                meta!(&self.inner, $any, v => v.partition_kind() as i32)
            }
            /// The placement policy of the local parts (``PLACEMENT_HOST``,
            /// ``PLACEMENT_DEVICE`` or ``PLACEMENT_UNIFIED``;
            /// ``PLACEMENT_DEVICE_PREFERRED`` reports what it resolved to).
            #[getter]
            fn placement_policy(&self) -> i32 {
                placement_of(&self.inner).0
            }
            /// The CUDA device of the local part, ``-1`` for host memory.
            #[getter]
            fn device_id(&self) -> i32 {
                placement_of(&self.inner).1
            }
            /// ``True`` if the host can read the local part (host or
            /// unified memory).
            #[getter]
            fn is_host_accessible(&self) -> bool {
                placement_of(&self.inner).2
            }
            /// The ``__cuda_array_interface__`` (v3) of the local part of a
            /// device or unified container (CuPy, Numba, PyTorch read it:
            /// zero copy). Raises ``AttributeError`` for host containers.
            #[getter]
            fn __cuda_array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                self.inner.cuda_array_interface(py)
            }
            /// ``(kDLCUDA or kDLCUDAManaged, device id)`` for GPU
            /// containers, ``(kDLCPU, 0)`` for host ones (DLPack).
            fn __dlpack_device__(&self) -> (i32, i32) {
                crate::dlpack::device_of(placement_of(&self.inner))
            }
            /// A DLPack capsule over the local part (zero copy), for
            /// ``torch.from_dlpack``, ``cupy.from_dlpack``,
            /// ``jax.dlpack.from_dlpack``, ``numpy.from_dlpack``. The capsule
            /// keeps the container alive. ``stream`` is accepted and
            /// ignored: dtl's work is complete when its calls return. Not
            /// collective.
            #[pyo3(signature = (stream=None, max_version=None, dl_device=None, copy=None))]
            fn __dlpack__<'py>(
                slf: &Bound<'py, Self>,
                stream: Option<&Bound<'py, PyAny>>,
                max_version: Option<&Bound<'py, PyAny>>,
                dl_device: Option<&Bound<'py, PyAny>>,
                copy: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let _ = (stream, max_version, dl_device, copy);
                let me = slf.try_borrow()?;
                me.inner.dlpack(slf.as_any(), &me.views)
            }
            /// A copy of this container on a GPU (``placement``
            /// ``PLACEMENT_DEVICE`` by default, or ``PLACEMENT_UNIFIED``), same
            /// layout. Collective. See ``dtl.to_device``.
            #[pyo3(signature = (device_id=None, placement=1))]
            fn _to_device(&self, py: Python<'_>, device_id: Option<i32>, placement: i64) -> PyResult<Self> {
                let c = self.ctx.get().ctx.clone();
                let p = placement_arg(&c, placement)?;
                let dev = match &self.inner {
                    Store::Host(h) => each!(h, $any, v => {
                        let d = py.detach(|| DeviceContainer::from_vector(v, p, device_id)).py()?;
                        AnyDevice::from(d)
                    }),
                    Store::Device(d) => each!(d, AnyDevice, v => {
                        let host = py.detach(|| v.to_vector()).py()?;
                        let d = py.detach(|| DeviceContainer::from_vector(&host, p, device_id)).py()?;
                        AnyDevice::from(d)
                    }),
                };
                Ok($cls { inner: Store::Device(dev), ctx: self.ctx.clone_ref(py), views: Arc::new(()) })
            }
            /// ``dtl.transform`` on a GPU container, in place: the built-in
            /// device op ``name`` (a NumPy ufunc name). Not collective.
            fn _device_transform_inplace(&mut self, py: Python<'_>, name: &str) -> PyResult<()> {
                let op = device_unary(name)?;
                on_device!(&mut self.inner, v => py.detach(|| v.transform(op, Default::default())).py());
                Err(invalid("_device_transform_inplace: the container is in host memory"))
            }
            /// ``dtl.transform(self, dst, ufunc)`` on GPU containers of the
            /// same dtype, shape, partition and device. Not collective.
            fn _device_transform_into(&self, py: Python<'_>, dst: &Bound<'_, Self>, name: &str) -> PyResult<()> {
                let op = device_unary(name)?;
                let mut d = dst.try_borrow_mut()?;
                match (&self.inner, &mut d.inner) {
                    (Store::Device(a), Store::Device(b)) => device_pair!(a, b, x, y => py.detach(|| x.transform_into(y, op, Default::default())).py()),
                    _ => Err(invalid("transform: src and dst must both be GPU containers (or both host)")),
                }
            }
            /// The device collectives of ``dtl.allreduce`` / ``reduce`` /
            /// ``broadcast`` (in place on every rank's local part; the parts
            /// must have the same size on every rank) and ``allgather`` /
            /// ``allgatherv`` / ``reduce_scatter`` (a new GPU vector:
            /// replicated, or block).
            /// Through NCCL when ``ctx`` has it (``ctx.with_nccl``) and NCCL
            /// can, else MPI with host staging (refused in native-only mode).
            /// **Collective**.
            #[pyo3(signature = (ctx, kind, op=None, root=0))]
            fn _device_collective(
                &mut self,
                py: Python<'_>,
                ctx: PyRef<'_, PyContext>,
                kind: &str,
                op: Option<&Bound<'_, PyAny>>,
                root: usize,
            ) -> PyResult<Option<Self>> {
                let comm = dtl_gpu::DeviceComm::new(&ctx.ctx, ctx.nccl.clone());
                let c = ctx.ctx.clone();
                let op = collective_arg(&c, kind, crate::algorithms::op_arg(op))?;
                let Store::Device(d) = &mut self.inner else {
                    return collective_arg(&c, kind, Err(invalid("the container is in host memory")));
                };
                let made: Option<AnyDevice> = each!(d, AnyDevice, v => {
                    let buf = v.buffer_mut();
                    match kind {
                        "allreduce" => { py.detach(|| comm.allreduce(buf, op)).py()?; None }
                        "reduce" => { py.detach(|| comm.reduce(buf, op, root)).py()?; None }
                        "broadcast" => { py.detach(|| comm.broadcast(buf, root)).py()?; None }
                        "allgather" => {
                            let out = py.detach(|| comm.allgather(buf)).py()?;
                            let n = out.len();
                            let layout = PartitionSpec::Replicated.layout(n, c.size()).py()?;
                            Some(AnyDevice::from(py.detach(|| DeviceContainer::from_parts(&c, &[n], 0, layout, out)).py()?))
                        }
                        "allgatherv" => {
                            let (out, _) = py.detach(|| comm.allgatherv(buf)).py()?;
                            let n = out.len();
                            let layout = PartitionSpec::Replicated.layout(n, c.size()).py()?;
                            Some(AnyDevice::from(py.detach(|| DeviceContainer::from_parts(&c, &[n], 0, layout, out)).py()?))
                        }
                        "reduce_scatter" => {
                            let out = py.detach(|| comm.reduce_scatter(buf, op)).py()?;
                            let n = out.len() * c.size();
                            let layout = PartitionSpec::Block.layout(n, c.size()).py()?;
                            Some(AnyDevice::from(py.detach(|| DeviceContainer::from_parts(&c, &[n], 0, layout, out)).py()?))
                        }
                        other => return Err(invalid(format!("unknown device collective {other:?}"))),
                    }
                });
                Ok(made.map(|d| $cls { inner: Store::Device(d), ctx: self.ctx.clone_ref(py), views: Arc::new(()) }))
            }
            /// A host copy of this container (same layout). Collective. See
            /// ``dtl.to_host``.
            fn _to_host(&self, py: Python<'_>) -> PyResult<Self> {
                let c = self.ctx.get().ctx.clone();
                let inner = match &self.inner {
                    Store::Host(h) => each!(h, $any, v => {
                        let layout = v.partition().clone();
                        $any::from(py.detach(|| $core::from_layout(&c, layout, v.local().to_vec())).py()?)
                    }),
                    Store::Device(d) => each!(d, AnyDevice, v => {
                        let local = v.local_to_host();
                        c.agree_or_reject("to_host", &[], local.as_ref().err().cloned()).py()?;
                        let layout = v.partition().clone();
                        $any::from(py.detach(|| $core::from_layout(&c, layout, local.expect("agreed"))).py()?)
                    }),
                };
                Ok(Self::wrap(self.ctx.clone_ref(py), inner))
            }
            /// The rank owning global index ``i``. Not collective.
            /// Raises ``BoundsError`` unless ``0 <= i < global_size``.
            fn owner(&self, i: i64) -> PyResult<usize> {
                let n = self.global_size();
                let i = index_arg(i, n)?;
                each!(self.inner.host()?, $any, v => v.owner(i)).py()
            }
            /// ``True`` if this rank owns global index ``i`` (``False`` out of range).
            fn is_local(&self, i: i64) -> bool {
                usize::try_from(i).map(|i| meta!(&self.inner, $any, v => v.is_local(i))).unwrap_or(false)
            }
            /// The element at global index ``i``, wherever it lives, as a
            /// NumPy scalar. **Not collective**: the owner takes no part. A
            /// local element is read directly; a remote one costs one
            /// message round trip (MPI passive-target RMA: ``MPI_Win_lock``
            /// shared, ``MPI_Get``, ``MPI_Win_unlock`` on the owner's
            /// window). For many elements use the collective
            /// ``gather_indices``. Values another rank wrote with ``set``
            /// are visible once the ranks have synchronised (e.g.
            /// ``ctx.barrier()``). Raises ``BoundsError`` unless
            /// ``0 <= i < global_size``.
            fn get<'py>(&self, py: Python<'py>, i: i64) -> PyResult<Bound<'py, PyAny>> {
                let i = index_arg(i, self.global_size())?;
                each!(self.inner.host()?, $any, v => {
                    let x = py.detach(|| v.get(i)).py()?;
                    vec_to_numpy(py, vec![x], &[1])?.get_item(0)
                })
            }
            /// Writes ``value`` (converted to the dtype as NumPy does) at
            /// global index ``i``, wherever it lives. **Not collective**: a
            /// remote element costs one message round trip (``MPI_Win_lock``
            /// exclusive, ``MPI_Put``, ``MPI_Win_unlock``); a replicated
            /// container writes every rank's copy. The owner sees the value
            /// after the ranks synchronise (e.g. ``ctx.barrier()``); do not
            /// write the same element locally in the same phase. For many
            /// elements use the collective ``scatter_indices``. Raises
            /// ``BoundsError`` unless ``0 <= i < global_size``.
            fn set(&mut self, py: Python<'_>, i: i64, value: &Bound<'_, PyAny>) -> PyResult<()> {
                let i = index_arg(i, self.global_size())?;
                each!(self.inner.host_mut()?, $any, v => {
                    let x = element_value(py, value, "value")?;
                    py.detach(|| v.set(i, x)).py()
                })
            }
            /// The local part as a NumPy array sharing the container's
            /// memory (zero-copy; writes go to the container). The view keeps
            /// the container alive. Not collective.
            fn local_view<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                let me = slf.try_borrow()?;
                let token = me.views.clone();
                if let Store::Device(d) = &me.inner {
                    return each!(d, AnyDevice, v => match v.buffer().host_slice().py()? {
                        Some(x) => view_of(slf.as_any(), &token, x, &[v.local_size()]),
                        None => Err(device_only(v.placement())),
                    });
                }
                each!(me.inner.host()?, $any, v => view_of(slf.as_any(), &token, v.local(), &[v.local_size()]))
            }
            /// An RMA window over this rank's local part, in place
            /// (``dtl.Window(ctx, base=self.local_view())``): byte offsets
            /// into each rank's local part. **Collective**. The window holds
            /// a local view, so ``resize``/``redistribute`` are refused
            /// until it is freed.
            fn window<'py>(slf: &Bound<'py, Self>, py: Python<'py>) -> PyResult<Bound<'py, crate::rma::PyWindow>> {
                let view = Self::local_view(slf)?;
                let ctx = slf.try_borrow()?.ctx.clone_ref(py);
                let w = crate::rma::PyWindow::over(py, &ctx.borrow(py), &view)?;
                Bound::new(py, w)
            }
            /// A copy of the local part as a new NumPy array. Not collective.
            fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                on_device!(&self.inner, v => vec_to_numpy(py, py.detach(|| v.local_to_host()).py()?, &[v.local_size()]));
                each!(self.inner.host()?, $any, v => vec_to_numpy(py, v.local().to_vec(), &[v.local_size()]))
            }
            /// Copies ``array`` (``local_size`` elements, cast to the dtype)
            /// into the local part. Raises ``InvalidArgumentError`` on a size
            /// mismatch. Not collective.
            fn from_numpy(&mut self, py: Python<'_>, array: &Bound<'_, PyAny>) -> PyResult<()> {
                on_device!(&mut self.inner, v => {
                    let ls = [v.local_size()];
                    if let Some(src) = device_source(py, array, v.dtype(), v.local_size())? {
                        // SAFETY: `src` holds `local_size` elements of the
                        // container's dtype (checked), kept alive by `array`.
                        return py.detach(|| unsafe { v.buffer_mut().copy_from_device_ptr(src) }).py();
                    }
                    let mut tmp = vec![Default::default(); v.local_size()];
                    copy_from_numpy(py, array, &mut tmp, &ls)?;
                    py.detach(|| v.local_from_host(&tmp)).py()
                });
                each!(self.inner.host_mut()?, $any, v => {
                    let ls = [v.local_size()];
                    copy_from_numpy(py, array, v.local_mut(), &ls)
                })
            }
            /// Sets every local element to ``value``. Each rank fills its own
            /// part (call it on every rank to fill the container).
            fn fill(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
                on_device!(&mut self.inner, v => {
                    let x = fill_value(py, Some(value))?;
                    py.detach(|| v.fill(x)).py()
                });
                each!(self.inner.host_mut()?, $any, v => {
                    let x = fill_value(py, Some(value))?;
                    v.fill(x);
                    Ok(())
                })
            }
            /// Exchanges ghost elements with the neighbouring ranks and
            /// returns ``(lower, upper)``: new 1-D arrays holding the
            /// elements just before this rank's first element and just
            /// after its last. ``width`` is an int (both sides) or a
            /// ``(lower, upper)`` pair. Not ``periodic``: fewer elements at
            /// the global edges (none below the first rank). ``periodic``:
            /// the vector is a ring, the first rank gets the last elements
            /// and the last rank the first ones, always the full width
            /// (which must then be ``<= global_size``). Empty on a rank
            /// with no elements. Needs a block or weighted partition.
            /// Collective: one ``MPI_Allreduce`` checks that every rank
            /// passes the same arguments, then ``MPI_Isend``/``MPI_Irecv``
            /// between the owners. Raises ``NotSupportedError`` for a
            /// cyclic, block-cyclic (``redistribute(PARTITION_BLOCK)``
            /// first) or replicated container, ``InvalidArgumentError`` for
            /// a bad ``width``, on every rank.
            #[pyo3(signature = (width=None, periodic=false), text_signature = "(self, width=1, periodic=False)")]
            fn halo_exchange<'py>(
                &self,
                py: Python<'py>,
                width: Option<&Bound<'py, PyAny>>,
                periodic: bool,
            ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
                let c = each!(self.inner.host()?, $any, v => v.context().clone());
                let (lower, upper) = collective_arg(&c, "halo_exchange", halo_width_pair(width))?;
                let spec = HaloSpec { lower, upper, periodic };
                each!(self.inner.host()?, $any, v => {
                    let h = py.detach(|| v.halo_exchange_spec(spec)).py()?;
                    halo_to_numpy(py, h)
                })
            }
            /// This rank's elements with their ghost elements attached: a
            /// new 1-D array ``lower + local + upper`` (see
            /// ``halo_exchange``; shorter at the global edges unless
            /// ``periodic``). With ``boundary`` (a number, not periodic) the
            /// result always has ``width`` ghosts per side, those outside
            /// the global array set to ``boundary`` (``numpy.pad`` with
            /// ``mode="constant"``). Empty on a rank with no elements.
            /// Collective, as ``halo_exchange``.
            #[pyo3(
                signature = (width=None, periodic=false, boundary=None),
                text_signature = "(self, width=1, periodic=False, boundary=None)"
            )]
            fn local_with_halo<'py>(
                &self,
                py: Python<'py>,
                width: Option<&Bound<'py, PyAny>>,
                periodic: bool,
                boundary: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let c = each!(self.inner.host()?, $any, v => v.context().clone());
                let op = "local_with_halo";
                let (lower, upper) = collective_arg(&c, op, halo_width_pair(width))?;
                each!(self.inner.host()?, $any, v => {
                    let out = match collective_arg(&c, op, halo_boundary(py, boundary, periodic))? {
                        None => py.detach(|| v.local_with_halo_spec(HaloSpec { lower, upper, periodic })).py()?,
                        Some(b) => py.detach(|| v.local_padded((lower, upper), Boundary::Constant(b))).py()?,
                    };
                    let n = out.len();
                    vec_to_numpy(py, out, &[n])
                })
            }
            /// The whole container in global order as a NumPy array on
            /// ``root``; ``None`` elsewhere (``MPI_Gatherv``). Collective.
            #[pyo3(signature = (root=0))]
            fn gather<'py>(&self, py: Python<'py>, root: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
                let n = self.global_size();
                each!(self.inner.host()?, $any, v => {
                    match py.detach(|| v.gather(root)).py()? {
                        Some(all) => Ok(Some(vec_to_numpy(py, all, &[n])?)),
                        None => Ok(None),
                    }
                })
            }
            /// The whole container in global order on every rank
            /// (``MPI_Allgatherv``). Collective.
            fn gather_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let n = self.global_size();
                on_device!(&self.inner, v => vec_to_numpy(py, py.detach(|| v.gather_all()).py()?, &[n]));
                each!(self.inner.host()?, $any, v => {
                    let all = py.detach(|| v.gather_all()).py()?;
                    vec_to_numpy(py, all, &[n])
                })
            }
            /// Moves the elements to another partition (same global order)
            /// with one ``MPI_Alltoallv``, holding at most about twice the
            /// local part. Collective. Raises ``DTLError`` while local views
            /// exist (the local part is reallocated).
            #[pyo3(signature = (partition, block_size=None, weights=None))]
            fn redistribute(
                &mut self,
                py: Python<'_>,
                partition: i64,
                block_size: Option<i64>,
                weights: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<()> {
                let spec = spec_arg(&each!(self.inner.host()?, $any, v => v.context().clone()), partition, 0, block_size, weights)?;
                let c = each!(self.inner.host()?, $any, v => v.context().clone());
                refuse_while_viewed(py, &c, &self.views, "redistribute")?;
                each!(self.inner.host_mut()?, $any, v => py.detach(|| v.redistribute(&spec)).py())
            }
            /// The block size of a ``PARTITION_BLOCK_CYCLIC`` container, else ``None``.
            #[getter]
            fn block_size(&self) -> Option<usize> {
                meta!(&self.inner, $any, v => match v.partition() {
                    dtl_core::partition::Layout::BlockCyclic(b) => Some(b.block_size()),
                    _ => None,
                })
            }
            /// Every rank's local size, indexed by rank (pure; no communication).
            #[getter]
            fn local_sizes(&self) -> Vec<usize> {
                meta!(&self.inner, $any, v => {
                    let p = v.partition();
                    (0..p.num_ranks()).map(|r| p.local_size(r)).collect()
                })
            }
            /// The global indices of this rank's elements, in local order.
            fn local_indices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let me = meta!(&self.inner, $any, v => v.context().rank());
                let idx: Vec<i64> = meta!(&self.inner, $any, v => v.partition().local_indices(me).map(|g| g as i64).collect());
                vec_to_numpy(py, idx.clone(), &[idx.len()])
            }
            /// The values at the global indices ``idx`` (an integer array of
            /// any shape; duplicates allowed), as an array of ``idx``'s
            /// shape. Every rank passes its own indices. Collective (one
            /// ``MPI_Alltoallv`` of requests, one of replies; a replicated
            /// container answers from this rank's copy). Raises
            /// ``BoundsError`` on every rank if any rank passes an index
            /// outside ``0..global_size``.
            fn gather_indices<'py>(&self, py: Python<'py>, idx: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                each!(self.inner.host()?, $any, v => crate::access::gather_indices(py, &**v, idx))
            }
            /// Writes ``values`` (one per index, or a scalar) at the global
            /// indices ``idx`` on their owners (on every rank if replicated).
            /// Duplicates: the last writer in (rank, position) order wins.
            /// Collective. Raises ``BoundsError`` / ``InvalidArgumentError``
            /// on every rank, writing nothing, if any rank's arguments are bad.
            fn scatter_indices(&mut self, py: Python<'_>, idx: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::access::scatter_indices(py, &mut **v, idx, values))
            }
            /// ``(lo, hi)``: the local indices of this rank's elements whose
            /// global indices lie in ``start..stop`` (a contiguous range for
            /// every partition). Pure. Raises ``BoundsError`` unless
            /// ``0 <= start <= stop <= global_size``.
            fn local_range(&self, start: i64, stop: i64) -> PyResult<(usize, usize)> {
                each!(self.inner.host()?, $any, v => crate::access::local_range(v.partition(), v.context().rank(), start, stop))
            }
            // ------------------------------------------------ algorithms
            // (dtl_core::algorithms; conversion in crate::algorithms)

            /// The execution policy of this container's algorithms:
            /// ``EXEC_SEQ`` (0: the calling thread) or ``EXEC_PAR`` (1, the
            /// default: rayon's threads, for local parts of at least 65 536
            /// elements). Setting it is local; any other value raises
            /// ``InvalidArgumentError``.
            #[getter]
            fn execution(&self) -> i64 {
                match &self.inner {
                    Store::Host(h) => each!(h, $any, v => crate::algorithms::execution_code(v.execution())),
                    Store::Device(_) => crate::algorithms::execution_code(dtl_core::Execution::Par),
                }
            }
            #[setter]
            fn set_execution(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
                let e = crate::algorithms::execution_arg(value)?;
                each!(self.inner.host_mut()?, $any, v => v.set_execution(e));
                Ok(())
            }
            /// ``op`` (default ``SUM``) over all elements, as a NumPy scalar
            /// of the dtype, on every rank; the op's identity when empty
            /// (e.g. 0 for ``SUM``, the dtype's largest value or ``inf``
            /// for ``MIN``). Integers wrap; float sums are pairwise like
            /// ``numpy.sum``; ``MIN``/``MAX`` propagate NaN. Collective:
            /// each rank reduces its part, then one ``MPI_Allgather`` of the
            /// partial results, combined in rank order (a replicated
            /// container answers from its copy). Raises
            /// ``InvalidArgumentError`` on every rank for an unknown op, a
            /// logical or bitwise op on floats, or ranks passing different ops.
            ///
            /// ``deterministic=True`` gives the bits one process gets, at
            /// any number of ranks and under any partition (fixed chunks of
            /// 32 768 elements reduced whole, combined in a fixed tree);
            /// it costs two more small ``MPI_Allgatherv``, and a copy to the
            /// block layout for cyclic and block-cyclic containers.
            #[pyo3(signature = (op=None, deterministic=false))]
            fn reduce<'py>(
                &self,
                py: Python<'py>,
                op: Option<&Bound<'py, PyAny>>,
                deterministic: bool,
            ) -> PyResult<Bound<'py, PyAny>> {
                on_device!(&self.inner, v => {
                    let c = v.context().clone();
                    let op = collective_arg(&c, "reduce", crate::algorithms::op_arg(op))?;
                    let x = py.detach(|| v.reduce(op)).py()?;
                    Ok(x.into_pyobject(py)?.into_any())
                });
                each!(self.inner.host()?, $any, v => crate::algorithms::reduce_any(py, &**v, op, deterministic))
            }
            /// Sorts the container in global order, ascending (descending
            /// with ``reverse``), NaN last either way; every rank keeps its
            /// local size. ``stable=True`` keeps equal elements in their
            /// global order (visible only for NaNs of different bits).
            /// Local views stay valid. Collective: a sample sort with exact
            /// splitters (a few rounds of small ``MPI_Allgather`` /
            /// ``MPI_Allreduce``), one ``MPI_Alltoallv``, a local merge;
            /// cyclic and block-cyclic containers go through the block
            /// layout (one more ``MPI_Alltoallv``). Raises
            /// ``InvalidArgumentError`` on every rank if ranks pass different
            /// ``reverse``. ``dtl.sort(v)`` is faster on most machines: it
            /// sorts each local part with NumPy's SIMD sort first.
            #[pyo3(signature = (reverse=false, stable=false))]
            fn sort(&mut self, py: Python<'_>, reverse: bool, stable: bool) -> PyResult<()> {
                on_device!(&mut self.inner, v => py.detach(|| v.sort(reverse)).py());
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::sort(py, &mut **v, reverse, stable))
            }
            /// ``sort(reverse)`` for parts each rank has already sorted in
            /// ascending order with NaNs last (``local_view().sort()``, NumPy's
            /// SIMD sort): what ``dtl.sort`` does, faster than the core's own
            /// local sort. Collective; ``InvalidArgumentError`` on every rank if
            /// a part is not sorted.
            #[pyo3(signature = (reverse=false))]
            fn _sort_presorted(&mut self, py: Python<'_>, reverse: bool) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::sort_presorted(py, &mut **v, reverse))
            }
            /// For ``dtl.async_reduce``: :meth:`reduce` with the container
            /// lent ``ctx`` (``Context._async_context()``, the async lane),
            /// so that its collectives go over the lane's communicator. The
            /// container stays borrowed for the whole call: using it from
            /// another thread meanwhile raises ``RuntimeError``. Collective
            /// over ``ctx``.
            #[pyo3(signature = (ctx, op=None, deterministic=false))]
            fn _reduce_on<'py>(
                &mut self,
                py: Python<'py>,
                ctx: PyRef<'py, PyContext>,
                op: Option<&Bound<'py, PyAny>>,
                deterministic: bool,
            ) -> PyResult<Bound<'py, PyAny>> {
                let lane = ctx.ctx.clone();
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::reduce_on(py, &mut **v, &lane, op, deterministic))
            }
            /// For ``dtl.async_sort``: :meth:`sort` with the container lent
            /// ``ctx`` (the async lane), as :meth:`_reduce_on`. Collective
            /// over ``ctx``.
            #[pyo3(signature = (ctx, reverse=false, stable=false))]
            fn _sort_on(&mut self, py: Python<'_>, ctx: PyRef<'_, PyContext>, reverse: bool, stable: bool) -> PyResult<()> {
                let lane = ctx.ctx.clone();
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::sort_on(py, &mut **v, &lane, reverse, stable))
            }
            /// Sorts this rank's elements only (NaN last). Not collective.
            #[pyo3(signature = (reverse=false))]
            fn sort_local(&mut self, reverse: bool) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => v.sort_local(reverse));
                Ok(())
            }
            /// ``True`` if the elements are in sorted order (ascending, or
            /// descending with ``reverse``; NaN last), on every rank.
            /// Collective (one ``MPI_Allgather`` of each rank's ends; a block
            /// copy for cyclic layouts).
            #[pyo3(signature = (reverse=false))]
            fn is_sorted(&self, py: Python<'_>, reverse: bool) -> PyResult<bool> {
                each!(self.inner.host()?, $any, v => crate::algorithms::is_sorted(py, &**v, reverse))
            }
            /// The element a sort would put at global index ``k`` (negative
            /// ``k`` counts from the end), a NumPy scalar, on every rank;
            /// the container is not modified. Collective: a distributed
            /// selection (rounds of ``MPI_Allgather`` + ``MPI_Allreduce``),
            /// no sort. Raises ``BoundsError`` on every rank for ``k``
            /// outside ``-n..n``.
            fn nth_element<'py>(&self, py: Python<'py>, k: i64) -> PyResult<Bound<'py, PyAny>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::nth_element(py, &**v, k))
            }
            /// The median of all elements as a float, like
            /// ``numpy.median`` (NaN if any element is NaN or the container
            /// is empty). Collective (one or two selections).
            fn median(&self, py: Python<'_>) -> PyResult<f64> {
                each!(self.inner.host()?, $any, v => crate::algorithms::quantile(py, &**v, None))
            }
            /// The ``q``-th percentile, ``0 <= q <= 100``, with NumPy's
            /// default linear interpolation (``numpy.percentile(x, q)``); NaN
            /// if any element is NaN or the container is empty. Collective.
            /// Raises ``InvalidArgumentError`` on every rank for ``q``
            /// outside ``[0, 100]``.
            fn percentile(&self, py: Python<'_>, q: f64) -> PyResult<f64> {
                each!(self.inner.host()?, $any, v => crate::algorithms::quantile(py, &**v, Some(q)))
            }
            /// ``op`` over this rank's elements only (the op's identity if
            /// none). Not collective.
            #[pyo3(signature = (op=None))]
            fn reduce_local<'py>(
                &self,
                py: Python<'py>,
                op: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::reduce_local(py, &**v, op))
            }
            /// ``sum(self[i] * other[i])`` over all elements (products in
            /// the dtype, pairwise sum), on every rank. ``other`` is a
            /// vector or array of the same dtype, global size and
            /// partition. Collective (one ``MPI_Allgather``). Raises
            /// ``InvalidArgumentError`` on every rank otherwise.
            fn dot<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::dot(py, &**v, other, false))
            }
            /// The inner product of this rank's elements only. Not collective.
            fn dot_local<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::dot(py, &**v, other, true))
            }
            /// In place: element ``i`` becomes ``op`` over elements
            /// ``0..=i`` in global order (like ``numpy.cumsum`` for
            /// ``SUM``). Local views stay valid. Collective: block and
            /// weighted layouts scan locally and exchange rank totals (one
            /// ``MPI_Allgather``); cyclic and block-cyclic ones scan a block
            /// copy (two ``MPI_Alltoallv`` more); a replicated container
            /// scans each copy. Errors as for ``reduce``.
            #[pyo3(signature = (op=None))]
            fn inclusive_scan(&mut self, py: Python<'_>, op: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
                on_device!(&mut self.inner, v => {
                    let c = v.context().clone();
                    let op = collective_arg(&c, "inclusive_scan", crate::algorithms::op_arg(op))?;
                    py.detach(|| v.inclusive_scan(op)).py()
                });
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::scan(py, &mut **v, op, None, false))
            }
            /// In place: element ``i`` becomes ``init op x[0] op … op
            /// x[i-1]`` in global order (element 0 becomes ``init``;
            /// ``init=None`` is the op's identity, 0 for ``SUM``).
            /// Collective, as ``inclusive_scan``.
            #[pyo3(signature = (op=None, init=None))]
            fn exclusive_scan(
                &mut self,
                py: Python<'_>,
                op: Option<&Bound<'_, PyAny>>,
                init: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<()> {
                on_device!(&mut self.inner, v => {
                    let c = v.context().clone();
                    let args = crate::algorithms::op_arg(op).and_then(|op| {
                        let init = match init.filter(|i| !i.is_none()) {
                            Some(i) => element_value(py, i, "init")?,
                            None => op.identity(),
                        };
                        Ok((op, init))
                    });
                    let (op, init) = collective_arg(&c, "exclusive_scan", args)?;
                    py.detach(|| v.exclusive_scan(op, init)).py()
                });
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::scan(py, &mut **v, op, Some(init), false))
            }
            /// ``inclusive_scan`` of this rank's part alone. Not collective.
            #[pyo3(signature = (op=None))]
            fn inclusive_scan_local(&mut self, py: Python<'_>, op: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::scan(py, &mut **v, op, None, true))
            }
            /// ``exclusive_scan`` of this rank's part alone. Not collective.
            #[pyo3(signature = (op=None, init=None))]
            fn exclusive_scan_local(
                &mut self,
                py: Python<'_>,
                op: Option<&Bound<'_, PyAny>>,
                init: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::scan(py, &mut **v, op, Some(init), true))
            }
            /// The smallest global index whose element equals ``value``
            /// (compared as ``numpy`` compares ``array == value``; NaN
            /// matches nothing), or ``None``, on every rank. Collective
            /// (one ``MPI_Allreduce(MIN)``). Raises ``InvalidArgumentError``
            /// on every rank if ``value`` is not a real number.
            fn find(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::find(py, &**v, value))
            }
            /// How many elements equal ``value``, on every rank. Collective
            /// (one ``MPI_Allreduce(SUM)``). Errors as for ``find``.
            fn count(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
                each!(self.inner.host()?, $any, v => crate::algorithms::count(py, &**v, value))
            }
            /// ``(index, value)`` of the first smallest element (like
            /// ``numpy.argmin``: the first NaN wins), or ``None`` when
            /// empty, on every rank. Collective (``MPI_Allgather`` of one
            /// candidate per rank).
            fn min_element<'py>(&self, py: Python<'py>) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::best(py, &**v, false))
            }
            /// ``(index, value)`` of the first largest element (like
            /// ``numpy.argmax``), or ``None``. Collective.
            fn max_element<'py>(&self, py: Python<'py>) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::best(py, &**v, true))
            }
            /// ``(min_element(), max_element())``, or ``None`` when empty.
            /// Collective.
            fn minmax<'py>(&self, py: Python<'py>) -> PyResult<crate::algorithms::MinMax<'py>> {
                each!(self.inner.host()?, $any, v => crate::algorithms::minmax(py, &**v))
            }
            /// Sets element ``i`` (global index) to ``start + i`` in the
            /// dtype's arithmetic (integers wrap). Not collective: each rank
            /// sets its part. Raises ``InvalidArgumentError`` if ``start``
            /// does not fit the dtype.
            #[pyo3(signature = (start=None))]
            fn iota(&mut self, py: Python<'_>, start: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::iota(py, &mut **v, start))
            }
            /// Replaces every local element equal to ``old`` (NaN equals
            /// nothing) by ``new``. Not collective. Raises
            /// ``InvalidArgumentError`` if ``new`` does not fit the dtype.
            fn replace(&mut self, py: Python<'_>, old: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> PyResult<()> {
                each!(self.inner.host_mut()?, $any, v => crate::algorithms::replace(py, &mut **v, old, new))
            }
            /// Copies every element of ``src`` (a vector or array of the
            /// same dtype and global size, any partition) into this
            /// container, keeping this one's partition. Same partition: a
            /// local copy (not collective); different partitions: one
            /// ``MPI_Alltoallv`` (collective). Raises
            /// ``InvalidArgumentError`` on a dtype or size mismatch.
            fn copy_from(slf: &Bound<'_, Self>, src: &Bound<'_, PyAny>) -> PyResult<()> {
                if slf.as_any().is(src) {
                    return Ok(());
                }
                let py = slf.py();
                let peer = crate::algorithms::Peer::borrow(src, "src")?;
                let mut me = slf.try_borrow_mut()?;
                each!(me.inner.host_mut()?, $any, v => crate::algorithms::copy_from(py, &mut **v, &peer))
            }
            /// The global index of local element ``l``. Pure. Raises
            /// ``BoundsError`` unless ``0 <= l < local_size``.
            fn to_global(&self, l: i64) -> PyResult<usize> {
                each!(self.inner.host()?, $any, v => crate::algorithms::to_global(&**v, l))
            }
            /// The local index of global index ``i`` if this rank holds it,
            /// else ``None``. Pure.
            fn to_local(&self, i: i64) -> Option<usize> {
                usize::try_from(i).ok().and_then(|i| meta!(&self.inner, $any, v => v.to_local(i)))
            }
            fn __len__(&self) -> usize {
                self.global_size()
            }
            $($extra)*
            fn __repr__(&self) -> String {
                format!(
                    "<dtl.{} global_size={} local_size={} local_offset={} dtype={}{}>",
                    $py_name,
                    self.global_size(),
                    self.local_size(),
                    self.local_offset(),
                    self.dt(),
                    placement_note(&self.inner)
                )
            }
        }

        impl $cls {
            pub(crate) fn dt(&self) -> DType {
                match &self.inner {
                    Store::Host(h) => each!(h, $any, v => element_dtype(v.local())),
                    Store::Device(d) => each!(d, AnyDevice, v => v.dtype()),
                }
            }
            /// The core `Distributed1D<T>` behind this object, for a
            /// downcast to the caller's `T` (`crate::algorithms::Peer`).
            pub(crate) fn core_any(&self) -> &dyn std::any::Any {
                match &self.inner {
                    Store::Host(h) => each!(h, $any, v => &**v as &dyn std::any::Any),
                    Store::Device(_) => &NO_HOST_CONTAINER,
                }
            }
        }
    };
}

/// The asynchronous algorithms run a tensor's collectives on the async lane
/// from a worker thread; an inner-axis split would first move the data over
/// the tensor's own communicator there, so it is refused.
fn in_place_for_async(in_place: bool) -> PyResult<()> {
    if in_place {
        return Ok(());
    }
    Err(crate::errors::to_py(dtl_core::Error::NotSupported(
        "async_reduce / async_sort of a tensor split along an inner axis: redistribute it along axis 0 \
         first (or call dtl.reduce / dtl.sort)"
            .into(),
    )))
}

impl PyDistributedTensor {
    pub(crate) fn dt(&self) -> DType {
        match &self.inner {
            Store::Host(h) => each!(h, AnyTensor, v => element_dtype(v.local())),
            Store::Device(d) => each!(d, AnyDevice, v => v.dtype()),
        }
    }
    /// The core `DistributedTensor<T>` behind this object, for a downcast.
    pub(crate) fn core_any(&self) -> &dyn std::any::Any {
        match &self.inner {
            Store::Host(h) => each!(h, AnyTensor, v => v as &dyn std::any::Any),
            Store::Device(_) => &NO_HOST_CONTAINER,
        }
    }
}

fn element_dtype<T: Element>(_: &[T]) -> DType {
    T::DTYPE
}

/// `np.asarray(obj)` as an untyped array.
/// Non-native byte order (e.g. `'>f8'`) is converted to native.
fn as_array<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    let np = py.import("numpy")?;
    let mut a = np.getattr("asarray")?.call1((obj,))?;
    let dt = a.getattr("dtype")?;
    if !dt.getattr("isnative")?.extract::<bool>()? {
        a = a.call_method1("astype", (dt.call_method1("newbyteorder", ("=",))?,))?;
    }
    Ok(a.cast_into::<PyUntypedArray>()?)
}

/// Validates the root's payload and shares its dtype with every rank
/// (`MPI_Bcast` of one integer). Returns the dtype and, on the root, the array.
fn root_payload<'py>(
    py: Python<'py>,
    c: &dtl_core::Context,
    data: &Bound<'py, PyAny>,
    root: usize,
    one_d: bool,
) -> PyResult<(DType, Option<Bound<'py, PyUntypedArray>>)> {
    let mut code: i64 = -1;
    let mut arr = None;
    let mut err = None;
    if c.rank() == root {
        match as_array(py, data).and_then(|a| dtype::of_array(py, &a, "data").map(|d| (a, d))) {
            Ok((a, _)) if one_d && a.ndim() != 1 => {
                err = Some(invalid(format!("data must be 1-D for a 1-D container, got shape {:?}", a.shape())))
            }
            Ok((a, d)) => {
                code = d as i64;
                arr = Some(a);
            }
            Err(e) => err = Some(e),
        }
    }
    let got = py.detach(|| c.broadcast_vec(&[code], root)).py()?[0];
    if let Some(e) = err {
        return Err(e);
    }
    let d = DType::from_code(got as i32)
        .ok_or_else(|| invalid(format!("the root rank {root} rejected its data; see the error on that rank")))?;
    Ok((d, arr))
}

one_d_class!(
    "DistributedVector",
    PyDistributedVector,
    AnyVector,
    DistributedVector,
    "A resizable 1-D distributed container.\n\n``DistributedVector(ctx, size, dtype=np.float64, fill=None, partition=PARTITION_BLOCK, placement=PLACEMENT_HOST)``\n\nElements are block-partitioned over the context's ranks. Construction is\ncollective (every rank passes the same size and dtype). Raises\n``InvalidArgumentError`` for a negative size or an unsupported dtype.",
    {
    /// Changes the global size to ``new_size``, keeping the first
    /// ``min(old, new)`` elements in global order; new elements are ``fill``
    /// (default 0). Collective (``MPI_Alltoallv``). Raises
    /// ``DTLError`` (``DTL_ERROR_INVALID_STATE``) while local views exist.
    #[pyo3(signature = (new_size, fill=None))]
    fn resize(&mut self, py: Python<'_>, new_size: &Bound<'_, PyAny>, fill: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let n = size_arg(new_size, "new_size")?;
        let c = each!(self.inner.host()?, AnyVector, v => v.context().clone());
        refuse_while_viewed(py, &c, &self.views, "resize")?;
        each!(self.inner.host_mut()?, AnyVector, v => {
            let x = fill_value(py, fill)?;
            py.detach(|| v.resize_with(n, x)).py()
        })
    }
}
);
one_d_class!(
    "DistributedArray",
    PyDistributedArray,
    AnyArray,
    DistributedArray,
    "A fixed-size 1-D distributed container (no ``resize``).\n\n``DistributedArray(ctx, size, dtype=np.float64, fill=None, partition=PARTITION_BLOCK, placement=PLACEMENT_HOST)``\n\nConstruction is collective.",
    {}
);

/// An N-dimensional distributed array, split along axis 0 (rows).
///
/// ``DistributedTensor(ctx, shape, dtype=np.float64, fill=None, partition=PARTITION_BLOCK, placement=PLACEMENT_HOST)``
///
/// Rank ``r`` holds a contiguous block of rows; ``local_view()`` is that
/// block as a NumPy array of ``local_shape`` (zero-copy). Construction is
/// collective.
#[pyclass(name = "DistributedTensor", module = "dtl", weakref)]
pub struct PyDistributedTensor {
    inner: Store<AnyTensor>,
    ctx: Py<PyContext>,
    views: Arc<()>,
}

/// An axis in `0..ndim` (negative counts from the end, as NumPy does).
fn axis_arg(axis: i64, ndim: usize) -> PyResult<usize> {
    let a = if axis < 0 { axis + ndim as i64 } else { axis };
    if a < 0 || a as usize >= ndim.max(1) {
        return Err(invalid(format!("axis must be in -{ndim}..{ndim} for a {ndim}-d tensor, got {axis}")));
    }
    Ok(a as usize)
}

fn shape_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter().map(|d| size_arg(&d, "shape entry")).collect()
    } else if obj.hasattr("__index__")? {
        Ok(vec![size_arg(obj, "shape")?])
    } else {
        let items: Vec<Bound<'_, PyAny>> = obj
            .try_iter()
            .map_err(|_| invalid(format!("shape must be an int or a tuple of ints, got {obj}")))?
            .collect::<PyResult<_>>()?;
        items.iter().map(|d| size_arg(d, "shape entry")).collect()
    }
}

#[pymethods]
impl PyDistributedTensor {
    #[new]
    #[pyo3(signature = (ctx, shape, dtype=None, fill=None, partition=0, placement=0, block_size=None, device_id=None, weights=None, axis=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        ctx: Py<PyContext>,
        shape: &Bound<'_, PyAny>,
        dtype: Option<&Bound<'_, PyAny>>,
        fill: Option<&Bound<'_, PyAny>>,
        partition: i64,
        placement: i64,
        block_size: Option<i64>,
        device_id: Option<i32>,
        weights: Option<&Bound<'_, PyAny>>,
        axis: i64,
    ) -> PyResult<Self> {
        let shape = shape_arg(shape)?;
        let d = dtype::parse(py, dtype)?;
        let spec = spec_arg(&ctx.get().ctx, partition, placement, block_size, weights)?;
        let axis = axis_arg(axis, shape.len())?;
        let c = ctx.get().ctx.clone();
        let p = placement_arg(&c, placement)?;
        if p != Placement::Host {
            let dev = make_any!(AnyDevice, d, T => {
                let v: T = fill_value::<T>(py, fill)?;
                py.detach(|| DeviceContainer::<T>::tensor(&c, &shape, axis, v, &spec, p, device_id)).py()?
            });
            return Ok(PyDistributedTensor { inner: Store::Device(dev), ctx, views: Arc::new(()) });
        }
        let inner = make_any!(AnyTensor, d, T => {
            let v: T = fill_value::<T>(py, fill)?;
            py.detach(|| DistributedTensor::<T>::with_layout(&c, &shape, v, axis, &spec)).py()?
        });
        Ok(PyDistributedTensor { inner: Store::Host(inner), ctx, views: Arc::new(()) })
    }

    /// Distributes the root's N-d array by rows (``MPI_Bcast`` of dtype and
    /// shape, then ``MPI_Scatterv``); other ranks may pass ``None``.
    /// Collective.
    #[classmethod]
    #[pyo3(signature = (ctx, data, root=0, partition=0, block_size=None, weights=None, axis=0))]
    #[allow(clippy::too_many_arguments)]
    fn scatter_from(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        ctx: Py<PyContext>,
        data: &Bound<'_, PyAny>,
        root: usize,
        partition: i64,
        block_size: Option<i64>,
        weights: Option<&Bound<'_, PyAny>>,
        axis: i64,
    ) -> PyResult<Self> {
        let c = ctx.get().ctx.clone();
        let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
        let axis = usize::try_from(axis).map_err(|_| invalid(format!("axis must be >= 0, got {axis}")))?;
        let (d, arr) = root_payload(py, &c, data, root, false)?;
        let inner = make_any!(AnyTensor, d, T => {
            let owned = match &arr {
                Some(a) => {
                    let typed = a.cast::<PyArrayDyn<T>>()?;
                    Some(typed.to_owned_array())
                }
                None => None,
            };
            py.detach(|| DistributedTensor::<T>::scatter_from_with(&c, owned.as_ref().map(|a| a.view()), root, axis, &spec)).py()?
        });
        Ok(PyDistributedTensor { inner: Store::Host(inner), ctx, views: Arc::new(()) })
    }

    /// Reads the ``.npy`` file at ``path`` (``str`` or ``os.PathLike``;
    /// 1 to 8 dimensions, C or Fortran order, either byte order) into a new
    /// tensor split along ``axis`` (negative counts from the end) by
    /// ``partition``; dtype and shape come from the file. Rank 0 validates
    /// the header and broadcasts it, every rank reads a block of rows in one
    /// ``MPI_File_read_at_all`` (rows of the last axis for Fortran-order
    /// files, transposed locally), then one ``MPI_Alltoallv`` moves them to
    /// ``axis`` and ``partition`` unless they are already there. Collective.
    /// Raises ``InvalidArgumentError`` on every rank, with the same message
    /// naming the file, if it is missing, not a ``.npy`` file, truncated, of
    /// an unsupported dtype, 0-d, or ``axis`` is out of range;
    /// ``CommunicationError`` for other I/O failures. With ``dtype``
    /// given, a file of another dtype is an ``InvalidArgumentError`` too.
    #[classmethod]
    #[pyo3(signature = (ctx, path, partition=0, axis=0, block_size=None, weights=None, dtype=None))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        ctx: Py<PyContext>,
        path: &Bound<'_, PyAny>,
        partition: i64,
        axis: i64,
        block_size: Option<i64>,
        weights: Option<&Bound<'_, PyAny>>,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let c = ctx.get().ctx.clone();
        let spec = spec_arg(&ctx.get().ctx, partition, 0, block_size, weights)?;
        let path = crate::io::path_arg(path)?;
        let want = match dtype.filter(|d| !d.is_none()) {
            Some(d) => Some(dtype::parse(py, Some(d))?),
            None => None,
        };
        let h = crate::io::header(py, &c, &path)?;
        let axis = crate::io::file_axis(axis, h.shape.len(), &path)?;
        let inner = make_any!(AnyTensor, want.unwrap_or(h.dtype), T => {
            py.detach(|| DistributedTensor::<T>::load(&c, &path, axis, &spec)).py()?
        });
        Ok(PyDistributedTensor { inner: Store::Host(inner), ctx, views: Arc::new(()) })
    }

    /// Writes the tensor to ``path`` (``str`` or ``os.PathLike``) as an
    /// N-d C-order ``.npy`` file that ``numpy.load`` reads (the bytes
    /// ``numpy.save`` writes for the gathered array). A tensor split along
    /// axis 0 by a block or weighted partition is written in place (one
    /// ``MPI_File_write_at_all``); other partitions and axes are first
    /// copied to blocks of axis 0 (one ``MPI_Alltoallv``, about the local
    /// block in extra memory). Written under a temporary name and renamed
    /// once complete, so a failed save leaves ``path`` untouched.
    /// Collective. Raises ``InvalidArgumentError`` or ``CommunicationError``
    /// on every rank.
    fn save(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<()> {
        let path = crate::io::path_arg(path)?;
        each!(self.inner.host()?, AnyTensor, v => py.detach(|| v.save(&path)).py())
    }

    /// The :class:`Context` the tensor lives on.
    #[getter]
    fn context(&self, py: Python<'_>) -> Py<PyContext> {
        self.ctx.clone_ref(py)
    }
    /// The global shape (a tuple).
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, each!(self.inner.host()?, AnyTensor, v => v.shape().to_vec()))
    }
    /// The shape of this rank's block (axis 0 is the local row count).
    #[getter]
    fn local_shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, each!(self.inner.host()?, AnyTensor, v => v.local_shape()))
    }
    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.ndim())
    }
    /// Total number of elements (product of ``shape``).
    #[getter]
    fn global_size(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.global_size())
    }
    /// Number of elements on this rank.
    #[getter]
    fn local_size(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.local_size())
    }
    /// Global row index (axis 0) of this rank's first row.
    #[getter]
    fn local_offset(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.local_offset())
    }
    /// The NumPy dtype of the elements.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDescr> {
        dtype::to_numpy(py, self.dt())
    }
    /// The partition policy of the split axis (a ``PARTITION_*`` value).
    #[getter]
    fn partition_policy(&self) -> i32 {
        meta!(&self.inner, AnyTensor, v => v.partition().kind() as i32)
    }
    /// The axis the tensor is split along.
    #[getter]
    fn axis(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.split_axis())
    }
    /// Moves the data to be split along ``axis`` (default: the current one)
    /// by ``partition``, with one ``MPI_Alltoallv``; the global content is
    /// unchanged. Collective. Raises ``DTLError`` while local views exist.
    #[pyo3(signature = (partition=0, axis=None, block_size=None, weights=None))]
    fn redistribute(
        &mut self,
        py: Python<'_>,
        partition: i64,
        axis: Option<i64>,
        block_size: Option<i64>,
        weights: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let spec = spec_arg(
            &each!(self.inner.host()?, AnyTensor, v => v.context().clone()),
            partition,
            0,
            block_size,
            weights,
        )?;
        let ndim = self.ndim();
        let axis = match axis {
            Some(a) => axis_arg(a, ndim)?,
            None => meta!(&self.inner, AnyTensor, v => v.split_axis()),
        };
        let c = each!(self.inner.host()?, AnyTensor, v => v.context().clone());
        refuse_while_viewed(py, &c, &self.views, "redistribute")?;
        each!(self.inner.host_mut()?, AnyTensor, v => py.detach(|| v.redistribute(axis, &spec)).py())
    }
    /// The placement policy of the local blocks (``PLACEMENT_HOST``,
    /// ``PLACEMENT_DEVICE`` or ``PLACEMENT_UNIFIED``;
    /// ``PLACEMENT_DEVICE_PREFERRED`` reports what it resolved to).
    #[getter]
    fn placement_policy(&self) -> i32 {
        placement_of(&self.inner).0
    }
    /// The CUDA device of the local block, ``-1`` for host memory.
    #[getter]
    fn device_id(&self) -> i32 {
        placement_of(&self.inner).1
    }
    /// ``True`` if the host can read the local block (host or unified
    /// memory).
    #[getter]
    fn is_host_accessible(&self) -> bool {
        placement_of(&self.inner).2
    }
    /// The ``__cuda_array_interface__`` (v3) of the local block of a device
    /// or unified tensor (zero copy). ``AttributeError`` for host tensors.
    #[getter]
    fn __cuda_array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        self.inner.cuda_array_interface(py)
    }
    /// ``(device_type, device_id)`` of the local block (DLPack).
    fn __dlpack_device__(&self) -> (i32, i32) {
        crate::dlpack::device_of(placement_of(&self.inner))
    }
    /// A DLPack capsule over the local block (zero copy; keeps the tensor
    /// alive). ``stream`` is ignored: dtl's work is complete when its calls
    /// return. Not collective.
    #[pyo3(signature = (stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        slf: &Bound<'py, Self>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (stream, max_version, dl_device, copy);
        let me = slf.try_borrow()?;
        me.inner.dlpack(slf.as_any(), &me.views)
    }
    /// A copy of this tensor on a GPU (``PLACEMENT_DEVICE`` by default, or
    /// ``PLACEMENT_UNIFIED``), same shape, axis and layout. Collective. See
    /// ``dtl.to_device``.
    #[pyo3(signature = (device_id=None, placement=1))]
    fn _to_device(&self, py: Python<'_>, device_id: Option<i32>, placement: i64) -> PyResult<Self> {
        let c = self.ctx.get().ctx.clone();
        let p = placement_arg(&c, placement)?;
        let dev = match &self.inner {
            Store::Host(h) => each!(h, AnyTensor, v => {
                AnyDevice::from(py.detach(|| DeviceContainer::from_tensor(v, p, device_id)).py()?)
            }),
            Store::Device(d) => each!(d, AnyDevice, v => {
                let host = py.detach(|| v.to_tensor()).py()?;
                AnyDevice::from(py.detach(|| DeviceContainer::from_tensor(&host, p, device_id)).py()?)
            }),
        };
        Ok(PyDistributedTensor { inner: Store::Device(dev), ctx: self.ctx.clone_ref(py), views: Arc::new(()) })
    }
    /// A host copy of this tensor. Collective. See ``dtl.to_host``.
    fn _to_host(&self, py: Python<'_>) -> PyResult<Self> {
        let inner = match &self.inner {
            Store::Host(h) => each!(h, AnyTensor, v => {
                let (c, shape, axis, layout) = (v.context().clone(), v.shape().to_vec(), v.split_axis(), v.partition().clone());
                AnyTensor::from(
                    py.detach(|| DistributedTensor::from_layout(&c, &shape, axis, layout, v.local().to_vec())).py()?,
                )
            }),
            Store::Device(d) => each!(d, AnyDevice, v => AnyTensor::from(py.detach(|| v.to_tensor()).py()?)),
        };
        Ok(PyDistributedTensor { inner: Store::Host(inner), ctx: self.ctx.clone_ref(py), views: Arc::new(()) })
    }
    /// The rank owning index ``row`` of the split axis. Raises
    /// ``BoundsError`` unless ``0 <= row < shape[axis]``.
    fn owner(&self, row: i64) -> PyResult<usize> {
        let n = each!(self.inner.host()?, AnyTensor, v => v.shape()[v.split_axis()]);
        let r = index_arg(row, n)?;
        each!(self.inner.host()?, AnyTensor, v => v.owner(r)).py()
    }
    /// ``True`` if this rank owns row ``row``.
    fn is_local(&self, row: i64) -> bool {
        usize::try_from(row).map(|r| meta!(&self.inner, AnyTensor, v => v.is_local(r))).unwrap_or(false)
    }
    /// ``(lo, hi)``: the local indices along the split axis of this rank's
    /// slices whose global indices lie in ``start..stop`` (contiguous for
    /// every partition). Pure. Raises ``BoundsError`` unless
    /// ``0 <= start <= stop <= shape[axis]``.
    fn local_range(&self, start: i64, stop: i64) -> PyResult<(usize, usize)> {
        each!(self.inner.host()?, AnyTensor, v => crate::access::local_range(v.partition(), v.context().rank(), start, stop))
    }
    /// This rank's block as a NumPy array of ``local_shape`` sharing the
    /// tensor's memory (zero-copy). Not collective.
    fn local_view<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.try_borrow()?;
        let token = me.views.clone();
        if let Store::Device(d) = &me.inner {
            return each!(d, AnyDevice, v => match v.buffer().host_slice().py()? {
                Some(x) => view_of(slf.as_any(), &token, x, &v.local_shape()),
                None => Err(device_only(v.placement())),
            });
        }
        each!(me.inner.host()?, AnyTensor, v => view_of(slf.as_any(), &token, v.local(), &v.local_shape()))
    }
    /// A copy of this rank's block. Not collective.
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        on_device!(&self.inner, v => vec_to_numpy(py, py.detach(|| v.local_to_host()).py()?, &v.local_shape()));
        each!(self.inner.host()?, AnyTensor, v => vec_to_numpy(py, v.local().to_vec(), &v.local_shape()))
    }
    /// Copies ``array`` (``local_size`` elements, cast to the dtype) into
    /// this rank's block. Raises ``InvalidArgumentError`` on a size
    /// mismatch. Not collective.
    fn from_numpy(&mut self, py: Python<'_>, array: &Bound<'_, PyAny>) -> PyResult<()> {
        on_device!(&mut self.inner, v => {
            let ls = v.local_shape();
            if let Some(src) = device_source(py, array, v.dtype(), v.local_size())? {
                // SAFETY: as for the 1-D containers.
                return py.detach(|| unsafe { v.buffer_mut().copy_from_device_ptr(src) }).py();
            }
            let mut tmp = vec![Default::default(); v.local_size()];
            copy_from_numpy(py, array, &mut tmp, &ls)?;
            py.detach(|| v.local_from_host(&tmp)).py()
        });
        each!(self.inner.host_mut()?, AnyTensor, v => {
            let ls = v.local_shape();
            copy_from_numpy(py, array, v.local_mut(), &ls)
        })
    }
    /// Sets every local element to ``value``. Not collective.
    fn fill(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        on_device!(&mut self.inner, v => {
            let x = fill_value(py, Some(value))?;
            py.detach(|| v.fill(x)).py()
        });
        each!(self.inner.host_mut()?, AnyTensor, v => {
            let x = fill_value(py, Some(value))?;
            v.fill(x);
            Ok(())
        })
    }
    /// The whole tensor on ``root``; ``None`` elsewhere (``MPI_Gatherv``).
    /// Collective.
    #[pyo3(signature = (root=0))]
    fn gather<'py>(&self, py: Python<'py>, root: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        each!(self.inner.host()?, AnyTensor, v => {
            let shape = v.shape().to_vec();
            match py.detach(|| v.gather(root)).py()? {
                Some(a) => Ok(Some(vec_to_numpy(py, a.into_raw_vec_and_offset().0, &shape)?)),
                None => Ok(None),
            }
        })
    }
    /// The whole tensor on every rank (``MPI_Allgatherv``). Collective.
    fn gather_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        on_device!(&self.inner, v => {
            let shape = v.shape().to_vec();
            vec_to_numpy(py, py.detach(|| v.gather_all()).py()?, &shape)
        });
        each!(self.inner.host()?, AnyTensor, v => {
            let shape = v.shape().to_vec();
            let a = py.detach(|| v.gather_all()).py()?;
            vec_to_numpy(py, a.into_raw_vec_and_offset().0, &shape)
        })
    }
    /// Exchanges ghost rows (slices along axis 0) with the neighbouring
    /// ranks and returns ``(lower, upper)``: new arrays holding the rows
    /// just before this rank's first row and just after its last, each of
    /// shape ``(rows, *shape[1:])``. ``width`` is an int (both sides) or a
    /// ``(lower, upper)`` pair. Not ``periodic``: fewer rows at the global
    /// edges (none above row 0). ``periodic``: axis 0 is a ring, the rank
    /// holding row 0 gets the last rows and vice versa, always the full
    /// width (which must then be ``<= shape[0]``). Empty on a rank with no
    /// rows. Needs a tensor split along axis 0 by a block or weighted
    /// partition. Collective: one ``MPI_Allreduce`` checks that every rank
    /// passes the same arguments, then ``MPI_Isend``/``MPI_Irecv`` between
    /// the owners. Raises ``NotSupportedError`` (another axis or
    /// partition: ``redistribute(PARTITION_BLOCK, axis=0)`` first) or
    /// ``InvalidArgumentError`` (bad ``width``) on every rank.
    #[pyo3(signature = (width=None, periodic=false), text_signature = "(self, width=1, periodic=False)")]
    fn halo_exchange<'py>(
        &self,
        py: Python<'py>,
        width: Option<&Bound<'py, PyAny>>,
        periodic: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let c = each!(self.inner.host()?, AnyTensor, v => v.context().clone());
        let (lower, upper) = collective_arg(&c, "halo_exchange", halo_width_pair(width))?;
        let spec = HaloSpec { lower, upper, periodic };
        each!(self.inner.host()?, AnyTensor, v => {
            let h = py.detach(|| v.halo_exchange_spec(spec)).py()?;
            halo_to_numpy(py, h)
        })
    }
    /// This rank's block with ghost cells attached, a new array.
    ///
    /// ``width`` an int or a ``(lower, upper)`` pair: ghost rows along axis
    /// 0 only. Without ``boundary``: ``lower + local rows + upper``
    /// concatenated, shape ``(rows, *shape[1:])``, shorter at the global
    /// edges unless ``periodic`` (as ``halo_exchange``). With ``boundary``
    /// (a number): always the full widths, rows outside the global array
    /// set to ``boundary``.
    ///
    /// ``width`` a sequence of one ``(lower, upper)`` pair per axis: the
    /// block padded on every axis, like ``numpy.pad`` of the global array
    /// restricted to this rank's rows: shape ``(local rows + lo0 + hi0,
    /// shape[1] + lo1 + hi1, ...)``, the block at offset ``(lo0, lo1,
    /// ...)``. Along axis 0 the ghosts are the neighbours' rows; along the
    /// other axes (held whole by every rank) nothing moves. Outside the
    /// global array the cells hold ``boundary`` (default 0;
    /// ``mode="constant"``), or with ``periodic=True`` every axis wraps
    /// around (``mode="wrap"``; widths at most the axis extents). A rank
    /// with no rows gets an array with no rows.
    ///
    /// Collective, as ``halo_exchange``. Raises ``InvalidArgumentError`` on
    /// every rank for a bad ``width`` (wrong number of pairs, negative, a
    /// periodic width larger than the axis) or ``boundary`` together with
    /// ``periodic=True``.
    #[pyo3(
        signature = (width=None, periodic=false, boundary=None),
        text_signature = "(self, width=1, periodic=False, boundary=None)"
    )]
    fn local_with_halo<'py>(
        &self,
        py: Python<'py>,
        width: Option<&Bound<'py, PyAny>>,
        periodic: bool,
        boundary: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = each!(self.inner.host()?, AnyTensor, v => v.context().clone());
        let op = "local_with_halo";
        let width = collective_arg(&c, op, halo_width(width, true))?;
        each!(self.inner.host()?, AnyTensor, v => {
            let b = collective_arg(&c, op, halo_boundary(py, boundary, periodic))?;
            let a = match (width, b) {
                (HaloWidth::Split(lower, upper), None) => {
                    py.detach(|| v.local_with_halo_spec(HaloSpec { lower, upper, periodic })).py()?
                }
                (HaloWidth::Split(lower, upper), Some(b)) => {
                    let mut w = vec![(0, 0); v.ndim()];
                    w[0] = (lower, upper);
                    py.detach(|| v.local_padded(&w, Boundary::Constant(b))).py()?
                }
                (HaloWidth::PerAxis(w), b) => {
                    let rule = if periodic { Boundary::Periodic } else { Boundary::Constant(or_zero(b)) };
                    py.detach(|| v.local_padded(&w, rule)).py()?
                }
            };
            let s = a.shape().to_vec();
            vec_to_numpy(py, a.into_raw_vec_and_offset().0, &s)
        })
    }
    // ---------------------------------------------------------------- algorithms
    // The tensor as the sequence of its elements in global C order (as
    // ``ravel()``): the core's `with_flat` (in place for axis-0 splits).

    /// The execution policy of this tensor's algorithms (``EXEC_SEQ`` or
    /// ``EXEC_PAR``, the default). Setting it is local.
    #[getter]
    fn execution(&self) -> i64 {
        match &self.inner {
            Store::Host(h) => each!(h, AnyTensor, v => crate::algorithms::execution_code(v.execution())),
            Store::Device(_) => crate::algorithms::execution_code(dtl_core::Execution::Par),
        }
    }
    #[setter]
    fn set_execution(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let e = crate::algorithms::execution_arg(value)?;
        each!(self.inner.host_mut()?, AnyTensor, v => v.set_execution(e));
        Ok(())
    }
    /// ``op`` (default ``SUM``) over all elements, a NumPy scalar, on every
    /// rank (``deterministic=True``: the one-process bits at any number of
    /// ranks). Collective; see ``DistributedVector.reduce``.
    #[pyo3(signature = (op=None, deterministic=false))]
    fn reduce<'py>(
        &self,
        py: Python<'py>,
        op: Option<&Bound<'py, PyAny>>,
        deterministic: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::reduce_any(py, v, op, deterministic))).py()?)
    }
    /// ``op`` over this rank's elements only. Not collective.
    #[pyo3(signature = (op=None))]
    fn reduce_local<'py>(&self, py: Python<'py>, op: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let op = crate::algorithms::op_arg(op)?;
        each!(self.inner.host()?, AnyTensor, t => crate::algorithms::scalar_out(py, t.reduce_local(op).py()?))
    }
    /// ``sum(self * other)`` over all elements (``numpy.vdot``), on every
    /// rank; ``other``: a tensor of the same dtype, shape, split axis and
    /// partition. Collective. Raises ``InvalidArgumentError`` otherwise.
    fn dot<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o = other
            .cast::<PyDistributedTensor>()
            .map_err(|_| invalid("other must be a dtl.DistributedTensor"))?
            .try_borrow()?;
        each!(self.inner.host()?, AnyTensor, t => {
            let u = o.core_any().downcast_ref().ok_or_else(|| invalid(format!(
                "other has dtype {}, but this tensor has dtype {}; they must match", o.dt(), element_dtype(t.local()))))?;
            let x = py.detach(|| t.dot(u)).py()?;
            crate::algorithms::scalar_out(py, x)
        })
    }
    /// In place: inclusive scan in global C order (``np.cumsum`` of
    /// ``ravel()`` for ``SUM``). Collective.
    #[pyo3(signature = (op=None))]
    fn inclusive_scan(&mut self, py: Python<'_>, op: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => t.with_flat_mut(|v| Ok(crate::algorithms::scan(py, v, op, None, false))).py()?)
    }
    /// In place: exclusive scan in global C order (element 0 becomes
    /// ``init``, default the op's identity). Collective.
    #[pyo3(signature = (op=None, init=None))]
    fn exclusive_scan(
        &mut self,
        py: Python<'_>,
        op: Option<&Bound<'_, PyAny>>,
        init: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => t.with_flat_mut(|v| Ok(crate::algorithms::scan(py, v, op, Some(init), false))).py()?)
    }
    /// ``inclusive_scan`` of this rank's block (C order) alone. Not collective.
    #[pyo3(signature = (op=None))]
    fn inclusive_scan_local(&mut self, op: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let op = crate::algorithms::op_arg(op)?;
        each!(self.inner.host_mut()?, AnyTensor, t => t.inclusive_scan_local(op).py())
    }
    /// ``exclusive_scan`` of this rank's block alone. Not collective.
    #[pyo3(signature = (op=None, init=None))]
    fn exclusive_scan_local(
        &mut self,
        py: Python<'_>,
        op: Option<&Bound<'_, PyAny>>,
        init: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let op = crate::algorithms::op_arg(op)?;
        each!(self.inner.host_mut()?, AnyTensor, t => {
            let i = match init.filter(|i| !i.is_none()) {
                Some(i) => crate::algorithms::element(py, i, "init")?,
                None => op.identity(),
            };
            t.exclusive_scan_local(op, i).py()
        })
    }
    /// Sorts all elements in global C order (``np.sort(t, axis=None)``
    /// reshaped), NaN last; every rank keeps its local shape and local views
    /// stay valid. Collective.
    #[pyo3(signature = (reverse=false, stable=false))]
    fn sort(&mut self, py: Python<'_>, reverse: bool, stable: bool) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => t.with_flat_mut(|v| Ok(crate::algorithms::sort(py, v, reverse, stable))).py()?)
    }
    /// ``sort`` for blocks each rank has sorted already (``dtl.sort``).
    /// Collective.
    #[pyo3(signature = (reverse=false))]
    fn _sort_presorted(&mut self, py: Python<'_>, reverse: bool) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => py.detach(|| t.sort_presorted(reverse)).py())
    }
    /// For ``dtl.async_reduce``: :meth:`reduce` over ``ctx`` (the async
    /// lane), as ``DistributedVector._reduce_on``. Axis-0 splits only.
    #[pyo3(signature = (ctx, op=None, deterministic=false))]
    fn _reduce_on<'py>(
        &mut self,
        py: Python<'py>,
        ctx: PyRef<'py, PyContext>,
        op: Option<&Bound<'py, PyAny>>,
        deterministic: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let lane = ctx.ctx.clone();
        each!(self.inner.host_mut()?, AnyTensor, t => {
            in_place_for_async(t.flat_in_place())?;
            t.with_flat_mut(|v| Ok(crate::algorithms::reduce_on(py, v, &lane, op, deterministic))).py()?
        })
    }
    /// For ``dtl.async_sort``: :meth:`sort` over ``ctx`` (the async lane).
    /// Axis-0 splits only.
    #[pyo3(signature = (ctx, reverse=false, stable=false))]
    fn _sort_on(&mut self, py: Python<'_>, ctx: PyRef<'_, PyContext>, reverse: bool, stable: bool) -> PyResult<()> {
        let lane = ctx.ctx.clone();
        each!(self.inner.host_mut()?, AnyTensor, t => {
            in_place_for_async(t.flat_in_place())?;
            t.with_flat_mut(|v| Ok(crate::algorithms::sort_on(py, v, &lane, reverse, stable))).py()?
        })
    }
    /// Sorts this rank's block (C order) only. Not collective.
    #[pyo3(signature = (reverse=false))]
    fn sort_local(&mut self, reverse: bool) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => t.sort_local(reverse));
        Ok(())
    }
    /// ``True`` if the elements are sorted in global C order. Collective.
    #[pyo3(signature = (reverse=false))]
    fn is_sorted(&self, py: Python<'_>, reverse: bool) -> PyResult<bool> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::is_sorted(py, v, reverse))).py()?)
    }
    /// The element at flat index ``k`` of the sorted tensor (negative from
    /// the end), on every rank. Collective.
    fn nth_element<'py>(&self, py: Python<'py>, k: i64) -> PyResult<Bound<'py, PyAny>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::nth_element(py, v, k))).py()?)
    }
    /// ``numpy.median`` of all elements. Collective.
    fn median(&self, py: Python<'_>) -> PyResult<f64> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::quantile(py, v, None))).py()?)
    }
    /// ``numpy.percentile(t, q)``, ``0 <= q <= 100``. Collective.
    fn percentile(&self, py: Python<'_>, q: f64) -> PyResult<f64> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::quantile(py, v, Some(q)))).py()?)
    }
    /// The smallest flat (C-order) index holding ``value``, or ``None``.
    /// Collective.
    fn find(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::find(py, v, value))).py()?)
    }
    /// How many elements equal ``value``. Collective.
    fn count(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::count(py, v, value))).py()?)
    }
    /// ``(flat index, value)`` of the first smallest element (``argmin``),
    /// or ``None``. Collective.
    fn min_element<'py>(&self, py: Python<'py>) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::best(py, v, false))).py()?)
    }
    /// ``(flat index, value)`` of the first largest element (``argmax``),
    /// or ``None``. Collective.
    fn max_element<'py>(&self, py: Python<'py>) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::best(py, v, true))).py()?)
    }
    /// ``(min_element(), max_element())``, or ``None``. Collective.
    fn minmax<'py>(&self, py: Python<'py>) -> PyResult<crate::algorithms::MinMax<'py>> {
        each!(self.inner.host()?, AnyTensor, t => t.with_flat(|v| Ok(crate::algorithms::minmax(py, v))).py()?)
    }
    /// Sets flat element ``i`` to ``start + i`` (``np.arange(size).reshape
    /// (shape) + start`` in the dtype). Not collective.
    #[pyo3(signature = (start=None))]
    fn iota(&mut self, py: Python<'_>, start: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => {
            let s = match start.filter(|s| !s.is_none()) {
                Some(s) => crate::algorithms::element(py, s, "start")?,
                None => Element::ZERO,
            };
            py.detach(|| t.iota(s));
            Ok(())
        })
    }
    /// Replaces every local element equal to ``old`` by ``new``. Not
    /// collective.
    fn replace(&mut self, py: Python<'_>, old: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> PyResult<()> {
        each!(self.inner.host_mut()?, AnyTensor, t => {
            let old = crate::algorithms::probe(py, old, "old")?;
            let new = crate::algorithms::element(py, new, "new")?;
            if let Some(old) = old {
                py.detach(|| t.replace(old, new));
            }
            Ok(())
        })
    }
    /// Copies every element of ``src`` (a tensor of the same dtype and
    /// shape, any split axis and partition) into this one, keeping this
    /// one's layout. Same layout: local; otherwise one ``MPI_Alltoallv``
    /// (collective).
    fn copy_from(slf: &Bound<'_, Self>, src: &Bound<'_, PyAny>) -> PyResult<()> {
        if slf.as_any().is(src) {
            return Ok(());
        }
        let py = slf.py();
        let s = src
            .cast::<PyDistributedTensor>()
            .map_err(|_| invalid("src must be a dtl.DistributedTensor"))?
            .try_borrow()?;
        let mut me = slf.try_borrow_mut()?;
        each!(me.inner.host_mut()?, AnyTensor, t => {
            let u = s.core_any().downcast_ref().ok_or_else(|| invalid(format!(
                "src has dtype {}, but this tensor has dtype {}; they must match", s.dt(), element_dtype(t.local()))))?;
            py.detach(|| t.copy_from(u)).py()
        })
    }
    /// The flat global (C-order) index of local element ``l`` (of the
    /// ``ravel()``-ed local view). Pure. Raises ``BoundsError`` unless
    /// ``0 <= l < local_size``.
    fn to_global(&self, l: i64) -> PyResult<usize> {
        each!(self.inner.host()?, AnyTensor, t => t.to_global_flat(usize::try_from(l).unwrap_or(usize::MAX)).py())
    }
    /// The flat global (C-order) index of every local element, in local
    /// (C) order, as an int64 array. Pure.
    fn local_flat_indices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let idx: Vec<i64> =
            each!(self.inner.host()?, AnyTensor, t => t.local_flat_indices().into_iter().map(|g| g as i64).collect());
        let n = idx.len();
        vec_to_numpy(py, idx, &[n])
    }
    fn __len__(&self) -> usize {
        meta!(&self.inner, AnyTensor, v => v.shape()[0])
    }
    fn __repr__(&self) -> String {
        meta!(&self.inner, AnyTensor, v => format!(
            "<dtl.DistributedTensor shape={:?} local_shape={:?} dtype={}{}>",
            v.shape(), v.local_shape(), self.dt().name(), placement_note(&self.inner)
        ))
    }
}
