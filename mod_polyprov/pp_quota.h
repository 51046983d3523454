/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: what one device holds on disk, for
 * PolyProvDeviceQuota (pp_quota.c).
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_QUOTA_H
#define PP_QUOTA_H

#include <stddef.h>
#include "pp_mac.h"

typedef struct {
    long long bytes;             /* of its regular files */
    long entries;                /* files, collections, links, and all that
                                  * its collections hold */
    long budget;                 /* (entries still to be read) */
} pp_usage_t;

/* The directory whose entries hold the device's part of path: path's
 * parent, or further up while the parent's name names the device (a file
 * in the device's own collection counts where the collection is).
 * Allocated (free() it); NULL when out of memory. */
char *pp_quota_holding_dir(const char *path, pp_mac_t mac);

/* What of directory dir is the device's: the entries whose names name
 * mac (all: every entry) and everything below those that are
 * directories (links are entries, never followed).  0, or -1 and why
 * (a directory that cannot be read, more than max_entries entries read,
 * deeper than max_depth): the caller refuses the write.  A dir that does
 * not exist holds nothing. */
int pp_quota_usage(const char *dir, pp_mac_t mac, int all, long max_entries,
                   int max_depth, pp_usage_t *u, char *err, size_t errlen);

#endif /* PP_QUOTA_H */
