//! `dtl_context_t`: an execution context (a communicator dtl owns).

use std::ffi::c_void;
use std::ptr;

use dtl_core::raw::RawComm;
use dtl_core::{Context, Error};

use crate::error::guard;
use crate::handle::{destroy_handle, handle_ref, in_ptr, new_handle, out_ptr, Handle};
use crate::types::dtl_status;

/// Opaque execution context: a communicator of its own (made by
/// MPI_Comm_dup or MPI_Comm_split, so dtl traffic never matches the
/// caller's messages) over a group of ranks. Create it with
/// dtl_context_create_world(), dtl_context_create_from_comm(),
/// dtl_context_dup() or dtl_context_split(); destroy it with
/// dtl_context_destroy().
pub struct dtl_context {
    tag: u64,
    pub(crate) ctx: Context,
}

/// Handle to a context (NULL is never a valid context).
pub type dtl_context_t = *mut dtl_context;

impl Handle for dtl_context {
    const TAG: u64 = u64::from_be_bytes(*b"dtl_ctx!");
    const C_TYPE: &'static str = "dtl_context_t";
    fn tag(&self) -> u64 {
        self.tag
    }
    fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }
}

/// Sets an output handle to NULL (what it holds when the call fails) and
/// passes it on.
pub(crate) fn null_out<T>(out: &mut *mut T) -> &mut *mut T {
    *out = ptr::null_mut();
    out
}

/// Wraps a dtl-core context in a new C handle.
pub(crate) fn new_context(ctx: Context) -> dtl_context_t {
    new_handle(dtl_context { tag: dtl_context::TAG, ctx })
}

/// The context behind a C handle argument named `arg`.
///
/// # Safety
/// See `handle_ref`.
pub(crate) unsafe fn context_arg<'a>(p: dtl_context_t, arg: &str) -> dtl_core::Result<&'a Context> {
    // SAFETY: forwarded.
    unsafe { handle_ref(p, arg) }.map(|h| &h.ctx)
}

/// Creates a context over all ranks of MPI_COMM_WORLD
/// (MPI_Comm_dup(MPI_COMM_WORLD)). Initializes MPI first if neither the host
/// nor dtl has (MPI_Init_thread requesting MPI_THREAD_MULTIPLE).
///
/// Collective over MPI_COMM_WORLD.
///
/// On success *out is the new context; on failure *out is set to NULL
/// (when out itself is not NULL).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if out is NULL (returned at once,
/// without communication); DTL_ERROR_BACKEND if MPI was already finalized in
/// this process.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_context_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_create_world(out: *mut dtl_context_t) -> dtl_status {
    guard("dtl_context_create_world", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        *out = ptr::null_mut();
        *out = new_context(Context::world()?);
        Ok(())
    })
}

/// Creates a context over the ranks of a communicator the caller owns:
/// mpi_comm points to the caller's MPI_Comm variable (pass &comm, so that
/// dtl.h needs no mpi.h). dtl duplicates it (MPI_Comm_dup); the caller keeps
/// ownership of its communicator and may free it at any time. Initializes
/// MPI if needed, like dtl_context_create_world().
///
/// Collective over the communicator.
///
/// On success *out is the new context; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if mpi_comm or out is NULL or
/// misaligned, or *mpi_comm is MPI_COMM_NULL or an inter-communicator;
/// DTL_ERROR_COMMUNICATION if MPI_Comm_dup fails; DTL_ERROR_BACKEND if MPI
/// was already finalized.
///
/// # Safety
/// mpi_comm must be NULL or point to a live MPI_Comm of the MPI library
/// libdtl is linked against (Open MPI and MPICH handles are not
/// interchangeable); out as in dtl_context_create_world().
#[no_mangle]
pub unsafe extern "C" fn dtl_context_create_from_comm(mpi_comm: *const c_void, out: *mut dtl_context_t) -> dtl_status {
    guard("dtl_context_create_from_comm", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        *out = ptr::null_mut();
        // SAFETY: caller's contract; only read.
        let comm = unsafe { in_ptr(mpi_comm as *const RawComm, "mpi_comm") }?;
        // SAFETY: a live communicator per the caller's contract.
        *out = new_context(unsafe { Context::from_raw(*comm) }?);
        Ok(())
    })
}

/// Destroys a context handle: frees its communicator (MPI_Comm_free).
/// Vectors created on the context stay valid (they share the communicator,
/// which is freed with the last of them). If this was the last dtl object
/// and there is no dtl_init() hold, MPI is finalized (MPI_Finalize) when dtl
/// initialized it.
///
/// Collective over the context's ranks (MPI_Comm_free; MPI_Finalize over
/// MPI_COMM_WORLD when it finalizes).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if ctx is NULL, not a context, or
/// already destroyed (a double destroy is detected and harmless).
///
/// # Safety
/// No other thread may use ctx during or after this call.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_destroy(ctx: dtl_context_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_context_destroy", || unsafe { destroy_handle(ctx, "ctx") })
}

/// Writes this process's rank in the context, 0 .. size-1, to *rank
/// (cached MPI_Comm_rank).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx or a NULL rank.
///
/// # Safety
/// rank must be NULL or point to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_rank(ctx: dtl_context_t, rank: *mut i32) -> dtl_status {
    guard("dtl_context_rank", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(rank, "rank") }? = c.rank() as i32;
        Ok(())
    })
}

/// Writes the number of ranks in the context to *size (cached
/// MPI_Comm_size).
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx or a NULL size.
///
/// # Safety
/// size must be NULL or point to a writable int32_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_size(ctx: dtl_context_t, size: *mut i32) -> dtl_status {
    guard("dtl_context_size", || {
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(size, "size") }? = c.size() as i32;
        Ok(())
    })
}

/// Blocks until every rank of the context has called it (MPI_Barrier).
///
/// Collective over the context.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx.
///
/// # Safety
/// ctx must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_barrier(ctx: dtl_context_t) -> dtl_status {
    guard("dtl_context_barrier", || {
        // SAFETY: caller's contract.
        unsafe { context_arg(ctx, "ctx") }?.barrier()
    })
}

/// Creates a new context over the same ranks with a new communicator
/// (MPI_Comm_dup). Both must be destroyed.
///
/// Collective over the context.
///
/// On success *out is the new context; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication) or a NULL out (after taking part in MPI_Comm_dup, so the
/// other ranks do not block).
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_context_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_dup(ctx: dtl_context_t, out: *mut dtl_context_t) -> dtl_status {
    guard("dtl_context_dup", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let dup = c.dup()?;
        let out = out?; // after the collective, so the other ranks do not block
        *out = new_context(dup);
        Ok(())
    })
}

/// Splits the context's ranks into sub-contexts, one per distinct
/// non-negative color, ranked by key and then by rank in ctx
/// (MPI_Comm_split). A rank passing a negative color (MPI_UNDEFINED) joins
/// no sub-context: it gets *out = NULL and DTL_SUCCESS.
///
/// Collective over the context.
///
/// On success *out is the new context (or NULL, see above); on failure
/// *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication) or a NULL out (after taking part in MPI_Comm_split with
/// MPI_UNDEFINED, so the other ranks do not block).
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_context_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_context_split(
    ctx: dtl_context_t,
    color: i32,
    key: i32,
    out: *mut dtl_context_t,
) -> dtl_status {
    guard("dtl_context_split", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                // Take part without joining a group, so the other ranks do not block.
                c.split(None, key)?;
                return Err(e);
            }
        };
        let color = if color < 0 { None } else { Some(color) };
        if let Some(sub) = c.split(color, key)? {
            *out = new_context(sub);
        }
        Ok(())
    })
}

/// The error for an argument that is invalid on this rank in a collective
/// call: this rank still takes part in the agreement step
/// (`Context::agree_or_reject`, one fixed-size `MPI_Allreduce`) that the
/// dtl-core call runs on the other ranks, so they return an error of the
/// same kind instead of hanging in the collective; this rank returns `err`.
pub(crate) fn reject_collectively(ctx: &Context, op_name: &str, fields: &[(&str, i64)], err: Error) -> Error {
    match ctx.agree_or_reject(op_name, fields, Some(err)) {
        Err(e) => e,
        Ok(()) => Error::Internal(format!("{op_name}: a local error was lost in the agreement step")),
    }
}
