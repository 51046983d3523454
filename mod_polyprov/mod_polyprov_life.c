/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the module's life cycle.  pre_config (the core's
 * logger), check_config (the configuration's checks,
 * mod_polyprov_checks.c), post_config (the lists published, PP011, PP012) and
 * child_init.
 */
#include "mod_polyprov.h"
#include "polyprov_testing.h"

#include <string.h>
#include <unistd.h>

#include "apr_strings.h"
#include "http_core.h"
#include "unixd.h"

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

static server_rec *log_server;

/* The core's messages, in httpd's log at their own level and with the
 * core's file and line (as mod_md's md_log_perror does). */
static void log_sink(void *baton, const char *file, int line, int level,
                     const char *msg)
{
    static const int map[] = { APLOG_ERR, APLOG_WARNING, APLOG_NOTICE,
                               APLOG_INFO, APLOG_DEBUG };

    (void)baton;
    ap_log_error_(file, line, APLOG_MODULE_INDEX,
                  map[level >= 0 && level <= PP_LOG_DEBUG ? level : 0], 0,
                  log_server, "%s", msg);
}
int polyprov_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    log_server = NULL;
    pp_set_logger(log_sink, NULL);
    polyprov_test_fault_startup();              /* test builds only */
    return polyprov_config_pre(pconf);
}

int polyprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    polyprov_warn_risky_scopes(ptemp, s);
    polyprov_answers_check(pconf, ptemp, s);
    return polyprov_config_check(pconf, s);
}

/* The directory of the list snapshots, removed when httpd exits.  The
 * cleanup lives in pconf (never in the process pool: mod_so unloads this
 * module with pconf, before the process pool's cleanups run) and acts only
 * in the process that made the directory, when httpd is exiting rather
 * than reloading (processes of the old configuration may still use it). */
typedef struct {
    const char *dir;
    pid_t owner;
} polyprov_state_t;

static apr_status_t remove_state_dir(void *data)
{
    polyprov_state_t *st = data;

    if (getpid() == st->owner
        && ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING) {
        pp_statedir_remove(st->dir);
    }
    return APR_SUCCESS;
}

int polyprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    char err[1024];
    long uid = -1, gid = -1;

    (void)plog;
    log_server = s;
    /* the server description (start-up notice, mod_info, mod_status, and
     * the Server header under ServerTokens Full) names the module */
    ap_add_version_component(pconf, "mod_polyprov/" PP_VERSION);
    if (polyprov_config_post(pconf, ptemp, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    polyprov_request_find_modules();
    polyprov_guard_find_modules();
    if (!ap_find_linked_module("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP011: mod_ssl is not "
                     "loaded: every request where PolyProv is On will be "
                     "refused (no-tls)");
    }
    if (!polyprov_glue) {
        return OK;
    }
    if (pp_listset_count(polyprov_glue->lists) > 0) {
        polyprov_state_t *st = apr_palloc(pconf, sizeof(*st));

        st->owner = getpid();
        st->dir = ap_runtime_dir_relative(pconf,
            apr_psprintf(ptemp, "polyprov-%ld", (long)st->owner));
        if (geteuid() == 0) {
            uid = (long)ap_unixd_config.user_id;
            gid = (long)ap_unixd_config.group_id;
        }
        if (!pp_listset_start(polyprov_glue->lists, st->dir,
                              (unsigned)ap_state_query(AP_SQ_CONFIG_GEN),
                              uid, gid, err, sizeof(err))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         "PP010: cannot publish the MAC lists: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, st, remove_state_dir,
                                  apr_pool_cleanup_null);
        polyprov_config_lists_report(s);
        /* mapped in the parent: every child inherits the mappings */
        pp_listset_map_current(polyprov_glue->lists);
        polyprov_reload_start(pconf, ptemp, s);
    }
    (void)pconf;
    polyprov_test_announce(s);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "PP012: mod_polyprov %s "
                 "ready, %d list file(s)", PP_VERSION,
                 pp_listset_count(polyprov_glue->lists));
    return OK;
}

/* A child started after a reload maps the versions then current. */
void polyprov_child_init(apr_pool_t *p, server_rec *s)
{
    (void)p;
    (void)s;
    if (polyprov_glue && polyprov_glue->lists) {
        pp_listset_map_current(polyprov_glue->lists);
    }
}
