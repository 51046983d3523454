/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listbench: the list targets of docs/performance.md's Performance section, measured on the core.
 *
 *   listbench COUNT [DIR]
 *
 * Writes a list file of COUNT random MACs, then prints
 *   - the time to load it (read, parse, sort, de-duplicate);
 *   - the time to publish it (the snapshot every process maps);
 *   - for four serving processes alive at once: the mean time of a lookup
 *     over a million random MACs, and each one's share of the snapshot
 *     (Pss from /proc/self/smaps: shared pages divided among their users)
 *     and its private part, per MAC.
 */
#define _GNU_SOURCE
#include "pp_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* This process's share of the snapshot mappings (/proc/self/smaps), kB:
 * resident, proportional (shared pages divided by their users) and
 * private.  Returns the number of snapshot mappings seen. */
static int snapshot_kb(long *rss, long *pss, long *priv)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    unsigned long lo, hi;
    int in = 0, maps = 0;
    long v;

    *rss = *pss = *priv = 0;
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = strstr(line, ".snap") != NULL;   /* a mapping's header */
            maps += in;
        }
        else if (in && sscanf(line, "Rss: %ld", &v) == 1) {
            *rss += v;
        }
        else if (in && sscanf(line, "Pss: %ld", &v) == 1) {
            *pss += v;
        }
        else if (in && (sscanf(line, "Private_Clean: %ld", &v) == 1
                        || sscanf(line, "Private_Dirty: %ld", &v) == 1)) {
            *priv += v;
        }
    }
    fclose(f);
    return maps;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    const char *tmp = getenv("TMPDIR");
    const char *dir = argc > 2 ? argv[2] : tmp && *tmp ? tmp : "/tmp";
    char path[512], state[512], err[1024];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    pp_maclist_t l;
    pp_listset_t *set;
    double t0, t1;
    size_t i;
    FILE *f;
    pid_t kid;
    int status;

    snprintf(path, sizeof(path), "%s/listbench-%zu.txt", dir, n);
    snprintf(state, sizeof(state), "%s/listbench-state-%d", dir, getpid());
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (i = 0; i < n; i++) {
        char mac[13];
        pp_mac_format(rnd(&seed) & 0xFFFFFFFFFFFFULL, mac);
        fprintf(f, "%s\n", mac);
    }
    fclose(f);

    t0 = now_s();
    if (pp_maclist_load(path, &l, err, sizeof(err)) != 1) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t1 = now_s();
    printf("list of %zu MACs (%zu distinct)\n", n, l.count);
    printf("  load (read, parse, sort):   %.3f s\n", t1 - t0);
    pp_free(l.macs);

    set = pp_listset_new();
    t0 = now_s();
    if (pp_listset_add(set, path, err, sizeof(err)) != 0
        || !pp_listset_start(set, state, 0, -1, -1, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t1 = now_s();
    printf("  load and publish snapshot:  %.3f s\n", t1 - t0);

    /* serving processes, forked like httpd children, all alive at once */
    fflush(stdout);
    {
        int ready[2], go[2], quit[2], k;
        const int kids = 4;

        if (pipe(ready) || pipe(go) || pipe(quit)) {
            perror("pipe");
            return 1;
        }
        for (k = 0; k < kids; k++) {
            kid = fork();
            if (kid == 0) {
                uint64_t s2 = 12345 + (uint64_t)k;
                size_t hits = 0, lookups = 1000000;
                long rss, pss, priv;
                double t2, t3;
                char c;

                pp_listset_lookup(set, 0, 1, pp_monotonic_us(), 0);  /* maps it */
                t2 = now_s();
                for (i = 0; i < lookups; i++) {
                    hits += pp_listset_lookup(set, 0,
                                              rnd(&s2) & 0xFFFFFFFFFFFFULL,
                                              pp_monotonic_us(), 3600) == 1;
                }
                t3 = now_s();
                /* touch every page, as a process would over time */
                for (i = 0; i < n; i += 512) {
                    hits += pp_listset_lookup(set, 0, i, pp_monotonic_us(), 3600) == 1;
                }
                (void)!write(ready[1], "r", 1);
                (void)!read(go[0], &c, 1);
                snapshot_kb(&rss, &pss, &priv);
                printf("  process %d: lookup %.0f ns; snapshot resident "
                       "%ld kB, its share %ld kB = %.2f bytes per MAC, "
                       "private %ld kB\n", k, (t3 - t2) / lookups * 1e9,
                       rss, pss, pss * 1024.0 / (double)n, priv);
                fflush(stdout);
                (void)!write(ready[1], "d", 1);
                (void)!read(quit[0], &c, 1);     /* stay until all measured */
                _exit(0);
            }
        }
        for (k = 0; k < kids; k++) {
            char c;
            (void)!read(ready[0], &c, 1);
        }
        /* all mapped: let them measure one at a time */
        for (k = 0; k < kids; k++) {
            char c;
            (void)!write(go[1], "g", 1);
            (void)!read(ready[0], &c, 1);
        }
        for (k = 0; k < kids; k++) {
            (void)!write(quit[1], "q", 1);
        }
        for (k = 0; k < kids; k++) {
            wait(&status);
        }
        printf("  the snapshot is one file in the page cache, %zu bytes "
               "for all processes (8 per MAC)\n", 32 + 8 * n);
    }
    pp_listset_free(set);
    pp_statedir_remove(state);
    unlink(path);
    return 0;
}
