/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: which device, if any, a request path belongs to
 * (PP_STEP_DOT_FILE, PP_STEP_OWNER), and the shared files.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_PATH_H
#define PP_PATH_H

#include <stddef.h>
#include "pp_mac.h"
#include "pp_reason.h"

typedef struct pp_shared pp_shared_t;

/* PolyProvSharedFiles: "*" (everything), "none" (nothing) or shell
 * wildcards matched against one path segment.  NULL on error. */
pp_shared_t *pp_shared_new(const char *const *patterns, int n,
                           char *err, size_t errlen);
void pp_shared_free(pp_shared_t *s);
int pp_shared_match(const pp_shared_t *s, const char *segment);
/* A short description for logs and tests: "*", "none" or "a.cfg *.ld". */
const char *pp_shared_describe(const pp_shared_t *s);

typedef struct {
    const char *uri_path;   /* decoded, normalised URI, no query; NULL (or
                             * not starting with '/') when the request has
                             * none, as file subrequests may */
    int has_path_info;      /* non-empty path info (other than "/") */
    const char *filename;   /* the path of the file it maps to below the
                             * document root (the whole path when outside
                             * it), or NULL */
    int read_method;        /* GET, HEAD or OPTIONS (and no writing parent) */
} pp_target_t;

/* Step PP_STEP_OWNER of the decision table (docs/decisions.md, "How the module
 * decides"): PP_R_OK, PP_R_NOT_OWNER, PP_R_SHARED_READONLY or
 * PP_R_NOT_SHARED.
 * Every maximal run of 12 or more hex digits in the URI and in the whole
 * file path counts; a write must land on a file whose path names `mac`. */
pp_reason_t pp_owner_check(const pp_target_t *t, pp_mac_t mac,
                           const pp_shared_t *shared);
/* The same; *file_names_mac (if not NULL) says whether the file's path
 * names mac (a device file, as pp_path_names_mac says). */
pp_reason_t pp_owner_check_ex(const pp_target_t *t, pp_mac_t mac,
                              const pp_shared_t *shared,
                              int *file_names_mac);

/* The path a file is judged by (docs/decisions.md, "How the module decides"): the
 * part of file below root (DocumentRoot), or the whole of file when it lies
 * elsewhere; NULL when file is no absolute path (no local file). */
const char *pp_path_below_root(const char *file, const char *root);

/* 1 when path holds a token naming mac and no other device (a device
 * file of mac: served as data only). */
int pp_path_names_mac(const char *path, pp_mac_t mac);
/* 1 when path holds a token naming any device, or an ambiguous run. */
int pp_path_names_any(const char *path);
/* 1 when len bytes of text hold a hex run of 12 or more digits that is
 * neither mac nor 000000000000 (a response naming another device). */
int pp_text_names_other(const char *text, size_t len, pp_mac_t mac);
/* 1 when a segment of path starts with '.' (".htaccess", ".x/y"). */
int pp_path_has_dot_segment(const char *path);

#endif /* PP_PATH_H */
