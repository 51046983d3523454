/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov: hand each Poly phone its own provisioning files, over
 * mutual TLS, and nothing else.
 *
 * httpd glue: hooks.  The decisions themselves are made by the core
 * (pp_*.c); this file gathers the request's facts (the client
 * certificate's from the connection's state, mod_polyprov_conn.c) and
 * enforces the decision in two places:
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
#include "unixd.h"

/* Per request: what was decided, and for which target. */
typedef struct {
    const polyprov_dir_conf_t *dc;
    const char *uri, *filename, *path_info;
    int method_number;
    pp_reason_t reason;
    pp_mac_t mac;                  /* the requester's, when mac_known */
    int mac_known;
    int device_file;               /* its file's path names the requester */
    int guarded;                   /* the response guard is in its chain */
    int report;                    /* PolyProv Report: logged and counted,
                                    * never refused */
} polyprov_req_t;

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
static const polyprov_req_t *decided_ancestor(const request_rec *r)
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

static int scope_active(const polyprov_dir_conf_t *dc)
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
    up = decided_ancestor(r);
    return !up || up->report;
}

/* The settings r is judged by: its own scope's where PolyProv is On (or
 * SharedOnly); else, when r serves a request the module decided (a
 * subrequest or internal redirect of it, which may have left the scope:
 * a file subrequest has no URI for <Location> to match), that request's.
 * NULL: r is not the module's to judge. */
static const polyprov_dir_conf_t *judging_conf(const request_rec *r)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);
    const polyprov_req_t *up;

    if (scope_active(dc)) {
        return dc;
    }
    up = decided_ancestor(r);
    return up ? up->dc : NULL;
}

/* The path of r's file below the server's DocumentRoot, or its whole
 * path when it lies elsewhere (an Alias target, a file subrequest's
 * "../"); NULL when r maps to no local file ("proxy:", "redirect:",
 * none).  Not the context's root that mod_alias sets: an Alias onto
 * another device's directory (or file) would hide its name. */
static const char *file_below_root(request_rec *r)
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

/* What the log line of a decision says besides the reason. */
typedef struct {
    pp_mac_t mac;
    int mac_known;
    const char *detail;
    const char *cn;
    const char *source;          /* where the certificate verdict came from */
    const char *file;            /* the file judged, below the root */
    const pp_cert_facts_t *cert; /* the client certificate's, if looked at */
    int device_file;             /* (from the verdict) */
    pp_mac_t cn_mac;             /* the MAC the scope's pattern takes from */
    int cn_mac_ok;               /* the CN, verified or not (for PP140) */
} polyprov_why_t;

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
    /* a SharedOnly scope shares only what is set for it (README
     * "PolyProvSharedFiles"): no set, nothing */
    s->shared = dc->shared ? dc->shared
                : dc->enabled == PP_SHARED_ONLY
                  ? polyprov_glue->shared_only_default
                  : polyprov_glue->default_shared;
    s->allow_expired = dc->allow_expired == 1;
}

/* Gather the request's facts, let the core decide, keep what the log
 * line needs.  The certificate is looked at only where PolyProv is On. */
static pp_reason_t decide(request_rec *r, const polyprov_dir_conf_t *dc,
                          polyprov_why_t *why)
{
    pp_scope_t scope;
    pp_request_t q;
    pp_verdict_t *v;
    polyprov_cert_view_t *view = NULL;

    if (!polyprov_glue) {
        why->detail = "module state missing";
        return PP_R_INTERNAL;
    }
    scope_of(dc, &scope);
    memset(&q, 0, sizeof(q));
    q.tls = ap_ssl_conn_is_ssl(r->connection);
    if (q.tls && scope.mode == PP_MODE_ON) {
        view = apr_palloc(r->pool, sizeof(*view));
        if (polyprov_conn_cert(r, dc, scope.pattern, view) == PP_R_OK) {
            q.cert = &view->facts;
            q.cn_known = 1;
            q.cn_rv = view->pattern_rv;
            q.cn_mac = view->mac;
            why->source = pp_cert_source_name(view->facts.source);
            why->cert = &view->facts;
            why->cn_mac = view->mac;
            why->cn_mac_ok = view->pattern_rv == PP_R_OK;
            if (view->facts.cn_len) {
                why->cn = view->facts.cn;
            }
        }
    }
    q.now_us = pp_monotonic_us();
    q.uri = r->uri;
    q.path_info = r->path_info;
    q.file = why->file = file_below_root(r);
    q.is_dir = r->finfo.filetype == APR_DIR;
    q.read_only = read_only(r);
    q.proppatch = r->method_number == M_PROPPATCH;
    q.copy_move = !r->main && (r->method_number == M_COPY
                               || r->method_number == M_MOVE);
    if (q.copy_move) {
        q.destination = destination_path(r, &q.destination_error);
    }
    /* the verdict, like everything of this request's, lives in its pool */
    v = apr_palloc(r->pool, sizeof(*v));
    pp_decide(&scope, &q, v);
    why->mac = v->mac;
    why->mac_known = v->mac_known;
    why->device_file = v->device_file;
    if (v->detail[0]) {
        why->detail = v->detail;
    }
    return v->reason;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Was rec decided for r's present target with these settings? */
static int same_target(const polyprov_req_t *rec, const request_rec *r,
                       const polyprov_dir_conf_t *dc)
{
    return rec->dc == dc && rec->method_number == r->method_number
           && same_str(rec->uri, r->uri) && same_str(rec->filename, r->filename)
           && same_str(rec->path_info, r->path_info);
}

/* Decide r with dc, record it, set the environment and log; DECLINED when
 * allowed, HTTP_FORBIDDEN when refused. */
static int enforce(request_rec *r, const polyprov_dir_conf_t *dc, const char *phase)
{
    polyprov_req_t *rec = apr_pcalloc(r->pool, sizeof(*rec));
    /* the environment may hold an earlier verdict: this request's own
     * (decided again after a re-target) or its parent's (subrequests
     * inherit the environment) */
    int stale = r->main || r->prev
                || ap_get_module_config(r->request_config, &polyprov_module);
    polyprov_why_t why;
    char *mac = apr_palloc(r->pool, 13);
    const char *expired;
    polyprov_refusal_t rf;

    memset(&why, 0, sizeof(why));
    memset(&rf, 0, sizeof(rf));
    rec->report = report_only(r, dc);
    rec->dc = dc;
    rec->uri = r->uri;
    rec->filename = r->filename;
    rec->path_info = r->path_info;
    rec->method_number = r->method_number;
    {
        int armed = polyprov_test_fault_arm(r);   /* test builds only */
        rec->reason = decide(r, dc, &why);
        polyprov_test_fault_report(r, armed);
    }
    if (rec->report) {
        polyprov_metrics_report_decision(rec->reason);
    }
    else {
        polyprov_metrics_decision(rec->reason);
    }
    rec->mac = why.mac;
    rec->mac_known = why.mac_known;
    rec->device_file = why.device_file;
    ap_set_module_config(r->request_config, &polyprov_module, rec);
    pp_mac_format(why.mac, mac);

    /* POLYPROV_MODE=report: the verdict was not enforced */
    if (rec->report) {
        apr_table_setn(r->subprocess_env, "POLYPROV_MODE", "report");
    }
    else if (stale) {
        apr_table_unset(r->subprocess_env, "POLYPROV_MODE");
    }
    /* POLYPROV_MAC whenever the MAC is known, allowed or refused */
    if (why.mac_known) {
        apr_table_setn(r->subprocess_env, "POLYPROV_MAC", mac);
    }
    else if (stale) {
        apr_table_unset(r->subprocess_env, "POLYPROV_MAC");
    }
    /* POLYPROV_CERT_EXPIRED: the notAfter of a client certificate past
     * it, allowed (PolyProvAllowExpired) or refused */
    expired = why.cert && why.cert->verdict == PP_R_OK
              && why.cert->leaf_expired
              ? polyprov_time_stamp(r->pool, why.cert->not_after) : NULL;
    if (expired) {
        apr_table_setn(r->subprocess_env, "POLYPROV_CERT_EXPIRED", expired);
    }
    else if (stale) {
        apr_table_unset(r->subprocess_env, "POLYPROV_CERT_EXPIRED");
    }
    if (rec->reason == PP_R_OK) {
        if (stale) {
            apr_table_unset(r->subprocess_env, "POLYPROV_REASON");
        }
        if (APLOGrdebug(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "PP002: allowed mac=%s method=%s uri=\"%s\" phase=%s "
                          "certificate=%s%s%s%s", why.mac_known ? mac : "-",
                          r->method, ap_escape_logitem(r->pool, r->uri), phase,
                          why.source ? why.source : "none",
                          expired ? " expired=" : "", expired ? expired : "",
                          rec->report ? " mode=report" : "");
        }
        if (expired && polyprov_expired_first(why.cert->leaf_sha256)) {
            char fp[96];
            pp_fingerprint_format(why.cert->leaf_sha256, fp);
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
    rf.reason = rec->reason;
    rf.file = why.file && r->uri && strcmp(why.file, r->uri) ? why.file
                                                              : NULL;
    rf.cn = why.cn;
    rf.detail = why.detail;
    rf.show_via = 1;
    if (rec->report) {
        /* what PolyProv On would refuse: logged at notice, which httpd
         * logs whatever the LogLevel (a quieter LogLevel cannot empty the
         * report and make the fleet look ready), with the MAC the CN
         * names even where the certificate is refused (a phone under
         * another CA: the readiness report groups by it) */
        if (!why.mac_known && why.cn_mac_ok) {
            pp_mac_format(why.cn_mac, mac);
        }
        rf.mac = why.mac_known || why.cn_mac_ok ? mac : NULL;
        rf.report = dc->enabled_where ? dc->enabled_where : "?";
        polyprov_log_refusal(r, &rf);
        return DECLINED;
    }
    rf.mac = why.mac_known ? mac : NULL;
    polyprov_log_refusal(r, &rf);
    return HTTP_FORBIDDEN;
}

/* A connection whose client certificate is past its notAfter got
 * through mod_ssl's handshake only because a scope of its virtual host has
 * PolyProvAllowExpired On, and mod_ssl calls it verified
 * (SSL_CLIENT_VERIFY=SUCCESS, Require ssl-verify-client): on it, a request
 * is served only where this module judges the certificate, that is where
 * PolyProv On applies (its step 3 refuses an expired certificate unless
 * PolyProvAllowExpired is On there).  Everywhere else (PolyProv Off,
 * SharedOnly, no PolyProv at all) it is refused before any access,
 * authentication or authorisation hook runs, and again in fixups (a
 * per-directory SSLVerifyClient brings the certificate in mod_ssl's access
 * hook), before any handler: nothing else on the host can be fooled into
 * trusting it. */
static int polyprov_expired_guard(request_rec *r)
{
    const polyprov_dir_conf_t *dc;
    time_t not_after = 0;
    const char *when;

    if (!polyprov_expired_conn(r->connection, r->request_time, &not_after)) {
        return DECLINED;
    }
    dc = judging_conf(r);
    if (dc && dc->enabled == PP_ON) {
        return DECLINED;          /* decided by the module, step 3 */
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

static int polyprov_access(request_rec *r)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &polyprov_module);

    if (!scope_active(dc)) {
        return DECLINED;
    }
    return enforce(r, dc, "access");
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
/* Answers that belong to the requester (README "Caches and pages that */
/* show other clients' requests")                                      */

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
static void answer_private_header(request_rec *r)
{
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");

    r->no_cache = 1;
    if (!cc || (!ap_find_token(r->pool, cc, "private")
                && !ap_find_token(r->pool, cc, "no-store"))) {
        apr_table_mergen(r->headers_out, "Cache-Control", "private");
    }
}

/* A shared file sent as it is: the same for every phone, cacheable. */
static void answer_shared(request_rec *r)
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
static int polyprov_fixups(request_rec *r)
{
    const polyprov_dir_conf_t *dc = judging_conf(r);
    const polyprov_req_t *rec;
    int rv;

    if (!dc) {
        return DECLINED;
    }
    rec = ap_get_module_config(r->request_config, &polyprov_module);
    if (rec && same_target(rec, r, dc)) {
        /* decided in the access phase; a refusal stands even if another
         * module (Satisfy Any) let the request past it (unless it was
         * only reported) */
        rv = rec->reason == PP_R_OK || rec->report ? DECLINED
                                                   : HTTP_FORBIDDEN;
    }
    else {
        rv = enforce(r, dc, "fixups");
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

/* ------------------------------------------------------------------ */
/* Before any handler runs                                             */

static ap_filter_rec_t *guard_filter_handle;   /* POLYPROV_GUARD, below */

/* A file named after the requesting device holds what the device wrote
 * (or what was written for it): it is served as data by the default
 * handler (or handled by mod_dav), never run through another handler
 * (type maps, SSI, CGI, PHP-FPM's "proxy:" handler, send-as-is, ...) or a
 * resource-level output filter (INCLUDES), unless PolyProvDeviceHandlers
 * is On. */
static void serve_as_data(request_rec *r, const polyprov_req_t *rec)
{
    const char *file;
    ap_filter_t *f;

    /* the decision of this very target said whether its file names the
     * requester (the handler guard decided again if it changed) */
    if (!rec->device_file || rec->dc->device_handlers == 1) {
        return;
    }
    file = file_below_root(r);
    /* the default handler is named, or the empty name httpd gives it
     * when a file has no content type (AP_DEFAULT_HANDLER_NAME) */
    if (r->handler && *r->handler && strcmp(r->handler, "default-handler")
        && strcmp(r->handler, "dav-handler")) {
        /* the handler ap_invoke_handler derived from the content type is
         * the ordinary case; anything else is worth a line */
        if (!r->content_type
            || strncmp(r->handler, r->content_type, strlen(r->handler))) {
            polyprov_metrics_count(POLYPROV_M_DEVICE_AS_DATA);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PP015: device file "
                          "\"%s\" served as data, not by handler \"%s\" "
                          "(PolyProvDeviceHandlers Off)",
                          ap_escape_logitem(r->pool, file),
                          ap_escape_logitem(r->pool, r->handler));
        }
        r->handler = "default-handler";
    }
    /* resource filters come first in the chain; a subrequest's own chain
     * ends at its SUBREQ_CORE filter, which is not one */
    f = r->output_filters;
    while (f && f->r == r && f->frec->ftype < AP_FTYPE_CONTENT_SET) {
        ap_filter_t *next = f->next;
        if (f->frec == guard_filter_handle) {
            f = next;
            continue;
        }
        polyprov_metrics_count(POLYPROV_M_DEVICE_AS_DATA);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PP015: device file "
                      "\"%s\" served as data, without output filter %s "
                      "(PolyProvDeviceHandlers Off)",
                      ap_escape_logitem(r->pool, file), f->frec->name);
        ap_remove_output_filter(f);
        f = next;
    }
}

static void polyprov_insert_guard(request_rec *r);

/* The default handler will serve a regular file for a GET or HEAD, as a
 * 200 of the request itself: the handler is the default one, or the
 * content type (which ap_invoke_handler makes the handler name when none
 * was set). */
static int plain_file_response(const request_rec *r)
{
    const char *h = r->handler, *ct = r->content_type;
    size_t n;

    /* (an internal redirect, such as an ErrorDocument, carries another
     * status, and its body is read) */
    if (r->finfo.filetype != APR_REG || r->method_number != M_GET
        || r->status != HTTP_OK || r->prev) {
        return 0;
    }
    if (!h) {
        /* before ap_invoke_handler: it will take the content type's */
        return 1;
    }
    if (!strcmp(h, "default-handler")) {
        return 1;
    }
    if (!ct) {
        return 0;
    }
    n = strcspn(ct, "; ");
    return strlen(h) == n && !strncmp(h, ct, n);
}

/* ... and no resource filter (INCLUDES, SUBSTITUTE, an external
 * filter...) makes another body of it: the response is the file as it
 * is.  (At the handler: insert_filter has run.) */
static int sent_as_is(request_rec *r)
{
    ap_filter_t *f;

    if (!plain_file_response(r)) {
        return 0;
    }
    for (f = r->output_filters; f && f->r == r
         && f->frec->ftype < AP_FTYPE_CONTENT_SET; f = f->next) {
        if (f->frec != guard_filter_handle) {
            return 0;
        }
    }
    return 1;
}

static int polyprov_handler_guard(request_rec *r)
{
    const polyprov_dir_conf_t *own = ap_get_module_config(r->per_dir_config,
                                                    &polyprov_module);
    const polyprov_req_t *rec = ap_get_module_config(r->request_config,
                                               &polyprov_module);
    const polyprov_dir_conf_t *dc;

    if (!rec) {
        dc = judging_conf(r);
        if (!dc) {
            return DECLINED;
        }
    }
    else {
        /* the per-directory configuration may have been replaced since
         * (ap_internal_fast_redirect by mod_negotiation or mod_dir): the
         * new scope's settings if PolyProv is On there, else the old */
        dc = scope_active(own) ? own : rec->dc;
        if (same_target(rec, r, dc)) {
            dc = NULL;
        }
    }
    if (dc) {
        /* re-targeted after the decision, or never decided */
        if (enforce(r, dc, "handler") != DECLINED) {
            return HTTP_FORBIDDEN;
        }
        rec = ap_get_module_config(r->request_config, &polyprov_module);
    }
    if (rec->reason != PP_R_OK) {
        return rec->report ? DECLINED : HTTP_FORBIDDEN;
    }
    if (polyprov_monitoring_refused(r, rec->dc, rec->report)) {
        return HTTP_FORBIDDEN;
    }
    /* what a phone writes stays within PolyProvDeviceQuota (507; under
     * PolyProv Report logged, never refused) */
    if (!r->main && rec->mac_known
        && (rec->report || rec->dc->enabled == PP_ON)) {
        int q = polyprov_quota_check(r, rec->dc, rec->mac, rec->report);
        if (q != OK) {
            return q;
        }
    }
    if (!rec->report) {
        /* (PolyProv Report leaves the handlers and filters as they are) */
        serve_as_data(r, rec);
    }
    /* a shared file the default handler sends as it is may be cached;
     * any other answer of a PolyProv On scope is the requester's */
    if (!rec->report && rec->dc->enabled == PP_ON) {
        if (!rec->device_file && sent_as_is(r)) {
            answer_shared(r);
        }
        else {
            answer_private_header(r);
        }
    }
    /* the response guard, unless this is a regular file that the default
     * handler will send as it is (no other module makes this response;
     * an error response gets the guard at insert_error_filter) */
    if (!r->main && !sent_as_is(r)) {
        polyprov_insert_guard(r);
    }
    return DECLINED;
}

/* mod_cache's quick handler (CacheQuickHandler On, its default) answers
 * from its cache before any access hook: a device's file stored for one
 * phone would be served to another, and an answer generated for one
 * phone under a shared name too.  Where mod_cache is loaded, in a host
 * with a PolyProv scope, this hook runs before it and does httpd's whole
 * processing of the request first (the module's decision included), as
 * CacheQuickHandler Off would; only then, and only for a shared file
 * that the default handler will send as it is, may mod_cache answer from
 * its cache (or store the answer).  Everything else is served without
 * the cache. */
static int cache_loaded;

#define QUICK_NOTE "polyprov-quick"

/* (Before the handler, so without the resource filters insert_filter
 * will add: only what the handler guard found sent as it is, a shared
 * file, is ever stored in a PolyProv On scope.) */
static int cache_may_answer(request_rec *r)
{
    const polyprov_dir_conf_t *dc = judging_conf(r);
    const polyprov_req_t *rec;

    if (!dc) {
        return 1;              /* not the module's to judge */
    }
    /* (decided last in fixups, for the request's present target) */
    rec = ap_get_module_config(r->request_config, &polyprov_module);
    return rec && rec->reason == PP_R_OK && !rec->device_file
           && plain_file_response(r);
}

static int polyprov_quick(request_rec *r, int lookup)
{
    const char *note;
    int rv;

    if (!cache_loaded || !polyprov_glue
        || !polyprov_host_has_scope(r->server)) {
        return DECLINED;
    }
    note = apr_table_get(r->notes, QUICK_NOTE);
    if (note && !strcmp(note, "decided")) {
        return DECLINED;       /* the call below: mod_cache's turn */
    }
    if (lookup) {
        /* a subrequest's lookup (an SSI include): the core would skip
         * its processing if mod_cache said it has the answer */
        apr_table_setn(r->notes, QUICK_NOTE, "looked-up");
        rv = ap_process_request_internal(r);
        if (rv != OK) {
            r->status = rv;
        }
        return OK;
    }
    if (r->main) {
        /* ap_run_sub_req: the subrequest was processed at its lookup */
        if (cache_may_answer(r)) {
            return DECLINED;
        }
        rv = ap_invoke_handler(r);
        if (rv != OK && rv != DONE) {
            r->status = rv;
        }
        return OK;
    }
    /* a request, or an internal redirect */
    rv = ap_process_request_internal(r);
    if (rv != OK) {
        return rv;
    }
    if (cache_may_answer(r)) {
        apr_table_setn(r->notes, QUICK_NOTE, "decided");
        rv = ap_run_quick_handler(r, 0);
        if (rv != DECLINED) {
            return rv;
        }
    }
    return ap_invoke_handler(r);
}

/* ------------------------------------------------------------------ */
/* Responses that name another device                                  */

/* Headers in which another module may name files: redirects, content
 * negotiation's variant lists, links. */
static const char *const named_headers[] = {
    "Location", "Content-Location", "Alternates", "Link", "URI", NULL
};

/* The body of a response of another status than 2xx or 304 (a listing
 * of mod_speling, mod_negotiation's variants, an error page) is held
 * back and read before it is sent, up to this size. */
#define GUARD_MAX_BODY (1024 * 1024)

typedef struct {
    pp_mac_t mac;                /* the requester's, or PP_MAC_NONE */
    int private_answer;          /* a PolyProv On scope's */
    int started;
    int report;                  /* PolyProv Report: log, never replace */
    const char *report_where;    /* that PolyProv Report's file:line */
    apr_bucket_brigade *held;
} polyprov_guard_t;


static const char *table_naming_other(const apr_table_t *t, pp_mac_t mac)
{
    static size_t lens[sizeof(named_headers) / sizeof(named_headers[0])];
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    int i, k;

    if (apr_is_empty_table(t)) {
        return NULL;
    }
    if (!lens[0]) {
        for (k = 0; named_headers[k]; k++) {
            lens[k] = strlen(named_headers[k]);
        }
    }
    arr = apr_table_elts(t);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        size_t len;
        if (!e[i].key || !e[i].val) {
            continue;
        }
        /* (the length first: most headers are not among these) */
        len = strlen(e[i].key);
        for (k = 0; named_headers[k]; k++) {
            if (len == lens[k] && !ap_cstr_casecmp(e[i].key, named_headers[k])
                && pp_text_names_other(e[i].val, strlen(e[i].val), mac)) {
                return named_headers[k];
            }
        }
    }
    return NULL;
}

static const char *header_naming_other(request_rec *r, pp_mac_t mac)
{
    const char *h = table_naming_other(r->headers_out, mac);

    return h ? h : table_naming_other(r->err_headers_out, mac);
}

/* PolyProv Report: what guard_refuse would refuse is logged (PP140),
 * counted and marked in the environment; the response goes out as it is. */
static void guard_report(ap_filter_t *f, polyprov_guard_t *g,
                         const char *what)
{
    request_rec *r = f->r;
    char mac[13];
    polyprov_refusal_t rf = { PP_R_FOREIGN_NAME, NULL, NULL, NULL, NULL,
                              NULL, 0 };

    pp_mac_format(g->mac, mac);
    rf.mac = g->mac != PP_MAC_NONE ? mac : NULL;
    rf.detail = apr_psprintf(r->pool, "the %d response's %s names another "
                             "device", r->status, what);
    rf.report = g->report_where ? g->report_where : "?";
    polyprov_metrics_report_decision(PP_R_FOREIGN_NAME);
    polyprov_log_refusal(r, &rf);
    apr_table_setn(r->subprocess_env, "POLYPROV_MODE", "report");
}

static apr_status_t guard_refuse(ap_filter_t *f, polyprov_guard_t *g,
                                 const char *what)
{
    static const char body[] =
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
        "<html><head>\n<title>403 Forbidden</title>\n</head><body>\n"
        "<h1>Forbidden</h1>\n<p>You don't have permission to access this "
        "resource.</p>\n</body></html>\n";
    request_rec *r = f->r;
    apr_bucket_brigade *out = apr_brigade_create(r->pool,
                                                 f->c->bucket_alloc);
    char mac[13];
    polyprov_refusal_t rf = { PP_R_FOREIGN_NAME, NULL, NULL, NULL, NULL,
                              NULL, 0 };
    int i;

    if (g->held) {
        apr_brigade_cleanup(g->held);
    }
    pp_mac_format(g->mac, mac);
    rf.mac = g->mac != PP_MAC_NONE ? mac : NULL;
    rf.detail = apr_psprintf(r->pool, "the %d response's %s names another "
                             "device", r->status, what);
    polyprov_metrics_decision(PP_R_FOREIGN_NAME);
    polyprov_log_refusal(r, &rf);
    r->status = HTTP_FORBIDDEN;
    r->status_line = NULL;
    for (i = 0; named_headers[i]; i++) {
        apr_table_unset(r->headers_out, named_headers[i]);
        apr_table_unset(r->err_headers_out, named_headers[i]);
    }
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Vary");
    apr_table_unset(r->headers_out, "TCN");
    apr_table_unset(r->err_headers_out, "Vary");
    apr_table_unset(r->err_headers_out, "TCN");
    r->content_languages = NULL;
    r->content_encoding = NULL;
    ap_set_content_type(r, "text/html; charset=iso-8859-1");
    APR_BRIGADE_INSERT_TAIL(out, apr_bucket_immortal_create(body,
        sizeof(body) - 1, f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(out, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, out);
}

static apr_status_t guard_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    polyprov_guard_t *g = f->ctx;
    const char *h;
    apr_bucket *e;
    apr_off_t len = 0;
    int eos = 0;
    char *text;
    apr_size_t tlen;

    if (!g->started) {
        g->started = 1;
        if (g->private_answer) {
            /* an error response, or one no shared file makes */
            answer_private_header(r);
        }
        if ((h = header_naming_other(r, g->mac))) {
            if (g->report) {
                guard_report(f, g, apr_pstrcat(r->pool, h, " header", NULL));
                ap_remove_output_filter(f);
                return ap_pass_brigade(f->next, bb);
            }
            apr_brigade_cleanup(bb);
            return guard_refuse(f, g, apr_pstrcat(r->pool, h, " header",
                                                  NULL));
        }
        /* every body is read: the guard is in no chain of a file that
         * the default handler sends as it is, so a 2xx here was made by
         * another handler (SSI, CGI, a script, a proxied answer...) and
         * may be a page about other devices */
        if (r->status == HTTP_NOT_MODIFIED || r->status == HTTP_NO_CONTENT
            || r->header_only
            /* mod_dav's 2xx speak of the target alone (a collection is
             * refused, step 8): its own name, ETags and lock tokens, whose
             * hex runs a scan would take for MACs */
            || (r->status < 300 && r->handler
                && !strcmp(r->handler, "dav-handler"))) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        g->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e)) {
            eos = 1;
        }
        else if (AP_BUCKET_IS_ERROR(e)) {
            /* the handler failed (a request body past LimitRequestBody,
             * ...): nothing of what it held goes out; the error response
             * that replaces it gets the guard again (insert_error_filter) */
            if (g->held) {
                apr_brigade_cleanup(g->held);
            }
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
    }
    if (ap_save_brigade(f, &g->held, &bb, r->pool) != APR_SUCCESS) {
        if (g->report) {
            guard_report(f, g, "body (unreadable to check)");
            ap_remove_output_filter(f);
            APR_BRIGADE_CONCAT(g->held, bb);
            return ap_pass_brigade(f->next, g->held);
        }
        return guard_refuse(f, g, "body (too large or unreadable to check)");
    }
    if (apr_brigade_length(g->held, 1, &len) != APR_SUCCESS
        || len > GUARD_MAX_BODY) {
        if (g->report) {
            guard_report(f, g, "body (too large or unreadable to check)");
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, g->held);
        }
        return guard_refuse(f, g, "body (too large or unreadable to check)");
    }
    apr_brigade_cleanup(bb);
    if (!eos) {
        return APR_SUCCESS;
    }
    h = header_naming_other(r, g->mac);
    if (h) {
        h = apr_pstrcat(r->pool, h, " header", NULL);
    }
    else if (apr_brigade_pflatten(g->held, &text, &tlen, r->pool)
             != APR_SUCCESS) {
        h = "body (unreadable)";
    }
    else if (pp_text_names_other(text, tlen, g->mac)) {
        h = "body";
    }
    if (h && !g->report) {
        return guard_refuse(f, g, h);
    }
    if (h) {
        guard_report(f, g, h);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, g->held);
}

/* For a main request the module decided, or that serves one (an
 * ErrorDocument's redirect), the guard goes into the response's chain:
 * at the handler (insert_filter) and for an error response. */
static void polyprov_insert_guard(request_rec *r)
{
    polyprov_req_t *own;
    const polyprov_req_t *rec;
    ap_filter_t *f;
    polyprov_guard_t *g;

    if (r->main) {
        return;
    }
    own = ap_get_module_config(r->request_config, &polyprov_module);
    rec = own ? own : decided_ancestor(r);
    if (!rec || (rec->report && rec->reason != PP_R_OK)) {
        /* (a request PolyProv Report would refuse was logged as such) */
        return;
    }
    if (own && own->guarded) {
        /* already in the chain: at the handler, or an error response
         * after one (which starts from the protocol filters again) */
        for (f = r->output_filters; f; f = f->next) {
            if (f->frec == guard_filter_handle) {
                return;
            }
        }
    }
    if (own) {
        own->guarded = 1;
    }
    g = apr_pcalloc(r->pool, sizeof(*g));
    g->mac = rec->mac_known ? rec->mac : PP_MAC_NONE;
    g->report = rec->report;
    g->report_where = rec->dc ? rec->dc->enabled_where : NULL;
    g->private_answer = rec->dc && rec->dc->enabled == PP_ON;
    ap_add_output_filter_handle(guard_filter_handle, g, r, r->connection);
}

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
static int polyprov_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
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

static int polyprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
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

static int polyprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
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
    speling_module = ap_find_linked_module("mod_speling.c");
    cache_loaded = ap_find_linked_module("mod_cache.c") != NULL;
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
static void polyprov_child_init(apr_pool_t *p, server_rec *s)
{
    (void)p;
    (void)s;
    if (polyprov_glue && polyprov_glue->lists) {
        pp_listset_map_current(polyprov_glue->lists);
    }
}

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
        /* before mod_cache's quick handler (README "Caches ...") */
        ap_hook_quick_handler(polyprov_quick, NULL, before_cache,
                              APR_HOOK_FIRST);
        guard_filter_handle = ap_register_output_filter("POLYPROV_GUARD",
            guard_filter, NULL, AP_FTYPE_CONTENT_SET - 1);
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
