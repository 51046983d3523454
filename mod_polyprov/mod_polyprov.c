/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov: hand each Poly phone its own provisioning files, over
 * mutual TLS, and nothing else.
 *
 * httpd glue: the module record and its hooks, nothing else.  Which file
 * does what (CONTRIBUTING.md, "Source layout"):
 *
 *   mod_polyprov_conn.c     the TLS connection's state and cached verdict
 *   mod_polyprov_request.c  a request's facts, the decision, enforcement
 *                           (access, fixups, the expired-certificate guard)
 *   mod_polyprov_guard.c    the handler guard, the quick handler, the
 *                           response guard filter
 *   mod_polyprov_life.c     pre_config, check_config, post_config,
 *                           child_init
 *   mod_polyprov_refusal.c  the PP001/PP140 line
 */
#include "mod_polyprov.h"
#include "polyprov_testing.h"

#include "http_protocol.h"
#include "http_request.h"

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };
    static const char *const before_cache[] = { "mod_cache.c", NULL };

    ap_hook_pre_config(polyprov_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(polyprov_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(polyprov_dump, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(polyprov_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(polyprov_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* the connection's state: mod_ssl's SSL, the cached verdict */
    polyprov_conn_register(p);
    polyprov_metrics_register_hooks(p);
    /* PER_CONF keeps httpd's shortcut for every host (a subrequest or
     * redirect whose per-directory configuration is its parent's skips the
     * whole auth phase: server/request.c); PER_URI would turn it off for
     * all of them.  Those skipped in a PolyProv scope are decided by
     * polyprov_fixups: their request_config holds no decision of theirs. */
    ap_hook_check_access(polyprov_access, after_ssl, NULL, APR_HOOK_MIDDLE,
                         AP_AUTH_INTERNAL_PER_CONF);
    /* expired phone certificates: the handshake (mod_ssl's optional
     * hooks) and, for every request, subrequest and redirect, the guard
     * that keeps them out of scopes that do not judge them */
    polyprov_expired_register(p);
    ap_hook_post_perdir_config(polyprov_expired_guard, NULL, NULL,
                               APR_HOOK_REALLY_FIRST);
    /* again once mod_ssl's access hook may have brought a certificate (a
     * per-directory SSLVerifyClient: renegotiation, TLS 1.3 post-handshake
     * authentication), before any handler */
    ap_hook_fixups(polyprov_expired_guard, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* the guards that follow a request past its access check (a test
     * build, make weak, goes without them to show that the tests of
     * subrequests and redirects catch a plain access hook) */
    if (POLYPROV_TEST_GUARDS) {
        ap_hook_fixups(polyprov_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
        ap_hook_handler(polyprov_handler_guard, NULL, NULL,
                        APR_HOOK_REALLY_FIRST);
        ap_hook_insert_error_filter(polyprov_insert_guard, NULL, NULL,
                                    APR_HOOK_LAST);
        /* before mod_cache's quick handler (docs/deployment.md "Caches ...") */
        ap_hook_quick_handler(polyprov_quick, NULL, before_cache,
                              APR_HOOK_FIRST);
        polyprov_guard_register_filter();
    }
}

module AP_MODULE_DECLARE_DATA PP_EXPORT polyprov_module = {
    STANDARD20_MODULE_STUFF,
    polyprov_create_dir_conf,
    polyprov_merge_dir_conf,
    NULL,
    NULL,
    polyprov_cmds,
    register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
