/*
 * check.h - the assertions of dtl's C tests (plain C11, header only).
 *
 * Every test program is one MPI job: it creates a world context, runs its
 * test functions (each a `static void test_x(dtl_context_t ctx)`) with
 * RUN(test_x), and ends with `return check_finish(ctx);`. A failed check
 * prints rank, file, line, the expression and dtl's last error message,
 * and the job exits non-zero (mpirun then stops the other ranks), so a
 * failure can never turn into a hang.
 *
 *   OK(call)                 the dtl call returns DTL_SUCCESS
 *   FAILS(call, status)      the dtl call returns `status` (a DTL_ERROR_*)
 *   FAILS_WITH(call, status, "text")   ... and the last error mentions text
 *   CHECK(cond)              a condition holds
 *   CHECK_EQ_I(a, b)         integers (printed as int64)
 *   CHECK_EQ_U(a, b)         unsigned integers (printed as uint64)
 *   CHECK_NEAR(a, b, tol)    doubles, |a - b| <= tol * max(1, |b|)
 */
#ifndef DTL_TEST_CHECK_H
#define DTL_TEST_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtl.h"

static int check_rank_ = -1;
static int check_count_ = 0;

#define CHECK_FAIL_(...)                                                           \
    do {                                                                           \
        fprintf(stderr, "[rank %d] %s:%d: ", check_rank_, __FILE__, __LINE__);    \
        fprintf(stderr, __VA_ARGS__);                                              \
        fputc('\n', stderr);                                                       \
        fflush(stderr);                                                            \
        exit(1);                                                                   \
    } while (0)

#define OK(call)                                                                   \
    do {                                                                           \
        dtl_status st_ = (call);                                                   \
        check_count_++;                                                            \
        if (st_ != DTL_SUCCESS)                                                    \
            CHECK_FAIL_("%s -> %s: %s", #call, dtl_status_name(st_),               \
                        dtl_last_error_message());                                 \
    } while (0)

#define FAILS(call, status)                                                        \
    do {                                                                           \
        dtl_status st_ = (call);                                                   \
        check_count_++;                                                            \
        if (st_ != (status))                                                       \
            CHECK_FAIL_("%s -> %s (%s), expected %s", #call, dtl_status_name(st_), \
                        dtl_last_error_message(), dtl_status_name(status));        \
    } while (0)

#define FAILS_WITH(call, status, text)                                             \
    do {                                                                           \
        FAILS(call, status);                                                       \
        if (strstr(dtl_last_error_message(), (text)) == NULL)                      \
            CHECK_FAIL_("%s: last error \"%s\" does not mention \"%s\"", #call,    \
                        dtl_last_error_message(), (text));                         \
    } while (0)

#define CHECK(cond)                                                                \
    do {                                                                           \
        check_count_++;                                                            \
        if (!(cond)) CHECK_FAIL_("check failed: %s", #cond);                       \
    } while (0)

#define CHECK_EQ_I(a, b)                                                           \
    do {                                                                           \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                              \
        check_count_++;                                                            \
        if (a_ != b_)                                                              \
            CHECK_FAIL_("%s == %s failed: %" PRId64 " != %" PRId64, #a, #b, a_, b_); \
    } while (0)

#define CHECK_EQ_U(a, b)                                                           \
    do {                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                           \
        check_count_++;                                                            \
        if (a_ != b_)                                                              \
            CHECK_FAIL_("%s == %s failed: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                      \
    do {                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                 \
        check_count_++;                                                            \
        if (!(fabs(a_ - b_) <= (tol) * fmax(1.0, fabs(b_))))                       \
            CHECK_FAIL_("%s ~= %s failed: %.17g != %.17g", #a, #b, a_, b_);        \
    } while (0)

/* Runs one test function; rank 0 names it (stdout) so a log shows progress. */
#define RUN(test)                                                                  \
    do {                                                                           \
        if (check_rank_ == 0) {                                                    \
            printf("  %s\n", #test);                                               \
            fflush(stdout);                                                        \
        }                                                                          \
        test(ctx);                                                                 \
        OK(dtl_context_barrier(ctx));                                              \
    } while (0)

/* Creates the world context every test of a program runs on. */
static inline dtl_context_t check_start(const char *program) {
    dtl_context_t ctx = NULL;
    OK(dtl_context_create_world(&ctx));
    int32_t r = -1, n = 0;
    OK(dtl_context_rank(ctx, &r));
    OK(dtl_context_size(ctx, &n));
    check_rank_ = r;
    if (r == 0) {
        printf("%s (np %d)\n", program, n);
        fflush(stdout);
    }
    return ctx;
}

/* Destroys the context (finalizing MPI) and reports the number of checks. */
static inline int check_finish(dtl_context_t ctx) {
    int r = check_rank_;
    OK(dtl_context_destroy(ctx));
    if (r == 0) printf("  ok: %d checks on rank 0\n", check_count_);
    return 0;
}

#endif
