/*
 * word_count.c - count the words of Python's standard library in a dtl map.
 *
 * The C mirror of examples/python/word_count.py. The corpus is real text:
 * the first FILES .py files (sorted by path, component by component) under
 * Python's standard library (the directory `python3` reports as
 * sysconfig.get_paths()["stdlib"], site-packages left out), or under the
 * directory given as argv[1] (argv[2]: how many files). Files are dealt to
 * the ranks cyclically; each rank splits its files into words (runs of
 * [A-Za-z_][A-Za-z0-9_]*) and counts them: every word's 64-bit FNV-1a hash
 * goes into an array, which is sorted and run-length counted.
 *
 * A dtl_map_t from uint64 (the hash) to uint64 (the count) holds the
 * global counts; every key lives on one owner rank. dtl_map_insert replaces
 * a value (there is no combining insert), so the ranks merge their counts
 * in turn: in round r, rank r reads the current counts of its words with
 * the collective dtl_map_find_many (the other ranks pass no key), adds its
 * own and dtl_map_insert_many-s the sums, which the next collective call
 * ships to the owners (one MPI_Alltoallv). dtl_map_global_view (collective,
 * MPI_Allgatherv) then gives every rank the whole map; the 20 most frequent
 * words are printed, spelled by the ranks that saw them (dtl_allgatherv of
 * bytes).
 *
 * Check: rank 0 counts all the files in one process and compares every
 * count, the number of distinct words with the map's size, and that no two
 * words share a hash; dtl_broadcast gives every rank the verdict (exit
 * status 1 if wrong).
 *
 * Build and run:  make -C examples/c run NPS="2 4"   (or: word_count [DIR [FILES]])
 */
#define _XOPEN_SOURCE 700 /* popen, nftw, strdup */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtl.h"

enum { FILES = 250, TOP = 20 };

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

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "[rank %d] out of memory\n", rank);
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "[rank %d] out of memory\n", rank);
        exit(1);
    }
    return p;
}

/* ---------------------------------------------------------------- the corpus */

static char **paths = NULL;
static size_t n_paths = 0, cap_paths = 0;

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    size_t len = strlen(path);
    if (type == FTW_F && len > 3 && strcmp(path + len - 3, ".py") == 0 && !strstr(path, "/site-packages/")) {
        if (n_paths == cap_paths) {
            cap_paths = cap_paths ? 2 * cap_paths : 1024;
            paths = xrealloc(paths, cap_paths * sizeof(char *));
        }
        paths[n_paths++] = strdup(path);
    }
    return 0;
}

/* Paths in component order (as Python and Rust sort paths): '/' below every other byte. */
static int path_cmp(const void *a, const void *b) {
    const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
    for (;; x++, y++) {
        unsigned cx = *x == '/' ? 1u : *x == 0 ? 0u : *x + 1u;
        unsigned cy = *y == '/' ? 1u : *y == 0 ? 0u : *y + 1u;
        if (cx != cy) return cx < cy ? -1 : 1;
        if (!cx) return 0;
    }
}

/* Python's stdlib directory, as python3 reports it, into buf. */
static void stdlib_dir(char *buf, size_t cap) {
    FILE *p = popen("python3 -c \"import sysconfig; print(sysconfig.get_paths()['stdlib'])\"", "r");
    if (!p || !fgets(buf, (int)cap, p)) {
        fprintf(stderr, "[rank %d] cannot ask python3 for its stdlib directory\n", rank);
        exit(1);
    }
    pclose(p);
    buf[strcspn(buf, "\n")] = 0;
}

/* ---------------------------------------------------------------- counting */

/* One occurrence of a word: its hash and where its spelling is. */
typedef struct {
    uint64_t key;
    const char *word;
    uint32_t len;
} token;

/* A rank's (or one process's) counts: unique keys ascending, their counts
 * and one spelling each; collisions counts keys spelled two ways. */
typedef struct {
    uint64_t *keys, *counts;
    const char **words;
    uint32_t *lens;
    size_t n;
    int collisions;
} counts_t;

static uint64_t fnv1a(const char *w, size_t n) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)w[i]) * 0x100000001b3u;
    return h;
}

static int is_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_word(char c) { return is_start(c) || (c >= '0' && c <= '9'); }

static int token_cmp(const void *a, const void *b) {
    const token *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Counts the words of the files paths[first], paths[first + step], ... below
 * `limit`. The files' text stays allocated (the spellings point into it). */
static counts_t count_words(size_t first, size_t step, size_t limit) {
    token *toks = NULL;
    size_t n = 0, cap = 0;
    for (size_t f = first; f < limit; f += step) {
        FILE *fp = fopen(paths[f], "rb");
        if (!fp) {
            fprintf(stderr, "[rank %d] cannot read %s\n", rank, paths[f]);
            exit(1);
        }
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *text = xmalloc((size_t)size + 1);
        size_t got = fread(text, 1, (size_t)size, fp);
        fclose(fp);
        text[got] = 0;
        for (size_t i = 0; i < got;) {
            if (!is_start(text[i])) {
                i++;
                continue;
            }
            size_t s = i;
            while (i < got && is_word(text[i])) i++;
            if (n == cap) {
                cap = cap ? 2 * cap : 1 << 16;
                toks = xrealloc(toks, cap * sizeof(token));
            }
            toks[n++] = (token){fnv1a(text + s, i - s), text + s, (uint32_t)(i - s)};
        }
    }
    qsort(toks, n, sizeof(token), token_cmp);
    counts_t c = {xmalloc(n * 8), xmalloc(n * 8), xmalloc(n * sizeof(char *)), xmalloc(n * 4), 0, 0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && toks[j].key == toks[i].key) {
            if (toks[j].len != toks[i].len || memcmp(toks[j].word, toks[i].word, toks[i].len) != 0)
                c.collisions++;
            j++;
        }
        c.keys[c.n] = toks[i].key;
        c.counts[c.n] = j - i;
        c.words[c.n] = toks[i].word;
        c.lens[c.n] = toks[i].len;
        c.n++;
        i = j;
    }
    free(toks);
    return c;
}

/* Index of key in the ascending keys[0..n), or -1. */
static long find_key(const uint64_t *keys, size_t n, uint64_t key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && keys[lo] == key ? (long)lo : -1;
}

typedef struct {
    uint64_t key, count;
} pair;

/* Count descending, then key ascending. */
static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

int main(int argc, char **argv) {
    dtl_context_t ctx = NULL;
    TRY(dtl_context_create_world(&ctx)); /* collective; initializes MPI */
    int32_t r = -1, size = 0;
    TRY(dtl_context_rank(ctx, &r));
    TRY(dtl_context_size(ctx, &size));
    rank = r;

    char dir[4096];
    if (argc > 1) snprintf(dir, sizeof dir, "%s", argv[1]);
    else stdlib_dir(dir, sizeof dir);
    size_t limit = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : FILES;
    if (nftw(dir, add_file, 32, FTW_PHYS) != 0) {
        fprintf(stderr, "[rank %d] cannot walk %s\n", rank, dir);
        return 1;
    }
    qsort(paths, n_paths, sizeof(char *), path_cmp);
    if (limit > n_paths) limit = n_paths;

    /* This rank's files, cyclically: rank, rank + size, ... */
    counts_t mine = count_words((size_t)rank, (size_t)size, limit);

    dtl_map_t m = NULL;
    TRY(dtl_map_create(ctx, DTL_DTYPE_UINT64, DTL_DTYPE_UINT64, &m)); /* collective */
    uint64_t *current = xmalloc(mine.n * 8);
    int32_t *found = xmalloc(mine.n * 4);
    for (int q = 0; q < size; q++) { /* one round per rank: read, add, write back */
        uint64_t n_ask = q == rank ? mine.n : 0;
        TRY(dtl_map_find_many(m, mine.keys, n_ask, current, found)); /* collective; flushes first */
        if (q == rank) {
            for (size_t i = 0; i < mine.n; i++) current[i] = (found[i] ? current[i] : 0) + mine.counts[i];
            TRY(dtl_map_insert_many(m, mine.keys, current, mine.n)); /* local: queued for the owners */
        }
    }
    uint64_t distinct = 0;
    TRY(dtl_map_global_view(m, NULL, NULL, 0, &distinct)); /* collective: flushes, gives the size */
    uint64_t *gkeys = xmalloc(distinct * 8), *gcounts = xmalloc(distinct * 8);
    TRY(dtl_map_global_view(m, gkeys, gcounts, distinct, &distinct)); /* every pair, by key */

    /* The TOP largest counts (ties by key), spelled by whichever rank saw them. */
    pair *top = xmalloc(distinct * sizeof(pair));
    for (uint64_t i = 0; i < distinct; i++) top[i] = (pair){gkeys[i], gcounts[i]};
    qsort(top, distinct, sizeof(pair), pair_cmp);
    size_t n_top = distinct < TOP ? distinct : TOP;
    char *known = xmalloc(n_top * 256 + 1);
    size_t k_len = 0;
    for (size_t t = 0; t < n_top; t++) {
        long i = find_key(mine.keys, mine.n, top[t].key);
        if (i >= 0) {
            uint32_t len = mine.lens[i] < 255 ? mine.lens[i] : 255;
            memcpy(known + k_len, mine.words[i], len);
            k_len += len;
        }
        known[k_len++] = '\n';
    }
    uint64_t total_len = 0, my_len = k_len;
    TRY(dtl_allreduce(ctx, &my_len, &total_len, 1, DTL_DTYPE_UINT64, DTL_OP_SUM));
    char *blob = xmalloc(total_len);
    uint64_t *lens = xmalloc((size_t)size * 8);
    TRY(dtl_allgatherv(ctx, known, k_len, blob, total_len, lens, DTL_DTYPE_UINT8)); /* collective */

    uint8_t verdict = 0;
    if (rank == 0) {
        uint64_t words = 0;
        for (uint64_t i = 0; i < distinct; i++) words += gcounts[i];
        printf("%" PRIu64 " words, %" PRIu64 " distinct, in %zu files of %s on %d rank(s)\n", words,
               distinct, limit, dir, size);
        for (size_t t = 0; t < n_top; t++) {
            /* The spelling: line t of the first rank's part that has a non-empty one. */
            const char *part = blob, *name = "?";
            int name_len = 1;
            for (int q = 0; q < size; part += lens[q], q++) {
                const char *line = part;
                for (size_t skip = 0; skip < t; skip++) line = memchr(line, '\n', (size_t)(part + lens[q] - line)) + 1;
                const char *end = memchr(line, '\n', (size_t)(part + lens[q] - line));
                if (end > line) {
                    name = line;
                    name_len = (int)(end - line);
                    break;
                }
            }
            printf("  %7" PRIu64 "  %.*s\n", top[t].count, name_len, name);
        }
        counts_t ref = count_words(0, 1, limit); /* every file, one process */
        int wrong = 0;
        for (size_t i = 0; i < ref.n; i++) {
            long j = find_key(gkeys, distinct, ref.keys[i]);
            if (j < 0 || gcounts[j] != ref.counts[i]) wrong++;
        }
        if (ref.collisions) fprintf(stderr, "WRONG: %d words share a hash\n", ref.collisions);
        if (ref.n != distinct) fprintf(stderr, "WRONG: %" PRIu64 " keys, %zu distinct words\n", distinct, ref.n);
        if (wrong) fprintf(stderr, "WRONG: %d counts differ\n", wrong);
        verdict = ref.collisions || ref.n != distinct || wrong;
        printf("every count agrees with a one-process count of all files -> %s\n", verdict ? "WRONG" : "OK");
    }
    TRY(dtl_broadcast(ctx, &verdict, 1, DTL_DTYPE_UINT8, 0)); /* collective */
    TRY(dtl_map_destroy(m));
    TRY(dtl_context_destroy(ctx)); /* the last dtl object: finalizes MPI */
    return verdict;
}
