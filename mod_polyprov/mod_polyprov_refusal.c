/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the one place a refusal line is formatted.
 *
 * PP001 (refused, at error) and PP140 (PolyProv Report: what On would
 * refuse, at notice, which httpd logs whatever the LogLevel) have the same
 * fields in the same order (docs/operations.md "Log messages"); the decision, the
 * response guard and the device quota all log through
 * polyprov_log_refusal().  It calls no other glue file.
 */
#include "mod_polyprov.h"

#include "apr_strings.h"
#include "http_protocol.h"

/* " name=\"value\"" (quoted) or " name=value", escaped for the log; ""
 * when value is NULL. */
static const char *field(apr_pool_t *p, const char *name, const char *value,
                         int quoted)
{
    if (!value) {
        return "";
    }
    return apr_pstrcat(p, " ", name, quoted ? "=\"" : "=",
                       ap_escape_logitem(p, value), quoted ? "\"" : "",
                       NULL);
}

void polyprov_log_refusal(request_rec *r, const polyprov_refusal_t *f)
{
    const char *via = !f->show_via ? ""
                      : r->main ? " via=subrequest"
                      : r->prev ? " via=redirect" : "";
    const char *rest = apr_pstrcat(r->pool, via,
                                   field(r->pool, "file", f->file, 1),
                                   field(r->pool, "cn", f->cn, 1),
                                   field(r->pool, "detail", f->detail, 0),
                                   NULL);
    const char *reason = pp_reason_name(f->reason);

    apr_table_setn(r->subprocess_env, "POLYPROV_REASON", reason);
    if (f->report) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PP140: would refuse reason=%s mac=%s method=%s "
                      "uri=\"%s\" client=%s%s report=%s", reason,
                      f->mac ? f->mac : "-", r->method,
                      ap_escape_logitem(r->pool, r->uri), r->useragent_ip,
                      rest, f->report);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "PP001: refused reason=%s mac=%s method=%s uri=\"%s\" "
                  "client=%s%s", reason, f->mac ? f->mac : "-", r->method,
                  ap_escape_logitem(r->pool, r->uri), r->useragent_ip, rest);
}
