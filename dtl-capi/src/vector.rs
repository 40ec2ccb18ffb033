//! `dtl_vector_t`: a distributed vector of any of the ten dtypes.

use std::ffi::c_void;
use std::ptr;

use dtl_core::{dispatch_dtype, DType, DistributedVector, Element, Error};

use crate::context::{context_arg, dtl_context_t, null_out, reject_collectively};
use crate::error::guard;
use crate::handle::{destroy_handle, handle_mut, handle_ref, new_handle, out_ptr, Handle};
use crate::types::{dtl_dtype_code, dtl_op_code, dtl_status, parse_dtype, parse_op, size_arg};

/// A `DistributedVector<T>` of one of the ten element types.
macro_rules! any_vector {
    ($($t:ty => $variant:ident),* $(,)?) => {
        /// A distributed vector whose element type is chosen at run time.
        pub(crate) enum AnyVector {
            $($variant(DistributedVector<$t>),)*
        }

        impl AnyVector {
            /// The element type.
            pub(crate) fn dtype(&self) -> DType {
                match self {
                    $(AnyVector::$variant(_) => DType::$variant,)*
                }
            }
        }

        $(impl VectorElement for $t {
            fn wrap(v: DistributedVector<$t>) -> AnyVector {
                AnyVector::$variant(v)
            }
            fn get(a: &AnyVector) -> &DistributedVector<$t> {
                match a {
                    AnyVector::$variant(v) => v,
                    _ => unreachable!("dtype dispatch picked the wrong vector variant"),
                }
            }
            fn get_mut(a: &mut AnyVector) -> &mut DistributedVector<$t> {
                match a {
                    AnyVector::$variant(v) => v,
                    _ => unreachable!("dtype dispatch picked the wrong vector variant"),
                }
            }
        })*
    };
}

/// The element types an [`AnyVector`] can hold, with the conversions
/// between the typed vector and the enum.
pub(crate) trait VectorElement: Element {
    fn wrap(v: DistributedVector<Self>) -> AnyVector;
    fn get(a: &AnyVector) -> &DistributedVector<Self>;
    fn get_mut(a: &mut AnyVector) -> &mut DistributedVector<Self>;
}

any_vector!(
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    u8 => UInt8, u16 => UInt16, u32 => UInt32, u64 => UInt64,
    f32 => Float32, f64 => Float64,
);

/// Runs `$body` with `$T` the element type and `$v` the typed vector
/// (`&DistributedVector<$T>`) of the `&AnyVector` `$any`.
macro_rules! with_vector {
    ($any:expr, $T:ident, $v:ident => $body:expr) => {{
        let any: &AnyVector = $any;
        dispatch_dtype!(any.dtype(), $T => {
            let $v = <$T as VectorElement>::get(any);
            $body
        })
    }};
}

/// As `with_vector!`, with `$v: &mut DistributedVector<$T>`.
macro_rules! with_vector_mut {
    ($any:expr, $T:ident, $v:ident => $body:expr) => {{
        let any: &mut AnyVector = $any;
        dispatch_dtype!(any.dtype(), $T => {
            let $v = <$T as VectorElement>::get_mut(any);
            $body
        })
    }};
}

/// Opaque distributed vector: global_size elements of one dtype,
/// block-partitioned over the ranks of a context (rank r holds the
/// contiguous global indices local_offset .. local_offset + local_size - 1).
/// Create it with dtl_vector_create(), destroy it with dtl_vector_destroy().
pub struct dtl_vector {
    tag: u64,
    pub(crate) inner: AnyVector,
}

/// Handle to a distributed vector (NULL is never a valid vector).
pub type dtl_vector_t = *mut dtl_vector;

impl Handle for dtl_vector {
    const TAG: u64 = u64::from_be_bytes(*b"dtl_vec!");
    const C_TYPE: &'static str = "dtl_vector_t";
    fn tag(&self) -> u64 {
        self.tag
    }
    fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }
}

/// Creates a distributed vector of global_size zero-initialized elements of
/// type dtype on the ranks of ctx, block-partitioned: rank r holds
/// global_size / size elements, plus one if r < global_size % size.
/// Every rank must pass the same dtype and global_size; that is checked
/// with one MPI_Allreduce (unless the size is 1). The vector shares the
/// context's communicator and stays valid after dtl_context_destroy(ctx).
///
/// Collective over ctx. Units: global_size in elements.
///
/// On success *out is the new vector; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL out, or a dtype code outside 0..9 (e.g. 42);
/// when only some ranks pass an invalid argument, every rank returns
/// DTL_ERROR_INVALID_ARGUMENT; DTL_ERROR_MISMATCH if ranks pass different
/// (valid) sizes or dtypes; DTL_ERROR_MEMORY if the local part cannot be
/// allocated.
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
    guard("dtl_vector_create", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let out_ok = out.is_ok();
        let args = out.and_then(|o| Ok((o, parse_dtype(dtype)?, size_arg(global_size, "global_size")?)));
        let (out, dtype, n) = match args {
            Ok(a) => a,
            // Mirrors the agreement step of DistributedVector::new; a NULL
            // out poisons the dtype field so that the other ranks see a
            // mismatch instead of waiting for this one.
            Err(e) => {
                let dtype_field = if out_ok { i64::from(dtype) } else { -1 };
                return Err(reject_collectively(
                    c,
                    "container construction",
                    &[("global size", global_size as i64), ("dtype", dtype_field)],
                    e,
                ));
            }
        };
        let inner = dispatch_dtype!(dtype, T => T::wrap(DistributedVector::<T>::new(c, n)?));
        *out = new_handle(dtl_vector { tag: dtl_vector::TAG, inner });
        Ok(())
    })
}

/// Destroys a vector handle and frees its local part. If it held the last
/// reference to its communicator, the communicator is freed
/// (MPI_Comm_free); if it was the last dtl object and there is no
/// dtl_init() hold, MPI is finalized (MPI_Finalize) when dtl initialized it.
///
/// Collective over the vector's context when it frees the communicator or
/// finalizes MPI; otherwise local. Call it on every rank.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if vec is NULL, not a vector, or
/// already destroyed (a double destroy is detected and harmless).
///
/// # Safety
/// No other thread may use vec during or after this call; pointers from
/// dtl_vector_local_data() become invalid.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_destroy(vec: dtl_vector_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_vector_destroy", || unsafe { destroy_handle(vec, "vec") })
}

/// Writes the number of elements over all ranks to *size.
///
/// Not collective; no communication. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL size.
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_global_size(vec: dtl_vector_t, size: *mut u64) -> dtl_status {
    guard("dtl_vector_global_size", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(vec, "vec") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = with_vector!(&h.inner, T, v => v.global_size()) as u64;
        Ok(())
    })
}

/// Writes the number of elements this rank holds to *size.
///
/// Not collective; no communication. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL size.
///
/// # Safety
/// size must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_local_size(vec: dtl_vector_t, size: *mut u64) -> dtl_status {
    guard("dtl_vector_local_size", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(vec, "vec") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = with_vector!(&h.inner, T, v => v.local_size()) as u64;
        Ok(())
    })
}

/// Writes the global index of this rank's first element to *offset: local
/// element i is global element offset + i.
///
/// Not collective; no communication. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL offset.
///
/// # Safety
/// offset must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_local_offset(vec: dtl_vector_t, offset: *mut u64) -> dtl_status {
    guard("dtl_vector_local_offset", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(vec, "vec") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(offset, "offset") }? = with_vector!(&h.inner, T, v => v.local_offset()) as u64;
        Ok(())
    })
}

/// Writes the vector's element type (a DTL_DTYPE_* code) to *dtype.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL dtype.
///
/// # Safety
/// dtype must be NULL or point to a writable dtl_dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_dtype(vec: dtl_vector_t, dtype: *mut dtl_dtype_code) -> dtl_status {
    guard("dtl_vector_dtype", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(vec, "vec") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(dtype, "dtype") }? = h.inner.dtype() as dtl_dtype_code;
        Ok(())
    })
}

/// Writes a pointer to this rank's local elements to *data: local_size
/// contiguous elements of the vector's dtype, readable and writable, with
/// the natural alignment of the type. *data is NULL when local_size is 0.
/// The pointer stays valid until the vector is resized or destroyed.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL data.
///
/// # Safety
/// data must be NULL or point to a writable void*. Accesses through the
/// returned pointer must stay within local_size elements of the dtype and
/// must not race with calls that modify the vector.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_local_data(vec: dtl_vector_t, data: *mut *mut c_void) -> dtl_status {
    guard("dtl_vector_local_data", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(vec, "vec") }?;
        // SAFETY: caller's contract.
        let data = unsafe { out_ptr(data, "data") }?;
        *data = with_vector_mut!(&mut h.inner, T, v => {
            if v.local_size() == 0 {
                ptr::null_mut()
            } else {
                v.local_mut().as_mut_ptr().cast::<c_void>()
            }
        });
        Ok(())
    })
}

/// Sets every local element to *value, read as one element of the vector's
/// dtype (e.g. a double for DTL_DTYPE_FLOAT64; no alignment needed).
///
/// Not collective; no communication: it fills this rank's part only, so
/// call it on every rank to fill the whole vector.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec or a NULL value.
///
/// # Safety
/// value must be NULL or point to at least dtype-size readable bytes.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_fill(vec: dtl_vector_t, value: *const c_void) -> dtl_status {
    guard("dtl_vector_fill", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(vec, "vec") }?;
        if value.is_null() {
            return Err(Error::InvalidArgument("value is NULL; pass the address of one element".into()));
        }
        with_vector_mut!(&mut h.inner, T, v => {
            // SAFETY: caller's contract: one readable element; any bit
            // pattern is a valid value of the numeric dtypes.
            let x = unsafe { value.cast::<T>().read_unaligned() };
            v.fill(x);
        });
        Ok(())
    })
}

/// Changes the global size to new_size elements, keeping the first
/// min(old, new_size) elements in global order and setting new elements to
/// zero. Elements move to the new block boundaries with one MPI_Alltoallv
/// (after one MPI_Allreduce checking that every rank passed the same
/// new_size). Invalidates pointers from dtl_vector_local_data().
///
/// Collective over the vector's context. Units: elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec (at once, without
/// communication); DTL_ERROR_MISMATCH if ranks pass different sizes;
/// DTL_ERROR_MEMORY (on every rank, the vector unchanged) if the new local
/// part cannot be allocated on some rank.
///
/// # Safety
/// No other thread may use vec meanwhile.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_resize(vec: dtl_vector_t, new_size: u64) -> dtl_status {
    guard("dtl_vector_resize", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_mut(vec, "vec") }?;
        let n = size_arg(new_size, "new_size")?;
        with_vector_mut!(&mut h.inner, T, v => {
            // The resize allocates the new local part infallibly (an
            // allocation failure aborts the process), after taking the
            // elements out of the vector. So first try to allocate it here:
            // if that fails, every rank returns an error before any element
            // moves. Mirrors the agreement step of DistributedVector::resize.
            let ctx = v.context().clone();
            let local = n / ctx.size() + usize::from(ctx.rank() < n % ctx.size());
            let mut probe = Vec::<T>::new();
            let reserved = probe.try_reserve_exact(local);
            std::hint::black_box(&probe); // keeps the allocation from being optimized away
            drop(probe);
            if let Err(e) = reserved {
                let e = Error::Memory(format!(
                    "cannot allocate the {local} elements of {} of the resized vector on rank {}: {e}",
                    T::DTYPE,
                    ctx.rank()
                ));
                return Err(reject_collectively(&ctx, "resize", &[("new size", n as i64)], e));
            }
            v.resize(n)
        })
    })
}

/// Reduces all elements of the vector with op and writes the result, one
/// element of the vector's dtype, to *result on every rank (no alignment
/// needed). Each rank first reduces its local part (an empty part
/// contributes the identity of op), then MPI_Allreduce combines the ranks'
/// values. Sums and products of integers wrap around.
///
/// Collective over the vector's context (one MPI_Allreduce of one element,
/// plus one small MPI_Allreduce checking that the ranks agree on op, unless
/// the size is 1).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid vec (at once, without
/// communication), a NULL result, an op code outside 0..9, or a logical or
/// bitwise op on a float dtype (on every rank, when only some ranks pass an
/// invalid argument); DTL_ERROR_MISMATCH if ranks pass different valid ops.
///
/// # Safety
/// result must be NULL or point to at least dtype-size writable bytes.
#[no_mangle]
pub unsafe extern "C" fn dtl_vector_reduce(vec: dtl_vector_t, op: dtl_op_code, result: *mut c_void) -> dtl_status {
    guard("dtl_vector_reduce", || {
        // SAFETY: caller's contract.
        let h = unsafe { handle_ref(vec, "vec") }?;
        with_vector!(&h.inner, T, v => {
            let ctx = v.context();
            let checked = if result.is_null() {
                Err(Error::InvalidArgument("result is NULL; pass the address of one element".into()))
            } else {
                parse_op(op).and_then(|o| o.check_for::<T>().map(|()| o))
            };
            let op = match checked {
                Ok(o) => o,
                // Mirrors the agreement step of Context::allreduce_into; a
                // NULL result poisons the length field.
                Err(e) => {
                    let length = if result.is_null() { -1 } else { 1 };
                    return Err(reject_collectively(
                        ctx,
                        "allreduce",
                        &[("dtype", T::DTYPE as i64), ("length", length), ("op", i64::from(op))],
                        e,
                    ));
                }
            };
            let local = v.local().iter().fold(op.identity::<T>(), |acc, &x| op.apply(acc, x));
            let total = ctx.allreduce_scalar(local, op)?;
            // SAFETY: caller's contract: one writable element.
            unsafe { result.cast::<T>().write_unaligned(total) };
            Ok(())
        })
    })
}
