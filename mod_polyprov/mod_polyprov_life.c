/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the module's life cycle.  pre_config (the core's
 * logger), check_config (PP016's risky scopes and the configuration's
 * checks), post_config (the lists published, PP011, PP012) and
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

/* What in a scope lets another module act on a device's file: the
 * Options, overrides and forced handlers or filters that apply to it. */
static const char *risky_settings(apr_pool_t *p, const core_dir_config *cd)
{
    const char *what = "";

    if (cd->opts & OPT_INCLUDES) {
        what = apr_pstrcat(p, what, ", Options Includes", NULL);
    }
    if (cd->opts & OPT_MULTI) {
        what = apr_pstrcat(p, what, ", Options MultiViews", NULL);
    }
    if (cd->opts & OPT_EXECCGI) {
        what = apr_pstrcat(p, what, ", Options ExecCGI", NULL);
    }
    if (cd->override & OR_ALL) {
        what = apr_pstrcat(p, what, ", AllowOverride (.htaccess)", NULL);
    }
    /* (SetHandler is an expression, "none" included: not judged here) */
    if (cd->output_filters) {
        what = apr_pstrcat(p, what, ", SetOutputFilter ", cd->output_filters,
                           NULL);
    }
    return *what ? what + 2 : NULL;
}

static int dir_contains(const char *outer, const char *inner)
{
    size_t n = strlen(outer);

    while (n > 0 && outer[n - 1] == '/') {
        n--;
    }
    return !strncmp(outer, inner, n) && (inner[n] == '/' || inner[n] == '\0');
}

/* PP016 at start-up (and in configtest's output): a PolyProv On scope in
 * which other modules could act on what phones upload.  The handler guard
 * serves device files as data anyway; this tells the operator. */
static void warn_risky_scopes(apr_pool_t *ptemp, server_rec *s)
{
    for (; s; s = s->next) {
        core_server_config *sc = ap_get_core_module_config(s->module_config);
        apr_array_header_t *secs[2];
        int k, i, j;

        secs[0] = sc->sec_dir;
        secs[1] = sc->sec_url;
        for (k = 0; k < 2; k++) {
            for (i = 0; secs[k] && i < secs[k]->nelts; i++) {
                ap_conf_vector_t *v = APR_ARRAY_IDX(secs[k], i,
                                                    ap_conf_vector_t *);
                core_dir_config *cd = ap_get_core_module_config(v);
                ap_conf_vector_t *m = s->lookup_defaults;
                const polyprov_dir_conf_t *dc;
                const char *what;

                /* a <Directory> inherits from those that contain it */
                for (j = 0; k == 0 && j < i; j++) {
                    ap_conf_vector_t *o = APR_ARRAY_IDX(secs[k], j,
                                                        ap_conf_vector_t *);
                    core_dir_config *ocd = ap_get_core_module_config(o);
                    if (!ocd->r && !ocd->d_is_fnmatch && !cd->r && ocd->d
                        && cd->d && dir_contains(ocd->d, cd->d)) {
                        m = ap_merge_per_dir_configs(ptemp, m, o);
                    }
                }
                m = ap_merge_per_dir_configs(ptemp, m, v);
                dc = ap_get_module_config(m, &polyprov_module);
                if (!dc || dc->enabled != PP_ON || dc->device_handlers == 1) {
                    continue;
                }
                what = risky_settings(ptemp,
                                      ap_get_core_module_config(m));
                if (what) {
                    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING,
                                 0, s, "PP016: PolyProv On (%s) applies in "
                                 "<%s %s> together with %s: files named after "
                                 "a device are served as data only, but keep "
                                 "these out of provisioning and upload areas "
                                 "(see conf.d/polyprov.conf)",
                                 dc->enabled_where ? dc->enabled_where : "?",
                                 k == 0 ? "Directory" : "Location",
                                 cd->d ? cd->d : "?", what);
                }
            }
        }
    }
}

int polyprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    warn_risky_scopes(ptemp, s);
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
