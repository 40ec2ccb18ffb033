/*
 * elements.h - typed access to untyped element buffers for dtl's C tests:
 * the size of a dtype, storing and loading element i of a buffer of any
 * dtype as int64 or double (integers wrap as C conversions do), the sum of
 * a uint64 over the ranks, and a deterministic pseudo-random sequence
 * (the same on every rank). Include after check.h.
 */
#ifndef DTL_TEST_ELEMENTS_H
#define DTL_TEST_ELEMENTS_H

static inline size_t dsize(dtl_dtype d) {
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

static inline int is_float(dtl_dtype d) { return d == DTL_DTYPE_FLOAT32 || d == DTL_DTYPE_FLOAT64; }
static inline int is_signed(dtl_dtype d) { return d <= DTL_DTYPE_INT64 || is_float(d); }

/* Stores v (converted to the dtype; integers wrap) as element i of buf. */
static inline void store_i(dtl_dtype d, void *buf, size_t i, int64_t v) {
    char *p = (char *)buf + i * dsize(d);
    switch (d) {
    case DTL_DTYPE_INT8: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
    case DTL_DTYPE_INT16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
    case DTL_DTYPE_INT32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
    case DTL_DTYPE_INT64: { int64_t x = v; memcpy(p, &x, 8); break; }
    case DTL_DTYPE_UINT8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case DTL_DTYPE_UINT16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case DTL_DTYPE_UINT32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case DTL_DTYPE_UINT64: { uint64_t x = (uint64_t)v; memcpy(p, &x, 8); break; }
    case DTL_DTYPE_FLOAT32: { float x = (float)v; memcpy(p, &x, 4); break; }
    default: { double x = (double)v; memcpy(p, &x, 8); break; }
    }
}

static inline void store_d(dtl_dtype d, void *buf, size_t i, double v) {
    char *p = (char *)buf + i * dsize(d);
    if (d == DTL_DTYPE_FLOAT32) { float x = (float)v; memcpy(p, &x, 4); }
    else if (d == DTL_DTYPE_FLOAT64) { memcpy(p, &v, 8); }
    else store_i(d, buf, i, (int64_t)v);
}

/* Element i of buf as int64 (uint64 reinterpreted; floats truncated). */
static inline int64_t load_i(dtl_dtype d, const void *buf, size_t i) {
    const char *p = (const char *)buf + i * dsize(d);
    switch (d) {
    case DTL_DTYPE_INT8: { int8_t x; memcpy(&x, p, 1); return x; }
    case DTL_DTYPE_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case DTL_DTYPE_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case DTL_DTYPE_INT64: { int64_t x; memcpy(&x, p, 8); return x; }
    case DTL_DTYPE_UINT8: { uint8_t x; memcpy(&x, p, 1); return x; }
    case DTL_DTYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case DTL_DTYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case DTL_DTYPE_UINT64: { uint64_t x; memcpy(&x, p, 8); return (int64_t)x; }
    case DTL_DTYPE_FLOAT32: { float x; memcpy(&x, p, 4); return (int64_t)x; }
    default: { double x; memcpy(&x, p, 8); return (int64_t)x; }
    }
}

static inline double load_d(dtl_dtype d, const void *buf, size_t i) {
    const char *p = (const char *)buf + i * dsize(d);
    if (d == DTL_DTYPE_FLOAT32) { float x; memcpy(&x, p, 4); return x; }
    if (d == DTL_DTYPE_FLOAT64) { double x; memcpy(&x, p, 8); return x; }
    if (d == DTL_DTYPE_UINT64) return (double)(uint64_t)load_i(d, buf, i);
    return (double)load_i(d, buf, i);
}

/* v converted to the dtype and read back (integer wrap applied). */
static inline int64_t wrap_i(dtl_dtype d, int64_t v) {
    char tmp[8];
    store_i(d, tmp, 0, v);
    return load_i(d, tmp, 0);
}

static inline uint64_t sum_u64(dtl_context_t ctx, uint64_t x) {
    uint64_t total = 0;
    OK(dtl_allreduce(ctx, &x, &total, 1, DTL_DTYPE_UINT64, DTL_OP_SUM));
    return total;
}

/* Deterministic pseudo-random numbers (same sequence on every rank). */
static uint64_t rng_state = 88172645463325252ull;
static inline uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#endif
