/*
 * stencil_halo.c - a 2-D Jacobi (heat) stencil on a distributed tensor.
 *
 * The field is an H x W float64 dtl_tensor split by blocks of rows (axis 0).
 * Around it is a fixed (Dirichlet) boundary: 1.0 beyond the top edge, 0.0
 * beyond the other three. Each iteration:
 *   - dtl_local_padded gives this rank's block with one ghost cell on every
 *     side: ghost rows inside the field come from the neighbouring ranks (a
 *     halo exchange), cells outside it hold the constant 0.0
 *     (DTL_BOUNDARY_CONSTANT); the rank holding row 0 then sets its top
 *     ghost row to 1.0;
 *   - the new block u = (up + down + left + right) / 4 is written straight
 *     into the tensor (dtl_container_local_data), and |u - old| into a second
 *     tensor of the same layout;
 *   - convergence: the local max of |u - old|, then dtl_allreduce(MAX)
 *     (equal to dtl_reduce(MAX) over the second tensor, checked at the end).
 * It stops when the change is below TOL (or after MAX_ITERS). Rank 0 then
 * gathers the field (dtl_container_gather) and runs the same Jacobi
 * iterations serially in plain C, with the same arithmetic in the same
 * order: the fields must be bitwise identical, at any number of ranks.
 * dtl_halo_exchange is checked against the ghost rows of dtl_local_padded.
 * Exits non-zero on any mismatch.
 *
 * Build and run:  make -C examples/c run NPS="1 2 3 4"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtl.h"

enum { H = 64, W = 48, MAX_ITERS = 5000 };
static const double TOL = 1e-4;
static const double TOP = 1.0; /* boundary value above row 0 */

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

static double absd(double v) { return v < 0 ? -v : v; }

/* One Jacobi sweep over rows x W cells: p is the padded input, (rows + 2) x
 * (W + 2); u and d receive the new values and |new - old|, rows x W. Returns
 * the largest change. The serial reference uses this same function. */
static double sweep(const double *p, uint64_t rows, double *u, double *d) {
    const uint64_t pw = W + 2;
    double delta = 0.0;
    for (uint64_t i = 0; i < rows; i++) {
        for (uint64_t j = 0; j < W; j++) {
            const double *c = p + (i + 1) * pw + (j + 1);
            double v = 0.25 * (c[-(int64_t)pw] + c[pw] + c[-1] + c[1]);
            double change = absd(v - *c);
            u[i * W + j] = v;
            d[i * W + j] = change;
            if (change > delta) {
                delta = change;
            }
        }
    }
    return delta;
}

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx));
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    /* The field (zero) and the per-cell change, both H x W split along rows. */
    const uint64_t shape[2] = {H, W};
    dtl_tensor_t field = NULL, change = NULL;
    TRY(dtl_tensor_create(ctx, DTL_DTYPE_FLOAT64, 2, shape, &field));
    TRY(dtl_tensor_create(ctx, DTL_DTYPE_FLOAT64, 2, shape, &change));
    uint64_t local_shape[2] = {0, 0}, first_row = 0;
    TRY(dtl_tensor_local_shape(field, local_shape, 2));
    TRY(dtl_container_local_offset(field, &first_row));
    const uint64_t rows = local_shape[0];
    void *raw = NULL;
    TRY(dtl_container_local_data(field, &raw));
    double *u = raw;
    TRY(dtl_container_local_data(change, &raw));
    double *d = raw;

    /* This rank's block with one ghost cell on each side of both axes. */
    const uint64_t widths[4] = {1, 1, 1, 1};
    const uint64_t padded_n = (rows + 2) * (W + 2);
    double *padded = malloc(padded_n * sizeof *padded);
    EXPECT(padded != NULL, "out of memory");
    if (padded == NULL) {
        exit(1);
    }
    const double outside = 0.0;

    int iters = 0;
    double delta = 0.0;
    do {
        TRY(dtl_local_padded(field, widths, 4, DTL_BOUNDARY_CONSTANT, &outside, padded, padded_n));
        if (first_row == 0 && rows > 0) {
            for (uint64_t j = 0; j < W + 2; j++) {
                padded[j] = TOP; /* the ghost row above global row 0 */
            }
        }
        double local_delta = sweep(padded, rows, u, d);
        TRY(dtl_allreduce(ctx, &local_delta, &delta, 1, DTL_DTYPE_FLOAT64, DTL_OP_MAX));
        iters++;
    } while (delta >= TOL && iters < MAX_ITERS);
    EXPECT(delta < TOL, "no convergence after %d iterations (change %g)", iters, delta);

    /* The same convergence measure as a reduction over a tensor. */
    double reduced = -1.0;
    TRY(dtl_reduce(change, DTL_OP_MAX, &reduced));
    EXPECT(reduced == delta, "dtl_reduce(MAX) %.17g, allreduce %.17g", reduced, delta);

    /* dtl_halo_exchange returns the neighbours' rows: the same as the ghost
     * rows of dtl_local_padded (columns 1 .. W of padded rows 0 and rows+1). */
    TRY(dtl_local_padded(field, widths, 4, DTL_BOUNDARY_CONSTANT, &outside, padded, padded_n));
    double below[W], above[W];
    uint64_t n_below = 9, n_above = 9;
    TRY(dtl_halo_exchange(field, 1, 1, 0, below, W, &n_below, above, W, &n_above));
    EXPECT(n_below == (rows > 0 && first_row > 0 ? 1u : 0u), "lower halo rows %" PRIu64, n_below);
    EXPECT(n_above == (rows > 0 && first_row + rows < H ? 1u : 0u), "upper halo rows %" PRIu64, n_above);
    if (n_below == 1) {
        EXPECT(memcmp(below, padded + 1, W * sizeof(double)) == 0, "lower halo differs from padded");
    }
    if (n_above == 1) {
        EXPECT(memcmp(above, padded + (rows + 1) * (W + 2) + 1, W * sizeof(double)) == 0,
               "upper halo differs from padded");
    }

    /* Rank 0: gather the field and compare with a serial run. */
    double *gathered = NULL;
    if (rank == 0) {
        gathered = malloc(H * W * sizeof *gathered);
        EXPECT(gathered != NULL, "out of memory");
    }
    TRY(dtl_container_gather(field, 0, gathered, rank == 0 ? H * W : 0));
    if (rank == 0 && gathered != NULL) {
        static double p[(H + 2) * (W + 2)], s[H * W], sd[H * W];
        memset(p, 0, sizeof p);
        for (int j = 0; j < W + 2; j++) {
            p[j] = TOP;
        }
        double serial_delta = 0.0;
        for (int it = 0; it < iters; it++) {
            serial_delta = sweep(p, H, s, sd);
            for (int i = 0; i < H; i++) {
                memcpy(p + (i + 1) * (W + 2) + 1, s + i * W, W * sizeof(double));
            }
        }
        uint64_t differ = 0;
        double max_diff = 0.0;
        for (int k = 0; k < H * W; k++) {
            if (memcmp(&gathered[k], &s[k], sizeof(double)) != 0) {
                differ++;
            }
            if (absd(gathered[k] - s[k]) > max_diff) {
                max_diff = absd(gathered[k] - s[k]);
            }
        }
        EXPECT(differ == 0, "%" PRIu64 " cells differ from the serial run (max %g)", differ, max_diff);
        EXPECT(serial_delta == delta, "serial change %.17g, distributed %.17g", serial_delta, delta);
        /* Physics: values in [0, 1], hottest in the row next to the top edge. */
        double lo = 1.0, hi = 0.0;
        int hottest = -1;
        for (int k = 0; k < H * W; k++) {
            lo = gathered[k] < lo ? gathered[k] : lo;
            if (gathered[k] > hi) {
                hi = gathered[k];
                hottest = k;
            }
        }
        EXPECT(lo >= 0.0 && hi <= 1.0 && hottest / W == 0, "range [%g, %g], hottest cell %d", lo, hi, hottest);
        printf("stencil_halo on %d rank(s): %dx%d Jacobi, %d iterations, max change %.3g < %g\n", (int)size,
               H, W, iters, delta, TOL);
        printf("  u[0][%d] = %.6f, u[%d][%d] = %.6f, u[%d][%d] = %.3g\n", W / 2, gathered[W / 2], H / 2, W / 2,
               gathered[(H / 2) * W + W / 2], H - 1, W / 2, gathered[(H - 1) * W + W / 2]);
        printf("  gathered field == serial Jacobi: %s (%" PRIu64 " of %d cells differ)\n",
               differ == 0 ? "bitwise" : "NO", differ, H * W);
        free(gathered);
    }

    int32_t all_failures = 0;
    TRY(dtl_allreduce(ctx, &failures, &all_failures, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    free(padded);
    TRY(dtl_tensor_destroy(change));
    TRY(dtl_tensor_destroy(field));
    TRY(dtl_context_destroy(ctx));
    if (all_failures == 0) {
        if (rank == 0) {
            printf("stencil_halo: all checks passed on %d rank(s)\n", (int)size);
        }
        return 0;
    }
    fprintf(stderr, "[rank %d] stencil_halo: %d check(s) failed here, %d on all ranks\n", rank, failures,
            (int)all_failures);
    return 1;
}
