/*
 * collectives.c - every collective of the dtl C API, checked locally.
 *
 * The C mirror of examples/python/collectives.py. Calls dtl_allreduce with
 * every op, dtl_reduce_to_root, dtl_broadcast, dtl_gather, dtl_gatherv,
 * dtl_scatter, dtl_scatterv, dtl_allgather, dtl_allgatherv, dtl_alltoall,
 * dtl_alltoallv, dtl_scan, dtl_exscan and dtl_context_barrier, then the
 * collective calls of a vector: dtl_vector_from_local, dtl_container_gather,
 * dtl_container_gather_all, dtl_reduce and dtl_dot. Every call is
 * collective: every rank makes it, in the same order.
 *
 * Check: rank r's K values are a function of r alone (contribution(): an
 * LCG seeded with 1000 + r, integers in -20..20; the double copy holds
 * multiples of 1/4, so every sum is exact in any order), so every rank
 * rebuilds all ranks' data and computes each expected result with plain
 * loops, without communication; results must be equal exactly. The
 * failures of all ranks are summed with a final dtl_allreduce, and every
 * rank exits with status 1 if there was any.
 *
 * Build and run:  make -C examples/c run NPS="2 4"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtl.h"

enum { K = 6 };

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

/* Compares n int64 results with the expected ones; counts a failure. */
static void check_i64(const char *what, const int64_t *got, const int64_t *want, int n) {
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            fprintf(stderr, "[rank %d] %s: element %d is %" PRId64 ", want %" PRId64 "\n", rank,
                    what, i, got[i], want[i]);
            failures++;
            return;
        }
    }
}

static void check_f64(const char *what, const double *got, const double *want, int n) {
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            fprintf(stderr, "[rank %d] %s: element %d is %.17g, want %.17g\n", rank, what, i,
                    got[i], want[i]);
            failures++;
            return;
        }
    }
}

/* Rank r's K integers in -20..20 (the same on every rank that asks). */
static void contribution(int r, int64_t out[K]) {
    uint64_t s = 1000u + (uint64_t)r;
    for (int i = 0; i < K; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u; /* Knuth's MMIX LCG */
        out[i] = (int64_t)((s >> 33) % 41) - 20;
    }
}

static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t clamp3(int64_t a) { return imax(-3, imin(3, a)); }

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx));
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;
    const int last = size - 1;

    /* Every rank's data, rebuilt locally: all[q * K + i]. */
    int64_t *all = malloc(sizeof(int64_t) * (size_t)size * K);
    double *allf = malloc(sizeof(double) * (size_t)size * K);
    if (!all || !allf) return 1;
    for (int q = 0; q < size; q++) contribution(q, all + (size_t)q * K);
    for (int i = 0; i < size * K; i++) allf[i] = (double)all[i] / 4.0;
    const int64_t *mine = all + (size_t)rank * K;
    const double *minef = allf + (size_t)rank * K;

    /* ---- dtl_allreduce (MPI_Allreduce), every op */
    {
        double got[K], want[K];
        int64_t goti[K], wanti[K], small[K];
        TRY(dtl_allreduce(ctx, minef, got, K, DTL_DTYPE_FLOAT64, DTL_OP_SUM));
        for (int i = 0; i < K; i++) {
            want[i] = 0;
            for (int q = 0; q < size; q++) want[i] += allf[q * K + i];
        }
        check_f64("allreduce sum", got, want, K);
        TRY(dtl_allreduce(ctx, mine, goti, K, DTL_DTYPE_INT64, DTL_OP_MIN));
        for (int i = 0; i < K; i++) {
            wanti[i] = all[i];
            for (int q = 1; q < size; q++) wanti[i] = imin(wanti[i], all[q * K + i]);
        }
        check_i64("allreduce min", goti, wanti, K);
        TRY(dtl_allreduce(ctx, mine, goti, K, DTL_DTYPE_INT64, DTL_OP_MAX));
        for (int i = 0; i < K; i++) {
            wanti[i] = all[i];
            for (int q = 1; q < size; q++) wanti[i] = imax(wanti[i], all[q * K + i]);
        }
        check_i64("allreduce max", goti, wanti, K);
        for (int i = 0; i < K; i++) small[i] = clamp3(mine[i]); /* |product| <= 3^size */
        TRY(dtl_allreduce(ctx, small, goti, K, DTL_DTYPE_INT64, DTL_OP_PROD));
        for (int i = 0; i < K; i++) {
            wanti[i] = 1;
            for (int q = 0; q < size; q++) wanti[i] *= clamp3(all[q * K + i]);
        }
        check_i64("allreduce prod", goti, wanti, K);
        /* Bitwise ops on the low 8 bits, logical ops on (x > 0). */
        const dtl_op ops[6] = {DTL_OP_BAND, DTL_OP_BOR, DTL_OP_BXOR, DTL_OP_LAND, DTL_OP_LOR, DTL_OP_LXOR};
        const char *names[6] = {"band", "bor", "bxor", "land", "lor", "lxor"};
        for (int k = 0; k < 6; k++) {
            int64_t in[K];
            for (int i = 0; i < K; i++) in[i] = k < 3 ? (mine[i] & 0xFF) : (mine[i] > 0);
            TRY(dtl_allreduce(ctx, in, goti, K, DTL_DTYPE_INT64, ops[k]));
            for (int i = 0; i < K; i++) {
                int64_t acc = 0;
                for (int q = 0; q < size; q++) {
                    int64_t x = k < 3 ? (all[q * K + i] & 0xFF) : (all[q * K + i] > 0);
                    if (q == 0) acc = x;
                    else if (k == 0) acc &= x;
                    else if (k == 1) acc |= x;
                    else if (k == 2) acc ^= x;
                    else if (k == 3) acc = acc && x;
                    else if (k == 4) acc = acc || x;
                    else acc = (acc != 0) != (x != 0);
                }
                wanti[i] = acc;
            }
            check_i64(names[k], goti, wanti, K);
        }
    }

    /* ---- dtl_reduce_to_root (MPI_Reduce) onto the last rank */
    {
        int64_t got[K], want[K];
        TRY(dtl_reduce_to_root(ctx, mine, rank == last ? got : NULL, K, DTL_DTYPE_INT64, DTL_OP_SUM, last));
        if (rank == last) {
            for (int i = 0; i < K; i++) {
                want[i] = 0;
                for (int q = 0; q < size; q++) want[i] += all[q * K + i];
            }
            check_i64("reduce_to_root", got, want, K);
        }
    }

    /* ---- dtl_broadcast (MPI_Bcast) in place, from the last rank */
    {
        int64_t buf[4], want[4];
        for (int i = 0; i < 4; i++) {
            want[i] = 7 * i + last;
            buf[i] = rank == last ? want[i] : -1;
        }
        TRY(dtl_broadcast(ctx, buf, 4, DTL_DTYPE_INT64, last));
        check_i64("broadcast", buf, want, 4);
    }

    /* ---- gather / allgather (K each, rank order); gatherv / allgatherv (r % K + 1 each) */
    {
        int64_t *got = malloc(sizeof(int64_t) * (size_t)size * K);
        int64_t *want = malloc(sizeof(int64_t) * (size_t)size * K);
        uint64_t *counts = malloc(sizeof(uint64_t) * (size_t)size);
        if (!got || !want || !counts) return 1;
        TRY(dtl_gather(ctx, mine, K, rank == 0 ? got : NULL, DTL_DTYPE_INT64, 0));
        if (rank == 0) check_i64("gather", got, all, size * K);
        TRY(dtl_allgather(ctx, mine, K, got, DTL_DTYPE_INT64));
        check_i64("allgather", got, all, size * K);
        uint64_t n = 0;
        for (int q = 0; q < size; q++)
            for (int i = 0; i <= q % K; i++) want[n++] = all[q * K + i];
        TRY(dtl_allgatherv(ctx, mine, (uint64_t)(rank % K + 1), got, (uint64_t)size * K, counts,
                           DTL_DTYPE_INT64));
        check_i64("allgatherv", got, want, (int)n);
        for (int q = 0; q < size; q++)
            if (counts[q] != (uint64_t)(q % K + 1)) failures++;
        TRY(dtl_gatherv(ctx, mine, (uint64_t)(rank % K + 1), rank == last ? got : NULL,
                        rank == last ? (uint64_t)size * K : 0, NULL, DTL_DTYPE_INT64, last));
        if (rank == last) check_i64("gatherv", got, want, (int)n);
        free(got);
        free(want);
        free(counts);
    }

    /* ---- scatter (3 each) and scatterv (rank q gets q + 1) from rank 0 */
    {
        int n = size * (size + 1) / 2 + 3 * size;
        int64_t *table = malloc(sizeof(int64_t) * (size_t)n);
        uint64_t *counts = malloc(sizeof(uint64_t) * (size_t)size);
        if (!table || !counts) return 1;
        for (int i = 0; i < n; i++) table[i] = 10 * i;
        for (int q = 0; q < size; q++) counts[q] = (uint64_t)q + 1;
        int64_t got[3], want[3];
        TRY(dtl_scatter(ctx, rank == 0 ? table : NULL, got, 3, DTL_DTYPE_INT64, 0));
        for (int i = 0; i < 3; i++) want[i] = 10 * (3 * rank + i);
        check_i64("scatter", got, want, 3);
        int64_t *gotv = malloc(sizeof(int64_t) * (size_t)(rank + 1));
        int64_t *wantv = malloc(sizeof(int64_t) * (size_t)(rank + 1));
        if (!gotv || !wantv) return 1;
        uint64_t got_n = 0;
        TRY(dtl_scatterv(ctx, rank == 0 ? table : NULL, rank == 0 ? counts : NULL, gotv,
                         (uint64_t)rank + 1, &got_n, DTL_DTYPE_INT64, 0));
        int start = rank * (rank + 1) / 2;
        for (int i = 0; i <= rank; i++) wantv[i] = 10 * (start + i);
        if (got_n != (uint64_t)rank + 1) failures++;
        check_i64("scatterv", gotv, wantv, rank + 1);
        free(table);
        free(counts);
        free(gotv);
        free(wantv);
    }

    /* ---- alltoall (one element to each rank) and alltoallv (d + 1 elements to rank d) */
    {
        int64_t *out = malloc(sizeof(int64_t) * (size_t)size * (size_t)size);
        int64_t *in = malloc(sizeof(int64_t) * (size_t)size * (size_t)size);
        int64_t *want = malloc(sizeof(int64_t) * (size_t)size * (size_t)size);
        uint64_t *sc = malloc(sizeof(uint64_t) * (size_t)size);
        uint64_t *rc = malloc(sizeof(uint64_t) * (size_t)size);
        if (!out || !in || !want || !sc || !rc) return 1;
        for (int d = 0; d < size; d++) out[d] = 100 * rank + d;
        TRY(dtl_alltoall(ctx, out, 1, in, DTL_DTYPE_INT64));
        for (int s = 0; s < size; s++) want[s] = 100 * s + rank;
        check_i64("alltoall", in, want, size);
        int n = 0;
        for (int d = 0; d < size; d++) {
            sc[d] = (uint64_t)d + 1;
            for (int j = 0; j <= d; j++) out[n++] = 100 * rank + d;
        }
        TRY(dtl_alltoallv(ctx, out, sc, in, (uint64_t)size * (uint64_t)size, rc, DTL_DTYPE_INT64));
        n = 0;
        for (int s = 0; s < size; s++) {
            if (rc[s] != (uint64_t)rank + 1) failures++;
            for (int j = 0; j <= rank; j++) want[n++] = 100 * s + rank;
        }
        check_i64("alltoallv", in, want, n);
        free(out);
        free(in);
        free(want);
        free(sc);
        free(rc);
    }

    /* ---- scan / exscan (MPI_Scan, MPI_Exscan): prefix sums over ranks */
    {
        int64_t got[K], incl[K], excl[K];
        for (int i = 0; i < K; i++) {
            excl[i] = 0; /* rank 0 gets SUM's identity */
            for (int q = 0; q < rank; q++) excl[i] += all[q * K + i];
            incl[i] = excl[i] + mine[i];
        }
        TRY(dtl_scan(ctx, mine, got, K, DTL_DTYPE_INT64, DTL_OP_SUM));
        check_i64("scan", got, incl, K);
        TRY(dtl_exscan(ctx, mine, got, K, DTL_DTYPE_INT64, DTL_OP_SUM));
        check_i64("exscan", got, excl, K);
    }

    TRY(dtl_context_barrier(ctx)); /* MPI_Barrier */

    /* ---- a vector: rank 0's K elements, then rank 1's, ... */
    {
        dtl_vector_t v = NULL, halves = NULL;
        TRY(dtl_vector_from_local(ctx, DTL_DTYPE_FLOAT64, minef, K, NULL, &v));
        uint64_t n = (uint64_t)size * K;
        double *got = malloc(sizeof(double) * n);
        double *ones = malloc(sizeof(double) * K);
        if (!got || !ones) return 1;
        TRY(dtl_container_gather(v, 0, rank == 0 ? got : NULL, rank == 0 ? n : 0));
        if (rank == 0) check_f64("vector gather", got, allf, (int)n);
        TRY(dtl_container_gather_all(v, got, n));
        check_f64("vector gather_all", got, allf, (int)n);
        double sum = 0, dot = 0, total = 0, want_dot = 0;
        for (uint64_t i = 0; i < n; i++) {
            sum += allf[i];
            want_dot += allf[i] * 0.5;
        }
        TRY(dtl_reduce(v, DTL_OP_SUM, &total));
        check_f64("dtl_reduce", &total, &sum, 1);
        for (int i = 0; i < K; i++) ones[i] = 0.5;
        TRY(dtl_vector_from_local(ctx, DTL_DTYPE_FLOAT64, ones, K, NULL, &halves));
        TRY(dtl_dot(v, halves, &dot));
        check_f64("dtl_dot", &dot, &want_dot, 1);
        TRY(dtl_vector_destroy(halves));
        TRY(dtl_vector_destroy(v));
        free(got);
        free(ones);
    }

    /* ---- verdict: the failures of every rank, on every rank */
    int64_t mine_bad = failures, bad = 0;
    TRY(dtl_allreduce(ctx, &mine_bad, &bad, 1, DTL_DTYPE_INT64, DTL_OP_SUM));
    if (rank == 0)
        printf("collectives on %d rank(s): every result equals the local computation -> %s\n", size,
               bad == 0 ? "OK" : "WRONG");
    free(all);
    free(allf);
    TRY(dtl_context_destroy(ctx)); /* the last dtl object: finalizes MPI */
    return bad == 0 ? 0 : 1;
}
