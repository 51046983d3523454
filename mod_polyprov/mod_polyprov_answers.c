/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: answers that belong to one phone stay with
 * that phone (docs/deployment.md "Caches and pages that show other clients'
 * requests").
 *
 *  - which hosts have a PolyProv scope (mod_polyprov.c's quick handler
 *    acts there only);
 *  - pages that show other clients' requests (mod_status, mod_info, the
 *    balancer manager, ...) never answer in a PolyProv scope (PP100);
 *  - start-up and configtest warn where a CacheEnable URL space, a
 *    CacheFile or an MMapFile reaches a PolyProv scope (PP101), and where
 *    a PolyProv SharedOnly scope shares more than a PolyProv On scope over
 *    the same directory (PP102).
 */
#include "mod_polyprov.h"

#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"

/* ------------------------------------------------------------------ */
/* Hosts with a PolyProv scope                                          */

static apr_hash_t *scoped_hosts;        /* server_rec * -> itself */

/* PolyProv On or SharedOnly set in some section of s (a <Files> or <If>
 * nested in one included). */
static int host_has_scope(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *confs = polyprov_sections(p, s);
    int i;

    for (i = 0; i < confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = APR_ARRAY_IDX(
            confs, i, const polyprov_dir_conf_t *);
        if (dc->enabled == PP_ON || dc->enabled == PP_SHARED_ONLY) {
            return 1;
        }
    }
    return 0;
}

static void find_scoped_hosts(apr_pool_t *pconf, apr_pool_t *ptemp,
                              server_rec *s)
{
    scoped_hosts = apr_hash_make(pconf);
    for (; s; s = s->next) {
        if (host_has_scope(ptemp, s)) {
            server_rec **key = apr_palloc(pconf, sizeof(*key));
            *key = s;              /* (apr_hash keeps the key's address) */
            apr_hash_set(scoped_hosts, key, sizeof(*key), s);
        }
    }
}

int polyprov_host_has_scope(server_rec *s)
{
    return scoped_hosts && apr_hash_get(scoped_hosts, &s, sizeof(s));
}

/* ------------------------------------------------------------------ */
/* Pages that show other clients' requests                              */

/* By handler name: the scoreboard (every client's address and request
 * line: MACs in the URLs), the whole configuration, the balancer's
 * members and their traffic, and the like.  polyprov-metrics has its
 * own refusal (PP060). */
static const char *const monitoring_handlers[] = {
    "server-status",        /* mod_status */
    "server-info",          /* mod_info */
    "balancer-manager",     /* mod_proxy_balancer */
    "ldap-status",          /* mod_ldap */
    "http2-status",         /* mod_http2 */
    "md-status",            /* mod_md */
    NULL
};

int polyprov_monitoring_refused(request_rec *r,
                                const polyprov_dir_conf_t *dc, int report)
{
    int i;

    if (!r->handler) {
        return 0;
    }
    for (i = 0; monitoring_handlers[i]; i++) {
        if (!ap_cstr_casecmp(r->handler, monitoring_handlers[i])) {
            break;
        }
    }
    if (!monitoring_handlers[i]) {
        return 0;
    }
    if (report) {
        /* PolyProv Report: what PolyProv On would refuse, not refused */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "PP100: %s page "
                      "would be refused uri=\"%s\" client=%s: a page that "
                      "shows other clients' requests never answers in a "
                      "PolyProv On scope; PolyProv Report at %s lets it "
                      "answer; serve it on a host or port of its own",
                      monitoring_handlers[i],
                      ap_escape_logitem(r->pool, r->uri), r->useragent_ip,
                      dc && dc->enabled_where ? dc->enabled_where : "?");
        return 0;
    }
    polyprov_metrics_count(POLYPROV_M_MONITORING_REFUSED);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PP100: %s page refused "
                  "uri=\"%s\" client=%s: a page that shows other clients' "
                  "requests never answers in a PolyProv On or SharedOnly "
                  "scope (PolyProv at %s), whatever its own Require says; "
                  "serve it on a host or port of its own",
                  monitoring_handlers[i], ap_escape_logitem(r->pool, r->uri),
                  r->useragent_ip,
                  dc && dc->enabled_where ? dc->enabled_where : "?");
    return 1;
}

/* ------------------------------------------------------------------ */
/* What reaches a PolyProv scope: the parsed configuration tree        */

typedef struct {
    apr_array_header_t *caches;     /* CacheEnable, CacheFile, MMapFile */
    apr_array_header_t *scopes;     /* PolyProv On and SharedOnly */
    apr_array_header_t *shared;     /* PolyProvSharedFiles */
} answers_scan_t;

static const char *word(apr_pool_t *p, const ap_directive_t *d, int n)
{
    const char *args = d && d->args ? d->args : "", *w = "";

    while (n-- >= 0) {
        w = ap_getword_conf(p, &args);
    }
    return w;
}

static void scan(apr_pool_t *p, const ap_directive_t *d, answers_scan_t *a)
{
    for (; d; d = d->next) {
        const char *name = d->directive;
        if (!strcasecmp(name, "CacheEnable") || !strcasecmp(name, "CacheFile")
            || !strcasecmp(name, "MMapFile")) {
            APR_ARRAY_PUSH(a->caches, const ap_directive_t *) = d;
        }
        else if (!strcasecmp(name, "PolyProv")) {
            const char *w = word(p, d, 0);
            if (!strcasecmp(w, "on") || !strcasecmp(w, "sharedonly")) {
                APR_ARRAY_PUSH(a->scopes, const ap_directive_t *) = d;
            }
        }
        else if (!strcasecmp(name, "PolyProvSharedFiles")) {
            APR_ARRAY_PUSH(a->shared, const ap_directive_t *) = d;
        }
        if (d->first_child) {
            scan(p, d->first_child, a);
        }
    }
}

static const ap_directive_t *host_of(const ap_directive_t *d)
{
    for (d = d->parent; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            return d;
        }
    }
    return NULL;
}

/* The innermost section around d other than <VirtualHost> and
 * <IfModule>/<IfDefine>/<IfVersion> (which only select), or NULL. */
static const ap_directive_t *section_of(const ap_directive_t *d)
{
    for (d = d->parent; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            return NULL;
        }
        if (strncasecmp(d->directive, "<If", 3)
            || !strcasecmp(d->directive, "<If")) {
            return d;
        }
    }
    return NULL;
}

/* The path a section names ("<Location /x>": "/x"), without quotes or
 * the closing '>'. */
static const char *section_path(apr_pool_t *p, const ap_directive_t *sec)
{
    char *w = apr_pstrdup(p, word(p, sec, 0));
    size_t n = strlen(w);

    if (n && w[n - 1] == '>') {
        w[n - 1] = '\0';
    }
    return w;
}

static int path_prefix(const char *outer, const char *inner)
{
    size_t n = strlen(outer);

    while (n > 0 && outer[n - 1] == '/') {
        n--;
    }
    return !strncmp(outer, inner, n) && (inner[n] == '/' || inner[n] == '\0');
}

static const char *at(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

/* Can what cache directive c covers be a request of scope s?  When the
 * configuration cannot tell (a URL space against a <Directory>), yes. */
static int cache_reaches(apr_pool_t *p, const ap_directive_t *c,
                         const ap_directive_t *s)
{
    const ap_directive_t *ch = host_of(c), *sh = host_of(s);
    const ap_directive_t *ssec = section_of(s), *csec = section_of(c);
    const char *sdir = ssec ? ssec->directive : "";
    const char *spath = ssec ? section_path(p, ssec) : NULL;

    if (ch && sh && ch != sh) {
        return 0;
    }
    if (!strcasecmp(c->directive, "CacheEnable")) {
        const char *url = word(p, c, 1);
        if (!*url) {
            url = csec && !strcasecmp(csec->directive, "<Location")
                  ? section_path(p, csec) : "/";
        }
        if (url[0] != '/') {
            return 0;              /* a forward proxy's URL space */
        }
        if (!strcasecmp(sdir, "<Location") && spath) {
            return path_prefix(url, spath) || path_prefix(spath, url);
        }
        return 1;
    }
    /* CacheFile, MMapFile: files */
    if (!strcasecmp(sdir, "<Directory") && spath && *spath != '~') {
        const char *args = c->args, *w;
        while (*(w = ap_getword_conf(p, &args))) {
            if (path_prefix(spath, w)) {
                return 1;
            }
        }
        return 0;
    }
    return 1;
}

static void warn_caches(apr_pool_t *p, server_rec *s, answers_scan_t *a)
{
    int i, j;

    for (i = 0; i < a->caches->nelts; i++) {
        const ap_directive_t *c = APR_ARRAY_IDX(a->caches, i,
                                                const ap_directive_t *);
        int enable = !strcasecmp(c->directive, "CacheEnable");
        /* (the tree keeps the spelling of the configuration file) */
        const char *name = enable ? "CacheEnable"
                           : !strcasecmp(c->directive, "CacheFile")
                             ? "CacheFile" : "MMapFile";
        for (j = 0; j < a->scopes->nelts; j++) {
            const ap_directive_t *sd = APR_ARRAY_IDX(a->scopes, j,
                                                     const ap_directive_t *);
            if (!cache_reaches(p, c, sd)) {
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                         "PP101: %s %s at %s reaches PolyProv %s at %s: %s",
                         name, c->args, at(p, c), word(p, sd, 0),
                         at(p, sd), enable
                ? "there mod_cache stores and serves only shared files that "
                  "the default handler sends as they are, after the "
                  "module's decision (its quick handler included); every "
                  "other answer (a device's file, a page or script made for "
                  "the requester) is kept from it (no_cache) and goes out "
                  "with Cache-Control: private"
                : "the module still decides every request, but the file is "
                  "served as it was at start-up: keep device files out of "
                  "CacheFile and MMapFile");
        }
    }
}

/* ------------------------------------------------------------------ */
/* A SharedOnly scope shares no more than the PolyProv On scope over     */
/* the same directory                                                    */

/* The PolyProvSharedFiles that applies to directory path dir of host
 * h (nearest enclosing <Directory> of h, then of the server), or NULL. */
static const ap_directive_t *shared_for(apr_pool_t *p, answers_scan_t *a,
                                        const ap_directive_t *h,
                                        const char *dir)
{
    const ap_directive_t *best = NULL;
    size_t best_len = 0;
    int best_host = 0, i;

    for (i = 0; i < a->shared->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(a->shared, i,
                                                const ap_directive_t *);
        const ap_directive_t *dh = host_of(d), *sec = section_of(d);
        const char *path = "";
        size_t len;
        int in_host;

        if (dh && dh != h) {
            continue;
        }
        if (sec) {
            if (strcasecmp(sec->directive, "<Directory")) {
                continue;
            }
            path = section_path(p, sec);
            if (!path_prefix(path, dir)) {
                continue;
            }
        }
        len = strlen(path);
        in_host = dh != NULL;
        /* a <Directory> beats host level; the deeper, then the host's */
        if (!best || len > best_len || (len == best_len && in_host
                                        >= best_host)) {
            best = d;
            best_len = len;
            best_host = in_host;
        }
    }
    return best;
}

/* Is every pattern of inner's set also in outer's (NULL outer: the
 * PolyProv On default, "*")? */
static int set_within(apr_pool_t *p, const ap_directive_t *outer,
                      const ap_directive_t *inner)
{
    const char *args, *w;

    if (!outer) {
        return 1;                  /* the default "*" holds everything */
    }
    args = inner->args;
    while (*(w = ap_getword_conf(p, &args))) {
        const char *oargs = outer->args, *o;
        int found = 0;
        while (!found && *(o = ap_getword_conf(p, &oargs))) {
            found = !strcmp(o, w) || !strcmp(o, "*");
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

static void warn_shared_only(apr_pool_t *p, server_rec *s, answers_scan_t *a)
{
    int i, j;

    for (i = 0; i < a->scopes->nelts; i++) {
        const ap_directive_t *so = APR_ARRAY_IDX(a->scopes, i,
                                                 const ap_directive_t *);
        const ap_directive_t *sosec = section_of(so);
        const char *dir;
        const ap_directive_t *soset;

        if (strcasecmp(word(p, so, 0), "sharedonly") || !sosec
            || strcasecmp(sosec->directive, "<Directory")) {
            continue;
        }
        dir = section_path(p, sosec);
        soset = shared_for(p, a, host_of(so), dir);
        for (j = 0; j < a->scopes->nelts; j++) {
            const ap_directive_t *on = APR_ARRAY_IDX(a->scopes, j,
                                                     const ap_directive_t *);
            const ap_directive_t *onsec = section_of(on);
            const ap_directive_t *onset;
            if (strcasecmp(word(p, on, 0), "on") || !onsec
                || strcasecmp(onsec->directive, "<Directory")
                || strcmp(section_path(p, onsec), dir)) {
                continue;
            }
            onset = shared_for(p, a, host_of(on), dir);
            /* (no set: the SharedOnly default, "none") */
            if (!soset || soset == onset || set_within(p, onset, soset)) {
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                         "PP102: PolyProv SharedOnly at %s shares more of "
                         "%s than PolyProv On at %s: PolyProvSharedFiles %s "
                         "(%s) against %s (%s); the plain-HTTP host serves "
                         "files the mutual-TLS host refuses (set one "
                         "PolyProvSharedFiles where both inherit it)",
                         at(p, so), dir, at(p, on),
                         soset->args, at(p, soset), onset ? onset->args : "*",
                         onset ? at(p, onset) : "the default");
        }
    }
}

void polyprov_answers_check(apr_pool_t *pconf, apr_pool_t *ptemp,
                            server_rec *s)
{
    answers_scan_t a;

    find_scoped_hosts(pconf, ptemp, s);
    a.caches = apr_array_make(ptemp, 4, sizeof(const ap_directive_t *));
    a.scopes = apr_array_make(ptemp, 4, sizeof(const ap_directive_t *));
    a.shared = apr_array_make(ptemp, 4, sizeof(const ap_directive_t *));
    scan(ptemp, ap_conftree, &a);
    if (a.scopes->nelts == 0) {
        return;
    }
    warn_caches(ptemp, s, &a);
    warn_shared_only(ptemp, s, &a);
}
