/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: entry points for tests only (the unit tests, the
 * test-only builds' seam mod_polyprov_testing.c, the benchmarks), and the
 * fault seam.  Nothing of the module's own request path calls these.
 */
#ifndef PP_TESTING_H
#define PP_TESTING_H

#include "pp_core.h"
#include "pp_fault.h"

/* The verified-certificate cache: counters, and a reset for tests. */
typedef struct {
    unsigned long hits, misses, inserts, evictions;
} pp_cache_stats_t;
void pp_cert_cache_stats(pp_cache_stats_t *out);
void pp_cert_cache_clear(void);

/* The sequence number of the snapshot this process uses. */
uint64_t pp_listset_seq(pp_listset_t *set, int idx);

/* Forget what every source looked like, so that the next lookup of each
 * list re-reads and republishes it (the fault-injection tests use it). */
void pp_listset_recheck(pp_listset_t *set);

/* How many steps this thread's background parses took (pp_listset.h,
 * pp_reload_thread_start). */
unsigned long pp_reload_steps(void);

#endif /* PP_TESTING_H */
