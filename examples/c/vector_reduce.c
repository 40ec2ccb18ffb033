/*
 * vector_reduce.c - reductions over a distributed float64 vector.
 *
 * Fills a block-partitioned vector of N = 1,000,000 doubles through
 * dtl_container_local_data with x_i = 1 / (i+1)^2 (i the global index, from
 * dtl_container_local_offset), then:
 *   - dtl_reduce(SUM) and dtl_reduce_deterministic(SUM), compared with the
 *     closed form sum_{k=1..N} 1/k^2 = pi^2/6 - tail(N), where
 *     1/(N+1) < tail(N) < 1/N and tail(N) = 1/N - 1/(2N^2) + 1/(6N^3) - ...;
 *     the deterministic sum is checked bit for bit against the same call on
 *     a one-rank sub-context (dtl_context_split) holding the whole vector;
 *   - dtl_min_element / dtl_max_element: exactly 1/N^2 at N-1 and 1 at 0;
 *   - dtl_transform_reduce: the number of elements > 1e-6, as an int64
 *     (exactly 999: (i+1)^2 < 10^6);
 *   - the same vector with a cyclic layout (dtl_vector_create_with and a
 *     dtl_layout), filled through dtl_container_local_to_global: its
 *     deterministic sum is bit-identical to the block one.
 * Exits non-zero on any mismatch.
 *
 * Build and run:  make -C examples/c run NPS="1 2 3 4"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtl.h"

enum { N = 1000000 };
static const double PI = 3.14159265358979323846;

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

/* |v| (no libm needed). */
static double absd(double v) { return v < 0 ? -v : v; }

static double term(uint64_t i) {
    double k = (double)(i + 1);
    return 1.0 / (k * k);
}

/* dtl_transform_reduce callback: maps a double to an int64 0 or 1. */
static void above_threshold(const void *input, void *output, void *user_data) {
    double threshold = *(const double *)user_data;
    *(int64_t *)output = *(const double *)input > threshold ? 1 : 0;
}

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx));
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    /* Block layout (the default): local element i is global index offset + i. */
    dtl_vector_t x = NULL;
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, N, &x));
    uint64_t local = 0, offset = 0;
    TRY(dtl_container_local_size(x, &local));
    TRY(dtl_container_local_offset(x, &offset));
    void *raw = NULL;
    TRY(dtl_container_local_data(x, &raw));
    double *xs = raw;
    for (uint64_t i = 0; i < local; i++) {
        xs[i] = term(offset + i);
    }

    /* Sums. dtl_reduce adds each rank's part, then MPI_Allreduce: the last
     * bits depend on the number of ranks. dtl_reduce_deterministic does not. */
    double sum = 0.0, det = 0.0;
    TRY(dtl_reduce(x, DTL_OP_SUM, &sum));
    TRY(dtl_reduce_deterministic(x, DTL_OP_SUM, &det));
    const double pi2_6 = PI * PI / 6.0;
    const double n = (double)N;
    const double tail = 1.0 / n - 1.0 / (2.0 * n * n) + 1.0 / (6.0 * n * n * n);
    const double expected = pi2_6 - tail;
    EXPECT(absd(sum - expected) < 1e-12, "sum %.17g, expected %.17g", sum, expected);
    EXPECT(absd(det - expected) < 1e-12, "deterministic sum %.17g, expected %.17g", det, expected);
    /* The rigorous bound pi^2/6 - 1/N < S < pi^2/6 - 1/(N+1), up to rounding. */
    EXPECT(det > pi2_6 - 1.0 / n - 1e-13 && det < pi2_6 - 1.0 / (n + 1.0) + 1e-13,
           "deterministic sum %.17g outside the closed-form bound", det);

    /* The deterministic sum does not depend on the number of ranks: gather
     * the vector on rank 0 and sum it again on a one-rank context. */
    double *all = NULL;
    if (rank == 0) {
        all = malloc(N * sizeof *all);
        EXPECT(all != NULL, "out of memory");
    }
    TRY(dtl_container_gather(x, 0, all, rank == 0 ? N : 0));
    dtl_context_t solo = NULL; /* rank 0 alone; NULL on the other ranks */
    TRY(dtl_context_split(ctx, rank == 0 ? 0 : -1, 0, &solo));
    if (rank == 0) {
        dtl_vector_t y = NULL;
        TRY(dtl_vector_from_local(solo, DTL_DTYPE_FLOAT64, all, N, NULL, &y));
        double det1 = 0.0;
        TRY(dtl_reduce_deterministic(y, DTL_OP_SUM, &det1));
        EXPECT(memcmp(&det1, &det, sizeof det) == 0,
               "deterministic sum %.17g on %d ranks, %.17g on 1", det, (int)size, det1);
        TRY(dtl_vector_destroy(y));
        TRY(dtl_context_destroy(solo));
        free(all);
    }

    /* Extremes, with their global indices: exact. */
    double vmin = 0.0, vmax = 0.0;
    uint64_t imin = 0, imax = 0;
    int32_t found_min = 0, found_max = 0;
    TRY(dtl_min_element(x, &vmin, &imin, &found_min));
    TRY(dtl_max_element(x, &vmax, &imax, &found_max));
    EXPECT(found_min && vmin == term(N - 1) && imin == N - 1, "min %.17g at %" PRIu64, vmin, imin);
    EXPECT(found_max && vmax == 1.0 && imax == 0, "max %.17g at %" PRIu64, vmax, imax);

    /* Map-reduce into another dtype: count of x_i > 1e-6 as an int64 sum. */
    double threshold = 1e-6;
    int64_t big = -1;
    TRY(dtl_transform_reduce(x, above_threshold, &threshold, DTL_DTYPE_INT64, DTL_OP_SUM, &big));
    EXPECT(big == 999, "count of x > 1e-6: %" PRId64 ", expected 999", big);

    /* A cyclic layout: global index i lives on rank i % size, local index
     * i / size. Local elements are no longer a contiguous global range, so
     * map each local index to its global index. */
    dtl_layout cyclic = {0};
    cyclic.partition = DTL_PARTITION_CYCLIC;
    const double zero = 0.0;
    dtl_vector_t c = NULL;
    TRY(dtl_vector_create_with(ctx, DTL_DTYPE_FLOAT64, N, &cyclic, &zero, &c));
    dtl_partition part = -1;
    TRY(dtl_container_partition(c, &part));
    EXPECT(part == DTL_PARTITION_CYCLIC, "partition %d", (int)part);
    int32_t owner = -1;
    TRY(dtl_container_owner(c, 5, &owner));
    EXPECT(owner == 5 % size, "owner of 5: %d", (int)owner);
    uint64_t clocal = 0;
    TRY(dtl_container_local_size(c, &clocal));
    TRY(dtl_container_local_data(c, &raw));
    double *cs = raw;
    for (uint64_t i = 0; i < clocal; i++) {
        uint64_t g = 0;
        TRY(dtl_container_local_to_global(c, i, &g));
        cs[i] = term(g);
    }
    double cdet = 0.0, csum = 0.0;
    TRY(dtl_reduce_deterministic(c, DTL_OP_SUM, &cdet));
    TRY(dtl_reduce(c, DTL_OP_SUM, &csum));
    EXPECT(memcmp(&cdet, &det, sizeof det) == 0, "cyclic deterministic sum %.17g, block %.17g", cdet, det);
    EXPECT(absd(csum - expected) < 1e-12, "cyclic sum %.17g", csum);

    if (rank == 0) {
        printf("vector_reduce on %d rank(s), N = %d, x_i = 1/(i+1)^2\n", (int)size, N);
        printf("  dtl_reduce(SUM)               %.17g\n", sum);
        printf("  dtl_reduce_deterministic(SUM) %.17g\n", det);
        printf("  pi^2/6 - tail(N)              %.17g  (|diff| %.2g, %.2g)\n", expected,
               absd(sum - expected), absd(det - expected));
        printf("  min %.6g at %" PRIu64 ", max %.6g at %" PRIu64 ", count(x > 1e-6) = %" PRId64 "\n", vmin,
               imin, vmax, imax, big);
        printf("  cyclic layout: deterministic sum %s, dtl_reduce %.17g\n",
               memcmp(&cdet, &det, sizeof det) == 0 ? "bit-identical" : "DIFFERENT", csum);
    }

    int32_t all_failures = 0;
    TRY(dtl_allreduce(ctx, &failures, &all_failures, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    TRY(dtl_vector_destroy(c));
    TRY(dtl_vector_destroy(x));
    TRY(dtl_context_destroy(ctx));
    if (all_failures == 0) {
        if (rank == 0) {
            printf("vector_reduce: all checks passed on %d rank(s)\n", (int)size);
        }
        return 0;
    }
    fprintf(stderr, "[rank %d] vector_reduce: %d check(s) failed here, %d on all ranks\n", rank, failures,
            (int)all_failures);
    return 1;
}
