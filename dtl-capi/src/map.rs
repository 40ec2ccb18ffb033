//! `dtl_map_t`: a hash-partitioned distributed map (see DistributedMap).
//!
//! One handle type over a two-level enum: the key dtype (int32, int64,
//! uint32, uint64, float64, the key set of the Python binding) and, inside
//! it, the value dtype (all ten). Keys and values cross the ABI as
//! `const void*` to elements of the map's dtypes, read and written
//! bytewise (no alignment needed).
//!
//! Collective calls with an argument rejected on one rank still take part
//! in the agreement step that opens the core call on the other ranks
//! (`reject_collectively`), so every rank returns an error instead of the
//! others hanging.

use std::ffi::c_void;
use std::ptr;

use dtl_core::{Context, DType, DistributedMap, Element, Error, Result};

use crate::context::{context_arg, dtl_context_t, null_out, reject_collectively};
use crate::error::guard;
use crate::handle::{destroy_handle, handle_mut, handle_ref, new_handle, out_ptr, Handle};
use crate::types::{dtl_dtype_code, dtl_status, size_arg};

/// The key dtypes a map supports (those of the Python binding).
const KEY_DTYPES: [DType; 5] = [DType::Int32, DType::Int64, DType::UInt32, DType::UInt64, DType::Float64];

/// The valid key dtypes as C users spell them, for error messages.
const KEY_DTYPES_C: &str =
    "DTL_DTYPE_INT32 (2), DTL_DTYPE_INT64 (3), DTL_DTYPE_UINT32 (6), DTL_DTYPE_UINT64 (7), DTL_DTYPE_FLOAT64 (9)";

/// A map with key type `K`, of any value dtype.
pub(crate) enum ByValue<K: Element> {
    Int8(DistributedMap<K, i8>),
    Int16(DistributedMap<K, i16>),
    Int32(DistributedMap<K, i32>),
    Int64(DistributedMap<K, i64>),
    UInt8(DistributedMap<K, u8>),
    UInt16(DistributedMap<K, u16>),
    UInt32(DistributedMap<K, u32>),
    UInt64(DistributedMap<K, u64>),
    Float32(DistributedMap<K, f32>),
    Float64(DistributedMap<K, f64>),
}

/// A distributed map whose key and value dtypes are chosen at run time.
pub(crate) enum AnyMap {
    Int32(ByValue<i32>),
    Int64(ByValue<i64>),
    UInt32(ByValue<u32>),
    UInt64(ByValue<u64>),
    Float64(ByValue<f64>),
}

/// Runs `$body` with `$V` the value type and `$m` the core map of the
/// `ByValue` (or reference to one) `$by`. (The type aliases are allowed
/// to be unused: not every body names both types.)
macro_rules! with_value {
    ($by:expr, $V:ident, $m:ident => $body:expr) => {
        match $by {
            ByValue::Int8($m) => {
                #[allow(dead_code)]
                type $V = i8;
                $body
            }
            ByValue::Int16($m) => {
                #[allow(dead_code)]
                type $V = i16;
                $body
            }
            ByValue::Int32($m) => {
                #[allow(dead_code)]
                type $V = i32;
                $body
            }
            ByValue::Int64($m) => {
                #[allow(dead_code)]
                type $V = i64;
                $body
            }
            ByValue::UInt8($m) => {
                #[allow(dead_code)]
                type $V = u8;
                $body
            }
            ByValue::UInt16($m) => {
                #[allow(dead_code)]
                type $V = u16;
                $body
            }
            ByValue::UInt32($m) => {
                #[allow(dead_code)]
                type $V = u32;
                $body
            }
            ByValue::UInt64($m) => {
                #[allow(dead_code)]
                type $V = u64;
                $body
            }
            ByValue::Float32($m) => {
                #[allow(dead_code)]
                type $V = f32;
                $body
            }
            ByValue::Float64($m) => {
                #[allow(dead_code)]
                type $V = f64;
                $body
            }
        }
    };
}

/// Runs `$body` with `$K`/`$V` the key/value types and `$m` the core map
/// (`&DistributedMap<$K, $V>` or `&mut ...`, as `$any` is `&AnyMap` or
/// `&mut AnyMap`).
macro_rules! with_map {
    ($any:expr, $K:ident, $V:ident, $m:ident => $body:expr) => {
        match $any {
            AnyMap::Int32(by) => {
                #[allow(dead_code)]
                type $K = i32;
                with_value!(by, $V, $m => $body)
            }
            AnyMap::Int64(by) => {
                #[allow(dead_code)]
                type $K = i64;
                with_value!(by, $V, $m => $body)
            }
            AnyMap::UInt32(by) => {
                #[allow(dead_code)]
                type $K = u32;
                with_value!(by, $V, $m => $body)
            }
            AnyMap::UInt64(by) => {
                #[allow(dead_code)]
                type $K = u64;
                with_value!(by, $V, $m => $body)
            }
            AnyMap::Float64(by) => {
                #[allow(dead_code)]
                type $K = f64;
                with_value!(by, $V, $m => $body)
            }
        }
    };
}

impl AnyMap {
    /// An empty map over `ctx` (collective: `DistributedMap::new`).
    fn new(ctx: &Context, key: DType, value: DType) -> Result<AnyMap> {
        Ok(match key {
            DType::Int32 => AnyMap::Int32(by_value(ctx, value)?),
            DType::Int64 => AnyMap::Int64(by_value(ctx, value)?),
            DType::UInt32 => AnyMap::UInt32(by_value(ctx, value)?),
            DType::UInt64 => AnyMap::UInt64(by_value(ctx, value)?),
            DType::Float64 => AnyMap::Float64(by_value(ctx, value)?),
            _ => unreachable!("key dtype checked by key_dtype_arg"),
        })
    }

    /// The key and value dtypes.
    fn dtypes(&self) -> (DType, DType) {
        with_map!(self, K, V, _m => (K::DTYPE, V::DTYPE))
    }
}

fn by_value<K: Element>(ctx: &Context, value: DType) -> Result<ByValue<K>> {
    Ok(match value {
        DType::Int8 => ByValue::Int8(DistributedMap::new(ctx)?),
        DType::Int16 => ByValue::Int16(DistributedMap::new(ctx)?),
        DType::Int32 => ByValue::Int32(DistributedMap::new(ctx)?),
        DType::Int64 => ByValue::Int64(DistributedMap::new(ctx)?),
        DType::UInt8 => ByValue::UInt8(DistributedMap::new(ctx)?),
        DType::UInt16 => ByValue::UInt16(DistributedMap::new(ctx)?),
        DType::UInt32 => ByValue::UInt32(DistributedMap::new(ctx)?),
        DType::UInt64 => ByValue::UInt64(DistributedMap::new(ctx)?),
        DType::Float32 => ByValue::Float32(DistributedMap::new(ctx)?),
        DType::Float64 => ByValue::Float64(DistributedMap::new(ctx)?),
    })
}

/// Parses a `dtl_dtype` code passed as the argument `arg`.
fn dtype_arg(code: dtl_dtype_code, arg: &str) -> Result<DType> {
    DType::from_code(code).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{arg} must be a dtl_dtype code in 0..=9 (DTL_DTYPE_INT8 .. DTL_DTYPE_FLOAT64), got {code}"
        ))
    })
}

/// Parses a key dtype code: a valid code of one of [`KEY_DTYPES`].
fn key_dtype_arg(code: dtl_dtype_code) -> Result<DType> {
    match DType::from_code(code) {
        Some(d) if KEY_DTYPES.contains(&d) => Ok(d),
        Some(d) => Err(Error::InvalidArgument(format!(
            "key_dtype {d} ({code}) is not supported for map keys; use one of {KEY_DTYPES_C}"
        ))),
        None => Err(Error::InvalidArgument(format!(
            "key_dtype must be the dtl_dtype code of a map key dtype, one of {KEY_DTYPES_C}; got {code}"
        ))),
    }
}

/// Checks a caller array of `n` elements of `T` at `p` (input or output):
/// non-NULL unless `n` is 0, and at most `isize::MAX` bytes. No alignment
/// is required (such arrays are read and written bytewise). `count_arg`
/// names the argument that gave `n`.
fn check_array<T>(p: *const c_void, n: usize, arg: &str, count_arg: &str) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{arg} is NULL but {count_arg} is {n}")));
    }
    let size = std::mem::size_of::<T>();
    if n.checked_mul(size).is_none_or(|b| b > isize::MAX as usize) {
        return Err(Error::InvalidArgument(format!(
            "{count_arg} = {n} is too large: {arg} would span more than {} bytes ({size} bytes per element)",
            isize::MAX
        )));
    }
    Ok(())
}

/// Reads one element of `T` from `p` (no alignment needed).
///
/// # Safety
/// `p` must be NULL or point to `size_of::<T>()` readable bytes.
unsafe fn read_one<T: Element>(p: *const c_void, arg: &str) -> Result<T> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{arg} is NULL; pass the address of one {} element", T::DTYPE)));
    }
    // SAFETY: caller's contract; any bit pattern is a valid value of the
    // numeric dtypes.
    Ok(unsafe { p.cast::<T>().read_unaligned() })
}

/// Checks an output pointer for one element of `T` (no alignment needed).
fn check_one_out<T: Element>(p: *mut c_void, arg: &str) -> Result<()> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!(
            "{arg} is NULL; pass the address of storage for one {} element",
            T::DTYPE
        )));
    }
    Ok(())
}

/// Copies `n` elements of `T` from `p` (checked with [`check_array`]; no
/// alignment needed) into a new vector.
///
/// # Safety
/// `p` must be NULL or point to `n` readable elements of `T`.
unsafe fn read_array<T: Element>(p: *const c_void, n: usize, arg: &str, count_arg: &str) -> Result<Vec<T>> {
    check_array::<T>(p, n, arg, count_arg)?;
    let mut v: Vec<T> = Vec::new();
    if n == 0 {
        return Ok(v);
    }
    v.try_reserve_exact(n)
        .map_err(|_| Error::Memory(format!("cannot allocate a copy of {arg} ({n} elements of {})", T::DTYPE)))?;
    // SAFETY: `p` holds `n` readable elements (caller's contract, size
    // checked above) and `v` has room for `n`; every bit pattern is a valid
    // element, so the copied bytes initialise them.
    unsafe {
        ptr::copy_nonoverlapping(p.cast::<u8>(), v.as_mut_ptr().cast::<u8>(), n * std::mem::size_of::<T>());
        v.set_len(n);
    }
    Ok(v)
}

/// Writes `x` to element `i` of the caller array at `p` (no alignment
/// needed).
///
/// # Safety
/// `p` must point to at least `i + 1` writable elements of `T`.
unsafe fn write_at<T: Copy>(p: *mut c_void, i: usize, x: T) {
    // SAFETY: caller's contract.
    unsafe { p.cast::<T>().add(i).write_unaligned(x) };
}

/// Writes the first `min(capacity, pairs.len())` pairs to the caller's
/// key and value arrays (checked for `capacity` elements).
///
/// # Safety
/// As [`write_at`] for `capacity` elements of `K` and `V`.
unsafe fn write_pairs<K: Element, V: Element>(
    pairs: &[(K, V)],
    keys_out: *mut c_void,
    values_out: *mut c_void,
    capacity: usize,
) {
    for (i, &(k, v)) in pairs.iter().take(capacity).enumerate() {
        // SAFETY: i < capacity; caller's contract.
        unsafe {
            write_at(keys_out, i, k);
            write_at(values_out, i, v);
        }
    }
}

/// Opaque distributed map from keys to values, hash-partitioned over the
/// ranks of a context: every key lives on exactly one rank, its owner, a
/// fixed hash of the key's bytes (the same on every rank, in every run).
/// Create it with dtl_map_create(), destroy it with dtl_map_destroy().
///
/// Key dtypes: DTL_DTYPE_INT32, DTL_DTYPE_INT64, DTL_DTYPE_UINT32,
/// DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT64 (the others are rejected). Value
/// dtypes: all ten. Keys and values are passed as `const void*` to elements
/// of the map's dtypes, and arrays of them as plain C arrays; dtl reads and
/// writes them bytewise, so they need no particular alignment. A float64
/// key must not be NaN (DTL_ERROR_INVALID_ARGUMENT), and -0.0 is stored as
/// 0.0 (they are one key).
///
/// Writes are local and buffered: dtl_map_insert() and dtl_map_erase() apply
/// at once when this rank owns the key and are queued otherwise. The
/// collective dtl_map_flush() ships every rank's queue to the owners
/// (MPI_Alltoallv) and applies it. The reads dtl_map_find(),
/// dtl_map_contains(), dtl_map_find_many(), dtl_map_global_size() and
/// dtl_map_global_view() are collective and flush first, so they see every
/// write issued by any rank before the call. dtl_map_local_size() and
/// dtl_map_local_pairs() see this rank's stored pairs only.
///
/// Order of writes: the owner's own writes take effect when issued; at a
/// flush the owner then applies the writes queued by the other ranks, by
/// source rank (rank 0's first) and, within one source, in the order they
/// were issued. So when several ranks write a key between two flushes, the
/// value that remains is the one written last by the highest-ranked
/// non-owner that wrote it, or the owner's own last write if no other rank
/// wrote it.
///
/// A map handle must be used by one thread at a time.
pub struct dtl_map {
    tag: u64,
    pub(crate) inner: AnyMap,
}

/// Handle to a distributed map (NULL is never a valid map).
pub type dtl_map_t = *mut dtl_map;

impl Handle for dtl_map {
    const TAG: u64 = u64::from_be_bytes(*b"dtl_map!");
    const C_TYPE: &'static str = "dtl_map_t";
    fn tag(&self) -> u64 {
        self.tag
    }
    fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }
}

/// Creates an empty distributed map from key_dtype to value_dtype on the
/// ranks of ctx. key_dtype must be DTL_DTYPE_INT32, DTL_DTYPE_INT64,
/// DTL_DTYPE_UINT32, DTL_DTYPE_UINT64 or DTL_DTYPE_FLOAT64; value_dtype any
/// dtl_dtype. Every rank must pass the same dtypes; that is checked with one
/// MPI_Allreduce (unless the size is 1). The map shares the context's
/// communicator and stays valid after dtl_context_destroy(ctx).
///
/// Collective over ctx.
///
/// On success *out is the new map; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL out, a key_dtype or value_dtype code outside
/// 0..9, or a key_dtype that is not one of the five key dtypes; when only
/// some ranks pass an invalid argument, every rank returns
/// DTL_ERROR_INVALID_ARGUMENT; DTL_ERROR_MISMATCH if ranks pass different
/// (valid) dtypes.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_map_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_create(
    ctx: dtl_context_t,
    key_dtype: dtl_dtype_code,
    value_dtype: dtl_dtype_code,
    out: *mut dtl_map_t,
) -> dtl_status {
    guard("dtl_map_create", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let args = out.and_then(|o| Ok((o, key_dtype_arg(key_dtype)?, dtype_arg(value_dtype, "value_dtype")?)));
        let (out, key, value) = match args {
            Ok(a) => a,
            // Takes part in the agreement step of DistributedMap::new, so
            // that the other ranks fail instead of waiting for this one.
            Err(e) => return Err(reject_collectively(c, "DistributedMap::new", &[], e)),
        };
        let inner = AnyMap::new(c, key, value)?;
        *out = new_handle(dtl_map { tag: dtl_map::TAG, inner });
        Ok(())
    })
}

/// Destroys a map handle and frees its pairs; writes still queued for other
/// ranks (not yet flushed) are discarded. If it held the last reference to
/// its communicator, the communicator is freed (MPI_Comm_free); if it was
/// the last dtl object and there is no dtl_init() hold, MPI is finalized
/// (MPI_Finalize) when dtl initialized it.
///
/// Collective over the map's context when it frees the communicator or
/// finalizes MPI; otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if map is NULL, not a map, or already
/// destroyed (a double destroy is detected and harmless).
///
/// # Safety
/// No other thread may use map during or after this call.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_destroy(map: dtl_map_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_map_destroy", || unsafe { destroy_handle(map, "map") })
}

/// Writes the map's key type (a DTL_DTYPE_* code) to *dtype.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map or a NULL dtype.
///
/// # Safety
/// dtype must be NULL or point to a writable dtl_dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_key_dtype(map: dtl_map_t, dtype: *mut dtl_dtype_code) -> dtl_status {
    guard("dtl_map_key_dtype", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(dtype, "dtype") }? = h.inner.dtypes().0 as dtl_dtype_code;
        Ok(())
    })
}

/// Writes the map's value type (a DTL_DTYPE_* code) to *dtype.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map or a NULL dtype.
///
/// # Safety
/// dtype must be NULL or point to a writable dtl_dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_value_dtype(map: dtl_map_t, dtype: *mut dtl_dtype_code) -> dtl_status {
    guard("dtl_map_value_dtype", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(dtype, "dtype") }? = h.inner.dtypes().1 as dtl_dtype_code;
        Ok(())
    })
}

/// Sets *key to *value, replacing any previous value: at once if this rank
/// owns the key, else queued until the next flush (dtl_map_flush() or a
/// collective read). key points to one element of the key dtype, value to
/// one of the value dtype (no alignment needed).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL key or
/// value, or a NaN key (nothing is changed).
///
/// # Safety
/// key and value must be NULL or point to one readable element of the
/// map's key and value dtype respectively.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_insert(map: dtl_map_t, key: *const c_void, value: *const c_void) -> dtl_status {
    guard("dtl_map_insert", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let k = unsafe { read_one::<K>(key, "key") }?;
            // SAFETY: caller's contract.
            let v = unsafe { read_one::<V>(value, "value") }?;
            m.insert(k, v)
        })
    })
}

/// Removes *key from the map if present: at once if this rank owns the
/// key, else queued until the next flush. Erasing a missing key does
/// nothing. key points to one element of the key dtype (no alignment
/// needed).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL key, or a
/// NaN key (nothing is changed).
///
/// # Safety
/// key must be NULL or point to one readable element of the key dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_erase(map: dtl_map_t, key: *const c_void) -> dtl_status {
    guard("dtl_map_erase", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let k = unsafe { read_one::<K>(key, "key") }?;
            m.erase(k)
        })
    })
}

/// dtl_map_insert() of keys[i] -> values[i] for i = 0 .. n-1, in order (so
/// for a key repeated in keys, the last value wins). keys is an array of n
/// elements of the key dtype, values of n elements of the value dtype (no
/// alignment needed; both may be NULL when n is 0). All keys are checked
/// first: on an error nothing is inserted.
///
/// Not collective; no communication. Units: n in pairs.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL keys or
/// values with n > 0, n too large for the address space, or a NaN key;
/// DTL_ERROR_MEMORY if the arrays cannot be copied.
///
/// # Safety
/// keys and values must be NULL or point to n readable elements of the key
/// and value dtype respectively.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_insert_many(
    map: dtl_map_t,
    keys: *const c_void,
    values: *const c_void,
    n: u64,
) -> dtl_status {
    guard("dtl_map_insert_many", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        let n = size_arg(n, "n")?;
        with_map!(&mut h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let k = unsafe { read_array::<K>(keys, n, "keys", "n") }?;
            // SAFETY: caller's contract.
            let v = unsafe { read_array::<V>(values, n, "values", "n") }?;
            m.insert_many(&k, &v)
        })
    })
}

/// dtl_map_erase() of keys[0 .. n-1], in order. keys is an array of n
/// elements of the key dtype (no alignment needed; NULL allowed when n is
/// 0). All keys are checked first: on an error nothing is erased.
///
/// Not collective; no communication. Units: n in keys.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL keys with
/// n > 0, n too large for the address space, or a NaN key;
/// DTL_ERROR_MEMORY if the array cannot be copied.
///
/// # Safety
/// keys must be NULL or point to n readable elements of the key dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_erase_many(map: dtl_map_t, keys: *const c_void, n: u64) -> dtl_status {
    guard("dtl_map_erase_many", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        let n = size_arg(n, "n")?;
        with_map!(&mut h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let k = unsafe { read_array::<K>(keys, n, "keys", "n") }?;
            m.erase_many(&k)
        })
    })
}

/// Writes the number of writes (inserts and erases) this rank has queued
/// for keys other ranks own since the last flush to *count.
///
/// Not collective; no communication. Units: operations.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map or a NULL count.
///
/// # Safety
/// count must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_pending(map: dtl_map_t, count: *mut u64) -> dtl_status {
    guard("dtl_map_pending", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(count, "count") }? = with_map!(&h.inner, K, V, m => m.pending()) as u64;
        Ok(())
    })
}

/// Sends every rank's queued writes to the owners of their keys and applies
/// them there, by source rank and then in issue order (see dtl_map_t for
/// the order of writes). Afterwards dtl_map_pending() is 0 on every rank.
///
/// Collective over the map's context: one MPI_Allreduce of the queue
/// lengths; if any rank has queued writes, three exchanges (keys, values,
/// operation kinds), each a small MPI_Allreduce agreement step, an
/// MPI_Alltoall of the counts and an MPI_Alltoallv.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map (at once, without
/// communication) or more than 2^31 - 1 writes for one rank (on every
/// rank); DTL_ERROR_COMMUNICATION if an MPI call fails.
///
/// # Safety
/// No other thread may use map meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_flush(map: dtl_map_t) -> dtl_status {
    guard("dtl_map_flush", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => m.flush())
    })
}

/// Looks up one key per rank: every rank calls it, each with its own *key
/// (no alignment needed), after flushing every rank's queued writes. If the
/// key is in the map, *found is 1 and *value_out its value; otherwise
/// *found is 0 and *value_out is set to zero.
///
/// Collective over the map's context: one small MPI_Allreduce agreement
/// step (key validity and dtypes), the flush of dtl_map_flush(), then one
/// MPI_Alltoallv of the queries to the owners and one of the answers back
/// (each with its MPI_Alltoall of counts and agreement step).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map (at once, without
/// communication), a NULL key, value_out or found, a misaligned found, or a
/// NaN key; when only some ranks pass an invalid argument, every rank
/// returns DTL_ERROR_INVALID_ARGUMENT and nothing is flushed;
/// DTL_ERROR_MISMATCH if the ranks' maps have different dtypes; errors of
/// dtl_map_flush().
///
/// # Safety
/// key must be NULL or point to one readable element of the key dtype,
/// value_out to one writable element of the value dtype, found to a
/// writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_find(
    map: dtl_map_t,
    key: *const c_void,
    value_out: *mut c_void,
    found: *mut i32,
) -> dtl_status {
    guard("dtl_map_find", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            let args = (|| {
                // SAFETY: caller's contract.
                let k = unsafe { read_one::<K>(key, "key") }?;
                check_one_out::<V>(value_out, "value_out")?;
                // SAFETY: caller's contract.
                let f = unsafe { out_ptr(found, "found") }?;
                Ok((k, f))
            })();
            let (k, f) = match args {
                Ok(a) => a,
                // Takes part in the agreement step of DistributedMap::find.
                Err(e) => return Err(reject_collectively(m.context(), "find", &[], e)),
            };
            let got = m.find(&k)?;
            // SAFETY: checked non-NULL; one writable element per the caller's contract.
            unsafe { write_at::<V>(value_out, 0, got.unwrap_or(V::ZERO)) };
            *f = i32::from(got.is_some());
            Ok(())
        })
    })
}

/// Writes 1 to *found if *key (no alignment needed) is in the map, else 0;
/// every rank calls it, each with its own key, after flushing every rank's
/// queued writes.
///
/// Collective over the map's context, as dtl_map_find().
///
/// Errors: as dtl_map_find() (with found in place of value_out and found).
///
/// # Safety
/// key must be NULL or point to one readable element of the key dtype,
/// found to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_contains(map: dtl_map_t, key: *const c_void, found: *mut i32) -> dtl_status {
    guard("dtl_map_contains", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            let args = (|| {
                // SAFETY: caller's contract.
                let k = unsafe { read_one::<K>(key, "key") }?;
                // SAFETY: caller's contract.
                let f = unsafe { out_ptr(found, "found") }?;
                Ok((k, f))
            })();
            let (k, f) = match args {
                Ok(a) => a,
                // Takes part in the agreement step of DistributedMap::contains.
                Err(e) => return Err(reject_collectively(m.context(), "contains", &[], e)),
            };
            *f = i32::from(m.contains(&k)?);
            Ok(())
        })
    })
}

/// Looks up a batch of keys per rank: every rank calls it, each with its
/// own n keys (n may differ between ranks and be 0; duplicates allowed),
/// after flushing every rank's queued writes. For each i < n, found_out[i]
/// is 1 and values_out[i] the value of keys[i] if it is in the map, else
/// found_out[i] is 0 and values_out[i] zero. keys holds n elements of the
/// key dtype, values_out room for n of the value dtype, found_out for n
/// int32_t (no alignment needed; all may be NULL when n is 0).
///
/// Collective over the map's context, as dtl_map_find(). Units: n in keys.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map (at once, without
/// communication), a NULL keys, values_out or found_out with n > 0, n too
/// large for the address space, or a NaN key; when only some ranks pass an
/// invalid argument, every rank returns DTL_ERROR_INVALID_ARGUMENT and
/// nothing is flushed; DTL_ERROR_MEMORY if keys cannot be copied (on every
/// rank, as for an invalid argument); DTL_ERROR_MISMATCH if the ranks'
/// maps have different dtypes; errors of dtl_map_flush().
///
/// # Safety
/// keys must be NULL or point to n readable elements of the key dtype,
/// values_out to n writable elements of the value dtype, found_out to n
/// writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_find_many(
    map: dtl_map_t,
    keys: *const c_void,
    n: u64,
    values_out: *mut c_void,
    found_out: *mut i32,
) -> dtl_status {
    guard("dtl_map_find_many", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            let args = (|| {
                let n = size_arg(n, "n")?;
                check_array::<V>(values_out, n, "values_out", "n")?;
                check_array::<i32>(found_out.cast(), n, "found_out", "n")?;
                // SAFETY: caller's contract.
                unsafe { read_array::<K>(keys, n, "keys", "n") }
            })();
            let k = match args {
                Ok(k) => k,
                // Takes part in the agreement step of DistributedMap::find_many.
                Err(e) => return Err(reject_collectively(m.context(), "find_many", &[], e)),
            };
            let got = m.find_many(&k)?;
            for (i, g) in got.into_iter().enumerate() {
                // SAFETY: i < n; checked above, sizes per the caller's contract.
                unsafe {
                    write_at::<V>(values_out, i, g.unwrap_or(V::ZERO));
                    write_at::<i32>(found_out.cast(), i, i32::from(g.is_some()));
                }
            }
            Ok(())
        })
    })
}

/// Writes the rank that owns *key (no alignment needed) to *rank: the same
/// on every rank, 0 .. size-1 of the map's context.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL key or
/// rank, or a NaN key.
///
/// # Safety
/// key must be NULL or point to one readable element of the key dtype,
/// rank to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_owner(map: dtl_map_t, key: *const c_void, rank: *mut i32) -> dtl_status {
    guard("dtl_map_owner", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        let rank = unsafe { out_ptr(rank, "rank") }?;
        *rank = with_map!(&h.inner, K, V, m => {
            // SAFETY: caller's contract.
            m.owner(&unsafe { read_one::<K>(key, "key") }?)?
        }) as i32;
        Ok(())
    })
}

/// Writes 1 to *is_local if this rank owns *key (no alignment needed), else
/// 0.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL key or
/// is_local, or a NaN key.
///
/// # Safety
/// key must be NULL or point to one readable element of the key dtype,
/// is_local to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_is_local(map: dtl_map_t, key: *const c_void, is_local: *mut i32) -> dtl_status {
    guard("dtl_map_is_local", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        let is_local = unsafe { out_ptr(is_local, "is_local") }?;
        *is_local = with_map!(&h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let owner = m.owner(&unsafe { read_one::<K>(key, "key") }?)?;
            i32::from(owner == m.context().rank())
        });
        Ok(())
    })
}

/// Writes the number of pairs stored on this rank to *size: the keys it
/// owns, as written by its own calls and by past flushes (writes still
/// queued on other ranks are not counted).
///
/// Not collective; no communication. Units: pairs.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map or a NULL size.
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_local_size(map: dtl_map_t, size: *mut u64) -> dtl_status {
    guard("dtl_map_local_size", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = with_map!(&h.inner, K, V, m => m.local_size()) as u64;
        Ok(())
    })
}

/// Flushes every rank's queued writes, then writes the number of pairs over
/// all ranks to *size (the same on every rank).
///
/// Collective over the map's context: the flush of dtl_map_flush(), then
/// one MPI_Allreduce (with its agreement step). Units: pairs.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map (at once, without
/// communication) or a NULL or misaligned size (when only some ranks pass
/// one, every rank returns DTL_ERROR_INVALID_ARGUMENT and nothing is
/// flushed); errors of dtl_map_flush().
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_global_size(map: dtl_map_t, size: *mut u64) -> dtl_status {
    guard("dtl_map_global_size", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            // SAFETY: caller's contract.
            let size = match unsafe { out_ptr(size, "size") } {
                Ok(s) => s,
                // Takes part in the agreement step that opens the flush
                // (its MPI_Allreduce of the queue lengths).
                Err(e) => return Err(reject_collectively(m.context(), "global_size", &[], e)),
            };
            *size = m.global_size()? as u64;
            Ok(())
        })
    })
}

/// Copies this rank's pairs, sorted by key (ascending), into keys_out and
/// values_out: the first min(capacity, local_size) pairs are written, and
/// *count is always set to local_size, so that a call with capacity 0 (and
/// NULL arrays) gives the size of the arrays to pass. keys_out has room
/// for capacity elements of the key dtype, values_out for capacity of the
/// value dtype (no alignment needed). Writes still queued for this rank on
/// other ranks are not included.
///
/// Not collective; no communication. Units: capacity and *count in pairs.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map, a NULL count, a
/// NULL keys_out or values_out with capacity > 0, or a capacity too large
/// for the address space.
///
/// # Safety
/// keys_out and values_out must be NULL or point to capacity writable
/// elements of the key and value dtype respectively; count to a writable
/// uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_local_pairs(
    map: dtl_map_t,
    keys_out: *mut c_void,
    values_out: *mut c_void,
    capacity: u64,
    count: *mut u64,
) -> dtl_status {
    guard("dtl_map_local_pairs", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(map, "map") }?;
        // SAFETY: caller's contract.
        let count = unsafe { out_ptr(count, "count") }?;
        let cap = size_arg(capacity, "capacity")?;
        with_map!(&h.inner, K, V, m => {
            check_array::<K>(keys_out, cap, "keys_out", "capacity")?;
            check_array::<V>(values_out, cap, "values_out", "capacity")?;
            if cap > 0 {
                // SAFETY: checked above; sizes per the caller's contract.
                unsafe { write_pairs(&m.local_pairs(), keys_out, values_out, cap) };
            }
            *count = m.local_size() as u64;
        });
        Ok(())
    })
}

/// Flushes every rank's queued writes, then copies every pair of the map,
/// sorted by key (ascending), into keys_out and values_out on every rank:
/// the first min(capacity, global size) pairs are written, and *count is
/// always set to the global size, so that a call with capacity 0 (and NULL
/// arrays) gives the size of the arrays to pass to a second call (the map
/// must not change in between). Each rank passes its own capacity; a small
/// capacity on one rank does not affect the others. keys_out has room for
/// capacity elements of the key dtype, values_out for capacity of the value
/// dtype (no alignment needed).
///
/// Collective over the map's context: the flush of dtl_map_flush(), then
/// two MPI_Allgatherv (keys, values; each with its agreement step and an
/// MPI_Allgather of the counts). Every rank receives all pairs, whatever
/// its capacity. Units: capacity and *count in pairs.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid map (at once, without
/// communication), a NULL or misaligned count, a NULL keys_out or
/// values_out with capacity > 0, or a capacity too large for the address
/// space (when only some ranks pass such an argument, every rank returns
/// DTL_ERROR_INVALID_ARGUMENT and nothing is flushed), or when the map
/// holds more than 2^31 - 1 pairs in all (the limit of one message; on
/// every rank); errors of dtl_map_flush().
///
/// # Safety
/// keys_out and values_out must be NULL or point to capacity writable
/// elements of the key and value dtype respectively; count to a writable
/// uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_map_global_view(
    map: dtl_map_t,
    keys_out: *mut c_void,
    values_out: *mut c_void,
    capacity: u64,
    count: *mut u64,
) -> dtl_status {
    guard("dtl_map_global_view", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(map, "map") }?;
        with_map!(&mut h.inner, K, V, m => {
            let args = (|| {
                // SAFETY: caller's contract.
                let count = unsafe { out_ptr(count, "count") }?;
                let cap = size_arg(capacity, "capacity")?;
                check_array::<K>(keys_out, cap, "keys_out", "capacity")?;
                check_array::<V>(values_out, cap, "values_out", "capacity")?;
                Ok((count, cap))
            })();
            let (count, cap) = match args {
                Ok(a) => a,
                // Takes part in the agreement step that opens the flush
                // (its MPI_Allreduce of the queue lengths).
                Err(e) => return Err(reject_collectively(m.context(), "global_view", &[], e)),
            };
            let all = m.global_view()?;
            // SAFETY: checked above; sizes per the caller's contract.
            unsafe { write_pairs(&all, keys_out, values_out, cap) };
            *count = all.len() as u64;
            Ok(())
        })
    })
}
