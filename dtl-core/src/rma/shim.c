/* The MPI handles that rsmpi's C shim does not export and that are not
 * link-time constants in every MPI implementation (in Open MPI they are
 * addresses of library globals, in MPICH integer constants). Compiled with
 * the MPI library's own mpicc by build.rs. */
#include <mpi.h>

MPI_Op dtl_mpi_op_replace(void) { return MPI_REPLACE; }
MPI_Op dtl_mpi_op_no_op(void) { return MPI_NO_OP; }
int dtl_mpi_mode_nosucceed(void) { return MPI_MODE_NOSUCCEED; }
