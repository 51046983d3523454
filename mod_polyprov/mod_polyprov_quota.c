/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: what one phone may write (docs/directives.md
 * "PolyProvDeviceQuota").
 *
 * LimitRequestBody bounds one upload, not how many a phone makes.  Before
 * a write that adds to the disk (PUT, MKCOL, LOCK of a new name, COPY and
 * MOVE) the directory that will hold the device's entry is read (the
 * core's pp_quota_holding_dir and pp_quota_usage): every entry there whose
 * name names the device, and everything below such an entry that is a
 * directory, counts as the device's.  The write is refused with 507
 * Insufficient Storage (RFC 4918) when it would take the device past
 * PolyProvDeviceQuota's size or number of entries.
 */
#include "mod_polyprov.h"

#include <stdlib.h>
#include <string.h>

#include "apr_file_info.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

/* A directory is read up to this many entries (the device's files and
 * the others), this deep: past either the write is refused (fail closed). */
#define QUOTA_MAX_ENTRIES 200000
#define QUOTA_MAX_DEPTH 32

/* What of dir is the device's (the core's pp_quota_usage), in r's pool
 * terms: APR_SUCCESS, or an error and why (fail closed). */
static int usage(request_rec *r, const char *dir, pp_mac_t mac, int all,
                 pp_usage_t *u, const char **why)
{
    char err[512];

    if (pp_quota_usage(dir, mac, all, QUOTA_MAX_ENTRIES, QUOTA_MAX_DEPTH, u,
                       err, sizeof(err)) != 0) {
        *why = apr_pstrdup(r->pool, err);
        return -1;
    }
    return 0;
}

/* The file a write puts things in, with path info (a name that does not
 * exist yet). */
static const char *target_file(request_rec *r)
{
    if (!r->filename) {
        return NULL;
    }
    return r->path_info && *r->path_info
           ? apr_pstrcat(r->pool, r->filename, r->path_info, NULL)
           : r->filename;
}

/* The write is refused past the bound (PP001, 507); under PolyProv
 * Report (report: its file:line) it is logged as what On would refuse
 * (PP140) and goes ahead. */
static void log_refusal(request_rec *r, pp_mac_t mac, const char *report,
                        const char *detail)
{
    char m[13];
    polyprov_refusal_t f = { PP_R_QUOTA, m, NULL, NULL, detail, report, 0 };

    pp_mac_format(mac, m);
    if (report) {
        polyprov_metrics_report_decision(PP_R_QUOTA);
    }
    else {
        polyprov_metrics_decision(PP_R_QUOTA);
    }
    polyprov_log_refusal(r, &f);
}

static int quota_check(request_rec *r, const polyprov_dir_conf_t *dc,
                       pp_mac_t mac, const char *report)
{
    apr_off_t max_bytes = dc->quota_bytes == PP_UNSET
                          ? PP_DEFAULT_QUOTA_BYTES : dc->quota_bytes;
    long max_files = dc->quota_files == PP_UNSET
                     ? PP_DEFAULT_QUOTA_FILES : dc->quota_files;
    const char *target = NULL, *dir, *cl, *why = NULL;
    char *held;
    apr_off_t incoming = 0, replaced = 0;
    long new_files = 0;
    apr_finfo_t fi;
    pp_usage_t u;

    switch (r->method_number) {
    case M_PUT:
    case M_MKCOL:
    case M_LOCK:
        target = target_file(r);
        if (r->method_number == M_PUT) {
            cl = apr_table_get(r->headers_in, "Content-Length");
            if (apr_table_get(r->headers_in, "Transfer-Encoding")) {
                /* chunked: as much as LimitRequestBody lets through */
                incoming = ap_get_limit_req_body(r);
            }
            else if (cl) {
                char *end;
                if (apr_strtoff(&incoming, cl, &end, 10) != APR_SUCCESS
                    || *end || incoming < 0) {
                    incoming = 0;        /* httpd answers 400 itself */
                }
            }
            /* (neither: no body) */
        }
        break;
    case M_COPY:
    case M_MOVE: {
        const char *dest = apr_table_get(r->headers_in, "Destination");
        apr_uri_t uri;
        request_rec *rr;
        if (!dest || apr_uri_parse(r->pool, dest, &uri) != APR_SUCCESS
            || !uri.path) {
            return OK;           /* mod_dav answers 400 */
        }
        rr = ap_sub_req_lookup_uri(uri.path, r, NULL);
        target = rr && rr->filename ? apr_pstrdup(r->pool, target_file(rr))
                                    : NULL;
        if (rr) {
            ap_destroy_sub_req(rr);
        }
        if (r->finfo.filetype == APR_REG) {
            incoming = r->finfo.size;
        }
        else if (r->finfo.filetype == APR_DIR && r->filename) {
            pp_usage_t src;
            if (usage(r, r->filename, mac, 1, &src, &why) != 0) {
                log_refusal(r, mac, report, apr_psprintf(r->pool,
                            "the collection to copy cannot be measured: %s", why));
                return HTTP_INSUFFICIENT_STORAGE;
            }
            incoming = (apr_off_t)src.bytes;
            new_files = src.entries;
        }
        break;
    }
    default:
        return OK;
    }
    if (!target) {
        return OK;               /* no file: nothing written to disk here */
    }
    if (apr_stat(&fi, target, APR_FINFO_TYPE | APR_FINFO_SIZE | APR_FINFO_LINK,
                 r->pool) == APR_SUCCESS) {
        if (fi.filetype == APR_REG) {
            replaced = fi.size;
        }
        if (r->method_number == M_LOCK || r->method_number == M_MKCOL) {
            return OK;           /* adds nothing (MKCOL: 405) */
        }
    }
    else {
        new_files += 1;
    }
    held = pp_quota_holding_dir(target, mac);
    if (!held) {
        log_refusal(r, mac, report, "out of memory");
        return HTTP_INSUFFICIENT_STORAGE;
    }
    dir = apr_pstrdup(r->pool, held);
    free(held);
    if (usage(r, dir, mac, 0, &u, &why) != 0) {
        log_refusal(r, mac, report, apr_psprintf(r->pool, "what the device "
                    "holds in %s cannot be measured: %s", dir, why));
        return HTTP_INSUFFICIENT_STORAGE;
    }
    if (u.entries + new_files > max_files
        || (apr_off_t)u.bytes - replaced + incoming > max_bytes) {
        log_refusal(r, mac, report, apr_psprintf(r->pool, "the device "
                    "holds %ld entries, %" APR_INT64_T_FMT " bytes in %s; this write would "
                    "make %ld, %" APR_OFF_T_FMT " (PolyProvDeviceQuota %"
                    APR_OFF_T_FMT " %ld%s%s)", u.entries,
                    (apr_int64_t)u.bytes, dir,
                    u.entries + new_files,
                    (apr_off_t)u.bytes - replaced + incoming,
                    max_bytes, max_files, dc->quota_where ? " at " : ", the "
                    "default", dc->quota_where ? dc->quota_where : ""));
        return HTTP_INSUFFICIENT_STORAGE;
    }
    return OK;
}

int polyprov_quota_check(request_rec *r, const polyprov_dir_conf_t *dc,
                         pp_mac_t mac, int report)
{
    int q = quota_check(r, dc, mac, report ? dc->enabled_where
                                             ? dc->enabled_where : "?"
                                           : NULL);

    return report ? OK : q;
}
