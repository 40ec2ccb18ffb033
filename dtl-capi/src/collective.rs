//! Collectives on caller-owned buffers (the MPI collectives, typed by a
//! `dtl_dtype`, with argument agreement: a bad argument on some ranks is an
//! error on every rank, never a hang).
//!
//! Counts are in elements. Outputs whose size only MPI knows (the v
//! variants) take a capacity; a rank whose capacity is too small takes part
//! in the collective and then returns `DTL_ERROR_BOUNDS` (its data are
//! lost), so the other ranks are never left waiting.

use std::ffi::c_void;

use dtl_core::{dispatch_dtype, Element, Error, ReduceOp, Result};

use crate::container::{collective, copy_out, slice_arg, slice_mut_arg};
use crate::context::{context_arg, dtl_context_t};
use crate::error::guard;
use crate::types::{dtl_dtype_code, dtl_op_code, dtl_status, parse_dtype, parse_op, rank_arg, size_arg};

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
        let checked = (|| {
            let n = size_arg(count, "count")?;
            let dtype = parse_dtype(dtype)?;
            let op = parse_op(op)?;
            dispatch_dtype!(dtype, T => {
                op.check_for::<T>()?;
                check_buffer::<T>(send, n, "send")?;
                check_buffer::<T>(recv, n, "recv")?;
            });
            Ok((n, dtype, op))
        })();
        let (n, dtype, op) = match checked {
            Ok(a) => a,
            // Takes part in Context::allreduce_into's own agreement step
            // (its fused MPI_Allgather), carrying the local error, so the
            // other ranks fail too instead of waiting.
            Err(e) => {
                return Err(match c.allreduce_into_or_reject::<u8>(&[], &mut [], ReduceOp::Sum, None, Some(e)) {
                    Err(e) => e,
                    Ok(()) => Error::Internal("allreduce: a local error was lost in the agreement step".into()),
                });
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

/// Writes per-rank counts to an optional output array of `size` entries.
///
/// # Safety
/// `p` must be NULL or point to `counts.len()` writable values.
unsafe fn counts_out(counts: &[usize], p: *mut u64) -> Result<()> {
    if p.is_null() {
        return Ok(());
    }
    // SAFETY: caller's contract.
    let o = unsafe { slice_mut_arg::<u64>(p.cast(), counts.len(), "counts") }?;
    for (d, &c) in o.iter_mut().zip(counts) {
        *d = c as u64;
    }
    Ok(())
}

/// Reads `n` per-rank counts from the caller.
///
/// # Safety
/// `p` must point to `n` readable values (or be NULL).
unsafe fn counts_in(p: *const u64, n: usize, what: &str) -> Result<Vec<usize>> {
    // SAFETY: caller's contract.
    let s = unsafe { slice_arg::<u64>(p.cast(), n, what) }?;
    s.iter().map(|&c| size_arg(c, what)).collect()
}

/// Sends count elements of buf from root to every rank, in place
/// (MPI_Bcast).
///
/// Collective over ctx: every rank passes the same count, dtype and root.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once), a bad
/// dtype, a root outside 0..size-1, or a NULL/misaligned buf with count > 0
/// (every rank); DTL_ERROR_MISMATCH if ranks pass different counts, dtypes
/// or roots.
///
/// # Safety
/// buf must point to count readable and writable elements of dtype.
#[no_mangle]
pub unsafe extern "C" fn dtl_broadcast(
    ctx: dtl_context_t,
    buf: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    root: i32,
) -> dtl_status {
    guard("dtl_broadcast", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n, r) = collective(
            c,
            "broadcast",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(count, "count")?;
                dispatch_dtype!(d, T => check_buffer::<T>(buf, n, "buf"))?;
                Ok((d, n, rank_arg(root, c.size(), "root")?))
            })(),
        )?;
        // SAFETY: checked; caller's contract.
        dispatch_dtype!(d, T => c.broadcast(unsafe { slice_mut_arg::<T>(buf, n, "buf") }?, r))
    })
}

/// Element-wise reduction of every rank's send (count elements) with op onto
/// root's recv (MPI_Reduce). recv is read on root only (others may pass
/// NULL).
///
/// Collective over ctx: every rank passes the same count, dtype, op and
/// root.
///
/// Errors: as dtl_allreduce; DTL_ERROR_INVALID_ARGUMENT for a root outside
/// 0..size-1 (every rank); a NULL/misaligned recv on root fails there after
/// taking part.
///
/// # Safety
/// send must point to count readable elements; on root, recv to count
/// writable ones.
#[no_mangle]
pub unsafe extern "C" fn dtl_reduce_to_root(
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    op: dtl_op_code,
    root: i32,
) -> dtl_status {
    guard("dtl_reduce_to_root", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n, o, r) = collective(
            c,
            "reduce",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(count, "count")?;
                let o = parse_op(op)?;
                dispatch_dtype!(d, T => { o.check_for::<T>()?; check_buffer::<T>(send, n, "send") })?;
                Ok((d, n, o, rank_arg(root, c.size(), "root")?))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            let res = c.reduce(unsafe { slice_arg::<T>(send, n, "send") }?, o, r)?;
            match res {
                // SAFETY: caller's contract.
                Some(v) => unsafe { copy_out(&v, recv, n as u64) },
                None => Ok(()),
            }
        })
    })
}

/// Concatenates every rank's send (count elements each) in rank order into
/// root's recv, size * count elements (MPI_Gather). recv is written on root
/// only.
///
/// Collective over ctx: every rank passes the same count, dtype and root.
///
/// Errors: as dtl_broadcast; a NULL/misaligned recv on root fails there
/// after taking part.
///
/// # Safety
/// send must point to count readable elements; on root, recv to
/// size * count writable ones.
#[no_mangle]
pub unsafe extern "C" fn dtl_gather(
    ctx: dtl_context_t,
    send: *const c_void,
    count: u64,
    recv: *mut c_void,
    dtype: dtl_dtype_code,
    root: i32,
) -> dtl_status {
    guard("dtl_gather", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n, r) = root_args(c, "gather", send, count, dtype, root)?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            match c.gather(unsafe { slice_arg::<T>(send, n, "send") }?, r)? {
                // SAFETY: caller's contract.
                Some(v) => unsafe { copy_out(&v, recv, v.len() as u64) },
                None => Ok(()),
            }
        })
    })
}

/// Parses (dtype, count, root) and checks the send buffer, collectively.
fn root_args(
    c: &dtl_core::Context,
    name: &str,
    send: *const c_void,
    count: u64,
    dtype: dtl_dtype_code,
    root: i32,
) -> Result<(dtl_core::DType, usize, usize)> {
    collective(
        c,
        name,
        (|| {
            let d = parse_dtype(dtype)?;
            let n = size_arg(count, "count")?;
            dispatch_dtype!(d, T => check_buffer::<T>(send, n, "send"))?;
            Ok((d, n, rank_arg(root, c.size(), "root")?))
        })(),
    )
}

/// Concatenates every rank's send (send_count elements; counts may differ)
/// in rank order into root's recv (MPI_Gather of the counts, then
/// MPI_Gatherv). On root, recv_capacity is the number of elements recv can
/// hold and recv_counts (size entries, or NULL) receives each rank's count.
///
/// Collective over ctx: every rank passes the same dtype and root.
///
/// Errors: as dtl_broadcast; on root after taking part, DTL_ERROR_BOUNDS if
/// the total exceeds recv_capacity.
///
/// # Safety
/// send must point to send_count readable elements; on root, recv to
/// recv_capacity writable elements and recv_counts to size writable
/// uint64_t (or NULL).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtl_gatherv(
    ctx: dtl_context_t,
    send: *const c_void,
    send_count: u64,
    recv: *mut c_void,
    recv_capacity: u64,
    recv_counts: *mut u64,
    dtype: dtl_dtype_code,
    root: i32,
) -> dtl_status {
    guard("dtl_gatherv", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n, r) = root_args(c, "gatherv", send, send_count, dtype, root)?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            match c.gatherv(unsafe { slice_arg::<T>(send, n, "send") }?, r)? {
                // SAFETY: caller's contract.
                Some((v, counts)) => unsafe {
                    copy_out(&v, recv, recv_capacity)?;
                    counts_out(&counts, recv_counts)
                },
                None => Ok(()),
            }
        })
    })
}

/// Splits root's send (size * count elements) into size chunks of count
/// elements; rank r receives chunk r in recv (MPI_Scatter). send is read on
/// root only.
///
/// Collective over ctx: every rank passes the same count, dtype and root.
///
/// Errors: as dtl_broadcast (a NULL send with count > 0 on root, a NULL recv
/// with count > 0 on any rank: every rank).
///
/// # Safety
/// On root, send must point to size * count readable elements; recv to
/// count writable ones.
#[no_mangle]
pub unsafe extern "C" fn dtl_scatter(
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    root: i32,
) -> dtl_status {
    guard("dtl_scatter", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n, r) = collective(
            c,
            "scatter",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(count, "count")?;
                let r = rank_arg(root, c.size(), "root")?;
                let total = if c.rank() == r {
                    n.checked_mul(c.size()).ok_or_else(|| Error::InvalidArgument("count * size overflows".into()))?
                } else {
                    0
                };
                dispatch_dtype!(d, T => check_buffer::<T>(send, total, "send").and_then(|()| check_buffer::<T>(recv, n, "recv")))?;
                Ok((d, n, r))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            let total = if c.rank() == r { n * c.size() } else { 0 };
            // SAFETY: checked; caller's contract.
            let v = c.scatter(unsafe { slice_arg::<T>(send, total, "send") }?, r)?;
            if v.len() != n {
                return Err(Error::Mismatch(format!("scatter: count {n} differs from the root's chunk of {}", v.len())));
            }
            // SAFETY: caller's contract.
            unsafe { copy_out(&v, recv, n as u64) }
        })
    })
}

/// Gives rank r the next send_counts[r] elements of root's send
/// (MPI_Scatter of the counts, then MPI_Scatterv); send and send_counts
/// (size entries) are read on root only. Each rank receives into recv
/// (recv_capacity elements) and gets its count in *recv_count.
///
/// Collective over ctx: every rank passes the same dtype and root.
///
/// Errors: as dtl_broadcast; DTL_ERROR_INVALID_ARGUMENT on root for a NULL
/// send_counts or send (every rank); after taking part, DTL_ERROR_BOUNDS on
/// a rank whose recv_capacity is too small.
///
/// # Safety
/// On root, send_counts must point to size readable uint64_t and send to
/// their sum of readable elements; recv to recv_capacity writable elements;
/// recv_count NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtl_scatterv(
    ctx: dtl_context_t,
    send: *const c_void,
    send_counts: *const u64,
    recv: *mut c_void,
    recv_capacity: u64,
    recv_count: *mut u64,
    dtype: dtl_dtype_code,
    root: i32,
) -> dtl_status {
    guard("dtl_scatterv", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, r, counts) = collective(
            c,
            "scatterv",
            (|| {
                let d = parse_dtype(dtype)?;
                let r = rank_arg(root, c.size(), "root")?;
                let counts = if c.rank() == r {
                    if send_counts.is_null() {
                        return Err(Error::InvalidArgument("send_counts is NULL on root; pass size counts".into()));
                    }
                    // SAFETY: caller's contract.
                    let counts = unsafe { counts_in(send_counts, c.size(), "send_counts") }?;
                    let total = counts.iter().try_fold(0usize, |a, &x| a.checked_add(x));
                    let total = total.ok_or_else(|| Error::InvalidArgument("send_counts: the sum overflows".into()))?;
                    dispatch_dtype!(d, T => check_buffer::<T>(send, total, "send"))?;
                    counts
                } else {
                    Vec::new()
                };
                Ok((d, r, counts))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            let total: usize = counts.iter().sum();
            // SAFETY: checked; caller's contract.
            let v = c.scatterv(unsafe { slice_arg::<T>(send, total, "send") }?, &counts, r)?;
            // SAFETY: caller's contract.
            unsafe {
                copy_out(&v, recv, recv_capacity)?;
                if !recv_count.is_null() {
                    *crate::handle::out_ptr(recv_count, "recv_count")? = v.len() as u64;
                }
            }
            Ok(())
        })
    })
}

/// Concatenates every rank's send (count elements each) in rank order into
/// every rank's recv, size * count elements (MPI_Allgather).
///
/// Collective over ctx: every rank passes the same count and dtype.
///
/// Errors: as dtl_broadcast (NULL/misaligned send or recv: every rank).
///
/// # Safety
/// send must point to count readable elements and recv to size * count
/// writable ones.
#[no_mangle]
pub unsafe extern "C" fn dtl_allgather(
    ctx: dtl_context_t,
    send: *const c_void,
    count: u64,
    recv: *mut c_void,
    dtype: dtl_dtype_code,
) -> dtl_status {
    guard("dtl_allgather", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n) = collective(
            c,
            "allgather",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(count, "count")?;
                let total =
                    n.checked_mul(c.size()).ok_or_else(|| Error::InvalidArgument("count * size overflows".into()))?;
                dispatch_dtype!(d, T => check_buffer::<T>(send, n, "send").and_then(|()| check_buffer::<T>(recv, total, "recv")))?;
                Ok((d, n))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            let v = c.allgather(unsafe { slice_arg::<T>(send, n, "send") }?)?;
            // SAFETY: caller's contract.
            unsafe { copy_out(&v, recv, v.len() as u64) }
        })
    })
}

/// Concatenates every rank's send (send_count elements; counts may differ)
/// in rank order into every rank's recv (MPI_Allgather of the counts, then
/// MPI_Allgatherv); recv_counts (size entries, or NULL) receives each
/// rank's count.
///
/// Collective over ctx: every rank passes the same dtype.
///
/// Errors: as dtl_broadcast; after taking part, DTL_ERROR_BOUNDS on a rank
/// whose recv_capacity is smaller than the total.
///
/// # Safety
/// send must point to send_count readable elements, recv to recv_capacity
/// writable ones, recv_counts to size writable uint64_t (or NULL).
#[no_mangle]
pub unsafe extern "C" fn dtl_allgatherv(
    ctx: dtl_context_t,
    send: *const c_void,
    send_count: u64,
    recv: *mut c_void,
    recv_capacity: u64,
    recv_counts: *mut u64,
    dtype: dtl_dtype_code,
) -> dtl_status {
    guard("dtl_allgatherv", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, n) = collective(
            c,
            "allgatherv",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(send_count, "send_count")?;
                dispatch_dtype!(d, T => check_buffer::<T>(send, n, "send"))?;
                Ok((d, n))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            let (v, counts) = c.allgatherv(unsafe { slice_arg::<T>(send, n, "send") }?)?;
            // SAFETY: caller's contract.
            unsafe {
                copy_out(&v, recv, recv_capacity)?;
                counts_out(&counts, recv_counts)
            }
        })
    })
}

/// Personalised exchange: send holds size chunks of count elements, chunk r
/// goes to rank r; recv receives chunk `me` of every rank in rank order,
/// size * count elements (MPI_Alltoall).
///
/// Collective over ctx: every rank passes the same count and dtype.
///
/// Errors: as dtl_allgather.
///
/// # Safety
/// send must point to size * count readable elements and recv to
/// size * count writable ones.
#[no_mangle]
pub unsafe extern "C" fn dtl_alltoall(
    ctx: dtl_context_t,
    send: *const c_void,
    count: u64,
    recv: *mut c_void,
    dtype: dtl_dtype_code,
) -> dtl_status {
    guard("dtl_alltoall", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, total) = collective(
            c,
            "alltoall",
            (|| {
                let d = parse_dtype(dtype)?;
                let n = size_arg(count, "count")?;
                let total =
                    n.checked_mul(c.size()).ok_or_else(|| Error::InvalidArgument("count * size overflows".into()))?;
                dispatch_dtype!(d, T => check_buffer::<T>(send, total, "send").and_then(|()| check_buffer::<T>(recv, total, "recv")))?;
                Ok((d, total))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            let v = c.alltoall(unsafe { slice_arg::<T>(send, total, "send") }?)?;
            // SAFETY: caller's contract.
            unsafe { copy_out(&v, recv, total as u64) }
        })
    })
}

/// Personalised exchange with per-destination counts: the first
/// send_counts[0] elements of send go to rank 0, the next send_counts[1] to
/// rank 1, ...; recv receives what every rank sent here, in rank order, and
/// recv_counts (size entries, or NULL) the count from each rank
/// (MPI_Alltoall of the counts, then MPI_Alltoallv).
///
/// Collective over ctx: every rank passes the same dtype.
///
/// Errors: as dtl_broadcast (NULL send_counts: every rank); after taking
/// part, DTL_ERROR_BOUNDS on a rank whose recv_capacity is too small.
///
/// # Safety
/// send_counts must point to size readable uint64_t and send to their sum
/// of readable elements; recv to recv_capacity writable elements;
/// recv_counts to size writable uint64_t (or NULL).
#[no_mangle]
pub unsafe extern "C" fn dtl_alltoallv(
    ctx: dtl_context_t,
    send: *const c_void,
    send_counts: *const u64,
    recv: *mut c_void,
    recv_capacity: u64,
    recv_counts: *mut u64,
    dtype: dtl_dtype_code,
) -> dtl_status {
    guard("dtl_alltoallv", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let (d, counts, total) = collective(
            c,
            "alltoallv",
            (|| {
                let d = parse_dtype(dtype)?;
                if send_counts.is_null() {
                    return Err(Error::InvalidArgument("send_counts is NULL; pass size counts".into()));
                }
                // SAFETY: caller's contract.
                let counts = unsafe { counts_in(send_counts, c.size(), "send_counts") }?;
                let total = counts.iter().try_fold(0usize, |a, &x| a.checked_add(x));
                let total = total.ok_or_else(|| Error::InvalidArgument("send_counts: the sum overflows".into()))?;
                dispatch_dtype!(d, T => check_buffer::<T>(send, total, "send"))?;
                Ok((d, counts, total))
            })(),
        )?;
        dispatch_dtype!(d, T => {
            // SAFETY: checked; caller's contract.
            let (v, rc) = c.alltoallv(unsafe { slice_arg::<T>(send, total, "send") }?, &counts)?;
            // SAFETY: caller's contract.
            unsafe {
                copy_out(&v, recv, recv_capacity)?;
                counts_out(&rc, recv_counts)
            }
        })
    })
}

/// # Safety
/// As dtl_scan.
#[allow(clippy::too_many_arguments)]
unsafe fn prefix(
    name: &str,
    exclusive: bool,
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    op: dtl_op_code,
) -> Result<()> {
    // SAFETY: caller's contract.
    let c = unsafe { context_arg(ctx, "ctx") }?;
    let (d, n, o) = collective(
        c,
        name,
        (|| {
            let d = parse_dtype(dtype)?;
            let n = size_arg(count, "count")?;
            let o = parse_op(op)?;
            dispatch_dtype!(d, T => {
                o.check_for::<T>()?;
                check_buffer::<T>(send, n, "send").and_then(|()| check_buffer::<T>(recv, n, "recv"))
            })?;
            Ok((d, n, o))
        })(),
    )?;
    dispatch_dtype!(d, T => {
        // SAFETY: checked; caller's contract.
        let s = unsafe { slice_arg::<T>(send, n, "send") }?;
        let v = if exclusive { c.exscan(s, o)? } else { c.scan(s, o)? };
        // SAFETY: caller's contract (recv may alias send: s is no longer used).
        unsafe { copy_out(&v, recv, n as u64) }
    })
}

/// Inclusive prefix reduction over ranks, element-wise: rank r gets
/// send_0 op ... op send_r in recv (MPI_Scan). send and recv may be the
/// same buffer.
///
/// Collective over ctx: every rank passes the same count, dtype and op.
///
/// Errors: as dtl_allreduce.
///
/// # Safety
/// send must point to count readable and recv to count writable elements.
#[no_mangle]
pub unsafe extern "C" fn dtl_scan(
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    op: dtl_op_code,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_scan", || unsafe { prefix("scan", false, ctx, send, recv, count, dtype, op) })
}

/// Exclusive prefix reduction over ranks: rank r > 0 gets
/// send_0 op ... op send_{r-1} in recv; rank 0 gets op's identity (0 for
/// sum, 1 for prod, the largest value for min, ...), which MPI_Exscan leaves
/// undefined.
///
/// Collective over ctx: every rank passes the same count, dtype and op.
///
/// Errors: as dtl_allreduce.
///
/// # Safety
/// As dtl_scan.
#[no_mangle]
pub unsafe extern "C" fn dtl_exscan(
    ctx: dtl_context_t,
    send: *const c_void,
    recv: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    op: dtl_op_code,
) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_exscan", || unsafe { prefix("exscan", true, ctx, send, recv, count, dtype, op) })
}
