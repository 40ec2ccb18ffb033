/*
 * test_collectives.c - the C ABI of the buffer collectives (dtl_broadcast,
 * dtl_allreduce, dtl_reduce_to_root, dtl_gather[v], dtl_scatter[v],
 * dtl_allgather[v], dtl_alltoall[v], dtl_scan, dtl_exscan).
 *
 * Run at any number of ranks, e.g.
 *   mpirun -np 3 ./test_collectives
 *
 * Every rank's contribution is a closed form of (rank, index), so the
 * expected results are computed here independently, for every dtype and
 * every root; the bad-input tests check that an argument error on one rank
 * makes every rank return an error instead of hanging.
 */
#include "check.h"

static int32_t RANK = -1, SIZE = 0;

static const dtl_dtype ALL_DTYPES[10] = {DTL_DTYPE_INT8,   DTL_DTYPE_INT16,  DTL_DTYPE_INT32,  DTL_DTYPE_INT64,
                                         DTL_DTYPE_UINT8,  DTL_DTYPE_UINT16, DTL_DTYPE_UINT32, DTL_DTYPE_UINT64,
                                         DTL_DTYPE_FLOAT32, DTL_DTYPE_FLOAT64};

#include "elements.h"

/* The value rank r contributes at index i: small, non-negative, with zeros. */
static int64_t val(int r, size_t i) { return (int64_t)((r * 3 + i * 5 + 1) % 7); }

static int op_valid(dtl_dtype d, dtl_op op) { return !(is_float(d) && op >= DTL_OP_LAND); }

static int64_t fold(dtl_op op, int64_t a, int64_t b) {
    switch (op) {
    case DTL_OP_SUM: return a + b;
    case DTL_OP_PROD: return a * b;
    case DTL_OP_MIN: return a < b ? a : b;
    case DTL_OP_MAX: return a > b ? a : b;
    case DTL_OP_LAND: return (a != 0) && (b != 0);
    case DTL_OP_LOR: return (a != 0) || (b != 0);
    case DTL_OP_LXOR: return (a != 0) != (b != 0);
    case DTL_OP_BAND: return a & b;
    case DTL_OP_BOR: return a | b;
    default: return a ^ b;
    }
}

/* val(0, i) op ... op val(last, i), computed in int64 (values stay small). */
static int64_t fold_ranks(dtl_op op, int last, size_t i) {
    int64_t acc = val(0, i);
    if (op >= DTL_OP_LAND && op <= DTL_OP_LXOR) acc = acc != 0; /* results are 0 or 1 */
    for (int r = 1; r <= last; r++) acc = fold(op, acc, val(r, i));
    return acc;
}

static void fill_vals(dtl_dtype d, void *buf, int r, size_t n) {
    for (size_t i = 0; i < n; i++) store_i(d, buf, i, val(r, i));
}

/* Element i of buf equals v (converted to the dtype). */
#define CHECK_ELEM(d, buf, i, v) CHECK_EQ_I(load_i((d), (buf), (i)), wrap_i((d), (v)))

#define COUNT 5

static void test_broadcast(dtl_context_t ctx) {
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        for (int root = 0; root < SIZE; root++) {
            char buf[COUNT * 8];
            fill_vals(d, buf, RANK, COUNT);
            OK(dtl_broadcast(ctx, buf, COUNT, d, root));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, buf, i, val(root, i));
        }
        OK(dtl_broadcast(ctx, NULL, 0, d, 0));
    }
}

static void test_allreduce(dtl_context_t ctx) {
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        for (dtl_op op = 0; op <= DTL_OP_BXOR; op++) {
            if (!op_valid(d, op)) continue;
            char send[COUNT * 8], recv[COUNT * 8];
            fill_vals(d, send, RANK, COUNT);
            OK(dtl_allreduce(ctx, send, recv, COUNT, d, op));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, recv, i, fold_ranks(op, SIZE - 1, i));
            /* in place */
            OK(dtl_allreduce(ctx, send, send, COUNT, d, op));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, send, i, fold_ranks(op, SIZE - 1, i));
        }
    }
    /* float sums of non-integers */
    double x = 0.25 * (RANK + 1), s = 0;
    OK(dtl_allreduce(ctx, &x, &s, 1, DTL_DTYPE_FLOAT64, DTL_OP_SUM));
    CHECK_NEAR(s, 0.25 * SIZE * (SIZE + 1) / 2.0, 1e-15);
    OK(dtl_allreduce(ctx, NULL, NULL, 0, DTL_DTYPE_INT32, DTL_OP_SUM));
}

static void test_reduce_to_root(dtl_context_t ctx) {
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        for (dtl_op op = 0; op <= DTL_OP_BXOR; op++) {
            if (!op_valid(d, op)) continue;
            for (int root = 0; root < SIZE; root++) {
                char send[COUNT * 8], recv[COUNT * 8];
                fill_vals(d, send, RANK, COUNT);
                memset(recv, 0x5a, sizeof recv);
                OK(dtl_reduce_to_root(ctx, send, RANK == root ? recv : NULL, COUNT, d, op, root));
                if (RANK == root)
                    for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, recv, i, fold_ranks(op, SIZE - 1, i));
            }
        }
    }
}

static void test_gather_scatter(dtl_context_t ctx) {
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        size_t es = dsize(d);
        char *all = malloc((size_t)SIZE * COUNT * es + 1);
        char *mine = malloc(COUNT * es);
        for (int root = 0; root < SIZE; root++) {
            /* gather */
            fill_vals(d, mine, RANK, COUNT);
            memset(all, 0, (size_t)SIZE * COUNT * es);
            OK(dtl_gather(ctx, mine, COUNT, RANK == root ? all : NULL, d, root));
            if (RANK == root)
                for (int r = 0; r < SIZE; r++)
                    for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, all, r * COUNT + i, val(r, i));
            /* scatter: chunk r of root's buffer is val(r, .) */
            if (RANK == root)
                for (int r = 0; r < SIZE; r++) fill_vals(d, all + (size_t)r * COUNT * es, r, COUNT);
            memset(mine, 0, COUNT * es);
            OK(dtl_scatter(ctx, RANK == root ? all : NULL, mine, COUNT, d, root));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, mine, i, val(RANK, i));
        }
        /* allgather */
        fill_vals(d, mine, RANK, COUNT);
        OK(dtl_allgather(ctx, mine, COUNT, all, d));
        for (int r = 0; r < SIZE; r++)
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, all, r * COUNT + i, val(r, i));
        /* alltoall: chunk j sent by r holds 100*r + 10*j + i (wrapping) */
        char *snd = malloc((size_t)SIZE * COUNT * es);
        for (int j = 0; j < SIZE; j++)
            for (size_t i = 0; i < COUNT; i++) store_i(d, snd, j * COUNT + i, 20 * RANK + 4 * j + (int64_t)i);
        OK(dtl_alltoall(ctx, snd, COUNT, all, d));
        for (int r = 0; r < SIZE; r++)
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, all, r * COUNT + i, 20 * r + 4 * RANK + (int64_t)i);
        free(snd);
        free(all);
        free(mine);
    }
}

static void test_vector_variants(dtl_context_t ctx) {
    uint64_t total = (uint64_t)SIZE * (SIZE + 1) / 2;
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        size_t es = dsize(d);
        char *mine = malloc((size_t)(RANK + 1) * es);
        char *all = malloc(total * es);
        uint64_t counts[64];
        for (size_t i = 0; i <= (size_t)RANK; i++) store_i(d, mine, i, 10 * RANK + (int64_t)i);
        for (int root = 0; root < SIZE; root++) {
            /* gatherv: rank r sends r + 1 elements */
            memset(counts, 0xff, sizeof counts);
            memset(all, 0, total * es);
            OK(dtl_gatherv(ctx, mine, (uint64_t)RANK + 1, RANK == root ? all : NULL, RANK == root ? total : 0,
                           RANK == root ? counts : NULL, d, root));
            if (RANK == root) {
                size_t pos = 0;
                for (int r = 0; r < SIZE; r++) {
                    CHECK_EQ_U(counts[r], (uint64_t)r + 1);
                    for (int i = 0; i <= r; i++) CHECK_ELEM(d, all, pos++, 10 * r + i);
                }
                /* recv_counts NULL is allowed */
            }
            OK(dtl_gatherv(ctx, mine, (uint64_t)RANK + 1, RANK == root ? all : NULL, RANK == root ? total : 0,
                           NULL, d, root));
            /* scatterv: root gives rank r r + 1 elements */
            uint64_t scounts[64];
            for (int r = 0; r < SIZE; r++) scounts[r] = (uint64_t)r + 1;
            if (RANK == root) {
                size_t pos = 0;
                for (int r = 0; r < SIZE; r++)
                    for (int i = 0; i <= r; i++) store_i(d, all, pos++, 7 * r + i + root);
            }
            char rbuf[64 * 8];
            uint64_t rc = 999;
            OK(dtl_scatterv(ctx, RANK == root ? all : NULL, RANK == root ? scounts : NULL, rbuf, 64, &rc, d, root));
            CHECK_EQ_U(rc, (uint64_t)RANK + 1);
            for (int i = 0; i <= RANK; i++) CHECK_ELEM(d, rbuf, i, 7 * RANK + i + root);
        }
        /* allgatherv */
        memset(counts, 0xff, sizeof counts);
        OK(dtl_allgatherv(ctx, mine, (uint64_t)RANK + 1, all, total, counts, d));
        size_t pos = 0;
        for (int r = 0; r < SIZE; r++) {
            CHECK_EQ_U(counts[r], (uint64_t)r + 1);
            for (int i = 0; i <= r; i++) CHECK_ELEM(d, all, pos++, 10 * r + i);
        }
        /* alltoallv: rank r sends (j + 1) elements to rank j, values 16*r + 4*j + i */
        uint64_t sc[64], rcounts[64];
        size_t stot = 0;
        for (int j = 0; j < SIZE; j++) { sc[j] = (uint64_t)j + 1; stot += sc[j]; }
        char *snd = malloc(stot * es);
        pos = 0;
        for (int j = 0; j < SIZE; j++)
            for (int i = 0; i <= j; i++) store_i(d, snd, pos++, 16 * RANK + 4 * j + i);
        uint64_t rtot = (uint64_t)SIZE * (RANK + 1);
        char *rcv = malloc(rtot * es);
        OK(dtl_alltoallv(ctx, snd, sc, rcv, rtot, rcounts, d));
        pos = 0;
        for (int r = 0; r < SIZE; r++) {
            CHECK_EQ_U(rcounts[r], (uint64_t)RANK + 1);
            for (int i = 0; i <= RANK; i++) CHECK_ELEM(d, rcv, pos++, 16 * r + 4 * RANK + i);
        }
        free(snd);
        free(rcv);
        free(mine);
        free(all);
    }
}

/* The identity of op for dtype d, as rank 0 of dtl_exscan gets it. */
static void check_identity(dtl_dtype d, dtl_op op, const void *buf, size_t i) {
    if (is_float(d)) {
        double x = load_d(d, buf, i);
        if (op == DTL_OP_SUM) CHECK(x == 0.0);
        else if (op == DTL_OP_PROD) CHECK(x == 1.0);
        else if (op == DTL_OP_MIN) CHECK(x >= (d == DTL_DTYPE_FLOAT32 ? 3.4e38 : 1.7e308));
        else CHECK(x <= (d == DTL_DTYPE_FLOAT32 ? -3.4e38 : -1.7e308));
        return;
    }
    int64_t x = load_i(d, buf, i);
    int bits = (int)dsize(d) * 8;
    int64_t maxv, minv;
    if (is_signed(d)) {
        maxv = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
        minv = bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
    } else {
        maxv = bits == 64 ? -1 /* UINT64_MAX */ : (INT64_C(1) << bits) - 1;
        minv = 0;
    }
    switch (op) {
    case DTL_OP_SUM: case DTL_OP_LOR: case DTL_OP_LXOR: case DTL_OP_BOR: case DTL_OP_BXOR:
        CHECK_EQ_I(x, 0); break;
    case DTL_OP_PROD: case DTL_OP_LAND: CHECK_EQ_I(x, 1); break;
    case DTL_OP_MIN: CHECK_EQ_I(x, maxv); break;
    case DTL_OP_MAX: CHECK_EQ_I(x, minv); break;
    default: /* BAND: all bits set */ CHECK_EQ_I(x, wrap_i(d, -1)); break;
    }
}

static void test_scan_exscan(dtl_context_t ctx) {
    for (int k = 0; k < 10; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        for (dtl_op op = 0; op <= DTL_OP_BXOR; op++) {
            if (!op_valid(d, op)) continue;
            char send[COUNT * 8], recv[COUNT * 8];
            fill_vals(d, send, RANK, COUNT);
            OK(dtl_scan(ctx, send, recv, COUNT, d, op));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, recv, i, fold_ranks(op, RANK, i));
            memset(recv, 0x77, sizeof recv);
            OK(dtl_exscan(ctx, send, recv, COUNT, d, op));
            for (size_t i = 0; i < COUNT; i++) {
                if (RANK == 0) check_identity(d, op, recv, i);
                else CHECK_ELEM(d, recv, i, fold_ranks(op, RANK - 1, i));
            }
            /* in place */
            OK(dtl_scan(ctx, send, send, COUNT, d, op));
            for (size_t i = 0; i < COUNT; i++) CHECK_ELEM(d, send, i, fold_ranks(op, RANK, i));
        }
    }
}

static void test_bad_input(dtl_context_t ctx) {
    int32_t a[4] = {1, 2, 3, 4}, b[4 * 64];
    int last = SIZE - 1;
    /* invalid handles: local, at once */
    FAILS(dtl_allreduce(NULL, a, b, 1, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_broadcast((dtl_context_t)a, a, 1, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scan(NULL, a, b, 1, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    /* dtype / op codes out of range, on every rank */
    FAILS_WITH(dtl_allreduce(ctx, a, b, 1, 42, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT, "dtype");
    FAILS(dtl_allreduce(ctx, a, b, 1, -1, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 1, DTL_DTYPE_INT32, 10), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 1, DTL_DTYPE_INT32, -1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scan(ctx, a, b, 1, DTL_DTYPE_INT32, 42), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_exscan(ctx, a, b, 1, 10, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_broadcast(ctx, a, 1, 42, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_gather(ctx, a, 1, b, 42, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_alltoall(ctx, a, 1, b, 42), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_reduce_to_root(ctx, a, b, 1, DTL_DTYPE_INT32, 99, 0), DTL_ERROR_INVALID_ARGUMENT);
    /* a bitwise or logical op on floats */
    float f = 1.0f, g;
    FAILS(dtl_allreduce(ctx, &f, &g, 1, DTL_DTYPE_FLOAT32, DTL_OP_BAND), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scan(ctx, &f, &g, 1, DTL_DTYPE_FLOAT32, DTL_OP_LOR), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_reduce_to_root(ctx, &f, &g, 1, DTL_DTYPE_FLOAT32, DTL_OP_BXOR, 0), DTL_ERROR_INVALID_ARGUMENT);
    /* root out of range, on every rank */
    FAILS(dtl_broadcast(ctx, a, 1, DTL_DTYPE_INT32, SIZE), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_broadcast(ctx, a, 1, DTL_DTYPE_INT32, -1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_gather(ctx, a, 1, b, DTL_DTYPE_INT32, SIZE), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scatter(ctx, b, a, 1, DTL_DTYPE_INT32, -5), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_reduce_to_root(ctx, a, b, 1, DTL_DTYPE_INT32, DTL_OP_SUM, SIZE), DTL_ERROR_INVALID_ARGUMENT);
    uint64_t cnt[64], rc;
    FAILS(dtl_gatherv(ctx, a, 1, b, 256, cnt, DTL_DTYPE_INT32, SIZE + 3), DTL_ERROR_INVALID_ARGUMENT);
    for (int r = 0; r < SIZE; r++) cnt[r] = 1;
    FAILS(dtl_scatterv(ctx, b, cnt, a, 4, &rc, DTL_DTYPE_INT32, SIZE), DTL_ERROR_INVALID_ARGUMENT);
    /* NULL buffer with count > 0 on the last rank only: every rank errors */
    FAILS(dtl_allreduce(ctx, RANK == last ? NULL : a, b, 2, DTL_DTYPE_INT32, DTL_OP_SUM),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, RANK == last ? NULL : b, 2, DTL_DTYPE_INT32, DTL_OP_SUM),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_broadcast(ctx, RANK == last ? NULL : a, 2, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scan(ctx, RANK == last ? NULL : a, b, 2, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_exscan(ctx, a, RANK == last ? NULL : b, 2, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allgather(ctx, RANK == last ? NULL : a, 1, b, DTL_DTYPE_INT32), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_alltoall(ctx, a, 1, RANK == last ? NULL : b, DTL_DTYPE_INT32), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_gather(ctx, RANK == last ? NULL : a, 1, b, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scatter(ctx, b, RANK == last ? NULL : a, 1, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scatter(ctx, RANK == 0 ? NULL : b, a, 1, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_gatherv(ctx, RANK == last ? NULL : a, 1, b, 256, NULL, DTL_DTYPE_INT32, 0),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allgatherv(ctx, RANK == last ? NULL : a, 1, b, 256, NULL, DTL_DTYPE_INT32),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scatterv(ctx, b, RANK == 0 ? NULL : cnt, a, 4, &rc, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_scatterv(ctx, RANK == 0 ? NULL : b, cnt, a, 4, &rc, DTL_DTYPE_INT32, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_alltoallv(ctx, b, RANK == last ? NULL : cnt, a, 256, NULL, DTL_DTYPE_INT32),
          DTL_ERROR_INVALID_ARGUMENT);
    /* a bad dtype or op on one rank only */
    FAILS(dtl_allreduce(ctx, a, b, 1, RANK == last ? 42 : DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 1, DTL_DTYPE_INT32, RANK == 0 ? 17 : DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_broadcast(ctx, a, 1, DTL_DTYPE_INT32, RANK == last ? SIZE : 0), DTL_ERROR_INVALID_ARGUMENT);
    if (SIZE > 1) {
        /* valid but different arguments */
        FAILS(dtl_allreduce(ctx, a, b, RANK == last ? 2 : 1, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_MISMATCH);
        FAILS(dtl_allreduce(ctx, a, b, 1, RANK == last ? DTL_DTYPE_UINT32 : DTL_DTYPE_INT32, DTL_OP_SUM),
              DTL_ERROR_MISMATCH);
        FAILS(dtl_allreduce(ctx, a, b, 1, DTL_DTYPE_INT32, RANK == last ? DTL_OP_MAX : DTL_OP_SUM),
              DTL_ERROR_MISMATCH);
        FAILS(dtl_broadcast(ctx, a, 1, DTL_DTYPE_INT32, RANK == last ? 1 : 0), DTL_ERROR_MISMATCH);
        FAILS(dtl_gather(ctx, a, RANK == 0 ? 2 : 1, b, DTL_DTYPE_INT32, 0), DTL_ERROR_MISMATCH);
        FAILS(dtl_allgatherv(ctx, a, 1, b, 256, NULL, RANK == 0 ? DTL_DTYPE_INT16 : DTL_DTYPE_INT32),
              DTL_ERROR_MISMATCH);
    }
    /* capacity too small on one rank only: DTL_ERROR_BOUNDS there, success elsewhere */
    {
        uint64_t need = (uint64_t)SIZE;
        dtl_status st = dtl_allgatherv(ctx, a, 1, b, RANK == last ? need - 1 : need, NULL, DTL_DTYPE_INT32);
        CHECK_EQ_I(st, RANK == last ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
        st = dtl_gatherv(ctx, a, 1, b, RANK == 0 ? need - 1 : 0, NULL, DTL_DTYPE_INT32, 0);
        CHECK_EQ_I(st, RANK == 0 ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
        for (int r = 0; r < SIZE; r++) cnt[r] = 2;
        int32_t big[128];
        for (int i = 0; i < 128; i++) big[i] = i;
        st = dtl_scatterv(ctx, big, cnt, a, RANK == last ? 1 : 2, &rc, DTL_DTYPE_INT32, 0);
        CHECK_EQ_I(st, RANK == last ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
        if (RANK != last) { CHECK_EQ_I(a[0], 2 * RANK); CHECK_EQ_I(a[1], 2 * RANK + 1); }
        for (int r = 0; r < SIZE; r++) cnt[r] = 1;
        st = dtl_alltoallv(ctx, big, cnt, b, RANK == 0 ? need - 1 : need, NULL, DTL_DTYPE_INT32);
        CHECK_EQ_I(st, RANK == 0 ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
    }
    /* everything still works afterwards */
    int32_t one = 1, tot = 0;
    OK(dtl_allreduce(ctx, &one, &tot, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    CHECK_EQ_I(tot, SIZE);
}

int main(void) {
    dtl_context_t ctx = check_start("test_collectives");
    OK(dtl_context_rank(ctx, &RANK));
    OK(dtl_context_size(ctx, &SIZE));
    CHECK(SIZE <= 64);
    RUN(test_broadcast);
    RUN(test_allreduce);
    RUN(test_reduce_to_root);
    RUN(test_gather_scatter);
    RUN(test_vector_variants);
    RUN(test_scan_exscan);
    RUN(test_bad_input);
    return check_finish(ctx);
}
