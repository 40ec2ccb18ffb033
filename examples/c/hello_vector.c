/*
 * hello_vector.c - the dtl C API in one page.
 *
 * Creates a world context, a distributed float64 vector of 1000 elements
 * whose element i holds i, reduces it (sum = 999 * 1000 / 2), uses the
 * collective dtl_allreduce on scalars, wraps an MPI communicator, resizes the
 * vector, and exercises the error paths (invalid dtype, disagreeing
 * collective arguments, double destroy). Exits non-zero on any mismatch.
 *
 * Build and run:  make -C examples/c run NPS="1 2 4"
 *
 * dtl initializes MPI on the first context and, as this program never calls
 * dtl_init(), finalizes it when the last context or vector is destroyed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h> /* only for dtl_context_create_from_comm; dtl.h needs no mpi.h */

#include "dtl.h"

static int rank = -1;
static int failures = 0;

/* A dtl call that must succeed; on failure, report and exit (mpirun then
 * ends the other ranks). */
#define TRY(call)                                                                    \
    do {                                                                             \
        dtl_status st_ = (call);                                                     \
        if (st_ != DTL_SUCCESS) {                                                    \
            fprintf(stderr, "[rank %d] %s:%d: %s -> %s: %s\n", rank, __FILE__,       \
                    __LINE__, #call, dtl_status_name(st_), dtl_last_error_message()); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* A check that must hold; on failure, report and count. */
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "[rank %d] %s:%d: check failed: %s: ", rank,       \
                    __FILE__, __LINE__, #cond);                                \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(void) {
    const uint64_t n = 1000;
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx)); /* initializes MPI: collective */

    int32_t size = 0, r = -1;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;
    printf("hello from rank %d of %d (dtl %s)\n", rank, size, dtl_version_string());
    fflush(stdout);

    /* A float64 vector of n elements; element i := i, written locally. */
    dtl_vector_t vec = NULL;
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, n, &vec));
    uint64_t global = 0, local = 0, offset = 0;
    dtl_dtype dtype = -1;
    TRY(dtl_container_global_size(vec, &global));
    TRY(dtl_container_local_size(vec, &local));
    TRY(dtl_container_local_offset(vec, &offset));
    TRY(dtl_container_dtype(vec, &dtype));
    EXPECT(global == n, "global size %" PRIu64, global);
    EXPECT(dtype == DTL_DTYPE_FLOAT64, "dtype %d", (int)dtype);
    void *raw = NULL;
    TRY(dtl_container_local_data(vec, &raw));
    double *x = raw;
    for (uint64_t i = 0; i < local; i++) {
        x[i] = (double)(offset + i);
    }

    /* Collective reduction of the whole vector: exact for these integers. */
    double sum = -1.0;
    TRY(dtl_reduce(vec, DTL_OP_SUM, &sum));
    EXPECT(sum == 999.0 * 1000.0 / 2.0, "sum %.17g, expected 499500", sum);
    double max = -1.0;
    TRY(dtl_reduce(vec, DTL_OP_MAX, &max));
    EXPECT(max == 999.0, "max %.17g", max);

    /* dtl_allreduce on scalars: the local sizes add up to n, and the ranks to
     * size * (size - 1) / 2. */
    uint64_t total = 0;
    TRY(dtl_allreduce(ctx, &local, &total, 1, DTL_DTYPE_UINT64, DTL_OP_SUM));
    EXPECT(total == n, "sum of local sizes %" PRIu64, total);
    int32_t rank_sum = 0;
    TRY(dtl_allreduce(ctx, &r, &rank_sum, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    EXPECT(rank_sum == size * (size - 1) / 2, "sum of ranks %d", (int)rank_sum);

    /* A context over a communicator of the caller's (here MPI_COMM_WORLD,
     * usable because dtl initialized MPI). */
    MPI_Comm comm = MPI_COMM_WORLD;
    dtl_context_t wrapped = NULL;
    TRY(dtl_context_create_from_comm(&comm, &wrapped));
    int32_t wrapped_size = 0;
    TRY(dtl_context_size(wrapped, &wrapped_size));
    EXPECT(wrapped_size == size, "wrapped size %d", (int)wrapped_size);
    TRY(dtl_context_barrier(wrapped));
    TRY(dtl_context_destroy(wrapped));

    /* Error path: an invalid dtype is rejected on every rank, and *out is NULL. */
    dtl_vector_t bad = vec;
    dtl_status st = dtl_vector_create(ctx, 42, 10, &bad);
    EXPECT(st == DTL_ERROR_INVALID_ARGUMENT, "dtype 42 gave %s", dtl_status_name(st));
    EXPECT(strcmp(dtl_status_name(st), "DTL_ERROR_INVALID_ARGUMENT") == 0, "name %s", dtl_status_name(st));
    EXPECT(bad == NULL, "a failed create leaves *out = NULL");
    EXPECT(strstr(dtl_last_error_message(), "got 42") != NULL, "message: %s", dtl_last_error_message());
    if (rank == 0) {
        printf("expected error: %s (%s): %s\n", dtl_status_name(st), dtl_status_message(st),
               dtl_last_error_message());
    }

    /* Error path: ranks that disagree in a collective all get an error instead
     * of hanging: rank 0 passes an invalid op, the others DTL_OP_SUM; every
     * rank returns DTL_ERROR_INVALID_ARGUMENT. */
    st = dtl_reduce(vec, rank == 0 ? 42 : DTL_OP_SUM, &sum);
    EXPECT(st == DTL_ERROR_INVALID_ARGUMENT, "disagreeing reduce gave %s", dtl_status_name(st));

    /* Collective resize keeps the first elements in global order. */
    TRY(dtl_vector_resize(vec, 10));
    TRY(dtl_reduce(vec, DTL_OP_SUM, &sum));
    EXPECT(sum == 45.0, "sum after resize %.17g, expected 45", sum);

    /* Every rank agrees on the outcome before exiting. */
    int32_t all_failures = 0;
    TRY(dtl_allreduce(ctx, &failures, &all_failures, 1, DTL_DTYPE_INT32, DTL_OP_SUM));

    TRY(dtl_vector_destroy(vec));
    st = dtl_vector_destroy(vec); /* double destroy: detected, harmless */
    EXPECT(st == DTL_ERROR_INVALID_ARGUMENT, "double destroy gave %s", dtl_status_name(st));
    TRY(dtl_context_destroy(ctx)); /* last dtl object: dtl finalizes MPI */

    if (failures == 0 && all_failures == 0) {
        if (rank == 0) {
            printf("hello_vector: all checks passed on %d rank(s)\n", size);
        }
        return 0;
    }
    fprintf(stderr, "[rank %d] hello_vector: %d check(s) failed here, %d on all ranks\n", rank, failures,
            (int)all_failures);
    return 1;
}
