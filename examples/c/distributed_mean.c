/*
 * distributed_mean.c - the guide's distributed mean and dot product, checked.
 *
 * The C mirror of examples/python/distributed_mean.py and dot_product.py
 * (and of examples/rust/distributed_mean.rs). Shows the basic pattern:
 * create a block-partitioned vector, fill this rank's block through
 * dtl_container_local_data from global indices (dtl_container_local_offset
 * + l), reduce locally, then combine the partial results with dtl_allreduce.
 *
 *   - Mean: x[i] = (i mod 10) + 0.5 for i < N = 1,000,000; the mean is 5
 *     exactly (every partial sum is a multiple of 0.5 below 2^53, hence
 *     exact). Computed from a local sum and count with two dtl_allreduce
 *     calls, and with dtl_reduce; rank 0 also gathers the vector
 *     (dtl_container_gather) and averages it serially.
 *   - Dot product: a[i] = i, b[i] = 2, so a . b = N (N - 1) exactly; by a
 *     local loop plus dtl_allreduce, and by dtl_dot.
 *
 * Every result must be exact; a dtl_allreduce of the failure counts gives
 * every rank the verdict (exit status 1 if wrong).
 *
 * Build and run:  make -C examples/c run NPS="2 4"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtl.h"

enum { N = 1000000 };

static int rank = -1;
static int failures = 0;

#define TRY(call)                                                                    \
    do {                                                                             \
        dtl_status st_ = (call);                                                     \
        if (st_ != DTL_SUCCESS) {                                                    \
            fprintf(stderr, "[rank %d] %s:%d: %s -> %s: %s\n", rank, __FILE__,       \
                    __LINE__, #call, dtl_status_name(st_), dtl_last_error_message()); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define EXPECT_EQ(what, got, want)                                                       \
    do {                                                                                 \
        if ((got) != (want)) {                                                           \
            fprintf(stderr, "[rank %d] %s: got %.17g, want %.17g\n", rank, what,         \
                    (double)(got), (double)(want));                                      \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

static double x_of(uint64_t i) { return (double)(i % 10) + 0.5; }

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx)); /* collective; initializes MPI */
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    /* ---- distributed mean */
    dtl_vector_t x = NULL;
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, N, &x)); /* collective */
    uint64_t n_local = 0, off = 0;
    double *xs = NULL;
    TRY(dtl_container_local_size(x, &n_local));
    TRY(dtl_container_local_offset(x, &off));
    TRY(dtl_container_local_data(x, (void **)&xs));
    double local_sum = 0.0;
    for (uint64_t l = 0; l < n_local; l++) {
        xs[l] = x_of(off + l);
        local_sum += xs[l];
    }
    double local_count = (double)n_local, sum = 0.0, count = 0.0, reduced = 0.0;
    TRY(dtl_allreduce(ctx, &local_sum, &sum, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM)); /* collective */
    TRY(dtl_allreduce(ctx, &local_count, &count, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM));
    TRY(dtl_reduce(x, DTL_OP_SUM, &reduced)); /* collective */
    EXPECT_EQ("global count", count, (double)N);
    EXPECT_EQ("mean (allreduce)", sum / count, 5.0);
    EXPECT_EQ("mean (dtl_reduce)", reduced / N, 5.0);
    double *whole = rank == 0 ? malloc(sizeof(double) * N) : NULL;
    if (rank == 0 && !whole) return 1;
    TRY(dtl_container_gather(x, 0, whole, rank == 0 ? N : 0)); /* collective */
    if (rank == 0) {
        double serial = 0.0;
        for (int i = 0; i < N; i++) {
            EXPECT_EQ("gathered element", whole[i], x_of((uint64_t)i));
            serial += whole[i];
            if (failures) break;
        }
        EXPECT_EQ("mean (serial)", serial / N, 5.0);
        printf("mean of (i mod 10) + 0.5 over %d elements on %d rank(s): %.12f (allreduce), "
               "%.12f (dtl_reduce), %.12f (serial)\n", N, size, sum / count, reduced / N, serial / N);
        free(whole);
    }

    /* ---- dot product */
    dtl_vector_t a = NULL, b = NULL;
    double two = 2.0, dot_dtl = 0.0, dot = 0.0, local_dot = 0.0;
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, N, &a));
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, N, &b));
    TRY(dtl_container_fill(b, &two)); /* local: this rank's elements */
    double *as = NULL, *bs = NULL;
    TRY(dtl_container_local_data(a, (void **)&as));
    TRY(dtl_container_local_data(b, (void **)&bs));
    for (uint64_t l = 0; l < n_local; l++) { /* same block layout as x */
        as[l] = (double)(off + l);
        local_dot += as[l] * bs[l];
    }
    TRY(dtl_allreduce(ctx, &local_dot, &dot, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM));
    TRY(dtl_dot(a, b, &dot_dtl)); /* collective */
    double exact = (double)N * (double)(N - 1);
    EXPECT_EQ("dot (allreduce)", dot, exact);
    EXPECT_EQ("dot (dtl_dot)", dot_dtl, exact);
    if (rank == 0) printf("dot(i, 2) = %.0f (allreduce), %.0f (dtl_dot); N (N - 1) = %.0f\n", dot, dot_dtl, exact);

    int64_t mine = failures, bad = 0;
    TRY(dtl_allreduce(ctx, &mine, &bad, 1, DTL_DTYPE_INT64, DTL_OP_SUM));
    if (rank == 0) printf("distributed_mean: %s\n", bad == 0 ? "OK" : "WRONG");
    TRY(dtl_vector_destroy(a));
    TRY(dtl_vector_destroy(b));
    TRY(dtl_vector_destroy(x));
    TRY(dtl_context_destroy(ctx)); /* the last dtl object: finalizes MPI */
    return bad == 0 ? 0 : 1;
}
