//! `dtl.DistributedMap`: the Python face of `dtl_core::DistributedMap`.
//!
//! One Python class over a two-level enum: the key dtype (int32, int64,
//! uint32, uint64, float64) and, inside it, the value dtype (all ten). Keys
//! are converted strictly: a key of the wrong kind (a float or a string for
//! an integer map, an integer outside the key dtype's range, an integer
//! beyond ±2**53 for a float64 map) raises `dtl.KeyTypeError`, a
//! `DTLError` that is also a `TypeError`. Values follow the same rules but
//! raise `InvalidArgumentError` (a `ValueError`).
//!
//! Collective reads with a bad key on one rank still take part in the
//! core's agreement step (`Context::agree_or_reject`), so every rank raises
//! instead of the others hanging.

use dtl_core::{DType, DistributedMap, Element, Error};
use numpy::{PyArray1, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::IntoPyObjectExt;

use crate::context::PyContext;
use crate::dtype;
use crate::errors::{invalid, to_py, IntoPy};

/// The key dtypes `dtl.DistributedMap` supports.
const KEY_DTYPES: [DType; 5] = [DType::Int32, DType::Int64, DType::UInt32, DType::UInt64, DType::Float64];

/// Largest integer magnitude a float64 key accepts from an integer (every
/// integer up to it is exactly representable).
const F64_EXACT: u64 = 1 << 53;

/// A key or value dtype converted from Python with dtl's strict rules.
pub trait Scalar: Element + numpy::Element + for<'py> IntoPyObject<'py> {
    /// `obj` as `Self`, or a message saying why not. `key` selects the
    /// stricter key rules (integers into float64 must be exact).
    fn strict(obj: &Bound<'_, PyAny>, key: bool) -> PyResult<std::result::Result<Self, String>>;
}

fn describe(obj: &Bound<'_, PyAny>) -> String {
    let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    let r = obj.repr().map(|r| r.to_string()).unwrap_or_default();
    let r = if r.len() > 60 { format!("{}...", &r[..57]) } else { r };
    format!("{r} (of type {ty})")
}

/// `operator.index(obj)` as an `i128`-like pair of extractions, or `None`
/// when `obj` is not an integer. Out-of-`u64`/`i64` integers give
/// `Some(None)`.
fn py_integer(obj: &Bound<'_, PyAny>) -> PyResult<Option<Option<i128>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Ok(None);
    }
    let Ok(i) = obj.py().import("operator")?.getattr("index")?.call1((obj,)) else { return Ok(None) };
    if let Ok(v) = i.extract::<i64>() {
        return Ok(Some(Some(i128::from(v))));
    }
    Ok(Some(i.extract::<u64>().ok().map(i128::from)))
}

macro_rules! int_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn strict(obj: &Bound<'_, PyAny>, _key: bool) -> PyResult<std::result::Result<Self, String>> {
                let name = <$t as Element>::DTYPE;
                Ok(match py_integer(obj)? {
                    None => Err(format!("expected an integer for dtype {name}, got {}", describe(obj))),
                    Some(v) => v.and_then(|v| <$t>::try_from(v).ok()).ok_or_else(|| {
                        format!("{} is out of range for {name} ({}..={})", describe(obj), <$t>::MIN, <$t>::MAX)
                    }),
                })
            }
        }
    )*};
}
int_scalar!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn strict(obj: &Bound<'_, PyAny>, key: bool) -> PyResult<std::result::Result<Self, String>> {
                let name = <$t as Element>::DTYPE;
                if let Some(v) = py_integer(obj)? {
                    return Ok(match v {
                        Some(i) if !key || i.unsigned_abs() <= u128::from(F64_EXACT) => Ok(i as $t),
                        _ => Err(format!(
                            "the integer {} is not exactly representable as a {name} key (|key| must be <= 2**53)",
                            describe(obj)
                        )),
                    });
                }
                if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
                    return Ok(Err(format!("expected a real number for dtype {name}, got {}", describe(obj))));
                }
                Ok(obj
                    .extract::<f64>()
                    .map(|x| x as $t)
                    .map_err(|_| format!("expected a real number for dtype {name}, got {}", describe(obj))))
            }
        }
    )*};
}
float_scalar!(f32, f64);

/// A `dtl.KeyTypeError` (a `DTLError` and a `TypeError`, status 300).
fn key_type_error(py: Python<'_>, msg: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("dtl._errors")?.getattr("KeyTypeError")?;
        let exc = cls.call1((format!("invalid key: {msg} [DTL_ERROR_INVALID_ARGUMENT]"),))?;
        exc.setattr("status", dtl_core::error::status::INVALID_ARGUMENT)?;
        exc.setattr("status_name", "DTL_ERROR_INVALID_ARGUMENT")?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|_| PyTypeError::new_err(msg.to_string()))
}

fn key_of<K: Scalar>(obj: &Bound<'_, PyAny>) -> PyResult<K> {
    K::strict(obj, true)?.map_err(|m| key_type_error(obj.py(), &m))
}

fn value_of<V: Scalar>(obj: &Bound<'_, PyAny>) -> PyResult<V> {
    V::strict(obj, false)?.map_err(|m| invalid(format!("invalid map value: {m}")))
}

/// A 1-D array-like of keys (`key = true`) or values as a `Vec<T>`, with
/// the scalar rules applied to the whole array: integer arrays must fit
/// `T` (checked on the minimum and maximum), float arrays only convert to
/// float dtypes, object arrays are converted element by element.
fn array_of<T: Scalar>(py: Python<'_>, obj: &Bound<'_, PyAny>, key: bool, what: &str) -> PyResult<Vec<T>> {
    let fail = |m: String| if key { key_type_error(py, &m) } else { invalid(format!("invalid map value: {m}")) };
    let np = py.import("numpy")?;
    let a = np.getattr("asarray")?.call1((obj,)).map_err(|e| fail(format!("{what} is not array-like: {e}")))?;
    let a = a.cast_into::<PyUntypedArray>().map_err(|_| fail(format!("{what} is not array-like")))?;
    if a.ndim() != 1 {
        return Err(invalid(format!("{what} must be 1-D, got shape {:?}", a.shape())));
    }
    if a.len() == 0 {
        return Ok(Vec::new());
    }
    let kind: String = a.dtype().getattr("kind")?.extract()?;
    let target = T::DTYPE;
    match kind.as_str() {
        "O" => {
            let mut out = Vec::with_capacity(a.len());
            for item in a.call_method0("tolist")?.try_iter()? {
                out.push(T::strict(&item?, key)?.map_err(fail)?);
            }
            return Ok(out);
        }
        "b" => {}
        "i" | "u" => {
            // The scalar rules on the extremes: the range of an integer
            // dtype, |x| <= 2**53 for float64 keys (every integer up to it is
            // exact, so the whole array converts exactly).
            for end in ["min", "max"] {
                T::strict(&a.call_method0(end)?, key)?.map_err(|m| fail(format!("{what}: {m}")))?;
            }
        }
        "f" if target.is_float() => {}
        _ => {
            let dt = a.dtype().str().map(|s| s.to_string()).unwrap_or_default();
            return Err(fail(format!("{what} has dtype {dt}, which does not convert to {target} without loss")));
        }
    }
    let conv = np.getattr("ascontiguousarray")?.call1((a, dtype::to_numpy(py, target)))?;
    dtype::to_vec::<T>(&conv.cast_into::<PyUntypedArray>()?)
}

/// Makes every rank fail a collective call whose arguments this rank
/// rejected (`err`): runs the agreement step the other ranks run first
/// (`Context::agree_or_reject`), then returns `err`.
fn reject(py: Python<'_>, ctx: &dtl_core::Context, op: &str, err: PyErr) -> PyErr {
    let status = err
        .value(py)
        .getattr("status")
        .and_then(|s| s.extract::<i32>())
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(dtl_core::error::status::INVALID_ARGUMENT);
    let core = Error::from_status(status, err.to_string());
    let _ = py.detach(|| ctx.agree_or_reject(op, &[], Some(core)));
    err
}

/// A map with key type `K`, of any value dtype.
pub enum ByValue<K: Element> {
    I8(DistributedMap<K, i8>),
    I16(DistributedMap<K, i16>),
    I32(DistributedMap<K, i32>),
    I64(DistributedMap<K, i64>),
    U8(DistributedMap<K, u8>),
    U16(DistributedMap<K, u16>),
    U32(DistributedMap<K, u32>),
    U64(DistributedMap<K, u64>),
    F32(DistributedMap<K, f32>),
    F64(DistributedMap<K, f64>),
}

/// A map of any supported (key, value) dtype pair.
pub enum AnyMap {
    I32(ByValue<i32>),
    I64(ByValue<i64>),
    U32(ByValue<u32>),
    U64(ByValue<u64>),
    F64(ByValue<f64>),
}

macro_rules! each_value {
    ($e:expr, $m:ident => $body:expr) => {
        match $e {
            ByValue::I8($m) => $body,
            ByValue::I16($m) => $body,
            ByValue::I32($m) => $body,
            ByValue::I64($m) => $body,
            ByValue::U8($m) => $body,
            ByValue::U16($m) => $body,
            ByValue::U32($m) => $body,
            ByValue::U64($m) => $body,
            ByValue::F32($m) => $body,
            ByValue::F64($m) => $body,
        }
    };
}

/// `match` on every (key, value) variant, binding the core map to `$m`.
macro_rules! each_map {
    ($e:expr, $m:ident => $body:expr) => {
        match $e {
            AnyMap::I32(x) => each_value!(x, $m => $body),
            AnyMap::I64(x) => each_value!(x, $m => $body),
            AnyMap::U32(x) => each_value!(x, $m => $body),
            AnyMap::U64(x) => each_value!(x, $m => $body),
            AnyMap::F64(x) => each_value!(x, $m => $body),
        }
    };
}

fn by_value<K: Scalar>(py: Python<'_>, c: &dtl_core::Context, vd: DType) -> PyResult<ByValue<K>> {
    macro_rules! mk {
        ($variant:ident, $v:ty) => {
            ByValue::$variant(py.detach(|| DistributedMap::<K, $v>::new(c)).py()?)
        };
    }
    Ok(match vd {
        DType::Int8 => mk!(I8, i8),
        DType::Int16 => mk!(I16, i16),
        DType::Int32 => mk!(I32, i32),
        DType::Int64 => mk!(I64, i64),
        DType::UInt8 => mk!(U8, u8),
        DType::UInt16 => mk!(U16, u16),
        DType::UInt32 => mk!(U32, u32),
        DType::UInt64 => mk!(U64, u64),
        DType::Float32 => mk!(F32, f32),
        DType::Float64 => mk!(F64, f64),
    })
}

fn parse_dtypes(
    py: Python<'_>,
    key_dtype: Option<&Bound<'_, PyAny>>,
    value_dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<(DType, DType)> {
    let kd = match key_dtype.filter(|k| !k.is_none()) {
        None => DType::Int64,
        Some(k) => dtype::parse(py, Some(k))?,
    };
    if !KEY_DTYPES.contains(&kd) {
        let names: Vec<&str> = KEY_DTYPES.iter().map(|d| d.name()).collect();
        return Err(to_py(Error::NotSupported(format!(
            "DistributedMap key_dtype {kd} is not supported; use one of {}",
            names.join(", ")
        ))));
    }
    Ok((kd, dtype::parse(py, value_dtype)?))
}

// ---------------------------------------------------------------- generic bodies

fn owner_impl<K: Scalar, V: Element>(m: &DistributedMap<K, V>, key: &Bound<'_, PyAny>) -> PyResult<usize> {
    m.owner(&key_of::<K>(key)?).py()
}

fn insert_impl<K: Scalar, V: Scalar>(
    m: &mut DistributedMap<K, V>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let k = key_of::<K>(key)?;
    let v = value_of::<V>(value)?;
    m.insert(k, v).py()
}

fn erase_impl<K: Scalar, V: Element>(m: &mut DistributedMap<K, V>, key: &Bound<'_, PyAny>) -> PyResult<()> {
    m.erase(key_of::<K>(key)?).py()
}

fn insert_many_impl<K: Scalar, V: Scalar>(
    py: Python<'_>,
    m: &mut DistributedMap<K, V>,
    keys: &Bound<'_, PyAny>,
    values: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let k = array_of::<K>(py, keys, true, "keys")?;
    let scalar: usize = py.import("numpy")?.getattr("ndim")?.call1((values,))?.extract()?;
    let v =
        if scalar == 0 { vec![value_of::<V>(values)?; k.len()] } else { array_of::<V>(py, values, false, "values")? };
    m.insert_many(&k, &v).py()
}

fn erase_many_impl<K: Scalar, V: Element>(
    py: Python<'_>,
    m: &mut DistributedMap<K, V>,
    keys: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let k = array_of::<K>(py, keys, true, "keys")?;
    m.erase_many(&k).py()
}

/// The collective lookup behind find / contains / find_many. A rank whose
/// keys do not convert still takes part in the agreement, then raises.
fn lookup<K: Scalar, V: Scalar>(
    py: Python<'_>,
    m: &mut DistributedMap<K, V>,
    op: &str,
    keys: PyResult<Vec<K>>,
) -> PyResult<Vec<Option<V>>> {
    let keys = match keys {
        Ok(k) => k,
        Err(e) => return Err(reject(py, m.context(), op, e)),
    };
    py.detach(|| m.find_many(&keys)).py()
}

fn find_impl<K: Scalar, V: Scalar>(
    py: Python<'_>,
    m: &mut DistributedMap<K, V>,
    key: &Bound<'_, PyAny>,
) -> PyResult<Option<Py<PyAny>>> {
    let got = lookup(py, m, "find", key_of::<K>(key).map(|k| vec![k]))?;
    got[0].map(|v| v.into_py_any(py)).transpose()
}

fn contains_impl<K: Scalar, V: Scalar>(
    py: Python<'_>,
    m: &mut DistributedMap<K, V>,
    key: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    Ok(lookup(py, m, "contains", key_of::<K>(key).map(|k| vec![k]))?[0].is_some())
}

fn find_many_impl<'py, K: Scalar, V: Scalar>(
    py: Python<'py>,
    m: &mut DistributedMap<K, V>,
    keys: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let got = lookup(py, m, "find_many", array_of::<K>(py, keys, true, "keys"))?;
    let found: Vec<bool> = got.iter().map(Option::is_some).collect();
    let values: Vec<V> = got.into_iter().map(|o| o.unwrap_or(V::ZERO)).collect();
    Ok((PyArray1::from_vec(py, values).into_any(), PyArray1::from_vec(py, found).into_any()))
}

fn pairs_to_dict<'py, K: Scalar, V: Scalar>(py: Python<'py>, pairs: Vec<(K, V)>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

fn global_view_impl<'py, K: Scalar, V: Scalar>(
    py: Python<'py>,
    m: &mut DistributedMap<K, V>,
) -> PyResult<Bound<'py, PyDict>> {
    let pairs = py.detach(|| m.global_view()).py()?;
    pairs_to_dict(py, pairs)
}

fn dtypes_of<K: Element, V: Element>(_: &DistributedMap<K, V>) -> (DType, DType) {
    (K::DTYPE, V::DTYPE)
}

// ---------------------------------------------------------------- the class

/// A hash-partitioned distributed map ``key -> value``.
///
/// ``DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.float64)``.
/// Key dtypes: int32, int64, uint32, uint64, float64; value dtypes: the ten
/// dtl dtypes. Every key lives on one rank (its owner, a fixed hash of the
/// key's bytes). ``insert`` and ``erase`` are local: applied at once on the
/// owner, queued elsewhere until ``flush()`` or any collective read
/// (``find``, ``contains``/``in``, ``find_many``, ``size``/``global_size``,
/// ``empty``, ``len()``, ``global_view()``), which every rank must call.
/// Construction is collective.
#[pyclass(name = "DistributedMap", module = "dtl")]
pub struct PyDistributedMap {
    inner: AnyMap,
    ctx: Py<PyContext>,
}

#[pymethods]
impl PyDistributedMap {
    #[new]
    #[pyo3(signature = (ctx, key_dtype=None, value_dtype=None))]
    fn new(
        py: Python<'_>,
        ctx: Py<PyContext>,
        key_dtype: Option<&Bound<'_, PyAny>>,
        value_dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let c = ctx.get().ctx.clone();
        let (kd, vd) = parse_dtypes(py, key_dtype, value_dtype).map_err(|e| reject(py, &c, "DistributedMap", e))?;
        let inner = match kd {
            DType::Int32 => AnyMap::I32(by_value(py, &c, vd)?),
            DType::Int64 => AnyMap::I64(by_value(py, &c, vd)?),
            DType::UInt32 => AnyMap::U32(by_value(py, &c, vd)?),
            DType::UInt64 => AnyMap::U64(by_value(py, &c, vd)?),
            DType::Float64 => AnyMap::F64(by_value(py, &c, vd)?),
            _ => unreachable!("key dtype checked by parse_dtypes"),
        };
        Ok(PyDistributedMap { inner, ctx })
    }

    /// The :class:`Context` the map lives on.
    #[getter]
    fn context(&self, py: Python<'_>) -> Py<PyContext> {
        self.ctx.clone_ref(py)
    }

    /// The NumPy dtype of the keys.
    #[getter]
    fn key_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDescr> {
        dtype::to_numpy(py, self.dtypes().0)
    }

    /// The NumPy dtype of the values.
    #[getter]
    fn value_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDescr> {
        dtype::to_numpy(py, self.dtypes().1)
    }

    /// Sets ``key`` to ``value``: at once if this rank owns the key, else
    /// queued until the next flush. Local (not collective). Raises
    /// ``KeyTypeError`` for a key of the wrong type, ``InvalidArgumentError``
    /// for a NaN key or a value that does not convert.
    fn insert(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        each_map!(&mut self.inner, m => insert_impl(m, key, value))
    }

    /// Removes ``key`` if present (at once on the owner, else queued).
    /// Local. Erasing a missing key does nothing.
    fn erase(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        each_map!(&mut self.inner, m => erase_impl(m, key))
    }

    /// ``insert`` of ``keys[i] -> values[i]`` for every ``i`` (1-D
    /// array-likes of equal length; ``values`` may be a scalar). Local. All
    /// keys are checked first: on an error nothing is inserted.
    fn insert_many(&mut self, py: Python<'_>, keys: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>) -> PyResult<()> {
        each_map!(&mut self.inner, m => insert_many_impl(py, m, keys, values))
    }

    /// ``erase`` of every key of a 1-D array-like. Local.
    fn erase_many(&mut self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<()> {
        each_map!(&mut self.inner, m => erase_many_impl(py, m, keys))
    }

    /// Sends every rank's queued writes to their owners and applies them
    /// (by source rank, then queue order; ``MPI_Alltoallv``). Collective.
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        each_map!(&mut self.inner, m => py.detach(|| m.flush()).py())
    }

    /// The value of ``key`` (a Python scalar), or ``None``. Collective: every
    /// rank calls it, each with its own key; flushes first.
    fn find(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        each_map!(&mut self.inner, m => find_impl(py, m, key))
    }

    /// ``True`` if ``key`` is in the map. Collective, like ``find``.
    fn contains(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        each_map!(&mut self.inner, m => contains_impl(py, m, key))
    }

    /// ``key in m``: collective, like ``contains``.
    fn __contains__(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(py, key)
    }

    /// Looks up a 1-D array of keys (each rank its own, possibly empty).
    /// Returns ``(values, found)``: a NumPy array of ``value_dtype`` (0 where
    /// not found) and a boolean mask. Collective.
    fn find_many<'py>(
        &mut self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        each_map!(&mut self.inner, m => find_many_impl(py, m, keys))
    }

    /// Number of pairs over all ranks (flush + ``MPI_Allreduce``). Collective.
    #[getter]
    fn global_size(&mut self, py: Python<'_>) -> PyResult<usize> {
        each_map!(&mut self.inner, m => py.detach(|| m.global_size()).py())
    }

    /// Same as ``global_size``. Collective.
    #[getter]
    fn size(&mut self, py: Python<'_>) -> PyResult<usize> {
        self.global_size(py)
    }

    /// ``len(m)``: the global size. Collective.
    fn __len__(&mut self, py: Python<'_>) -> PyResult<usize> {
        self.global_size(py)
    }

    /// ``True`` if the map holds no pair on any rank. Collective.
    #[getter]
    fn empty(&mut self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.global_size(py)? == 0)
    }

    /// Number of pairs stored on this rank (queued writes excluded). Local.
    #[getter]
    fn local_size(&self) -> usize {
        each_map!(&self.inner, m => m.local_size())
    }

    /// Number of writes this rank has queued for other ranks. Local.
    #[getter]
    fn pending(&self) -> usize {
        each_map!(&self.inner, m => m.pending())
    }

    /// The rank owning ``key`` (the same on every rank). Local.
    fn owner(&self, key: &Bound<'_, PyAny>) -> PyResult<usize> {
        each_map!(&self.inner, m => owner_impl(m, key))
    }

    /// ``True`` if this rank owns ``key``. Local.
    fn is_local(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let me = self.ctx.get().ctx.rank();
        Ok(self.owner(key)? == me)
    }

    /// A ``dict`` snapshot of this rank's pairs (Python scalars, sorted by
    /// key; queued writes excluded). Local.
    fn local_view<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        each_map!(&self.inner, m => pairs_to_dict(py, m.local_pairs()))
    }

    /// A ``dict`` of every pair of the map, sorted by key, on every rank
    /// (flush + ``MPI_Allgatherv``). Collective.
    fn global_view<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        each_map!(&mut self.inner, m => global_view_impl(py, m))
    }

    fn __repr__(&self) -> String {
        let (k, v) = self.dtypes();
        format!(
            "<dtl.DistributedMap key_dtype={k} value_dtype={v} local_size={} pending={}>",
            self.local_size(),
            self.pending()
        )
    }
}

impl PyDistributedMap {
    fn dtypes(&self) -> (DType, DType) {
        each_map!(&self.inner, m => dtypes_of(m))
    }
}
