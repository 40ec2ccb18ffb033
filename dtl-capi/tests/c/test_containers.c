/*
 * test_containers.c - the C ABI of vectors, arrays, tensors and spans:
 * creation in every partition, index maps, local data, gathers, scatters,
 * resize, one-sided get/set, index gathers/scatters, redistribution,
 * save/load, and argument errors.
 *
 * Run at any number of ranks, e.g.
 *   mpirun -np 3 ./test_containers
 *
 * Element i of a container is set to a closed form of i (valf), through the
 * local data of each rank, and read back with dtl_container_gather_all; the
 * owner of every index is computed here from the partition's definition.
 */
#include <unistd.h>

#include "check.h"

static int32_t RANK = -1, SIZE = 0;
static dtl_context_t CTX = NULL;

static const dtl_dtype ALL_DTYPES[10] = {DTL_DTYPE_INT8,   DTL_DTYPE_INT16,  DTL_DTYPE_INT32,  DTL_DTYPE_INT64,
                                         DTL_DTYPE_UINT8,  DTL_DTYPE_UINT16, DTL_DTYPE_UINT32, DTL_DTYPE_UINT64,
                                         DTL_DTYPE_FLOAT32, DTL_DTYPE_FLOAT64};

#include "elements.h"

/* The value of global index i (exact in every dtype). */
static int64_t valf(uint64_t i) { return (int64_t)(i % 101) + 1; }

#include "layouts.h"
static const char *KIND_NAMES[N_KINDS] = {"block", "cyclic", "block-cyclic(3)", "weighted counts",
                                          "weighted fractions", "replicated"};

/* The owner of global index i (along the split axis, extent n) under kind,
 * or -1 where it is not computed here (fractions: checked for consistency). */
static int expected_owner(int kind, uint64_t n, uint64_t i, const layout_buf *b) {
    switch (kind) {
    case K_BLOCK: {
        uint64_t q = n / SIZE, rem = n % SIZE;
        uint64_t big = rem * (q + 1);
        if (i < big) return (int)(i / (q + 1));
        return (int)(rem + (i - big) / q);
    }
    case K_CYCLIC: return (int)(i % SIZE);
    case K_BC3: return (int)((i / 3) % SIZE);
    case K_WCOUNTS: {
        uint64_t cum = 0;
        for (int r = 0; r < SIZE; r++) {
            cum += b->counts[r];
            if (i < cum) return r;
        }
        return -2;
    }
    case K_REPL: return RANK;
    default: return -1;
    }
}

static void *cont_local(const void *c, uint64_t *n) {
    void *p = NULL;
    OK(dtl_container_local_size(c, n));
    OK(dtl_container_local_data(c, &p));
    CHECK((*n == 0) == (p == NULL));
    return p;
}

/* Checks the index maps of a 1-D container (or the split axis of a tensor
 * of extent n): local/global conversions and owners agree, and with the
 * expected owners of kind. Returns the local count. */
static uint64_t check_index_maps(const void *c, int kind, uint64_t n, const layout_buf *b) {
    uint64_t nloc = 0;
    int32_t owner = -1, is_local = -1;
    uint64_t g = 0, l = 0;
    /* count this rank's indices along the axis */
    uint64_t mine = 0;
    int prev_owner = -1, contiguous_ok = 1;
    for (uint64_t i = 0; i < n; i++) {
        OK(dtl_container_owner(c, i, &owner));
        CHECK(owner >= 0 && owner < SIZE);
        int e = expected_owner(kind, n, i, b);
        if (e >= 0 || e == -2) CHECK_EQ_I(owner, e);
        if (kind == K_WFRAC && owner < prev_owner) contiguous_ok = 0;
        prev_owner = owner;
        OK(dtl_container_global_to_local(c, i, &l, &is_local));
        CHECK_EQ_I(is_local, owner == RANK);
        if (is_local) {
            CHECK_EQ_U(l, mine);
            OK(dtl_container_local_to_global(c, l, &g));
            CHECK_EQ_U(g, i);
            mine++;
        }
    }
    CHECK(contiguous_ok);
    FAILS(dtl_container_owner(c, n, &owner), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_global_to_local(c, n, &l, &is_local), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_local_to_global(c, mine, &g), DTL_ERROR_BOUNDS);
    nloc = mine;
    uint64_t total = sum_u64(CTX, nloc);
    CHECK_EQ_U(total, kind == K_REPL ? n * SIZE : n);
    return nloc;
}

typedef enum { C_VECTOR, C_ARRAY } ckind;

static void *create_1d(ckind ck, dtl_dtype d, uint64_t n, const dtl_layout *l, const void *value) {
    void *c = NULL;
    if (ck == C_VECTOR) OK(dtl_vector_create_with(CTX, d, n, l, value, (dtl_vector_t *)&c));
    else OK(dtl_array_create_with(CTX, d, n, l, value, (dtl_array_t *)&c));
    CHECK(c != NULL);
    return c;
}

static void destroy_any(ckind ck, void *c) {
    if (ck == C_VECTOR) OK(dtl_vector_destroy(c));
    else OK(dtl_array_destroy(c));
}

/* Every element i of the 1-D container c (size n, dtype d) equals valf(i) + add. */
static void check_contents(const void *c, dtl_dtype d, uint64_t n, int64_t add) {
    char *all = malloc(n * dsize(d) + 8);
    memset(all, 0xcd, n * dsize(d) + 8);
    OK(dtl_container_gather_all(c, all, n));
    for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(load_i(d, all, i), wrap_i(d, valf(i) + add));
    /* nothing written past the end */
    CHECK((unsigned char)all[n * dsize(d)] == 0xcd);
    free(all);
}

/* Writes valf(global index) + add into every local element of c. */
static void write_local(const void *c, dtl_dtype d, int64_t add) {
    uint64_t nloc = 0, g = 0;
    char *p = cont_local(c, &nloc);
    for (uint64_t k = 0; k < nloc; k++) {
        OK(dtl_container_local_to_global(c, k, &g));
        store_i(d, p, k, valf(g) + add);
    }
}

static void scenario_1d(ckind ck, dtl_dtype d, int kind, uint64_t n) {
    layout_buf b;
    const dtl_layout *l = make_layout(&b, kind, n);
    char fillv[8];
    store_i(d, fillv, 0, 5);
    void *c = create_1d(ck, d, n, l, fillv);
    uint64_t u = 99;
    dtl_dtype got = -1;
    dtl_partition part = -1;
    OK(dtl_container_global_size(c, &u));
    CHECK_EQ_U(u, n);
    OK(dtl_container_dtype(c, &got));
    CHECK_EQ_I(got, d);
    OK(dtl_container_partition(c, &part));
    CHECK_EQ_I(part, l->partition);
    uint64_t nloc = check_index_maps(c, kind, n, &b);
    OK(dtl_container_local_size(c, &u));
    CHECK_EQ_U(u, nloc);
    if (kind == K_BLOCK || kind == K_WCOUNTS || kind == K_WFRAC) {
        uint64_t off = 99, g = 0;
        OK(dtl_container_local_offset(c, &off));
        if (nloc > 0) {
            OK(dtl_container_local_to_global(c, 0, &g));
            CHECK_EQ_U(off, g);
        }
    }
    /* initial contents: the fill value */
    char *all = malloc(n * dsize(d) + 8);
    OK(dtl_container_gather_all(c, all, n));
    for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(load_i(d, all, i), 5);
    free(all);
    /* local writes are seen by the gathers */
    write_local(c, d, 0);
    check_contents(c, d, n, 0);
    if (n > 0) {
        int root = SIZE - 1;
        char *buf = malloc(n * dsize(d));
        OK(dtl_container_gather(c, root, RANK == root ? buf : NULL, RANK == root ? n : 0));
        if (RANK == root)
            for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(load_i(d, buf, i), wrap_i(d, valf(i)));
        free(buf);
    }
    /* fill */
    char seven[8];
    store_i(d, seven, 0, 7);
    OK(dtl_container_fill(c, seven));
    uint64_t nl2;
    char *p = cont_local(c, &nl2);
    for (uint64_t k = 0; k < nl2; k++) CHECK_EQ_I(load_i(d, p, k), 7);
    destroy_any(ck, c);
}

static void test_create_all(dtl_context_t ctx) {
    (void)ctx;
    uint64_t sizes[4] = {0, (uint64_t)(SIZE > 1 ? SIZE - 1 : 0), 7, 1000};
    for (int ck = 0; ck < 2; ck++)
        for (int k = 0; k < 10; k++)
            for (int kind = 0; kind < N_KINDS; kind++)
                for (int s = 0; s < 4; s++) {
                    if (s == 1 && SIZE == 1) continue;
                    scenario_1d((ckind)ck, ALL_DTYPES[k], kind, sizes[s]);
                }
    /* the plain constructors: block, zeros */
    dtl_vector_t v = NULL;
    dtl_array_t a = NULL;
    OK(dtl_vector_create(CTX, DTL_DTYPE_INT32, 11, &v));
    OK(dtl_array_create(CTX, DTL_DTYPE_FLOAT64, 11, &a));
    layout_buf b;
    make_layout(&b, K_BLOCK, 11);
    check_index_maps(v, K_BLOCK, 11, &b);
    check_index_maps(a, K_BLOCK, 11, &b);
    int32_t vi[11];
    double vd[11];
    OK(dtl_container_gather_all(v, vi, 11));
    OK(dtl_container_gather_all(a, vd, 11));
    for (int i = 0; i < 11; i++) { CHECK_EQ_I(vi[i], 0); CHECK(vd[i] == 0.0); }
    OK(dtl_vector_destroy(v));
    OK(dtl_array_destroy(a));
}

static void test_from_local_and_scatter(dtl_context_t ctx) {
    (void)ctx;
    dtl_dtype ds[5] = {DTL_DTYPE_INT8, DTL_DTYPE_INT32, DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT32, DTL_DTYPE_FLOAT64};
    uint64_t total = (uint64_t)SIZE * (SIZE + 1) / 2; /* rank r contributes r + 1 elements */
    uint64_t start = (uint64_t)RANK * (RANK + 1) / 2;
    for (int k = 0; k < 5; k++) {
        dtl_dtype d = ds[k];
        char local[64 * 8];
        for (uint64_t j = 0; j <= (uint64_t)RANK; j++) store_i(d, local, j, valf(start + j));
        for (int kind = 0; kind < N_KINDS; kind++) {
            for (int ck = 0; ck < 2; ck++) {
                layout_buf b;
                const dtl_layout *l = make_layout(&b, kind, total);
                void *c = NULL;
                if (ck == C_VECTOR) OK(dtl_vector_from_local(CTX, d, local, (uint64_t)RANK + 1, l, (dtl_vector_t *)&c));
                else OK(dtl_array_from_local(CTX, d, local, (uint64_t)RANK + 1, l, (dtl_array_t *)&c));
                check_index_maps(c, kind, total, &b);
                check_contents(c, d, total, 0);
                destroy_any((ckind)ck, c);
            }
            /* scatter from root 0 and from the last rank */
            uint64_t n = 23;
            char data[23 * 8];
            for (uint64_t i = 0; i < n; i++) store_i(d, data, i, valf(i));
            int roots[2] = {0, SIZE - 1};
            for (int ri = 0; ri < 2; ri++) {
                int root = roots[ri];
                layout_buf b;
                const dtl_layout *l = make_layout(&b, kind, n);
                dtl_vector_t v = NULL;
                dtl_array_t a = NULL;
                OK(dtl_vector_scatter(CTX, d, RANK == root ? data : NULL, RANK == root ? n : 0, root, l, &v));
                OK(dtl_array_scatter(CTX, d, RANK == root ? data : NULL, RANK == root ? n : 0, root, l, &a));
                check_index_maps(v, kind, n, &b);
                check_contents(v, d, n, 0);
                check_contents(a, d, n, 0);
                OK(dtl_vector_destroy(v));
                OK(dtl_array_destroy(a));
            }
        }
    }
    /* empty contributions everywhere, NULL local */
    dtl_vector_t v = NULL;
    OK(dtl_vector_from_local(CTX, DTL_DTYPE_INT32, NULL, 0, NULL, &v));
    uint64_t u = 9;
    OK(dtl_container_global_size(v, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_vector_destroy(v));
    /* only the last rank contributes */
    int32_t mine[5] = {1, 2, 3, 4, 5};
    OK(dtl_vector_from_local(CTX, DTL_DTYPE_INT32, RANK == SIZE - 1 ? mine : NULL, RANK == SIZE - 1 ? 5 : 0, NULL, &v));
    int32_t got[5];
    OK(dtl_container_gather_all(v, got, 5));
    for (int i = 0; i < 5; i++) CHECK_EQ_I(got[i], i + 1);
    OK(dtl_vector_destroy(v));
}

static void test_resize(dtl_context_t ctx) {
    (void)ctx;
    dtl_dtype ds[3] = {DTL_DTYPE_INT16, DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT64};
    for (int k = 0; k < 3; k++)
        for (int kind = 0; kind < N_KINDS; kind++) {
            if (kind == K_WCOUNTS || kind == K_WFRAC) continue; /* weights fix the size */
            dtl_dtype d = ds[k];
            layout_buf b;
            dtl_vector_t v = create_1d(C_VECTOR, d, 7, make_layout(&b, kind, 7), NULL);
            write_local(v, d, 0);
            uint64_t sizes[5] = {20, 3, 0, 1001, 7};
            uint64_t prev = 7;
            for (int s = 0; s < 5; s++) {
                uint64_t n = sizes[s];
                OK(dtl_vector_resize(v, n));
                uint64_t u = 0;
                dtl_partition part = -1;
                OK(dtl_container_global_size(v, &u));
                CHECK_EQ_U(u, n);
                OK(dtl_container_partition(v, &part));
                CHECK_EQ_I(part, b.l.partition);
                check_index_maps(v, kind, n, &b);
                char *all = malloc(n * dsize(d) + 8);
                OK(dtl_container_gather_all(v, all, n));
                for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(load_i(d, all, i), i < prev ? valf(i) : 0);
                free(all);
                write_local(v, d, 0);
                prev = n;
            }
            OK(dtl_vector_destroy(v));
        }
}

static void test_get_set(dtl_context_t ctx) {
    (void)ctx;
    for (int kind = 0; kind < N_KINDS; kind++)
        for (int ck = 0; ck < 2; ck++) {
            uint64_t n = 13;
            layout_buf b;
            void *c = create_1d((ckind)ck, DTL_DTYPE_INT32, n, make_layout(&b, kind, n), NULL);
            /* rank r sets the indices i with i % size == (r + 1) % size: mostly remote */
            for (uint64_t i = 0; i < n; i++)
                if ((int)(i % SIZE) == (RANK + 1) % SIZE) {
                    int32_t x = (int32_t)(1000 + i);
                    OK(dtl_container_set(c, i, &x));
                }
            OK(dtl_context_barrier(CTX));
            for (uint64_t i = 0; i < n; i++) {
                int32_t x = -1;
                OK(dtl_container_get(c, i, &x));
                CHECK_EQ_I(x, 1000 + (int64_t)i);
            }
            OK(dtl_context_barrier(CTX));
            int32_t x = 0;
            FAILS(dtl_container_get(c, n, &x), DTL_ERROR_BOUNDS);
            FAILS(dtl_container_set(c, n + 5, &x), DTL_ERROR_BOUNDS);
            FAILS(dtl_container_get(c, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
            FAILS(dtl_container_set(c, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
            int32_t all[13];
            OK(dtl_container_gather_all(c, all, n));
            for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(all[i], 1000 + (int64_t)i);
            destroy_any((ckind)ck, c);
        }
    /* float64 and int8 values, unaligned value pointers */
    dtl_vector_t v = NULL;
    OK(dtl_vector_create(CTX, DTL_DTYPE_FLOAT64, 9, &v));
    if (RANK == 0) {
        char raw[16];
        for (uint64_t i = 0; i < 9; i++) {
            double x = 0.5 * (double)i - 1.25;
            memcpy(raw + 1, &x, 8);
            OK(dtl_container_set(v, i, raw + 1));
        }
    }
    OK(dtl_context_barrier(CTX));
    for (uint64_t i = 0; i < 9; i++) {
        char raw[16];
        double x;
        OK(dtl_container_get(v, i, raw + 3));
        memcpy(&x, raw + 3, 8);
        CHECK(x == 0.5 * (double)i - 1.25);
    }
    OK(dtl_context_barrier(CTX));
    OK(dtl_vector_destroy(v));
    /* get/set on a tensor is refused */
    uint64_t shape[2] = {2, 3};
    dtl_tensor_t t = NULL;
    OK(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 2, shape, &t));
    int32_t x = 0;
    FAILS(dtl_container_get(t, 0, &x), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_set(t, 0, &x), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_tensor_destroy(t));
}

static void test_indices(dtl_context_t ctx) {
    (void)ctx;
    for (int kind = 0; kind < N_KINDS; kind++) {
        uint64_t n = 31;
        layout_buf b;
        dtl_vector_t v = create_1d(C_VECTOR, DTL_DTYPE_INT64, n, make_layout(&b, kind, n), NULL);
        write_local(v, DTL_DTYPE_INT64, 0);
        /* every rank asks for a different number of indices, reversed, with repeats */
        uint64_t m = (uint64_t)RANK * 7 + 3, idx[64];
        int64_t vals[64];
        for (uint64_t j = 0; j < m; j++) idx[j] = (n - 1 - (j * 5 + (uint64_t)RANK) % n);
        OK(dtl_container_gather_indices(v, idx, m, vals));
        for (uint64_t j = 0; j < m; j++) CHECK_EQ_I(vals[j], valf(idx[j]));
        OK(dtl_container_gather_indices(v, NULL, 0, NULL));
        /* scatter: rank r writes the indices i with i % size == r; duplicates:
         * every rank also writes index 0, the highest rank wins */
        uint64_t w = 0;
        for (uint64_t i = 0; i < n; i++)
            if ((int)(i % SIZE) == RANK) { idx[w] = i; vals[w] = -(int64_t)i - 1; w++; }
        idx[w] = 0;
        vals[w] = 500 + RANK;
        w++;
        OK(dtl_container_scatter_indices(v, idx, w, vals));
        int64_t all[31];
        OK(dtl_container_gather_all(v, all, n));
        CHECK_EQ_I(all[0], 500 + SIZE - 1);
        for (uint64_t i = 1; i < n; i++) CHECK_EQ_I(all[i], -(int64_t)i - 1);
        /* out of range on one rank only: every rank gets DTL_ERROR_BOUNDS */
        uint64_t bad = RANK == SIZE - 1 ? n : 0;
        FAILS(dtl_container_gather_indices(v, &bad, 1, vals), DTL_ERROR_BOUNDS);
        FAILS(dtl_container_scatter_indices(v, &bad, 1, vals), DTL_ERROR_BOUNDS);
        /* NULL indices with n > 0 on one rank only */
        FAILS(dtl_container_gather_indices(v, RANK == 0 ? NULL : idx, 1, vals), DTL_ERROR_INVALID_ARGUMENT);
        FAILS(dtl_container_scatter_indices(v, idx, 1, RANK == SIZE - 1 ? NULL : vals), DTL_ERROR_INVALID_ARGUMENT);
        OK(dtl_container_gather_all(v, all, n));
        CHECK_EQ_I(all[0], 500 + SIZE - 1);
        OK(dtl_vector_destroy(v));
    }
}

static void test_redistribute(dtl_context_t ctx) {
    (void)ctx;
    dtl_dtype ds[3] = {DTL_DTYPE_UINT8, DTL_DTYPE_INT32, DTL_DTYPE_FLOAT32};
    uint64_t ns[3] = {0, 7, 1000};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 3; s++) {
            dtl_dtype d = ds[k];
            uint64_t n = ns[s];
            for (int from = 0; from < N_KINDS; from++) {
                layout_buf b;
                dtl_array_t a = create_1d(C_ARRAY, d, n, make_layout(&b, from, n), NULL);
                write_local(a, d, 0);
                for (int step = 1; step <= N_KINDS; step++) {
                    int to = (from + step) % N_KINDS;
                    layout_buf b2;
                    const dtl_layout *l2 = make_layout(&b2, to, n);
                    OK(dtl_container_redistribute(a, l2));
                    dtl_partition part = -1;
                    OK(dtl_container_partition(a, &part));
                    CHECK_EQ_I(part, l2->partition);
                    check_index_maps(a, to, n, &b2);
                    check_contents(a, d, n, 0);
                }
                OK(dtl_array_destroy(a));
            }
        }
    /* NULL layout: back to block */
    layout_buf b;
    dtl_vector_t v = create_1d(C_VECTOR, DTL_DTYPE_INT32, 10, make_layout(&b, K_CYCLIC, 10), NULL);
    write_local(v, DTL_DTYPE_INT32, 0);
    OK(dtl_container_redistribute(v, NULL));
    make_layout(&b, K_BLOCK, 10);
    check_index_maps(v, K_BLOCK, 10, &b);
    check_contents(v, DTL_DTYPE_INT32, 10, 0);
    OK(dtl_vector_destroy(v));
}

/* Tensor: element with flat C-order index f has value valf(f). */
static void tensor_scenario(dtl_dtype d, uint64_t ndim, const uint64_t *shape, int axis, int kind) {
    uint64_t ext = shape[axis];
    layout_buf b;
    dtl_layout *l = (dtl_layout *)make_layout(&b, kind, ext);
    l->axis = axis;
    dtl_tensor_t t = NULL;
    OK(dtl_tensor_create_with(CTX, d, ndim, shape, l, NULL, &t));
    uint64_t nd = 0, sh[8], lsh[8], total = 1;
    int32_t ax = -1;
    OK(dtl_tensor_ndim(t, &nd));
    CHECK_EQ_U(nd, ndim);
    OK(dtl_tensor_shape(t, sh, 8));
    for (uint64_t k = 0; k < ndim; k++) { CHECK_EQ_U(sh[k], shape[k]); total *= shape[k]; }
    OK(dtl_tensor_split_axis(t, &ax));
    CHECK_EQ_I(ax, axis);
    OK(dtl_tensor_local_shape(t, lsh, 8));
    FAILS(dtl_tensor_shape(t, sh, ndim - 1), DTL_ERROR_BOUNDS);
    FAILS(dtl_tensor_local_shape(t, sh, 0), DTL_ERROR_BOUNDS);
    uint64_t nloc = check_index_maps(t, kind, ext, &b);
    uint64_t lprod = 1;
    for (uint64_t k = 0; k < ndim; k++) {
        if ((int)k == axis) CHECK_EQ_U(lsh[k], kind == K_REPL ? ext : nloc);
        else CHECK_EQ_U(lsh[k], shape[k]);
        lprod *= lsh[k];
    }
    uint64_t u = 0;
    OK(dtl_container_global_size(t, &u));
    CHECK_EQ_U(u, total);
    char *p = cont_local(t, &u);
    CHECK_EQ_U(u, lprod);
    /* write valf(flat global index) into the local block (C order) */
    for (uint64_t e = 0; e < lprod; e++) {
        uint64_t rem = e, flat = 0, idx[8];
        for (int k = (int)ndim - 1; k >= 0; k--) { idx[k] = rem % lsh[k]; rem /= lsh[k]; }
        uint64_t g = 0;
        OK(dtl_container_local_to_global(t, idx[axis], &g));
        idx[axis] = g;
        for (uint64_t k = 0; k < ndim; k++) flat = flat * shape[k] + idx[k];
        store_i(d, p, e, valf(flat));
    }
    check_contents(t, d, total, 0);
    /* gather to a root */
    char *buf = malloc(total * dsize(d) + 1);
    OK(dtl_container_gather(t, 0, RANK == 0 ? buf : NULL, RANK == 0 ? total : 0));
    if (RANK == 0)
        for (uint64_t f = 0; f < total; f++) CHECK_EQ_I(load_i(d, buf, f), wrap_i(d, valf(f)));
    /* scatter from the last rank with this layout */
    for (uint64_t f = 0; f < total; f++) store_i(d, buf, f, valf(f));
    dtl_tensor_t t2 = NULL;
    int root = SIZE - 1;
    OK(dtl_tensor_scatter(CTX, d, ndim, RANK == root ? shape : NULL, RANK == root ? buf : NULL, root, l, &t2));
    OK(dtl_tensor_shape(t2, sh, 8));
    for (uint64_t k = 0; k < ndim; k++) CHECK_EQ_U(sh[k], shape[k]);
    check_contents(t2, d, total, 0);
    /* redistribute to the other axis */
    dtl_layout l3 = {0};
    l3.axis = (axis + 1) % (int)ndim;
    OK(dtl_container_redistribute(t2, &l3));
    OK(dtl_tensor_split_axis(t2, &ax));
    CHECK_EQ_I(ax, l3.axis);
    check_contents(t2, d, total, 0);
    OK(dtl_tensor_destroy(t2));
    free(buf);
    OK(dtl_tensor_destroy(t));
}

static void test_tensors(dtl_context_t ctx) {
    (void)ctx;
    uint64_t s2[2] = {5, 4}, s3[3] = {3, 4, 2}, s2e[2] = {0, 3}, s2s[2] = {2, 7};
    dtl_dtype ds[4] = {DTL_DTYPE_INT8, DTL_DTYPE_INT32, DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT64};
    for (int k = 0; k < 4; k++)
        for (int kind = 0; kind < N_KINDS; kind++) {
            tensor_scenario(ds[k], 2, s2, 0, kind);
            tensor_scenario(ds[k], 2, s2, 1, kind);
            tensor_scenario(ds[k], 3, s3, 0, kind);
            tensor_scenario(ds[k], 3, s3, 1, kind);
            tensor_scenario(ds[k], 3, s3, 2, kind);
            tensor_scenario(ds[k], 2, s2s, 0, kind); /* fewer rows than ranks at np 3, 4 */
            tensor_scenario(ds[k], 2, s2e, 1, kind);
        }
    /* 1-d tensor, value fill */
    uint64_t s1[1] = {9};
    float v = 2.5f;
    dtl_tensor_t t = NULL;
    OK(dtl_tensor_create_with(CTX, DTL_DTYPE_FLOAT32, 1, s1, NULL, &v, &t));
    float all[9];
    OK(dtl_container_gather_all(t, all, 9));
    for (int i = 0; i < 9; i++) CHECK(all[i] == 2.5f);
    OK(dtl_tensor_destroy(t));
}

static void test_spans(dtl_context_t ctx) {
    (void)ctx;
    uint64_t n = 20;
    dtl_vector_t v = create_1d(C_VECTOR, DTL_DTYPE_INT32, n, NULL, NULL);
    write_local(v, DTL_DTYPE_INT32, 0);
    dtl_span_t s = NULL, s2 = NULL;
    OK(dtl_span_create(v, 5, 10, &s));
    uint64_t off = 0, cnt = 0, u = 0;
    OK(dtl_span_range(s, &off, &cnt));
    CHECK_EQ_U(off, 5);
    CHECK_EQ_U(cnt, 10);
    OK(dtl_span_range(s, NULL, NULL));
    OK(dtl_container_global_size(s, &u));
    CHECK_EQ_U(u, 10);
    dtl_dtype d = -1;
    OK(dtl_container_dtype(s, &d));
    CHECK_EQ_I(d, DTL_DTYPE_INT32);
    /* local part: this rank's block intersected with 5..14 */
    uint64_t loff = 0, lsz = 0;
    OK(dtl_container_local_offset(v, &loff));
    OK(dtl_container_local_size(v, &lsz));
    uint64_t lo = loff > 5 ? loff : 5, hi = loff + lsz < 15 ? loff + lsz : 15;
    uint64_t expect = hi > lo ? hi - lo : 0;
    int32_t *sp = cont_local(s, &u);
    CHECK_EQ_U(u, expect);
    for (uint64_t k = 0; k < u; k++) CHECK_EQ_I(sp[k], valf(lo + k));
    CHECK_EQ_U(sum_u64(CTX, u), 10);
    FAILS(dtl_container_local_offset(s, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_partition(s, &d), DTL_ERROR_INVALID_ARGUMENT);
    /* sub-span of a span */
    OK(dtl_span_create(s, 2, 3, &s2));
    OK(dtl_span_range(s2, &off, &cnt));
    CHECK_EQ_U(off, 7);
    CHECK_EQ_U(cnt, 3);
    OK(dtl_container_global_size(s2, &u));
    CHECK_EQ_U(u, 3);
    dtl_span_t bad = (dtl_span_t)&u;
    FAILS(dtl_span_create(s, 8, 3, &bad), DTL_ERROR_BOUNDS);
    CHECK(bad == NULL);
    FAILS(dtl_span_create(v, 0, 21, &bad), DTL_ERROR_BOUNDS);
    OK(dtl_span_create(v, 20, 0, &bad));
    OK(dtl_container_global_size(bad, &u));
    CHECK_EQ_U(u, 0);
    OK(dtl_span_destroy(bad));
    /* fill through the sub-span */
    int32_t ninety = 99;
    OK(dtl_container_fill(s2, &ninety));
    int32_t all[20];
    OK(dtl_container_gather_all(v, all, n));
    for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(all[i], (i >= 7 && i < 10) ? 99 : valf(i));
    /* resize below the span: BOUNDS; back up again: valid */
    OK(dtl_vector_resize(v, 12));
    FAILS(dtl_container_global_size(s, &u), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_local_size(s, &u), DTL_ERROR_BOUNDS);
    void *pp = NULL;
    FAILS(dtl_container_local_data(s, &pp), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_fill(s, &ninety), DTL_ERROR_BOUNDS);
    OK(dtl_container_global_size(s2, &u)); /* 7..9 still fits */
    CHECK_EQ_U(u, 3);
    OK(dtl_vector_resize(v, 20));
    OK(dtl_container_global_size(s, &u));
    CHECK_EQ_U(u, 10);
    /* destroyed container: INVALID_STATE */
    OK(dtl_vector_destroy(v));
    FAILS(dtl_container_global_size(s, &u), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_container_local_size(s2, &u), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_container_dtype(s, &d), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_container_local_data(s, &pp), DTL_ERROR_INVALID_STATE);
    FAILS(dtl_container_fill(s, &ninety), DTL_ERROR_INVALID_STATE);
    OK(dtl_span_range(s, &off, &cnt));
    OK(dtl_span_destroy(s2));
    OK(dtl_span_destroy(s));
    FAILS(dtl_span_destroy(s), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_destroy(NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_create(NULL, 0, 1, &s), DTL_ERROR_INVALID_ARGUMENT);
    /* span over a tensor split along axis 0: rows 1..4 of a 6 x 3 tensor */
    uint64_t shape[2] = {6, 3};
    dtl_tensor_t t = NULL;
    OK(dtl_tensor_create(CTX, DTL_DTYPE_FLOAT64, 2, shape, &t));
    OK(dtl_span_create(t, 1, 4, &s));
    OK(dtl_container_global_size(s, &u));
    CHECK_EQ_U(u, 12);
    OK(dtl_container_local_size(s, &u));
    CHECK_EQ_U(sum_u64(CTX, u), 12);
    CHECK_EQ_U(u % 3, 0);
    double one = 1.0;
    OK(dtl_container_fill(s, &one));
    double tall[18];
    OK(dtl_container_gather_all(t, tall, 18));
    for (int i = 0; i < 18; i++) CHECK(tall[i] == ((i >= 3 && i < 15) ? 1.0 : 0.0));
    OK(dtl_span_destroy(s));
    OK(dtl_tensor_destroy(t));
    /* span over an array */
    dtl_array_t a = create_1d(C_ARRAY, DTL_DTYPE_UINT8, 9, NULL, NULL);
    OK(dtl_span_create(a, 0, 9, &s));
    uint8_t three = 3, abuf[9];
    OK(dtl_container_fill(s, &three));
    OK(dtl_container_gather_all(a, abuf, 9));
    for (int i = 0; i < 9; i++) CHECK_EQ_I(abuf[i], 3);
    OK(dtl_array_destroy(a));
    FAILS(dtl_container_fill(s, &three), DTL_ERROR_INVALID_STATE);
    OK(dtl_span_destroy(s));
}

static void test_save_load(dtl_context_t ctx) {
    (void)ctx;
    /* one name for every rank: rank 0's pid */
    int64_t pid = (int64_t)getpid();
    OK(dtl_broadcast(CTX, &pid, 1, DTL_DTYPE_INT64, 0));
    char path[256];
    dtl_dtype ds[5] = {DTL_DTYPE_INT8, DTL_DTYPE_INT32, DTL_DTYPE_UINT64, DTL_DTYPE_FLOAT32, DTL_DTYPE_FLOAT64};
    for (int k = 0; k < 5; k++) {
        dtl_dtype d = ds[k];
        snprintf(path, sizeof path, "/tmp/dtl_test_containers_%" PRId64 "_%d.npy", pid, k);
        layout_buf b, b2;
        uint64_t n = 37;
        dtl_vector_t v = create_1d(C_VECTOR, d, n, make_layout(&b, K_CYCLIC, n), NULL);
        write_local(v, d, 0);
        OK(dtl_container_save(v, path));
        dtl_vector_t v2 = NULL;
        OK(dtl_vector_load(CTX, path, make_layout(&b2, K_BC3, n), &v2));
        dtl_dtype got = -1;
        OK(dtl_container_dtype(v2, &got));
        CHECK_EQ_I(got, d);
        check_index_maps(v2, K_BC3, n, &b2);
        check_contents(v2, d, n, 0);
        dtl_array_t a2 = NULL;
        OK(dtl_array_load(CTX, path, make_layout(&b2, K_WCOUNTS, n), &a2));
        check_contents(a2, d, n, 0);
        /* the file itself: 1-d npy, data in global order after the header */
        if (RANK == 0) {
            FILE *f = fopen(path, "rb");
            CHECK(f != NULL);
            unsigned char hdr[10];
            CHECK(fread(hdr, 1, 10, f) == 10);
            CHECK(memcmp(hdr, "\x93NUMPY", 6) == 0);
            uint64_t hlen = hdr[6] == 1 ? (uint64_t)(hdr[8] | (hdr[9] << 8)) : 0;
            CHECK(hdr[6] == 1);
            char *all = malloc(n * dsize(d));
            CHECK(fseek(f, (long)(10 + hlen), SEEK_SET) == 0);
            CHECK(fread(all, dsize(d), n, f) == n);
            for (uint64_t i = 0; i < n; i++) CHECK_EQ_I(load_i(d, all, i), wrap_i(d, valf(i)));
            free(all);
            fclose(f);
        }
        OK(dtl_vector_destroy(v));
        OK(dtl_vector_destroy(v2));
        /* an array saved, loaded as a vector */
        dtl_array_t a = create_1d(C_ARRAY, d, 11, make_layout(&b, K_REPL, 11), NULL);
        write_local(a, d, 3);
        OK(dtl_container_save(a, path));
        OK(dtl_vector_load(CTX, path, NULL, &v2));
        check_contents(v2, d, 11, 3);
        OK(dtl_vector_destroy(v2));
        OK(dtl_array_destroy(a));
        OK(dtl_array_destroy(a2));
        /* a tensor, split along axis 1, loaded split along axis 0 and 1 */
        uint64_t shape[3] = {4, 5, 2}, total = 40;
        dtl_layout l = {0};
        l.axis = 1;
        char *data = malloc(total * 8);
        for (uint64_t f = 0; f < total; f++) store_i(d, data, f, valf(f));
        dtl_tensor_t t = NULL, t2 = NULL;
        OK(dtl_tensor_scatter(CTX, d, 3, shape, data, 0, &l, &t));
        OK(dtl_container_save(t, path));
        for (int axis = 0; axis < 3; axis++) {
            dtl_layout l2 = {0};
            l2.axis = axis;
            l2.partition = axis == 2 ? DTL_PARTITION_CYCLIC : DTL_PARTITION_BLOCK;
            OK(dtl_tensor_load(CTX, path, &l2, &t2));
            uint64_t sh[3];
            int32_t ax = -1;
            OK(dtl_tensor_shape(t2, sh, 3));
            for (int q = 0; q < 3; q++) CHECK_EQ_U(sh[q], shape[q]);
            OK(dtl_tensor_split_axis(t2, &ax));
            CHECK_EQ_I(ax, axis);
            check_contents(t2, d, total, 0);
            OK(dtl_tensor_destroy(t2));
        }
        dtl_layout l4 = {0};
        l4.axis = 3;
        FAILS(dtl_tensor_load(CTX, path, &l4, &t2), DTL_ERROR_INVALID_ARGUMENT);
        CHECK(t2 == NULL);
        /* a 3-d file is not a vector */
        FAILS(dtl_vector_load(CTX, path, NULL, &v2), DTL_ERROR_INVALID_ARGUMENT);
        free(data);
        OK(dtl_tensor_destroy(t));
        OK(dtl_context_barrier(CTX));
        if (RANK == 0) remove(path);
    }
    /* missing file / not a npy file / NULL path */
    dtl_vector_t v = NULL;
    snprintf(path, sizeof path, "/tmp/dtl_test_containers_%" PRId64 "_missing.npy", pid);
    dtl_status st = dtl_vector_load(CTX, path, NULL, &v);
    CHECK_EQ_I(st, DTL_ERROR_INVALID_ARGUMENT); /* names MPI_File_open and the path */
    CHECK(v == NULL);
    snprintf(path, sizeof path, "/tmp/dtl_test_containers_%" PRId64 "_junk.npy", pid);
    if (RANK == 0) {
        FILE *f = fopen(path, "wb");
        fputs("this is not a npy file at all, just some text\n", f);
        fclose(f);
    }
    OK(dtl_context_barrier(CTX));
    FAILS(dtl_vector_load(CTX, path, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_context_barrier(CTX));
    if (RANK == 0) remove(path);
    FAILS(dtl_vector_load(CTX, NULL, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    dtl_vector_t w = create_1d(C_VECTOR, DTL_DTYPE_INT32, 4, NULL, NULL);
    FAILS(dtl_container_save(w, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS_WITH(dtl_container_save(w, "/nonexistent_dir_dtl/x.npy"), DTL_ERROR_INVALID_ARGUMENT, "MPI_File_open");
    if (SIZE > 1) {
        snprintf(path, sizeof path, "/tmp/dtl_test_containers_%" PRId64 "_r%d.npy", pid, RANK);
        FAILS(dtl_container_save(w, path), DTL_ERROR_MISMATCH);
    }
    OK(dtl_vector_destroy(w));
}

static void test_execution(dtl_context_t ctx) {
    (void)ctx;
    dtl_vector_t v = create_1d(C_VECTOR, DTL_DTYPE_INT32, 5, NULL, NULL);
    dtl_exec e = -1;
    OK(dtl_container_execution(v, &e));
    CHECK_EQ_I(e, DTL_EXEC_SEQ);
    OK(dtl_container_set_execution(v, DTL_EXEC_PAR));
    OK(dtl_container_execution(v, &e));
    CHECK_EQ_I(e, DTL_EXEC_PAR);
    OK(dtl_container_set_execution(v, DTL_EXEC_SEQ));
    OK(dtl_container_execution(v, &e));
    CHECK_EQ_I(e, DTL_EXEC_SEQ);
    FAILS(dtl_container_set_execution(v, 2), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_set_execution(v, -1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_execution(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_execution(NULL, &e), DTL_ERROR_INVALID_ARGUMENT);
    /* a tensor and a span */
    uint64_t shape[2] = {3, 3};
    dtl_tensor_t t = NULL;
    OK(dtl_tensor_create(CTX, DTL_DTYPE_FLOAT32, 2, shape, &t));
    OK(dtl_container_set_execution(t, DTL_EXEC_PAR));
    OK(dtl_container_execution(t, &e));
    CHECK_EQ_I(e, DTL_EXEC_PAR);
    OK(dtl_tensor_destroy(t));
    OK(dtl_vector_destroy(v));
}

static void test_bad_layouts(dtl_context_t ctx) {
    (void)ctx;
    dtl_vector_t v = (dtl_vector_t)&v;
    dtl_layout l = {0};
    l.partition = DTL_PARTITION_HASH;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(v == NULL);
    dtl_array_t a = NULL;
    FAILS(dtl_array_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &a), DTL_ERROR_INVALID_ARGUMENT);
    l.partition = 9;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.partition = -1;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* placements: only host in this build */
    l.partition = DTL_PARTITION_BLOCK;
    l.placement = DTL_PLACEMENT_DEVICE;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.placement = DTL_PLACEMENT_UNIFIED;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.placement = 4;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.placement = DTL_PLACEMENT_HOST;
    /* block_size on BLOCK; 0 on BLOCK_CYCLIC */
    l.block_size = 2;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.partition = DTL_PARTITION_BLOCK_CYCLIC;
    l.block_size = 0;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* weights */
    uint64_t counts[64];
    double fr[64];
    weighted_counts(10, counts);
    for (int r = 0; r < SIZE; r++) fr[r] = 1.0 / SIZE;
    l.block_size = 0;
    l.partition = DTL_PARTITION_WEIGHTED;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT); /* none */
    l.counts = counts;
    l.fractions = fr;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT); /* both */
    l.fractions = NULL;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 11, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT); /* sum */
    l.counts = NULL;
    fr[0] += 0.5;
    l.fractions = fr;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    fr[0] = -0.5;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    l.fractions = NULL;
    l.counts = counts;
    /* counts on another partition */
    l.partition = DTL_PARTITION_CYCLIC;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* axis 1 on a vector, an array */
    memset(&l, 0, sizeof l);
    l.axis = 1;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &v), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_array_create_with(CTX, DTL_DTYPE_INT32, 10, &l, NULL, &a), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_from_local(CTX, DTL_DTYPE_INT32, NULL, 0, &l, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* tensors: axis out of range, bad ndim, NULL shape */
    uint64_t shape[2] = {4, 4};
    dtl_tensor_t t = (dtl_tensor_t)&t;
    l.axis = 2;
    FAILS(dtl_tensor_create_with(CTX, DTL_DTYPE_INT32, 2, shape, &l, NULL, &t), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(t == NULL);
    l.axis = -1;
    FAILS(dtl_tensor_create_with(CTX, DTL_DTYPE_INT32, 2, shape, &l, NULL, &t), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 0, shape, &t), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 33, shape, &t), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 2, NULL, &t), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_create(CTX, 42, 2, shape, &t), DTL_ERROR_INVALID_ARGUMENT);
    /* redistribute to a bad layout keeps the container */
    v = create_1d(C_VECTOR, DTL_DTYPE_INT32, 10, NULL, NULL);
    write_local(v, DTL_DTYPE_INT32, 0);
    memset(&l, 0, sizeof l);
    l.partition = DTL_PARTITION_HASH;
    FAILS(dtl_container_redistribute(v, &l), DTL_ERROR_INVALID_ARGUMENT);
    l.partition = DTL_PARTITION_BLOCK;
    l.axis = 1;
    FAILS(dtl_container_redistribute(v, &l), DTL_ERROR_INVALID_ARGUMENT);
    /* a bad layout on one rank only: every rank errors */
    l.axis = 0;
    l.partition = RANK == SIZE - 1 ? 9 : DTL_PARTITION_CYCLIC;
    FAILS(dtl_container_redistribute(v, &l), DTL_ERROR_INVALID_ARGUMENT);
    if (SIZE > 1) {
        l.partition = RANK == SIZE - 1 ? DTL_PARTITION_BLOCK : DTL_PARTITION_CYCLIC;
        FAILS(dtl_container_redistribute(v, &l), DTL_ERROR_MISMATCH);
    }
    dtl_partition part = -1;
    OK(dtl_container_partition(v, &part));
    CHECK_EQ_I(part, DTL_PARTITION_BLOCK);
    check_contents(v, DTL_DTYPE_INT32, 10, 0);
    OK(dtl_vector_destroy(v));
}

static void test_bad_handles(dtl_context_t ctx) {
    (void)ctx;
    dtl_vector_t v = NULL;
    uint64_t u = 0;
    int32_t r = 0;
    void *p = NULL;
    int32_t x = 0;
    dtl_dtype d = 0;
    /* NULL */
    FAILS(dtl_container_global_size(NULL, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_size(NULL, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_data(NULL, &p), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_dtype(NULL, &d), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_owner(NULL, 0, &r), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_gather_all(NULL, &x, 1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_redistribute(NULL, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_save(NULL, "/tmp/x.npy"), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_destroy(NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_array_destroy(NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_destroy(NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_resize(NULL, 3), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_create(NULL, DTL_DTYPE_INT32, 3, &v), DTL_ERROR_INVALID_ARGUMENT);
    /* a map or a context passed as a container; a pointer dtl never returned */
    dtl_map_t m = NULL;
    OK(dtl_map_create(CTX, DTL_DTYPE_INT32, DTL_DTYPE_INT32, &m));
    FAILS(dtl_container_global_size(m, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_fill(m, &x), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_global_size(CTX, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_data(CTX, &p), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_gather_all(CTX, &x, 1), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_create(m, 0, 0, (dtl_span_t *)&p), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_destroy((dtl_vector_t)m), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_resize((dtl_vector_t)m, 3), DTL_ERROR_INVALID_ARGUMENT);
    int64_t junk[8] = {0};
    FAILS(dtl_container_global_size(junk, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_create((dtl_context_t)m, DTL_DTYPE_INT32, 3, &v), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_map_destroy(m));
    /* wrong kinds among containers */
    dtl_array_t a = create_1d(C_ARRAY, DTL_DTYPE_INT32, 4, NULL, NULL);
    FAILS(dtl_vector_resize((dtl_vector_t)a, 3), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_destroy((dtl_vector_t)a), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_ndim((dtl_tensor_t)a, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_destroy((dtl_tensor_t)a), DTL_ERROR_INVALID_ARGUMENT);
    OK(dtl_container_global_size(a, &u));
    CHECK_EQ_U(u, 4);
    OK(dtl_array_destroy(a));
    /* destroyed handles */
    FAILS(dtl_array_destroy(a), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_global_size(a, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_get(a, 0, &x), DTL_ERROR_INVALID_ARGUMENT);
    v = create_1d(C_VECTOR, DTL_DTYPE_INT32, 4, NULL, NULL);
    OK(dtl_vector_destroy(v));
    FAILS(dtl_vector_destroy(v), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_resize(v, 2), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_data(v, &p), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_create(v, 0, 1, (dtl_span_t *)&p), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_redistribute(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    /* dtype 42, NULL outputs */
    v = (dtl_vector_t)&v;
    FAILS_WITH(dtl_vector_create(CTX, 42, 3, &v), DTL_ERROR_INVALID_ARGUMENT, "42");
    CHECK(v == NULL);
    FAILS(dtl_vector_create(CTX, -1, 3, &v), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_array_create(CTX, 10, 3, &a), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_create(CTX, DTL_DTYPE_INT32, 3, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_array_create_with(CTX, DTL_DTYPE_INT32, 3, NULL, NULL, NULL), DTL_ERROR_INVALID_ARGUMENT);
    uint64_t shape[1] = {3};
    FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 1, shape, NULL), DTL_ERROR_INVALID_ARGUMENT);
    v = create_1d(C_VECTOR, DTL_DTYPE_INT32, 5, NULL, NULL);
    FAILS(dtl_container_global_size(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_size(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_data(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_offset(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_dtype(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_partition(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_owner(v, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_local_to_global(v, 0, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_global_to_local(v, 0, NULL, &r), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_global_to_local(v, 0, &u, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_fill(v, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_create(v, 0, 1, NULL), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_range(NULL, &u, &u), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_span_range((dtl_span_t)v, &u, &u), DTL_ERROR_INVALID_ARGUMENT);
    /* index out of range */
    FAILS(dtl_container_owner(v, 5, &r), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_owner(v, UINT64_MAX, &r), DTL_ERROR_BOUNDS);
    FAILS(dtl_container_get(v, 5, &x), DTL_ERROR_BOUNDS);
    /* capacity too small: BOUNDS on that rank only (the others succeed) */
    int32_t out[8];
    dtl_status st = dtl_container_gather_all(v, out, RANK == SIZE - 1 ? 4 : 5);
    CHECK_EQ_I(st, RANK == SIZE - 1 ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
    st = dtl_container_gather_all(v, RANK == 0 ? NULL : out, 5);
    CHECK_EQ_I(st, RANK == 0 ? DTL_ERROR_INVALID_ARGUMENT : DTL_SUCCESS);
    st = dtl_container_gather(v, 0, out, RANK == 0 ? 4 : 0);
    CHECK_EQ_I(st, RANK == 0 ? DTL_ERROR_BOUNDS : DTL_SUCCESS);
    st = dtl_container_gather(v, SIZE - 1, RANK == SIZE - 1 ? NULL : out, 5);
    CHECK_EQ_I(st, RANK == SIZE - 1 ? DTL_ERROR_INVALID_ARGUMENT : DTL_SUCCESS);
    FAILS(dtl_container_gather(v, SIZE, out, 5), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_container_gather(v, RANK == 0 ? -1 : 0, out, 5), DTL_ERROR_INVALID_ARGUMENT);
    /* collective mismatches, one rank differs: every rank errors, no hang */
    dtl_vector_t w = (dtl_vector_t)&w;
    FAILS(dtl_vector_create(CTX, RANK == SIZE - 1 ? 42 : DTL_DTYPE_INT32, 3, &w), DTL_ERROR_INVALID_ARGUMENT);
    CHECK(w == NULL);
    FAILS(dtl_vector_create(CTX, DTL_DTYPE_INT32, 3, RANK == 0 ? NULL : &w), DTL_ERROR_INVALID_ARGUMENT);
    dtl_layout l = {0};
    l.partition = RANK == 0 ? DTL_PARTITION_HASH : DTL_PARTITION_BLOCK;
    FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 3, &l, NULL, &w), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_from_local(CTX, DTL_DTYPE_INT32, NULL, RANK == SIZE - 1 ? 2 : 0, NULL, &w),
          DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_scatter(CTX, DTL_DTYPE_INT32, NULL, 4, 0, NULL, &w), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_vector_scatter(CTX, DTL_DTYPE_INT32, out, 4, SIZE, NULL, &w), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, RANK == SIZE - 1 ? 0 : 1, shape, (dtl_tensor_t *)&w),
          DTL_ERROR_INVALID_ARGUMENT);
    if (SIZE > 1) {
        FAILS(dtl_vector_create(CTX, DTL_DTYPE_INT32, (uint64_t)RANK + 3, &w), DTL_ERROR_MISMATCH);
        FAILS(dtl_array_create(CTX, RANK == 0 ? DTL_DTYPE_INT64 : DTL_DTYPE_INT32, 3, (dtl_array_t *)&w),
              DTL_ERROR_MISMATCH);
        l.partition = RANK == 0 ? DTL_PARTITION_CYCLIC : DTL_PARTITION_BLOCK;
        FAILS(dtl_vector_create_with(CTX, DTL_DTYPE_INT32, 3, &l, NULL, &w), DTL_ERROR_MISMATCH);
        FAILS(dtl_vector_resize(v, (uint64_t)RANK + 1), DTL_ERROR_MISMATCH);
        uint64_t sh2[2] = {3, (uint64_t)RANK + 1};
        FAILS(dtl_tensor_create(CTX, DTL_DTYPE_INT32, 2, sh2, (dtl_tensor_t *)&w), DTL_ERROR_MISMATCH);
    }
    OK(dtl_container_global_size(v, &u));
    CHECK_EQ_U(u, 5);
    OK(dtl_vector_destroy(v));
}

int main(void) {
    dtl_context_t ctx = check_start("test_containers");
    CTX = ctx;
    OK(dtl_context_rank(ctx, &RANK));
    OK(dtl_context_size(ctx, &SIZE));
    CHECK(SIZE <= 64);
    (void)KIND_NAMES;
    RUN(test_create_all);
    RUN(test_from_local_and_scatter);
    RUN(test_resize);
    RUN(test_get_set);
    RUN(test_indices);
    RUN(test_redistribute);
    RUN(test_tensors);
    RUN(test_spans);
    RUN(test_save_load);
    RUN(test_execution);
    RUN(test_bad_layouts);
    RUN(test_bad_handles);
    return check_finish(ctx);
}
