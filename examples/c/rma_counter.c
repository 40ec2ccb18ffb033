/*
 * rma_counter.c - a distributed counter with one-sided atomics
 * (dtl_window_fetch_and_op): dynamic load balancing over RMA.
 *
 * Rank 0 exposes one int64 counter in an RMA window. Every rank repeatedly
 * takes a ticket (an atomic fetch-and-add of 1 on rank 0's counter, under a
 * shared lock) until the tickets run out at TOTAL; ticket t is work item t,
 * whose result is t * t. Fast ranks take more tickets than slow ones, and no
 * item is done twice or skipped, so:
 *   - the ranks took TOTAL tickets in all, and their results add up to
 *     0^2 + 1^2 + ... + (TOTAL-1)^2 = (TOTAL-1) TOTAL (2 TOTAL-1) / 6;
 *   - the counter ends at TOTAL + size (each rank's last, refused ticket
 *     incremented it too).
 * Exits non-zero on any mismatch.
 *
 * Build and run:  make -C examples/c run NPS="1 2 3 4"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtl.h"

enum { TOTAL = 1000 };

static int rank = -1;

#define TRY(call)                                                                    \
    do {                                                                             \
        dtl_status st_ = (call);                                                     \
        if (st_ != DTL_SUCCESS) {                                                    \
            fprintf(stderr, "[rank %d] %s:%d: %s -> %s: %s\n", rank, __FILE__,       \
                    __LINE__, #call, dtl_status_name(st_), dtl_last_error_message()); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* Takes the next ticket: fetch-and-add 1 on rank 0's counter, complete when
 * the lock is released (the old value is then in *ticket). */
static int64_t take_ticket(dtl_window_t win) {
    const int64_t one = 1;
    int64_t ticket = -1;
    TRY(dtl_window_lock(win, 0, DTL_LOCK_MODE_SHARED));
    TRY(dtl_window_fetch_and_op(win, &one, &ticket, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_SUM));
    TRY(dtl_window_unlock(win, 0));
    return ticket;
}

int main(void) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx));
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    /* The counter: 8 zeroed bytes on rank 0, none elsewhere. */
    dtl_window_t win = NULL;
    TRY(dtl_window_allocate(ctx, rank == 0 ? sizeof(int64_t) : 0, &win));

    int64_t taken = 0, results = 0;
    for (;;) {
        int64_t t = take_ticket(win);
        if (t >= TOTAL) break;
        results += t * t; /* "work item" t */
        taken++;
    }

    /* Everyone is done; read the counter atomically (NO_OP: origin may be NULL). */
    TRY(dtl_context_barrier(ctx));
    int64_t final = -1;
    TRY(dtl_window_lock(win, 0, DTL_LOCK_MODE_SHARED));
    TRY(dtl_window_fetch_and_op(win, NULL, &final, DTL_DTYPE_INT64, 0, 0, DTL_RMA_OP_NO_OP));
    TRY(dtl_window_unlock(win, 0));

    int64_t mine[2] = {taken, results}, all[2] = {0, 0};
    TRY(dtl_allreduce(ctx, mine, all, 2, DTL_DTYPE_INT64, DTL_OP_SUM));
    const int64_t n = TOTAL;
    const int64_t want_results = (n - 1) * n * (2 * n - 1) / 6;
    int ok = all[0] == n && all[1] == want_results && final == n + size;
    printf("rank %d took %" PRId64 " of %d tickets\n", rank, taken, TOTAL);
    fflush(stdout);

    int32_t bad = !ok, any_bad = 0;
    TRY(dtl_allreduce(ctx, &bad, &any_bad, 1, DTL_DTYPE_INT32, DTL_OP_MAX));
    TRY(dtl_window_destroy(win));
    TRY(dtl_context_destroy(ctx));
    if (!ok) {
        fprintf(stderr,
                "[rank %d] rma_counter: %" PRId64 " tickets (want %" PRId64 "), results %" PRId64
                " (want %" PRId64 "), counter %" PRId64 " (want %" PRId64 ")\n",
                rank, all[0], n, all[1], want_results, final, n + size);
        return 1;
    }
    if (any_bad) return 1;
    if (rank == 0) printf("rma_counter: %d tickets on %d rank(s), counter %" PRId64 ": ok\n", TOTAL, size, final);
    return 0;
}
