/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: what one phone may write (README
 * "PolyProvDeviceQuota").
 *
 * LimitRequestBody bounds one upload, not how many a phone makes.  Before
 * a write that adds to the disk (PUT, MKCOL, LOCK of a new name, COPY and
 * MOVE) the directory that will hold the device's entry is read: every
 * entry there whose name names the device, and everything below such an
 * entry that is a directory, counts as the device's.  The write is
 * refused with 507 Insufficient Storage (RFC 4918) when it would take the
 * device past PolyProvDeviceQuota's size or number of entries.
 */
#include "mod_polyprov.h"

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

typedef struct {
    apr_off_t bytes;
    long files;
    long budget;                 /* entries still to read */
} usage_t;

/* What of dir is the device's: entries naming mac (all == 0), or every
 * entry (all == 1: inside the device's own collection).  APR_SUCCESS, or
 * an error (unreadable, too large or too deep: fail closed). */
static apr_status_t usage(apr_pool_t *p, const char *dir, pp_mac_t mac,
                          int all, int depth, usage_t *u)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_pool_t *sub;

    if (depth > QUOTA_MAX_DEPTH) {
        return APR_EGENERAL;
    }
    if (apr_pool_create(&sub, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    rv = apr_dir_open(&d, dir, sub);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(sub);
        /* a directory that does not exist yet holds nothing */
        return APR_STATUS_IS_ENOENT(rv) && depth == 0 ? APR_SUCCESS : rv;
    }
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE
                              | APR_FINFO_SIZE | APR_FINFO_LINK, d))
           == APR_SUCCESS || rv == APR_INCOMPLETE) {
        if (!fi.name || !strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        if (--u->budget < 0) {
            rv = APR_EGENERAL;
            break;
        }
        if (!all && !pp_path_names_mac(fi.name, mac)) {
            continue;
        }
        u->files++;
        if (fi.filetype == APR_DIR) {
            rv = usage(sub, apr_pstrcat(sub, dir, "/", fi.name, NULL), mac,
                       1, depth + 1, u);
            if (rv != APR_SUCCESS) {
                break;
            }
        }
        else if (fi.filetype == APR_REG) {
            u->bytes += fi.size;
        }
    }
    apr_dir_close(d);
    apr_pool_destroy(sub);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

/* The directory whose entries naming the device hold path: the parent
 * of the topmost of path's trailing segments that name the device (a
 * file in the device's own collection counts in the collection's
 * parent). */
static char *holding_dir(apr_pool_t *p, const char *path, pp_mac_t mac)
{
    char *dir = apr_pstrdup(p, path);
    char *slash;
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/') {
        dir[--n] = '\0';
    }
    for (;;) {
        slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            return apr_pstrdup(p, "/");
        }
        *slash = '\0';
        /* dir is now the parent; go on up while it names the device */
        {
            const char *base = strrchr(dir, '/');
            if (!pp_path_names_mac(base ? base + 1 : dir, mac)) {
                return dir;
            }
        }
    }
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

static void log_refusal(request_rec *r, pp_mac_t mac, const char *detail)
{
    char m[13];

    pp_mac_format(mac, m);
    polyprov_metrics_decision(PP_R_QUOTA);
    apr_table_setn(r->subprocess_env, "POLYPROV_REASON",
                   pp_reason_name(PP_R_QUOTA));
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PP001: refused reason=%s "
                  "mac=%s method=%s uri=\"%s\" client=%s detail=%s",
                  pp_reason_name(PP_R_QUOTA), m, r->method,
                  ap_escape_logitem(r->pool, r->uri), r->useragent_ip,
                  ap_escape_logitem(r->pool, detail));
}

int polyprov_quota_check(request_rec *r, const polyprov_dir_conf_t *dc,
                         pp_mac_t mac)
{
    apr_off_t max_bytes = dc->quota_bytes == PP_UNSET
                          ? PP_DEFAULT_QUOTA_BYTES : dc->quota_bytes;
    long max_files = dc->quota_files == PP_UNSET
                     ? PP_DEFAULT_QUOTA_FILES : dc->quota_files;
    const char *target = NULL, *dir, *cl;
    apr_off_t incoming = 0, replaced = 0;
    long new_files = 0;
    apr_finfo_t fi;
    usage_t u;
    apr_status_t rv;

    switch (r->method_number) {
    case M_PUT:
    case M_MKCOL:
    case M_LOCK:
        target = target_file(r);
        if (r->method_number == M_PUT) {
            cl = apr_table_get(r->headers_in, "Content-Length");
            if (cl && !apr_table_get(r->headers_in, "Transfer-Encoding")) {
                char *end;
                if (apr_strtoff(&incoming, cl, &end, 10) != APR_SUCCESS
                    || *end || incoming < 0) {
                    incoming = 0;        /* httpd answers 400 itself */
                }
            }
            else {
                /* chunked: as much as LimitRequestBody lets through */
                incoming = ap_get_limit_req_body(r);
            }
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
            usage_t src = { 0, 0, QUOTA_MAX_ENTRIES };
            if (usage(r->pool, r->filename, mac, 1, 1, &src)
                != APR_SUCCESS) {
                log_refusal(r, mac, "the collection to copy cannot be "
                            "measured (unreadable, or too large or deep)");
                return HTTP_INSUFFICIENT_STORAGE;
            }
            incoming = src.bytes;
            new_files = src.files;
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
    dir = holding_dir(r->pool, target, mac);
    u.bytes = 0;
    u.files = 0;
    u.budget = QUOTA_MAX_ENTRIES;
    rv = usage(r->pool, dir, mac, 0, 0, &u);
    if (rv != APR_SUCCESS) {
        log_refusal(r, mac, apr_psprintf(r->pool, "what the device holds in "
                    "%s cannot be measured (unreadable, or more than %d "
                    "entries or %d levels)", dir, QUOTA_MAX_ENTRIES,
                    QUOTA_MAX_DEPTH));
        return HTTP_INSUFFICIENT_STORAGE;
    }
    if (u.files + new_files > max_files
        || u.bytes - replaced + incoming > max_bytes) {
        log_refusal(r, mac, apr_psprintf(r->pool, "the device holds %ld "
                    "entries, %" APR_OFF_T_FMT " bytes in %s; this write "
                    "would make %ld, %" APR_OFF_T_FMT " (PolyProvDeviceQuota "
                    "%" APR_OFF_T_FMT " %ld%s%s)", u.files, u.bytes, dir,
                    u.files + new_files, u.bytes - replaced + incoming,
                    max_bytes, max_files, dc->quota_where ? " at " : ", the "
                    "default", dc->quota_where ? dc->quota_where : ""));
        return HTTP_INSUFFICIENT_STORAGE;
    }
    return OK;
}
