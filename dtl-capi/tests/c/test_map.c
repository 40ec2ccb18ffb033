/*
 * test_map.c - the C ABI of distributed maps (dtl_map_t).
 *
 * Run at any number of ranks, e.g.
 *   mpirun -np 3 ./test_map
 *
 * The main scenario runs for every supported key dtype (int32, int64,
 * uint32, uint64, float64) and every value dtype: every rank inserts the
 * key numbers i < N with i % size == rank (most of them owned elsewhere),
 * then the reads, sizes and views are checked against the set computed here
 * independently. Key number i becomes a key of each dtype by a strictly
 * increasing function (make_key), so "sorted by key" is "sorted by i".
 */
#include <stdbool.h>

#include "check.h"

static int32_t RANK = -1, SIZE = 0;

static const dtl_dtype KEY_DTYPES[] = {DTL_DTYPE_INT32, DTL_DTYPE_INT64, DTL_DTYPE_UINT32,
                                       DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT64};
#define N_KEY_DTYPES (sizeof KEY_DTYPES / sizeof KEY_DTYPES[0])

static size_t dsize(dtl_dtype d) {
    switch (d) {
    case DTL_DTYPE_INT8:
    case DTL_DTYPE_UINT8:
        return 1;
    case DTL_DTYPE_INT16:
    case DTL_DTYPE_UINT16:
        return 2;
    case DTL_DTYPE_INT32:
    case DTL_DTYPE_UINT32:
    case DTL_DTYPE_FLOAT32:
        return 4;
    default:
        return 8;
    }
}

/* Key number i (0 <= i < 2^20) as an element of kd; strictly increasing in i. */
static void make_key(dtl_dtype kd, int64_t i, void *out) {
    switch (kd) {
    case DTL_DTYPE_INT32: {
        int32_t k = (int32_t)(i * 7 - 500);
        memcpy(out, &k, sizeof k);
        break;
    }
    case DTL_DTYPE_INT64: {
        int64_t k = i * INT64_C(1000000007) - INT64_C(40000000000);
        memcpy(out, &k, sizeof k);
        break;
    }
    case DTL_DTYPE_UINT32: {
        uint32_t k = UINT32_C(4000000000) + (uint32_t)i * 3u;
        memcpy(out, &k, sizeof k);
        break;
    }
    case DTL_DTYPE_UINT64: {
        uint64_t k = (UINT64_C(1) << 63) + (uint64_t)i * (UINT64_C(1) << 32) + 5u;
        memcpy(out, &k, sizeof k);
        break;
    }
    case DTL_DTYPE_FLOAT64: {
        double k = (double)i * 0.75 - 20.5;
        memcpy(out, &k, sizeof k);
        break;
    }
    default:
        CHECK(!"make_key: not a key dtype");
    }
}

/* The value written for key number i in "round" s (exact in every dtype). */
static void make_value(dtl_dtype vd, int64_t i, int64_t s, void *out) {
    int64_t x = i * 3 + s * 101;
    switch (vd) {
    case DTL_DTYPE_INT8: {
        int8_t v = (int8_t)(x % 127 - 63);
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_INT16: {
        int16_t v = (int16_t)(x % 30000 - 15000);
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_INT32: {
        int32_t v = (int32_t)(x * 1000 - 7);
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_INT64: {
        int64_t v = x * INT64_C(10000000000) + 1;
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_UINT8: {
        uint8_t v = (uint8_t)(x % 251);
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_UINT16: {
        uint16_t v = (uint16_t)(x % 65521);
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_UINT32: {
        uint32_t v = (uint32_t)x * 100000u + 3u;
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_UINT64: {
        uint64_t v = ((uint64_t)x << 33) | 1u;
        memcpy(out, &v, sizeof v);
        break;
    }
    case DTL_DTYPE_FLOAT32: {
        float v = (float)x * 0.5f + 0.25f;
        memcpy(out, &v, sizeof v);
        break;
    }
    default: {
        double v = (double)x * 0.125 - 1e9;
        memcpy(out, &v, sizeof v);
        break;
    }
    }
}

/* The key number of the key at p (searched among 0 .. limit-1), or -1. */
static int64_t key_index(dtl_dtype kd, const void *p, int64_t limit) {
    unsigned char k[8];
    for (int64_t i = 0; i < limit; i++) {
        make_key(kd, i, k);
        if (memcmp(k, p, dsize(kd)) == 0) return i;
    }
    return -1;
}

static bool all_bytes(const void *p, size_t n, unsigned char b) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != b) return false;
    return true;
}

static uint64_t sum_u64(dtl_context_t ctx, uint64_t x) {
    uint64_t total = 0;
    OK(dtl_allreduce(ctx, &x, &total, 1, DTL_DTYPE_UINT64, DTL_OP_SUM));
    return total;
}

static dtl_map_t create(dtl_context_t ctx, dtl_dtype kd, dtl_dtype vd) {
    dtl_map_t m = NULL;
    OK(dtl_map_create(ctx, kd, vd, &m));
    CHECK(m != NULL);
    return m;
}

/* Checks the global view against the key numbers i < limit with keep[i],
 * valued make_value(vd, i, 0). Rank 0 passes a buffer half the size: it gets
 * the first half of the pairs, the full count, and nothing past the end. */
static void check_global_view(dtl_map_t m, dtl_dtype kd, dtl_dtype vd, const bool *keep, int64_t limit) {
    size_t ks = dsize(kd), vs = dsize(vd);
    uint64_t expected = 0, count = 12345;
    for (int64_t i = 0; i < limit; i++) expected += keep[i];
    OK(dtl_map_global_view(m, NULL, NULL, 0, &count));
    CHECK_EQ_U(count, expected);
    uint64_t cap = RANK == 0 ? expected / 2 : expected;
    unsigned char *gk = malloc((expected + 1) * ks), *gv = malloc((expected + 1) * vs);
    CHECK(gk != NULL && gv != NULL);
    memset(gk, 0xAB, (expected + 1) * ks);
    memset(gv, 0xAB, (expected + 1) * vs);
    count = 0;
    OK(dtl_map_global_view(m, gk, gv, cap, &count));
    CHECK_EQ_U(count, expected);
    unsigned char k[8], v[8];
    uint64_t j = 0;
    for (int64_t i = 0; i < limit && j < cap; i++) {
        if (!keep[i]) continue;
        make_key(kd, i, k);
        make_value(vd, i, 0, v);
        CHECK(memcmp(gk + j * ks, k, ks) == 0);
        CHECK(memcmp(gv + j * vs, v, vs) == 0);
        j++;
    }
    CHECK_EQ_U(j, cap);
    CHECK(all_bytes(gk + cap * ks, (expected + 1 - cap) * ks, 0xAB));
    CHECK(all_bytes(gv + cap * vs, (expected + 1 - cap) * vs, 0xAB));
    free(gk);
    free(gv);
}

/* Checks this rank's pairs: sorted, all owned here, the right values, and
 * exactly the keys < limit with keep[i] that dtl_map_owner puts here; their
 * counts sum to the global size. */
static void check_local_pairs(dtl_context_t ctx, dtl_map_t m, dtl_dtype kd, dtl_dtype vd, const bool *keep,
                              int64_t limit, uint64_t global) {
    size_t ks = dsize(kd), vs = dsize(vd);
    uint64_t n = 999, size = 0;
    OK(dtl_map_local_pairs(m, NULL, NULL, 0, &n));
    OK(dtl_map_local_size(m, &size));
    CHECK_EQ_U(n, size);
    unsigned char *lk = malloc((n + 1) * ks), *lv = malloc((n + 1) * vs);
    CHECK(lk != NULL && lv != NULL);
    uint64_t got = 0;
    OK(dtl_map_local_pairs(m, lk, lv, n + 1, &got)); /* a larger buffer is fine */
    CHECK_EQ_U(got, n);
    unsigned char v[8];
    int64_t prev = -1;
    for (uint64_t j = 0; j < n; j++) {
        int64_t i = key_index(kd, lk + j * ks, limit);
        CHECK(i >= 0);
        CHECK(keep[i]);
        CHECK(i > prev); /* sorted by key */
        prev = i;
        make_value(vd, i, 0, v);
        CHECK(memcmp(lv + j * vs, v, vs) == 0);
        int32_t owner = -1, local = -1;
        OK(dtl_map_owner(m, lk + j * ks, &owner));
        CHECK_EQ_I(owner, RANK);
        OK(dtl_map_is_local(m, lk + j * ks, &local));
        CHECK_EQ_I(local, 1);
    }
    /* Every kept key owned here is here. */
    uint64_t owned = 0;
    unsigned char k[8];
    for (int64_t i = 0; i < limit; i++) {
        if (!keep[i]) continue;
        int32_t owner = -1;
        make_key(kd, i, k);
        OK(dtl_map_owner(m, k, &owner));
        CHECK(owner >= 0 && owner < SIZE);
        owned += owner == RANK;
    }
    CHECK_EQ_U(owned, n);
    CHECK_EQ_U(sum_u64(ctx, n), global);
    free(lk);
    free(lv);
}

static void scenario(dtl_context_t ctx, dtl_dtype kd, dtl_dtype vd) {
    const int64_t N = 8 * (int64_t)SIZE + 3;
    size_t ks = dsize(kd), vs = dsize(vd);
    unsigned char k[8], v[8], out[8];
    uint64_t u = 77;
    dtl_map_t m = create(ctx, kd, vd);

    dtl_dtype d = -1;
    OK(dtl_map_key_dtype(m, &d));
    CHECK_EQ_I(d, kd);
    OK(dtl_map_value_dtype(m, &d));
    CHECK_EQ_I(d, vd);

    /* Empty map. */
    OK(dtl_map_local_size(m, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, 0);
    u = 77;
    OK(dtl_map_local_pairs(m, NULL, NULL, 0, &u));
    CHECK_EQ_U(u, 0);
    u = 77;
    OK(dtl_map_global_view(m, NULL, NULL, 0, &u));
    CHECK_EQ_U(u, 0);

    /* Inserts: key numbers i % SIZE == RANK, alternately one by one and in
     * one insert_many batch. */
    unsigned char *bk = malloc((size_t)N * ks), *bv = malloc((size_t)N * vs);
    CHECK(bk != NULL && bv != NULL);
    uint64_t nb = 0, mine = 0, remote = 0;
    for (int64_t i = RANK; i < N; i += SIZE) {
        make_key(kd, i, k);
        make_value(vd, i, 0, v);
        int32_t owner = -1, local = -1;
        OK(dtl_map_owner(m, k, &owner));
        CHECK(owner >= 0 && owner < SIZE);
        OK(dtl_map_is_local(m, k, &local));
        CHECK_EQ_I(local, owner == RANK);
        remote += owner != RANK;
        if (mine % 2 == 0) {
            OK(dtl_map_insert(m, k, v));
        } else {
            memcpy(bk + nb * ks, k, ks);
            memcpy(bv + nb * vs, v, vs);
            nb++;
        }
        mine++;
    }
    OK(dtl_map_insert_many(m, bk, bv, nb));
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, remote);
    OK(dtl_map_local_size(m, &u)); /* own keys are applied at once */
    CHECK_EQ_U(u, mine - remote);
    if (SIZE > 1) CHECK(sum_u64(ctx, remote) > 0); /* some keys went elsewhere */

    OK(dtl_map_flush(m));
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, (uint64_t)N);

    bool *keep = malloc((size_t)N * sizeof *keep);
    CHECK(keep != NULL);
    for (int64_t i = 0; i < N; i++) keep[i] = true;
    check_local_pairs(ctx, m, kd, vd, keep, N, (uint64_t)N);
    check_global_view(m, kd, vd, keep, N);

    /* find / contains: a key the next rank inserted (unaligned key and
     * value_out), then an absent key. */
    unsigned char kbuf[16], vbuf[16];
    int64_t j = (RANK + 1) % SIZE + SIZE * (RANK % 4);
    make_key(kd, j, kbuf + 1);
    memset(vbuf, 0x5A, sizeof vbuf);
    int32_t found = -1;
    OK(dtl_map_find(m, kbuf + 1, vbuf + 3, &found));
    CHECK_EQ_I(found, 1);
    make_value(vd, j, 0, v);
    CHECK(memcmp(vbuf + 3, v, vs) == 0);
    CHECK(vbuf[2] == 0x5A && vbuf[3 + vs] == 0x5A);
    found = -1;
    OK(dtl_map_contains(m, kbuf + 1, &found));
    CHECK_EQ_I(found, 1);
    make_key(kd, N + RANK, k);
    memset(out, 0x5A, sizeof out);
    found = -1;
    OK(dtl_map_find(m, k, out, &found));
    CHECK_EQ_I(found, 0);
    CHECK(all_bytes(out, vs, 0)); /* zero of the value dtype */
    found = -1;
    OK(dtl_map_contains(m, k, &found));
    CHECK_EQ_I(found, 0);

    /* find_many: every key in reverse order, an absent key, a duplicate, and
     * RANK more absent keys (so the batch size differs between ranks); the
     * key array is unaligned. */
    uint64_t nq = (uint64_t)N + 2 + (uint64_t)RANK;
    unsigned char *qk = malloc(nq * ks + 1), *qv = malloc(nq * vs);
    int32_t *qf = malloc(nq * sizeof *qf);
    CHECK(qk != NULL && qv != NULL && qf != NULL);
    for (int64_t i = 0; i < N; i++) make_key(kd, N - 1 - i, qk + 1 + (size_t)i * ks);
    make_key(kd, N + 5, qk + 1 + (size_t)N * ks);
    make_key(kd, 0, qk + 1 + (size_t)(N + 1) * ks);
    for (int32_t r = 0; r < RANK; r++) make_key(kd, N + 10 + r, qk + 1 + (size_t)(N + 2 + r) * ks);
    memset(qv, 0x5A, nq * vs);
    OK(dtl_map_find_many(m, qk + 1, nq, qv, qf));
    for (uint64_t q = 0; q < nq; q++) {
        int64_t i = q < (uint64_t)N ? N - 1 - (int64_t)q : q == (uint64_t)N + 1 ? 0 : -1;
        if (i >= 0) {
            CHECK_EQ_I(qf[q], 1);
            make_value(vd, i, 0, v);
            CHECK(memcmp(qv + q * vs, v, vs) == 0);
        } else {
            CHECK_EQ_I(qf[q], 0);
            CHECK(all_bytes(qv + q * vs, vs, 0));
        }
    }

    /* Erase the key numbers divisible by 3, each by the rank that inserted
     * it (alternately erase and erase_many), plus an absent key. */
    nb = 0;
    int64_t n3 = 0;
    for (int64_t i = RANK; i < N; i += SIZE) {
        if (i % 3 != 0) continue;
        make_key(kd, i, k);
        if (n3++ % 2 == 0) {
            OK(dtl_map_erase(m, k));
        } else {
            memcpy(bk + nb * ks, k, ks);
            nb++;
        }
    }
    OK(dtl_map_erase_many(m, bk, nb));
    make_key(kd, N + 100 + RANK, k);
    OK(dtl_map_erase(m, k));
    OK(dtl_map_global_size(m, &u));
    uint64_t left = (uint64_t)N - (uint64_t)(N + 2) / 3;
    CHECK_EQ_U(u, left);
    make_key(kd, 0, k);
    OK(dtl_map_contains(m, k, &found));
    CHECK_EQ_I(found, 0);
    make_key(kd, 1, k);
    OK(dtl_map_find(m, k, out, &found));
    CHECK_EQ_I(found, 1);
    make_value(vd, 1, 0, v);
    CHECK(memcmp(out, v, vs) == 0);
    for (int64_t i = 0; i < N; i++) keep[i] = i % 3 != 0;
    check_local_pairs(ctx, m, kd, vd, keep, N, left);
    check_global_view(m, kd, vd, keep, N);

    OK(dtl_map_destroy(m));
    free(keep);
    free(bk);
    free(bv);
    free(qk);
    free(qv);
    free(qf);
}

/* Every key dtype with every value dtype. */
static void test_all_dtypes(dtl_context_t ctx) {
    for (size_t a = 0; a < N_KEY_DTYPES; a++)
        for (dtl_dtype vd = DTL_DTYPE_INT8; vd <= DTL_DTYPE_FLOAT64; vd++) scenario(ctx, KEY_DTYPES[a], vd);
}

/* Many-calls with n = 0 (NULL arrays allowed), find_many with n = 0 on some
 * ranks only, and an empty map's reads. */
static void test_empty_and_zero_counts(dtl_context_t ctx) {
    dtl_map_t m = create(ctx, DTL_DTYPE_UINT32, DTL_DTYPE_INT16);
    uint64_t u = 5;
    OK(dtl_map_insert_many(m, NULL, NULL, 0));
    OK(dtl_map_erase_many(m, NULL, 0));
    OK(dtl_map_find_many(m, NULL, 0, NULL, NULL));
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_map_flush(m));
    OK(dtl_map_flush(m));
    uint32_t key = 17;
    int16_t val = -1;
    int32_t found = -1;
    OK(dtl_map_find(m, &key, &val, &found));
    CHECK_EQ_I(found, 0);
    CHECK_EQ_I(val, 0);
    OK(dtl_map_contains(m, &key, &found));
    CHECK_EQ_I(found, 0);
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, 0);

    int16_t v = 42;
    if (RANK == SIZE - 1) OK(dtl_map_insert(m, &key, &v));
    /* Odd ranks look up two keys, even ranks none. */
    uint32_t keys[2] = {17, 18};
    int16_t vals[2] = {-1, -1};
    int32_t f[2] = {-1, -1};
    if (RANK % 2 == 1) {
        OK(dtl_map_find_many(m, keys, 2, vals, f));
        CHECK_EQ_I(f[0], 1);
        CHECK_EQ_I(vals[0], 42);
        CHECK_EQ_I(f[1], 0);
        CHECK_EQ_I(vals[1], 0);
    } else {
        OK(dtl_map_find_many(m, NULL, 0, NULL, NULL));
    }
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, 1);
    /* local_pairs with capacity 0 on the owner reports the count, writes nothing. */
    OK(dtl_map_local_pairs(m, NULL, NULL, 0, &u));
    int32_t local = -1;
    OK(dtl_map_is_local(m, &key, &local));
    CHECK_EQ_U(u, (uint64_t)local);
    OK(dtl_map_destroy(m));
}

/* The documented order of writes: last write wins within one rank; at a
 * flush, writes from other ranks are applied after the owner's, by source
 * rank. */
static void test_duplicates(dtl_context_t ctx) {
    dtl_map_t m = create(ctx, DTL_DTYPE_INT64, DTL_DTYPE_FLOAT64);
    int64_t x = 1000;
    double v = 0, got = -1;
    int32_t owner = -1, found = -1;
    OK(dtl_map_owner(m, &x, &owner));

    /* Every rank writes x twice; its second write is 10 * (rank + 1). */
    v = -5.0;
    OK(dtl_map_insert(m, &x, &v));
    v = 10.0 * (RANK + 1);
    OK(dtl_map_insert(m, &x, &v));
    int32_t winner = SIZE == 1 ? 0 : owner == SIZE - 1 ? SIZE - 2 : SIZE - 1;
    OK(dtl_map_find(m, &x, &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK_EQ_I(got, 10.0 * (winner + 1));

    /* A batch with a repeated key: the last value wins. */
    int64_t ks[4] = {2000 + RANK, 3000 + RANK, 2000 + RANK, 2000 + RANK};
    double vs[4] = {1, 2, 3, 4};
    OK(dtl_map_insert_many(m, ks, vs, 4));
    OK(dtl_map_find(m, &ks[0], &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK_EQ_I(got, 4);

    /* Insert then erase (one rank, before a flush): absent. Erase then
     * insert: present. */
    int64_t y = 4000, z = 5000;
    if (RANK == 0) {
        OK(dtl_map_insert(m, &y, &v));
        OK(dtl_map_erase(m, &y));
    }
    if (RANK == SIZE - 1) {
        OK(dtl_map_erase(m, &z));
        v = 7.5;
        OK(dtl_map_insert(m, &z, &v));
    }
    OK(dtl_map_contains(m, &y, &found));
    CHECK_EQ_I(found, 0);
    OK(dtl_map_find(m, &z, &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK_EQ_I(got, 7.5);

    /* The owner inserts w, another rank erases it in the same epoch: the
     * remote erase is applied after the owner's insert, so w is absent. */
    if (SIZE > 1) {
        int64_t w = 6000;
        int32_t wo = -1;
        for (;; w++) {
            OK(dtl_map_owner(m, &w, &wo));
            if (wo == 0) break;
        }
        v = 1.25;
        if (RANK == 0) OK(dtl_map_insert(m, &w, &v));
        if (RANK == SIZE - 1) OK(dtl_map_erase(m, &w));
        OK(dtl_map_contains(m, &w, &found));
        CHECK_EQ_I(found, 0);
    }

    uint64_t u = 0;
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, 1 + 2 * (uint64_t)SIZE + 1); /* x, 2000+r and 3000+r, z */
    OK(dtl_map_destroy(m));
}

/* float64 keys: -0.0 is 0.0, infinities are keys, NaN keys are rejected
 * everywhere (nothing changed, outputs untouched, every rank fails a
 * collective read); NaN values are fine. */
static void test_float_keys(dtl_context_t ctx) {
    dtl_map_t m = create(ctx, DTL_DTYPE_FLOAT64, DTL_DTYPE_FLOAT64);
    double mz = -0.0, pz = 0.0, inf = INFINITY, nan = NAN, one = 1.0, got = -1;
    int32_t found = -1, o1 = -1, o2 = -2;
    OK(dtl_map_owner(m, &mz, &o1));
    OK(dtl_map_owner(m, &pz, &o2));
    CHECK_EQ_I(o1, o2);
    if (RANK == 0) {
        OK(dtl_map_insert(m, &mz, &one));
        OK(dtl_map_insert(m, &inf, &nan));
    }
    OK(dtl_map_find(m, &pz, &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK_EQ_I(got, 1.0);
    OK(dtl_map_find(m, &inf, &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK(isnan(got));
    double gk[2] = {-1, -1}, gv[2] = {-1, -1};
    uint64_t u = 0;
    OK(dtl_map_global_view(m, gk, gv, 2, &u));
    CHECK_EQ_U(u, 2);
    CHECK(memcmp(&gk[0], &pz, sizeof pz) == 0); /* stored as +0.0 */
    CHECK(gk[1] == INFINITY);

    uint64_t pending0 = 0, local0 = 0;
    OK(dtl_map_pending(m, &pending0));
    OK(dtl_map_local_size(m, &local0));
    FAILS_WITH(dtl_map_insert(m, &nan, &one), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    FAILS_WITH(dtl_map_erase(m, &nan), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    double batch[3] = {5.0, 6.0, NAN}, bv[3] = {1, 2, 3};
    FAILS_WITH(dtl_map_insert_many(m, batch, bv, 3), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    FAILS_WITH(dtl_map_erase_many(m, batch, 3), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    int32_t r = -7;
    FAILS_WITH(dtl_map_owner(m, &nan, &r), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    FAILS_WITH(dtl_map_is_local(m, &nan, &r), DTL_ERROR_INVALID_ARGUMENT, "NaN");
    CHECK_EQ_I(r, -7);
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, pending0);
    OK(dtl_map_local_size(m, &u));
    CHECK_EQ_U(u, local0);

    /* A NaN key on one rank fails the collective read on every rank. */
    got = -1;
    found = -1;
    FAILS(dtl_map_find(m, RANK == 0 ? &nan : &pz, &got, &found), DTL_ERROR_INVALID_ARGUMENT);
    if (RANK == 0) CHECK(strstr(dtl_last_error_message(), "NaN") != NULL);
    CHECK_EQ_I(got, -1);
    CHECK_EQ_I(found, -1);
    FAILS(dtl_map_contains(m, RANK == SIZE - 1 ? &nan : &pz, &found), DTL_ERROR_INVALID_ARGUMENT);
    double qk[2] = {pz, RANK == SIZE - 1 ? NAN : inf}, qv[2] = {-1, -1};
    int32_t qf[2] = {-1, -1};
    FAILS(dtl_map_find_many(m, qk, 2, qv, qf), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(qf[0] == -1 && qf[1] == -1 && qv[0] == -1);

    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, 2);
    OK(dtl_map_destroy(m));
}

/* Invalid arguments to dtl_map_create: every rank fails, also when only
 * one rank passes them; *out is NULL after a failure. */
static void test_bad_create(dtl_context_t ctx) {
    dtl_map_t m = (dtl_map_t)&m; /* not NULL: a failure must reset it */
    FAILS_WITH(dtl_map_create(ctx, 42, DTL_DTYPE_INT32, &m), DTL_ERROR_INVALID_ARGUMENT, "key_dtype");
    CHECK(m == NULL);
    FAILS_WITH(dtl_map_create(ctx, -1, DTL_DTYPE_INT32, &m), DTL_ERROR_INVALID_ARGUMENT, "DTL_DTYPE_FLOAT64");
    FAILS_WITH(dtl_map_create(ctx, DTL_DTYPE_INT64, 10, &m), DTL_ERROR_INVALID_ARGUMENT, "value_dtype");
    FAILS_WITH(dtl_map_create(ctx, DTL_DTYPE_INT64, -3, &m), DTL_ERROR_INVALID_ARGUMENT, "0..=9");
    static const dtl_dtype unsupported[] = {DTL_DTYPE_INT8, DTL_DTYPE_INT16, DTL_DTYPE_UINT8, DTL_DTYPE_UINT16,
                                            DTL_DTYPE_FLOAT32};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        m = (dtl_map_t)&m;
        FAILS_WITH(dtl_map_create(ctx, unsupported[i], DTL_DTYPE_INT32, &m), DTL_ERROR_INVALID_ARGUMENT,
                   "not supported for map keys; use one of DTL_DTYPE_INT32 (2), DTL_DTYPE_INT64 (3)");
        CHECK(m == NULL);
    }
    FAILS_WITH(dtl_map_create(ctx, DTL_DTYPE_INT64, DTL_DTYPE_INT32, NULL), DTL_ERROR_INVALID_ARGUMENT,
               "out is NULL");
    FAILS_WITH(dtl_map_create(NULL, DTL_DTYPE_INT64, DTL_DTYPE_INT32, &m), DTL_ERROR_INVALID_ARGUMENT,
               "ctx is NULL");
    FAILS_WITH(dtl_map_create((dtl_context_t)&m, DTL_DTYPE_INT64, DTL_DTYPE_INT32, &m),
               DTL_ERROR_INVALID_ARGUMENT, "not a live dtl_context_t");

    /* One rank only: every rank fails. */
    m = (dtl_map_t)&m;
    FAILS(dtl_map_create(ctx, RANK == 0 ? 42 : DTL_DTYPE_INT64, DTL_DTYPE_INT32, &m), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(m == NULL);
    if (RANK != 0 && SIZE > 1) CHECK(strstr(dtl_last_error_message(), "another rank") != NULL);
    m = (dtl_map_t)&m;
    FAILS(dtl_map_create(ctx, DTL_DTYPE_INT64, RANK == SIZE - 1 ? DTL_DTYPE_FLOAT32 + 7 : DTL_DTYPE_INT32, &m),
          DTL_ERROR_INVALID_ARGUMENT);
    CHECK(m == NULL);
    FAILS(dtl_map_create(ctx, RANK == SIZE - 1 ? DTL_DTYPE_INT8 : DTL_DTYPE_INT64, DTL_DTYPE_INT32, &m),
          DTL_ERROR_INVALID_ARGUMENT);
    dtl_map_t dummy = NULL;
    FAILS(dtl_map_create(ctx, DTL_DTYPE_INT64, DTL_DTYPE_INT32, RANK == 0 ? NULL : &dummy),
          DTL_ERROR_INVALID_ARGUMENT);
    CHECK(dummy == NULL);
    /* Different valid dtypes: a mismatch on every rank. */
    if (SIZE > 1) {
        m = (dtl_map_t)&m;
        FAILS_WITH(dtl_map_create(ctx, DTL_DTYPE_INT64, RANK == 0 ? DTL_DTYPE_FLOAT32 : DTL_DTYPE_FLOAT64, &m),
                   DTL_ERROR_MISMATCH, "differs across ranks");
        CHECK(m == NULL);
        FAILS(dtl_map_create(ctx, RANK == 0 ? DTL_DTYPE_INT32 : DTL_DTYPE_UINT32, DTL_DTYPE_FLOAT64, &m),
              DTL_ERROR_MISMATCH);
    }
}

/* NULL, destroyed and foreign handles: every function fails at once. */
static void test_bad_handles(dtl_context_t ctx) {
    int64_t k = 1, v = 2;
    int32_t i32 = 0;
    uint64_t u = 0;
    dtl_dtype d = 0;
    dtl_map_t maps[3];
    const char *why[3] = {"map is NULL", "not a live dtl_map_t", "is a dtl_context_t, not a dtl_map_t"};
    maps[0] = NULL;
    maps[1] = create(ctx, DTL_DTYPE_INT64, DTL_DTYPE_INT64);
    OK(dtl_map_destroy(maps[1]));
    FAILS_WITH(dtl_map_destroy(maps[1]), DTL_ERROR_INVALID_ARGUMENT, "already destroyed");
    maps[2] = (dtl_map_t)ctx;
    for (int a = 0; a < 3; a++) {
        dtl_map_t m = maps[a];
        FAILS_WITH(dtl_map_key_dtype(m, &d), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_value_dtype(m, &d), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_insert(m, &k, &v), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_erase(m, &k), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_insert_many(m, &k, &v, 1), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_erase_many(m, &k, 1), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_pending(m, &u), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_flush(m), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_find(m, &k, &v, &i32), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_contains(m, &k, &i32), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_find_many(m, &k, 1, &v, &i32), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_owner(m, &k, &i32), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_is_local(m, &k, &i32), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_local_size(m, &u), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_global_size(m, &u), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_local_pairs(m, &k, &v, 1, &u), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_global_view(m, &k, &v, 1, &u), DTL_ERROR_INVALID_ARGUMENT, why[a]);
        FAILS_WITH(dtl_map_destroy(m), DTL_ERROR_INVALID_ARGUMENT, why[a]);
    }
    /* A map is not a vector, nor a context. */
    dtl_map_t m = create(ctx, DTL_DTYPE_INT64, DTL_DTYPE_INT64);
    FAILS_WITH(dtl_vector_destroy((dtl_vector_t)m), DTL_ERROR_INVALID_ARGUMENT, "is a dtl_map_t");
    FAILS_WITH(dtl_context_barrier((dtl_context_t)m), DTL_ERROR_INVALID_ARGUMENT, "is a dtl_map_t");
    dtl_vector_t vec = NULL;
    OK(dtl_vector_create(ctx, DTL_DTYPE_INT64, 4, &vec));
    FAILS_WITH(dtl_map_insert((dtl_map_t)vec, &k, &v), DTL_ERROR_INVALID_ARGUMENT, "is a dtl_vector_t");
    OK(dtl_vector_destroy(vec));
    OK(dtl_map_destroy(m));
}

/* NULL and oversized arguments with a valid map: errors naming the
 * argument; for collective calls, one rank's bad argument fails the call on
 * every rank and changes nothing, so the map stays usable. */
static void test_bad_arguments(dtl_context_t ctx) {
    dtl_map_t m = create(ctx, DTL_DTYPE_INT32, DTL_DTYPE_UINT8);
    int32_t k = 3, ks[2] = {4, 5}, i32 = -9;
    uint8_t v = 9, vs[2] = {1, 2};
    uint64_t u = 123;
    FAILS_WITH(dtl_map_insert(m, NULL, &v), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_insert(m, &k, NULL), DTL_ERROR_INVALID_ARGUMENT, "value is NULL");
    FAILS_WITH(dtl_map_erase(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_insert_many(m, NULL, vs, 2), DTL_ERROR_INVALID_ARGUMENT, "keys is NULL but n is 2");
    FAILS_WITH(dtl_map_insert_many(m, ks, NULL, 2), DTL_ERROR_INVALID_ARGUMENT, "values is NULL but n is 2");
    FAILS_WITH(dtl_map_insert_many(m, ks, vs, UINT64_MAX), DTL_ERROR_INVALID_ARGUMENT, "too large");
    FAILS_WITH(dtl_map_erase_many(m, NULL, 1), DTL_ERROR_INVALID_ARGUMENT, "keys is NULL but n is 1");
    FAILS_WITH(dtl_map_erase_many(m, ks, UINT64_MAX / 2), DTL_ERROR_INVALID_ARGUMENT, "too large");
    FAILS_WITH(dtl_map_pending(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "count is NULL");
    FAILS_WITH(dtl_map_local_size(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "size is NULL");
    FAILS_WITH(dtl_map_key_dtype(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "dtype is NULL");
    FAILS_WITH(dtl_map_value_dtype(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "dtype is NULL");
    FAILS_WITH(dtl_map_owner(m, NULL, &i32), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_owner(m, &k, NULL), DTL_ERROR_INVALID_ARGUMENT, "rank is NULL");
    FAILS_WITH(dtl_map_is_local(m, NULL, &i32), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_is_local(m, &k, NULL), DTL_ERROR_INVALID_ARGUMENT, "is_local is NULL");
    FAILS_WITH(dtl_map_local_pairs(m, NULL, NULL, 0, NULL), DTL_ERROR_INVALID_ARGUMENT, "count is NULL");
    FAILS_WITH(dtl_map_local_pairs(m, NULL, vs, 2, &u), DTL_ERROR_INVALID_ARGUMENT, "keys_out is NULL");
    FAILS_WITH(dtl_map_local_pairs(m, ks, NULL, 2, &u), DTL_ERROR_INVALID_ARGUMENT, "values_out is NULL");
    FAILS_WITH(dtl_map_local_pairs(m, ks, vs, UINT64_MAX, &u), DTL_ERROR_INVALID_ARGUMENT, "too large");
    CHECK_EQ_U(u, 123); /* untouched by the failures */
    CHECK_EQ_I(i32, -9);

    /* Pending writes survive the rejected collectives below. */
    int32_t key = 100 + RANK;
    OK(dtl_map_insert(m, &key, &v));

    /* Collective calls, bad on every rank. */
    FAILS_WITH(dtl_map_find(m, NULL, &v, &i32), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_find(m, &k, NULL, &i32), DTL_ERROR_INVALID_ARGUMENT, "value_out is NULL");
    FAILS_WITH(dtl_map_find(m, &k, &v, NULL), DTL_ERROR_INVALID_ARGUMENT, "found is NULL");
    FAILS_WITH(dtl_map_contains(m, NULL, &i32), DTL_ERROR_INVALID_ARGUMENT, "key is NULL");
    FAILS_WITH(dtl_map_contains(m, &k, NULL), DTL_ERROR_INVALID_ARGUMENT, "found is NULL");
    FAILS_WITH(dtl_map_find_many(m, NULL, 2, vs, &i32), DTL_ERROR_INVALID_ARGUMENT, "keys is NULL but n is 2");
    FAILS_WITH(dtl_map_find_many(m, ks, 1, NULL, &i32), DTL_ERROR_INVALID_ARGUMENT, "values_out is NULL");
    FAILS_WITH(dtl_map_find_many(m, ks, 1, vs, NULL), DTL_ERROR_INVALID_ARGUMENT, "found_out is NULL");
    FAILS_WITH(dtl_map_find_many(m, ks, UINT64_MAX, vs, &i32), DTL_ERROR_INVALID_ARGUMENT, "too large");
    FAILS_WITH(dtl_map_global_size(m, NULL), DTL_ERROR_INVALID_ARGUMENT, "size is NULL");
    FAILS_WITH(dtl_map_global_view(m, NULL, NULL, 0, NULL), DTL_ERROR_INVALID_ARGUMENT, "count is NULL");
    FAILS_WITH(dtl_map_global_view(m, NULL, vs, 1, &u), DTL_ERROR_INVALID_ARGUMENT, "keys_out is NULL");
    FAILS_WITH(dtl_map_global_view(m, ks, NULL, 1, &u), DTL_ERROR_INVALID_ARGUMENT, "values_out is NULL");
    FAILS_WITH(dtl_map_global_view(m, ks, vs, UINT64_MAX, &u), DTL_ERROR_INVALID_ARGUMENT, "too large");

    /* Collective calls, bad on one rank only: every rank fails, nothing is
     * flushed, no rank hangs. */
    int32_t bad = SIZE - 1, found = -1;
    bool me = RANK == bad;
    const char *elsewhere = SIZE > 1 ? "another rank rejected" : "";
    FAILS(dtl_map_find(m, me ? NULL : &k, &v, &found), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(dtl_last_error_message(), me ? "key is NULL" : elsewhere) != NULL);
    FAILS(dtl_map_find(m, &k, &v, me ? NULL : &found), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_map_contains(m, &k, me ? NULL : &found), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_map_find_many(m, me ? NULL : ks, 2, vs, &found), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_map_global_size(m, me ? NULL : &u), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(dtl_last_error_message(), me ? "size is NULL" : elsewhere) != NULL);
    FAILS(dtl_map_global_view(m, ks, vs, 1, me ? NULL : &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_map_global_view(m, me ? NULL : ks, vs, 1, &u), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(dtl_last_error_message(), me ? "keys_out is NULL but capacity is 1" : elsewhere) != NULL);
    FAILS(dtl_map_global_view(m, ks, vs, me ? UINT64_MAX : 0, &u), DTL_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_U(u, 123);
    CHECK_EQ_I(found, -1);

    /* Nothing was flushed: the insert is still pending (unless local). */
    int32_t local = -1;
    OK(dtl_map_is_local(m, &key, &local));
    OK(dtl_map_pending(m, &u));
    CHECK_EQ_U(u, local ? 0 : 1);
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, (uint64_t)SIZE);
    OK(dtl_map_destroy(m));
}

/* A map outlives the context it was created on. */
static void test_outlives_context(dtl_context_t ctx) {
    dtl_context_t dup = NULL;
    OK(dtl_context_dup(ctx, &dup));
    dtl_map_t m = create(dup, DTL_DTYPE_UINT64, DTL_DTYPE_INT32);
    OK(dtl_context_destroy(dup));
    uint64_t k = (uint64_t)RANK;
    int32_t v = RANK * 10, got = -1, found = -1;
    OK(dtl_map_insert(m, &k, &v));
    uint64_t u = 0;
    OK(dtl_map_global_size(m, &u));
    CHECK_EQ_U(u, (uint64_t)SIZE);
    k = (uint64_t)((RANK + 1) % SIZE);
    OK(dtl_map_find(m, &k, &got, &found));
    CHECK_EQ_I(found, 1);
    CHECK_EQ_I(got, ((RANK + 1) % SIZE) * 10);
    OK(dtl_map_destroy(m));
}

int main(void) {
    dtl_context_t ctx = check_start("test_map");
    OK(dtl_context_rank(ctx, &RANK));
    OK(dtl_context_size(ctx, &SIZE));
    RUN(test_all_dtypes);
    RUN(test_empty_and_zero_counts);
    RUN(test_duplicates);
    RUN(test_float_keys);
    RUN(test_bad_create);
    RUN(test_bad_handles);
    RUN(test_bad_arguments);
    RUN(test_outlives_context);
    return check_finish(ctx);
}
