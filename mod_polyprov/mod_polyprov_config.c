/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: directives and per-directory merging.  The
 * checks of the whole configuration (configtest and start-up) are in
 * mod_polyprov_checks.c.
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
