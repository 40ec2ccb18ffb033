//! `dtl_print_info` / `dtl_info_string`: the diagnostic report
//! (`dtl_gpu::info::Report`) for bug reports.

use std::ffi::c_char;
use std::io::Write;

use dtl_core::{Error, Result};
use dtl_gpu::info::Report;

use crate::context::{context_arg, dtl_context_t, reject_collectively};
use crate::error::guard;
use crate::types::dtl_status;

/// Prints the dtl diagnostic report of the context's ranks to standard
/// output on rank 0 of the context: the dtl version and build, the MPI
/// library (MPI_Get_library_version) and standard version
/// (MPI_Get_version), whether dtl initialized MPI or adopted it, the
/// thread level requested and provided, the number of ranks and nodes and
/// the ranks of each node, whether CUDA, NCCL and NVRTC are usable and why
/// not, and one line per rank (host, node, local rank, process id, CPU
/// affinity, default GPU, its CUDA probe). Paste it into bug reports.
/// The other ranks print nothing. C stdio buffers are flushed (fflush(NULL))
/// before rank 0 writes, so the report does not interleave with earlier
/// printf output of that rank.
///
/// Collective over ctx (MPI_Comm_split_type, MPI_Allgather and
/// MPI_Allgatherv underneath). Needs no GPU.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication); DTL_ERROR_BACKEND if sched_getaffinity fails on a rank
/// (every rank returns it) or writing to standard output fails (rank 0).
///
/// # Safety
/// ctx must be a handle returned by dtl (or NULL, an error).
#[no_mangle]
pub unsafe extern "C" fn dtl_print_info(ctx: dtl_context_t) -> dtl_status {
    guard("dtl_print_info", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let report = Report::collect(c)?;
        if c.is_root() {
            // SAFETY: fflush(NULL) flushes every C output stream; no pointer is read.
            unsafe { libc::fflush(std::ptr::null_mut()) };
            let mut out = std::io::stdout().lock();
            out.write_all(report.to_string().as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::Backend(format!("cannot write the report to standard output: {e}")))?;
        }
        Ok(())
    })
}

/// Writes the report that dtl_print_info() prints into buf, on every rank
/// (each rank gets the whole report), in the style of snprintf: at most
/// cap - 1 bytes and a terminating NUL are written (nothing when cap is
/// 0, and buf may then be NULL), and *len receives the length of the whole
/// report without the NUL, so a first call with cap 0 tells the size to
/// allocate (*len + 1). A report longer than cap - 1 is truncated (still
/// NUL-terminated) and the call succeeds.
///
/// Collective over ctx, as dtl_print_info(). Call it the same number of
/// times on every rank (a size query counts as a call).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL len, or a NULL buf with cap > 0 (every rank
/// returns an error); otherwise as dtl_print_info().
///
/// # Safety
/// buf must be NULL or point to cap writable bytes; len must be NULL or
/// point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_info_string(ctx: dtl_context_t, buf: *mut c_char, cap: u64, len: *mut u64) -> dtl_status {
    guard("dtl_info_string", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let local: Result<()> = if len.is_null() {
            Err(Error::InvalidArgument("len is NULL; pass the address of a uint64_t".into()))
        } else if !len.is_aligned() {
            Err(Error::InvalidArgument(format!("len ({len:p}) is not aligned to 8 bytes")))
        } else if buf.is_null() && cap > 0 {
            Err(Error::InvalidArgument(format!("buf is NULL but cap is {cap}")))
        } else {
            Ok(())
        };
        if let Err(e) = local {
            return Err(reject_collectively(c, "dtl_info_string", &[], e));
        }
        c.agree_or_reject("dtl_info_string", &[], None)?;
        let text = Report::collect(c)?.to_string();
        let bytes = text.as_bytes();
        if cap > 0 {
            let n = bytes.len().min(usize::try_from(cap - 1).unwrap_or(usize::MAX));
            // SAFETY: buf points to cap > n writable bytes (caller's contract).
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                *buf.add(n) = 0;
            }
        }
        // SAFETY: checked non-NULL and aligned above; writable per the contract.
        unsafe { *len = bytes.len() as u64 };
        Ok(())
    })
}
