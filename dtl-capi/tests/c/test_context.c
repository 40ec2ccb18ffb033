/*
 * test_context.c - the parts of dtl.h that need no container: version and
 * status strings, dtl_init/dtl_finalize, contexts (world, from an MPI
 * communicator, dup, split), dtl_allreduce for every dtype and op, and the
 * rejection of bad input (NULL, destroyed, foreign and wrong-kind handles,
 * out-of-range codes, misaligned pointers).
 *
 * Runs at any np (make -C dtl-capi/tests/c runs it at np 1 to 4).
 */
#include <mpi.h> /* MPI_Comm values for dtl_context_create_from_comm */
#include <stdbool.h>
#include <stddef.h>

#include "check.h"

/* ------------------------------------------------------------------ helpers */

enum { NDTYPES = 10, NOPS = 10 };

static bool dtype_is_float(dtl_dtype d) { return d == DTL_DTYPE_FLOAT32 || d == DTL_DTYPE_FLOAT64; }

static bool dtype_is_signed(dtl_dtype d) { return d <= DTL_DTYPE_INT64 || dtype_is_float(d); }

static size_t dtype_bits(dtl_dtype d) {
    static const size_t bits[NDTYPES] = {8, 16, 32, 64, 8, 16, 32, 64, 32, 64};
    return bits[d];
}

/* The largest value of an integer dtype, as uint64_t. */
static uint64_t dtype_max(dtl_dtype d) {
    uint64_t all = dtype_bits(d) == 64 ? UINT64_MAX : (UINT64_C(1) << dtype_bits(d)) - 1;
    return dtype_is_signed(d) ? all >> 1 : all;
}

/* Element i of a buffer of dtype d <- v (integers: v modulo 2^bits, the
 * two's complement wrap; floats: v as a number). */
static void put(dtl_dtype d, void *buf, size_t i, uint64_t v, double f) {
    switch (d) {
    case DTL_DTYPE_INT8: ((int8_t *)buf)[i] = (int8_t)v; break;
    case DTL_DTYPE_INT16: ((int16_t *)buf)[i] = (int16_t)v; break;
    case DTL_DTYPE_INT32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case DTL_DTYPE_INT64: ((int64_t *)buf)[i] = (int64_t)v; break;
    case DTL_DTYPE_UINT8: ((uint8_t *)buf)[i] = (uint8_t)v; break;
    case DTL_DTYPE_UINT16: ((uint16_t *)buf)[i] = (uint16_t)v; break;
    case DTL_DTYPE_UINT32: ((uint32_t *)buf)[i] = (uint32_t)v; break;
    case DTL_DTYPE_UINT64: ((uint64_t *)buf)[i] = v; break;
    case DTL_DTYPE_FLOAT32: ((float *)buf)[i] = (float)f; break;
    case DTL_DTYPE_FLOAT64: ((double *)buf)[i] = f; break;
    default: CHECK(!"put: bad dtype");
    }
}

/* Element i of a buffer of dtype d, as int64 (sign-extended) or double. */
static int64_t get_i(dtl_dtype d, const void *buf, size_t i) {
    switch (d) {
    case DTL_DTYPE_INT8: return ((const int8_t *)buf)[i];
    case DTL_DTYPE_INT16: return ((const int16_t *)buf)[i];
    case DTL_DTYPE_INT32: return ((const int32_t *)buf)[i];
    case DTL_DTYPE_INT64: return ((const int64_t *)buf)[i];
    case DTL_DTYPE_UINT8: return ((const uint8_t *)buf)[i];
    case DTL_DTYPE_UINT16: return ((const uint16_t *)buf)[i];
    case DTL_DTYPE_UINT32: return ((const uint32_t *)buf)[i];
    case DTL_DTYPE_UINT64: return (int64_t)((const uint64_t *)buf)[i];
    default: return 0;
    }
}

static double get_f(dtl_dtype d, const void *buf, size_t i) {
    return d == DTL_DTYPE_FLOAT32 ? ((const float *)buf)[i] : ((const double *)buf)[i];
}

/* ---------------------------------------------------------------- strings */

static void test_strings(dtl_context_t ctx) {
    (void)ctx;
    /* No dtl call has failed yet on this thread. */
    CHECK(dtl_last_error_message() != NULL);
    CHECK(strcmp(dtl_last_error_message(), "") == 0);

    /* Version: "MAJOR.MINOR.PATCH" (optionally "-suffix"), the crate's version. */
    const char *v = dtl_version_string();
    CHECK(v != NULL);
    unsigned a = 0, b = 0, c = 0;
    int used = 0;
    CHECK(sscanf(v, "%u.%u.%u%n", &a, &b, &c, &used) == 3);
    CHECK(v[used] == '\0' || v[used] == '-' || v[used] == '+');
    CHECK(dtl_version_string() == v); /* a static string */
#ifdef DTL_TEST_VERSION
    CHECK(strcmp(v, DTL_TEST_VERSION) == 0);
#endif

    /* Every status code: its symbolic name, and a message of its own. */
    static const struct {
        dtl_status code;
        const char *name;
    } codes[] = {
        {DTL_SUCCESS, "DTL_SUCCESS"},
        {DTL_ERROR_COMMUNICATION, "DTL_ERROR_COMMUNICATION"},
        {DTL_ERROR_MEMORY, "DTL_ERROR_MEMORY"},
        {DTL_ERROR_INVALID_ARGUMENT, "DTL_ERROR_INVALID_ARGUMENT"},
        {DTL_ERROR_BOUNDS, "DTL_ERROR_BOUNDS"},
        {DTL_ERROR_MISMATCH, "DTL_ERROR_MISMATCH"},
        {DTL_ERROR_BACKEND, "DTL_ERROR_BACKEND"},
        {DTL_ERROR_NOT_SUPPORTED, "DTL_ERROR_NOT_SUPPORTED"},
        {DTL_ERROR_INVALID_STATE, "DTL_ERROR_INVALID_STATE"},
        {DTL_ERROR_INTERNAL, "DTL_ERROR_INTERNAL"},
    };
    const size_t ncodes = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < ncodes; i++) {
        const char *name = dtl_status_name(codes[i].code);
        const char *msg = dtl_status_message(codes[i].code);
        CHECK(name != NULL && msg != NULL);
        if (strcmp(name, codes[i].name) != 0) CHECK_FAIL_("status %d is named %s, expected %s", codes[i].code, name, codes[i].name);
        CHECK(strlen(msg) > 0);
        CHECK(strcmp(msg, "unknown status code") != 0);
        CHECK(dtl_status_name(codes[i].code) == name); /* static strings */
        CHECK(dtl_status_message(codes[i].code) == msg);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(msg, dtl_status_message(codes[j].code)) != 0);
    }
    CHECK(strcmp(dtl_status_message(DTL_SUCCESS), "success") == 0);
    CHECK(strcmp(dtl_status_message(DTL_ERROR_INVALID_ARGUMENT), "invalid argument") == 0);

    /* Codes dtl does not define. */
    static const dtl_status unknown[] = {-1, 1, 99, 101, 199, 201, 299, 303, 399, 402, 499, 501, 899, 901, 1000,
                                         INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK(strcmp(dtl_status_name(unknown[i]), "DTL_ERROR_UNKNOWN") == 0);
        CHECK(strcmp(dtl_status_message(unknown[i]), "unknown status code") == 0);
    }

    /* The strings never touch the last error. */
    CHECK(strcmp(dtl_last_error_message(), "") == 0);
}

/* --------------------------------------------------------------- lifetime */

static void test_init_finalize(dtl_context_t ctx) {
    (void)ctx;
    int flag = 0;
    /* MPI is up (held by ctx and by main's dtl_init); holds nest. */
    OK(dtl_init());
    OK(dtl_init());
    OK(dtl_finalize());
    OK(dtl_finalize());
    MPI_Initialized(&flag);
    CHECK(flag);
    MPI_Finalized(&flag);
    CHECK(!flag);
    /* main's hold is still there: release it, take it again. */
    OK(dtl_finalize());
    FAILS_WITH(dtl_finalize(), DTL_ERROR_INVALID_STATE, "dtl_init");
    CHECK(strstr(dtl_last_error_message(), "dtl_finalize") == dtl_last_error_message());
    FAILS(dtl_finalize(), DTL_ERROR_INVALID_STATE);
    MPI_Finalized(&flag);
    CHECK(!flag); /* ctx still holds MPI */
    OK(dtl_init());
}

/* --------------------------------------------------------------- contexts */

static void rank_size(dtl_context_t c, int32_t *rank, int32_t *size) {
    OK(dtl_context_rank(c, rank));
    OK(dtl_context_size(c, size));
    CHECK(*size >= 1);
    CHECK(*rank >= 0 && *rank < *size);
}

static void test_world(dtl_context_t ctx) {
    int wr = -1, ws = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wr);
    MPI_Comm_size(MPI_COMM_WORLD, &ws);
    int32_t r = -1, n = 0;
    rank_size(ctx, &r, &n);
    CHECK_EQ_I(r, wr);
    CHECK_EQ_I(n, ws);
    OK(dtl_context_barrier(ctx));

    /* A second world context: its own communicator over the same ranks. */
    dtl_context_t w2 = NULL;
    OK(dtl_context_create_world(&w2));
    CHECK(w2 != NULL && w2 != ctx);
    int32_t r2 = -1, n2 = 0;
    rank_size(w2, &r2, &n2);
    CHECK_EQ_I(r2, r);
    CHECK_EQ_I(n2, n);
    OK(dtl_context_barrier(w2));
    OK(dtl_context_destroy(w2));
    FAILS(dtl_context_create_world(NULL), DTL_ERROR_INVALID_ARGUMENT);
}

static void test_from_comm(dtl_context_t ctx) {
    (void)ctx;
    int wr = -1, ws = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wr);
    MPI_Comm_size(MPI_COMM_WORLD, &ws);

    /* MPI_COMM_WORLD itself. */
    MPI_Comm world = MPI_COMM_WORLD;
    dtl_context_t c = NULL;
    OK(dtl_context_create_from_comm(&world, &c));
    int32_t r = -1, n = 0;
    rank_size(c, &r, &n);
    CHECK_EQ_I(r, wr);
    CHECK_EQ_I(n, ws);
    OK(dtl_context_destroy(c));

    /* A split communicator of the caller's, in reverse rank order; the
     * caller frees it at once and the dtl context lives on. */
    MPI_Comm half = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, wr % 2, -wr, &half);
    OK(dtl_context_create_from_comm(&half, &c));
    MPI_Comm_free(&half);
    rank_size(c, &r, &n);
    const int32_t want_n = wr % 2 == 0 ? (ws + 1) / 2 : ws / 2;
    CHECK_EQ_I(n, want_n);
    CHECK_EQ_I(r, want_n - 1 - wr / 2); /* key -rank: the highest rank first */
    int32_t ranks = 0;
    OK(dtl_allreduce(c, &wr, &ranks, 1, DTL_DTYPE_INT32, DTL_OP_SUM));
    int32_t want_sum = 0;
    for (int k = wr % 2; k < ws; k += 2) want_sum += k;
    CHECK_EQ_I(ranks, want_sum);
    OK(dtl_context_barrier(c));
    OK(dtl_context_destroy(c));

    /* MPI_COMM_NULL, NULL pointers, a misaligned pointer: *out becomes NULL. */
    MPI_Comm null_comm = MPI_COMM_NULL;
    c = (dtl_context_t)&null_comm;
    FAILS_WITH(dtl_context_create_from_comm(&null_comm, &c), DTL_ERROR_INVALID_ARGUMENT, "MPI_COMM_NULL");
    CHECK(c == NULL);
    c = (dtl_context_t)&null_comm;
    FAILS(dtl_context_create_from_comm(NULL, &c), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(c == NULL);
    FAILS(dtl_context_create_from_comm(&world, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_context_create_from_comm(NULL, NULL), DTL_ERROR_INVALID_ARGUMENT);
    MPI_Comm two[2] = {MPI_COMM_WORLD, MPI_COMM_WORLD};
    FAILS_WITH(dtl_context_create_from_comm((const char *)two + 1, &c), DTL_ERROR_INVALID_ARGUMENT, "aligned");
    CHECK(c == NULL);

    /* An inter-communicator between the two halves (needs 2 ranks). */
    if (ws >= 2) {
        MPI_Comm local = MPI_COMM_NULL, inter = MPI_COMM_NULL;
        MPI_Comm_split(MPI_COMM_WORLD, wr % 2, wr, &local);
        MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, wr % 2 == 0 ? 1 : 0, 7, &inter);
        FAILS_WITH(dtl_context_create_from_comm(&inter, &c), DTL_ERROR_INVALID_ARGUMENT, "inter-communicator");
        CHECK(c == NULL);
        MPI_Comm_free(&inter);
        MPI_Comm_free(&local);
    }
}

static void test_dup_split(dtl_context_t ctx) {
    int32_t r = -1, n = 0;
    rank_size(ctx, &r, &n);

    /* dup: same ranks, a new handle. */
    dtl_context_t d = NULL;
    OK(dtl_context_dup(ctx, &d));
    CHECK(d != NULL && d != ctx);
    int32_t dr = -1, dn = 0;
    rank_size(d, &dr, &dn);
    CHECK_EQ_I(dr, r);
    CHECK_EQ_I(dn, n);
    /* A dup of a dup, destroyed in creation order. */
    dtl_context_t dd = NULL;
    OK(dtl_context_dup(d, &dd));
    OK(dtl_context_barrier(dd));
    OK(dtl_context_destroy(d));
    OK(dtl_context_barrier(dd));
    OK(dtl_context_destroy(dd));
    /* A NULL out on every rank: each takes part in MPI_Comm_dup, then fails. */
    FAILS(dtl_context_dup(ctx, NULL), DTL_ERROR_INVALID_ARGUMENT);

    /* split by parity, ranked by descending rank. */
    dtl_context_t s = NULL;
    OK(dtl_context_split(ctx, r % 2, -r, &s));
    CHECK(s != NULL);
    int32_t sr = -1, sn = 0;
    rank_size(s, &sr, &sn);
    const int32_t want_n = r % 2 == 0 ? (n + 1) / 2 : n / 2;
    CHECK_EQ_I(sn, want_n);
    CHECK_EQ_I(sr, want_n - 1 - r / 2);
    /* Split the split: every rank its own color. */
    dtl_context_t single = NULL;
    OK(dtl_context_split(s, sr, 0, &single));
    int32_t one_r = -1, one_n = 0;
    rank_size(single, &one_r, &one_n);
    CHECK_EQ_I(one_n, 1);
    CHECK_EQ_I(one_r, 0);
    OK(dtl_context_destroy(single));
    OK(dtl_context_destroy(s));

    /* A negative color (MPI_UNDEFINED) joins no sub-context: NULL, success. */
    s = (dtl_context_t)&sr;
    OK(dtl_context_split(ctx, r % 2 == 1 ? -1 : 0, 0, &s));
    if (r % 2 == 1) {
        CHECK(s == NULL);
    } else {
        CHECK(s != NULL);
        rank_size(s, &sr, &sn);
        CHECK_EQ_I(sn, (n + 1) / 2);
        CHECK_EQ_I(sr, r / 2);
        OK(dtl_context_destroy(s));
    }
    s = (dtl_context_t)&sr;
    OK(dtl_context_split(ctx, r == 0 ? INT32_MIN : -7, r, &s)); /* nobody joins */
    CHECK(s == NULL);
    /* A NULL out: takes part as MPI_UNDEFINED, then fails; the others still split. */
    s = NULL;
    if (r == 0) {
        FAILS(dtl_context_split(ctx, 0, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
    } else {
        OK(dtl_context_split(ctx, 0, 0, &s));
        rank_size(s, &sr, &sn);
        CHECK_EQ_I(sn, n - 1);
        CHECK_EQ_I(sr, r - 1);
        OK(dtl_context_destroy(s));
    }
}

/* ----------------------------------------------------------- dtl_allreduce */

enum { NE = 5 }; /* elements per call */

/* 2^bitlen(m) - 1 = 0 | 1 | ... | m (m >= 1). */
static uint64_t or_upto(uint64_t m) {
    uint64_t x = 1;
    while (x <= m) x <<= 1;
    return x - 1;
}

/* 0 ^ 1 ^ ... ^ m. */
static uint64_t xor_upto(uint64_t m) {
    switch (m % 4) {
    case 0: return m;
    case 1: return 1;
    case 2: return m + 1;
    default: return 0;
    }
}

/* (1 << min(n, 8)) - 1: the bits 1 << (r % 8) of ranks 0..n-1, or-ed. */
static uint64_t mask8(int n) { return (UINT64_C(1) << (n < 8 ? n : 8)) - 1; }

/* The same bits, xor-ed: bit b is set when an odd number of ranks have r % 8 == b. */
static uint64_t xor8(int n) {
    uint64_t x = 0;
    for (int b = 0; b < 8; b++) x |= (uint64_t)((n / 8 + (b < n % 8)) & 1) << b;
    return x;
}

/* (i + 1) (i + 2) ... (i + n), wrapping modulo 2^64. */
static uint64_t rising(uint64_t i, int n) {
    uint64_t p = 1;
    for (int k = 1; k <= n; k++) p *= i + (uint64_t)k;
    return p;
}

/*
 * Element i of rank r's send buffer (integers as uint64_t, the value taken
 * modulo 2^bits; floats as a double in *f), and of the expected result on n
 * ranks, for dtype d and op. Signed dtypes negate the odd elements for
 * SUM/PROD/MIN/MAX. Element 4 of an integer SUM adds the dtype's maximum on
 * every rank, which wraps.
 */
static void operands(dtl_dtype d, dtl_op op, int r, int n, int i, uint64_t *v, double *f, uint64_t *e,
                     double *ef) {
    const int64_t s = dtype_is_signed(d) && i % 2 == 1 ? -1 : 1;
    const uint64_t ones = UINT64_MAX, ui = (uint64_t)i, un = (uint64_t)n, ur = (uint64_t)r;
    const bool fl = dtype_is_float(d);
    *v = *e = 0;
    *f = *ef = 0;
    switch (op) {
    case DTL_OP_SUM:
        if (i == 4 && !fl) {
            *v = dtype_max(d);
            *e = un * dtype_max(d);
        } else if (i == 4) {
            *f = 0.25 * (r + 1);
            *ef = 0.125 * n * (n + 1);
        } else {
            *v = (uint64_t)(s * (r + 1 + i));
            *e = (uint64_t)(s * (n * (n + 1) / 2 + n * i));
            *f = (double)(s * (r + 1 + i));
            *ef = (double)(s * (n * (n + 1) / 2 + n * i));
        }
        return;
    case DTL_OP_PROD: {
        *v = (uint64_t)(s * (r + 1 + i));
        *f = (double)(s * (r + 1 + i));
        const int64_t sign = s < 0 && n % 2 == 1 ? -1 : 1;
        *e = (uint64_t)sign * rising(ui, n);
        *ef = (double)sign * (double)rising(ui, n);
        return;
    }
    case DTL_OP_MIN:
    case DTL_OP_MAX:
        if (i == 4 && !fl) { /* near the top of the range */
            *v = dtype_max(d) - ur;
            *e = op == DTL_OP_MIN ? dtype_max(d) - (un - 1) : dtype_max(d);
            return;
        }
        *v = (uint64_t)(s * (r + 1 + i));
        *f = (double)(s * (r + 1 + i));
        if (s < 0)
            *e = (uint64_t)(op == DTL_OP_MIN ? -(n + i) : -(1 + i));
        else
            *e = (uint64_t)(op == DTL_OP_MIN ? 1 + i : n + i);
        *ef = (double)(int64_t)*e;
        return;
    case DTL_OP_LAND: {
        static const int want[NE] = {1, 0, 1, 0, 1};
        const uint64_t vals[NE] = {1, ur, ur + 1, r == n - 1 ? 0 : 7, ones};
        *v = vals[i];
        *e = (uint64_t)want[i];
        return;
    }
    case DTL_OP_LOR: {
        const uint64_t vals[NE] = {0, ur, ur + 1, r == n - 1 ? 5 : 0, r == 0 ? ones : 0};
        const uint64_t want[NE] = {0, n > 1, 1, 1, 1};
        *v = vals[i];
        *e = want[i];
        return;
    }
    case DTL_OP_LXOR: {
        const uint64_t vals[NE] = {1, ur, ur + 1, r == 0 ? 3 : 0, 0};
        const uint64_t want[NE] = {un % 2, (un - 1) % 2, un % 2, 1, 0};
        *v = vals[i];
        *e = want[i];
        return;
    }
    case DTL_OP_BAND: {
        const uint64_t vals[NE] = {~(UINT64_C(1) << (r % 8)), ones, 0x5A, ur, (UINT64_C(1) << (r % 8)) | 0x40};
        const uint64_t want[NE] = {~mask8(n), ones, 0x5A, 0, n == 1 ? 0x41 : 0x40};
        *v = vals[i];
        *e = want[i];
        return;
    }
    case DTL_OP_BOR: {
        const uint64_t vals[NE] = {UINT64_C(1) << (r % 8), 0, 0x5A, ur, ones};
        const uint64_t want[NE] = {mask8(n), 0, 0x5A, n == 1 ? 0 : or_upto(un - 1), ones};
        *v = vals[i];
        *e = want[i];
        return;
    }
    case DTL_OP_BXOR: {
        const uint64_t vals[NE] = {UINT64_C(1) << (r % 8), 0x5A, ur, ones, 0};
        const uint64_t want[NE] = {xor8(n), n % 2 ? 0x5A : 0, xor_upto(un - 1), n % 2 ? ones : 0, 0};
        *v = vals[i];
        *e = want[i];
        return;
    }
    default: CHECK(!"operands: bad op");
    }
}

static void check_result(dtl_dtype d, dtl_op op, const void *got, const void *want, const char *how) {
    for (size_t i = 0; i < NE; i++) {
        bool same = dtype_is_float(d) ? get_f(d, got, i) == get_f(d, want, i) : get_i(d, got, i) == get_i(d, want, i);
        check_count_++;
        if (!same) {
            if (dtype_is_float(d))
                CHECK_FAIL_("allreduce (%s) dtype %d op %d element %zu: %.17g, expected %.17g", how, d, op, i,
                            get_f(d, got, i), get_f(d, want, i));
            else
                CHECK_FAIL_("allreduce (%s) dtype %d op %d element %zu: %" PRId64 ", expected %" PRId64, how, d,
                            op, i, get_i(d, got, i), get_i(d, want, i));
        }
    }
}

static void test_allreduce_all(dtl_context_t ctx) {
    int32_t r = -1, n = 0;
    rank_size(ctx, &r, &n);
    /* uint64_t storage: aligned for every dtype. */
    uint64_t send[NE], keep[NE], recv[NE], want[NE], inplace[NE], shifted[NE + 1];
    memset(send, 0, sizeof send); /* the bytes past NE small elements too */
    memset(want, 0, sizeof want);
    for (dtl_dtype d = 0; d < NDTYPES; d++) {
        for (dtl_op op = 0; op < NOPS; op++) {
            const bool int_only = op >= DTL_OP_LAND;
            if (int_only && dtype_is_float(d)) {
                memset(recv, 0, sizeof recv);
                FAILS_WITH(dtl_allreduce(ctx, send, recv, NE, d, op), DTL_ERROR_INVALID_ARGUMENT,
                           "integer dtypes only");
                FAILS(dtl_allreduce(ctx, recv, recv, NE, d, op), DTL_ERROR_INVALID_ARGUMENT);
                continue;
            }
            for (int i = 0; i < NE; i++) {
                uint64_t v, e;
                double f, ef;
                operands(d, op, r, n, i, &v, &f, &e, &ef);
                put(d, send, (size_t)i, v, f);
                put(d, want, (size_t)i, e, ef);
            }
            memcpy(keep, send, sizeof send);
            memset(recv, 0xA5, sizeof recv);
            OK(dtl_allreduce(ctx, send, recv, NE, d, op));
            check_result(d, op, recv, want, "separate buffers");
            CHECK(memcmp(send, keep, sizeof send) == 0); /* send is only read */

            memcpy(inplace, send, sizeof send);
            OK(dtl_allreduce(ctx, inplace, inplace, NE, d, op));
            check_result(d, op, inplace, want, "in place");

            /* Overlapping buffers: recv one element after send. */
            const size_t es = dtype_bits(d) / 8;
            memcpy(shifted, send, NE * es);
            OK(dtl_allreduce(ctx, shifted, (char *)shifted + es, NE, d, op));
            check_result(d, op, (char *)shifted + es, want, "overlapping");

            /* The first element only (count 1). */
            memset(recv, 0, sizeof recv);
            OK(dtl_allreduce(ctx, send, recv, 1, d, op));
            CHECK(memcmp(recv, want, es) == 0);
        }
        /* count 0: NULL buffers allowed, nothing written. */
        OK(dtl_allreduce(ctx, NULL, NULL, 0, d, DTL_OP_SUM));
        memset(recv, 0x5C, sizeof recv);
        memcpy(keep, recv, sizeof recv);
        OK(dtl_allreduce(ctx, send, recv, 0, d, DTL_OP_MAX));
        CHECK(memcmp(recv, keep, sizeof recv) == 0);
    }
}

static void test_allreduce_errors(dtl_context_t ctx) {
    int32_t r = -1, n = 0;
    rank_size(ctx, &r, &n);
    int64_t a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
    const int64_t zero[4] = {0, 0, 0, 0};

    /* Bad codes and buffers on every rank: rejected everywhere, recv untouched. */
    FAILS_WITH(dtl_allreduce(ctx, a, b, 4, 42, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT, "got 42");
    FAILS(dtl_allreduce(ctx, a, b, 4, -1, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 4, NDTYPES, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 4, INT32_MIN, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, -1), DTL_ERROR_INVALID_ARGUMENT, "got -1");
    FAILS(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, NOPS), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, INT32_MAX), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, NULL, b, 4, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_allreduce(ctx, a, NULL, 4, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT, "NULL");
    FAILS_WITH(dtl_allreduce(ctx, (char *)a + 4, b, 2, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT,
               "aligned");
    FAILS(dtl_allreduce(ctx, a, (char *)b + 2, 2, DTL_DTYPE_INT32, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    /* Counts whose size in bytes overflows: rejected before any access. */
    FAILS_WITH(dtl_allreduce(ctx, a, b, UINT64_MAX, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT,
               "too large");
    FAILS(dtl_allreduce(ctx, a, b, UINT64_MAX / 4, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(memcmp(b, zero, sizeof b) == 0);

    /* Invalid on some ranks only: every rank fails, nobody hangs. */
    FAILS(dtl_allreduce(ctx, a, b, 4, r == n - 1 ? 42 : DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, r == 0 ? -1 : DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_allreduce(ctx, r == 0 ? NULL : a, b, 4, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(memcmp(b, zero, sizeof b) == 0);

    /* Valid but different on the ranks: DTL_ERROR_MISMATCH (one rank agrees with itself). */
    const dtl_status mismatch = n > 1 ? DTL_ERROR_MISMATCH : DTL_SUCCESS;
    FAILS(dtl_allreduce(ctx, a, b, 1 + (uint64_t)(r % 4), DTL_DTYPE_INT64, DTL_OP_SUM), mismatch);
    FAILS(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, r == 0 ? DTL_OP_MIN : DTL_OP_MAX), mismatch);
    FAILS(dtl_allreduce(ctx, a, b, 2, r == 0 ? DTL_DTYPE_INT32 : DTL_DTYPE_UINT32, DTL_OP_SUM), mismatch);
    if (n > 1) CHECK(strstr(dtl_last_error_message(), "dtype") != NULL);

    /* And the context still works. */
    OK(dtl_allreduce(ctx, a, b, 4, DTL_DTYPE_INT64, DTL_OP_SUM));
    for (int i = 0; i < 4; i++) CHECK_EQ_I(b[i], (int64_t)n * (i + 1));
}

/* ---------------------------------------------------------------- bad input */

/* Every call that takes a context, with `bad` as the context: each fails at
 * once with DTL_ERROR_INVALID_ARGUMENT (no communication) and leaves the
 * outputs as documented. */
static void reject_context(dtl_context_t bad, const char *text) {
    int32_t x = 12345;
    FAILS_WITH(dtl_context_rank(bad, &x), DTL_ERROR_INVALID_ARGUMENT, text);
    FAILS_WITH(dtl_context_size(bad, &x), DTL_ERROR_INVALID_ARGUMENT, text);
    CHECK_EQ_I(x, 12345);
    FAILS_WITH(dtl_context_barrier(bad), DTL_ERROR_INVALID_ARGUMENT, text);
    dtl_context_t out = (dtl_context_t)&x;
    FAILS_WITH(dtl_context_dup(bad, &out), DTL_ERROR_INVALID_ARGUMENT, text);
    CHECK(out == NULL);
    out = (dtl_context_t)&x;
    FAILS_WITH(dtl_context_split(bad, 0, 0, &out), DTL_ERROR_INVALID_ARGUMENT, text);
    CHECK(out == NULL);
    int64_t a = 1, b = 0;
    FAILS_WITH(dtl_allreduce(bad, &a, &b, 1, DTL_DTYPE_INT64, DTL_OP_SUM), DTL_ERROR_INVALID_ARGUMENT, text);
    CHECK_EQ_I(b, 0);
    dtl_vector_t v = (dtl_vector_t)&x;
    FAILS_WITH(dtl_vector_create(bad, DTL_DTYPE_INT32, 10, &v), DTL_ERROR_INVALID_ARGUMENT, text);
    CHECK(v == NULL);
    FAILS_WITH(dtl_context_destroy(bad), DTL_ERROR_INVALID_ARGUMENT, text);
}

static void test_bad_handles(dtl_context_t ctx) {
    int32_t r = -1, n = 0;
    rank_size(ctx, &r, &n);

    /* NULL. */
    reject_context(NULL, "NULL");

    /* Destroyed: use after destroy and double destroy are detected. */
    dtl_context_t d = NULL;
    OK(dtl_context_dup(ctx, &d));
    OK(dtl_context_destroy(d));
    reject_context(d, "not a live dtl_context_t");
    FAILS(dtl_context_destroy(d), DTL_ERROR_INVALID_ARGUMENT);

    /* A pointer dtl never returned: a stack variable, even one that starts
     * with the context tag, and a heap block. */
    uint64_t fake[16];
    memset(fake, 0, sizeof fake);
    memcpy(fake, "!xtc_ltd", 8);    /* the tag, little-endian */
    reject_context((dtl_context_t)fake, "never returned by dtl");
    reject_context((dtl_context_t)((char *)fake + 3), "never returned by dtl");
    void *heap = calloc(1, 256);
    CHECK(heap != NULL);
    reject_context((dtl_context_t)heap, "never returned by dtl");
    free(heap);
    reject_context((dtl_context_t)(uintptr_t)1, "never returned by dtl");
    reject_context((dtl_context_t)(uintptr_t)-1, "never returned by dtl");

    /* A handle of the other kind: a vector passed as a context, and back. */
    dtl_vector_t v = NULL;
    OK(dtl_vector_create(ctx, DTL_DTYPE_FLOAT64, 10, &v));
    reject_context((dtl_context_t)v, "is a dtl_vector_t, not a dtl_context_t");
    uint64_t g = 0;
    FAILS_WITH(dtl_container_global_size((dtl_vector_t)ctx, &g), DTL_ERROR_INVALID_ARGUMENT,
               "is a dtl_context_t, not a dtl_vector_t");
    FAILS(dtl_vector_destroy((dtl_vector_t)ctx), DTL_ERROR_INVALID_ARGUMENT);
    /* Both survive the misuse. */
    OK(dtl_container_global_size(v, &g));
    CHECK_EQ_U(g, 10);
    OK(dtl_context_barrier(ctx));
    OK(dtl_vector_destroy(v));
    FAILS(dtl_vector_destroy(v), DTL_ERROR_INVALID_ARGUMENT);
    reject_context((dtl_context_t)v, "not a live dtl_context_t");

    /* dtype 42 when creating a vector; NULL and misaligned outputs. */
    v = (dtl_vector_t)fake;
    FAILS_WITH(dtl_vector_create(ctx, 42, 10, &v), DTL_ERROR_INVALID_ARGUMENT, "got 42");
    CHECK(v == NULL);
    FAILS(dtl_vector_create(ctx, DTL_DTYPE_INT8, 10, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_context_rank(ctx, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_context_size(ctx, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_context_rank(ctx, (int32_t *)((char *)fake + 1)), DTL_ERROR_INVALID_ARGUMENT, "aligned");
    FAILS(dtl_context_dup(ctx, (dtl_context_t *)((char *)fake + 1)), DTL_ERROR_INVALID_ARGUMENT);

    /* The last error names the function that failed. */
    FAILS(dtl_context_barrier(NULL), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(strncmp(dtl_last_error_message(), "dtl_context_barrier: ", 21) == 0);
    /* Successful calls leave it alone. */
    OK(dtl_context_barrier(ctx));
    CHECK(strncmp(dtl_last_error_message(), "dtl_context_barrier: ", 21) == 0);

    /* After all of that, ctx is unharmed. */
    int32_t r2 = -1;
    OK(dtl_context_rank(ctx, &r2));
    CHECK_EQ_I(r2, r);
}

/* ------------------------------------------------------------------- main */

int main(void) {
    /* A hold on MPI from the start, so that MPI outlives the world context
     * of check_start/check_finish (see the end of main). */
    OK(dtl_init());
    dtl_context_t ctx = check_start("test_context");

    RUN(test_strings);
    RUN(test_init_finalize);
    RUN(test_world);
    RUN(test_from_comm);
    RUN(test_dup_split);
    RUN(test_allreduce_all);
    RUN(test_allreduce_errors);
    RUN(test_bad_handles);

    const int rc = check_finish(ctx); /* the world context goes; the hold keeps MPI */
    int flag = 1;
    MPI_Finalized(&flag);
    CHECK(!flag);
    OK(dtl_finalize()); /* the last hold: MPI_Finalize */
    MPI_Finalized(&flag);
    CHECK(flag);
    /* MPI cannot come back in this process. */
    dtl_context_t again = (dtl_context_t)&flag;
    FAILS(dtl_context_create_world(&again), DTL_ERROR_BACKEND);
    CHECK(again == NULL);
    FAILS(dtl_init(), DTL_ERROR_BACKEND);
    FAILS(dtl_finalize(), DTL_ERROR_INVALID_STATE);
    return rc;
}
