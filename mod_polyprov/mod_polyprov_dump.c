/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: `apachectl -t -D DUMP_POLYPROV` (as httpd's own
 * -D DUMP_VHOSTS, from the test_config hook) prints every scope of every
 * virtual host where a PolyProv directive applies, in the order of the
 * configuration, as JSON Lines: one JSON object per line and scope, each
 * value with the file:line of the directive that gives it (docs/operations.md, "The
 * running configuration").  polyprov-check --dump reads it back.
 *
 * A scope is the host itself (its server-level and <VirtualHost>
 * directives), or one of its <Directory>, <Location>, <Files> or <If>
 * sections; each line holds the section's settings merged over the
 * host's (and, for a <Directory>, over the <Directory> sections that
 * contain it), and "own" names the settings the section sets itself, so
 * that a reader can merge the sections that match a request as httpd does.
 */
#include "mod_polyprov.h"

#include <time.h>

#include "apr_strings.h"
#include "http_core.h"

typedef struct {
    apr_pool_t *p;
    apr_file_t *out;
    int first;                   /* no member written yet in the object */
} jw_t;

static const char *jstr(apr_pool_t *p, const char *s)
{
    const unsigned char *c;
    char *out, *o;

    if (!s) {
        return "null";
    }
    o = out = apr_palloc(p, strlen(s) * 6 + 3);
    *o++ = '"';
    for (c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c;
        }
        else if (*c < 0x20 || *c == 0x7f) {
            o += apr_snprintf(o, 7, "\\u%04x", *c);
        }
        else {
            *o++ = (char)*c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static void member(jw_t *w, const char *key, const char *json)
{
    apr_file_printf(w->out, "%s%s:%s", w->first ? "" : ",",
                    jstr(w->p, key), json);
    w->first = 0;
}

static void mstr(jw_t *w, const char *key, const char *s)
{
    member(w, key, jstr(w->p, s));
}

/* a JSON array of the strings in arr (const char *) */
static const char *jarr(apr_pool_t *p, const apr_array_header_t *arr)
{
    const char *s = "[";
    int i;

    for (i = 0; arr && i < arr->nelts; i++) {
        s = apr_pstrcat(p, s, i ? "," : "",
                        jstr(p, APR_ARRAY_IDX(arr, i, const char *)), NULL);
    }
    return apr_pstrcat(p, s, "]", NULL);
}

static apr_array_header_t *strs(apr_pool_t *p)
{
    return apr_array_make(p, 4, sizeof(const char *));
}

#define PUSH(arr, s) (APR_ARRAY_PUSH((arr), const char *) = (s))

/* "a, b" (pp_ca_path, pp_crl_path) as an array */
static apr_array_header_t *split_paths(apr_pool_t *p, const char *paths)
{
    apr_array_header_t *a = strs(p);
    char *copy = apr_pstrdup(p, paths ? paths : ""), *tok, *last;

    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        while (*tok == ' ') {
            tok++;
        }
        if (*tok) {
            PUSH(a, tok);
        }
    }
    return a;
}

static const char *hexfp(apr_pool_t *p, const unsigned char fp[32])
{
    char *h = apr_palloc(p, 65);
    int i;

    for (i = 0; i < 32; i++) {
        apr_snprintf(h + 2 * i, 3, "%02x", fp[i]);
    }
    return h;
}

/* What a configuration vector sets itself (not inherited). */
static apr_array_header_t *own_keys(apr_pool_t *p,
                                    const polyprov_dir_conf_t *c)
{
    apr_array_header_t *k = strs(p);

    if (c->enabled != PP_UNSET) {
        PUSH(k, "mode");
    }
    if (c->ca) {
        PUSH(k, "trusted_ca");
    }
    if (c->crl) {
        PUSH(k, "crl");
    }
    if (c->pins) {
        PUSH(k, "pins");
    }
    if (c->pattern) {
        PUSH(k, "cn_pattern");
    }
    if (c->allow_idx != PP_UNSET) {
        PUSH(k, "allow_list");
    }
    if (c->deny_idx != PP_UNSET) {
        PUSH(k, "deny_list");
    }
    if (c->shared) {
        PUSH(k, "shared_files");
    }
    if (c->reload != PP_UNSET) {
        PUSH(k, "reload_interval");
    }
    if (c->device_handlers != PP_UNSET) {
        PUSH(k, "device_handlers");
    }
    if (c->allow_expired != PP_UNSET) {
        PUSH(k, "allow_expired");
    }
    return k;
}

static void list_member(jw_t *w, const char *key, int idx, const char *at,
                        apr_array_header_t *warnings)
{
    const pp_listset_t *set = polyprov_glue->lists;
    const char *why;

    if (idx == PP_UNSET) {
        member(w, key, "null");
        member(w, apr_pstrcat(w->p, key, "_at", NULL), "null");
        return;
    }
    mstr(w, key, pp_listset_path(set, idx));
    mstr(w, apr_pstrcat(w->p, key, "_at", NULL), at);
    if ((why = pp_listset_problem(set, idx))) {
        PUSH(warnings, apr_psprintf(w->p, "%s: %s", key, why));
    }
}

/* The certificate of the scope's CA, else of any CA of the host (a CA
 * from an enclosing section), with this fingerprint: its subject. */
static const char *pin_match(apr_pool_t *p, const polyprov_dir_conf_t *c,
                             const apr_array_header_t *host_cas,
                             const unsigned char *pin)
{
    char subject[512];
    unsigned char fp[32];
    int i, j;

    for (j = -1; j < (c->ca ? 0 : host_cas->nelts); j++) {
        const pp_ca_t *ca = j < 0 ? c->ca
                                  : APR_ARRAY_IDX(host_cas, j, const pp_ca_t *);
        for (i = 0; ca && pp_ca_info(ca, i, subject, sizeof(subject), fp);
             i++) {
            if (!memcmp(fp, pin, 32)) {
                return apr_pstrdup(p, subject);
            }
        }
    }
    return NULL;
}

/* One scope: c is its merged configuration, own the section's own. */
static void dump_scope(jw_t *w, server_rec *s, int n, const char *kind,
                       const char *path, const polyprov_dir_conf_t *c,
                       const polyprov_dir_conf_t *own)
{
    polyprov_host_t host;
    apr_pool_t *p = w->p;
    apr_array_header_t *warnings = strs(p), *a, *at, *m;
    const char *modes[] = { "Off", "On", "SharedOnly", "Report" };
    char subject[512], issuer[512], when[64];
    unsigned char fp[32];
    time_t nu;
    int i, k;

    polyprov_host_scan(p, s, &host);
    w->first = 1;
    apr_file_puts("{", w->out);
    mstr(w, "host", apr_psprintf(p, "%s:%u", s->server_hostname
                                 ? s->server_hostname : "",
                                 s->addrs ? (unsigned)s->addrs->host_port
                                          : (unsigned)s->port));
    mstr(w, "vhost", s->is_virtual
         ? apr_psprintf(p, "%s:%d", s->defn_name ? s->defn_name : "?",
                        s->defn_line_number) : "main server");
    a = strs(p);
    for (i = 0; s->names && i < s->names->nelts; i++) {
        PUSH(a, APR_ARRAY_IDX(s->names, i, const char *));
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        PUSH(a, APR_ARRAY_IDX(s->wild_names, i, const char *));
    }
    member(w, "aliases", jarr(p, a));
    {
        core_server_config *sc = ap_get_core_module_config(s->module_config);
        mstr(w, "document_root", sc ? sc->ap_document_root : NULL);
    }
    member(w, "scope_index", apr_itoa(p, n));
    mstr(w, "kind", kind);
    mstr(w, "path", path);
    member(w, "own", jarr(p, own_keys(p, own)));
    mstr(w, "mode", c->enabled == PP_UNSET ? "Off" : modes[c->enabled]);
    mstr(w, "mode_at", c->enabled == PP_UNSET ? NULL : c->enabled_where);
    /* trust */
    member(w, "trusted_ca", c->ca ? jarr(p, split_paths(p, pp_ca_path(c->ca)))
                                  : "null");
    mstr(w, "trusted_ca_at", c->ca ? c->ca_where : NULL);
    a = strs(p);
    for (i = 0; c->ca && pp_ca_info(c->ca, i, subject, sizeof(subject), fp);
         i++) {
        PUSH(a, apr_psprintf(p, "sha256:%s %s", hexfp(p, fp), subject));
    }
    member(w, "ca_certificates", jarr(p, a));
    if (c->enabled == PP_ON && !c->ca) {
        PUSH(warnings, "PolyProv On and no PolyProvTrustedCA in this scope: "
                       "refused untrusted unless an enclosing section of the "
                       "request gives one");
    }
    a = strs(p);
    at = strs(p);
    m = strs(p);
    for (k = 0; c->pins && k < c->pins->nelts; k++) {
        const unsigned char *pin = (const unsigned char *)c->pins->elts
                                   + 32 * k;
        const char *match = pin_match(p, c, host.cas, pin);
        PUSH(a, apr_pstrcat(p, "sha256:", hexfp(p, pin), NULL));
        PUSH(at, APR_ARRAY_IDX(c->pins_where, k, const char *));
        PUSH(m, match ? match : "");
        if (!match) {
            PUSH(warnings, apr_psprintf(p, "pin sha256:%s matches no "
                                        "certificate of PolyProvTrustedCA",
                                        hexfp(p, pin)));
        }
    }
    member(w, "pins", jarr(p, a));
    member(w, "pins_at", jarr(p, at));
    member(w, "pins_match", jarr(p, m));
    member(w, "crl", c->crl ? jarr(p, split_paths(p, pp_crl_path(c->crl)))
                            : "null");
    mstr(w, "crl_at", c->crl ? c->crl_where : NULL);
    a = strs(p);
    for (i = 0; c->crl && pp_crl_info(c->crl, i, issuer, sizeof(issuer), &nu);
         i++) {
        pp_time_format(nu, when, sizeof(when));
        PUSH(a, apr_psprintf(p, "%s nextUpdate %s", issuer, when));
        if (nu && nu < time(NULL)) {
            PUSH(warnings, apr_psprintf(p, "the CRL of %s expired at %s: "
                                        "every certificate it covers is "
                                        "refused", issuer, when));
        }
    }
    member(w, "crl_next_update", jarr(p, a));
    mstr(w, "cn_pattern", c->pattern ? pp_pattern_source(c->pattern)
                                     : PP_DEFAULT_CN_PATTERN);
    mstr(w, "cn_pattern_at", c->pattern ? c->pattern_where : NULL);
    list_member(w, "allow_list", c->allow_idx, c->allow_where, warnings);
    list_member(w, "deny_list", c->deny_idx, c->deny_where, warnings);
    mstr(w, "shared_files", c->shared ? pp_shared_describe(c->shared) : "*");
    mstr(w, "shared_files_at", c->shared ? c->shared_where : NULL);
    member(w, "reload_interval", apr_itoa(p, c->reload == PP_UNSET
                                          ? PP_DEFAULT_RELOAD : c->reload));
    mstr(w, "reload_interval_at", c->reload == PP_UNSET ? NULL
                                                        : c->reload_where);
    mstr(w, "device_handlers", c->device_handlers == 1 ? "On" : "Off");
    mstr(w, "device_handlers_at", c->device_handlers == PP_UNSET ? NULL
                                                         : c->handlers_where);
    mstr(w, "allow_expired", c->allow_expired == 1 ? "On" : "Off");
    mstr(w, "allow_expired_at", c->allow_expired == PP_UNSET ? NULL
                                                    : c->allow_expired_where);
    member(w, "warnings", jarr(p, warnings));
    apr_file_puts("}\n", w->out);
}

static int touches_module(const polyprov_dir_conf_t *c)
{
    return c && (c->enabled != PP_UNSET || c->ca || c->crl || c->pins
                 || c->pattern || c->allow_idx != PP_UNSET
                 || c->deny_idx != PP_UNSET || c->shared
                 || c->reload != PP_UNSET || c->device_handlers != PP_UNSET
                 || c->allow_expired != PP_UNSET);
}

typedef struct {
    jw_t *w;
    int n;
} dump_host_t;

static void dump_section(void *baton, const polyprov_section_t *sec)
{
    dump_host_t *d = baton;
    const polyprov_dir_conf_t *own = ap_get_module_config(sec->own,
                                                    &polyprov_module);

    if (touches_module(own)) {
        dump_scope(d->w, sec->s, d->n++, sec->kind, sec->path,
                   ap_get_module_config(sec->merged, &polyprov_module), own);
    }
}

static void dump_host(jw_t *w, server_rec *s)
{
    dump_host_t d;

    d.w = w;
    d.n = 0;
    polyprov_walk_sections(w->p, s, 1, dump_section, &d);
}

void polyprov_dump(apr_pool_t *p, server_rec *s)
{
    jw_t w;

    if (!polyprov_glue || !ap_exists_config_define("DUMP_POLYPROV")
        || apr_file_open_stdout(&w.out, p) != APR_SUCCESS) {
        return;
    }
    w.p = p;
    for (; s; s = s->next) {
        dump_host(&w, s);
    }
    apr_file_flush(w.out);
}
