//! Collectives on caller-owned buffers.

use std::ffi::c_void;

use dtl_core::{dispatch_dtype, Element, Error, ReduceOp, Result};

use crate::context::{context_arg, dtl_context_t, reject_collectively};
use crate::error::guard;
use crate::types::{dtl_dtype_code, dtl_op_code, dtl_status, parse_dtype, parse_op, size_arg};

/// Checks a buffer of `n` elements of `T` at `p`: non-NULL unless `n` is 0,
/// aligned, and within `isize::MAX` bytes.
fn check_buffer<T: Element>(p: *const c_void, n: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{what} is NULL but count is {n}")));
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

/// Element-wise reduction of every rank's send buffer with op; the result
/// is written to recv on every rank (MPI_Allreduce). send and recv hold
/// count elements of dtype each; they may be the same buffer (in-place) or
/// overlap. With count 0 they may be NULL.
///
/// Collective over ctx: every rank passes the same count, dtype and op
/// (checked with one small MPI_Allreduce unless the size is 1). Units: count
/// in elements; a single call is limited to 2^31 - 1 elements.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL or misaligned buffer with count > 0, a dtype or
/// op code outside 0..9, a logical or bitwise op on a float dtype, or count
/// over the limit (when only some ranks pass an invalid argument, every rank
/// returns DTL_ERROR_INVALID_ARGUMENT); DTL_ERROR_MISMATCH if ranks pass
/// different (valid) counts, dtypes or ops.
///
/// # Safety
/// send must point to count readable elements and recv to count writable
/// elements of dtype (or be NULL, which is rejected when count > 0).
#[no_mangle]
pub unsafe extern "C" fn dtl_allreduce(
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    op: dtl_op_code,
) -> dtl_status {
    guard("dtl_allreduce", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let mut buffers_ok = true;
        let checked = (|| {
            let n = size_arg(count, "count")?;
            let dtype = parse_dtype(dtype)?;
            let op = parse_op(op)?;
            dispatch_dtype!(dtype, T => {
                op.check_for::<T>()?;
                let bufs = check_buffer::<T>(send, n, "send").and_then(|()| check_buffer::<T>(recv, n, "recv"));
                buffers_ok = bufs.is_ok();
                bufs?;
            });
            Ok((n, dtype, op))
        })();
        let (n, dtype, op) = match checked {
            Ok(a) => a,
            // Mirrors the agreement step of Context::allreduce_into; a bad
            // buffer poisons the length field.
            Err(e) => {
                let length = if buffers_ok { count as i64 } else { -1 };
                return Err(reject_collectively(
                    c,
                    "allreduce",
                    &[("dtype", i64::from(dtype)), ("length", length), ("op", i64::from(op))],
                    e,
                ));
            }
        };
        dispatch_dtype!(dtype, T => {
            // SAFETY: buffers checked above; sizes per the caller's contract.
            unsafe { allreduce_raw::<T>(c, send.cast(), recv.cast(), n, op) }
        })
    })
}

/// `Context::allreduce_into` on raw buffers, copying `send` first when it
/// overlaps `recv` (a `&[T]` and a `&mut [T]` must not alias).
///
/// # Safety
/// `send`/`recv` valid for `n` elements (dangling allowed when `n == 0`).
unsafe fn allreduce_raw<T: Element>(
    c: &dtl_core::Context,
    send: *const T,
    recv: *mut T,
    n: usize,
    op: ReduceOp,
) -> Result<()> {
    if n == 0 {
        return c.allreduce_into::<T>(&[], &mut [], op);
    }
    let bytes = n * std::mem::size_of::<T>();
    let (s, r) = (send as usize, recv as usize);
    let overlap = s < r + bytes && r < s + bytes;
    // SAFETY: caller's contract.
    let owned: Option<Vec<T>> = overlap.then(|| unsafe { std::slice::from_raw_parts(send, n) }.to_vec());
    // SAFETY: caller's contract; when the buffers overlap, the only live
    // reference into them is `recv_s` (send was copied into `owned`).
    let recv_s = unsafe { std::slice::from_raw_parts_mut(recv, n) };
    match &owned {
        Some(v) => c.allreduce_into(v, recv_s, op),
        // SAFETY: caller's contract; disjoint from recv.
        None => c.allreduce_into(unsafe { std::slice::from_raw_parts(send, n) }, recv_s, op),
    }
}
