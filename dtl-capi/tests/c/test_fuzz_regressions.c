/*
 * test_fuzz_regressions.c - inputs found by the fuzz target
 * (dtl-capi/fuzz, `make fuzz`), turned into checks at every np.
 */
#include "check.h"

/* capi_calls crash-e505e566: dtl_vector_resize to a size whose local part
 * cannot be allocated aborted the process ("memory allocation of ... bytes
 * failed", a Rust allocation failure) instead of returning an error. Now
 * every rank gets DTL_ERROR_MEMORY and the vector is unchanged. */
static void test_resize_beyond_memory(dtl_context_t ctx) {
    /* Global sizes; each rank's part (np <= 16) is over 2^40 elements. */
    static const uint64_t huge[] = {UINT64_C(1) << 44, UINT64_C(1) << 52, UINT64_C(1) << 62, UINT64_MAX};
    static const dtl_dtype dtypes[] = {DTL_DTYPE_UINT8, DTL_DTYPE_FLOAT64};
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        dtl_vector_t v = NULL;
        OK(dtl_vector_create(ctx, dtypes[d], 10, &v));
        uint64_t local = 0, offset = 0;
        OK(dtl_container_local_size(v, &local));
        OK(dtl_container_local_offset(v, &offset));
        void *raw = NULL;
        OK(dtl_container_local_data(v, &raw));
        for (uint64_t i = 0; i < local; i++) {
            if (dtypes[d] == DTL_DTYPE_UINT8)
                ((uint8_t *)raw)[i] = (uint8_t)(offset + i + 1);
            else
                ((double *)raw)[i] = (double)(offset + i + 1);
        }
        for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
            FAILS_WITH(dtl_vector_resize(v, huge[k]), DTL_ERROR_MEMORY, "cannot allocate");
            uint64_t g = 0;
            OK(dtl_container_global_size(v, &g));
            CHECK_EQ_U(g, 10);
        }
        double sum = 0;
        uint64_t isum = 0;
        OK(dtl_reduce(v, DTL_OP_SUM, dtypes[d] == DTL_DTYPE_UINT8 ? (void *)&isum : (void *)&sum));
        if (dtypes[d] == DTL_DTYPE_UINT8)
            CHECK_EQ_U(isum & 0xFF, 55);
        else
            CHECK_NEAR(sum, 55.0, 0);
        /* And it still resizes. */
        OK(dtl_vector_resize(v, 3));
        OK(dtl_reduce(v, DTL_OP_SUM, dtypes[d] == DTL_DTYPE_UINT8 ? (void *)&isum : (void *)&sum));
        if (dtypes[d] == DTL_DTYPE_UINT8)
            CHECK_EQ_U(isum & 0xFF, 6);
        else
            CHECK_NEAR(sum, 6.0, 0);
        OK(dtl_vector_destroy(v));
    }
}

int main(void) {
    dtl_context_t ctx = check_start("test_fuzz_regressions");
    RUN(test_resize_beyond_memory);
    return check_finish(ctx);
}
