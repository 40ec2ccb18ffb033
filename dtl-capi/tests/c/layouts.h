/*
 * layouts.h - the partitions dtl's C tests cycle through (K_BLOCK ..
 * K_REPL) and make_layout(), which fills a dtl_layout for one of them.
 * Include after check.h, in a file that defines `static int32_t SIZE` (the
 * number of ranks).
 */
#ifndef DTL_TEST_LAYOUTS_H
#define DTL_TEST_LAYOUTS_H

enum { K_BLOCK, K_CYCLIC, K_BC3, K_WCOUNTS, K_WFRAC, K_REPL, N_KINDS };

typedef struct {
    dtl_layout l;
    uint64_t counts[64];
    double fractions[64];
} layout_buf;

/* Weighted counts: rank r gets about (r + 1) / T of n, T = size (size + 1) / 2. */
static void weighted_counts(uint64_t n, uint64_t *counts) {
    uint64_t T = (uint64_t)SIZE * (SIZE + 1) / 2, prev = 0, cum = 0;
    for (int r = 0; r < SIZE; r++) {
        cum += (uint64_t)r + 1;
        uint64_t c = n * cum / T;
        counts[r] = c - prev;
        prev = c;
    }
}

static const dtl_layout *make_layout(layout_buf *b, int kind, uint64_t n) {
    memset(b, 0, sizeof *b);
    switch (kind) {
    case K_BLOCK: b->l.partition = DTL_PARTITION_BLOCK; break;
    case K_CYCLIC: b->l.partition = DTL_PARTITION_CYCLIC; break;
    case K_BC3: b->l.partition = DTL_PARTITION_BLOCK_CYCLIC; b->l.block_size = 3; break;
    case K_WCOUNTS:
        b->l.partition = DTL_PARTITION_WEIGHTED;
        weighted_counts(n, b->counts);
        b->l.counts = b->counts;
        break;
    case K_WFRAC:
        b->l.partition = DTL_PARTITION_WEIGHTED;
        /* 1/size each, the last rank the remainder (so they sum to 1 exactly enough) */
        for (int r = 0; r < SIZE; r++) b->fractions[r] = 1.0 / SIZE;
        if (SIZE == 4) { b->fractions[0] = 0.5; b->fractions[1] = 0.25; b->fractions[2] = 0.125; b->fractions[3] = 0.125; }
        b->l.fractions = b->fractions;
        break;
    default: b->l.partition = DTL_PARTITION_REPLICATED; break;
    }
    return &b->l;
}

#endif
