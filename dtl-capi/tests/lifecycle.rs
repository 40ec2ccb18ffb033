//! MPI lifetime without dtl_init: the first context initializes MPI, the
//! last dtl object finalizes it, and MPI cannot come back. (A process of its
//! own: MPI can be initialized only once.)

use std::ptr;

use dtl::*;
use dtl_core::Environment;

#[test]
fn last_object_finalizes_mpi_without_dtl_init() {
    // SAFETY: valid pointers throughout.
    unsafe {
        assert!(!Environment::mpi_active());
        let mut ctx: dtl_context_t = ptr::null_mut();
        assert_eq!(dtl_context_create_world(&mut ctx), DTL_SUCCESS);
        assert!(Environment::mpi_active(), "the first context initializes MPI");
        assert!(!Environment::is_adopted(), "dtl initialized MPI itself");

        let mut v: dtl_vector_t = ptr::null_mut();
        assert_eq!(dtl_vector_create(ctx, dtl_dtype::Int64 as i32, 100, &mut v), DTL_SUCCESS);
        assert_eq!(dtl_context_destroy(ctx), DTL_SUCCESS);
        assert!(Environment::mpi_active(), "the vector still holds MPI");

        let mut sum = 0i64;
        let one = 1i64;
        assert_eq!(dtl_container_fill(v.cast(), (&one as *const i64).cast()), DTL_SUCCESS);
        assert_eq!(dtl_reduce(v.cast(), dtl_op::Sum as i32, (&mut sum as *mut i64).cast()), DTL_SUCCESS);
        assert_eq!(sum, 100);

        assert_eq!(dtl_vector_destroy(v), DTL_SUCCESS);
        assert!(!Environment::mpi_active(), "destroying the last object finalizes MPI");
        assert_eq!(dtl_context_create_world(&mut ctx), DTL_ERROR_BACKEND);
        assert!(ctx.is_null());
    }
}
