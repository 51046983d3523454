/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: which device, if any, a request path belongs to. */
#include "pp_core.h"

#include <fnmatch.h>
#include <string.h>

struct pp_shared {
    int all;            /* "*" */
    int n;              /* wildcards; 0 with all == 0 means "none" */
    char **pat;
    char *desc;
};

void pp_shared_free(pp_shared_t *s)
{
    int i;

    if (!s) {
        return;
    }
    for (i = 0; i < s->n; i++) {
        pp_free(s->pat[i]);
    }
    pp_free(s->pat);
    pp_free(s->desc);
    pp_free(s);
}

pp_shared_t *pp_shared_new(const char *const *patterns, int n,
                           char *err, size_t errlen)
{
    pp_shared_t *s;
    size_t desclen = 1;
    int i;

    if (n < 1) {
        pp_err(err, errlen, "needs at least one wildcard, '*' or 'none'");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const char *p = patterns[i];
        if (!*p) {
            pp_err(err, errlen, "empty wildcard");
            return NULL;
        }
        if (strchr(p, '/')) {
            pp_err(err, errlen, "'%s': wildcards match one path segment "
                   "and may not contain '/'", p);
            return NULL;
        }
        if (n > 1 && (!strcmp(p, "none") || !strcmp(p, "*"))) {
            pp_err(err, errlen, "'%s' must stand alone", p);
            return NULL;
        }
        desclen += strlen(p) + 1;
    }
    s = pp_calloc(1, sizeof(*s));
    if (!s) {
        goto oom;
    }
    s->desc = pp_malloc(desclen);
    if (!s->desc) {
        goto oom;
    }
    s->desc[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i) {
            strcat(s->desc, " ");
        }
        strcat(s->desc, patterns[i]);
    }
    if (n == 1 && !strcmp(patterns[0], "*")) {
        s->all = 1;
        return s;
    }
    if (n == 1 && !strcmp(patterns[0], "none")) {
        return s;
    }
    s->pat = pp_calloc((size_t)n, sizeof(char *));
    if (!s->pat) {
        goto oom;
    }
    for (i = 0; i < n; i++) {
        s->pat[i] = pp_strndup(patterns[i], strlen(patterns[i]));
        if (!s->pat[i]) {
            goto oom;
        }
        s->n = i + 1;
    }
    return s;
oom:
    pp_shared_free(s);
    pp_err(err, errlen, "out of memory");
    return NULL;
}

int pp_shared_match(const pp_shared_t *s, const char *segment)
{
    int i;

    if (!s || !segment) {
        return 0;
    }
    if (s->all) {
        return 1;
    }
    for (i = 0; i < s->n; i++) {
        if (fnmatch(s->pat[i], segment, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *pp_shared_describe(const pp_shared_t *s)
{
    return s ? s->desc : "(unset)";
}

/* ------------------------------------------------------------------ */

/*
 * Scan len bytes of s for maximal runs of hex digits of length >= 12.
 * Returns PP_R_NOT_OWNER for an ambiguous run (longer than 12) or a MAC
 * token that is not `mac`; otherwise PP_R_OK, with *owned set when a token
 * named `mac`.  (On every request, several times: kept tight.)
 */
static pp_reason_t scan_n(const char *s, size_t len, pp_mac_t mac, int *owned)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;

    for (;;) {
        const unsigned char *start;
        pp_mac_t tok = 0;
        size_t run;

        while (p < end && pp_hex[*p] == PP_NOT_HEX) {
            p++;
        }
        if (p == end) {
            return PP_R_OK;
        }
        start = p;
        while (p < end && pp_hex[*p] != PP_NOT_HEX) {
            p++;
        }
        run = (size_t)(p - start);
        if (run < 12) {
            continue;
        }
        if (run > 12) {
            return PP_R_NOT_OWNER;
        }
        for (; start < p; start++) {
            tok = (tok << 4) | pp_hex[*start];
        }
        if (tok != PP_MAC_NONE) {
            if (tok != mac) {
                return PP_R_NOT_OWNER;
            }
            *owned = 1;
        }
    }
}

static pp_reason_t scan(const char *s, pp_mac_t mac, int *owned)
{
    return scan_n(s, strlen(s), mac, owned);
}

static const char *last_segment(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

pp_reason_t pp_owner_check(const pp_target_t *t, pp_mac_t mac,
                           const pp_shared_t *shared)
{
    return pp_owner_check_ex(t, mac, shared, NULL);
}

pp_reason_t pp_owner_check_ex(const pp_target_t *t, pp_mac_t mac,
                              const pp_shared_t *shared, int *file_names_mac)
{
    const char *uri;
    int owned_uri = 0, owned_file = 0;

    if (file_names_mac) {
        *file_names_mac = 0;
    }
    if (!t) {
        return PP_R_NOT_OWNER;
    }
    /* a file subrequest may have no URI, or a relative one: the file
     * alone is judged then; with neither, nothing can be judged */
    uri = t->uri_path && t->uri_path[0] == '/' ? t->uri_path : NULL;
    if (!uri && !t->filename) {
        return PP_R_NOT_OWNER;
    }
    if (t->has_path_info) {
        return PP_R_NOT_OWNER;
    }
    if (uri && scan(uri, mac, &owned_uri) != PP_R_OK) {
        return PP_R_NOT_OWNER;
    }
    if (t->filename && uri && !strcmp(t->filename, uri)) {
        owned_file = owned_uri;       /* the usual case: the same path */
    }
    else if (t->filename && scan(t->filename, mac, &owned_file) != PP_R_OK) {
        return PP_R_NOT_OWNER;
    }
    if (file_names_mac) {
        *file_names_mac = owned_file;
    }
    if (owned_uri || owned_file) {
        /* a write lands on a file whose own path names the device, so
         * that every file a phone can write is one it owns by name */
        if (!t->read_method && t->filename && !owned_file) {
            return PP_R_NOT_OWNER;
        }
        return PP_R_OK;
    }
    /* No token names a device: a shared file, read-only. */
    if (!t->read_method) {
        return PP_R_SHARED_READONLY;
    }
    if (uri && !pp_shared_match(shared, last_segment(uri))) {
        return PP_R_NOT_SHARED;
    }
    if (t->filename && !pp_shared_match(shared, last_segment(t->filename))) {
        return PP_R_NOT_SHARED;
    }
    return PP_R_OK;
}

const char *pp_path_below_root(const char *f, const char *root)
{
    size_t n = root ? strlen(root) : 0;

    if (!f || f[0] != '/') {
        return NULL;
    }
    while (n > 0 && root[n - 1] == '/') {
        n--;
    }
    if (n > 0 && !strncmp(f, root, n) && f[n] == '/') {
        return f + n;
    }
    return f;
}

int pp_path_names_mac(const char *path, pp_mac_t mac)
{
    int owned = 0;

    return path && scan(path, mac, &owned) == PP_R_OK && owned;
}

int pp_path_names_any(const char *path)
{
    int owned = 0;

    /* PP_MAC_NONE never matches a token: any device token refuses */
    return path && scan(path, PP_MAC_NONE, &owned) != PP_R_OK;
}

int pp_text_names_other(const char *text, size_t len, pp_mac_t mac)
{
    int owned = 0;

    return text && scan_n(text, len, mac, &owned) != PP_R_OK;
}

int pp_path_has_dot_segment(const char *path)
{
    const char *p = path;

    if (!p) {
        return 0;
    }
    for (;;) {
        if (*p == '.') {
            return 1;
        }
        p = strchr(p, '/');
        if (!p) {
            return 0;
        }
        p++;
    }
}
