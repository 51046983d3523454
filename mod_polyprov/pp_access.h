/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: whether another user (httpd's children) can read files.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_ACCESS_H
#define PP_ACCESS_H

#include <stddef.h>

/* Whether user (uid, gid, and the user's supplementary groups) can open
 * each path for reading: asked in a forked process that takes that
 * identity, as httpd's children do, so groups and ACLs count.  For each
 * path, out[i].err is 0 or the errno, and out[i].where the directory that
 * cannot be searched (is_dir) or the file itself.  Returns how many
 * cannot be read, or -1 with a message if the check could not be made.
 * Needs root to take another identity. */
typedef struct {
    int err;
    int is_dir;
    char where[1024];
} pp_access_t;

int pp_check_readable_as(const char *user, long uid, long gid,
                         const char *const *paths, int n, pp_access_t *out,
                         char *err, size_t errlen);

#endif /* PP_ACCESS_H */
