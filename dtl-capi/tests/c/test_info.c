/*
 * test_info.c - dtl_info_string and dtl_print_info: the report names the dtl
 * version, the MPI library (checked against MPI_Get_library_version), the
 * number of ranks (MPI_Comm_size), this host (MPI_Get_processor_name) and one
 * line per rank; the snprintf-style size query and truncation; rank 0's
 * printed report (captured from fd 1) equals the string; bad arguments fail
 * on every rank without a hang.
 *
 * Runs at any np.
 */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <unistd.h>

#include "check.h"

/* The report, allocated (size query first, then the full copy). */
static char *report(dtl_context_t ctx) {
    uint64_t len = 0;
    OK(dtl_info_string(ctx, NULL, 0, &len));
    CHECK(len > 0);
    char *buf = malloc(len + 1);
    CHECK(buf != NULL);
    uint64_t len2 = 0;
    OK(dtl_info_string(ctx, buf, len + 1, &len2));
    CHECK_EQ_U(len2, len);
    CHECK_EQ_U(strlen(buf), len);
    return buf;
}

static void test_info_string_fields(dtl_context_t ctx) {
    char *text = report(ctx);
    int size = 0, rank = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    CHECK(strncmp(text, "dtl info\n", 9) == 0);
    CHECK(strstr(text, DTL_TEST_VERSION) != NULL);

    /* The first line of MPI's own version string. */
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(lib, &n);
    char *nl = strchr(lib, '\n');
    if (nl) *nl = '\0';
    size_t l = strlen(lib);
    while (l > 0 && (lib[l - 1] == ' ' || lib[l - 1] == '\t' || lib[l - 1] == '\r')) lib[--l] = '\0';
    CHECK(strstr(text, lib) != NULL);

    int major = 0, minor = 0;
    MPI_Get_version(&major, &minor);
    char want[MPI_MAX_PROCESSOR_NAME + 128];
    snprintf(want, sizeof want, "MPI standard           %d.%d\n", major, minor);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof want, "ranks                  %d on ", size);
    CHECK(strstr(text, want) != NULL);

    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Get_processor_name(host, &n);
    snprintf(want, sizeof want, "rank %3d  host %s  node ", rank, host);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof want, "pid %ld  ", (long)getpid());
    CHECK(strstr(text, want) != NULL);
    for (int r = 0; r < size; r++) {
        snprintf(want, sizeof want, "    rank %3d  host ", r);
        CHECK(strstr(text, want) != NULL);
    }
    CHECK(strstr(text, "  CUDA ") != NULL);
    CHECK(strstr(text, "  NCCL ") != NULL);
    CHECK(strstr(text, "thread level           requested ") != NULL);
    free(text);
}

static void test_info_string_truncates(dtl_context_t ctx) {
    char *full = report(ctx);
    char small[10];
    memset(small, 'x', sizeof small);
    uint64_t len = 0;
    OK(dtl_info_string(ctx, small, sizeof small, &len));
    CHECK_EQ_U(len, strlen(full));
    CHECK_EQ_U(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, full, sizeof small - 1) == 0);
    /* cap 1: only the NUL. */
    OK(dtl_info_string(ctx, small, 1, &len));
    CHECK_EQ_U(small[0], 0);
    free(full);
}

static void test_info_bad_arguments(dtl_context_t ctx) {
    char buf[8];
    FAILS_WITH(dtl_info_string(ctx, buf, sizeof buf, NULL), DTL_ERROR_INVALID_ARGUMENT, "len is NULL");
    uint64_t len = 0;
    FAILS_WITH(dtl_info_string(ctx, NULL, 5, &len), DTL_ERROR_INVALID_ARGUMENT, "buf is NULL");
    FAILS(dtl_info_string(NULL, buf, sizeof buf, &len), DTL_ERROR_INVALID_ARGUMENT);
    FAILS(dtl_print_info(NULL), DTL_ERROR_INVALID_ARGUMENT);
}

/* dtl_print_info writes the report on rank 0 only: capture fd 1. */
static void test_print_info(dtl_context_t ctx) {
    char *want = report(ctx);
    fflush(stdout);
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    int saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0);
    CHECK(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    dtl_status st = dtl_print_info(ctx);
    fflush(stdout);
    CHECK(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    OK(st);
    CHECK(fseek(tmp, 0, SEEK_END) == 0);
    long n = ftell(tmp);
    CHECK(n >= 0);
    rewind(tmp);
    char *got = calloc((size_t)n + 1, 1);
    CHECK(got != NULL);
    CHECK_EQ_U(fread(got, 1, (size_t)n, tmp), (uint64_t)n);
    fclose(tmp);
    if (check_rank_ == 0) {
        CHECK(strcmp(got, want) == 0);
    } else {
        CHECK_EQ_I(n, 0);
    }
    free(got);
    free(want);
}

int main(void) {
    dtl_context_t ctx = check_start("test_info");
    RUN(test_info_string_fields);
    RUN(test_info_string_truncates);
    RUN(test_info_bad_arguments);
    RUN(test_print_info);
    return check_finish(ctx);
}
