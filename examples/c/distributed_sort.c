/*
 * distributed_sort.c - a distributed sample sort and order statistics.
 *
 * Every rank draws LOCAL_N pseudo-random int64 values (splitmix64 seeded by
 * its rank, values in [0, 2^40)) and the ranks build one vector from their
 * local parts (dtl_vector_from_local). dtl_sort sorts it globally; the
 * program checks:
 *   - dtl_is_sorted before (0) and after (1) the sort;
 *   - the multiset is preserved: element count, wrapping sum (dtl_reduce
 *     SUM) and xor (dtl_reduce BXOR) of all values are the same before and
 *     after, and equal the same quantities computed from the local inputs
 *     with dtl_allreduce;
 *   - the median (dtl_median) and the 10th / 90th percentiles
 *     (dtl_percentile) against numpy's definition (linear interpolation)
 *     evaluated on elements of the sorted vector read with dtl_container_get,
 *     and dtl_nth_element against the same elements.
 * Then a float64 vector (dtl_generate, plus one NaN written with
 * dtl_container_set) is sorted in descending order: NaN last, the first
 * element is the dtl_max_element found before the NaN was written.
 * Exits non-zero on any mismatch.
 *
 * Build and run:  make -C examples/c run NPS="1 2 3 4"
 */
#include <inttypes.h>
#include <math.h> /* NAN */
#include <stdio.h>
#include <stdlib.h>

#include "dtl.h"

enum { LOCAL_N = 200000, FLOAT_N = 100000 };

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

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double absd(double v) { return v < 0 ? -v : v; }

/* Element k of the sorted vector, whichever rank holds it (one-sided get). */
static double sorted_at(dtl_vector_t v, uint64_t k) {
    int64_t value = 0;
    TRY(dtl_container_get(v, k, &value));
    return (double)value;
}

/* numpy.percentile(x, q) (linear interpolation) of the sorted vector v. */
static double reference_percentile(dtl_vector_t v, uint64_t n, double q) {
    double pos = q / 100.0 * (double)(n - 1);
    uint64_t lo = (uint64_t)pos;
    double frac = pos - (double)lo;
    double a = sorted_at(v, lo);
    double b = lo + 1 < n ? sorted_at(v, lo + 1) : a;
    return a + (b - a) * frac;
}

/* dtl_generate callback for the float64 vector: a pseudo-random value in
 * [-1, 1) from the global index. */
static void float_value(uint64_t index, void *elem, void *user_data) {
    (void)user_data;
    uint64_t s = index;
    *(double *)elem = (double)(splitmix64(&s) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
}

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx));
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    /* Local inputs, and their count, wrapping sum and xor over all ranks
     * computed independently of the vector (uint64 arithmetic wraps in C). */
    int64_t *mine = malloc(LOCAL_N * sizeof *mine);
    EXPECT(mine != NULL, "out of memory");
    if (mine == NULL) {
        exit(1);
    }
    uint64_t state = 0x5EED0000ull + (uint64_t)rank;
    uint64_t in_stats[2] = {0, 0}; /* sum, xor */
    for (uint64_t i = 0; i < LOCAL_N; i++) {
        mine[i] = (int64_t)(splitmix64(&state) >> 24); /* [0, 2^40) */
        in_stats[0] += (uint64_t)mine[i];
        in_stats[1] ^= (uint64_t)mine[i];
    }
    uint64_t want_sum = 0, want_xor = 0;
    TRY(dtl_allreduce(ctx, &in_stats[0], &want_sum, 1, DTL_DTYPE_UINT64, DTL_OP_SUM));
    TRY(dtl_allreduce(ctx, &in_stats[1], &want_xor, 1, DTL_DTYPE_UINT64, DTL_OP_BXOR));

    /* The global vector: the ranks' parts concatenated in rank order
     * (copied; then laid out by blocks). */
    dtl_vector_t v = NULL;
    TRY(dtl_vector_from_local(ctx, DTL_DTYPE_INT64, mine, LOCAL_N, NULL, &v));
    free(mine);
    uint64_t n = 0;
    TRY(dtl_container_global_size(v, &n));
    EXPECT(n == (uint64_t)LOCAL_N * (uint64_t)size, "global size %" PRIu64, n);

    int64_t sum_before = 0, xor_before = 0;
    TRY(dtl_reduce(v, DTL_OP_SUM, &sum_before));
    TRY(dtl_reduce(v, DTL_OP_BXOR, &xor_before));
    EXPECT((uint64_t)sum_before == want_sum && (uint64_t)xor_before == want_xor, "reduce of the inputs");
    int32_t sorted = -1;
    TRY(dtl_is_sorted(v, 0, &sorted));
    EXPECT(sorted == 0, "random input reported sorted");

    TRY(dtl_sort(v, 0)); /* ascending */

    TRY(dtl_is_sorted(v, 0, &sorted));
    EXPECT(sorted == 1, "not sorted after dtl_sort");
    uint64_t n_after = 0;
    TRY(dtl_container_global_size(v, &n_after));
    int64_t sum_after = 0, xor_after = 0;
    TRY(dtl_reduce(v, DTL_OP_SUM, &sum_after));
    TRY(dtl_reduce(v, DTL_OP_BXOR, &xor_after));
    EXPECT(n_after == n, "size %" PRIu64 " after sort", n_after);
    EXPECT(sum_after == sum_before, "sum %" PRId64 " before, %" PRId64 " after", sum_before, sum_after);
    EXPECT(xor_after == xor_before, "xor %" PRId64 " before, %" PRId64 " after", xor_before, xor_after);

    /* The local part is sorted too, and is this rank's block of the result. */
    uint64_t local = 0;
    TRY(dtl_container_local_size(v, &local));
    void *raw = NULL;
    TRY(dtl_container_local_data(v, &raw));
    const int64_t *xs = raw;
    for (uint64_t i = 1; i < local; i++) {
        if (xs[i - 1] > xs[i]) {
            EXPECT(0, "local part unsorted at %" PRIu64, i);
            break;
        }
    }

    /* Order statistics, checked against elements of the sorted vector. */
    double median = 0.0, p10 = 0.0, p90 = 0.0;
    TRY(dtl_median(v, &median));
    TRY(dtl_percentile(v, 10.0, &p10));
    TRY(dtl_percentile(v, 90.0, &p90));
    double want_median = (sorted_at(v, n / 2 - 1) + sorted_at(v, n / 2)) / 2.0; /* n is even */
    double want_p10 = reference_percentile(v, n, 10.0);
    double want_p90 = reference_percentile(v, n, 90.0);
    EXPECT(median == want_median, "median %.17g, expected %.17g", median, want_median);
    EXPECT(absd(p10 - want_p10) <= 1e-12 * want_p10, "p10 %.17g, expected %.17g", p10, want_p10);
    EXPECT(absd(p90 - want_p90) <= 1e-12 * want_p90, "p90 %.17g, expected %.17g", p90, want_p90);
    int64_t nth = -1;
    TRY(dtl_nth_element(v, n / 2, &nth));
    EXPECT((double)nth == sorted_at(v, n / 2), "nth_element(n/2) %" PRId64, nth);
    /* Uniform on [0, 2^40): the median is near 2^39. */
    const double half = 549755813888.0;
    EXPECT(absd(median - half) < 0.01 * half, "median %.17g far from 2^39", median);

    /* Descending sort of a float64 vector with one NaN (sorted last). */
    dtl_vector_t f = NULL;
    TRY(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, FLOAT_N, &f));
    TRY(dtl_generate(f, float_value, NULL));
    double fmax = 0.0;
    uint64_t imax = 0;
    int32_t found = 0;
    TRY(dtl_max_element(f, &fmax, &imax, &found));
    EXPECT(found && imax != 7, "max at %" PRIu64, imax);
    /* One NaN at index 7, written by rank 0 into whichever rank owns it
     * (one-sided); the owner sees it after the next synchronization. */
    if (rank == 0) {
        const double nan = NAN;
        TRY(dtl_container_set(f, 7, &nan));
    }
    TRY(dtl_context_barrier(ctx));
    TRY(dtl_sort(f, 1));
    TRY(dtl_is_sorted(f, 1, &sorted));
    EXPECT(sorted == 1, "float vector not sorted descending");
    double first = 0.0, second = 0.0, last = 0.0;
    TRY(dtl_container_get(f, 0, &first));
    TRY(dtl_container_get(f, 1, &second));
    TRY(dtl_container_get(f, FLOAT_N - 1, &last));
    EXPECT(found && first == fmax && second <= first, "first %.17g, max %.17g", first, fmax);
    EXPECT(last != last, "last element %.17g, expected NaN", last);

    if (rank == 0) {
        printf("distributed_sort on %d rank(s): %" PRIu64 " int64 values (%d per rank)\n", (int)size, n,
               LOCAL_N);
        printf("  sorted: yes; count, sum (%" PRId64 ") and xor (%#" PRIx64 ") preserved\n", sum_after,
               (uint64_t)xor_after);
        printf("  p10 %.1f  median %.1f  p90 %.1f  (2^39 = %.0f)\n", p10, median, p90, half);
        printf("  float64 descending: first %.6f (= max), last %f\n", first, last);
    }

    int32_t all_failures = 0;
    TRY(dtl_allreduce(ctx, &failures, &all_failures, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    TRY(dtl_vector_destroy(f));
    TRY(dtl_vector_destroy(v));
    TRY(dtl_context_destroy(ctx));
    if (all_failures == 0) {
        if (rank == 0) {
            printf("distributed_sort: all checks passed on %d rank(s)\n", (int)size);
        }
        return 0;
    }
    fprintf(stderr, "[rank %d] distributed_sort: %d check(s) failed here, %d on all ranks\n", rank, failures,
            (int)all_failures);
    return 1;
}
