/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: the checks of the whole configuration, apart
 * from the directives that set it (mod_polyprov_config.c).  At check_config
 * (configtest too): PolyProv On where no PolyProvTrustedCA applies, CRLs
 * and pins against the CAs, the mod_ssl settings a scope depends on, the
 * lists as httpd's children will read them, the risky scopes (PP016).  At
 * post_config: what needs the server as it will run.  Every walk over a
 * host's sections goes through mod_polyprov_sections.c.
 */
#include "mod_polyprov.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include "unixd.h"

#include <unistd.h>

#define ERRLEN 1024

/* ------------------------------------------------------------------ */
/* PolyProv On where no PolyProvTrustedCA can ever apply is an error that
 * configtest reports: look at each server's defaults and sections (confs:
 * the module's settings in each, polyprov_sections). */

#define CONF(confs, i) APR_ARRAY_IDX(confs, i, const polyprov_dir_conf_t *)

/* The PolyProvTrustedCA that applies to a scope: its own, else the host's
 * default; NULL when it can only come from an enclosing section (then it
 * may be any of the host's). */
static const polyprov_dir_conf_t *scope_ca(const polyprov_dir_conf_t *dc,
                                           const polyprov_dir_conf_t *def)
{
    return dc->ca ? dc : (def && def->ca) ? def : NULL;
}

/* With CRLs configured, OpenSSL checks every certificate of the chain
 * against a CRL of its issuer and refuses when there is none: a CA of the
 * bundle without a CRL refuses every device under it.  Name each one. */
static int crl_gaps(apr_pool_t *p, apr_hash_t *seen, const polyprov_dir_conf_t *ca,
                    const polyprov_dir_conf_t *crl)
{
    const char *key = apr_psprintf(p, "%pp/%pp", (const void *)ca->ca,
                                   (const void *)crl->crl);
    char subject[256];
    int i, rc, gaps = 0;

    if (apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
    for (i = 0; (rc = pp_crl_covers(ca->ca, i, crl->crl, subject,
                                    sizeof(subject))) >= 0; i++) {
        if (rc == 1) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PP020: PolyProvCRL at %s (%s) has no CRL of %s, "
                     "certificate #%d of PolyProvTrustedCA at %s (%s): with "
                     "CRLs configured every certificate of a chain needs its "
                     "issuer's CRL, so every device whose chain passes "
                     "through this CA would be refused (untrusted). Add its "
                     "CRL (Polycom publishes one per CA under "
                     "http://crl.polycom.com/crl/), or remove PolyProvCRL",
                     crl->crl_where ? crl->crl_where : "?",
                     pp_crl_path(crl->crl), subject, i + 1,
                     ca->ca_where ? ca->ca_where : "?", pp_ca_path(ca->ca));
        gaps++;
    }
    return gaps;
}

static int check_crls(apr_pool_t *p, apr_hash_t *seen, server_rec *s,
                      const apr_array_header_t *confs)
{
    const polyprov_dir_conf_t *def = ap_get_module_config(s->lookup_defaults,
                                                    &polyprov_module);
    int i, j, gaps = 0;

    for (i = 0; i < confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = CONF(confs, i);
        const polyprov_dir_conf_t *crl, *ca;

        crl = dc->crl ? dc : (def && def->crl) ? def : NULL;
        if (!crl) {
            continue;
        }
        if ((ca = scope_ca(dc, def)) != NULL) {
            gaps += crl_gaps(p, seen, ca, crl);
            continue;
        }
        /* the CA comes from an enclosing section: any of this host's */
        for (j = 0; j < confs->nelts; j++) {
            if (CONF(confs, j)->ca) {
                gaps += crl_gaps(p, seen, CONF(confs, j), crl);
            }
        }
    }
    return gaps;
}

/* A pin that matches no certificate of the PolyProvTrustedCA that
 * applies to its scope refuses every phone there (issuer): name it.  The
 * CA is the scope's own, else the host's default, else (a CA from an
 * enclosing section) any of the host's. */
static int pin_matches(const unsigned char *fp, const polyprov_dir_conf_t *dc,
                       const polyprov_dir_conf_t *def,
                       const apr_array_header_t *confs,
                       const char **ca_where, const char **ca_path)
{
    const polyprov_dir_conf_t *c = scope_ca(dc, def);
    int j;

    if (c) {
        *ca_where = c->ca_where;
        *ca_path = pp_ca_path(c->ca);
        return pp_ca_holds(c->ca, fp);
    }
    *ca_where = NULL;
    *ca_path = NULL;
    for (j = 0; j < confs->nelts; j++) {
        const polyprov_dir_conf_t *o = CONF(confs, j);
        if (o->ca) {
            *ca_where = *ca_where ? "(each of this host's)" : o->ca_where;
            *ca_path = *ca_path ? "" : pp_ca_path(o->ca);
            if (pp_ca_holds(o->ca, fp)) {
                return 1;
            }
        }
    }
    return *ca_where ? 0 : -1;         /* -1: no CA at all (PP005) */
}

static int check_pins(apr_pool_t *p, apr_hash_t *seen, server_rec *s,
                      const apr_array_header_t *confs)
{
    const polyprov_dir_conf_t *def = ap_get_module_config(s->lookup_defaults,
                                                    &polyprov_module);
    int i, k, bad = 0;

    for (i = 0; i < confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = CONF(confs, i);

        if (!dc->pins) {
            continue;
        }
        for (k = 0; k < dc->pins->nelts; k++) {
            const unsigned char *fp = (const unsigned char *)dc->pins->elts
                                      + 32 * k;
            const char *pw = APR_ARRAY_IDX(dc->pins_where, k, const char *);
            const char *ca_where, *ca_path, *key;
            char hex[96];

            if (pin_matches(fp, dc, def, confs, &ca_where, &ca_path) != 0) {
                continue;
            }
            key = apr_psprintf(p, "%s/%d", pw, k);
            if (apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
                continue;
            }
            apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
            pp_fingerprint_format(fp, hex);
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "PP123: PolyProvIssuerFingerprint at %s: sha256:%s "
                         "matches no certificate of PolyProvTrustedCA at %s%s"
                         "%s%s: every phone in its scope would be refused "
                         "(issuer). Pin the CA that issues the phones' "
                         "certificates (`polyprov-check --show-ca FILE "
                         "--issuer-fingerprint sha256:HEX` says which "
                         "certificate a pin matches), or remove the pin",
                         pw, hex, ca_where ? ca_where : "?",
                         ca_path && *ca_path ? " (" : "",
                         ca_path && *ca_path ? ca_path : "",
                         ca_path && *ca_path ? ")" : "");
            bad++;
        }
    }
    return bad;
}

/* ------------------------------------------------------------------ */
/* mod_ssl settings a PolyProv scope depends on.  mod_ssl's structures
 * are private, so read them from the parsed configuration tree: for the
 * server and each <VirtualHost>, the SSLEngine, SSLVerifyClient and
 * SSLVerifyDepth directly in it (server-level ones apply to every host
 * that does not set its own), and PolyProv On and PolyProvTrustedCA
 * anywhere inside it (its <Directory>, <Location>, ... included). */

typedef struct {
    const ap_directive_t *engine, *verify, *depth;   /* at host level */
    const ap_directive_t *on;                         /* first PolyProv On */
    apr_array_header_t *cas;                          /* PolyProvTrustedCA */
    const ap_directive_t *expired;   /* first PolyProvAllowExpired On */
    int expired_inside;              /* ... in the host itself, not only at
                                      * server level */
    const ap_directive_t *expired_top;   /* the server-level one, if any */
    const char *scope;               /* "the virtual host ... at file:line" */
} host_ssl_t;

static const char *first_word(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d ? d->args : NULL;

    return args ? ap_getword_conf(p, &args) : "";
}

static void scan_host(apr_pool_t *p, const ap_directive_t *d, int top,
                      host_ssl_t *h, apr_array_header_t *vhosts)
{
    for (; d; d = d->next) {
        const char *name = d->directive;

        if (!strcasecmp(name, "<VirtualHost")) {
            if (vhosts) {
                APR_ARRAY_PUSH(vhosts, const ap_directive_t *) = d;
            }
            continue;
        }
        if (top && !strcasecmp(name, "SSLEngine")) {
            h->engine = d;
        }
        else if (top && !strcasecmp(name, "SSLVerifyClient")) {
            h->verify = d;
        }
        else if (top && !strcasecmp(name, "SSLVerifyDepth")) {
            h->depth = d;
        }
        else if (!strcasecmp(name, "PolyProv")) {
            if (!h->on && !strcasecmp(first_word(p, d), "on")) {
                h->on = d;
            }
        }
        else if (!strcasecmp(name, "PolyProvTrustedCA")) {
            APR_ARRAY_PUSH(h->cas, const ap_directive_t *) = d;
        }
        else if (!strcasecmp(name, "PolyProvAllowExpired")) {
            if (!h->expired && !strcasecmp(first_word(p, d), "on")) {
                h->expired = d;
            }
        }
        if (d->first_child) {
            scan_host(p, d->first_child, 0, h, NULL);
        }
    }
}

/* The SSLVerifyDepth the chains of these PolyProvTrustedCA need, and the
 * directive that needs the most. */
static int needed_depth(apr_pool_t *p, apr_array_header_t *cas,
                        const ap_directive_t **which, const pp_ca_t **ca_out)
{
    int i, need = 0;

    for (i = 0; i < cas->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(cas, i,
                                                const ap_directive_t *);
        const char *args = d->args, *key = "", *w, *path;
        const pp_ca_t *ca;
        int n = 0;

        while (*(w = ap_getword_conf(p, &args))) {
            path = ap_server_root_relative(p, w);
            key = apr_pstrcat(p, key, n++ ? "\n" : "", path ? path : w,
                              NULL);
        }
        ca = apr_hash_get(polyprov_glue->cas, key, APR_HASH_KEY_STRING);
        if (ca && pp_ca_verify_depth(ca) > need) {
            need = pp_ca_verify_depth(ca);
            *which = d;
            *ca_out = ca;
        }
    }
    return need;
}

static const char *at(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

static void check_host(apr_pool_t *p, server_rec *s, const char *scope,
                       const host_ssl_t *h)
{
    const char *on = at(p, h->on), *engine = first_word(p, h->engine);
    const char *verify = first_word(p, h->verify);
    const ap_directive_t *ca_d = NULL;
    const pp_ca_t *ca = NULL;
    int depth = h->depth ? atoi(first_word(p, h->depth)) : 1;
    int need;

    if (!h->engine || !strcasecmp(engine, "off")
        || !strcasecmp(engine, "optional")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP023: PolyProv On at "
                     "%s applies to %s, which has no 'SSLEngine on'%s%s%s: "
                     "every request there is refused (no-tls)", on, scope,
                     h->engine ? " (" : "", h->engine ? at(p, h->engine) : "",
                     h->engine ? ")" : "");
        return;
    }
    if (!h->verify || (strcasecmp(verify, "require")
                       && strcasecmp(verify, "optional")
                       && strcasecmp(verify, "optional_no_ca"))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP024: PolyProv On at "
                     "%s applies to %s, which has no SSLVerifyClient require, "
                     "optional or optional_no_ca at virtual-host level%s%s%s:"
                     " phones are not asked for their certificate (they do "
                     "not renegotiate for a <Directory> or <Location>), so "
                     "every request there is refused (no-cert)", on, scope,
                     h->verify ? " (" : "", h->verify ? at(p, h->verify) : "",
                     h->verify ? ")" : "");
        return;
    }
    need = needed_depth(p, h->cas, &ca_d, &ca);
    if (need > depth) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP025: PolyProv On at "
                     "%s applies to %s, whose SSLVerifyDepth is %d (%s), but "
                     "a device under PolyProvTrustedCA at %s (%s) presents a "
                     "chain that needs %d: mod_ssl refuses such phones in the"
                     " handshake, with no 403 and no line from this module; "
                     "set SSLVerifyDepth %d or more", on, scope, depth,
                     h->depth ? at(p, h->depth) : "mod_ssl's default",
                     at(p, ca_d), pp_ca_path(ca), need, need);
    }
}

/* Each host as the configuration tree shows it: every <VirtualHost> with
 * the server-level settings it inherits, or the main server when there is
 * none. */
static apr_array_header_t *scan_hosts(apr_pool_t *p)
{
    apr_array_header_t *hosts = apr_array_make(p, 8, sizeof(host_ssl_t));
    apr_array_header_t *vhosts = apr_array_make(p, 8,
                                                sizeof(ap_directive_t *));
    host_ssl_t top;
    int i;

    if (!ap_conftree) {
        return hosts;
    }
    memset(&top, 0, sizeof(top));
    top.cas = apr_array_make(p, 4, sizeof(ap_directive_t *));
    scan_host(p, ap_conftree, 1, &top, vhosts);
    if (vhosts->nelts == 0) {
        top.scope = "the main server";
        top.expired_inside = top.expired != NULL;
        APR_ARRAY_PUSH(hosts, host_ssl_t) = top;
        return hosts;
    }
    for (i = 0; i < vhosts->nelts; i++) {
        const ap_directive_t *v = APR_ARRAY_IDX(vhosts, i,
                                                const ap_directive_t *);
        const char *addr = apr_pstrdup(p, v->args ? v->args : "");
        char *gt = strrchr(addr, '>');
        host_ssl_t h;

        memset(&h, 0, sizeof(h));
        h.cas = apr_array_make(p, 4, sizeof(ap_directive_t *));
        scan_host(p, v->first_child, 1, &h, NULL);
        h.engine = h.engine ? h.engine : top.engine;
        h.verify = h.verify ? h.verify : top.verify;
        h.depth = h.depth ? h.depth : top.depth;
        h.on = h.on ? h.on : top.on;
        h.expired_inside = h.expired != NULL;
        h.expired = h.expired ? h.expired : top.expired;
        h.expired_top = top.expired;
        apr_array_cat(h.cas, top.cas);
        if (gt) {
            *gt = '\0';
        }
        h.scope = apr_psprintf(p, "the virtual host %s at %s", addr,
                               at(p, v));
        APR_ARRAY_PUSH(hosts, host_ssl_t) = h;
    }
    return hosts;
}

static void check_ssl_settings(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *hosts;
    int i;

    if (!polyprov_glue) {
        return;
    }
    hosts = scan_hosts(p);
    for (i = 0; i < hosts->nelts; i++) {
        const host_ssl_t *h = &APR_ARRAY_IDX(hosts, i, host_ssl_t);
        if (h->on) {
            check_host(p, s, h->scope, h);
        }
        /* PolyProvAllowExpired On in a host that no PolyProv On reaches
         * (a server-level one reaches plain-HTTP hosts too: not named) */
        if (h->expired && h->expired_inside && !h->on) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP045: "
                         "PolyProvAllowExpired On at %s has no effect: no "
                         "PolyProv On applies in %s", at(p, h->expired),
                         h->scope);
        }
    }
}

/* PolyProvAllowExpired On needs what lets an expired phone through the
 * handshake and what judges it after: mod_ssl with SSLEngine on in the
 * host, and a PolyProvTrustedCA (the handshake lets through only chains
 * that end at one of its CAs).  configtest and start-up stop
 *  - for a host that has the directive in itself (or is the main server
 *    with no virtual hosts) without mod_ssl or SSLEngine on (PP044);
 *  - for a server-level directive that no host with SSLEngine on and
 *    PolyProv On gets (a server-level one is not held against a
 *    plain-HTTP bootROM host: nothing there can use it) (PP044);
 *  - for a host where it applies (in the host, or from the server level
 *    along with a PolyProv On) and no PolyProvTrustedCA is configured
 *    (PP043).
 * Returns the number of errors. */
static int check_expired_hosts(apr_pool_t *p)
{
    apr_array_header_t *hosts = scan_hosts(p);
    int have_ssl = ap_find_linked_module("mod_ssl.c") != NULL;
    const ap_directive_t *top = NULL;
    int i, bad = 0, top_used = 0;

    for (i = 0; i < hosts->nelts; i++) {
        const host_ssl_t *h = &APR_ARRAY_IDX(hosts, i, host_ssl_t);
        int tls = have_ssl && h->engine
                  && !strcasecmp(first_word(p, h->engine), "on");

        top = h->expired_top ? h->expired_top : top;
        if (!h->expired || !(h->expired_inside || h->on)) {
            continue;
        }
        if (tls && h->on) {
            top_used = 1;
        }
        if (h->expired_inside && !tls) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "PP044: PolyProvAllowExpired On at %s applies to %s, "
                         "%s: an expired phone certificate can only pass "
                         "mod_ssl's handshake where this module installs "
                         "itself into it; use it in a host with "
                         "'SSLEngine on', or remove it", at(p, h->expired),
                         h->scope, !have_ssl ? "but mod_ssl is not loaded"
                         : apr_psprintf(p, "which has no 'SSLEngine on'%s%s%s",
                                        h->engine ? " (" : "",
                                        h->engine ? at(p, h->engine) : "",
                                        h->engine ? ")" : ""));
            bad++;
        }
        if (h->cas->nelts == 0) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "PP043: PolyProvAllowExpired On at %s applies to %s, "
                         "where no PolyProvTrustedCA is configured: an "
                         "expired certificate is let through the handshake "
                         "only when its chain ends at a CA of "
                         "PolyProvTrustedCA", at(p, h->expired), h->scope);
            bad++;
        }
    }
    if (top && !top_used) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PP044: PolyProvAllowExpired On at %s (server level) "
                     "applies to no host with %s and PolyProv On: an expired "
                     "phone certificate can only pass mod_ssl's handshake "
                     "where this module installs itself into it; remove it",
                     at(p, top), have_ssl ? "'SSLEngine on'"
                                          : "mod_ssl (it is not loaded)");
        bad++;
    }
    return bad;
}

static const char *list_directive(const char *path)
{
    const char *w = apr_hash_get(polyprov_glue->list_where, path,
                                 APR_HASH_KEY_STRING);

    return w ? w : "a list directive";
}

/* ------------------------------------------------------------------ */
/* Lists as httpd's children will see them.  A mistake in the
 * configuration (a path with no file behind it, a file, directory or
 * SQLite database the children cannot read) fails configtest; a real
 * start or restart never fails because of a list: the scopes that use
 * it refuse list-unavailable, or keep its last good version. */

typedef struct {
    const char *path;            /* the file to look at */
    const char *what;            /* "PolyProvAllowList at file:line" */
    int idx;                     /* the list's index in the set */
    int db;                      /* an SQLite database file */
} list_file_t;

static apr_array_header_t *list_files(apr_pool_t *p)
{
    apr_array_header_t *files = apr_array_make(p, 8, sizeof(list_file_t));
    int i, n = pp_listset_count(polyprov_glue ? polyprov_glue->lists : NULL);

    for (i = 0; i < n; i++) {
        const char *name = pp_listset_path(polyprov_glue->lists, i);
        list_file_t *f;
        const char *db = NULL;

        if (pp_listset_is_source(polyprov_glue->lists, i)
            && !(db = apr_hash_get(polyprov_glue->list_db, name,
                                   APR_HASH_KEY_STRING))) {
            continue;            /* a database that is no file */
        }
        f = apr_array_push(files);
        f->path = db ? db : name;
        f->what = list_directive(name);
        f->idx = i;
        f->db = db != NULL;
    }
    return files;
}

/* For each of paths, whether the children's User can read it; NULL when
 * httpd does not change users (not root, or User root: the children read
 * what the parent can) or the check cannot be made (logged). */
static pp_access_t *children_access(apr_pool_t *p, server_rec *s,
                                    apr_array_header_t *paths)
{
    const char *user = ap_unixd_config.user_name;
    pp_access_t *res;
    char err[256];

    if (geteuid() != 0 || ap_unixd_config.user_id == 0 || !paths->nelts) {
        return NULL;
    }
    res = apr_pcalloc(p, sizeof(*res) * (size_t)paths->nelts);
    if (pp_check_readable_as(user, (long)ap_unixd_config.user_id,
                             (long)ap_unixd_config.group_id,
                             (const char *const *)paths->elts, paths->nelts,
                             res, err, sizeof(err)) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP028: cannot check "
                     "whether the user %s can read the files of this "
                     "module: %s", user, err);
        return NULL;
    }
    return res;
}

static const char *access_why(apr_pool_t *p, const pp_access_t *a)
{
    return a->is_dir
        ? apr_psprintf(p, "it cannot search the directory %s (%s)", a->where,
                       strerror(a->err))
        : apr_psprintf(p, "it cannot open the file (%s)", strerror(a->err));
}

static pp_access_t *list_access(apr_pool_t *p, server_rec *s,
                                apr_array_header_t *files)
{
    apr_array_header_t *paths = apr_array_make(p, files->nelts + 1,
                                               sizeof(const char *));
    int i;

    for (i = 0; i < files->nelts; i++) {
        APR_ARRAY_PUSH(paths, const char *) =
            APR_ARRAY_IDX(files, i, list_file_t).path;
    }
    return children_access(p, s, paths);
}

/* The bad lines of a list, each a warning of its own */

typedef struct {
    server_rec *s;
    const char *what;
} bad_line_ctx_t;

static void bad_line(void *baton, const char *msg)
{
    const bad_line_ctx_t *b = baton;

    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, b->s, "PP029: %s: %s; "
                 "not in force: a running server keeps its last "
                 "good version of the list across a graceful "
                 "restart, a server started now refuses requests "
                 "that need it (list-unavailable); either way the "
                 "file is tried again every PolyProvReloadInterval",
                 b->what, msg);
}

/* configtest: the errors (returned: how many) and the warnings of the
 * lists. */
static int list_problems(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *files = list_files(p);
    pp_access_t *res = list_access(p, s, files);
    const char *user = ap_unixd_config.user_name;
    int i, bad = 0;

    for (i = 0; i < files->nelts; i++) {
        const list_file_t *f = &APR_ARRAY_IDX(files, i, list_file_t);
        const char *why = pp_listset_problem(polyprov_glue->lists, f->idx);
        bad_line_ctx_t ctx;
        unsigned long nbad = 0;
        char err[1024];
        apr_finfo_t fi;
        apr_status_t rv = apr_stat(&fi, f->path, APR_FINFO_TYPE, p);

        if (!f->db && (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "PP120: %s: the list file %s does not exist: a new "
                         "list has no last good version, so every request in"
                         " the scopes that use it would be refused "
                         "(list-unavailable). Correct the path, or create "
                         "the file (a list with only a '#' comment line is "
                         "an empty list)", f->what, f->path);
            bad++;
            continue;
        }
        if (res && res[i].err && !APR_STATUS_IS_ENOENT(res[i].err)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "PP121: %s: the %s %s cannot be read by the user %s "
                         "that httpd's children run as: %s. They %s, so a "
                         "server started with it refuses every request in "
                         "the scopes that use it (list-unavailable). Make it "
                         "readable by %s (and its directories searchable)",
                         f->what, f->db ? "SQLite database" : "list file",
                         f->path, user, access_why(p, &res[i]),
                         f->db ? "query it every PolyProvReloadInterval"
                               : "re-read it when it changes", user);
            bad++;
            continue;
        }
        if (!why || f->db) {
            continue;
        }
        ctx.s = s;
        ctx.what = f->what;
        /* every bad line, when that is what is wrong; else what was
         * wrong when the configuration read it */
        pp_list_validate_all(f->path, NULL, PP_LIST_BAD_SHOWN, bad_line, &ctx,
                             &nbad, err, sizeof(err));
        if (nbad == 0) {
            bad_line(&ctx, why);
        }
        else if (nbad > PP_LIST_BAD_SHOWN) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP122: %s: %s has "
                         "%lu bad lines in all; the first %d are shown above",
                         f->what, f->path, nbad, PP_LIST_BAD_SHOWN);
        }
    }
    return bad;
}

int polyprov_config_check(apr_pool_t *pconf, server_rec *s)
{
    server_rec *s0 = s;
    apr_hash_t *crl_pairs = apr_hash_make(pconf);
    apr_hash_t *pins_seen = apr_hash_make(pconf);
    int bad = 0;

    for (; s; s = s->next) {
        apr_array_header_t *confs = polyprov_sections(pconf, s);
        int i, any_ca = 0;

        for (i = 0; i < confs->nelts; i++) {
            if (CONF(confs, i)->ca) {
                any_ca = 1;
            }
        }
        if (check_crls(pconf, crl_pairs, s, confs) > 0) {
            bad = 1;
        }
        if (check_pins(pconf, pins_seen, s, confs) > 0) {
            bad = 1;
        }
        if (any_ca) {
            continue;
        }
        for (i = 0; i < confs->nelts; i++) {
            const polyprov_dir_conf_t *dc = CONF(confs, i);
            if (dc->enabled == PP_ON || dc->enabled == PP_REPORT) {
                const char *scope = s->is_virtual
                    ? apr_psprintf(pconf, "the virtual host defined at %s:%d",
                                   s->defn_name ? s->defn_name : "?",
                                   s->defn_line_number)
                    : "the main server";
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                             "PP005: PolyProv %s at %s: no PolyProvTrustedCA "
                             "is configured anywhere in %s; the module would "
                             "have no trust anchor and refuse every request",
                             dc->enabled == PP_REPORT ? "Report" : "On",
                             dc->enabled_where ? dc->enabled_where : "?",
                             scope);
                bad = 1;
                break;
            }
        }
    }
    if (polyprov_glue && check_expired_hosts(pconf) > 0) {
        bad = 1;
    }
    /* warnings: here for configtest; a start logs them in post_config,
     * once the error log is open */
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        check_ssl_settings(pconf, s0);
        if (polyprov_glue && list_problems(pconf, s0) > 0) {
            bad = 1;
        }
    }
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* ------------------------------------------------------------------ */
/* At every start and restart (post_config, the error log open).       */

/* A CRL past its nextUpdate refuses every certificate it covers: say so
 * at error level each time the configuration is (re)loaded with it. */
static void expired_crls(apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_index_t *hi;
    time_t now = time(NULL);

    for (hi = apr_hash_first(ptemp, polyprov_glue->crls); hi;
         hi = apr_hash_next(hi)) {
        const void *key;
        void *val;
        char issuer[256], when[64];
        time_t nu;
        int i;

        apr_hash_this(hi, &key, NULL, &val);
        for (i = 0; pp_crl_info(val, i, issuer, sizeof(issuer), &nu); i++) {
            if (!nu || nu >= now) {
                continue;
            }
            pp_time_format(nu, when, sizeof(when));
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "PP021: PolyProvCRL "
                         "%s: the CRL of %s expired at %s (its nextUpdate): "
                         "every certificate it covers is refused (untrusted) "
                         "until a current CRL is installed and httpd "
                         "restarted gracefully", (const char *)key, issuer,
                         when);
        }
    }
}

/* The children (User/Group) re-read list files when they change, and
 * query databases: a list they cannot read is an error at configtest
 * (list_problems).  At a start, such a list is not put in force (the
 * scopes that use it refuse list-unavailable until the children can read
 * it); at a restart, the running server keeps the version root read and
 * says that no change will be picked up.  CA and CRL files are read by
 * the parent only, at start and restart: one the children cannot read is
 * only worth a warning. */
static void child_access(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *files = list_files(p);
    apr_array_header_t *paths = apr_array_make(p, 8, sizeof(char *));
    apr_array_header_t *what = apr_array_make(p, 8, sizeof(char *));
    apr_hash_index_t *hi;
    pp_access_t *res;
    const char *user = ap_unixd_config.user_name;
    int i, nlists = files->nelts, starting;
    void *started = NULL;

    /* a start, not a restart: the first configuration this process puts
     * in force (its generation number is not 0 by then) */
    apr_pool_userdata_get(&started, "polyprov-started", s->process->pool);
    starting = started == NULL;
    if (starting) {
        apr_pool_userdata_set(apr_pstrdup(s->process->pool, "1"),
                              "polyprov-started", apr_pool_cleanup_null,
                              s->process->pool);
    }

    for (i = 0; i < nlists; i++) {
        const list_file_t *f = &APR_ARRAY_IDX(files, i, list_file_t);
        APR_ARRAY_PUSH(paths, const char *) = f->path;
        APR_ARRAY_PUSH(what, const char *) = f->what;
    }
    for (hi = apr_hash_first(p, polyprov_glue->cas); hi; hi = apr_hash_next(hi)) {
        const void *key;
        char *cafiles, *f, *last;

        apr_hash_this(hi, &key, NULL, NULL);
        cafiles = apr_pstrdup(p, key);
        for (f = apr_strtok(cafiles, "\n", &last); f;
             f = apr_strtok(NULL, "\n", &last)) {
            APR_ARRAY_PUSH(paths, const char *) = f;
            APR_ARRAY_PUSH(what, const char *) = "PolyProvTrustedCA";
        }
    }
    for (hi = apr_hash_first(p, polyprov_glue->crls); hi; hi = apr_hash_next(hi)) {
        const void *key;

        apr_hash_this(hi, &key, NULL, NULL);
        APR_ARRAY_PUSH(paths, const char *) = key;
        APR_ARRAY_PUSH(what, const char *) = "PolyProvCRL";
    }
    if (!(res = children_access(p, s, paths))) {
        return;
    }
    for (i = 0; i < paths->nelts; i++) {
        const char *path = APR_ARRAY_IDX(paths, i, const char *);
        const char *w = APR_ARRAY_IDX(what, i, const char *);
        const char *why;

        if (res[i].err == 0 || (i < nlists && res[i].err == ENOENT)) {
            continue;            /* a missing list: see its own message */
        }
        why = access_why(p, &res[i]);
        if (i >= nlists) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP027: %s file "
                         "%s cannot be read by the user %s that httpd's "
                         "children run as: %s. Only the parent (root) reads "
                         "it, at start and graceful restart, so the server "
                         "works; a configtest run as another user will fail "
                         "on it", w, path, user, why);
            continue;
        }
        if (starting) {
            const list_file_t *f = &APR_ARRAY_IDX(files, i, list_file_t);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "PP026: %s %s (%s) "
                         "cannot be read by the user %s that httpd's "
                         "children run as: %s. Not put in force: requests in"
                         " the scopes that use it are refused "
                         "(list-unavailable) until it is readable by %s (and"
                         " its directories searchable); the other scopes are"
                         " served", f->db ? "SQLite database" : "list file",
                         path, w, user, why, user);
            pp_listset_withhold(polyprov_glue->lists, f->idx,
                                apr_psprintf(p, "%s cannot be read by the "
                                             "user %s: %s", path, user,
                                             why));
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "PP026: list file %s "
                         "(%s) cannot be read by the user %s that httpd's "
                         "children run as: %s. They re-read it when it "
                         "changes, so no change will be picked up until it "
                         "is readable by %s (and its directories "
                         "searchable)", path, w, user, why, user);
        }
    }
}

int polyprov_config_post(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    int first_pass = ap_state_query(AP_SQ_MAIN_STATE)
                     == AP_SQ_MS_CREATE_PRE_CONFIG;

    (void)pconf;
    if (!polyprov_glue) {
        return OK;
    }
    /* the warnings are logged once, in the second pass; nothing about a
     * list stops a start (configtest says what is wrong with one) */
    if (first_pass) {
        return OK;
    }
    expired_crls(ptemp, s);
    check_ssl_settings(ptemp, s);
    child_access(ptemp, s);
    return OK;
}

/* After the lists were published: where each one's version in force came
 * from, when it is not the file as it stands. */
void polyprov_config_lists_report(server_rec *s)
{
    int i, n = pp_listset_count(polyprov_glue ? polyprov_glue->lists : NULL);

    for (i = 0; i < n; i++) {
        const char *path = pp_listset_path(polyprov_glue->lists, i);
        const char *why = pp_listset_problem(polyprov_glue->lists, i);
        uint64_t count = 0;
        int origin = pp_listset_origin(polyprov_glue->lists, i, &count);

        if (origin == PP_LIST_KEPT) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "PP030: %s: %s; "
                         "keeping the last good version from before the "
                         "restart (%" APR_UINT64_T_FMT " MACs); the file is "
                         "tried again every PolyProvReloadInterval",
                         list_directive(path), why ? why : "?",
                         (apr_uint64_t)count);
        }
        else if (origin == PP_LIST_NONE) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "PP031: %s: %s; the "
                         "list has never loaded: requests in scopes using it"
                         " are refused (list-unavailable) until it does; the"
                         " list is tried again every PolyProvReloadInterval "
                         "(every %d s if that is 0)", list_directive(path),
                         why ? why : "?", PP_LIST_RETRY_S);
        }
    }
}

/* ------------------------------------------------------------------ */
/* At start-up (check_config): PP016                                    */

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

static void warn_risky_section(void *baton, const polyprov_section_t *sec)
{
    const polyprov_dir_conf_t *dc;
    const char *what;
    core_dir_config *cd;

    if (strcmp(sec->kind, "Directory") && strcmp(sec->kind, "Location")) {
        return;
    }
    dc = ap_get_module_config(sec->merged, &polyprov_module);
    if (!dc || dc->enabled != PP_ON || dc->device_handlers == 1) {
        return;
    }
    what = risky_settings(baton, ap_get_core_module_config(sec->merged));
    if (what) {
        cd = ap_get_core_module_config(sec->own);
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, sec->s,
                     "PP016: PolyProv On (%s) applies in <%s %s> together "
                     "with %s: files named after a device are served as data "
                     "only, but keep these out of provisioning and upload "
                     "areas (see conf.d/polyprov.conf)",
                     dc->enabled_where ? dc->enabled_where : "?", sec->kind,
                     cd->d ? cd->d : "?", what);
    }
}

/* PP016 at start-up (and in configtest's output): a PolyProv On scope in
 * which other modules could act on what phones upload.  The handler guard
 * serves device files as data anyway; this tells the operator. */
void polyprov_warn_risky_scopes(apr_pool_t *ptemp, server_rec *s)
{
    for (; s; s = s->next) {
        polyprov_walk_sections(ptemp, s, 1, warn_risky_section, ptemp);
    }
}
