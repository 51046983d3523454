/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dblookup: the lookup figure of make bench's section 6 (lists from a
 * database), measured on the core.
 *
 *   dblookup ROWS-FILE STATE-DIR
 *
 * ROWS-FILE holds a query's result, one value a line (psql's COPY ... TO
 * STDOUT).  It is registered as a list from another source
 * (pp_listset_add_source: each line a row, as the apr_dbd glue feeds
 * them), published as the snapshot every process maps, and then a million
 * lookups of random MACs (half of them in the list) are timed through
 * pp_listset_lookup, as a request makes them.
 */
#define _GNU_SOURCE
#include "pp_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_rows(void *baton, uint64_t *version, pp_maclist_t *list,
                     char *err, size_t errlen)
{
    FILE *f = fopen(baton, "r");
    pp_macbuild_t b;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long row = 0;

    (void)version;
    memset(&b, 0, sizeof(b));
    if (!f) {
        pp_err(err, errlen, "cannot read %s", (const char *)baton);
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        int rc = pp_macbuild_row(&b, line, (size_t)n, ++row, err, errlen);
        if (rc != 1) {
            free(line);
            fclose(f);
            pp_macbuild_free(&b);
            return rc;
        }
    }
    free(line);
    fclose(f);
    return pp_macbuild_finish(&b, list);
}

int main(int argc, char **argv)
{
    pp_listset_t *set = pp_listset_new();
    char err[1024];
    pp_maclist_t all;
    pp_mac_t *probe;
    int i, idx, n = 1000000, found = 0;
    double t0, t;

    if (argc != 3 || !set) {
        fprintf(stderr, "usage: dblookup ROWS-FILE STATE-DIR\n");
        return 2;
    }
    uint64_t v = 0;

    if (read_rows(argv[1], &v, &all, err, sizeof(err)) != 1) {
        fprintf(stderr, "dblookup: %s\n", err);
        return 1;
    }
    idx = pp_listset_add_source(set, "dbd:bench", read_rows, argv[1], err,
                                sizeof(err));
    t0 = now_s();
    if (idx < 0 || !pp_listset_start(set, argv[2], 1, -1, -1, err,
                                     sizeof(err))) {
        fprintf(stderr, "dblookup: %s\n", err);
        return 1;
    }
    t = now_s() - t0;
    printf("rows read, sorted and published by the core: %zu MACs in "
           "%.3f s\n", all.count, t);
    probe = malloc((size_t)n * sizeof(*probe));
    srand(1);
    for (i = 0; i < n; i++) {
        probe[i] = (i & 1) && all.count
                   ? all.macs[(size_t)rand() % all.count]
                   : (((pp_mac_t)rand() << 24) ^ (pp_mac_t)rand())
                     & 0xffffffffffffULL;
    }
    t0 = now_s();
    for (i = 0; i < n; i++) {
        found += pp_listset_lookup(set, idx, probe[i], pp_monotonic_us(),
                                   5) == 1;
    }
    t = now_s() - t0;
    printf("lookup (pp_listset_lookup on the snapshot): %.3f us mean over "
           "%d random MACs (%d present)\n", t / n * 1e6, n, found);
    free(probe);
    pp_free(all.macs);
    pp_listset_free(set);
    pp_statedir_remove(argv[2]);
    return 0;
}
