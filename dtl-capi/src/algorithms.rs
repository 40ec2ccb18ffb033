//! Distributed algorithms on any container (`dtl_vector_t`, `dtl_array_t`,
//! `dtl_tensor_t`), as free functions taking `const void *container`.
//!
//! Element-wise algorithms take a C callback and a `void *user_data` passed
//! back unchanged. Values cross as pointers to one element of the
//! container's dtype (callers cast them to `double *`, `int32_t *`, ...).
//! Callbacks run on the calling thread in local index order unless the
//! container's execution policy is `DTL_EXEC_PAR`.

use std::ffi::c_void;

use dtl_core::containers::Distributed1D;
use dtl_core::{dispatch_dtype, Element, Error, Located, ReduceOp, Result};

use crate::container::{collective, read_elem, store_arg, with_store, write_elem, AnyStore, Store, StoreElement};
use crate::error::guard;
use crate::handle::out_ptr;
use crate::types::*;

/// Called on one element: elem points to it (read and write it as the
/// container's dtype); user_data is the pointer given to the algorithm.
pub type dtl_elem_fn = Option<unsafe extern "C" fn(elem: *mut c_void, user_data: *mut c_void)>;

/// Called on one element with its global index (a flat C-order index for a
/// tensor).
pub type dtl_index_fn = Option<unsafe extern "C" fn(index: u64, elem: *mut c_void, user_data: *mut c_void)>;

/// A unary function: reads one element at input and writes one result
/// element at output (of the output's dtype). input and output never
/// alias.
pub type dtl_unary_fn = Option<unsafe extern "C" fn(input: *const c_void, output: *mut c_void, user_data: *mut c_void)>;

/// A predicate on one element: non-zero for true.
pub type dtl_pred_fn = Option<unsafe extern "C" fn(elem: *const c_void, user_data: *mut c_void) -> i32>;

/// The caller's `user_data`, passed back unchanged to callbacks, possibly
/// from pool threads under DTL_EXEC_PAR (documented to the caller).
#[derive(Clone, Copy)]
struct UserData(*mut c_void);
// SAFETY: dtl never dereferences it; thread-safety of what it points to is
// the caller's documented contract under DTL_EXEC_PAR.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}
impl UserData {
    fn get(self) -> *mut c_void {
        self.0
    }
}

fn callback<F>(f: Option<F>, what: &str) -> Result<F> {
    f.ok_or_else(|| Error::InvalidArgument(format!("{what} is NULL; pass a function")))
}

/// A C predicate as a Rust closure.
fn pred<T: Element>(
    f: unsafe extern "C" fn(*const c_void, *mut c_void) -> i32,
    ud: UserData,
) -> impl Fn(T) -> bool + Sync {
    move |x: T| {
        // SAFETY: a valid element for the duration of the call; the
        // callback's contract is the caller's.
        unsafe { f((&x as *const T).cast(), ud.get()) != 0 }
    }
}

impl<T: Element> Store<T> {
    fn for_each(&mut self, f: impl Fn(&mut T) + Sync + Send) {
        match self {
            Store::Vector(v) => v.for_each(f),
            Store::Array(a) => a.for_each(f),
            Store::Tensor(t) => t.for_each(f),
        }
    }
    fn for_each_indexed(&mut self, f: impl Fn(usize, &mut T) + Sync + Send) {
        match self {
            Store::Vector(v) => v.for_each_indexed(f),
            Store::Array(a) => a.for_each_indexed(f),
            Store::Tensor(t) => t.for_each_indexed(f),
        }
    }
}

/// Runs a collective algorithm whose arguments `parse` checks first: an
/// argument error on some ranks is reported on every rank.
fn checked<T: Element, A, R>(
    st: &Store<T>,
    op: &str,
    parse: impl FnOnce() -> Result<A>,
    run: impl FnOnce(&Distributed1D<T>, A) -> Result<R>,
) -> Result<R> {
    let a = collective(st.context(), op, parse())?;
    st.flat(|d| run(d, a))
}

/// As [`checked`], for algorithms that modify the container.
fn checked_mut<T: Element, A, R>(
    st: &mut Store<T>,
    op: &str,
    parse: impl FnOnce() -> Result<A>,
    run: impl FnOnce(&mut Distributed1D<T>, A) -> Result<R>,
) -> Result<R> {
    let a = collective(st.context(), op, parse())?;
    st.flat_mut(|d| run(d, a))
}

/// Writes the result of a collective query after it ran on every rank (a
/// NULL output then fails on its rank only).
///
/// # Safety
/// `p` must be NULL or writable for a `U`.
unsafe fn put<U>(p: *mut U, x: U, what: &str) -> Result<()> {
    // SAFETY: caller's contract.
    *unsafe { out_ptr(p, what) }? = x;
    Ok(())
}

// ------------------------------------------------------------ element-wise (local)

/// Calls f(elem, user_data) on every local element (elem points into the
/// container: f may modify it). On the calling thread in local order under
/// DTL_EXEC_SEQ (the default); on pool threads under DTL_EXEC_PAR.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL f.
///
/// # Safety
/// f must be safe to call with a pointer to one element of the dtype and
/// user_data (concurrently under DTL_EXEC_PAR).
#[no_mangle]
pub unsafe extern "C" fn dtl_for_each(container: *const c_void, f: dtl_elem_fn, user_data: *mut c_void) -> dtl_status {
    guard("dtl_for_each", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let f = callback(f, "f")?;
        let ud = UserData(user_data);
        with_store!(&mut *s, T, st => st.for_each(|x: &mut T| {
            // SAFETY: caller's contract.
            unsafe { f((x as *mut T).cast(), ud.get()) }
        }));
        Ok(())
    })
}

/// Calls f(index, elem, user_data) on every local element, index its global
/// index (a flat C-order index for a tensor).
///
/// Not collective; no communication.
///
/// Errors: as dtl_for_each.
///
/// # Safety
/// As dtl_for_each.
#[no_mangle]
pub unsafe extern "C" fn dtl_for_each_indexed(
    container: *const c_void,
    f: dtl_index_fn,
    user_data: *mut c_void,
) -> dtl_status {
    guard("dtl_for_each_indexed", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let f = callback(f, "f")?;
        let ud = UserData(user_data);
        with_store!(&mut *s, T, st => st.for_each_indexed(|i, x: &mut T| {
            // SAFETY: caller's contract.
            unsafe { f(i as u64, (x as *mut T).cast(), ud.get()) }
        }));
        Ok(())
    })
}

/// Replaces every local element x by f(x): f reads input (a copy of x) and
/// writes output (the new value), both of the container's dtype.
///
/// Not collective; no communication.
///
/// Errors: as dtl_for_each.
///
/// # Safety
/// As dtl_for_each; f must write one element at output.
#[no_mangle]
pub unsafe extern "C" fn dtl_transform(
    container: *const c_void,
    f: dtl_unary_fn,
    user_data: *mut c_void,
) -> dtl_status {
    guard("dtl_transform", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let f = callback(f, "f")?;
        let ud = UserData(user_data);
        with_store!(&mut *s, T, st => st.for_each(|x: &mut T| {
            let input = *x;
            // SAFETY: caller's contract.
            unsafe { f((&input as *const T).cast(), (x as *mut T).cast(), ud.get()) }
        }));
        Ok(())
    })
}

/// Writes f(x) for every element x of src into dst: f reads one src
/// element at input and writes one dst element (dst's dtype, which may
/// differ from src's) at output. src and dst must have the same global
/// shape, split axis and partition; each rank transforms its own part.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for invalid handles, the same handle
/// twice, a NULL f, or layouts that differ.
///
/// # Safety
/// As dtl_transform.
#[no_mangle]
pub unsafe extern "C" fn dtl_transform_into(
    src: *const c_void,
    dst: *const c_void,
    f: dtl_unary_fn,
    user_data: *mut c_void,
) -> dtl_status {
    guard("dtl_transform_into", || {
        if std::ptr::eq(src, dst) {
            return Err(Error::InvalidArgument("src and dst are the same container; use dtl_transform".into()));
        }
        // SAFETY: caller's contract (distinct handles, so the two
        // exclusive references do not alias).
        let (a, b) = unsafe { (store_arg(src, "src")?, store_arg(dst, "dst")?) };
        let f = callback(f, "f")?;
        let ud = UserData(user_data);
        with_store!(&*a, T, sa => with_store!(&mut *b, U, sb => {
            let g = move |x: T| -> U {
                let mut y = U::ZERO;
                // SAFETY: caller's contract.
                unsafe { f((&x as *const T).cast(), (&mut y as *mut U).cast(), ud.get()) };
                y
            };
            match (sa, sb) {
                (Store::Tensor(ta), Store::Tensor(tb)) => ta.transform_into(tb, g),
                (Store::Tensor(_), _) | (_, Store::Tensor(_)) => Err(Error::InvalidArgument(
                    "transform_into: src and dst must both be tensors or both 1-D containers".into(),
                )),
                (x, y) => x.one_d("transform_into")?.transform_into(y.one_d_mut("transform_into")?, g),
            }
        }))
    })
}

/// Sets every local element to f(index): f gets the element's global index
/// (flat C-order for a tensor) and writes the value at elem.
///
/// Not collective; no communication.
///
/// Errors: as dtl_for_each.
///
/// # Safety
/// As dtl_for_each_indexed.
#[no_mangle]
pub unsafe extern "C" fn dtl_generate(container: *const c_void, f: dtl_index_fn, user_data: *mut c_void) -> dtl_status {
    // SAFETY: caller's contract; generate is for_each_indexed whose
    // callback writes the element.
    guard("dtl_generate", || unsafe {
        let s = store_arg(container, "container")?;
        let f = callback(f, "f")?;
        let ud = UserData(user_data);
        with_store!(&mut *s, T, st => st.for_each_indexed(|i, x: &mut T| {
            *x = T::ZERO;
            f(i as u64, (x as *mut T).cast(), ud.get())
        }));
        Ok(())
    })
}

/// Sets element i (global index; flat C-order for a tensor) to *start + i
/// (wrapping for integers, as in std::iota).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// start.
///
/// # Safety
/// start must be NULL or point to one readable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_iota(container: *const c_void, start: *const c_void) -> dtl_status {
    guard("dtl_iota", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => {
            // SAFETY: caller's contract.
            let x = unsafe { read_elem::<T>(start, "start") }?;
            match st {
                Store::Tensor(t) => t.iota(x),
                other => other.one_d_mut("iota")?.iota(x),
            }
        });
        Ok(())
    })
}

/// Replaces every local element equal to *old_value by *new_value (both one
/// element of the dtype; floats compare with ==, so NaN never matches).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container or a NULL
/// value.
///
/// # Safety
/// old_value and new_value must be NULL or point to one readable element.
#[no_mangle]
pub unsafe extern "C" fn dtl_replace(
    container: *const c_void,
    old_value: *const c_void,
    new_value: *const c_void,
) -> dtl_status {
    guard("dtl_replace", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => {
            // SAFETY: caller's contract.
            let (o, n) = unsafe { (read_elem::<T>(old_value, "old_value")?, read_elem::<T>(new_value, "new_value")?) };
            st.for_each(|x: &mut T| if *x == o { *x = n });
        });
        Ok(())
    })
}

/// Copies src into dst element by element: same dtype, global shape and
/// split axis; the partitions may differ (then elements move with one
/// MPI_Alltoallv, so the call is collective).
///
/// Collective over the containers' context when the layouts differ;
/// otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for invalid handles, different
/// dtypes, or different sizes/shapes. The same handle twice is a no-op.
///
/// # Safety
/// No other thread may use the containers meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_copy(dst: *const c_void, src: *const c_void) -> dtl_status {
    guard("dtl_copy", || {
        if std::ptr::eq(src, dst) {
            return Ok(());
        }
        // SAFETY: caller's contract; distinct handles.
        let (d, s) = unsafe { (store_arg(dst, "dst")?, store_arg(src, "src")?) };
        if d.dtype() != s.dtype() {
            return Err(Error::InvalidArgument(format!(
                "copy: dst holds {} but src holds {}; use dtl_transform_into to convert",
                d.dtype(),
                s.dtype()
            )));
        }
        with_store!(&mut *d, T, sd => {
            let ss = as_same::<T>(s)?;
            match (sd, ss) {
                (Store::Tensor(a), Store::Tensor(b)) => a.copy_from(b),
                (Store::Tensor(_), _) | (_, Store::Tensor(_)) => Err(Error::InvalidArgument(
                    "copy: dst and src must both be tensors or both 1-D containers".into(),
                )),
                (a, b) => a.one_d_mut("copy")?.copy_from(b.one_d("copy")?),
            }
        })
    })
}

/// The `Store<T>` of `s`, whose dtype the caller checked.
fn as_same<T: StoreElement>(s: &AnyStore) -> Result<&Store<T>> {
    with_store!(s, U, st => {
        if U::DTYPE == T::DTYPE {
            // SAFETY: same dtype, hence U == T.
            return Ok(unsafe { &*(st as *const Store<U>).cast::<Store<T>>() });
        }
    });
    Err(Error::Internal("as_same: dtype mismatch".into()))
}

// ------------------------------------------------------------ queries (collective)

/// Finds the smallest global index (flat C-order for a tensor) whose
/// element equals *value: *found is 1 and *index that index, or *found is
/// 0. Each rank scans its part, then one MPI_Allreduce(MIN).
///
/// Collective over the container's context: every rank passes the same
/// value (not checked).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once) or
/// a NULL value (every rank); a NULL index or found fails on its own rank,
/// after taking part.
///
/// # Safety
/// value must point to one readable element; index and found must be NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn dtl_find(
    container: *const c_void,
    value: *const c_void,
    index: *mut u64,
    found: *mut i32,
) -> dtl_status {
    guard("dtl_find", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let r = with_store!(&*s, T, st => checked(st, "find", || unsafe { read_elem::<T>(value, "value") }, |d, v| d.find(v)))?;
        // SAFETY: caller's contract.
        unsafe { put_found(r, index, found) }
    })
}

/// # Safety
/// Output pointers NULL or writable.
unsafe fn put_found(r: Option<usize>, index: *mut u64, found: *mut i32) -> Result<()> {
    // SAFETY: caller's contract.
    let (i, f) = unsafe { (out_ptr(index, "index")?, out_ptr(found, "found")?) };
    *f = i32::from(r.is_some());
    if let Some(x) = r {
        *i = x as u64;
    }
    Ok(())
}

/// Finds the smallest global index whose element satisfies pred (pred
/// returns non-zero): *found is 1 and *index that index, or *found is 0.
///
/// Collective over the container's context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once) or
/// a NULL pred (every rank); NULL outputs as dtl_find.
///
/// # Safety
/// pred must be safe to call on one element (concurrently under
/// DTL_EXEC_PAR); outputs as dtl_find.
#[no_mangle]
pub unsafe extern "C" fn dtl_find_if(
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    index: *mut u64,
    found: *mut i32,
) -> dtl_status {
    guard("dtl_find_if", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let ud = UserData(user_data);
        let r = with_store!(&*s, T, st => checked(st, "find_if", || callback(pred_fn, "pred_fn"), |d, f| d.find_if(pred::<T>(f, ud))))?;
        // SAFETY: caller's contract.
        unsafe { put_found(r, index, found) }
    })
}

/// Counts the elements equal to *value over all ranks into *count (local
/// counts, then one MPI_Allreduce(SUM)).
///
/// Collective over the container's context.
///
/// Errors: as dtl_find.
///
/// # Safety
/// value must point to one readable element; count must be NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn dtl_count(container: *const c_void, value: *const c_void, count: *mut u64) -> dtl_status {
    guard("dtl_count", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let n = with_store!(&*s, T, st => checked(st, "count", || unsafe { read_elem::<T>(value, "value") }, |d, v| d.count(v)))?;
        // SAFETY: caller's contract.
        unsafe { put(count, n as u64, "count") }
    })
}

/// Counts the elements satisfying pred over all ranks into *count.
///
/// Collective over the container's context.
///
/// Errors: as dtl_find_if.
///
/// # Safety
/// As dtl_find_if.
#[no_mangle]
pub unsafe extern "C" fn dtl_count_if(
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    count: *mut u64,
) -> dtl_status {
    guard("dtl_count_if", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let ud = UserData(user_data);
        let n = with_store!(&*s, T, st => checked(st, "count_if", || callback(pred_fn, "pred_fn"), |d, f| d.count_if(pred::<T>(f, ud))))?;
        // SAFETY: caller's contract.
        unsafe { put(count, n as u64, "count") }
    })
}

/// Which of all_of / any_of / none_of.
#[derive(Clone, Copy)]
enum Quant {
    All,
    Any,
    None,
}

/// # Safety
/// As dtl_all_of.
unsafe fn quantifier(
    q: Quant,
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    result: *mut i32,
) -> Result<()> {
    // SAFETY: caller's contract.
    let s = unsafe { store_arg(container, "container") }?;
    let ud = UserData(user_data);
    let r = with_store!(&*s, T, st => checked(st, "all_of/any_of/none_of", || callback(pred_fn, "pred_fn"), |d, f| {
        let p = pred::<T>(f, ud);
        match q {
            Quant::All => d.all_of(p),
            Quant::Any => d.any_of(p),
            Quant::None => d.none_of(p),
        }
    }))?;
    // SAFETY: caller's contract.
    unsafe { put(result, i32::from(r), "result") }
}

/// *result = 1 if every element satisfies pred (true for an empty
/// container), else 0. Local checks, then one MPI_Allreduce.
///
/// Collective over the container's context.
///
/// Errors: as dtl_find_if.
///
/// # Safety
/// As dtl_find_if; result must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn dtl_all_of(
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    result: *mut i32,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_all_of", || unsafe { quantifier(Quant::All, container, pred_fn, user_data, result) })
}

/// *result = 1 if some element satisfies pred, else 0.
///
/// Collective over the container's context.
///
/// Errors: as dtl_find_if.
///
/// # Safety
/// As dtl_all_of.
#[no_mangle]
pub unsafe extern "C" fn dtl_any_of(
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    result: *mut i32,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_any_of", || unsafe { quantifier(Quant::Any, container, pred_fn, user_data, result) })
}

/// *result = 1 if no element satisfies pred, else 0.
///
/// Collective over the container's context.
///
/// Errors: as dtl_find_if.
///
/// # Safety
/// As dtl_all_of.
#[no_mangle]
pub unsafe extern "C" fn dtl_none_of(
    container: *const c_void,
    pred_fn: dtl_pred_fn,
    user_data: *mut c_void,
    result: *mut i32,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_none_of", || unsafe { quantifier(Quant::None, container, pred_fn, user_data, result) })
}

/// Which extreme element.
#[derive(Clone, Copy)]
enum Extreme {
    Min,
    Max,
}

/// # Safety
/// As dtl_min_element.
unsafe fn extreme(
    e: Extreme,
    container: *const c_void,
    value: *mut c_void,
    index: *mut u64,
    found: *mut i32,
) -> Result<()> {
    // SAFETY: caller's contract.
    let s = unsafe { store_arg(container, "container") }?;
    with_store!(&*s, T, st => {
        let r: Option<Located<T>> = st.flat(|d| match e {
            Extreme::Min => d.min_element(),
            Extreme::Max => d.max_element(),
        })?;
        // SAFETY: caller's contract.
        unsafe { put_located(r, value, index, found) }
    })
}

/// # Safety
/// Outputs NULL or writable.
unsafe fn put_located<T: Element>(
    r: Option<Located<T>>,
    value: *mut c_void,
    index: *mut u64,
    found: *mut i32,
) -> Result<()> {
    // SAFETY: caller's contract.
    let (i, f) = unsafe { (out_ptr(index, "index")?, out_ptr(found, "found")?) };
    if value.is_null() {
        return Err(Error::InvalidArgument("value is NULL; pass the address of one element".into()));
    }
    *f = i32::from(r.is_some());
    if let Some(l) = r {
        *i = l.index as u64;
        // SAFETY: caller's contract.
        unsafe { write_elem(value, l.value, "value") }?;
    }
    Ok(())
}

/// The smallest element and its global index (the first one on ties; as
/// numpy.argmin, a NaN counts as smallest: the first NaN wins): *found is 1
/// and *value, *index set, or *found is 0 for an empty container. Local search, then
/// one MPI_Allgather of the candidates.
///
/// Collective over the container's context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once);
/// NULL outputs fail on their own rank after taking part.
///
/// # Safety
/// value must be NULL or point to one writable element; index and found
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn dtl_min_element(
    container: *const c_void,
    value: *mut c_void,
    index: *mut u64,
    found: *mut i32,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_min_element", || unsafe { extreme(Extreme::Min, container, value, index, found) })
}

/// The largest element and its global index (as numpy.argmax, the first
/// NaN wins). As dtl_min_element.
///
/// Collective over the container's context.
///
/// Errors: as dtl_min_element.
///
/// # Safety
/// As dtl_min_element.
#[no_mangle]
pub unsafe extern "C" fn dtl_max_element(
    container: *const c_void,
    value: *mut c_void,
    index: *mut u64,
    found: *mut i32,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_max_element", || unsafe { extreme(Extreme::Max, container, value, index, found) })
}

// ------------------------------------------------------------ reductions

/// Which reduction.
#[derive(Clone, Copy)]
enum Reduction {
    Global,
    Local,
    Deterministic,
}

/// # Safety
/// As dtl_reduce.
unsafe fn reduction(kind: Reduction, container: *const c_void, op: dtl_op_code, result: *mut c_void) -> Result<()> {
    // SAFETY: caller's contract.
    let s = unsafe { store_arg(container, "container") }?;
    with_store!(&*s, T, st => {
        let parse = || {
            let o = parse_op(op)?;
            o.check_for::<T>()?;
            if result.is_null() {
                return Err(Error::InvalidArgument("result is NULL; pass the address of one element".into()));
            }
            Ok(o)
        };
        let x: T = match kind {
            Reduction::Local => st.flat(|d| d.reduce_local(parse()?))?,
            Reduction::Global => checked(st, "reduce", parse, |d, o| d.reduce(o))?,
            Reduction::Deterministic => checked(st, "reduce_deterministic", parse, |d, o| d.reduce_deterministic(o))?,
        };
        // SAFETY: caller's contract.
        unsafe { write_elem(result, x, "result") }
    })
}

/// Reduces all elements with op; the result, one element of the dtype, is
/// written to *result on every rank (no alignment needed). Each rank
/// reduces its part (an empty part contributes op's identity), then one
/// MPI_Allreduce. Integer sums and products wrap; float sums depend on the
/// number of ranks (see dtl_reduce_deterministic).
///
/// Collective over the container's context: every rank passes the same op
/// (checked).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once),
/// an op outside 0..9 or a logical/bitwise op on a float dtype (every
/// rank), or a NULL result (every rank); DTL_ERROR_MISMATCH if ranks pass
/// different ops.
///
/// # Safety
/// result must be NULL or point to one writable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_reduce(container: *const c_void, op: dtl_op_code, result: *mut c_void) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_reduce", || unsafe { reduction(Reduction::Global, container, op, result) })
}

/// Reduces this rank's elements only (op's identity for an empty part).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container, a bad op or
/// a NULL result.
///
/// # Safety
/// As dtl_reduce.
#[no_mangle]
pub unsafe extern "C" fn dtl_reduce_local(
    container: *const c_void,
    op: dtl_op_code,
    result: *mut c_void,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_reduce_local", || unsafe { reduction(Reduction::Local, container, op, result) })
}

/// Reduces all elements with op in a fixed order, so a float sum is
/// bit-identical for any number of ranks and partition: the elements in
/// global index order are cut into chunks of 32768, each chunk is reduced
/// pairwise as numpy.sum does, and the chunk results are combined in a
/// fixed pairwise tree (the partial results travel by MPI_Gatherv and
/// MPI_Bcast).
///
/// Collective over the container's context.
///
/// Errors: as dtl_reduce.
///
/// # Safety
/// As dtl_reduce.
#[no_mangle]
pub unsafe extern "C" fn dtl_reduce_deterministic(
    container: *const c_void,
    op: dtl_op_code,
    result: *mut c_void,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_reduce_deterministic", || unsafe { reduction(Reduction::Deterministic, container, op, result) })
}

/// Maps every element with f (which writes one element of out_dtype) and
/// reduces the mapped values with op; the result (one out_dtype element)
/// goes to *result on every rank (one MPI_Allreduce).
///
/// Collective over the container's context: every rank passes the same
/// out_dtype and op.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once),
/// a NULL f, a bad out_dtype or op, or a logical/bitwise op on a float
/// out_dtype (every rank); NULL result as dtl_reduce.
///
/// # Safety
/// f must read one element at input and write one out_dtype element at
/// output (concurrently under DTL_EXEC_PAR); result must be NULL or point
/// to one writable out_dtype element.
#[no_mangle]
pub unsafe extern "C" fn dtl_transform_reduce(
    container: *const c_void,
    f: dtl_unary_fn,
    user_data: *mut c_void,
    out_dtype: dtl_dtype_code,
    op: dtl_op_code,
    result: *mut c_void,
) -> dtl_status {
    guard("dtl_transform_reduce", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let ud = UserData(user_data);
        with_store!(&*s, T, st => {
            let args = collective(st.context(), "transform_reduce", (|| {
                let f = callback(f, "f")?;
                let d = parse_dtype(out_dtype)?;
                let o = parse_op(op)?;
                dispatch_dtype!(d, U => o.check_for::<U>())?;
                Ok((f, d, o))
            })())?;
            let (f, d, o) = args;
            dispatch_dtype!(d, U => {
                let g = move |x: T| -> U {
                    let mut y = U::ZERO;
                    // SAFETY: caller's contract.
                    unsafe { f((&x as *const T).cast(), (&mut y as *mut U).cast(), ud.get()) };
                    y
                };
                let r: U = st.flat(|dd| dd.transform_reduce(g, o))?;
                // SAFETY: caller's contract.
                unsafe { write_elem(result, r, "result") }
            })
        })
    })
}

/// The dot product sum(a[i] * b[i]) over all elements of a and b (same
/// dtype, global shape, split axis and partition) into *result on every
/// rank (local products, one MPI_Allreduce). Integer products wrap.
///
/// Collective over the containers' context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for invalid handles (at once),
/// different dtypes or layouts; NULL result as dtl_reduce.
///
/// # Safety
/// result must be NULL or point to one writable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_dot(a: *const c_void, b: *const c_void, result: *mut c_void) -> dtl_status {
    guard("dtl_dot", || {
        // SAFETY: caller's contract. `b` may be `a` (then read-only use).
        let sa: &AnyStore = unsafe { store_arg(a, "a") }?;
        // SAFETY: as above.
        let sb: &AnyStore = unsafe { store_arg(b, "b") }?;
        with_store!(sa, T, x => {
            let y = collective(x.context(), "dot", as_same_checked::<T>(sb))?;
            let r: T = match (x, y) {
                (Store::Tensor(p), Store::Tensor(q)) => p.dot(q)?,
                (Store::Tensor(_), _) | (_, Store::Tensor(_)) => {
                    return Err(Error::InvalidArgument("dot: a and b must both be tensors or both 1-D containers".into()))
                }
                (p, q) => p.one_d("dot")?.dot(q.one_d("dot")?)?,
            };
            // SAFETY: caller's contract.
            unsafe { write_elem(result, r, "result") }
        })
    })
}

fn as_same_checked<T: StoreElement>(s: &AnyStore) -> Result<&Store<T>> {
    if s.dtype() != T::DTYPE {
        return Err(Error::InvalidArgument(format!("dot: a holds {} but b holds {}", T::DTYPE, s.dtype())));
    }
    as_same::<T>(s)
}

// ------------------------------------------------------------ scans

/// Replaces every element by the op-reduction of all elements up to and
/// including it, in global order (a tensor in flat C order): local scans,
/// one MPI_Exscan of the rank totals, then a local fix-up.
///
/// Collective over the container's context: every rank passes the same op.
///
/// Errors: as dtl_reduce (without the result pointer).
///
/// # Safety
/// No other thread may use the container meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_inclusive_scan(container: *const c_void, op: dtl_op_code) -> dtl_status {
    guard("dtl_inclusive_scan", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => checked_mut(st, "inclusive_scan", || op_for::<T>(op), |d, o| d.inclusive_scan(o)))
    })
}

fn op_for<T: Element>(op: dtl_op_code) -> Result<ReduceOp> {
    let o = parse_op(op)?;
    o.check_for::<T>()?;
    Ok(o)
}

/// Replaces every element by *init combined with the op-reduction of all
/// elements before it, in global order (the first element becomes *init).
///
/// Collective over the container's context: every rank passes the same op
/// and init.
///
/// Errors: as dtl_inclusive_scan; DTL_ERROR_INVALID_ARGUMENT for a NULL
/// init (every rank).
///
/// # Safety
/// init must point to one readable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_exclusive_scan(
    container: *const c_void,
    op: dtl_op_code,
    init: *const c_void,
) -> dtl_status {
    guard("dtl_exclusive_scan", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => checked_mut(
            st,
            "exclusive_scan",
            // SAFETY: caller's contract.
            || Ok((op_for::<T>(op)?, unsafe { read_elem::<T>(init, "init") }?)),
            |d, (o, i)| d.exclusive_scan(o, i),
        ))
    })
}

// ------------------------------------------------------------ sorting and order statistics

/// Sorts all elements into global order (ascending, or descending when
/// reverse is non-zero; NaN last, -0.0 before 0.0): a distributed sample sort (local sort,
/// splitters from MPI_Allgather of samples, one MPI_Alltoallv, a merge);
/// every rank keeps its partition's share. A tensor is sorted as its flat
/// C-order sequence.
///
/// Collective over the container's context: every rank passes the same
/// reverse.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once);
/// DTL_ERROR_MISMATCH if ranks pass different reverse.
///
/// # Safety
/// No other thread may use the container meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_sort(container: *const c_void, reverse: i32) -> dtl_status {
    guard("dtl_sort", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => st.flat_mut(|d| d.sort(reverse != 0)))
    })
}

/// As dtl_sort, keeping equal elements in their original global order
/// (numpy kind="stable"; for numbers visible only among NaNs with different
/// bits: -0.0 still sorts before 0.0, as in dtl_sort). Cyclic and
/// block-cyclic containers move to the block layout first (one more
/// MPI_Alltoallv).
///
/// Collective over the container's context.
///
/// Errors: as dtl_sort.
///
/// # Safety
/// As dtl_sort.
#[no_mangle]
pub unsafe extern "C" fn dtl_stable_sort(container: *const c_void, reverse: i32) -> dtl_status {
    guard("dtl_stable_sort", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => st.flat_mut(|d| d.stable_sort(reverse != 0)))
    })
}

/// Sorts each rank's local part only (no communication).
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container.
///
/// # Safety
/// As dtl_sort.
#[no_mangle]
pub unsafe extern "C" fn dtl_sort_local(container: *const c_void, reverse: i32) -> dtl_status {
    guard("dtl_sort_local", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&mut *s, T, st => match st {
            Store::Tensor(t) => t.sort_local(reverse != 0),
            other => other.one_d_mut("sort_local")?.sort_local(reverse != 0),
        });
        Ok(())
    })
}

/// *result = 1 if the elements are in sorted order over all ranks
/// (ascending, or descending when reverse is non-zero; NaN last), else 0.
///
/// Collective over the container's context.
///
/// Errors: as dtl_sort; a NULL result fails on its own rank after taking
/// part.
///
/// # Safety
/// result must be NULL or point to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_is_sorted(container: *const c_void, reverse: i32, result: *mut i32) -> dtl_status {
    guard("dtl_is_sorted", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let r = with_store!(&*s, T, st => st.flat(|d| d.is_sorted(reverse != 0)))?;
        // SAFETY: caller's contract.
        unsafe { put(result, i32::from(r), "result") }
    })
}

/// The element that would be at global position k if the container were
/// sorted ascending (NaN last), into *result on every rank; the container
/// is not modified. A distributed selection (rounds of sampling,
/// MPI_Allgatherv and MPI_Allreduce).
///
/// Collective over the container's context: every rank passes the same k.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once);
/// DTL_ERROR_BOUNDS on every rank if k >= global size; DTL_ERROR_MISMATCH
/// if ranks pass different k.
///
/// # Safety
/// result must be NULL or point to one writable element of the dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_nth_element(container: *const c_void, k: u64, result: *mut c_void) -> dtl_status {
    guard("dtl_nth_element", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let x = checked(st, "nth_element", || size_arg(k, "k"), |d, k| d.nth_element(k))?;
            // SAFETY: caller's contract.
            unsafe { write_elem(result, x, "result") }
        })
    })
}

/// The median as a double (numpy.median: the mean of the two middle
/// elements for an even count; NaN if any element is NaN or the container
/// is empty) into *result on every rank.
///
/// Collective over the container's context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once); a
/// NULL result fails on its own rank after taking part.
///
/// # Safety
/// result must be NULL or point to a writable double.
#[no_mangle]
pub unsafe extern "C" fn dtl_median(container: *const c_void, result: *mut f64) -> dtl_status {
    guard("dtl_median", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let m = with_store!(&*s, T, st => st.flat(|d| d.median()))?;
        // SAFETY: caller's contract.
        unsafe { put(result, m, "result") }
    })
}

/// The q-th percentile, 0 <= q <= 100, as a double with NumPy's default
/// linear interpolation (numpy.percentile(x, q)), into *result on every
/// rank.
///
/// Collective over the container's context: every rank passes the same q.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once) or
/// a q outside [0, 100] (every rank); DTL_ERROR_MISMATCH if ranks pass
/// different q.
///
/// # Safety
/// result must be NULL or point to a writable double.
#[no_mangle]
pub unsafe extern "C" fn dtl_percentile(container: *const c_void, q: f64, result: *mut f64) -> dtl_status {
    guard("dtl_percentile", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        let m = with_store!(&*s, T, st => st.flat(|d| d.percentile(q)))?;
        // SAFETY: caller's contract.
        unsafe { put(result, m, "result") }
    })
}
