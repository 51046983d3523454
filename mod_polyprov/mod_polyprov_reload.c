/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: list reloads in the background.
 *
 * A mod_watchdog thread in every child process (a child watchdog of its
 * own, not a singleton) runs pp_listset_tick several times a second: the
 * core lets one process win each round of each list (stat, parse,
 * publish the snapshot), and every process maps the newest snapshot in its
 * own round, so that requests never parse a list and idle processes keep
 * up.  Not a singleton: mod_watchdog hands a singleton to another child
 * only after up to ten seconds when its holder exits (prefork's idle
 * children come and go), and the core's claim already makes one process
 * do each parse.
 *
 * Each list is checked at the shortest PolyProvReloadInterval of the
 * scopes that can use it, found here by walking the configuration (an
 * over-estimate of how often: a section that sets an interval counts for
 * every list of its host); lookups lower it further if a scope asks for
 * less.  Without mod_watchdog (or in the fault-injection build, whose
 * faults belong to the request that arms them) lookups check the lists
 * themselves, as they always did.
 *
 * The thread runs at nice 10 and parses in steps that yield the core
 * (pp_reload_thread_start, pp_core.h).
 */
#include "mod_polyprov.h"
#include "polyprov_testing.h"

#include "apr_optional.h"
#include "http_core.h"
#include "mod_watchdog.h"

#define WATCHDOG_NAME "_polyprov_lists_"

static apr_status_t tick(int state, void *data, apr_pool_t *pool)
{
    (void)pool;
    if (state == AP_WATCHDOG_STATE_STARTING) {
        /* this thread at nice 10, its parses in steps (pp_core.h) */
        pp_reload_thread_start();
    }
    if (state != AP_WATCHDOG_STATE_STOPPING) {
        pp_listset_tick(data, pp_monotonic_us());
    }
    return APR_SUCCESS;          /* anything else would stop the rounds */
}

/* The interval each list is checked at in the background.  A request's
 * interval is set by the innermost section that sets one, else by the
 * host, else the default; its lists come from any section.  So each
 * section that names a list asks for its own (or the host's, or the
 * default) interval for it, and each section that sets an interval asks
 * for it for every list of the host. */
static void intervals(apr_pool_t *p, server_rec *s, pp_listset_t *set)
{
    int n = pp_listset_count(set);

    for (; s; s = s->next) {
        /* every section of the host, <Files> and <If> included */
        apr_array_header_t *confs = polyprov_sections(p, s);
        const polyprov_dir_conf_t *def = ap_get_module_config(
            s->lookup_defaults, &polyprov_module);
        int host = (def && def->reload != PP_UNSET) ? def->reload
                                                    : PP_DEFAULT_RELOAD;
        char *used = apr_pcalloc(p, (apr_size_t)n + 1);
        int i, j;

        for (i = 0; i < confs->nelts; i++) {
            const polyprov_dir_conf_t *dc = APR_ARRAY_IDX(
                confs, i, const polyprov_dir_conf_t *);
            int own = dc->reload != PP_UNSET ? dc->reload : host;
            if (dc->allow_idx >= 0 && dc->allow_idx < n) {
                used[dc->allow_idx] = 1;
                pp_listset_background_interval(set, dc->allow_idx, own);
            }
            if (dc->deny_idx >= 0 && dc->deny_idx < n) {
                used[dc->deny_idx] = 1;
                pp_listset_background_interval(set, dc->deny_idx, own);
            }
        }
        for (i = 0; i < confs->nelts; i++) {
            const polyprov_dir_conf_t *dc = APR_ARRAY_IDX(
                confs, i, const polyprov_dir_conf_t *);
            if (dc->reload == PP_UNSET || dc->reload <= 0) {
                continue;
            }
            for (j = 0; j < n; j++) {
                if (used[j]) {
                    pp_listset_background_interval(set, j, dc->reload);
                }
            }
        }
    }
}

/* A list from a query is never queried in a request: without the
 * background it keeps what start-up read. */
static void sql_unrefreshed(server_rec *s, pp_listset_t *set)
{
    int i, n = pp_listset_count(set);

    for (i = 0; i < n; i++) {
        if (pp_listset_is_source(set, i)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP080: list %s "
                         "is queried at start and graceful restart only, "
                         "never refreshed: that needs mod_watchdog",
                         pp_listset_path(set, i));
        }
    }
}

void polyprov_reload_start(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg;
    pp_listset_t *set = polyprov_glue ? polyprov_glue->lists : NULL;
    ap_watchdog_t *wd = NULL;
    apr_status_t rv;
    int i, n = pp_listset_count(set);

    if (n == 0) {
        return;
    }
    if (POLYPROV_TEST_INLINE_RELOADS) {
        sql_unrefreshed(s, set);
        return;                  /* the fault-injection build (see above) */
    }
    get = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    reg = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get || !reg) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP070: mod_watchdog "
                     "is not loaded: list files are checked and re-read by "
                     "the requests that notice a change (one request waits "
                     "for each reload); load mod_watchdog to move reloads "
                     "to the background");
        sql_unrefreshed(s, set);
        return;
    }
    if ((rv = get(&wd, WATCHDOG_NAME, 0, 0, pconf)) != APR_SUCCESS
        || (rv = reg(wd, AP_WD_TM_SLICE, set, tick)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "PP070: cannot start "
                     "the background reload of list files (mod_watchdog): "
                     "list files are checked and re-read by the requests "
                     "that notice a change");
        sql_unrefreshed(s, set);
        return;
    }
    intervals(ptemp, s, set);
    pp_listset_background(set, 1);
    for (i = 0; i < n; i++) {
        int iv = pp_listset_background_interval(set, i, 0);
        if (iv > 0) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "PP071: list %s is "
                         "checked in the background every %d s",
                         pp_listset_path(set, i), iv);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "PP071: list %s is "
                         "not checked for changes (PolyProvReloadInterval "
                         "0), only retried every %d s while it has never "
                         "loaded", pp_listset_path(set, i), PP_LIST_RETRY_S);
        }
    }
}
