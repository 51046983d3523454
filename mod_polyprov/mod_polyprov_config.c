/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: directives, per-directory merging, and the
 * configuration check that runs for `apachectl configtest` too.
 *
 * Every file a directive names is read and validated here, while the
 * configuration is parsed, so a bad file stops httpd (and configtest) with
 * the directive, the file and, for lists, the line.
 */
#include "mod_polyprov.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include "unixd.h"

#include <unistd.h>

#define ERRLEN 1024

/* cmd->info of the two list directives */
static char allow_list_tag, deny_list_tag;

polyprov_glue_t *polyprov_glue;

static apr_status_t glue_cleanup(void *data)
{
    polyprov_glue_t *g = data;

    pp_listset_free(g->lists);
    pp_pattern_free(g->default_pattern);
    pp_shared_free(g->default_shared);
    pp_shared_free(g->shared_only_default);
    if (polyprov_glue == g) {
        polyprov_glue = NULL;
    }
    return APR_SUCCESS;
}

/* The state of the configuration being parsed, made on first use. */
static polyprov_glue_t *glue(apr_pool_t *pconf, const char **errp)
{
    static const char *const star[] = { "*" };
    static const char *const none[] = { "none" };
    char err[ERRLEN];
    polyprov_glue_t *g;

    if (polyprov_glue) {
        return polyprov_glue;
    }
    g = apr_pcalloc(pconf, sizeof(*g));
    g->pool = pconf;
    g->cas = apr_hash_make(pconf);
    g->crls = apr_hash_make(pconf);
    g->list_where = apr_hash_make(pconf);
    g->list_db = apr_hash_make(pconf);
    g->lists = pp_listset_new();
    g->default_pattern = pp_pattern_compile(PP_DEFAULT_CN_PATTERN, err,
                                            sizeof(err));
    g->default_shared = pp_shared_new(star, 1, err, sizeof(err));
    g->shared_only_default = pp_shared_new(none, 1, err, sizeof(err));
    apr_pool_cleanup_register(pconf, g, glue_cleanup, apr_pool_cleanup_null);
    if (!g->lists || !g->default_pattern || !g->default_shared
        || !g->shared_only_default) {
        *errp = "mod_polyprov: out of memory while initialising";
        return NULL;
    }
    polyprov_glue = g;
    return g;
}

int polyprov_config_pre(apr_pool_t *pconf)
{
    const char *err = NULL;

    if (!glue(pconf, &err)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "PP008: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ------------------------------------------------------------------ */

void *polyprov_create_dir_conf(apr_pool_t *p, char *dir)
{
    polyprov_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)dir;
    c->enabled = PP_UNSET;
    c->allow_idx = PP_UNSET;
    c->deny_idx = PP_UNSET;
    c->reload = PP_UNSET;
    c->device_handlers = PP_UNSET;
    c->allow_expired = PP_UNSET;
    c->quota_bytes = PP_UNSET;
    c->quota_files = PP_UNSET;
    return c;
}

void *polyprov_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    polyprov_dir_conf_t *base = basev, *add = addv;
    polyprov_dir_conf_t *c = apr_palloc(p, sizeof(*c));

#define PICK(f, unset) c->f = (add->f != (unset)) ? add->f : base->f
    PICK(enabled, PP_UNSET);
    c->enabled_where = (add->enabled != PP_UNSET) ? add->enabled_where
                                                  : base->enabled_where;
    /* a scope that names a CA (or CRLs) replaces the outer one whole */
    c->ca = add->ca ? add->ca : base->ca;
    c->ca_where = add->ca ? add->ca_where : base->ca_where;
    c->crl = add->crl ? add->crl : base->crl;
    c->crl_where = add->crl ? add->crl_where : base->crl_where;
    c->pins_where = add->pins ? add->pins_where : base->pins_where;
    PICK(pins, NULL);
    c->pattern_where = add->pattern ? add->pattern_where
                                    : base->pattern_where;
    c->allow_where = add->allow_idx != PP_UNSET ? add->allow_where
                                                : base->allow_where;
    c->deny_where = add->deny_idx != PP_UNSET ? add->deny_where
                                              : base->deny_where;
    c->shared_where = add->shared ? add->shared_where : base->shared_where;
    c->reload_where = add->reload != PP_UNSET ? add->reload_where
                                              : base->reload_where;
    c->handlers_where = add->device_handlers != PP_UNSET
        ? add->handlers_where : base->handlers_where;
    PICK(pattern, NULL);
    PICK(allow_idx, PP_UNSET);
    PICK(deny_idx, PP_UNSET);
    PICK(shared, NULL);
    PICK(reload, PP_UNSET);
    PICK(device_handlers, PP_UNSET);
    PICK(allow_expired, PP_UNSET);
    c->allow_expired_where = (add->allow_expired != PP_UNSET)
        ? add->allow_expired_where : base->allow_expired_where;
    PICK(quota_bytes, PP_UNSET);
    PICK(quota_files, PP_UNSET);
    c->quota_where = (add->quota_bytes != PP_UNSET) ? add->quota_where
                                                    : base->quota_where;
#undef PICK
    return c;
}

/* ------------------------------------------------------------------ */

static const char *where(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "(unknown)";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

static const char *fail(cmd_parms *cmd, const char *msg)
{
    return apr_psprintf(cmd->pool, "PP004: %s: %s", cmd->cmd->name, msg);
}

/* An absolute path for a file argument, or an error. */
static const char *file_arg(cmd_parms *cmd, const char *arg, const char **path)
{
    if (!*arg) {
        return fail(cmd, "needs a file name");
    }
    *path = ap_server_root_relative(cmd->pool, arg);
    if (!*path) {
        return fail(cmd, apr_psprintf(cmd->pool, "invalid file path '%s'",
                                      arg));
    }
    return NULL;
}

static const char *set_enabled(cmd_parms *cmd, void *dcv, const char *arg)
{
    polyprov_dir_conf_t *dc = dcv;

    if (!ap_cstr_casecmp(arg, "On")) {
        dc->enabled = PP_ON;
    }
    else if (!ap_cstr_casecmp(arg, "Off")) {
        dc->enabled = PP_OFF;
    }
    else if (!ap_cstr_casecmp(arg, "SharedOnly")) {
        dc->enabled = PP_SHARED_ONLY;
    }
    else if (!ap_cstr_casecmp(arg, "Report")) {
        dc->enabled = PP_REPORT;
    }
    else {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not On, Off, "
                                      "SharedOnly or Report", arg));
    }
    dc->enabled_where = where(cmd);
    return NULL;
}

static const char *set_device_handlers(cmd_parms *cmd, void *dcv, int on)
{
    polyprov_dir_conf_t *dc = dcv;

    dc->device_handlers = on ? 1 : 0;
    dc->handlers_where = where(cmd);
    return NULL;
}

static const char *set_allow_expired(cmd_parms *cmd, void *dcv, int on)
{
    polyprov_dir_conf_t *dc = dcv;

    dc->allow_expired = on ? 1 : 0;
    dc->allow_expired_where = where(cmd);
    return NULL;
}

static apr_status_t ca_cleanup(void *data)
{
    pp_ca_free(data);
    return APR_SUCCESS;
}

static apr_status_t crl_cleanup(void *data)
{
    pp_crl_free(data);
    return APR_SUCCESS;
}

/* CA and CRL files are read once per configuration, however many scopes
 * name them: the object loaded for key, from the cache or by load(arg). */
typedef void *(*loader_fn)(const void *arg, char *err, size_t errlen);

static const char *load_once(cmd_parms *cmd, apr_hash_t *cache,
                             const char *key, loader_fn load,
                             const void *arg,
                             apr_status_t (*cleanup)(void *), void **out)
{
    char err[ERRLEN];
    void *obj = apr_hash_get(cache, key, APR_HASH_KEY_STRING);

    if (!obj) {
        obj = load(arg, err, sizeof(err));
        if (!obj) {
            return fail(cmd, err);
        }
        apr_pool_cleanup_register(cmd->pool, obj, cleanup,
                                  apr_pool_cleanup_null);
        apr_hash_set(cache, key, APR_HASH_KEY_STRING, obj);
    }
    *out = obj;
    return NULL;
}

typedef struct {
    const char **paths;
    int n;
} ca_files_t;

static void *load_ca(const void *arg, char *err, size_t errlen)
{
    const ca_files_t *f = arg;

    return pp_ca_load_files(f->paths, f->n, err, errlen);
}

static void *load_crl(const void *arg, char *err, size_t errlen)
{
    return pp_crl_load(arg, err, errlen);
}

static const char *set_ca(cmd_parms *cmd, void *dcv, int argc,
                          char *const argv[])
{
    polyprov_dir_conf_t *dc = dcv;
    const char *e = NULL, **paths, *key = "";
    polyprov_glue_t *g = glue(cmd->pool, &e);
    ca_files_t files;
    void *obj = NULL;
    pp_ca_t *ca;
    int i;

    if (!g) {
        return e;
    }
    if (argc < 1) {
        return fail(cmd, "needs a file name");
    }
    paths = apr_palloc(cmd->pool, sizeof(*paths) * (size_t)argc);
    for (i = 0; i < argc; i++) {
        if ((e = file_arg(cmd, argv[i], &paths[i]))) {
            return e;
        }
        key = apr_pstrcat(cmd->pool, key, i ? "\n" : "", paths[i], NULL);
    }
    files.paths = paths;
    files.n = argc;
    if ((e = load_once(cmd, g->cas, key, load_ca, &files, ca_cleanup,
                       &obj))) {
        return e;
    }
    ca = obj;
    dc->ca = ca;
    dc->ca_where = where(cmd);
    return NULL;
}

/* Several PolyProvCRL in one scope add up; an inner scope that sets it
 * replaces the outer set (the merge takes the inner one whole). */
static const char *set_crl(cmd_parms *cmd, void *dcv, const char *arg)
{
    polyprov_dir_conf_t *dc = dcv;
    const char *path, *e = NULL;
    polyprov_glue_t *g = glue(cmd->pool, &e);
    char err[ERRLEN];
    void *obj = NULL;
    pp_crl_t *crl;

    if (!g) {
        return e;
    }
    if ((e = file_arg(cmd, arg, &path))) {
        return e;
    }
    if ((e = load_once(cmd, g->crls, path, load_crl, path, crl_cleanup,
                       &obj))) {
        return e;
    }
    crl = obj;
    if (dc->crl) {
        /* this scope named CRLs already: the set grows */
        pp_crl_t *both = pp_crl_union(dc->crl, crl, err, sizeof(err));
        if (!both) {
            return fail(cmd, err);
        }
        apr_pool_cleanup_register(cmd->pool, both, crl_cleanup,
                                  apr_pool_cleanup_null);
        dc->crl = both;
        dc->crl_where = apr_pstrcat(cmd->pool, dc->crl_where, ", ",
                                    where(cmd), NULL);
        return NULL;
    }
    dc->crl = crl;
    dc->crl_where = where(cmd);
    return NULL;
}

static const char *add_pin(cmd_parms *cmd, void *dcv, const char *arg)
{
    polyprov_dir_conf_t *dc = dcv;
    unsigned char fp[32];
    char err[ERRLEN];

    if (!pp_fingerprint_parse(arg, fp, err, sizeof(err))) {
        return fail(cmd, err);
    }
    if (!dc->pins) {
        dc->pins = apr_array_make(cmd->pool, 4, sizeof(fp));
        dc->pins_where = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    memcpy(apr_array_push(dc->pins), fp, sizeof(fp));
    APR_ARRAY_PUSH(dc->pins_where, const char *) = where(cmd);
    return NULL;
}

static apr_status_t pattern_cleanup(void *data)
{
    pp_pattern_free(data);
    return APR_SUCCESS;
}

static const char *set_pattern(cmd_parms *cmd, void *dcv, const char *arg)
{
    polyprov_dir_conf_t *dc = dcv;
    char err[ERRLEN];
    pp_pattern_t *p = pp_pattern_compile(arg, err, sizeof(err));

    if (!p) {
        return fail(cmd, err);
    }
    apr_pool_cleanup_register(cmd->pool, p, pattern_cleanup,
                              apr_pool_cleanup_null);
    dc->pattern = p;
    dc->pattern_where = where(cmd);
    return NULL;
}

static const char *set_list(cmd_parms *cmd, void *dcv, int argc,
                            char *const argv[])
{
    const char *arg = argc > 0 ? argv[0] : "";
    const char *query = argc > 1 ? argv[1] : NULL;
    const char *version = argc > 2 ? argv[2] : NULL;
    polyprov_dir_conf_t *dc = dcv;
    const char *path, *e = NULL;
    polyprov_glue_t *g = glue(cmd->pool, &e);
    char err[ERRLEN];
    int idx;

    if (!g) {
        return e;
    }
    if (argc < 1 || argc > 3 || (argc == 3 && strcmp(arg, "dbd"))) {
        return fail(cmd, "takes a file, or dbd \"query\" [\"version "
                    "query\"]");
    }
    if (!query && !strcmp(arg, "dbd")) {
        query = "";                  /* dbd "": said below */
    }
    if (query) {
        /* PolyProvAllowList dbd "SELECT ..." (mod_polyprov_dbd.c) */
        pp_list_read_fn *read;
        void *baton;
        if (strcmp(arg, "dbd")) {
            return fail(cmd, apr_psprintf(cmd->pool, "'%s': a second "
                        "argument is a query, after the word dbd (dbd "
                        "\"SELECT mac FROM phones WHERE enabled\")", arg));
        }
        if ((e = polyprov_dbd_source(cmd, query, version, &path, &read,
                                     &baton))) {
            return fail(cmd, e);
        }
        idx = pp_listset_add_source(g->lists, path, read, baton, err,
                                    sizeof(err));
        if (idx >= 0 && polyprov_dbd_file(cmd->pool, baton)) {
            apr_hash_set(g->list_db, path, APR_HASH_KEY_STRING,
                         polyprov_dbd_file(cmd->pool, baton));
        }
    }
    else if ((e = file_arg(cmd, arg, &path))) {
        return e;
    }
    else {
        /* a list is data: a file that is broken or cannot be read does
         * not fail the configuration (configtest warns, start-up keeps
         * the last good version or refuses requests that need it) */
        idx = pp_listset_add(g->lists, path, err, sizeof(err));
    }
    if (idx < 0) {
        return fail(cmd, err);
    }
    if (!apr_hash_get(g->list_where, path, APR_HASH_KEY_STRING)) {
        apr_hash_set(g->list_where, path, APR_HASH_KEY_STRING,
                     apr_psprintf(cmd->pool, "%s at %s", cmd->cmd->name,
                                  where(cmd)));
    }
    if (cmd->info == &allow_list_tag) {
        dc->allow_idx = idx;
        dc->allow_where = where(cmd);
    }
    else {
        dc->deny_idx = idx;
        dc->deny_where = where(cmd);
    }
    return NULL;
}

static apr_status_t shared_cleanup(void *data)
{
    pp_shared_free(data);
    return APR_SUCCESS;
}

static const char *set_shared(cmd_parms *cmd, void *dcv, int argc,
                              char *const argv[])
{
    polyprov_dir_conf_t *dc = dcv;
    char err[ERRLEN];
    pp_shared_t *s = pp_shared_new((const char *const *)argv, argc, err,
                                   sizeof(err));

    if (!s) {
        return fail(cmd, err);
    }
    apr_pool_cleanup_register(cmd->pool, s, shared_cleanup,
                              apr_pool_cleanup_null);
    dc->shared = s;
    dc->shared_where = where(cmd);
    return NULL;
}

static const char *set_reload(cmd_parms *cmd, void *dcv, const char *arg)
{
    polyprov_dir_conf_t *dc = dcv;
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (!*arg || *end || errno || v < 0 || v > 86400) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not a number of "
                                      "seconds from 0 to 86400", arg));
    }
    dc->reload = (int)v;
    dc->reload_where = where(cmd);
    return NULL;
}

/* PolyProvDeviceQuota size files: a size in bytes, or with K, M or G
 * (binary); a count of files and collections. */
static const char *set_quota(cmd_parms *cmd, void *dcv, const char *size,
                             const char *files)
{
    polyprov_dir_conf_t *dc = dcv;
    char *end;
    double v;
    long n;
    apr_off_t mult = 1;

    errno = 0;
    v = strtod(size, &end);
    if (*end && !end[1]) {
        switch (*end) {
        case 'k': case 'K': mult = 1024; end++; break;
        case 'm': case 'M': mult = 1024 * 1024; end++; break;
        case 'g': case 'G': mult = (apr_off_t)1024 * 1024 * 1024; end++; break;
        default: break;
        }
    }
    if (!*size || *end || errno || v < 0 || v * (double)mult > 1e15
        || size[0] < '0' || size[0] > '9') {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not a size (bytes, "
                                      "or a number with K, M or G)", size));
    }
    errno = 0;
    n = strtol(files, &end, 10);
    if (!*files || *end || errno || n < 0 || n > 100000000) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not a number of "
                                      "files", files));
    }
    dc->quota_bytes = (apr_off_t)(v * (double)mult);
    dc->quota_files = n;
    dc->quota_where = where(cmd);
    return NULL;
}

/* Every directive: server config, virtual host, <Directory>, <Location>,
 * <Files>, <If>; never .htaccess (no AllowOverride class). */
#define CONTEXT (RSRC_CONF | ACCESS_CONF)

const command_rec polyprov_cmds[] = {
    AP_INIT_TAKE1("PolyProv", set_enabled, NULL, CONTEXT,
        "On to enforce Poly device certificate checks in this scope; "
        "SharedOnly to serve only files that name no device (a bootROM "
        "host); Report to decide as On but only log and count what would "
        "be refused; Off"),
    AP_INIT_FLAG("PolyProvDeviceHandlers", set_device_handlers, NULL, CONTEXT,
        "On to let handlers and content filters other than the default "
        "handler's and mod_dav's process files named after a device"),
    AP_INIT_TAKE_ARGV("PolyProvTrustedCA", set_ca, NULL, CONTEXT,
        "the Polycom root and intermediate CAs: PEM bundles, or DER files "
        "of one certificate each"),
    AP_INIT_TAKE1("PolyProvCRL", set_crl, NULL, CONTEXT,
        "PEM or DER CRLs (several add up); revocation is then checked for "
        "the whole chain, so every CA needs its CRL"),
    AP_INIT_ITERATE("PolyProvIssuerFingerprint", add_pin, NULL, CONTEXT,
        "sha256:HEX fingerprints allowed for the device's direct issuer"),
    AP_INIT_TAKE1("PolyProvCNPattern", set_pattern, NULL, CONTEXT,
        "regex taking the MAC from the CN (first capture group)"),
    AP_INIT_TAKE_ARGV("PolyProvAllowList", set_list, &allow_list_tag,
        CONTEXT, "file of MACs that may be served, or dbd \"SELECT ...\" "
        "[\"version query\"] (through mod_dbd's DBDriver and DBDParams)"),
    AP_INIT_TAKE_ARGV("PolyProvDenyList", set_list, &deny_list_tag, CONTEXT,
        "file of MACs that are never served, or dbd \"SELECT ...\" "
        "[\"version query\"]"),
    AP_INIT_TAKE_ARGV("PolyProvSharedFiles", set_shared, NULL, CONTEXT,
        "wildcards of MAC-less files any verified device may read, "
        "'*' or 'none'"),
    AP_INIT_TAKE2("PolyProvDeviceQuota", set_quota, NULL, CONTEXT,
        "what one device may hold in one directory: a size (bytes, or K, "
        "M, G) and a number of files and collections; a write past it is "
        "refused 507"),
    AP_INIT_TAKE1("PolyProvReloadInterval", set_reload, NULL, CONTEXT,
        "seconds between checks of list files for changes; 0 = never"),
    AP_INIT_FLAG("PolyProvAllowExpired", set_allow_expired, NULL, CONTEXT,
        "On to serve devices whose certificate is past its notAfter and "
        "valid in every other respect (the handshake lets them through on "
        "this virtual host)"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

/* ------------------------------------------------------------------ */
/* PolyProv On where no PolyProvTrustedCA can ever apply is an error that
 * configtest reports: look at each server's defaults and sections. */

typedef struct {
    apr_array_header_t *confs;   /* ap_conf_vector_t * */
} walk_t;

static void collect(walk_t *w, ap_conf_vector_t *v)
{
    core_dir_config *cd;
    int i;

    if (!v) {
        return;
    }
    APR_ARRAY_PUSH(w->confs, ap_conf_vector_t *) = v;
    cd = ap_get_core_module_config(v);
    if (!cd) {
        return;
    }
    if (cd->sec_file) {
        for (i = 0; i < cd->sec_file->nelts; i++) {
            collect(w, APR_ARRAY_IDX(cd->sec_file, i, ap_conf_vector_t *));
        }
    }
    if (cd->sec_if) {
        for (i = 0; i < cd->sec_if->nelts; i++) {
            collect(w, APR_ARRAY_IDX(cd->sec_if, i, ap_conf_vector_t *));
        }
    }
}

/* Every configuration vector of a server: its defaults and each section
 * (the main server's sections are merged into every virtual host's). */
static void server_confs(apr_pool_t *p, server_rec *s, walk_t *w)
{
    core_server_config *sc = ap_get_core_module_config(s->module_config);
    int i;

    w->confs = apr_array_make(p, 16, sizeof(ap_conf_vector_t *));
    collect(w, s->lookup_defaults);
    for (i = 0; sc->sec_dir && i < sc->sec_dir->nelts; i++) {
        collect(w, APR_ARRAY_IDX(sc->sec_dir, i, ap_conf_vector_t *));
    }
    for (i = 0; sc->sec_url && i < sc->sec_url->nelts; i++) {
        collect(w, APR_ARRAY_IDX(sc->sec_url, i, ap_conf_vector_t *));
    }
}

void polyprov_host_scan(apr_pool_t *p, server_rec *s, polyprov_host_t *h)
{
    walk_t w;
    int i, j;

    memset(h, 0, sizeof(*h));
    h->cas = apr_array_make(p, 4, sizeof(const pp_ca_t *));
    server_confs(p, s, &w);
    for (i = 0; i < w.confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = ap_get_module_config(
            APR_ARRAY_IDX(w.confs, i, ap_conf_vector_t *), &polyprov_module);
        if (!dc) {
            continue;
        }
        if (dc->enabled == PP_ON) {
            h->polyprov_on = 1;
        }
        if (dc->pattern && !h->pattern) {
            h->pattern = dc->pattern;    /* (the defaults come first) */
        }
        if (dc->enabled == PP_REPORT && !h->report) {
            h->report = 1;
            h->report_where = dc->enabled_where;
            h->report_pattern = dc->pattern;
        }
        if (dc->allow_expired == 1 && !h->allow_expired) {
            h->allow_expired = 1;
            h->allow_expired_where = dc->allow_expired_where;
        }
        for (j = 0; dc->ca && j < h->cas->nelts; j++) {
            if (APR_ARRAY_IDX(h->cas, j, const pp_ca_t *) == dc->ca) {
                break;
            }
        }
        if (dc->ca && j == h->cas->nelts) {
            APR_ARRAY_PUSH(h->cas, const pp_ca_t *) = dc->ca;
        }
    }
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
                      walk_t *w)
{
    const polyprov_dir_conf_t *def = ap_get_module_config(s->lookup_defaults,
                                                    &polyprov_module);
    int i, j, gaps = 0;

    for (i = 0; i < w->confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = ap_get_module_config(
            APR_ARRAY_IDX(w->confs, i, ap_conf_vector_t *), &polyprov_module);
        const polyprov_dir_conf_t *crl, *ca;

        if (!dc) {
            continue;
        }
        crl = dc->crl ? dc : (def && def->crl) ? def : NULL;
        ca = dc->ca ? dc : (def && def->ca) ? def : NULL;
        if (!crl || !crl->crl) {
            continue;
        }
        if (ca && ca->ca) {
            gaps += crl_gaps(p, seen, ca, crl);
            continue;
        }
        /* the CA comes from an enclosing section: any of this host's */
        for (j = 0; j < w->confs->nelts; j++) {
            const polyprov_dir_conf_t *other = ap_get_module_config(
                APR_ARRAY_IDX(w->confs, j, ap_conf_vector_t *),
                &polyprov_module);
            if (other && other->ca) {
                gaps += crl_gaps(p, seen, other, crl);
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
                       const polyprov_dir_conf_t *def, walk_t *w,
                       const char **ca_where, const char **ca_path)
{
    int j;

    if (dc->ca || (def && def->ca)) {
        const polyprov_dir_conf_t *c = dc->ca ? dc : def;
        *ca_where = c->ca_where;
        *ca_path = pp_ca_path(c->ca);
        return pp_ca_holds(c->ca, fp);
    }
    *ca_where = NULL;
    *ca_path = NULL;
    for (j = 0; j < w->confs->nelts; j++) {
        const polyprov_dir_conf_t *o = ap_get_module_config(
            APR_ARRAY_IDX(w->confs, j, ap_conf_vector_t *), &polyprov_module);
        if (o && o->ca) {
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
                      walk_t *w)
{
    const polyprov_dir_conf_t *def = ap_get_module_config(s->lookup_defaults,
                                                    &polyprov_module);
    int i, k, bad = 0;

    for (i = 0; i < w->confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = ap_get_module_config(
            APR_ARRAY_IDX(w->confs, i, ap_conf_vector_t *), &polyprov_module);

        if (!dc || !dc->pins) {
            continue;
        }
        for (k = 0; k < dc->pins->nelts; k++) {
            const unsigned char *fp = (const unsigned char *)dc->pins->elts
                                      + 32 * k;
            const char *pw = APR_ARRAY_IDX(dc->pins_where, k, const char *);
            const char *ca_where, *ca_path, *key;
            char hex[96];

            if (pin_matches(fp, dc, def, w, &ca_where, &ca_path) != 0) {
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
        core_server_config *sc = ap_get_core_module_config(s->module_config);
        walk_t w;
        int i, any_ca = 0;

        w.confs = apr_array_make(pconf, 16, sizeof(ap_conf_vector_t *));
        collect(&w, s->lookup_defaults);
        for (i = 0; sc->sec_dir && i < sc->sec_dir->nelts; i++) {
            collect(&w, APR_ARRAY_IDX(sc->sec_dir, i, ap_conf_vector_t *));
        }
        for (i = 0; sc->sec_url && i < sc->sec_url->nelts; i++) {
            collect(&w, APR_ARRAY_IDX(sc->sec_url, i, ap_conf_vector_t *));
        }
        for (i = 0; i < w.confs->nelts; i++) {
            polyprov_dir_conf_t *dc = ap_get_module_config(
                APR_ARRAY_IDX(w.confs, i, ap_conf_vector_t *),
                &polyprov_module);
            if (dc && dc->ca) {
                any_ca = 1;
            }
        }
        if (check_crls(pconf, crl_pairs, s, &w) > 0) {
            bad = 1;
        }
        if (check_pins(pconf, pins_seen, s, &w) > 0) {
            bad = 1;
        }
        if (any_ca) {
            continue;
        }
        for (i = 0; i < w.confs->nelts; i++) {
            polyprov_dir_conf_t *dc = ap_get_module_config(
                APR_ARRAY_IDX(w.confs, i, ap_conf_vector_t *),
                &polyprov_module);
            if (dc && (dc->enabled == PP_ON || dc->enabled == PP_REPORT)) {
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
