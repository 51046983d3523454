/*
 * mod_polyprov: hand each Poly phone its own provisioning files, over
 * mutual TLS, and nothing else.
 *
 * httpd glue: hooks.  The decisions themselves are made by the core
 * (pp_*.c); this file gathers the request's facts, keeps a verdict per TLS
 * connection, and enforces the decision in two places:
 *
 *  - the access checker (after mod_ssl's), for each request whose access
 *    phase runs;
 *  - fixups (really first), for every request, subrequest and internal
 *    redirect: httpd skips the access phase of a subrequest or redirect
 *    whose per-directory configuration equals its parent's, and a request
 *    may be re-targeted (content negotiation, fast redirects) after its
 *    access check.  Fixups decide anew unless this very request was
 *    already decided for the same URI, file and method.
 */
#include "mod_polyprov.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "unixd.h"

/* ------------------------------------------------------------------ */
/* Per TLS connection (the master connection under HTTP/2): the verdict */
/* on its client certificate, so that later requests skip it.          */
/*                                                                      */
/* The verdict holds for the connection.  A certificate only reaches a  */
/* connection through a handshake in which the client proved its key,   */
/* and only a renegotiation that the server asks for can change it; the */
/* identity verified first is one this client owns, so keeping it gives */
/* nothing the client could not get on a new connection.  Lists,        */
/* ownership and the certificates' expiry are still checked on every    */
/* request.                                                             */

typedef struct {
#if APR_HAS_THREADS
    apr_thread_mutex_t *mu;        /* HTTP/2 streams run in parallel */
#endif
    int have;
    const pp_ca_t *ca;
    const pp_crl_t *crl;
    pp_cert_facts_t facts;
    const pp_pattern_t *pattern;   /* the CN pattern last applied ... */
    pp_reason_t pattern_rv;        /* ... and its result */
    pp_mac_t pattern_mac;
} pp_conn_t;

/* Per request: what was decided, and for which target. */
typedef struct {
    const pp_dir_conf_t *dc;
    const char *uri, *filename, *path_info;
    int method_number;
    pp_reason_t reason;
} pp_req_t;

static void conn_lock(pp_conn_t *cs)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(cs->mu);
#else
    (void)cs;
#endif
}

static void conn_unlock(pp_conn_t *cs)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(cs->mu);
#else
    (void)cs;
#endif
}

static int pp_pre_connection(conn_rec *c, void *csd)
{
    pp_conn_t *cs;

    (void)csd;
    if (c->master || !ap_ssl_conn_is_ssl(c)) {
        return DECLINED;
    }
    cs = apr_pcalloc(c->pool, sizeof(*cs));
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&cs->mu, APR_THREAD_MUTEX_DEFAULT, c->pool)
        != APR_SUCCESS) {
        return DECLINED;           /* no cache: every request verifies */
    }
#endif
    ap_set_module_config(c->conn_config, &polyprov_module, cs);
    return DECLINED;
}

static pp_conn_t *conn_state(conn_rec *c)
{
    while (c->master) {
        c = c->master;
    }
    return ap_get_module_config(c->conn_config, &polyprov_module);
}

/* What this request needs to know of its client certificate. */
typedef struct {
    pp_cert_facts_t facts;
    pp_reason_t pattern_rv;        /* step 5, for the scope's pattern */
    pp_mac_t mac;
} pp_cert_view_t;

static void apply_pattern(const pp_pattern_t *pat, pp_cert_view_t *v)
{
    v->mac = 0;
    v->pattern_rv = v->facts.cn_usable
        ? pp_pattern_mac(pat, v->facts.cn, v->facts.cn_len, &v->mac)
        : PP_R_BAD_CN;
}

/* Steps 2, 3 and the CN of step 5.  From the connection if its
 * certificate was verified with the same trust, else from the core (its
 * process cache, or a full verification).  The connection's lock is held
 * throughout, so parallel HTTP/2 streams of one connection wait for the
 * first check instead of repeating it.  Returns PP_R_NO_CERT or PP_R_OK
 * (the verdict is then in v->facts). */
static pp_reason_t cert_view(request_rec *r, const pp_dir_conf_t *dc,
                             const pp_pattern_t *pat, pp_cert_view_t *v)
{
    conn_rec *c = r->connection;
    pp_conn_t *cs = conn_state(c);
    time_t now = (time_t)apr_time_sec(r->request_time);
    const char *pem;
    pp_reason_t rv = PP_R_OK;

    if (cs) {
        conn_lock(cs);
        if (cs->have && cs->ca == dc->ca && cs->crl == dc->crl
            && now < cs->facts.valid_until) {
            v->facts = cs->facts;
            v->facts.from_cache = 2;
            if (cs->pattern != pat) {
                apply_pattern(pat, v);
                cs->pattern = pat;
                cs->pattern_rv = v->pattern_rv;
                cs->pattern_mac = v->mac;
            }
            v->pattern_rv = cs->pattern_rv;
            v->mac = cs->pattern_mac;
            conn_unlock(cs);
            return PP_R_OK;
        }
    }
    pem = ap_ssl_var_lookup(r->pool, r->server, c, r, "SSL_CLIENT_CERT");
    if (!pem || !*pem) {
        rv = PP_R_NO_CERT;
        goto done;
    }
    pp_cert_examine_pem(dc->ca, dc->crl, pem, strlen(pem), now, &v->facts);
    apply_pattern(pat, v);
    if (APLOGrdebug(r)) {
        char fp[96];
        pp_fingerprint_format(v->facts.leaf_sha256, fp);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "PP003: client "
                      "certificate sha256:%s checked for this connection: %s "
                      "(%s)", fp, pp_reason_name(v->facts.verdict),
                      v->facts.from_cache ? "process-cache" : "verified");
    }
    if (cs && v->facts.verdict == PP_R_OK) {
        cs->have = 1;
        cs->ca = dc->ca;
        cs->crl = dc->crl;
        cs->facts = v->facts;
        cs->pattern = pat;
        cs->pattern_rv = v->pattern_rv;
        cs->pattern_mac = v->mac;
    }
done:
    if (cs) {
        conn_unlock(cs);
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* The decision                                                        */

/* GET, HEAD or OPTIONS, and so is every request this one serves: the
 * Destination lookup of a COPY is a GET subrequest of the COPY. */
static int read_only(const request_rec *r)
{
    const request_rec *q;

    for (q = r; q; q = q->main ? q->main : q->prev) {
        if (q->method_number != M_GET && q->method_number != M_OPTIONS) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    pp_mac_t mac;
    int mac_known;
    const char *detail;
    const char *cn;
    const char *source;          /* where the certificate verdict came from */
} pp_why_t;

static const char *const verdict_source[] = { "verified", "process-cache",
                                              "connection" };

static pp_reason_t decide(request_rec *r, const pp_dir_conf_t *dc,
                          pp_why_t *why)
{
    conn_rec *c = r->connection;
    const pp_pattern_t *pat;
    const pp_cert_facts_t *f;
    pp_cert_view_t *v;
    pp_target_t t;
    int reload = dc->reload == PP_UNSET ? PP_DEFAULT_RELOAD : dc->reload;
    int rc;

    if (!pp_glue) {
        why->detail = "module state missing";
        return PP_R_INTERNAL;
    }
    pat = dc->pattern ? dc->pattern : pp_glue->default_pattern;
    /* 1 */
    if (!ap_ssl_conn_is_ssl(c)) {
        return PP_R_NO_TLS;
    }
    /* 2: mod_ssl's own verdict (SSL_CLIENT_VERIFY) is not consulted */
    v = apr_palloc(r->pool, sizeof(*v));
    if (cert_view(r, dc, pat, v) == PP_R_NO_CERT) {
        return PP_R_NO_CERT;
    }
    f = &v->facts;
    why->source = verdict_source[f->from_cache % 3];
    if (f->cn_len) {
        why->cn = f->cn;
    }
    /* 3 (without a PolyProvTrustedCA the core trusts nothing) */
    if (f->verdict != PP_R_OK) {
        why->detail = dc->ca ? f->detail
            : apr_psprintf(r->pool, "%s (PolyProv On at %s)", f->detail,
                           dc->enabled_where ? dc->enabled_where : "?");
        return f->verdict;
    }
    /* 4 */
    if (dc->pins && dc->pins->nelts > 0) {
        int i, ok = 0;
        for (i = 0; i < dc->pins->nelts && !ok; i++) {
            ok = !memcmp(dc->pins->elts + (size_t)i * 32, f->issuer_sha256,
                         32);
        }
        if (!ok) {
            char fp[96];
            pp_fingerprint_format(f->issuer_sha256, fp);
            why->detail = apr_psprintf(r->pool, "issuer sha256:%s is not "
                                       "pinned", fp);
            return PP_R_ISSUER;
        }
    }
    /* 5 */
    if (!f->cn_usable) {
        why->detail = f->cn_count != 1
            ? apr_psprintf(r->pool, "the subject has %d CN attributes",
                           f->cn_count)
            : "the CN is too long, not UTF-8 or holds a NUL";
        return PP_R_BAD_CN;
    }
    if (v->pattern_rv != PP_R_OK) {
        why->detail = apr_psprintf(r->pool, "the CN gives no MAC with "
                                   "PolyProvCNPattern %s",
                                   pp_pattern_source(dc->pattern));
        return v->pattern_rv;
    }
    why->mac = v->mac;
    why->mac_known = 1;
    /* 6 */
    if (dc->deny_idx != PP_UNSET) {
        rc = pp_listset_lookup(pp_glue->lists, dc->deny_idx, why->mac,
                               r->request_time, reload);
        if (rc == PP_LIST_UNAVAILABLE) {
            why->detail = apr_psprintf(r->pool, "the deny list %s has never "
                "loaded", pp_listset_path(pp_glue->lists, dc->deny_idx));
            return PP_R_LIST_UNAVAILABLE;
        }
        if (rc < 0) {
            why->detail = "the deny list is unavailable";
            return PP_R_INTERNAL;
        }
        if (rc) {
            return PP_R_DENY_LIST;
        }
    }
    /* 7 */
    if (dc->allow_idx != PP_UNSET) {
        rc = pp_listset_lookup(pp_glue->lists, dc->allow_idx, why->mac,
                               r->request_time, reload);
        if (rc == PP_LIST_UNAVAILABLE) {
            why->detail = apr_psprintf(r->pool, "the allow list %s has never"
                " loaded", pp_listset_path(pp_glue->lists, dc->allow_idx));
            return PP_R_LIST_UNAVAILABLE;
        }
        if (rc < 0) {
            why->detail = "the allow list is unavailable";
            return PP_R_INTERNAL;
        }
        if (!rc) {
            return PP_R_ALLOW_LIST;
        }
    }
    /* 8 */
    if (r->finfo.filetype == APR_DIR) {
        return PP_R_DIRECTORY;
    }
    /* 9 */
    t.uri_path = r->uri;
    t.has_path_info = r->path_info && *r->path_info;
    t.filename = r->filename;
    t.read_method = read_only(r);
    return pp_owner_check(&t, why->mac, dc->shared ? dc->shared
                                                   : pp_glue->default_shared);
}

#ifdef PP_TESTING_FAULTS
/* A test-only build (make faults): a request carrying
 * "X-PolyProv-Fault: <alloc|ssl|io>=N" makes the Nth such operation of
 * the core fail during its decision ("=N+": that one and every later
 * one), after the caches were emptied and the lists marked for a re-read,
 * so that verification and reloads run.  PP014 says whether the fault
 * fired.  Never install it. */
static int test_fault_arm(request_rec *r, pp_fault_kind_t *kind)
{
    const char *h = apr_table_get(r->headers_in, "X-PolyProv-Fault");
    pp_conn_t *cs = conn_state(r->connection);
    int k;

    if (!h || r->main || r->prev) {
        return 0;
    }
    if (cs) {
        conn_lock(cs);
        cs->have = 0;
        conn_unlock(cs);
    }
    pp_cert_cache_clear();
    pp_listset_recheck(pp_glue->lists);
    k = pp_fault_arm_spec(h);        /* armed last: nothing above fails */
    if (k < 0) {
        return 0;
    }
    *kind = (pp_fault_kind_t)k;
    return 1;
}

static void test_fault_report(request_rec *r, pp_fault_kind_t kind)
{
    unsigned long fired = pp_fault_fired(kind);

    pp_fault_arm(kind, 0);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "PP014: test fault %s "
                  "fired=%lu", pp_fault_name(kind), fired);
}
#endif

static int enforce(request_rec *r, const pp_dir_conf_t *dc, const char *phase)
{
    pp_req_t *rec = apr_pcalloc(r->pool, sizeof(*rec));
    /* the environment may hold an earlier verdict: this request's own
     * (decided again after a re-target) or its parent's (subrequests
     * inherit the environment) */
    int stale = r->main
                || ap_get_module_config(r->request_config, &polyprov_module);
    pp_why_t why;
    char *mac = apr_palloc(r->pool, 13);

    memset(&why, 0, sizeof(why));
    rec->dc = dc;
    rec->uri = r->uri;
    rec->filename = r->filename;
    rec->path_info = r->path_info;
    rec->method_number = r->method_number;
#ifdef PP_TESTING_FAULTS
    {
        pp_fault_kind_t kind;
        int armed = test_fault_arm(r, &kind);
        rec->reason = decide(r, dc, &why);
        if (armed) {
            test_fault_report(r, kind);
        }
    }
#else
    rec->reason = decide(r, dc, &why);
#endif
    ap_set_module_config(r->request_config, &polyprov_module, rec);
    pp_mac_format(why.mac, mac);

    if (rec->reason == PP_R_OK) {
        apr_table_setn(r->subprocess_env, "POLYPROV_MAC", mac);
        if (stale) {
            apr_table_unset(r->subprocess_env, "POLYPROV_REASON");
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "PP002: allowed mac=%s method=%s uri=\"%s\" phase=%s "
                      "certificate=%s", mac, r->method,
                      ap_escape_logitem(r->pool, r->uri), phase, why.source);
        return DECLINED;
    }
    apr_table_unset(r->subprocess_env, "POLYPROV_MAC");
    apr_table_setn(r->subprocess_env, "POLYPROV_REASON",
                   pp_reason_name(rec->reason));
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "PP001: refused reason=%s mac=%s method=%s uri=\"%s\" "
                  "client=%s%s%s%s%s%s%s",
                  pp_reason_name(rec->reason),
                  why.mac_known ? mac : "-", r->method,
                  ap_escape_logitem(r->pool, r->uri), r->useragent_ip,
                  r->main ? " via=subrequest" : r->prev ? " via=redirect" : "",
                  why.cn ? " cn=\"" : "",
                  why.cn ? ap_escape_logitem(r->pool, why.cn) : "",
                  why.cn ? "\"" : "",
                  why.detail ? " detail=" : "",
                  why.detail ? ap_escape_logitem(r->pool, why.detail) : "");
    return HTTP_FORBIDDEN;
}

static int pp_access(request_rec *r)
{
    const pp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);

    if (!dc || dc->enabled != 1) {
        return DECLINED;
    }
    return enforce(r, dc, "access");
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int pp_fixups(request_rec *r)
{
    const pp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);
    const pp_req_t *rec;

    if (!dc || dc->enabled != 1) {
        return DECLINED;
    }
    rec = ap_get_module_config(r->request_config, &polyprov_module);
    if (rec && rec->dc == dc && rec->method_number == r->method_number
        && same_str(rec->uri, r->uri) && same_str(rec->filename, r->filename)
        && same_str(rec->path_info, r->path_info)) {
        /* decided in the access phase; a refusal stands even if another
         * module (Satisfy Any) let the request past it */
        return rec->reason == PP_R_OK ? DECLINED : HTTP_FORBIDDEN;
    }
    return enforce(r, dc, "fixups");
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

static server_rec *log_server;

static void log_sink(void *baton, int level, const char *msg)
{
    static const int map[] = { APLOG_ERR, APLOG_WARNING, APLOG_NOTICE,
                               APLOG_DEBUG };

    (void)baton;
    ap_log_error(APLOG_MARK, map[level & 3], 0, log_server, "%s", msg);
}

static int pp_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    log_server = NULL;
    pp_set_logger(log_sink, NULL);
#ifdef PP_TESTING_FAULTS
    /* the test-only build: PP_TEST_FAULT=<kind>=N[+] while the
     * configuration is read */
    pp_fault_arm_spec(getenv("PP_TEST_FAULT"));
#endif
    return pp_config_pre(pconf);
}

static int pp_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    return pp_config_check(pconf, s);
}

/* The directory of the list snapshots, removed when httpd exits.  The
 * cleanup lives in pconf (never in the process pool: mod_so unloads this
 * module with pconf, before the process pool's cleanups run) and acts only
 * in the process that made the directory, when httpd is exiting rather
 * than reloading (processes of the old configuration may still use it). */
typedef struct {
    const char *dir;
    pid_t owner;
} pp_state_t;

static apr_status_t remove_state_dir(void *data)
{
    pp_state_t *st = data;

    if (getpid() == st->owner
        && ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING) {
        pp_statedir_remove(st->dir);
    }
    return APR_SUCCESS;
}

static int pp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    char err[1024];
    long uid = -1, gid = -1;

    (void)plog;
    log_server = s;
    /* the server description (start-up notice, mod_info, mod_status, and
     * the Server header under ServerTokens Full) names the module */
    ap_add_version_component(pconf, "mod_polyprov/" PP_VERSION);
    if (pp_config_post(pconf, ptemp, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (!ap_find_linked_module("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP011: mod_ssl is not "
                     "loaded: every request where PolyProv is On will be "
                     "refused (no-tls)");
    }
    if (!pp_glue) {
        return OK;
    }
    if (pp_listset_count(pp_glue->lists) > 0) {
        pp_state_t *st = apr_palloc(pconf, sizeof(*st));

        st->owner = getpid();
        st->dir = ap_runtime_dir_relative(pconf,
            apr_psprintf(ptemp, "polyprov-%ld", (long)st->owner));
        if (geteuid() == 0) {
            uid = (long)ap_unixd_config.user_id;
            gid = (long)ap_unixd_config.group_id;
        }
        if (!pp_listset_start(pp_glue->lists, st->dir,
                              (unsigned)ap_state_query(AP_SQ_CONFIG_GEN),
                              uid, gid, err, sizeof(err))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         "PP010: cannot publish the MAC lists: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, st, remove_state_dir,
                                  apr_pool_cleanup_null);
        pp_config_lists_report(s);
        /* mapped in the parent: every child inherits the mappings */
        pp_listset_map_current(pp_glue->lists);
    }
    (void)pconf;
#ifdef PP_TESTING_ACCESS_HOOK_ONLY
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP013: this mod_polyprov "
                 "is a TEST BUILD without its subrequest guard: do not use it");
#endif
#ifdef PP_TESTING_FAULTS
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP013: this mod_polyprov "
                 "is a TEST BUILD with fault injection: do not use it");
#endif
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "PP012: mod_polyprov %s "
                 "ready, %d list file(s)", PP_VERSION,
                 pp_listset_count(pp_glue->lists));
    return OK;
}

/* A child started after a reload maps the versions then current. */
static void pp_child_init(apr_pool_t *p, server_rec *s)
{
    (void)p;
    (void)s;
    if (pp_glue && pp_glue->lists) {
        pp_listset_map_current(pp_glue->lists);
    }
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    (void)p;
    ap_hook_pre_config(pp_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pp_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pp_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pp_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(pp_pre_connection, after_ssl, NULL,
                           APR_HOOK_MIDDLE);
    ap_hook_check_access(pp_access, after_ssl, NULL, APR_HOOK_MIDDLE,
                         AP_AUTH_INTERNAL_PER_URI);
#ifndef PP_TESTING_ACCESS_HOOK_ONLY
    ap_hook_fixups(pp_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
#else
    /* A test-only build (make weak): without the fixups guard, to show that
     * the subrequest and redirect tests fail against a plain access hook.
     * Never install it. */
    (void)pp_fixups;
#endif
}

module AP_MODULE_DECLARE_DATA PP_EXPORT polyprov_module = {
    STANDARD20_MODULE_STUFF,
    pp_create_dir_conf,
    pp_merge_dir_conf,
    NULL,
    NULL,
    pp_cmds,
    register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
