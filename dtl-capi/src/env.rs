//! `dtl_init` / `dtl_finalize`: explicit holds on the MPI environment.

use std::sync::Mutex;

use dtl_core::{Environment, Error};

use crate::error::guard;
use crate::types::dtl_status;

/// One `dtl_core::Environment` per `dtl_init` not yet matched by a
/// `dtl_finalize`.
static HOLDS: Mutex<Vec<Environment>> = Mutex::new(Vec::new());

/// Holds the MPI environment open: initializes MPI if nobody has
/// (MPI_Init_thread requesting MPI_THREAD_MULTIPLE), or adopts the MPI the
/// host program initialized, and keeps it initialized until the matching
/// dtl_finalize(). Calls nest: each dtl_init() needs one dtl_finalize().
///
/// Calling dtl_init() is optional. Without it, the first context creation
/// initializes MPI and destroying the last dtl object finalizes it (see the
/// MPI lifetime section at the top of this header), after which MPI cannot
/// be initialized again in this process. Call dtl_init() first if your
/// program creates and destroys contexts more than once.
///
/// Collective over MPI_COMM_WORLD when it initializes MPI (every rank must
/// call it); otherwise local. Not thread-safe with respect to an
/// MPI_Init_thread the host calls concurrently.
///
/// Errors: DTL_ERROR_BACKEND if MPI was already finalized in this process.
#[no_mangle]
pub extern "C" fn dtl_init() -> dtl_status {
    guard("dtl_init", || {
        let env = Environment::new()?;
        HOLDS.lock().unwrap_or_else(|p| p.into_inner()).push(env);
        Ok(())
    })
}

/// Releases the hold taken by the matching dtl_init(). If it was the last
/// hold and no dtl object (context, container, map, window) is alive, and
/// dtl initialized MPI itself, MPI is finalized now (MPI_Finalize); if
/// handles are still alive, MPI is finalized when the last of them is
/// destroyed. An MPI the host initialized
/// (adopted) is never finalized by dtl. Call it after destroying all your
/// handles.
///
/// Collective over MPI_COMM_WORLD when it finalizes MPI (every rank must
/// call it); otherwise local.
///
/// Errors: DTL_ERROR_INVALID_STATE if there is no dtl_init() to match.
#[no_mangle]
pub extern "C" fn dtl_finalize() -> dtl_status {
    guard("dtl_finalize", || {
        let env = HOLDS.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match env {
            // Dropped outside the lock: the drop may call MPI_Finalize.
            Some(env) => {
                drop(env);
                Ok(())
            }
            None => Err(Error::InvalidState("dtl_finalize() called without a matching dtl_init()".into())),
        }
    })
}
