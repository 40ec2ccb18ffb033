/*
 * monte_carlo_pi.c - pi from random points on every rank, reproducible, checked.
 *
 * The C mirror of examples/python/monte_carlo_pi.py. The N samples are
 * split over the ranks as a block partition splits N elements (rank r
 * draws n_r points, the first N mod size ranks one more); each rank counts
 * the points of the unit square inside the quarter circle, and
 * dtl_allreduce (MPI_Allreduce) adds the counts: pi ~= 4 hits / N.
 *
 * Reproducible per-rank streams: rank r draws from splitmix64 whose state
 * starts at stream_seed(r), so any process can regenerate any rank's points.
 *
 * Checks (rank 0 decides, dtl_broadcast gives every rank the verdict; exit
 * status 1 if wrong):
 *   - statistical: hits is Binomial(N, pi/4), so the estimate's variance is
 *     16 p (1 - p) / N; (estimate - pi)^2 must be at most 25 times that
 *     (within 5 standard deviations; no libm needed);
 *   - exact: rank 0 regenerates every rank's stream in one process and must
 *     find the same per-rank counts (dtl_gather) and the same total.
 *
 * Build and run:  make -C examples/c run NPS="2 4"   (or: monte_carlo_pi [N])
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtl.h"

static const double PI = 3.14159265358979323846;
static const uint64_t SEED = 20240611u;

static int rank = -1;

#define TRY(call)                                                                    \
    do {                                                                             \
        dtl_status st_ = (call);                                                     \
        if (st_ != DTL_SUCCESS) {                                                    \
            fprintf(stderr, "[rank %d] %s:%d: %s -> %s: %s\n", rank, __FILE__,       \
                    __LINE__, #call, dtl_status_name(st_), dtl_last_error_message()); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* splitmix64 (Steele, Lea and Flood, 2014): 64 random bits, advances *state. */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double uniform(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1.0p-53; }

/* The starting state of rank r's stream (a splitmix64 output). */
static uint64_t stream_seed(int r) {
    uint64_t s = SEED + (uint64_t)r * 0xD1B54A32D192ED03u;
    return splitmix64(&s);
}

/* Points drawn by rank r: n split as a block partition splits n elements. */
static uint64_t share(uint64_t n, int size, int r) {
    return n / (uint64_t)size + ((uint64_t)r < n % (uint64_t)size ? 1 : 0);
}

/* Hits among n points of the stream that starts at seed. */
static uint64_t count_hits(uint64_t seed, uint64_t n) {
    uint64_t s = seed, hits = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = uniform(&s), y = uniform(&s);
        hits += x * x + y * y < 1.0;
    }
    return hits;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000u;
    if (n == 0) {
        fprintf(stderr, "usage: monte_carlo_pi [N > 0]\n");
        return 2;
    }
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx)); /* collective; initializes MPI */
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    uint64_t local = count_hits(stream_seed(rank), share(n, size, rank)), hits = 0;
    TRY(dtl_allreduce(ctx, &local, &hits, 1, DTL_DTYPE_UINT64, DTL_OP_SUM)); /* collective */
    uint64_t *per_rank = rank == 0 ? malloc(sizeof(uint64_t) * (size_t)size) : NULL;
    if (rank == 0 && !per_rank) return 1;
    TRY(dtl_gather(ctx, &local, 1, per_rank, DTL_DTYPE_UINT64, 0)); /* collective */

    uint8_t verdict = 0;
    if (rank == 0) {
        double estimate = 4.0 * (double)hits / (double)n;
        double p = PI / 4.0, variance = 16.0 * p * (1.0 - p) / (double)n;
        double d = estimate - PI;
        int within = d * d <= 25.0 * variance;
        uint64_t serial_total = 0;
        int same = 1;
        for (int q = 0; q < size; q++) {
            uint64_t h = count_hits(stream_seed(q), share(n, size, q));
            serial_total += h;
            same = same && h == per_rank[q];
        }
        same = same && serial_total == hits;
        printf("pi ~= %.6f from %" PRIu64 " samples on %d rank(s)\n", estimate, n, size);
        printf("  (estimate - pi)^2 = %.2e, 25 variances = %.2e -> %s\n", d * d, 25.0 * variance,
               within ? "OK" : "WRONG");
        printf("  one-process recount of the same samples: %" PRIu64 " hits -> %s\n", serial_total,
               same ? "OK" : "WRONG");
        verdict = !(within && same);
        free(per_rank);
    }
    TRY(dtl_broadcast(ctx, &verdict, 1, DTL_DTYPE_UINT8, 0)); /* collective */
    TRY(dtl_context_destroy(ctx)); /* finalizes MPI */
    return verdict;
}
