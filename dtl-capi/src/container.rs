//! Index containers — `dtl_vector_t`, `dtl_array_t`, `dtl_tensor_t` — and
//! the `dtl_container_*` functions that take any of them (and, where it
//! makes sense, a `dtl_span_t`).
//!
//! All three handle types hold an [`AnyStore`]: the core container of the
//! run-time dtype. Functions that accept "any container" take a
//! `const void *` and look the handle's kind up in the registry before
//! touching it (`handle::kind_of`), so a handle of the wrong kind is an
//! error, never a misread.

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::ptr;

use dtl_core::containers::Distributed1D;
use dtl_core::partition::{Layout, Partition};
use dtl_core::{
    dispatch_dtype, Context, DType, DistributedArray, DistributedSpan, DistributedSpanMut, DistributedTensor,
    DistributedVector, Element, Error, Execution, Result,
};

use crate::context::{context_arg, dtl_context_t, null_out, reject_collectively};
use crate::error::guard;
use crate::handle::{destroy_handle, handle_mut, handle_ref, kind_of, new_handle, out_ptr, Handle};
use crate::types::*;

/// The core container behind a vector, array or tensor handle.
pub(crate) enum Store<T: Element> {
    Vector(DistributedVector<T>),
    Array(DistributedArray<T>),
    Tensor(DistributedTensor<T>),
}

impl<T: Element> Store<T> {
    /// Runs `f` on the container as a 1-D sequence in global (C) order:
    /// vectors and arrays directly, tensors through `with_flat` (collective
    /// for a tensor split along an inner axis).
    pub(crate) fn flat<R>(&self, f: impl FnOnce(&Distributed1D<T>) -> Result<R>) -> Result<R> {
        match self {
            Store::Vector(v) => f(v),
            Store::Array(a) => f(a),
            Store::Tensor(t) => t.with_flat(f),
        }
    }

    /// As [`flat`](Self::flat), for calls that modify elements.
    pub(crate) fn flat_mut<R>(&mut self, f: impl FnOnce(&mut Distributed1D<T>) -> Result<R>) -> Result<R> {
        match self {
            Store::Vector(v) => f(v),
            Store::Array(a) => f(a),
            Store::Tensor(t) => t.with_flat_mut(f),
        }
    }

    /// The 1-D container, or an error naming `what` for a tensor.
    pub(crate) fn one_d(&self, what: &str) -> Result<&Distributed1D<T>> {
        match self {
            Store::Vector(v) => Ok(v),
            Store::Array(a) => Ok(a),
            Store::Tensor(_) => Err(tensor_refused(what)),
        }
    }

    /// As [`one_d`](Self::one_d), writable.
    pub(crate) fn one_d_mut(&mut self, what: &str) -> Result<&mut Distributed1D<T>> {
        match self {
            Store::Vector(v) => Ok(v),
            Store::Array(a) => Ok(a),
            Store::Tensor(_) => Err(tensor_refused(what)),
        }
    }

    pub(crate) fn local(&self) -> &[T] {
        match self {
            Store::Vector(v) => v.local(),
            Store::Array(a) => a.local(),
            Store::Tensor(t) => t.local(),
        }
    }

    pub(crate) fn local_mut(&mut self) -> &mut [T] {
        match self {
            Store::Vector(v) => v.local_mut(),
            Store::Array(a) => a.local_mut(),
            Store::Tensor(t) => t.local_mut(),
        }
    }

    pub(crate) fn context(&self) -> &Context {
        match self {
            Store::Vector(v) => v.context(),
            Store::Array(a) => a.context(),
            Store::Tensor(t) => t.context(),
        }
    }

    /// The partition of the split axis.
    pub(crate) fn layout(&self) -> &Layout {
        match self {
            Store::Vector(v) => v.partition(),
            Store::Array(a) => a.partition(),
            Store::Tensor(t) => t.partition(),
        }
    }

    pub(crate) fn global_size(&self) -> usize {
        match self {
            Store::Vector(v) => v.global_size(),
            Store::Array(a) => a.global_size(),
            Store::Tensor(t) => t.global_size(),
        }
    }

    pub(crate) fn local_offset(&self) -> usize {
        match self {
            Store::Vector(v) => v.local_offset(),
            Store::Array(a) => a.local_offset(),
            Store::Tensor(t) => t.local_offset(),
        }
    }

    pub(crate) fn execution(&self) -> Execution {
        match self {
            Store::Vector(v) => v.execution(),
            Store::Array(a) => a.execution(),
            Store::Tensor(t) => t.execution(),
        }
    }

    pub(crate) fn set_execution(&mut self, e: Execution) {
        match self {
            Store::Vector(v) => v.set_execution(e),
            Store::Array(a) => a.set_execution(e),
            Store::Tensor(t) => t.set_execution(e),
        }
    }

    pub(crate) fn span(&self) -> DistributedSpan<'_, T> {
        match self {
            Store::Vector(v) => DistributedSpan::new(v),
            Store::Array(a) => DistributedSpan::new(a),
            Store::Tensor(t) => DistributedSpan::new(t),
        }
    }

    pub(crate) fn span_mut(&mut self) -> DistributedSpanMut<'_, T> {
        match self {
            Store::Vector(v) => DistributedSpanMut::new(v),
            Store::Array(a) => DistributedSpanMut::new(a),
            Store::Tensor(t) => DistributedSpanMut::new(t),
        }
    }
}

fn tensor_refused(what: &str) -> Error {
    Error::InvalidArgument(format!(
        "{what} takes a dtl_vector_t or dtl_array_t (a global element index of a 1-D container), not a dtl_tensor_t"
    ))
}

macro_rules! any_store {
    ($($t:ty => $variant:ident),* $(,)?) => {
        /// A [`Store`] of one of the ten element types.
        pub(crate) enum AnyStore {
            $($variant(Store<$t>),)*
        }

        impl AnyStore {
            /// The element type.
            pub(crate) fn dtype(&self) -> DType {
                match self {
                    $(AnyStore::$variant(_) => DType::$variant,)*
                }
            }
        }

        $(impl StoreElement for $t {
            fn wrap(s: Store<$t>) -> AnyStore {
                AnyStore::$variant(s)
            }
        })*
    };
}

/// The element types an [`AnyStore`] can hold.
pub(crate) trait StoreElement: Element {
    fn wrap(s: Store<Self>) -> AnyStore;
}

any_store!(
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    u8 => UInt8, u16 => UInt16, u32 => UInt32, u64 => UInt64,
    f32 => Float32, f64 => Float64,
);

/// Runs `$body` with `$T` the element type and `$s` the `Store<$T>` of the
/// `AnyStore` expression `$any` (a `&` or `&mut`; `$s` borrows alike).
macro_rules! with_store {
    ($any:expr, $T:ident, $s:ident => $body:expr) => {
        match $any {
            AnyStore::Int8($s) => {
                #[allow(dead_code)]
                type $T = i8;
                $body
            }
            AnyStore::Int16($s) => {
                #[allow(dead_code)]
                type $T = i16;
                $body
            }
            AnyStore::Int32($s) => {
                #[allow(dead_code)]
                type $T = i32;
                $body
            }
            AnyStore::Int64($s) => {
                #[allow(dead_code)]
                type $T = i64;
                $body
            }
            AnyStore::UInt8($s) => {
                #[allow(dead_code)]
                type $T = u8;
                $body
            }
            AnyStore::UInt16($s) => {
                #[allow(dead_code)]
                type $T = u16;
                $body
            }
            AnyStore::UInt32($s) => {
                #[allow(dead_code)]
                type $T = u32;
                $body
            }
            AnyStore::UInt64($s) => {
                #[allow(dead_code)]
                type $T = u64;
                $body
            }
            AnyStore::Float32($s) => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            AnyStore::Float64($s) => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_store;

macro_rules! store_handle {
    ($name:ident, $tag:literal, $ctype:literal) => {
        impl Handle for $name {
            const TAG: u64 = u64::from_be_bytes(*$tag);
            const C_TYPE: &'static str = $ctype;
            fn tag(&self) -> u64 {
                self.tag
            }
            fn set_tag(&mut self, tag: u64) {
                self.tag = tag;
            }
        }
    };
}

/// Opaque distributed vector: a 1-D container of one dtype whose global
/// size can change (dtl_vector_resize). Create it with dtl_vector_create*,
/// dtl_vector_from_local, dtl_vector_scatter or dtl_vector_load; destroy it
/// with dtl_vector_destroy.
pub struct dtl_vector {
    tag: u64,
    pub(crate) store: AnyStore,
}
/// Handle to a distributed vector (NULL is never a valid vector).
pub type dtl_vector_t = *mut dtl_vector;
store_handle!(dtl_vector, b"dtl_vec!", "dtl_vector_t");

/// Opaque distributed array: a 1-D container of one dtype with a size fixed
/// at creation. Create it with dtl_array_create*, dtl_array_from_local,
/// dtl_array_scatter or dtl_array_load; destroy it with dtl_array_destroy.
pub struct dtl_array {
    tag: u64,
    pub(crate) store: AnyStore,
}
/// Handle to a distributed array (NULL is never a valid array).
pub type dtl_array_t = *mut dtl_array;
store_handle!(dtl_array, b"dtl_arr!", "dtl_array_t");

/// Opaque distributed tensor: an N-d array (C order) of one dtype, split
/// along one axis (dtl_layout.axis, default 0) over the ranks; each rank
/// holds a contiguous row-major block. Create it with dtl_tensor_create*,
/// dtl_tensor_scatter or dtl_tensor_load; destroy it with
/// dtl_tensor_destroy.
pub struct dtl_tensor {
    tag: u64,
    pub(crate) store: AnyStore,
}
/// Handle to a distributed tensor (NULL is never a valid tensor).
pub type dtl_tensor_t = *mut dtl_tensor;
store_handle!(dtl_tensor, b"dtl_tsr!", "dtl_tensor_t");

/// Opaque span: a non-owning view of a global index range (along the split
/// axis) of a vector, array or tensor. Create it with dtl_span_create;
/// destroy it with dtl_span_destroy before or after its container (a span
/// whose container was destroyed only reports an error).
pub struct dtl_span {
    tag: u64,
    /// The container handle (validated on every use).
    parent: *mut c_void,
    /// The C type of `parent`, to detect its destruction.
    parent_type: &'static str,
    offset: usize,
    len: usize,
}
/// Handle to a span (NULL is never a valid span).
pub type dtl_span_t = *mut dtl_span;
store_handle!(dtl_span, b"dtl_spn!", "dtl_span_t");

/// A container handle argument, resolved.
pub(crate) enum Target<'a> {
    Store(&'a mut AnyStore),
    Span(&'a dtl_span),
}

const CONTAINER_TYPES: &str = "a dtl_vector_t, dtl_array_t, dtl_tensor_t or dtl_span_t";

/// Resolves a handle of any container kind.
///
/// # Safety
/// As `handle_mut`: no other thread uses the handle meanwhile.
pub(crate) unsafe fn target_arg<'a>(p: *const c_void, arg: &str) -> Result<Target<'a>> {
    let q = p as *mut c_void;
    // SAFETY (all arms): the registry names the handle's type; forwarded contract.
    match kind_of(p) {
        Some("dtl_vector_t") => Ok(Target::Store(&mut unsafe { handle_mut(q as dtl_vector_t, arg) }?.store)),
        Some("dtl_array_t") => Ok(Target::Store(&mut unsafe { handle_mut(q as dtl_array_t, arg) }?.store)),
        Some("dtl_tensor_t") => Ok(Target::Store(&mut unsafe { handle_mut(q as dtl_tensor_t, arg) }?.store)),
        Some("dtl_span_t") => Ok(Target::Span(unsafe { handle_ref(q as dtl_span_t, arg) }?)),
        Some(k) => Err(Error::InvalidArgument(format!("{arg} ({p:p}) is a {k}, not {CONTAINER_TYPES}"))),
        None if p.is_null() => Err(Error::InvalidArgument(format!("{arg} is NULL; pass {CONTAINER_TYPES}"))),
        None => Err(Error::InvalidArgument(format!(
            "{arg} ({p:p}) is not a live container handle: it was already destroyed, or was never returned by dtl"
        ))),
    }
}

/// Resolves a vector, array or tensor handle (not a span).
///
/// # Safety
/// As [`target_arg`].
pub(crate) unsafe fn store_arg<'a>(p: *const c_void, arg: &str) -> Result<&'a mut AnyStore> {
    // SAFETY: forwarded.
    match unsafe { target_arg(p, arg) }? {
        Target::Store(s) => Ok(s),
        Target::Span(_) => Err(Error::InvalidArgument(format!(
            "{arg} is a dtl_span_t; this function takes the container itself (a dtl_vector_t, dtl_array_t or dtl_tensor_t)"
        ))),
    }
}

/// The container a span views, checked to be alive.
///
/// # Safety
/// As [`target_arg`].
unsafe fn span_parent<'a>(s: &dtl_span) -> Result<&'a mut AnyStore> {
    if kind_of(s.parent) != Some(s.parent_type) {
        return Err(Error::InvalidState(format!(
            "span: its container ({} at {:p}) was destroyed; a span must not outlive its container",
            s.parent_type, s.parent
        )));
    }
    // SAFETY: alive per the registry; forwarded contract.
    unsafe { store_arg(s.parent, "span container") }
}

/// Runs `$body` with `$sp` the core span (`DistributedSpan<$T>`) of the
/// dtl_span `$span`.
macro_rules! with_span {
    ($span:expr, $T:ident, $sp:ident => $body:expr) => {{
        let s: &dtl_span = $span;
        // SAFETY: the caller of the entry point guarantees exclusive use.
        let store = unsafe { span_parent(s) }?;
        with_store!(&*store, $T, st => {
            let $sp = st.span().subspan(s.offset, s.len).map_err(stale_span)?;
            $body
        })
    }};
}

fn stale_span(e: Error) -> Error {
    Error::Bounds(format!("span: its range no longer fits its container (was it resized?): {}", e.detail()))
}

/// Reads one element of `T` from a caller pointer (no alignment needed).
///
/// # Safety
/// `p` must be NULL or point to `size_of::<T>()` readable bytes.
pub(crate) unsafe fn read_elem<T: Element>(p: *const c_void, what: &str) -> Result<T> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{what} is NULL; pass the address of one {} element", T::DTYPE)));
    }
    // SAFETY: caller's contract; any bit pattern is a valid numeric value.
    Ok(unsafe { p.cast::<T>().read_unaligned() })
}

/// Writes one element of `T` through a caller pointer (no alignment needed).
///
/// # Safety
/// `p` must be NULL or point to `size_of::<T>()` writable bytes.
pub(crate) unsafe fn write_elem<T: Element>(p: *mut c_void, x: T, what: &str) -> Result<()> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{what} is NULL; pass the address of one {} element", T::DTYPE)));
    }
    // SAFETY: caller's contract.
    unsafe { p.cast::<T>().write_unaligned(x) };
    Ok(())
}

/// A caller buffer of `n` elements of `T` as a slice: NULL only if `n` is
/// 0, aligned, at most `isize::MAX` bytes.
///
/// # Safety
/// `p` must point to `n` readable elements (or be NULL).
pub(crate) unsafe fn slice_arg<'a, T: Element>(p: *const c_void, n: usize, what: &str) -> Result<&'a [T]> {
    check_buf::<T>(p, n, what)?;
    if n == 0 {
        return Ok(&[]);
    }
    // SAFETY: checked above; readable per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<T>(), n) })
}

/// As [`slice_arg`], writable.
///
/// # Safety
/// `p` must point to `n` writable elements (or be NULL).
pub(crate) unsafe fn slice_mut_arg<'a, T: Element>(p: *mut c_void, n: usize, what: &str) -> Result<&'a mut [T]> {
    check_buf::<T>(p, n, what)?;
    if n == 0 {
        return Ok(&mut []);
    }
    // SAFETY: checked above; writable per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<T>(), n) })
}

fn check_buf<T: Element>(p: *const c_void, n: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{what} is NULL but its count is {n}")));
    }
    if !p.cast::<T>().is_aligned() {
        return Err(Error::InvalidArgument(format!(
            "{what} ({p:p}) is not aligned to {} bytes, as {} elements must be",
            std::mem::align_of::<T>(),
            T::DTYPE
        )));
    }
    if n.checked_mul(std::mem::size_of::<T>()).is_none_or(|b| b > isize::MAX as usize) {
        return Err(Error::InvalidArgument(format!("{what}: count {n} is too large")));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 (or any bytes, on Unix) path argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn path_arg(p: *const c_char) -> Result<PathBuf> {
    if p.is_null() {
        return Err(Error::InvalidArgument("path is NULL; pass a NUL-terminated file name".into()));
    }
    // SAFETY: caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// A local argument error in a collective call: rejected on every rank
/// (see `reject_collectively`) instead of leaving the others waiting.
pub(crate) fn collective<R>(ctx: &Context, op: &str, r: Result<R>) -> Result<R> {
    r.map_err(|e| reject_collectively(ctx, op, &[], e))
}

// ------------------------------------------------------------- construction

/// Which 1-D handle a constructor makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vector,
    Array,
}

/// Wraps a store in a new handle of `kind`, written to `out`.
fn publish(kind: Kind, store: AnyStore, out: &mut *mut c_void) {
    *out = match kind {
        Kind::Vector => new_handle(dtl_vector { tag: dtl_vector::TAG, store }).cast(),
        Kind::Array => new_handle(dtl_array { tag: dtl_array::TAG, store }).cast(),
    };
}

/// Containers made through the C API run callbacks on the calling thread
/// unless the caller opts in to `DTL_EXEC_PAR`.
fn c_default<T: Element>(mut s: Store<T>) -> Store<T> {
    s.set_execution(Execution::Seq);
    s
}

/// The shared body of the collective constructors: validates `out`, `ctx`
/// and the arguments `parse` reads (rejecting on every rank when they are
/// invalid on some), then runs `build`.
///
/// # Safety
/// `out` as in the entry points; `parse` and `build` uphold their own.
unsafe fn construct<A>(
    ctx: dtl_context_t,
    out: *mut *mut c_void,
    parse: impl FnOnce(&Context) -> Result<A>,
    build: impl FnOnce(&Context, A) -> Result<AnyStore>,
    publish_as: impl FnOnce(AnyStore, &mut *mut c_void),
) -> Result<()> {
    // SAFETY: caller's contract.
    let out = unsafe { out_ptr(out, "out") }.map(null_out);
    // SAFETY: caller's contract.
    let c = unsafe { context_arg(ctx, "ctx") }?;
    let args = collective(c, "container construction", out.and_then(|o| Ok((o, parse(c)?))))?;
    let (out, a) = args;
    let store = build(c, a)?;
    publish_as(store, out);
    Ok(())
}

/// `create_with` for vectors and arrays.
///
/// # Safety
/// Pointers as documented on dtl_vector_create_with.
unsafe fn create_1d(
    kind: Kind,
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    n: u64,
    layout: *const dtl_layout,
    value: *const c_void,
    out: *mut *mut c_void,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    unsafe {
        construct(
            ctx,
            out,
            |c| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(n, "global_size")?;
                let l = parse_layout(layout, c.size())?;
                one_d_axis(l.axis)?;
                Ok((d, n, l.spec))
            },
            |c, (d, n, spec)| {
                dispatch_dtype!(d, T => {
                    let value = if value.is_null() { T::ZERO } else { read_elem::<T>(value, "value")? };
                    let s = match kind {
                        Kind::Vector => Store::Vector(DistributedVector::<T>::with_layout(c, n, value, &spec)?),
                        Kind::Array => Store::Array(DistributedArray::<T>::with_layout(c, n, value, &spec)?),
                    };
                    Ok(T::wrap(c_default(s)))
                })
            },
            |s, o| publish(kind, s, o),
        )
    }
}

fn one_d_axis(axis: usize) -> Result<()> {
    if axis != 0 {
        return Err(Error::InvalidArgument(format!("layout.axis must be 0 for a 1-D container, got {axis}")));
    }
    Ok(())
}

/// `from_local` for vectors and arrays.
///
/// # Safety
/// As documented on dtl_vector_from_local.
unsafe fn from_local_1d(
    kind: Kind,
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    local: *const c_void,
    n_local: u64,
    layout: *const dtl_layout,
    out: *mut *mut c_void,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    unsafe {
        construct(
            ctx,
            out,
            |c| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(n_local, "n_local")?;
                let l = parse_layout(layout, c.size())?;
                one_d_axis(l.axis)?;
                dispatch_dtype!(d, T => { slice_arg::<T>(local, n, "local")?; });
                Ok((d, n, l.spec))
            },
            |c, (d, n, spec)| {
                dispatch_dtype!(d, T => {
                    let data = slice_arg::<T>(local, n, "local")?.to_vec();
                    let s = match kind {
                        Kind::Vector => Store::Vector(DistributedVector::<T>::from_local_with(c, data, &spec)?),
                        Kind::Array => Store::Array(DistributedArray::<T>::from_local_with(c, data, &spec)?),
                    };
                    Ok(T::wrap(c_default(s)))
                })
            },
            |s, o| publish(kind, s, o),
        )
    }
}

/// `scatter` for vectors and arrays.
///
/// # Safety
/// As documented on dtl_vector_scatter.
#[allow(clippy::too_many_arguments)]
unsafe fn scatter_1d(
    kind: Kind,
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    data: *const c_void,
    n: u64,
    root: i32,
    layout: *const dtl_layout,
    out: *mut *mut c_void,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    unsafe {
        construct(
            ctx,
            out,
            |c| {
                let d = parse_dtype(dtype)?;
                let root = rank_arg(root, c.size(), "root")?;
                let l = parse_layout(layout, c.size())?;
                one_d_axis(l.axis)?;
                let n = if c.rank() == root { size_arg(n, "n")? } else { 0 };
                dispatch_dtype!(d, T => { slice_arg::<T>(data, n, "data")?; });
                Ok((d, n, root, l.spec))
            },
            |c, (d, n, root, spec)| {
                dispatch_dtype!(d, T => {
                    let data = slice_arg::<T>(data, n, "data")?;
                    let s = match kind {
                        Kind::Vector => Store::Vector(DistributedVector::<T>::scatter_from_with(c, data, root, &spec)?),
                        Kind::Array => Store::Array(DistributedArray::<T>::scatter_from_with(c, data, root, &spec)?),
                    };
                    Ok(T::wrap(c_default(s)))
                })
            },
            |s, o| publish(kind, s, o),
        )
    }
}

/// `load` for vectors and arrays.
///
/// # Safety
/// As documented on dtl_vector_load.
unsafe fn load_1d(
    kind: Kind,
    ctx: dtl_context_t,
    path: *const c_char,
    layout: *const dtl_layout,
    out: *mut *mut c_void,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    unsafe {
        construct(
            ctx,
            out,
            |c| {
                let l = parse_layout(layout, c.size())?;
                one_d_axis(l.axis)?;
                Ok((path_arg(path)?, l.spec))
            },
            |c, (path, spec)| {
                let d = dtl_core::io::read_header(c, &path)?.dtype;
                dispatch_dtype!(d, T => {
                    let s = match kind {
                        Kind::Vector => Store::Vector(DistributedVector::<T>::load(c, &path, &spec)?),
                        Kind::Array => Store::Array(DistributedArray::<T>::load(c, &path, &spec)?),
                    };
                    Ok(T::wrap(c_default(s)))
                })
            },
            |s, o| publish(kind, s, o),
        )
    }
}

// ------------------------------------------------------------- vectors

/// Creates a distributed vector of global_size zero-initialized elements of
/// type dtype on the ranks of ctx, block-partitioned in host memory: rank r
/// holds global_size / size elements, plus one if r < global_size % size.
/// Same as dtl_vector_create_with(ctx, dtype, global_size, NULL, NULL,
/// out). The vector shares the context's communicator and stays valid
/// after dtl_context_destroy(ctx).
///
/// Collective over ctx: every rank passes the same dtype and global_size
/// (checked with one MPI_Allreduce unless the size is 1). Units: elements.
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL out, or a dtype code outside 0..9 (on every rank
/// when only some ranks pass an invalid argument); DTL_ERROR_MISMATCH if
/// ranks pass different (valid) sizes or dtypes; DTL_ERROR_MEMORY if the
/// local part cannot be allocated.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_vector_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_create(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    global_size: u64,
    out: *mut dtl_vector_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_create", || unsafe {
        create_1d(Kind::Vector, ctx, dtype, global_size, ptr::null(), ptr::null(), out.cast())
    })
}

/// Creates a distributed vector of global_size elements of type dtype, laid
/// out by *layout (NULL: block partition, host memory; see dtl_layout),
/// every element set to *value (one element of dtype, no alignment needed;
/// NULL: zero).
///
/// Collective over ctx: every rank passes the same dtype, global_size and
/// layout (checked with one MPI_Allreduce unless the size is 1); value may
/// differ (each rank fills its own part with its own value).
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: as dtl_vector_create; DTL_ERROR_INVALID_ARGUMENT for an invalid
/// layout (unknown partition or placement code, DTL_PARTITION_HASH, a
/// placement this build cannot store, axis != 0, block_size 0 for
/// DTL_PARTITION_BLOCK_CYCLIC or set for another partition, weights that
/// are missing, both given, or do not sum to global_size / to 1).
///
/// # Safety
/// layout must be NULL or point to a dtl_layout whose non-NULL counts or
/// fractions hold size readable values; value must be NULL or point to one
/// readable element; out as in dtl_vector_create.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_create_with(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    global_size: u64,
    layout: *const dtl_layout,
    value: *const c_void,
    out: *mut dtl_vector_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_create_with", || unsafe {
        create_1d(Kind::Vector, ctx, dtype, global_size, layout, value, out.cast())
    })
}

/// Creates a distributed vector from every rank's local elements: local
/// holds n_local elements of dtype on this rank; the global vector is the
/// ranks' parts concatenated in rank order (global size = the sum of
/// n_local), then laid out by *layout (NULL: block). The data are copied
/// (MPI_Allgather of the counts, then one MPI_Alltoallv if elements must
/// move). n_local may differ between ranks and be 0 (local may then be
/// NULL).
///
/// Collective over ctx.
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: as dtl_vector_create_with; DTL_ERROR_INVALID_ARGUMENT for a NULL
/// or misaligned local with n_local > 0 (on every rank).
///
/// # Safety
/// local must point to n_local readable elements of dtype; layout and out
/// as in dtl_vector_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_from_local(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    local: *const c_void,
    n_local: u64,
    layout: *const dtl_layout,
    out: *mut dtl_vector_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_from_local", || unsafe {
        from_local_1d(Kind::Vector, ctx, dtype, local, n_local, layout, out.cast())
    })
}

/// Creates a distributed vector from n elements held by the root rank:
/// data (on root) holds n elements of dtype; the vector has n elements,
/// laid out by *layout (NULL: block). data and n are read on root only
/// (other ranks may pass NULL and 0). MPI_Bcast of n, then one
/// MPI_Alltoallv.
///
/// Collective over ctx: every rank passes the same dtype, root and layout.
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: as dtl_vector_create_with; DTL_ERROR_INVALID_ARGUMENT for a root
/// outside 0..size-1 or a NULL or misaligned data with n > 0 on root (on
/// every rank).
///
/// # Safety
/// On root, data must point to n readable elements of dtype; layout and out
/// as in dtl_vector_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_scatter(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    data: *const c_void,
    n: u64,
    root: i32,
    layout: *const dtl_layout,
    out: *mut dtl_vector_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_scatter", || unsafe { scatter_1d(Kind::Vector, ctx, dtype, data, n, root, layout, out.cast()) })
}

/// Loads a distributed vector from a 1-d `.npy` file (as numpy.save writes
/// it; any of the ten dtypes, either byte order), laid out by *layout
/// (NULL: block). The dtype comes from the file. Rank 0 reads the header
/// (MPI_Bcast), each rank reads its own elements with MPI-IO
/// (MPI_File_read_at_all).
///
/// Collective over ctx: every rank passes the same path and layout.
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx, a NULL path or
/// out, an invalid layout, or a file that is not a 1-d .npy array of a
/// supported dtype (the message names the file and what is wrong), or a
/// file that cannot be opened (the message names MPI_File_open and the
/// MPI error); DTL_ERROR_COMMUNICATION if reading fails.
///
/// # Safety
/// path must be NULL or a NUL-terminated string; layout and out as in
/// dtl_vector_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_load(
    ctx: dtl_context_t,
    path: *const c_char,
    layout: *const dtl_layout,
    out: *mut dtl_vector_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_load", || unsafe { load_1d(Kind::Vector, ctx, path, layout, out.cast()) })
}

/// Destroys a vector handle and frees its local part. If it held the last
/// reference to its communicator, the communicator is freed
/// (MPI_Comm_free); if it was the last dtl object and there is no
/// dtl_init() hold, MPI is finalized (MPI_Finalize) when dtl initialized it.
/// Spans of the vector become invalid (using them is an error).
///
/// Collective over the vector's context when it frees the communicator or
/// finalizes MPI; otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if vec is NULL, not a vector, or
/// already destroyed (a double destroy is detected and harmless).
///
/// # Safety
/// No other thread may use vec during or after this call; pointers from
/// dtl_container_local_data() become invalid.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_destroy(vec: dtl_vector_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_destroy", || unsafe { destroy_handle(vec, "vec") })
}

/// Changes the global size to new_size elements, keeping the first
/// min(old, new_size) elements in global order and setting new elements to
/// zero; the partition policy is kept. Elements move to their new owners
/// with one MPI_Alltoallv (after one MPI_Allreduce checking that every rank
/// passed the same new_size). Invalidates pointers from
/// dtl_container_local_data(); spans whose range no longer fits report
/// DTL_ERROR_BOUNDS.
///
/// Collective over the vector's context. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec (at once, without
/// communication); DTL_ERROR_MISMATCH if ranks pass different sizes;
/// DTL_ERROR_MEMORY if the new local part cannot be allocated.
///
/// # Safety
/// No other thread may use vec meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_resize(vec: dtl_vector_t, new_size: u64) -> dtl_status {
    guard("dtl_vector_resize", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(vec, "vec") }?;
        with_store!(&mut h.store, T, s => {
            let n = collective(s.context(), "resize", size_arg(new_size, "new_size"));
            match s {
                Store::Vector(v) => v.resize(n?),
                _ => Err(Error::Internal("a dtl_vector_t holds a vector".into())),
            }
        })
    })
}

// ------------------------------------------------------------- arrays

/// Creates a distributed array (fixed size) of global_size zero-initialized
/// elements of type dtype, block-partitioned in host memory. As
/// dtl_vector_create, for a dtl_array_t.
///
/// Collective over ctx. Units: elements.
///
/// On success *out is the new array; on failure *out is set to NULL.
///
/// Errors: as dtl_vector_create.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_array_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_create(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    global_size: u64,
    out: *mut dtl_array_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_create", || unsafe {
        create_1d(Kind::Array, ctx, dtype, global_size, ptr::null(), ptr::null(), out.cast())
    })
}

/// Creates a distributed array laid out by *layout with every element set
/// to *value. As dtl_vector_create_with, for a dtl_array_t.
///
/// Collective over ctx.
///
/// Errors: as dtl_vector_create_with.
///
/// # Safety
/// As dtl_vector_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_create_with(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    global_size: u64,
    layout: *const dtl_layout,
    value: *const c_void,
    out: *mut dtl_array_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_create_with", || unsafe {
        create_1d(Kind::Array, ctx, dtype, global_size, layout, value, out.cast())
    })
}

/// Creates a distributed array from every rank's local elements (copied).
/// As dtl_vector_from_local, for a dtl_array_t.
///
/// Collective over ctx.
///
/// Errors: as dtl_vector_from_local.
///
/// # Safety
/// As dtl_vector_from_local.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_from_local(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    local: *const c_void,
    n_local: u64,
    layout: *const dtl_layout,
    out: *mut dtl_array_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_from_local", || unsafe {
        from_local_1d(Kind::Array, ctx, dtype, local, n_local, layout, out.cast())
    })
}

/// Creates a distributed array from n elements held by the root rank. As
/// dtl_vector_scatter, for a dtl_array_t.
///
/// Collective over ctx.
///
/// Errors: as dtl_vector_scatter.
///
/// # Safety
/// As dtl_vector_scatter.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_scatter(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    data: *const c_void,
    n: u64,
    root: i32,
    layout: *const dtl_layout,
    out: *mut dtl_array_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_scatter", || unsafe { scatter_1d(Kind::Array, ctx, dtype, data, n, root, layout, out.cast()) })
}

/// Loads a distributed array from a 1-d `.npy` file. As dtl_vector_load,
/// for a dtl_array_t.
///
/// Collective over ctx.
///
/// Errors: as dtl_vector_load.
///
/// # Safety
/// As dtl_vector_load.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_load(
    ctx: dtl_context_t,
    path: *const c_char,
    layout: *const dtl_layout,
    out: *mut dtl_array_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_load", || unsafe { load_1d(Kind::Array, ctx, path, layout, out.cast()) })
}

/// Destroys an array handle. As dtl_vector_destroy.
///
/// Collective over the array's context when it frees the communicator or
/// finalizes MPI; otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if arr is NULL, not an array, or
/// already destroyed.
///
/// # Safety
/// No other thread may use arr during or after this call.
#[no_mangle]
pub unsafe extern "C" fn dtl_array_destroy(arr: dtl_array_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_array_destroy", || unsafe { destroy_handle(arr, "arr") })
}

// ------------------------------------------------------------- tensors

/// The shape argument of the tensor constructors.
///
/// # Safety
/// `shape` must point to `ndim` readable values (or be NULL).
unsafe fn shape_arg(ndim: u64, shape: *const u64) -> Result<Vec<usize>> {
    let nd = size_arg(ndim, "ndim")?;
    if nd == 0 || nd > 32 {
        return Err(Error::InvalidArgument(format!("ndim must be in 1..=32, got {ndim}")));
    }
    // SAFETY: caller's contract.
    let s = unsafe { slice_arg::<u64>(shape.cast(), nd, "shape") }?;
    s.iter().map(|&x| size_arg(x, "shape[i]")).collect()
}

/// Creates a distributed tensor of the given shape (ndim extents, C order),
/// zero-initialized, split along axis 0 by blocks, in host memory. Same as
/// dtl_tensor_create_with(ctx, dtype, ndim, shape, NULL, NULL, out).
///
/// Collective over ctx: every rank passes the same dtype and shape.
/// Units: extents in elements.
///
/// On success *out is the new tensor; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once), a NULL
/// out, ndim outside 1..32, a NULL shape, or a dtype outside 0..9 (on every
/// rank when only some ranks pass it); DTL_ERROR_MISMATCH if ranks pass
/// different shapes or dtypes; DTL_ERROR_MEMORY if the local block cannot
/// be allocated.
///
/// # Safety
/// shape must point to ndim readable uint64_t; out must be NULL or point to
/// writable storage for a dtl_tensor_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_create(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    ndim: u64,
    shape: *const u64,
    out: *mut dtl_tensor_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_tensor_create", || unsafe { create_tensor(ctx, dtype, ndim, shape, ptr::null(), ptr::null(), out) })
}

/// Creates a distributed tensor of the given shape, split along
/// layout->axis by layout's partition (NULL: axis 0, block, host), every
/// element set to *value (NULL: zero).
///
/// Collective over ctx: every rank passes the same dtype, shape and layout.
///
/// On success *out is the new tensor; on failure *out is set to NULL.
///
/// Errors: as dtl_tensor_create; DTL_ERROR_INVALID_ARGUMENT for an invalid
/// layout (see dtl_vector_create_with; axis must be in 0..ndim-1, weights
/// count rows of the split axis).
///
/// # Safety
/// As dtl_tensor_create; layout and value as in dtl_vector_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_create_with(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    ndim: u64,
    shape: *const u64,
    layout: *const dtl_layout,
    value: *const c_void,
    out: *mut dtl_tensor_t,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_tensor_create_with", || unsafe { create_tensor(ctx, dtype, ndim, shape, layout, value, out) })
}

/// # Safety
/// As dtl_tensor_create_with.
unsafe fn create_tensor(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    ndim: u64,
    shape: *const u64,
    layout: *const dtl_layout,
    value: *const c_void,
    out: *mut dtl_tensor_t,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    unsafe {
        construct(
            ctx,
            out.cast(),
            |c| Ok((parse_dtype(dtype)?, shape_arg(ndim, shape)?, parse_layout(layout, c.size())?)),
            |c, (d, shape, l)| {
                dispatch_dtype!(d, T => {
                    let value = if value.is_null() { T::ZERO } else { read_elem::<T>(value, "value")? };
                    let t = DistributedTensor::<T>::with_layout(c, &shape, value, l.axis, &l.spec)?;
                    Ok(T::wrap(c_default(Store::Tensor(t))))
                })
            },
            publish_tensor,
        )
    }
}

fn publish_tensor(store: AnyStore, out: &mut *mut c_void) {
    *out = new_handle(dtl_tensor { tag: dtl_tensor::TAG, store }).cast();
}

/// Creates a distributed tensor from an array held by the root rank: data
/// (on root) holds the product of shape's ndim extents elements of dtype in
/// C order; the tensor is split along layout->axis by layout's partition
/// (NULL: axis 0, block). ndim, shape and data are read on root only.
/// MPI_Bcast of the shape, then one MPI_Alltoallv.
///
/// Collective over ctx: every rank passes the same dtype, root and layout.
///
/// On success *out is the new tensor; on failure *out is set to NULL.
///
/// Errors: as dtl_tensor_create_with; DTL_ERROR_INVALID_ARGUMENT for a
/// root outside 0..size-1, or on root a bad ndim, a NULL shape, or a NULL
/// or misaligned data with elements (on every rank).
///
/// # Safety
/// On root, shape must point to ndim readable uint64_t and data to their
/// product of readable elements; layout and out as in
/// dtl_tensor_create_with.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_scatter(
    ctx: dtl_context_t,
    dtype: dtl_dtype_code,
    ndim: u64,
    shape: *const u64,
    data: *const c_void,
    root: i32,
    layout: *const dtl_layout,
    out: *mut dtl_tensor_t,
) -> dtl_status {
    guard("dtl_tensor_scatter", || {
        // SAFETY: caller's contract.
        unsafe {
            construct(
                ctx,
                out.cast(),
                |c| {
                    let d = parse_dtype(dtype)?;
                    let root = rank_arg(root, c.size(), "root")?;
                    let l = parse_layout(layout, c.size())?;
                    let shape = if c.rank() == root {
                        let s = shape_arg(ndim, shape)?;
                        let n = s.iter().try_fold(1usize, |a, &x| a.checked_mul(x));
                        let n = n.ok_or_else(|| Error::InvalidArgument("shape: the element count overflows".into()))?;
                        dispatch_dtype!(d, T => { slice_arg::<T>(data, n, "data")?; });
                        Some((s, n))
                    } else {
                        None
                    };
                    Ok((d, root, l, shape))
                },
                |c, (d, root, l, shape)| {
                    dispatch_dtype!(d, T => {
                        let view = match &shape {
                            Some((s, n)) => Some(
                                ndarray::ArrayViewD::from_shape(ndarray::IxDyn(s), slice_arg::<T>(data, *n, "data")?)
                                    .map_err(|e| Error::InvalidArgument(format!("shape: {e}")))?,
                            ),
                            None => None,
                        };
                        let t = DistributedTensor::<T>::scatter_from_with(c, view, root, l.axis, &l.spec)?;
                        Ok(T::wrap(c_default(Store::Tensor(t))))
                    })
                },
                publish_tensor,
            )
        }
    })
}

/// Loads a distributed tensor from an N-d C-order `.npy` file, split along
/// layout->axis by layout's partition (NULL: axis 0, block). The dtype and
/// shape come from the file. MPI-IO, as dtl_vector_load.
///
/// Collective over ctx.
///
/// On success *out is the new tensor; on failure *out is set to NULL.
///
/// Errors: as dtl_vector_load (a 0-d or Fortran-order file is refused);
/// DTL_ERROR_INVALID_ARGUMENT for an axis >= the file's ndim.
///
/// # Safety
/// As dtl_vector_load.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_load(
    ctx: dtl_context_t,
    path: *const c_char,
    layout: *const dtl_layout,
    out: *mut dtl_tensor_t,
) -> dtl_status {
    guard("dtl_tensor_load", || {
        // SAFETY: caller's contract.
        unsafe {
            construct(
                ctx,
                out.cast(),
                |c| Ok((path_arg(path)?, parse_layout(layout, c.size())?)),
                |c, (path, l)| {
                    let d = dtl_core::io::read_header(c, &path)?.dtype;
                    dispatch_dtype!(d, T => {
                        let t = DistributedTensor::<T>::load(c, &path, l.axis, &l.spec)?;
                        Ok(T::wrap(c_default(Store::Tensor(t))))
                    })
                },
                publish_tensor,
            )
        }
    })
}

/// Destroys a tensor handle. As dtl_vector_destroy.
///
/// Collective over the tensor's context when it frees the communicator or
/// finalizes MPI; otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if t is NULL, not a tensor, or
/// already destroyed.
///
/// # Safety
/// No other thread may use t during or after this call.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_destroy(t: dtl_tensor_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_tensor_destroy", || unsafe { destroy_handle(t, "t") })
}

/// Writes the tensor's number of dimensions to *ndim.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid t or a NULL ndim.
///
/// # Safety
/// ndim must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_ndim(t: dtl_tensor_t, ndim: *mut u64) -> dtl_status {
    guard("dtl_tensor_ndim", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(t, "t") }?;
        let n = tensor_shapes(&h.store, false)?.len();
        // SAFETY: caller's contract.
        *unsafe { out_ptr(ndim, "ndim") }? = n as u64;
        Ok(())
    })
}

fn tensor_shapes(s: &AnyStore, local: bool) -> Result<Vec<usize>> {
    with_store!(s, T, st => match st {
        Store::Tensor(t) => Ok(if local { t.local_shape() } else { t.shape().to_vec() }),
        _ => Err(Error::Internal("a dtl_tensor_t holds a tensor".into())),
    })
}

/// Writes the global shape (ndim extents) to shape[0 .. ndim-1]; capacity
/// is the number of entries shape can hold (at least ndim).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid t or a NULL shape;
/// DTL_ERROR_BOUNDS if capacity < ndim.
///
/// # Safety
/// shape must point to capacity writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_shape(t: dtl_tensor_t, shape: *mut u64, capacity: u64) -> dtl_status {
    guard("dtl_tensor_shape", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(t, "t") }?;
        // SAFETY: caller's contract.
        unsafe { write_shape(&tensor_shapes(&h.store, false)?, shape, capacity) }
    })
}

/// Writes the shape of this rank's block (the global shape with the split
/// axis replaced by the local count) to shape[0 .. ndim-1].
///
/// Not collective; no communication.
///
/// Errors: as dtl_tensor_shape.
///
/// # Safety
/// As dtl_tensor_shape.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_local_shape(t: dtl_tensor_t, shape: *mut u64, capacity: u64) -> dtl_status {
    guard("dtl_tensor_local_shape", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(t, "t") }?;
        // SAFETY: caller's contract.
        unsafe { write_shape(&tensor_shapes(&h.store, true)?, shape, capacity) }
    })
}

/// # Safety
/// `out` must point to `capacity` writable values.
unsafe fn write_shape(s: &[usize], out: *mut u64, capacity: u64) -> Result<()> {
    if capacity < s.len() as u64 {
        return Err(Error::Bounds(format!("capacity must be >= ndim = {}, got {capacity}", s.len())));
    }
    // SAFETY: caller's contract.
    let o = unsafe { slice_mut_arg::<u64>(out.cast(), s.len(), "shape") }?;
    for (d, &x) in o.iter_mut().zip(s) {
        *d = x as u64;
    }
    Ok(())
}

/// Writes the axis the tensor is split along (0 .. ndim-1) to *axis.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid t or a NULL axis.
///
/// # Safety
/// axis must be NULL or point to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_tensor_split_axis(t: dtl_tensor_t, axis: *mut i32) -> dtl_status {
    guard("dtl_tensor_split_axis", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(t, "t") }?;
        let a = with_store!(&h.store, T, st => match st {
            Store::Tensor(t) => t.split_axis(),
            _ => 0,
        });
        // SAFETY: caller's contract.
        *unsafe { out_ptr(axis, "axis") }? = a as i32;
        Ok(())
    })
}

// ------------------------------------------------------------- spans

/// Creates a span: a view of the global index range offset ..
/// offset + count - 1 (along the split axis) of container, which is a
/// dtl_vector_t, dtl_array_t, dtl_tensor_t or dtl_span_t (then offset is
/// relative to that span, and the new span views the same container). The
/// span does not own or copy anything; it stays valid while its container
/// lives and its range fits (a resize that shrinks the vector below it
/// makes uses of the span fail with DTL_ERROR_BOUNDS; destroying the
/// container makes them fail with DTL_ERROR_INVALID_STATE). Spans work
/// with dtl_container_global_size, _local_size, _local_data, _dtype and
/// _fill, and dtl_span_range.
///
/// Not collective; no communication (ranks need not agree on spans).
///
/// On success *out is the new span; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// out; DTL_ERROR_BOUNDS if offset + count exceeds the container's (or
/// span's) length along the split axis.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_span_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_span_create(
    container: *const c_void,
    offset: u64,
    count: u64,
    out: *mut dtl_span_t,
) -> dtl_status {
    guard("dtl_span_create", || {
        // SAFETY: caller's contract.
        let out = null_out(unsafe { out_ptr(out, "out") }?);
        let (off, cnt) = (size_arg(offset, "offset")?, size_arg(count, "count")?);
        // SAFETY: caller's contract.
        let (parent, parent_type, base) = match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => {
                with_store!(&*s, T, st => { st.span().subspan(off, cnt)?; });
                (container as *mut c_void, kind_of(container).unwrap_or("?"), 0)
            }
            Target::Span(sp) => {
                with_span!(sp, T, v => { v.subspan(off, cnt)?; });
                (sp.parent, sp.parent_type, sp.offset)
            }
        };
        *out = new_handle(dtl_span { tag: dtl_span::TAG, parent, parent_type, offset: base + off, len: cnt });
        Ok(())
    })
}

/// Destroys a span handle (its container is not affected).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if span is NULL, not a span, or
/// already destroyed.
///
/// # Safety
/// No other thread may use span during or after this call.
#[no_mangle]
pub unsafe extern "C" fn dtl_span_destroy(span: dtl_span_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_span_destroy", || unsafe { destroy_handle(span, "span") })
}

/// Writes the global index (along the split axis) of the span's first
/// index to *offset, and its length along that axis to *count (either
/// pointer may be NULL to skip it).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid span.
///
/// # Safety
/// offset and count must be NULL or point to writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_span_range(span: dtl_span_t, offset: *mut u64, count: *mut u64) -> dtl_status {
    guard("dtl_span_range", || {
        // SAFETY: caller's contract.
        let s = unsafe { handle_ref(span, "span") }?;
        if !offset.is_null() {
            // SAFETY: caller's contract.
            *unsafe { out_ptr(offset, "offset") }? = s.offset as u64;
        }
        if !count.is_null() {
            // SAFETY: caller's contract.
            *unsafe { out_ptr(count, "count") }? = s.len as u64;
        }
        Ok(())
    })
}

// ------------------------------------------------------------- any container

/// Writes the container's element type (a DTL_DTYPE_* code) to *dtype.
/// container is a dtl_vector_t, dtl_array_t, dtl_tensor_t or dtl_span_t.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// dtype; DTL_ERROR_INVALID_STATE for a span whose container was destroyed.
///
/// # Safety
/// dtype must be NULL or point to a writable dtl_dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_dtype(container: *const c_void, dtype: *mut dtl_dtype_code) -> dtl_status {
    guard("dtl_container_dtype", || {
        // SAFETY: caller's contract.
        let d = match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => s.dtype(),
            // SAFETY: caller's contract.
            Target::Span(sp) => unsafe { span_parent(sp) }?.dtype(),
        };
        // SAFETY: caller's contract.
        *unsafe { out_ptr(dtype, "dtype") }? = d as dtl_dtype_code;
        Ok(())
    })
}

/// Writes the number of elements over all ranks to *size: the global size
/// of a vector or array, the product of a tensor's shape, or the elements
/// of a span (its length times the product of the other axes). A
/// replicated container counts each element once.
///
/// Not collective; no communication. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// size; for a span, DTL_ERROR_INVALID_STATE (container destroyed) or
/// DTL_ERROR_BOUNDS (range no longer fits).
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_global_size(container: *const c_void, size: *mut u64) -> dtl_status {
    guard("dtl_container_global_size", || {
        // SAFETY: caller's contract.
        let n = match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => with_store!(&*s, T, st => st.global_size()),
            Target::Span(sp) => with_span!(sp, T, v => v.global_size()),
        };
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = n as u64;
        Ok(())
    })
}

/// Writes the number of elements this rank holds to *size (of a span: the
/// span's elements on this rank).
///
/// Not collective; no communication. Units: elements.
///
/// Errors: as dtl_container_global_size.
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_local_size(container: *const c_void, size: *mut u64) -> dtl_status {
    guard("dtl_container_local_size", || {
        // SAFETY: caller's contract.
        let n = match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => with_store!(&*s, T, st => st.local().len()),
            Target::Span(sp) => with_span!(sp, T, v => v.local_size()),
        };
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = n as u64;
        Ok(())
    })
}

/// Writes the global index (along the split axis) of this rank's first
/// local index to *offset. For the block and weighted partitions local
/// element i (row i of a tensor block) is global index offset + i; for
/// cyclic and block-cyclic partitions use dtl_container_local_to_global.
/// A rank with no elements gets the index where its part would start.
///
/// Not collective; no communication. Units: indices of the split axis.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container, a span
/// (use dtl_span_range), or a NULL offset.
///
/// # Safety
/// offset must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_local_offset(container: *const c_void, offset: *mut u64) -> dtl_status {
    guard("dtl_container_local_offset", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let o = with_store!(&*s, T, st => st.local_offset());
        // SAFETY: caller's contract.
        *unsafe { out_ptr(offset, "offset") }? = o as u64;
        Ok(())
    })
}

/// Writes a pointer to this rank's local elements to *data: local_size
/// contiguous elements of the container's dtype in global order (a
/// tensor's block in C order), readable and writable, naturally aligned;
/// NULL when local_size is 0. For a span: its local part within the
/// container's data (a tensor split along an inner axis whose span part is
/// strided is refused with DTL_ERROR_INVALID_ARGUMENT). The pointer stays
/// valid until the container is resized, redistributed or destroyed.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// data; span errors as dtl_container_global_size.
///
/// # Safety
/// data must be NULL or point to a writable void*. Accesses through the
/// returned pointer must stay within local_size elements and must not race
/// with calls that modify the container.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_local_data(container: *const c_void, data: *mut *mut c_void) -> dtl_status {
    guard("dtl_container_local_data", || {
        // SAFETY: caller's contract.
        let p = match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => with_store!(&mut *s, T, st => {
                let l = st.local_mut();
                if l.is_empty() { ptr::null_mut() } else { l.as_mut_ptr().cast::<c_void>() }
            }),
            Target::Span(sp) => {
                // SAFETY: caller's contract.
                let store = unsafe { span_parent(sp) }?;
                with_store!(&mut *store, T, st => {
                    let mut whole = st.span_mut();
                    let l = whole.subspan(sp.offset, sp.len).map_err(stale_span)?.into_local_mut()?;
                    if l.is_empty() { ptr::null_mut() } else { l.as_mut_ptr().cast::<c_void>() }
                })
            }
        };
        // SAFETY: caller's contract.
        *unsafe { out_ptr(data, "data") }? = p;
        Ok(())
    })
}

/// Sets every local element to *value, read as one element of the
/// container's dtype (no alignment needed). For a span, the span's local
/// elements only.
///
/// Not collective; no communication: each rank fills its own part, so call
/// it on every rank to fill the whole container.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// value; span errors as dtl_container_global_size.
///
/// # Safety
/// value must be NULL or point to one readable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_fill(container: *const c_void, value: *const c_void) -> dtl_status {
    guard("dtl_container_fill", || {
        // SAFETY: caller's contract.
        match unsafe { target_arg(container, "container") }? {
            Target::Store(s) => with_store!(&mut *s, T, st => {
                // SAFETY: caller's contract.
                let x = unsafe { read_elem::<T>(value, "value") }?;
                st.local_mut().fill(x);
            }),
            Target::Span(sp) => {
                // SAFETY: caller's contract.
                let store = unsafe { span_parent(sp) }?;
                with_store!(&mut *store, T, st => {
                    // SAFETY: caller's contract.
                    let x = unsafe { read_elem::<T>(value, "value") }?;
                    st.span_mut().subspan(sp.offset, sp.len).map_err(stale_span)?.fill(x);
                })
            }
        }
        Ok(())
    })
}

/// Writes the container's partition policy (a DTL_PARTITION_* code) to
/// *partition.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (not a
/// span) or a NULL partition.
///
/// # Safety
/// partition must be NULL or point to a writable dtl_partition.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_partition(
    container: *const c_void,
    partition: *mut dtl_partition_code,
) -> dtl_status {
    guard("dtl_container_partition", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let k = with_store!(&*s, T, st => st.layout().kind());
        // SAFETY: caller's contract.
        *unsafe { out_ptr(partition, "partition") }? = k as dtl_partition_code;
        Ok(())
    })
}

/// Writes the rank that owns global index index (along the split axis) to
/// *rank (for a replicated container: this rank).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// rank; DTL_ERROR_BOUNDS if index >= the extent of the split axis.
///
/// # Safety
/// rank must be NULL or point to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_owner(container: *const c_void, index: u64, rank: *mut i32) -> dtl_status {
    guard("dtl_container_owner", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let r = with_store!(&*s, T, st => {
            let l = st.layout();
            if l.is_replicated() {
                l.owner(size_arg(index, "index")?)?;
                st.context().rank()
            } else {
                l.owner(size_arg(index, "index")?)?
            }
        });
        // SAFETY: caller's contract.
        *unsafe { out_ptr(rank, "rank") }? = r as i32;
        Ok(())
    })
}

/// Converts local index local (along the split axis) of this rank to its
/// global index, written to *global. Works for every partition.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// global; DTL_ERROR_BOUNDS if local >= this rank's local count.
///
/// # Safety
/// global must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_local_to_global(
    container: *const c_void,
    local: u64,
    global: *mut u64,
) -> dtl_status {
    guard("dtl_container_local_to_global", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let g = with_store!(&*s, T, st => st.layout().local_to_global(st.context().rank(), size_arg(local, "local")?)?);
        // SAFETY: caller's contract.
        *unsafe { out_ptr(global, "global") }? = g as u64;
        Ok(())
    })
}

/// Converts global index global (along the split axis) to this rank's
/// local index: *is_local is 1 and *local the local index if this rank
/// holds it, else *is_local is 0 and *local is left unchanged.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// output; DTL_ERROR_BOUNDS if global >= the extent of the split axis.
///
/// # Safety
/// local and is_local must be NULL or point to writable values.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_global_to_local(
    container: *const c_void,
    global: u64,
    local: *mut u64,
    is_local: *mut i32,
) -> dtl_status {
    guard("dtl_container_global_to_local", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let r = with_store!(&*s, T, st => {
            let l = st.layout();
            let g = size_arg(global, "global")?;
            let (owner, li) = l.global_to_local(g)?;
            (l.is_replicated() || owner == st.context().rank()).then_some(li)
        });
        // SAFETY: caller's contract.
        let (lo, il) = (unsafe { out_ptr(local, "local") }?, unsafe { out_ptr(is_local, "is_local") }?);
        *il = i32::from(r.is_some());
        if let Some(li) = r {
            *lo = li as u64;
        }
        Ok(())
    })
}

/// Sets where the local work of the algorithms on this container runs:
/// DTL_EXEC_SEQ (the default for containers made through the C API: on the
/// calling thread, callbacks never concurrent) or DTL_EXEC_PAR (a thread
/// pool for local parts of at least 65536 elements; callbacks must then be
/// thread-safe). Ranks may choose differently.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or an exec
/// code outside 0..1.
///
/// # Safety
/// No other thread may use the container meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_set_execution(container: *const c_void, exec: dtl_exec_code) -> dtl_status {
    guard("dtl_container_set_execution", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let e = parse_exec(exec)?;
        with_store!(&mut *s, T, st => st.set_execution(e));
        Ok(())
    })
}

/// Writes the container's execution policy (a DTL_EXEC_* code) to *exec.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// exec.
///
/// # Safety
/// exec must be NULL or point to a writable dtl_exec.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_execution(container: *const c_void, exec: *mut dtl_exec_code) -> dtl_status {
    guard("dtl_container_execution", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let e = with_store!(&*s, T, st => st.execution());
        // SAFETY: caller's contract.
        *unsafe { out_ptr(exec, "exec") }? = match e {
            Execution::Seq => dtl_exec::Seq as i32,
            Execution::Par => dtl_exec::Par as i32,
        };
        Ok(())
    })
}

// ------------------------------------------------------------- element access

/// Reads the element at global index index of a vector or array, whichever
/// rank owns it, into *value (one element of the dtype, no alignment
/// needed). A local element is read directly; a remote one with one
/// MPI_Get under MPI_Win_lock(MPI_LOCK_SHARED) on its owner, which need not
/// call anything.
///
/// Not collective (one-sided).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container, a tensor,
/// or a NULL value; DTL_ERROR_BOUNDS if index >= global size;
/// DTL_ERROR_NOT_SUPPORTED if MPI offers no one-sided support here.
///
/// # Safety
/// value must be NULL or point to one writable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_get(container: *const c_void, index: u64, value: *mut c_void) -> dtl_status {
    guard("dtl_container_get", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            if value.is_null() {
                return Err(Error::InvalidArgument("value is NULL; pass the address of one element".into()));
            }
            let x = st.one_d("dtl_container_get")?.get(size_arg(index, "index")?)?;
            // SAFETY: caller's contract.
            unsafe { write_elem::<T>(value, x, "value") }
        })
    })
}

/// Writes *value at global index index of a vector or array, whichever rank
/// owns it: a local element directly, a remote one with one MPI_Put under
/// MPI_Win_lock(MPI_LOCK_EXCLUSIVE) on its owner. For a replicated
/// container every rank's copy is written.
///
/// Not collective (one-sided): the write is complete when the call returns
/// (MPI_Win_unlock), so any rank that synchronizes with this one afterwards
/// (dtl_context_barrier on any context of these ranks, or a collective on
/// the container) reads the new value.
///
/// Errors: as dtl_container_get.
///
/// # Safety
/// value must be NULL or point to one readable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_set(container: *const c_void, index: u64, value: *const c_void) -> dtl_status {
    guard("dtl_container_set", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => {
            // SAFETY: caller's contract.
            let x = unsafe { read_elem::<T>(value, "value") }?;
            st.one_d_mut("dtl_container_set")?.set(size_arg(index, "index")?, x)
        })
    })
}

/// Reads the elements at n global indices (any order, repeats allowed, any
/// owners) into values[0 .. n-1]. One MPI_Alltoall of counts and two
/// MPI_Alltoallv (requests, replies). A tensor is indexed by flat C-order
/// element index. n may differ between ranks and be 0.
///
/// Collective over the container's context (every rank calls it, with its
/// own indices).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once),
/// or NULL/misaligned indices or values with n > 0 (on every rank);
/// DTL_ERROR_BOUNDS on every rank if some rank passes an index >= the
/// global size.
///
/// # Safety
/// indices must point to n readable uint64_t and values to n writable
/// elements of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_gather_indices(
    container: *const c_void,
    indices: *const u64,
    n: u64,
    values: *mut c_void,
) -> dtl_status {
    guard("dtl_container_gather_indices", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let args = (|| {
                let n = size_arg(n, "n")?;
                // SAFETY: caller's contract.
                let idx = unsafe { slice_arg::<u64>(indices.cast(), n, "indices") }?;
                // SAFETY: caller's contract.
                let out = unsafe { slice_mut_arg::<T>(values, n, "values") }?;
                Ok((idx, out))
            })();
            let (idx, out) = match args {
                Ok(a) => a,
                Err(e) => {
                    st.flat(|d| d.gather_indices_or_reject::<u64>(&[], Some(e)))?;
                    return Err(Error::Internal("gather_indices: a local error was lost".into()));
                }
            };
            let got = st.flat(|d| d.gather_indices(idx))?;
            out.copy_from_slice(&got);
            Ok(())
        })
    })
}

/// Writes values[i] at global index indices[i] for i in 0 .. n-1, whichever
/// ranks own them (two MPI_Alltoallv). If several writes hit the same index
/// the one from the highest rank, and within a rank the last, wins. A tensor
/// is indexed by flat C-order element index. n may differ between ranks.
///
/// Collective over the container's context.
///
/// Errors: as dtl_container_gather_indices.
///
/// # Safety
/// indices must point to n readable uint64_t and values to n readable
/// elements of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_scatter_indices(
    container: *const c_void,
    indices: *const u64,
    n: u64,
    values: *const c_void,
) -> dtl_status {
    guard("dtl_container_scatter_indices", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => {
            let args = (|| {
                let n = size_arg(n, "n")?;
                // SAFETY: caller's contract.
                let idx = unsafe { slice_arg::<u64>(indices.cast(), n, "indices") }?;
                // SAFETY: caller's contract.
                let vals = unsafe { slice_arg::<T>(values, n, "values") }?;
                Ok((idx, vals))
            })();
            match args {
                Ok((idx, vals)) => st.flat_mut(|d| d.scatter_indices(idx, vals)),
                Err(e) => {
                    st.flat_mut(|d| d.scatter_indices_or_reject::<u64>(&[], &[], Some(e)))?;
                    Err(Error::Internal("scatter_indices: a local error was lost".into()))
                }
            }
        })
    })
}

/// Copies the whole container in global order (a tensor in C order) into
/// out on root: global_size elements; capacity is the number of elements
/// out can hold. Other ranks' out and capacity are ignored (NULL, 0 is
/// fine). One MPI_Alltoallv to a layout with everything on root.
///
/// Collective over the container's context: every rank passes the same
/// root.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once),
/// or a root outside 0..size-1 (every rank); on root only, after taking
/// part, DTL_ERROR_BOUNDS if capacity < global size or
/// DTL_ERROR_INVALID_ARGUMENT for a NULL or misaligned out (the other ranks
/// succeed; the data are lost).
///
/// # Safety
/// On root, out must point to capacity writable elements of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_gather(
    container: *const c_void,
    root: i32,
    out: *mut c_void,
    capacity: u64,
) -> dtl_status {
    guard("dtl_container_gather", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let c = st.context();
            let root = collective(c, "gather", rank_arg(root, c.size(), "root"))?;
            let all = st.flat(|d| d.gather(root))?;
            match all {
                // SAFETY: caller's contract.
                Some(all) => unsafe { copy_out(&all, out, capacity) },
                None => Ok(()),
            }
        })
    })
}

/// Copies the whole container in global order (a tensor in C order) into
/// out on every rank (one MPI_Allgatherv; a replicated container copies
/// its local part). capacity is the number of elements out can hold.
///
/// Collective over the container's context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once);
/// after taking part, DTL_ERROR_BOUNDS on a rank whose capacity < global
/// size, DTL_ERROR_INVALID_ARGUMENT on a rank whose out is NULL or
/// misaligned.
///
/// # Safety
/// out must point to capacity writable elements of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_gather_all(
    container: *const c_void,
    out: *mut c_void,
    capacity: u64,
) -> dtl_status {
    guard("dtl_container_gather_all", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let all = st.flat(|d| d.gather_all())?;
            // SAFETY: caller's contract.
            unsafe { copy_out(&all, out, capacity) }
        })
    })
}

/// Copies `data` to the caller's buffer of `capacity` elements.
///
/// # Safety
/// `out` must point to `capacity` writable elements (or be NULL).
pub(crate) unsafe fn copy_out<T: Element>(data: &[T], out: *mut c_void, capacity: u64) -> Result<()> {
    if capacity < data.len() as u64 {
        return Err(Error::Bounds(format!("capacity must be >= {} elements, got {capacity}", data.len())));
    }
    // SAFETY: caller's contract.
    unsafe { slice_mut_arg::<T>(out, data.len(), "out") }?.copy_from_slice(data);
    Ok(())
}

/// Moves the elements to a new layout (*layout; NULL: block, axis 0): a new
/// partition policy and, for a tensor, a new split axis. One MPI_Alltoallv.
/// Invalidates pointers from dtl_container_local_data().
///
/// Collective over the container's context: every rank passes the same
/// layout.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once) or
/// an invalid layout (every rank; axis must be 0 for a 1-D container and
/// < ndim for a tensor); DTL_ERROR_MISMATCH if ranks pass different
/// layouts.
///
/// # Safety
/// layout as in dtl_vector_create_with; no other thread may use the
/// container meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_redistribute(container: *const c_void, layout: *const dtl_layout) -> dtl_status {
    guard("dtl_container_redistribute", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => {
            let c = st.context().clone();
            // SAFETY: caller's contract.
            let l = collective(&c, "redistribute", unsafe { parse_layout(layout, c.size()) })?;
            match st {
                Store::Tensor(t) => t.redistribute(l.axis, &l.spec),
                other => {
                    collective(&c, "redistribute", one_d_axis(l.axis))?;
                    other.one_d_mut("redistribute")?.redistribute(&l.spec)
                }
            }
        })
    })
}

/// Saves the container to path as a `.npy` file that numpy.load reads: a
/// 1-d array for a vector or array, the global shape in C order for a
/// tensor, in any partition (the file is always in global order). Rank 0
/// writes the header; every rank writes its elements with MPI-IO
/// (MPI_File_write_at_all). An existing file is replaced.
///
/// Collective over the container's context: every rank passes the same
/// path.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once) or
/// a NULL path (every rank); DTL_ERROR_MISMATCH if ranks pass different
/// paths; DTL_ERROR_INVALID_ARGUMENT if the file cannot be created (naming
/// MPI_File_open and the MPI error); DTL_ERROR_COMMUNICATION if writing
/// fails.
///
/// # Safety
/// path must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn dtl_container_save(container: *const c_void, path: *const c_char) -> dtl_status {
    guard("dtl_container_save", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            // SAFETY: caller's contract.
            let p = collective(st.context(), "save", unsafe { path_arg(path) })?;
            match st {
                Store::Vector(v) => v.save(&p),
                Store::Array(a) => a.save(&p),
                Store::Tensor(t) => t.save(&p),
            }
        })
    })
}
