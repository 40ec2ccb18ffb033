/*
 * test_window.c - the C ABI of RMA windows (dtl_window_t).
 *
 * Build and run (see dtl-capi/tests/c/check.h):
 *   mpicc -std=c11 -O2 -g -Wall -Wextra -Werror -Idtl-capi/include -Idtl-capi/tests/c \
 *       dtl-capi/tests/c/test_window.c -o /tmp/test_window \
 *       -Ltarget/release -ldtl -Wl,-rpath,$PWD/target/release -lm
 *   for np in 1 2 3 4; do timeout -k 10 120 mpirun -np $np /tmp/test_window; done
 *   mpirun -np 1 valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
 *       --suppressions=/usr/share/openmpi/openmpi-valgrind.supp \
 *       --suppressions=dtl-capi/tests/c/valgrind.supp /tmp/test_window
 *
 * Every expected value is a closed form of the rank count (or of the ranks'
 * own inputs), computed here independently of dtl. One rank runs the same
 * tests on dtl's one-rank (plain memory) backend.
 */
#include <stdint.h>

#include <mpi.h> /* only MPI_Get_library_version, for the CAS expectation */

#include "check.h"

static int32_t me = -1, np = 0, left = -1, right = -1;

/* ---- helpers ------------------------------------------------------------ */

static const dtl_dtype ALL_DTYPES[] = {
    DTL_DTYPE_INT8,   DTL_DTYPE_INT16,  DTL_DTYPE_INT32,  DTL_DTYPE_INT64,   DTL_DTYPE_UINT8,
    DTL_DTYPE_UINT16, DTL_DTYPE_UINT32, DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT32, DTL_DTYPE_FLOAT64,
};

static size_t dsize(dtl_dtype d) {
    static const size_t s[] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8};
    return s[d];
}

/* Element i of a buffer of dtype d, as a double (all test values are small
 * integers, exact in every dtype). */
static double getv(const void *p, dtl_dtype d, size_t i) {
    switch (d) {
    case DTL_DTYPE_INT8: return ((const int8_t *)p)[i];
    case DTL_DTYPE_INT16: return ((const int16_t *)p)[i];
    case DTL_DTYPE_INT32: return ((const int32_t *)p)[i];
    case DTL_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    case DTL_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case DTL_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case DTL_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case DTL_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    case DTL_DTYPE_FLOAT32: return ((const float *)p)[i];
    default: return ((const double *)p)[i];
    }
}

static void setv(void *p, dtl_dtype d, size_t i, double v) {
    switch (d) {
    case DTL_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case DTL_DTYPE_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case DTL_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case DTL_DTYPE_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    case DTL_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case DTL_DTYPE_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case DTL_DTYPE_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case DTL_DTYPE_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case DTL_DTYPE_FLOAT32: ((float *)p)[i] = (float)v; break;
    default: ((double *)p)[i] = v; break;
    }
}

/* Sum and max of an int64 over the ranks. */
static int64_t sum_i64(dtl_context_t ctx, int64_t x) {
    int64_t s = 0;
    OK(dtl_allreduce(ctx, &x, &s, 1, DTL_DTYPE_INT64, DTL_OP_SUM));
    return s;
}

static int64_t max_i64(dtl_context_t ctx, int64_t x) {
    int64_t s = 0;
    OK(dtl_allreduce(ctx, &x, &s, 1, DTL_DTYPE_INT64, DTL_OP_MAX));
    return s;
}

/* Copies this rank's window memory after remote passive-target updates:
 * lock this rank, MPI_Win_sync, read, unlock. */
static void read_own(dtl_window_t w, void *dst, size_t bytes) {
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    OK(dtl_window_lock(w, me, DTL_LOCK_MODE_SHARED));
    OK(dtl_window_sync(w));
    memcpy(dst, base, bytes);
    OK(dtl_window_unlock(w, me));
}

/* ---- creation, sizes, base ---------------------------------------------- */

static void test_allocate(dtl_context_t ctx) {
    uint64_t bytes = 16 * (uint64_t)(me + 1);
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, bytes, &w));
    CHECK(w != NULL);
    uint64_t sz = 0;
    OK(dtl_window_size(w, &sz));
    CHECK_EQ_U(sz, bytes);
    for (int32_t r = 0; r < np; r++) {
        OK(dtl_window_size_of(w, r, &sz));
        CHECK_EQ_U(sz, 16 * (uint64_t)(r + 1));
    }
    FAILS_WITH(dtl_window_size_of(w, -1, &sz), DTL_ERROR_BOUNDS, "rank must be a rank in 0..");
    FAILS(dtl_window_size_of(w, np, &sz), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_size(w, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_size_of(w, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_base(w, NULL), DTL_ERROR_INVALID_ARGUMENT);
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    CHECK(base != NULL);
    CHECK((uintptr_t)base % 8 == 0);
    const unsigned char *b = base;
    int zero = 1;
    for (uint64_t i = 0; i < bytes; i++) zero &= b[i] == 0;
    CHECK(zero);
    OK(dtl_window_destroy(w));

    /* Empty windows on odd ranks: base NULL there, accesses out of bounds. */
    OK(dtl_window_allocate(ctx, me % 2 ? 0 : 24, &w));
    OK(dtl_window_base(w, &base));
    CHECK((me % 2 == 1) == (base == NULL));
    if (np > 1) {
        OK(dtl_window_size_of(w, 1, &sz));
        CHECK_EQ_U(sz, 0);
        OK(dtl_window_lock(w, 1, DTL_LOCK_MODE_SHARED));
        int32_t x = 0;
        FAILS_WITH(dtl_window_get(w, &x, 1, DTL_DTYPE_INT32, 1, 0), DTL_ERROR_BOUNDS, "window of 0 bytes");
        OK(dtl_window_get(w, NULL, 0, DTL_DTYPE_INT32, 1, 0)); /* 0 elements at offset 0 fit */
        OK(dtl_window_unlock(w, 1));
    }
    OK(dtl_window_destroy(w));

    /* Collective argument errors: every rank returns an error, *out is NULL. */
    dtl_window_t bad = (dtl_window_t)&bad;
    FAILS(dtl_window_allocate(ctx, 8, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_allocate(ctx, me == 0 ? UINT64_MAX : 8, &bad), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    if (me == 0) CHECK(strstr(dtl_last_error_message(), "bytes = 18446744073709551615") != NULL);
    FAILS(dtl_window_allocate(NULL, 8, &bad), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_allocate((dtl_context_t)&bad, 8, &bad), DTL_ERROR_INVALID_ARGUMENT);
}

static void test_create(dtl_context_t ctx) {
    double *mem = malloc(8 * sizeof(double));
    CHECK(mem != NULL);
    for (int i = 0; i < 8; i++) mem[i] = me * 100.0 + i;
    dtl_window_t w = NULL;
    OK(dtl_window_create(ctx, mem, 8 * sizeof(double), &w));
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    CHECK(base == (void *)mem);
    uint64_t sz = 0;
    OK(dtl_window_size(w, &sz));
    CHECK_EQ_U(sz, 64);

    /* get from the right neighbour under a fence: its initial contents. */
    double got[8] = {0};
    OK(dtl_window_fence(w, 0));
    OK(dtl_window_get(w, got, 8, DTL_DTYPE_FLOAT64, right, 0));
    OK(dtl_window_fence(w, 0));
    for (int i = 0; i < 8; i++) CHECK_EQ_I(got[i], right * 100 + i);
    /* put into the left neighbour's elements 4..7 (byte offset 32). */
    double vals[4] = {-1.0 - me, -2.0 - me, -3.0 - me, -4.0 - me};
    OK(dtl_window_put(w, vals, 4, DTL_DTYPE_FLOAT64, left, 32));
    OK(dtl_window_fence(w, 1));
    for (int i = 0; i < 4; i++) CHECK_EQ_I(mem[i], me * 100 + i);
    for (int i = 4; i < 8; i++) CHECK_EQ_I(mem[i], -(i - 3) - right);
    OK(dtl_window_destroy(w));
    /* The memory is the caller's again. */
    mem[0] = 1.5;
    CHECK(mem[0] == 1.5);

    /* Empty windows: NULL base with 0 bytes. */
    OK(dtl_window_create(ctx, NULL, 0, &w));
    OK(dtl_window_base(w, &base));
    CHECK(base == NULL);
    OK(dtl_window_destroy(w));

    /* Errors, returned on every rank. */
    dtl_window_t bad = (dtl_window_t)&bad;
    FAILS_WITH(dtl_window_create(ctx, NULL, 8, &bad), DTL_ERROR_INVALID_ARGUMENT, "base is NULL");
    CHECK(bad == NULL);
    bad = (dtl_window_t)&bad;
    FAILS(dtl_window_create(ctx, me == np - 1 ? NULL : mem, 64, &bad), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    if (me != np - 1) CHECK(strstr(dtl_last_error_message(), "another rank rejected") != NULL);
    FAILS_WITH(dtl_window_create(ctx, (char *)mem + 4, 32, &bad), DTL_ERROR_INVALID_ARGUMENT,
               "not aligned to 8 bytes");
    if (np > 1) {
        /* Mixed allocate and create in one collective call. */
        dtl_status st = me == 0 ? dtl_window_allocate(ctx, 8, &bad) : dtl_window_create(ctx, mem, 64, &bad);
        FAILS(st, DTL_ERROR_MISMATCH);
        CHECK(bad == NULL);
    }
    free(mem);
}

/* ---- fence epochs ------------------------------------------------------- */

/* Every dtype: put to the right under a fence, then get from the left. */
static void test_fence_dtypes(dtl_context_t ctx) {
    (void)ctx;
    const size_t n = 8;
    int32_t left2 = (me - 2 + 2 * np) % np;
    for (size_t k = 0; k < sizeof ALL_DTYPES / sizeof ALL_DTYPES[0]; k++) {
        dtl_dtype d = ALL_DTYPES[k];
        size_t es = dsize(d);
        dtl_window_t w = NULL;
        OK(dtl_window_allocate(ctx, n * es, &w));
        uint64_t src[8], dst[8] = {0}; /* 64 bytes, 8-aligned: room for 8 of any dtype */
        for (size_t i = 0; i < n; i++) setv(src, d, i, (double)((me * 3 + (int)i) % 50 + 1));
        OK(dtl_window_fence(w, 0));
        OK(dtl_window_put(w, src, n, d, right, 0));
        OK(dtl_window_fence(w, 0));
        void *base = NULL;
        OK(dtl_window_base(w, &base));
        for (size_t i = 0; i < n; i++) CHECK_EQ_I(getv(base, d, i), (left * 3 + (int)i) % 50 + 1);
        /* The left neighbour's window holds what its own left neighbour put. */
        OK(dtl_window_get(w, dst, n, d, left, 0));
        OK(dtl_window_fence(w, 1));
        for (size_t i = 0; i < n; i++) CHECK_EQ_I(getv(dst, d, i), (left2 * 3 + (int)i) % 50 + 1);
        /* Element-wise accesses at every aligned offset: the last element. */
        OK(dtl_window_lock(w, left, DTL_LOCK_MODE_SHARED));
        OK(dtl_window_get(w, dst, 1, d, left, (n - 1) * es));
        OK(dtl_window_unlock(w, left));
        CHECK_EQ_I(getv(dst, d, 0), (left2 * 3 + 7) % 50 + 1);
        OK(dtl_window_destroy(w));
    }
}

/* A fence that cannot run on one rank fails on every rank, without hanging;
 * so does a destroy with open epochs, which leaves the handle usable. */
static void test_collective_state_errors(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 8, &w));
    if (me == 0) OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_EXCLUSIVE));
    FAILS(dtl_window_fence(w, 0), DTL_ERROR_INVALID_STATE);
    if (me == 0) CHECK(strstr(dtl_last_error_message(), "lock or lock_all epochs on ranks [0]") != NULL);
    else CHECK(strstr(dtl_last_error_message(), "another rank rejected") != NULL);
    FAILS(dtl_window_destroy(w), DTL_ERROR_INVALID_STATE);
    if (me == 0) OK(dtl_window_unlock(w, 0));
    /* The handle survived: the window still works. */
    OK(dtl_window_fence(w, 0));
    int64_t one = 1;
    OK(dtl_window_accumulate(w, &one, 1, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM));
    OK(dtl_window_fence(w, 1));
    /* A post epoch blocks destroy too; an empty group can be waited at once. */
    if (me == np - 1) OK(dtl_window_post(w, NULL, 0));
    FAILS(dtl_window_destroy(w), DTL_ERROR_INVALID_STATE);
    if (me == np - 1) {
        CHECK(strstr(dtl_last_error_message(), "start or post epoch") != NULL);
        OK(dtl_window_wait(w));
    }
    if (np > 1) {
        /* Ranks passing different `last` get DTL_ERROR_MISMATCH, no fence runs. */
        FAILS_WITH(dtl_window_fence(w, me == 0), DTL_ERROR_MISMATCH, "last differs");
    }
    int64_t total = 0;
    OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED));
    OK(dtl_window_get(w, &total, 1, DTL_DTYPE_INT64, 0, 0));
    OK(dtl_window_unlock(w, 0));
    CHECK_EQ_I(total, np);
    /* An open fence epoch does not block destroy. */
    OK(dtl_window_fence(w, 0));
    OK(dtl_window_destroy(w));
}

/* ---- passive target ----------------------------------------------------- */

static void test_lock(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 4 * sizeof(int64_t), &w));
    int64_t v[4] = {me, me * 10, me * 100, -me};

    /* Accesses without an epoch, or outside it. */
    FAILS_WITH(dtl_window_put(w, v, 4, DTL_DTYPE_INT64, right, 0), DTL_ERROR_INVALID_STATE,
               "no access epoch covers rank");
    FAILS(dtl_window_unlock(w, right), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_flush(w, right), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_flush_all(w), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_unlock_all(w), DTL_ERROR_INVALID_STATE);
    FAILS_WITH(dtl_window_lock(w, right, 2), DTL_ERROR_INVALID_ARGUMENT, "DTL_LOCK_MODE_SHARED");
    FAILS(dtl_window_lock(w, right, -1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_lock(w, np, DTL_LOCK_MODE_SHARED), DTL_ERROR_BOUNDS);
    FAILS_WITH(dtl_window_lock(w, -1, DTL_LOCK_MODE_SHARED), DTL_ERROR_BOUNDS, "got -1");
    FAILS(dtl_window_unlock(w, -5), DTL_ERROR_BOUNDS);

    /* Exclusive lock of the right neighbour: put, flush, unlock. */
    OK(dtl_window_lock(w, right, DTL_LOCK_MODE_EXCLUSIVE));
    FAILS(dtl_window_lock(w, right, DTL_LOCK_MODE_SHARED), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_lock_all(w), DTL_ERROR_INVALID_STATE);
    if (np > 2) FAILS(dtl_window_put(w, v, 4, DTL_DTYPE_INT64, left, 0), DTL_ERROR_INVALID_STATE);
    OK(dtl_window_put(w, v, 2, DTL_DTYPE_INT64, right, 0));
    OK(dtl_window_flush_local(w, right));
    OK(dtl_window_put(w, v + 2, 2, DTL_DTYPE_INT64, right, 16));
    OK(dtl_window_flush(w, right));
    OK(dtl_window_unlock(w, right));
    OK(dtl_context_barrier(ctx));

    int64_t mine[4];
    read_own(w, mine, sizeof mine);
    CHECK_EQ_I(mine[0], left);
    CHECK_EQ_I(mine[1], left * 10);
    CHECK_EQ_I(mine[2], left * 100);
    CHECK_EQ_I(mine[3], -left);

    /* Shared lock: get what the left neighbour holds (from its left). */
    int32_t left2 = (me - 2 + 2 * np) % np;
    int64_t got[4] = {0};
    OK(dtl_window_lock(w, left, DTL_LOCK_MODE_SHARED));
    OK(dtl_window_get(w, got, 4, DTL_DTYPE_INT64, left, 0));
    OK(dtl_window_unlock(w, left));
    CHECK_EQ_I(got[0], left2);
    CHECK_EQ_I(got[2], left2 * 100);
    CHECK_EQ_I(got[3], -left2);
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
}

static void test_lock_all(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, (uint64_t)np * sizeof(int32_t), &w));
    int32_t *vals = malloc((size_t)np * sizeof(int32_t));
    int32_t *got = malloc((size_t)np * sizeof(int32_t));
    CHECK(vals != NULL && got != NULL);
    OK(dtl_window_lock_all(w));
    FAILS(dtl_window_lock_all(w), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED), DTL_ERROR_INVALID_STATE);
    /* Slot `me` of every target t := (me + 1) * 1000 + t. */
    for (int32_t t = 0; t < np; t++) {
        vals[t] = (me + 1) * 1000 + t;
        OK(dtl_window_put(w, &vals[t], 1, DTL_DTYPE_INT32, t, (uint64_t)me * 4));
    }
    OK(dtl_window_flush_all(w));
    OK(dtl_window_flush_local_all(w));
    OK(dtl_context_barrier(ctx));
    for (int32_t t = 0; t < np; t++) {
        OK(dtl_window_get(w, got, (uint64_t)np, DTL_DTYPE_INT32, t, 0));
        OK(dtl_window_flush(w, t));
        for (int32_t j = 0; j < np; j++) CHECK_EQ_I(got[j], (j + 1) * 1000 + t);
    }
    OK(dtl_window_flush_local(w, left));
    OK(dtl_window_unlock_all(w));
    FAILS(dtl_window_unlock_all(w), DTL_ERROR_INVALID_STATE);
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
    free(vals);
    free(got);
}

/* ---- PSCW --------------------------------------------------------------- */

static void test_pscw(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 2 * sizeof(double), &w));
    /* Every rank exposes itself to its left neighbour and accesses its right. */
    const int32_t to_left[1] = {left}, to_right[1] = {right};
    double v[2] = {me + 0.5, me * 2.0};
    OK(dtl_window_post(w, to_left, 1));
    FAILS(dtl_window_post(w, to_left, 1), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_fence(w, 0), DTL_ERROR_INVALID_STATE); /* on every rank */
    OK(dtl_window_start(w, to_right, 1));
    FAILS(dtl_window_start(w, to_right, 1), DTL_ERROR_INVALID_STATE);
    if (np > 2) FAILS(dtl_window_put(w, v, 2, DTL_DTYPE_FLOAT64, left, 0), DTL_ERROR_INVALID_STATE);
    OK(dtl_window_put(w, v, 2, DTL_DTYPE_FLOAT64, right, 0));
    OK(dtl_window_complete(w));
    OK(dtl_window_wait(w));
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    CHECK(((double *)base)[0] == left + 0.5);
    CHECK(((double *)base)[1] == left * 2.0);

    /* Round two, with MPI_Win_test: read back what this rank put. */
    double got[2] = {0, 0};
    OK(dtl_window_post(w, to_left, 1));
    OK(dtl_window_start(w, to_right, 1));
    OK(dtl_window_get(w, got, 2, DTL_DTYPE_FLOAT64, right, 0));
    OK(dtl_window_complete(w));
    CHECK(got[0] == v[0] && got[1] == v[1]);
    int32_t done = 0;
    dtl_status st = DTL_SUCCESS;
    while (st == DTL_SUCCESS && !done) st = dtl_window_test(w, &done); /* polls: not counted */
    OK(st);
    CHECK_EQ_I(done, 1);
    FAILS(dtl_window_test(w, &done), DTL_ERROR_INVALID_STATE);

    /* Errors. */
    const int32_t bad_hi[2] = {0, np}, bad_neg[1] = {-1};
    FAILS_WITH(dtl_window_start(w, bad_hi, 2), DTL_ERROR_BOUNDS, "group[1]");
    FAILS_WITH(dtl_window_post(w, bad_neg, 1), DTL_ERROR_BOUNDS, "group[0] = -1");
    FAILS(dtl_window_start(w, NULL, 1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_post(w, (const int32_t *)((const char *)to_left + 1), 1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_complete(w), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_wait(w), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_window_test(w, &done), DTL_ERROR_INVALID_STATE);
    OK(dtl_window_post(w, NULL, 0));
    FAILS(dtl_window_test(w, NULL), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_window_wait(w));
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
}

/* ---- atomics ------------------------------------------------------------ */

/* Layout of the accumulate window (bytes). */
enum { ACC_I64 = 0, ACC_F64 = 64, ACC_U16 = 96, ACC_BYTES = 104 };

static void test_accumulate(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, ACC_BYTES, &w));
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    int64_t *s = (int64_t *)((char *)base + ACC_I64);
    double *f = (double *)((char *)base + ACC_F64);
    uint16_t *u = (uint16_t *)((char *)base + ACC_U16);
    /* Initial values, stored locally before the first fence. */
    const int64_t init_i[8] = {0, -1, 1000, 0, 1, ~(int64_t)0, 0, 0};
    const double init_f[4] = {0.0, 1.0, 1e9, -1e9};
    memcpy(s, init_i, sizeof init_i);
    memcpy(f, init_f, sizeof init_f);

    const int64_t one_bit = (int64_t)1 << me;
    const int64_t ai[8] = {me + 1, me, me, 42, 2, ~one_bit, one_bit, one_bit | 1};
    const int ops_i[8] = {DTL_RMA_OP_SUM,  DTL_RMA_OP_MAX,  DTL_RMA_OP_MIN, DTL_RMA_OP_REPLACE,
                          DTL_RMA_OP_PROD, DTL_RMA_OP_BAND, DTL_RMA_OP_BOR, DTL_RMA_OP_BXOR};
    const double af[4] = {0.5 * (me + 1), 2.0, me + 0.25, me + 0.25};
    const int ops_f[4] = {DTL_RMA_OP_SUM, DTL_RMA_OP_PROD, DTL_RMA_OP_MIN, DTL_RMA_OP_MAX};
    const uint16_t au[4] = {(uint16_t)me, 1, (uint16_t)(2 * me), 3};

    OK(dtl_window_fence(w, 0));
    for (int32_t t = 0; t < np; t++) {
        for (int k = 0; k < 8; k++)
            OK(dtl_window_accumulate(w, &ai[k], 1, DTL_DTYPE_INT64, t, ACC_I64 + 8 * k, ops_i[k]));
        for (int k = 0; k < 4; k++)
            OK(dtl_window_accumulate(w, &af[k], 1, DTL_DTYPE_FLOAT64, t, ACC_F64 + 8 * k, ops_f[k]));
        OK(dtl_window_accumulate(w, au, 4, DTL_DTYPE_UINT16, t, ACC_U16, DTL_RMA_OP_SUM));
    }
    /* Op errors (checked before MPI sees anything). */
    FAILS_WITH(dtl_window_accumulate(w, &ai[0], 1, DTL_DTYPE_INT64, 0, 0, 4), DTL_ERROR_INVALID_ARGUMENT,
               "logical ops");
    FAILS(dtl_window_accumulate(w, &ai[0], 1, DTL_DTYPE_INT64, 0, 0, 12), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_accumulate(w, &ai[0], 1, DTL_DTYPE_INT64, 0, 0, -1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_window_accumulate(w, &ai[0], 1, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_NO_OP),
               DTL_ERROR_INVALID_ARGUMENT, "NO_OP");
    FAILS(dtl_window_accumulate(w, &af[0], 1, DTL_DTYPE_FLOAT64, 0, ACC_F64, DTL_RMA_OP_BAND),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_accumulate(w, &af[0], 1, DTL_DTYPE_FLOAT32, 0, ACC_F64, DTL_RMA_OP_BXOR),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_accumulate(w, &af[0], 1, 10, 0, ACC_F64, DTL_RMA_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_window_fence(w, 1));

    const int64_t n = np, all_bits = ((int64_t)1 << np) - 1;
    CHECK_EQ_I(s[0], n * (n + 1) / 2);
    CHECK_EQ_I(s[1], n - 1);
    CHECK_EQ_I(s[2], 0);
    CHECK_EQ_I(s[3], 42);
    CHECK_EQ_I(s[4], (int64_t)1 << np);
    CHECK_EQ_I(s[5], ~all_bits);
    CHECK_EQ_I(s[6], all_bits);
    CHECK_EQ_I(s[7], (all_bits - 1) | (n % 2));
    CHECK(f[0] == (double)(n * (n + 1)) / 4.0);
    CHECK(f[1] == ldexp(1.0, np));
    CHECK(f[2] == 0.25);
    CHECK(f[3] == (double)(n - 1) + 0.25);
    CHECK_EQ_U(u[0], n * (n - 1) / 2);
    CHECK_EQ_U(u[1], n);
    CHECK_EQ_U(u[2], n * (n - 1));
    CHECK_EQ_U(u[3], 3 * n);
    OK(dtl_window_destroy(w));
}

static void test_get_accumulate(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 4 * sizeof(int64_t) + 2 * sizeof(float), &w));
    /* Serialised by exclusive locks: each rank adds {1,2,3,4} and sees
     * k * (number of ranks before it) in slot k - 1. */
    const int64_t add[4] = {1, 2, 3, 4};
    int64_t old[4] = {-1, -1, -1, -1};
    OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_EXCLUSIVE));
    OK(dtl_window_get_accumulate(w, add, old, 4, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM));
    OK(dtl_window_unlock(w, 0));
    int64_t before = old[0];
    CHECK(before >= 0 && before < np);
    for (int k = 0; k < 4; k++) CHECK_EQ_I(old[k], (k + 1) * before);
    CHECK_EQ_I(sum_i64(ctx, before), (int64_t)np * (np - 1) / 2);
    CHECK_EQ_I(max_i64(ctx, before), np - 1);

    /* NO_OP: an atomic read, here in a fence epoch (complete at the fence). */
    const int64_t zeros[4] = {0, 0, 0, 0};
    int64_t now[4] = {0};
    OK(dtl_window_fence(w, 0));
    OK(dtl_window_get_accumulate(w, zeros, now, 4, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_NO_OP));
    OK(dtl_window_fence(w, 0));
    for (int k = 0; k < 4; k++) CHECK_EQ_I(now[k], (k + 1) * np);

    /* float32 MIN / MAX over all ranks, in the same fence epoch style. */
    const float fv[2] = {-(float)me - 1.0f, (float)me + 1.0f};
    float fold[2] = {0, 0};
    OK(dtl_window_get_accumulate(w, &fv[0], &fold[0], 1, DTL_DTYPE_FLOAT32, right, 32, DTL_RMA_OP_MIN));
    OK(dtl_window_get_accumulate(w, &fv[1], &fold[1], 1, DTL_DTYPE_FLOAT32, right, 36, DTL_RMA_OP_MAX));
    OK(dtl_window_fence(w, 1));
    CHECK(fold[0] == 0.0f && fold[1] == 0.0f); /* one origin per target: the initial zeros */
    float mine[2];
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    memcpy(mine, (char *)base + 32, sizeof mine);
    CHECK(mine[0] == -(float)left - 1.0f);
    CHECK(mine[1] == (float)left + 1.0f);

    /* Errors: overlapping origin/result, NULL result. */
    int64_t buf[8] = {0};
    OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED));
    FAILS_WITH(dtl_window_get_accumulate(w, buf, buf + 2, 4, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "overlap");
    FAILS_WITH(dtl_window_get_accumulate(w, buf, NULL, 4, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "result is NULL");
    FAILS(dtl_window_get_accumulate(w, buf, buf + 4, 4, DTL_DTYPE_INT64, 0, 16, DTL_RMA_OP_SUM),
          DTL_ERROR_BOUNDS);
    OK(dtl_window_get_accumulate(w, buf, buf + 4, 4, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_NO_OP));
    OK(dtl_window_unlock(w, 0));
    for (int k = 0; k < 4; k++) CHECK_EQ_I(buf[4 + k], (k + 1) * np);
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
}

/* A shared counter: every rank adds 1 to rank 0's counters ITER times. */
static void test_fetch_and_op_counter(dtl_context_t ctx) {
    enum { ITER = 50 };
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 24, &w)); /* int64 at 0, uint32 at 8, float64 at 16 */
    const int64_t N = (int64_t)np * ITER;

    /* int64 under shared locks, one epoch per increment. */
    const int64_t one = 1;
    int64_t old = -1, prev = -1, sum_old = 0;
    for (int i = 0; i < ITER; i++) {
        OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED));
        OK(dtl_window_fetch_and_op(w, &one, &old, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM));
        OK(dtl_window_unlock(w, 0));
        CHECK(old > prev && old < N); /* this rank's tickets increase */
        prev = old;
        sum_old += old;
    }
    /* Every ticket 0 .. N-1 was handed out exactly once. */
    CHECK_EQ_I(sum_i64(ctx, sum_old), N * (N - 1) / 2);

    /* uint32 in one lock_all epoch, completed by flushes. */
    const uint32_t one_u = 1;
    uint32_t old_u = 0;
    int64_t sum_u = 0;
    OK(dtl_window_lock_all(w));
    for (int i = 0; i < ITER; i++) {
        OK(dtl_window_fetch_and_op(w, &one_u, &old_u, DTL_DTYPE_UINT32, 0, 8, DTL_RMA_OP_SUM));
        OK(dtl_window_flush_local(w, 0));
        sum_u += old_u;
    }
    OK(dtl_window_unlock_all(w));
    CHECK_EQ_I(sum_i64(ctx, sum_u), N * (N - 1) / 2);

    /* float64 in a fence epoch: the old value arrives at the closing fence. */
    const double one_f = 1.0;
    double old_f = -1.0;
    OK(dtl_window_fence(w, 0));
    OK(dtl_window_fetch_and_op(w, &one_f, &old_f, DTL_DTYPE_FLOAT64, 0, 16, DTL_RMA_OP_SUM));
    OK(dtl_window_fence(w, 1));
    CHECK(old_f >= 0.0 && old_f < np && old_f == (double)(int64_t)old_f);
    CHECK_EQ_I(sum_i64(ctx, (int64_t)old_f), (int64_t)np * (np - 1) / 2);

    /* Final values, read atomically with NO_OP (origin may be NULL). */
    int64_t c64 = 0;
    uint32_t c32 = 0;
    double cf = 0;
    OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED));
    OK(dtl_window_fetch_and_op(w, NULL, &c64, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_NO_OP));
    OK(dtl_window_fetch_and_op(w, NULL, &c32, DTL_DTYPE_UINT32, 0, 8, DTL_RMA_OP_NO_OP));
    OK(dtl_window_fetch_and_op(w, NULL, &cf, DTL_DTYPE_FLOAT64, 0, 16, DTL_RMA_OP_NO_OP));
    OK(dtl_window_flush(w, 0));
    CHECK_EQ_I(c64, N);
    CHECK_EQ_U(c32, (uint64_t)N);
    CHECK(cf == (double)np);

    /* Errors inside the epoch. */
    int64_t r2[2] = {0, 0};
    FAILS_WITH(dtl_window_fetch_and_op(w, NULL, &c64, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "origin is NULL");
    FAILS(dtl_window_fetch_and_op(w, &one, NULL, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_window_fetch_and_op(w, &one, (char *)r2 + 1, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "not aligned");
    FAILS_WITH(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, 0, 4, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "alignment");
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, 0, 24, DTL_RMA_OP_SUM), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, 0, UINT64_MAX, DTL_RMA_OP_SUM),
          DTL_ERROR_BOUNDS);
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, np, 0, DTL_RMA_OP_SUM), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, -1, 0, DTL_RMA_OP_SUM), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_fetch_and_op(w, &one_f, &cf, DTL_DTYPE_FLOAT64, 0, 16, DTL_RMA_OP_BOR),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, 0, 0, 5), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_window_fetch_and_op(w, &one, &c64, 42, 0, 0, DTL_RMA_OP_SUM), DTL_ERROR_INVALID_ARGUMENT,
               "got 42");
    FAILS_WITH(dtl_window_fetch_and_op(w, r2, r2, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
               DTL_ERROR_INVALID_ARGUMENT, "overlap");
    OK(dtl_window_unlock(w, 0));
    FAILS(dtl_window_fetch_and_op(w, &one, &c64, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM),
          DTL_ERROR_INVALID_STATE);
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
}

static int openmpi4(void) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    return strstr(v, "Open MPI v4.") != NULL;
}

static void test_compare_and_swap(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 16, &w)); /* int32 at 0, int64 at 8 */
    /* Every rank tries to swap 0 -> its own value: exactly one wins. */
    const int32_t cmp32 = 0, mine32 = me + 1;
    const int64_t cmp64 = 0, mine64 = ((int64_t)1 << 40) + me;
    int32_t old32 = -1;
    int64_t old64 = -1;
    OK(dtl_window_lock_all(w));
    OK(dtl_window_compare_and_swap(w, &mine32, &cmp32, &old32, DTL_DTYPE_INT32, 0, 0));
    OK(dtl_window_compare_and_swap(w, &mine64, &cmp64, &old64, DTL_DTYPE_INT64, 0, 8));
    OK(dtl_window_flush(w, 0));
    CHECK(old32 == 0 || (old32 >= 1 && old32 <= np));
    CHECK(old64 == 0 || (old64 >= ((int64_t)1 << 40) && old64 < ((int64_t)1 << 40) + np));
    CHECK_EQ_I(sum_i64(ctx, old32 == 0), 1);
    CHECK_EQ_I(sum_i64(ctx, old64 == 0), 1);
    int64_t winner32 = max_i64(ctx, old32 == 0 ? mine32 : 0);
    int64_t winner64 = max_i64(ctx, old64 == 0 ? mine64 : 0);
    int32_t now32 = 0;
    int64_t now64 = 0;
    OK(dtl_window_fetch_and_op(w, NULL, &now32, DTL_DTYPE_INT32, 0, 0, DTL_RMA_OP_NO_OP));
    OK(dtl_window_fetch_and_op(w, NULL, &now64, DTL_DTYPE_INT64, 0, 8, DTL_RMA_OP_NO_OP));
    OK(dtl_window_flush(w, 0));
    CHECK_EQ_I(now32, winner32);
    CHECK_EQ_I(now64, winner64);
    /* A failing compare leaves the value alone. */
    const int32_t nope = -7;
    OK(dtl_window_compare_and_swap(w, &nope, &cmp32, &old32, DTL_DTYPE_INT32, 0, 0));
    OK(dtl_window_flush(w, 0));
    CHECK_EQ_I(old32, winner32);
    /* Errors. */
    FAILS(dtl_window_compare_and_swap(w, &mine32, NULL, &old32, DTL_DTYPE_INT32, 0, 0),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_window_compare_and_swap(w, &old32, &cmp32, &old32, DTL_DTYPE_INT32, 0, 0),
               DTL_ERROR_INVALID_ARGUMENT, "overlap");
    FAILS(dtl_window_compare_and_swap(w, &mine32, &cmp32, &old32, DTL_DTYPE_INT32, 0, 14), DTL_ERROR_BOUNDS);
    OK(dtl_window_unlock_all(w));
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));

    /* On a window over caller memory: 4 bytes work everywhere; 8 bytes are
     * DTL_ERROR_NOT_SUPPORTED on Open MPI 4 with more than one rank. */
    int64_t *mem = calloc(2, sizeof(int64_t));
    CHECK(mem != NULL);
    OK(dtl_window_create(ctx, mem, 16, &w));
    OK(dtl_window_lock(w, 0, DTL_LOCK_MODE_EXCLUSIVE));
    OK(dtl_window_compare_and_swap(w, &mine32, &cmp32, &old32, DTL_DTYPE_INT32, 0, 0));
    dtl_status st = dtl_window_compare_and_swap(w, &mine64, &cmp64, &old64, DTL_DTYPE_INT64, 0, 8);
    OK(dtl_window_unlock(w, 0));
    CHECK_EQ_I(sum_i64(ctx, old32 == 0), 1);
    if (np > 1 && openmpi4()) {
        FAILS_WITH(st, DTL_ERROR_NOT_SUPPORTED, "dtl_window_allocate");
        if (me == 0) printf("    (expected: %s)\n", dtl_last_error_message());
    } else {
        OK(st);
        CHECK_EQ_I(sum_i64(ctx, old64 == 0), 1);
    }
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
    free(mem);
}

/* ---- argument checks ---------------------------------------------------- */

static void test_bad_handles(dtl_context_t ctx) {
    uint64_t sz = 0;
    int32_t x = 0;
    FAILS_WITH(dtl_window_size(NULL, &sz), DTL_ERROR_INVALID_ARGUMENT, "win is NULL");
    FAILS_WITH(dtl_window_destroy(NULL), DTL_ERROR_INVALID_ARGUMENT, "win is NULL");
    FAILS_WITH(dtl_window_fence((dtl_window_t)ctx, 0), DTL_ERROR_INVALID_ARGUMENT, "is a dtl_context_t");
    FAILS(dtl_window_put((dtl_window_t)&x, &x, 1, DTL_DTYPE_INT32, 0, 0), DTL_ERROR_INVALID_ARGUMENT);
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 8, &w));
    OK(dtl_window_destroy(w));
    /* Use after destroy, double destroy: detected without touching memory. */
    FAILS_WITH(dtl_window_destroy(w), DTL_ERROR_INVALID_ARGUMENT, "already destroyed");
    FAILS(dtl_window_size(w, &sz), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_lock(w, 0, DTL_LOCK_MODE_SHARED), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_fence(w, 1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_window_get(w, &x, 1, DTL_DTYPE_INT32, 0, 0), DTL_ERROR_INVALID_ARGUMENT);
}

static void test_bad_arguments(dtl_context_t ctx) {
    dtl_window_t w = NULL;
    OK(dtl_window_allocate(ctx, 32, &w));
    int32_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    OK(dtl_window_lock_all(w));
    /* Ranges: count and offset against the target's 32 bytes. */
    FAILS_WITH(dtl_window_put(w, buf, 9, DTL_DTYPE_INT32, right, 0), DTL_ERROR_BOUNDS, "window of 32 bytes");
    FAILS(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, right, 32), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_put(w, buf, UINT64_MAX, DTL_DTYPE_INT32, right, 0), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_put(w, buf, UINT64_MAX / 2, DTL_DTYPE_INT64, right, 0), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, right, UINT64_MAX - 1), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_get(w, buf, 2, DTL_DTYPE_FLOAT64, right, 24), DTL_ERROR_BOUNDS);
    FAILS_WITH(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, np, 0), DTL_ERROR_BOUNDS, "target must be a rank");
    FAILS(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, -1, 0), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, INT32_MIN, 0), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_flush(w, np), DTL_ERROR_BOUNDS);
    FAILS(dtl_window_flush_local(w, -3), DTL_ERROR_BOUNDS);
    /* Alignment of the offset and of the buffers. */
    FAILS_WITH(dtl_window_put(w, buf, 1, DTL_DTYPE_INT32, right, 2), DTL_ERROR_INVALID_ARGUMENT, "alignment");
    FAILS_WITH(dtl_window_put(w, (char *)buf + 1, 1, DTL_DTYPE_INT32, right, 0), DTL_ERROR_INVALID_ARGUMENT,
               "not aligned to 4 bytes");
    FAILS(dtl_window_get(w, (char *)buf + 2, 1, DTL_DTYPE_INT32, right, 0), DTL_ERROR_INVALID_ARGUMENT);
    /* NULL buffers: fine with count 0 only. */
    FAILS_WITH(dtl_window_put(w, NULL, 1, DTL_DTYPE_INT32, right, 0), DTL_ERROR_INVALID_ARGUMENT,
               "origin is NULL");
    FAILS(dtl_window_get(w, NULL, 2, DTL_DTYPE_INT32, right, 0), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_window_put(w, NULL, 0, DTL_DTYPE_INT32, right, 0));
    OK(dtl_window_get(w, NULL, 0, DTL_DTYPE_INT32, right, 32));
    /* dtype codes. */
    FAILS(dtl_window_put(w, buf, 1, -1, right, 0), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_window_get(w, buf, 1, 10, right, 0), DTL_ERROR_INVALID_ARGUMENT, "dtype must be");
    /* Buffers overlapping the accessed bytes of this rank's own window. */
    void *base = NULL;
    OK(dtl_window_base(w, &base));
    FAILS_WITH(dtl_window_put(w, base, 2, DTL_DTYPE_INT32, me, 4), DTL_ERROR_INVALID_ARGUMENT,
               "own window");
    FAILS(dtl_window_get(w, (char *)base + 8, 4, DTL_DTYPE_INT32, me, 0), DTL_ERROR_INVALID_ARGUMENT);
    /* ... but disjoint bytes of it are a valid origin. */
    OK(dtl_window_flush_all(w));
    OK(dtl_window_unlock_all(w));
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_lock(w, me, DTL_LOCK_MODE_EXCLUSIVE));
    ((int32_t *)base)[0] = 11 + me;
    ((int32_t *)base)[1] = 22 + me;
    OK(dtl_window_put(w, base, 2, DTL_DTYPE_INT32, me, 16));
    OK(dtl_window_unlock(w, me));
    int32_t mine[8];
    read_own(w, mine, sizeof mine);
    CHECK_EQ_I(mine[4], 11 + me);
    CHECK_EQ_I(mine[5], 22 + me);
    OK(dtl_context_barrier(ctx));
    OK(dtl_window_destroy(w));
}

int main(void) {
    dtl_context_t ctx = check_start("test_window");
    OK(dtl_context_rank(ctx, &me));
    OK(dtl_context_size(ctx, &np));
    left = (me - 1 + np) % np;
    right = (me + 1) % np;
    RUN(test_allocate);
    RUN(test_create);
    RUN(test_fence_dtypes);
    RUN(test_collective_state_errors);
    RUN(test_lock);
    RUN(test_lock_all);
    RUN(test_pscw);
    RUN(test_accumulate);
    RUN(test_get_accumulate);
    RUN(test_fetch_and_op_counter);
    RUN(test_compare_and_swap);
    RUN(test_bad_handles);
    RUN(test_bad_arguments);
    return check_finish(ctx);
}
