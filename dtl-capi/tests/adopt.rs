//! A host program that initializes MPI itself: dtl adopts that MPI, wraps
//! the host's communicator, and never finalizes it. (A process of its own.)

use std::ptr;

use dtl::*;
use dtl_core::Environment;

#[test]
fn host_initialized_mpi_is_adopted_and_not_finalized() {
    let universe = mpi::initialize().expect("the host initializes MPI");
    // SAFETY: valid pointers throughout; `world` is a live communicator.
    unsafe {
        assert_eq!(dtl_init(), DTL_SUCCESS);
        assert!(Environment::is_adopted());
        let world = dtl_core::raw::comm_world();
        let mut ctx: dtl_context_t = ptr::null_mut();
        assert_eq!(
            dtl_context_create_from_comm((&world as *const dtl_core::raw::RawComm).cast(), &mut ctx),
            DTL_SUCCESS
        );
        let mut size = 0;
        assert_eq!(dtl_context_size(ctx, &mut size), DTL_SUCCESS);
        assert_eq!(size, 1);
        let (x, mut y) = (5u32, 0u32);
        assert_eq!(
            dtl_allreduce(
                ctx,
                (&x as *const u32).cast(),
                (&mut y as *mut u32).cast(),
                1,
                dtl_dtype::Uint32 as i32,
                dtl_op::Bor as i32
            ),
            DTL_SUCCESS
        );
        assert_eq!(y, 5);
        assert_eq!(dtl_context_destroy(ctx), DTL_SUCCESS);
        assert_eq!(dtl_finalize(), DTL_SUCCESS);
        assert!(Environment::mpi_active(), "dtl never finalizes an MPI it adopted");
    }
    drop(universe); // the host finalizes
    assert!(!Environment::mpi_active());
}
