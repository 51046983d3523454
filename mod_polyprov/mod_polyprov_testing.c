/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov glue: the test-only builds' code (see polyprov_testing.h).
 * In a normal build only polyprov_test_announce is here, and it logs
 * nothing. */
#include "mod_polyprov.h"
#include "polyprov_testing.h"

#include <stdlib.h>

#include "apr_strings.h"

#ifdef PP_TESTING_FAULTS
#include "pp_testing.h"    /* the fault seam, the cache reset, recheck */

/* A request carrying "X-PolyProv-Fault: <alloc|ssl|io>=N" makes the Nth
 * such operation of the core fail during its decision ("=N+": that one
 * and every later one). */
int polyprov_test_fault_arm(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "X-PolyProv-Fault");
    int k;

    if (!h || r->main || r->prev) {
        return 0;
    }
    polyprov_conn_forget(r->connection);
    pp_cert_cache_clear();
    pp_listset_recheck(polyprov_glue->lists);
    k = pp_fault_arm_spec(h);        /* armed last: nothing above fails */
    return k < 0 ? 0 : k + 1;
}

void polyprov_test_fault_report(request_rec *r, int armed)
{
    pp_fault_kind_t kind = (pp_fault_kind_t)(armed - 1);
    unsigned long fired;

    if (!armed) {
        return;
    }
    fired = pp_fault_fired(kind);
    pp_fault_arm(kind, 0);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "PP014: test fault %s "
                  "fired=%lu", pp_fault_name(kind), fired);
}

void polyprov_test_fault_startup(void)
{
    pp_fault_arm_spec(getenv("PP_TEST_FAULT"));
}
#endif

void polyprov_test_announce(server_rec *s)
{
#ifdef PP_TESTING_ACCESS_HOOK_ONLY
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP013: this mod_polyprov "
                 "is a TEST BUILD without its subrequest guard: do not use it");
#endif
#ifdef PP_TESTING_FAULTS
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP018: this mod_polyprov "
                 "is a TEST BUILD with fault injection: do not use it");
#endif
    (void)s;
}
