/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the guards after the decision.
 *
 *  - the handler guard (really first): a request re-targeted since its
 *    decision is decided again; a device's own file is served as data
 *    (PolyProvDeviceHandlers Off, PP015); status pages (PP100) and the
 *    device quota (mod_polyprov_quota.c); the response guard is inserted;
 *  - mod_cache's quick handler is made to wait for the decision;
 *  - the output filter POLYPROV_GUARD: a response another module made
 *    that names another device is refused (foreign-name).
 *
 * It calls the request path (mod_polyprov_request.c) for the decision.
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
    if (!rec->verdict.device_file || rec->dc->device_handlers == 1) {
        return;
    }
    file = polyprov_file_below_root(r);
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

int polyprov_handler_guard(request_rec *r)
{
    const polyprov_dir_conf_t *own = ap_get_module_config(r->per_dir_config,
                                                    &polyprov_module);
    const polyprov_req_t *rec = ap_get_module_config(r->request_config,
                                               &polyprov_module);
    const polyprov_dir_conf_t *dc;

    if (!rec) {
        dc = polyprov_judging_conf(r);
        if (!dc) {
            return DECLINED;
        }
    }
    else {
        /* the per-directory configuration may have been replaced since
         * (ap_internal_fast_redirect by mod_negotiation or mod_dir): the
         * new scope's settings if PolyProv is On there, else the old */
        dc = polyprov_scope_active(own) ? own : rec->dc;
        if (polyprov_same_target(rec, r, dc)) {
            dc = NULL;
        }
    }
    if (dc) {
        /* re-targeted after the decision, or never decided */
        if (polyprov_enforce(r, dc, "handler") != DECLINED) {
            return HTTP_FORBIDDEN;
        }
        rec = ap_get_module_config(r->request_config, &polyprov_module);
    }
    if (rec->verdict.reason != PP_R_OK) {
        return rec->report ? DECLINED : HTTP_FORBIDDEN;
    }
    if (polyprov_monitoring_refused(r, rec->dc, rec->report)) {
        return HTTP_FORBIDDEN;
    }
    /* what a phone writes stays within PolyProvDeviceQuota (507; under
     * PolyProv Report logged, never refused) */
    if (!r->main && rec->verdict.mac_known
        && (rec->report || rec->dc->enabled == PP_ON)) {
        int q = polyprov_quota_check(r, rec->dc, rec->verdict.mac,
                                     rec->report);
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
        if (!rec->verdict.device_file && sent_as_is(r)) {
            polyprov_answer_shared(r);
        }
        else {
            polyprov_answer_private_header(r);
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

void polyprov_guard_find_modules(void)
{
    cache_loaded = ap_find_linked_module("mod_cache.c") != NULL;
}

#define QUICK_NOTE "polyprov-quick"

/* (Before the handler, so without the resource filters insert_filter
 * will add: only what the handler guard found sent as it is, a shared
 * file, is ever stored in a PolyProv On scope.) */
static int cache_may_answer(request_rec *r)
{
    const polyprov_dir_conf_t *dc = polyprov_judging_conf(r);
    const polyprov_req_t *rec;

    if (!dc) {
        return 1;              /* not the module's to judge */
    }
    /* (decided last in fixups, for the request's present target) */
    rec = ap_get_module_config(r->request_config, &polyprov_module);
    return rec && rec->verdict.reason == PP_R_OK && !rec->verdict.device_file
           && plain_file_response(r);
}

int polyprov_quick(request_rec *r, int lookup)
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
            polyprov_answer_private_header(r);
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
             * refused, PP_STEP_DIRECTORY): its own name, ETags and lock tokens, whose
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
void polyprov_insert_guard(request_rec *r)
{
    polyprov_req_t *own;
    const polyprov_req_t *rec;
    ap_filter_t *f;
    polyprov_guard_t *g;

    if (r->main) {
        return;
    }
    own = ap_get_module_config(r->request_config, &polyprov_module);
    rec = own ? own : polyprov_decided_ancestor(r);
    if (!rec || (rec->report && rec->verdict.reason != PP_R_OK)) {
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
    g->mac = rec->verdict.mac_known ? rec->verdict.mac : PP_MAC_NONE;
    g->report = rec->report;
    g->report_where = rec->dc ? rec->dc->enabled_where : NULL;
    g->private_answer = rec->dc && rec->dc->enabled == PP_ON;
    ap_add_output_filter_handle(guard_filter_handle, g, r, r->connection);
}

void polyprov_guard_register_filter(void)
{
    guard_filter_handle = ap_register_output_filter("POLYPROV_GUARD",
        guard_filter, NULL, AP_FTYPE_CONTENT_SET - 1);
}
