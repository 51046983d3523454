/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: a request's facts and the enforcement of the core's
 * decision.  The decisions themselves are made by the core (pp_*.c); this
 * file gathers the request's facts (the client certificate's from the
 * connection's state, mod_polyprov_conn.c), logs and counts the verdict
 * (PP001/PP140 through mod_polyprov_refusal.c, PP002) and enforces it in
 * two places:
 *
 *  - the access checker (after mod_ssl's), for each request whose access
 *    phase runs;
 *  - fixups (really first), for every request, subrequest and internal
 *    redirect: httpd skips the access phase of a subrequest or redirect
 *    whose per-directory configuration equals its parent's, and a request
 *    may be re-targeted (content negotiation, fast redirects) after its
 *    access check.  Fixups decide anew unless this very request was
 *    already decided for the same URI, file and method.
 *
 * Also the expired-certificate guard (PP046) and what a judged request's
 * answer may be cached as.  The handler and the response guards that
 * follow are in mod_polyprov_guard.c; it calls this file, never the
 * reverse.
 */
#include "mod_polyprov.h"
#include "polyprov_testing.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr_strings.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"

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

/* The nearest request that r serves (the parent of a subrequest, the
 * request an internal redirect replaced, and so on up) which the module
 * decided, or NULL. */
const polyprov_req_t *polyprov_decided_ancestor(const request_rec *r)
{
    const request_rec *q;

    for (q = r->main ? r->main : r->prev; q; q = q->main ? q->main : q->prev) {
        const polyprov_req_t *rec = ap_get_module_config(q->request_config,
                                                   &polyprov_module);
        if (rec) {
            return rec;
        }
    }
    return NULL;
}

int polyprov_scope_active(const polyprov_dir_conf_t *dc)
{
    return dc && (dc->enabled == PP_ON || dc->enabled == PP_SHARED_ONLY
                  || dc->enabled == PP_REPORT);
}

/* Is r, judged with dc, only reported?  Where PolyProv Report applies,
 * unless r serves a request the module enforced (an SSI page of a
 * PolyProv On scope that includes a file of a Report scope): what the
 * module enforces stays enforced down its subrequests and redirects. */
static int report_only(const request_rec *r, const polyprov_dir_conf_t *dc)
{
    const polyprov_req_t *up;

    if (dc->enabled != PP_REPORT) {
        return 0;
    }
    up = polyprov_decided_ancestor(r);
    return !up || up->report;
}

/* The settings r is judged by: its own scope's where PolyProv is On (or
 * SharedOnly); else, when r serves a request the module decided (a
 * subrequest or internal redirect of it, which may have left the scope:
 * a file subrequest has no URI for <Location> to match), that request's.
 * NULL: r is not the module's to judge. */
const polyprov_dir_conf_t *polyprov_judging_conf(const request_rec *r)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);
    const polyprov_req_t *up;

    if (polyprov_scope_active(dc)) {
        return dc;
    }
    up = polyprov_decided_ancestor(r);
    return up ? up->dc : NULL;
}

/* The path of r's file below the server's DocumentRoot, or its whole
 * path when it lies elsewhere (an Alias target, a file subrequest's
 * "../"); NULL when r maps to no local file ("proxy:", "redirect:",
 * none).  Not the context's root that mod_alias sets: an Alias onto
 * another device's directory (or file) would hide its name. */
const char *polyprov_file_below_root(request_rec *r)
{
    return pp_path_below_root(r->filename, ap_document_root(r));
}

/* The path a COPY or MOVE writes to, decoded and normalised the way
 * mod_dav reads its Destination; NULL (and why) when there is none or it
 * cannot be read. */
static const char *destination_path(request_rec *r, const char **why)
{
    const char *dest;
    apr_uri_t u;
    char *path;

    dest = apr_table_get(r->headers_in, "Destination");
    if (!dest || !*dest) {
        *why = "COPY or MOVE without a Destination";
        return NULL;
    }
    if (apr_uri_parse(r->pool, dest, &u) != APR_SUCCESS || !u.path
        || u.path[0] != '/' || u.query || u.fragment) {
        *why = apr_psprintf(r->pool, "Destination \"%s\" is not an absolute "
                            "URI or path without query", dest);
        return NULL;
    }
    path = apr_pstrdup(r->pool, u.path);
    if (ap_unescape_url(path) != OK || strchr(path, ';')) {
        *why = apr_psprintf(r->pool, "Destination \"%s\" cannot be decoded "
                            "(bad escape, encoded '/' or NUL, or ';')", dest);
        return NULL;
    }
    ap_getparents(path);
    ap_no2slash(path);
    return path;
}

/* The scope's settings for the core, from the merged directives. */
static void scope_of(const polyprov_dir_conf_t *dc, pp_scope_t *s)
{
    s->mode = dc->enabled == PP_SHARED_ONLY ? PP_MODE_SHARED_ONLY
                                            : PP_MODE_ON;
    s->have_ca = dc->ca != NULL;
    s->enabled_where = dc->enabled_where;
    s->pins = dc->pins ? (const unsigned char *)dc->pins->elts : NULL;
    s->npins = dc->pins ? dc->pins->nelts : 0;
    s->pattern = dc->pattern ? dc->pattern : polyprov_glue->default_pattern;
    s->lists = polyprov_glue->lists;
    s->deny_idx = dc->deny_idx == PP_UNSET ? -1 : dc->deny_idx;
    s->allow_idx = dc->allow_idx == PP_UNSET ? -1 : dc->allow_idx;
    s->reload_s = dc->reload == PP_UNSET ? PP_DEFAULT_RELOAD : dc->reload;
    /* a SharedOnly scope shares only what is set for it
     * (docs/directives.md "PolyProvSharedFiles"): no set, nothing */
    s->shared = dc->shared ? dc->shared
                : dc->enabled == PP_SHARED_ONLY
                  ? polyprov_glue->shared_only_default
                  : polyprov_glue->default_shared;
    s->allow_expired = dc->allow_expired == 1;
}

/* Gather the request's facts, let the core decide into rec->verdict, and
 * keep with it what the log line needs (the certificate's view, the
 * file).  The certificate is looked at only where PolyProv is On. */
static void decide(request_rec *r, const polyprov_dir_conf_t *dc,
                   polyprov_req_t *rec)
{
    pp_scope_t scope;
    pp_request_t q;
    polyprov_cert_view_t *view;

    if (!polyprov_glue) {
        rec->verdict.reason = PP_R_INTERNAL;
        apr_cpystrn(rec->verdict.detail, "module state missing",
                    sizeof(rec->verdict.detail));
        return;
    }
    scope_of(dc, &scope);
    memset(&q, 0, sizeof(q));
    q.tls = ap_ssl_conn_is_ssl(r->connection);
    if (q.tls && scope.mode == PP_MODE_ON) {
        view = apr_palloc(r->pool, sizeof(*view));
        if (polyprov_conn_cert(r, dc, scope.pattern, view) == PP_R_OK) {
            q.cert = &view->facts;
            q.cn = &view->cn;
            rec->cert = view;
        }
    }
    q.now_us = pp_monotonic_us();
    q.uri = r->uri;
    q.path_info = r->path_info;
    q.file = rec->file = polyprov_file_below_root(r);
    q.is_dir = r->finfo.filetype == APR_DIR;
    q.read_only = read_only(r);
    q.proppatch = r->method_number == M_PROPPATCH;
    q.copy_move = !r->main && (r->method_number == M_COPY
                               || r->method_number == M_MOVE);
    if (q.copy_move) {
        q.destination = destination_path(r, &q.destination_error);
    }
    pp_decide(&scope, &q, &rec->verdict);
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Was rec decided for r's present target with these settings? */
int polyprov_same_target(const polyprov_req_t *rec, const request_rec *r,
                       const polyprov_dir_conf_t *dc)
{
    return rec->dc == dc && rec->method_number == r->method_number
           && same_str(rec->uri, r->uri) && same_str(rec->filename, r->filename)
           && same_str(rec->path_info, r->path_info);
}

/* name=value in r's environment; with no value, name removed where an
 * earlier verdict may have set it (stale) */
static void verdict_env(request_rec *r, const char *name, const char *value,
                        int stale)
{
    if (value) {
        apr_table_setn(r->subprocess_env, name, value);
    }
    else if (stale) {
        apr_table_unset(r->subprocess_env, name);
    }
}

/* Decide r with dc, record it, set the environment and log; DECLINED when
 * allowed, HTTP_FORBIDDEN when refused. */
int polyprov_enforce(request_rec *r, const polyprov_dir_conf_t *dc, const char *phase)
{
    polyprov_req_t *rec = apr_pcalloc(r->pool, sizeof(*rec));
    /* the environment may hold an earlier verdict: this request's own
     * (decided again after a re-target) or its parent's (subrequests
     * inherit the environment) */
    int stale = r->main || r->prev
                || ap_get_module_config(r->request_config, &polyprov_module);
    const pp_verdict_t *v = &rec->verdict;
    const pp_cert_facts_t *cert;
    const char *source;
    char *mac = apr_palloc(r->pool, 13);
    const char *expired;
    polyprov_refusal_t rf;

    memset(&rf, 0, sizeof(rf));
    rec->report = report_only(r, dc);
    rec->dc = dc;
    rec->uri = r->uri;
    rec->filename = r->filename;
    rec->path_info = r->path_info;
    rec->method_number = r->method_number;
    {
        int armed = polyprov_test_fault_arm(r);   /* test builds only */
        decide(r, dc, rec);
        polyprov_test_fault_report(r, armed);
    }
    cert = rec->cert ? &rec->cert->facts : NULL;
    source = cert ? pp_cert_source_name(cert->source) : NULL;
    if (rec->report) {
        polyprov_metrics_report_decision(v->reason);
    }
    else {
        polyprov_metrics_decision(v->reason);
    }
    ap_set_module_config(r->request_config, &polyprov_module, rec);
    pp_mac_format(v->mac, mac);

    /* POLYPROV_MODE=report: the verdict was not enforced */
    verdict_env(r, "POLYPROV_MODE", rec->report ? "report" : NULL, stale);
    /* POLYPROV_MAC whenever the MAC is known, allowed or refused */
    verdict_env(r, "POLYPROV_MAC", v->mac_known ? mac : NULL, stale);
    /* POLYPROV_CERT_EXPIRED: the notAfter of a client certificate past
     * it, allowed (PolyProvAllowExpired) or refused */
    expired = cert && cert->verdict == PP_R_OK
              && cert->leaf_expired
              ? polyprov_time_stamp(r->pool, cert->not_after) : NULL;
    verdict_env(r, "POLYPROV_CERT_EXPIRED", expired, stale);
    if (v->reason == PP_R_OK) {
        /* (a refusal's POLYPROV_REASON is set by polyprov_log_refusal) */
        verdict_env(r, "POLYPROV_REASON", NULL, stale);
        if (APLOGrdebug(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "PP002: allowed mac=%s method=%s uri=\"%s\" phase=%s "
                          "certificate=%s%s%s%s", v->mac_known ? mac : "-",
                          r->method, ap_escape_logitem(r->pool, r->uri), phase,
                          source ? source : "none",
                          expired ? " expired=" : "", expired ? expired : "",
                          rec->report ? " mode=report" : "");
        }
        if (expired && polyprov_expired_first(cert->leaf_sha256)) {
            char fp[96];
            pp_fingerprint_format(cert->leaf_sha256, fp);
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "PP042: accepted "
                          "an expired certificate for mac=%s: it expired at "
                          "%s, PolyProvAllowExpired On at %s (sha256:%s; "
                          "logged once per certificate and process)", mac,
                          expired, dc->allow_expired_where
                                   ? dc->allow_expired_where : "?", fp);
        }
        return DECLINED;
    }
    /* the file, when its path says more than the URI (an Alias, a
     * rewrite, a file subrequest) */
    rf.reason = v->reason;
    rf.file = rec->file && r->uri && strcmp(rec->file, r->uri) ? rec->file
                                                              : NULL;
    rf.cn = cert && cert->cn_len ? cert->cn : NULL;
    rf.detail = v->detail[0] ? v->detail : NULL;
    rf.show_via = 1;
    if (rec->report) {
        /* what PolyProv On would refuse: logged at notice, which httpd
         * logs whatever the LogLevel (a quieter LogLevel cannot empty the
         * report and make the fleet look ready), with the MAC the CN
         * names even where the certificate is refused (a phone under
         * another CA: the readiness report groups by it) */
        int cn_mac_ok = rec->cert && rec->cert->cn.rv == PP_R_OK;
        if (!v->mac_known && cn_mac_ok) {
            pp_mac_format(rec->cert->cn.mac, mac);
        }
        rf.mac = v->mac_known || cn_mac_ok ? mac : NULL;
        rf.report = dc->enabled_where ? dc->enabled_where : "?";
        polyprov_log_refusal(r, &rf);
        return DECLINED;
    }
    rf.mac = v->mac_known ? mac : NULL;
    polyprov_log_refusal(r, &rf);
    return HTTP_FORBIDDEN;
}

/* A connection whose client certificate is past its notAfter got
 * through mod_ssl's handshake only because a scope of its virtual host has
 * PolyProvAllowExpired On, and mod_ssl calls it verified
 * (SSL_CLIENT_VERIFY=SUCCESS, Require ssl-verify-client): on it, a request
 * is served only where this module judges the certificate, that is where
 * PolyProv On applies (its PP_STEP_VERIFY refuses an expired certificate unless
 * PolyProvAllowExpired is On there).  Everywhere else (PolyProv Off,
 * SharedOnly, no PolyProv at all) it is refused before any access,
 * authentication or authorisation hook runs, and again in fixups (a
 * per-directory SSLVerifyClient brings the certificate in mod_ssl's access
 * hook), before any handler: nothing else on the host can be fooled into
 * trusting it. */
int polyprov_expired_guard(request_rec *r)
{
    const polyprov_dir_conf_t *dc;
    time_t not_after = 0;
    const char *when;

    if (!polyprov_expired_conn(r->connection, r->request_time, &not_after)) {
        return DECLINED;
    }
    dc = polyprov_judging_conf(r);
    if (dc && dc->enabled == PP_ON) {
        return DECLINED;    /* decided by the module, PP_STEP_VERIFY */
    }
    when = polyprov_time_stamp(r->pool, not_after);
    apr_table_setn(r->subprocess_env, "POLYPROV_REASON",
                   pp_reason_name(PP_R_UNTRUSTED));
    apr_table_setn(r->subprocess_env, "POLYPROV_CERT_EXPIRED", when);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PP046: refused "
                  "reason=untrusted method=%s uri=\"%s\" client=%s%s "
                  "detail=the connection's client certificate expired at %s "
                  "and passed the handshake only for PolyProvAllowExpired; "
                  "outside PolyProv On nothing may rely on it",
                  r->method, ap_escape_logitem(r->pool, r->uri),
                  r->useragent_ip,
                  r->main ? " via=subrequest" : r->prev ? " via=redirect" : "",
                  when);
    return HTTP_FORBIDDEN;
}

int polyprov_access(request_rec *r)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);

    if (!polyprov_scope_active(dc)) {
        return DECLINED;
    }
    return polyprov_enforce(r, dc, "access");
}

/* mod_speling, when CheckSpelling is On here, answers a GET of a missing
 * file with the names of files that look alike: other phones' files
 * (a 300 list, a 301 to one of them), and even a refused list tells
 * "some phone has a file like this" from a plain 404.  In a scope the
 * module judges it therefore never gets to answer: the missing file is a
 * 404 here, before mod_speling's fixups run.  Its configuration record
 * (spconfig in modules/mappers/mod_speling.c) starts with "int enabled",
 * unchanged since httpd 2.0. */
static module *speling_module;

void polyprov_request_find_modules(void)
{
    speling_module = ap_find_linked_module("mod_speling.c");
}

static int speling_would_answer(request_rec *r)
{
    const int *enabled;

    if (!speling_module || r->main || r->method_number != M_GET
        || r->finfo.filetype != APR_NOFILE || r->proxyreq || !r->filename) {
        return 0;
    }
    enabled = ap_get_module_config(r->per_dir_config, speling_module);
    return enabled && *enabled;
}

/* ------------------------------------------------------------------ */
/* Answers that belong to the requester (docs/deployment.md, "Caches   */
/* and pages that show other clients' requests")                       */

/* r->no_cache as it was before the module first set it for r ("0" or
 * "1"), so that a shared file sent as it is gets back what it had. */
#define NO_CACHE_NOTE "polyprov-no-cache-was"

/* Every request the module judges is, until its handler shows it to be
 * a shared file that the default handler sends as it is, kept out of
 * mod_cache (r->no_cache, which mod_cache's save filter reads when the
 * response's first data passes it): any other answer may have been
 * made for the requester (a device's file, a page or script keyed on
 * POLYPROV_MAC), and a cache would hand it to the next one. */
static void answer_private(request_rec *r)
{
    if (!apr_table_get(r->notes, NO_CACHE_NOTE)) {
        apr_table_setn(r->notes, NO_CACHE_NOTE, r->no_cache ? "1" : "0");
    }
    r->no_cache = 1;
}

/* ... and caches beyond httpd keep it to the requester too. */
void polyprov_answer_private_header(request_rec *r)
{
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");

    r->no_cache = 1;
    if (!cc || (!ap_find_token(r->pool, cc, "private")
                && !ap_find_token(r->pool, cc, "no-store"))) {
        apr_table_mergen(r->headers_out, "Cache-Control", "private");
    }
}

/* A shared file sent as it is: the same for every phone, cacheable. */
void polyprov_answer_shared(request_rec *r)
{
    const char *was = apr_table_get(r->notes, NO_CACHE_NOTE);

    if (was) {
        r->no_cache = !strcmp(was, "1");
    }
}

/* Every request, subrequest and internal redirect: decide anew unless
 * this very request was decided for the same target and settings.  A
 * subrequest or redirect whose access phase httpd skipped (its
 * per-directory configuration is its parent's) has no decision of its own
 * (a fresh request_config) and is decided here, before any handler. */
int polyprov_fixups(request_rec *r)
{
    const polyprov_dir_conf_t *dc = polyprov_judging_conf(r);
    const polyprov_req_t *rec;
    int rv;

    if (!dc) {
        return DECLINED;
    }
    rec = ap_get_module_config(r->request_config, &polyprov_module);
    if (rec && polyprov_same_target(rec, r, dc)) {
        /* decided in the access phase; a refusal stands even if another
         * module (Satisfy Any) let the request past it (unless it was
         * only reported) */
        rv = rec->verdict.reason == PP_R_OK || rec->report ? DECLINED
                                                   : HTTP_FORBIDDEN;
    }
    else {
        rv = polyprov_enforce(r, dc, "fixups");
        rec = ap_get_module_config(r->request_config, &polyprov_module);
    }
    if (dc->enabled == PP_ON) {
        answer_private(r);
    }
    /* (PolyProv Report changes nothing: mod_speling answers as ever) */
    if (rv == DECLINED && !(rec && rec->report) && speling_would_answer(r)) {
        polyprov_metrics_count(POLYPROV_M_SPELING_404);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PP017: \"%s\" does not "
                      "exist: 404 before mod_speling could name files that "
                      "look alike", ap_escape_logitem(r->pool, r->uri));
        return HTTP_NOT_FOUND;
    }
    return rv;
}
