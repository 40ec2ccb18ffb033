//! The few raw MPI calls rsmpi does not wrap. Quarantined here.
//!
//! rsmpi can only *take ownership* of a raw communicator (`FromRaw`), and
//! would then free it on drop. dtl must never free a communicator the user
//! (mpi4py, C code) owns, so it duplicates the user's handle directly with
//! `MPI_Comm_dup` and wraps only the duplicate.

use mpi::ffi;
use mpi::raw::FromRaw;
use mpi::topology::SimpleCommunicator;

use crate::error::{Error, Result};

/// The raw MPI communicator handle type of the MPI library dtl was built
/// against (a pointer in Open MPI, an `int` in MPICH).
pub type RawComm = ffi::MPI_Comm;

/// `MPI_COMM_NULL` of the MPI library dtl was built against.
pub fn comm_null() -> RawComm {
    // SAFETY: reading an immutable constant exported by rsmpi's C shim.
    unsafe { ffi::RSMPI_COMM_NULL }
}

/// `MPI_COMM_WORLD` of the MPI library dtl was built against.
pub fn comm_world() -> RawComm {
    // SAFETY: as above.
    unsafe { ffi::RSMPI_COMM_WORLD }
}

/// Duplicates a communicator the caller owns (`MPI_Comm_dup`) and returns
/// the duplicate, owned by dtl. Collective over `raw`.
///
/// # Safety
/// `raw` must be a live intra-communicator handle (or `MPI_COMM_NULL`,
/// which is rejected) of the MPI library dtl is linked against.
pub(crate) unsafe fn dup_borrowed(raw: RawComm) -> Result<SimpleCommunicator> {
    if raw == comm_null() {
        return Err(Error::InvalidArgument("comm is MPI_COMM_NULL; pass a live communicator".into()));
    }
    let mut is_inter: std::os::raw::c_int = 0;
    // SAFETY: `raw` is live per the caller's contract; out-pointer is valid.
    let rc = unsafe { ffi::MPI_Comm_test_inter(raw, &mut is_inter) };
    check(rc, "MPI_Comm_test_inter")?;
    if is_inter != 0 {
        return Err(Error::InvalidArgument(
            "comm is an inter-communicator; dtl contexts need an intra-communicator".into(),
        ));
    }
    let mut dup = comm_null();
    // SAFETY: as above; `dup` receives a new handle that we own.
    let rc = unsafe { ffi::MPI_Comm_dup(raw, &mut dup) };
    check(rc, "MPI_Comm_dup")?;
    // SAFETY: `dup` is a fresh user communicator owned by nobody else.
    Ok(unsafe { SimpleCommunicator::from_raw(dup) })
}

/// Maps an MPI return code to an [`Error::Communication`] naming the call.
pub(crate) fn check(rc: std::os::raw::c_int, call: &str) -> Result<()> {
    if rc == ffi::MPI_SUCCESS as std::os::raw::c_int {
        Ok(())
    } else {
        Err(Error::Communication(format!("{call} failed with MPI error code {rc}")))
    }
}

/// Reinterprets an integer handle (as mpi4py's `MPI._handleof(comm)`
/// returns it: the pointer value in Open MPI, the `int` in MPICH) as a
/// [`RawComm`].
///
/// # Errors
/// [`Error::InvalidArgument`] if the value does not fit the handle type.
pub fn comm_from_int(handle: u64) -> Result<RawComm> {
    match std::mem::size_of::<RawComm>() {
        8 => {
            let v = handle;
            // SAFETY: RawComm is a plain 8-byte value (pointer or integer).
            Ok(unsafe { std::mem::transmute_copy::<u64, RawComm>(&v) })
        }
        4 => {
            let v = u32::try_from(handle).map_err(|_| {
                Error::InvalidArgument(format!("communicator handle {handle:#x} does not fit a 32-bit MPI_Comm"))
            })?;
            // SAFETY: RawComm is a plain 4-byte value.
            Ok(unsafe { std::mem::transmute_copy::<u32, RawComm>(&v) })
        }
        n => Err(Error::Internal(format!("unexpected MPI_Comm size {n}"))),
    }
}
