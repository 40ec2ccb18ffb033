/*
 * error_handling.c - how the dtl C API reports errors, especially in
 * collective calls where the ranks disagree. Every case below would hang or
 * corrupt memory in plain MPI; with dtl every rank gets an error status and
 * the program goes on. Exits non-zero if any status differs from the
 * documented one.
 *
 * Run:  make -C examples/c run NPS="1 2 3"
 */
#include <stdio.h>
#include <string.h>

#include "dtl.h"

static int rank = -1, size = 0, failures = 0;

/* Checks that `call` returned `want` (a dtl_status). */
#define EXPECT_STATUS(call, want)                                                                    \
    do {                                                                                             \
        dtl_status got_ = (call);                                                                    \
        if (got_ != (want)) {                                                                        \
            fprintf(stderr, "[rank %d] line %d: %s gave %s, expected %s (last error: %s)\n", rank,    \
                    __LINE__, #call, dtl_status_name(got_), dtl_status_name(want),                   \
                    dtl_last_error_message());                                                       \
            failures++;                                                                              \
        }                                                                                            \
    } while (0)

int main(void) {
    /* dtl_init keeps MPI up until dtl_finalize, whatever handles come and go. */
    EXPECT_STATUS(dtl_init(), DTL_SUCCESS);
    dtl_context_t ctx = NULL;
    EXPECT_STATUS(dtl_context_create_world(&ctx), DTL_SUCCESS);
    EXPECT_STATUS(dtl_context_rank(ctx, &rank), DTL_SUCCESS);
    EXPECT_STATUS(dtl_context_size(ctx, &size), DTL_SUCCESS);
    /* An argument invalid on some ranks only: those ranks report it, and the
     * others get an error of the same kind (DTL_ERROR_INVALID_ARGUMENT) from
     * the agreement step, so every rank returns the same status. */
    const dtl_status disagree = DTL_ERROR_INVALID_ARGUMENT;
    const int last = size - 1;

    /* Local errors: no communication involved. */
    EXPECT_STATUS(dtl_context_rank(NULL, &rank), DTL_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(dtl_context_rank(ctx, NULL), DTL_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(dtl_finalize(), DTL_SUCCESS);
    EXPECT_STATUS(dtl_init(), DTL_SUCCESS); /* holds nest */

    /* The same invalid dtype on every rank: DTL_ERROR_INVALID_ARGUMENT everywhere. */
    dtl_vector_t v = NULL;
    EXPECT_STATUS(dtl_vector_create(ctx, 42, 10, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* An invalid dtype on the last rank only: everyone gets DTL_ERROR_INVALID_ARGUMENT. */
    EXPECT_STATUS(dtl_vector_create(ctx, rank == last ? 42 : DTL_DTYPE_INT32, 10, &v), disagree);
    /* A NULL out on rank 0 only. */
    EXPECT_STATUS(dtl_vector_create(ctx, DTL_DTYPE_INT32, 10, rank == 0 ? NULL : &v), disagree);
    /* Different sizes (all valid): DTL_ERROR_MISMATCH (a size-1 world agrees). */
    EXPECT_STATUS(dtl_vector_create(ctx, DTL_DTYPE_INT32, 10 + (uint64_t)rank, &v),
                  size > 1 ? DTL_ERROR_MISMATCH : DTL_SUCCESS);
    if (size == 1) {
        EXPECT_STATUS(dtl_vector_destroy(v), DTL_SUCCESS);
    }
    EXPECT_STATUS(dtl_vector_create(ctx, DTL_DTYPE_INT32, 10, &v), DTL_SUCCESS);

    /* Reductions: invalid op on one rank, float-only op mismatch, NULL result. */
    int32_t result = 0;
    EXPECT_STATUS(dtl_reduce(v, rank == last ? -3 : DTL_OP_SUM, &result), disagree);
    EXPECT_STATUS(dtl_reduce(v, DTL_OP_SUM, rank == 0 ? NULL : &result), disagree);
    EXPECT_STATUS(dtl_reduce(v, rank == 0 ? DTL_OP_MIN : DTL_OP_MAX, &result),
                  size > 1 ? DTL_ERROR_MISMATCH : DTL_SUCCESS);
    EXPECT_STATUS(dtl_reduce(v, DTL_OP_BXOR, &result), DTL_SUCCESS);

    /* Resize to different sizes. */
    EXPECT_STATUS(dtl_vector_resize(v, 5 + (uint64_t)rank), size > 1 ? DTL_ERROR_MISMATCH : DTL_SUCCESS);
    EXPECT_STATUS(dtl_vector_resize(v, 7), DTL_SUCCESS);

    /* dtl_allreduce on caller buffers. */
    double x = 1.0, y = 0.0, xs[4] = {1, 2, 3, 4}, ys[4];
    EXPECT_STATUS(dtl_allreduce(ctx, &x, &y, 1, DTL_DTYPE_FLOAT64, DTL_OP_BAND), DTL_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(dtl_allreduce(ctx, &x, &y, 1, rank == last ? 99 : DTL_DTYPE_FLOAT64, DTL_OP_SUM), disagree);
    EXPECT_STATUS(dtl_allreduce(ctx, &x, &y, 1, DTL_DTYPE_FLOAT64, rank == last ? DTL_OP_LAND : DTL_OP_SUM),
                  disagree);
    EXPECT_STATUS(dtl_allreduce(ctx, rank == 0 ? NULL : &x, &y, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM), disagree);
    /* Different counts (checked before any buffer is touched). */
    EXPECT_STATUS(dtl_allreduce(ctx, xs, ys, 1 + (uint64_t)(rank % 4), DTL_DTYPE_FLOAT64, DTL_OP_SUM),
                  size > 1 ? DTL_ERROR_MISMATCH : DTL_SUCCESS);
    EXPECT_STATUS(dtl_allreduce(ctx, &x, &x, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM), DTL_SUCCESS); /* in place */
    if (x != (double)size) {
        fprintf(stderr, "[rank %d] in-place allreduce gave %g, expected %d\n", rank, x, size);
        failures++;
    }

    /* dup and split with a NULL out on rank 0: the others still get their context. */
    dtl_context_t d = NULL, s = NULL;
    EXPECT_STATUS(dtl_context_dup(ctx, rank == 0 ? NULL : &d), rank == 0 ? DTL_ERROR_INVALID_ARGUMENT : DTL_SUCCESS);
    if (rank != 0) {
        EXPECT_STATUS(dtl_context_destroy(d), DTL_SUCCESS);
    }
    EXPECT_STATUS(dtl_context_split(ctx, rank % 2, 0, rank == 0 ? NULL : &s),
                  rank == 0 ? DTL_ERROR_INVALID_ARGUMENT : DTL_SUCCESS);
    if (rank != 0) {
        int32_t sub_size = 0;
        EXPECT_STATUS(dtl_context_size(s, &sub_size), DTL_SUCCESS);
        int32_t want = rank % 2 == 0 ? (size + 1) / 2 - 1 : size / 2; /* rank 0 left group 0 */
        if (sub_size != want) {
            fprintf(stderr, "[rank %d] sub-context size %d, expected %d\n", rank, sub_size, want);
            failures++;
        }
        EXPECT_STATUS(dtl_context_destroy(s), DTL_SUCCESS);
    }

    /* Handles: double destroy and use after destroy are detected. */
    EXPECT_STATUS(dtl_vector_destroy(v), DTL_SUCCESS);
    EXPECT_STATUS(dtl_vector_destroy(v), DTL_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(dtl_vector_resize(v, 3), DTL_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(dtl_context_barrier((dtl_context_t)v), DTL_ERROR_INVALID_ARGUMENT);

    int32_t all = 0;
    EXPECT_STATUS(dtl_allreduce(ctx, &failures, &all, 1, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_SUCCESS);
    EXPECT_STATUS(dtl_context_destroy(ctx), DTL_SUCCESS);
    EXPECT_STATUS(dtl_finalize(), DTL_SUCCESS); /* MPI_Finalize here */
    EXPECT_STATUS(dtl_finalize(), DTL_ERROR_INVALID_STATE);
    EXPECT_STATUS(dtl_context_create_world(&ctx), DTL_ERROR_BACKEND); /* MPI is gone for good */

    if (failures == 0 && all == 0) {
        if (rank == 0) {
            printf("error_handling: all checks passed on %d rank(s)\n", size);
        }
        return 0;
    }
    fprintf(stderr, "[rank %d] error_handling: %d check(s) failed\n", rank, failures);
    return 1;
}
