/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one device holds on disk (PolyProvDeviceQuota, docs/directives.md): the
 * directory that holds a device's entry for a path, and what of a
 * directory is the device's.  No httpd types; the glue
 * (mod_polyprov_quota.c) decides what a write adds and answers 507.
 */
#include "pp_core.h"
#include "pp_fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pp_quota_holding_dir(const char *path, pp_mac_t mac)
{
    size_t n = strlen(path);
    char *dir = pp_malloc(n + 2);
    char *slash;

    if (!dir) {
        return NULL;
    }
    memcpy(dir, path, n + 1);
    while (n > 1 && dir[n - 1] == '/') {
        dir[--n] = '\0';
    }
    for (;;) {
        slash = strrchr(dir, '/');
        if (!slash) {
            strcpy(dir, ".");
            return dir;
        }
        if (slash == dir) {
            strcpy(dir, "/");
            return dir;
        }
        *slash = '\0';
        /* dir is now the parent: go on up while it names the device */
        slash = strrchr(dir, '/');
        if (!pp_path_names_mac(slash ? slash + 1 : dir, mac)) {
            return dir;
        }
    }
}

static int usage_at(int dfd, pp_mac_t mac, int all, int depth,
                    int max_depth, pp_usage_t *u, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *e;
    int rv = 0;

    if (depth > max_depth) {
        pp_err(err, errlen, "more than %d levels", max_depth);
        close(dfd);
        return -1;
    }
    d = fdopendir(dfd);
    if (!d) {
        pp_err(err, errlen, "cannot read a directory: %s", strerror(errno));
        close(dfd);
        return -1;
    }
    while ((errno = 0, e = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        if (--u->budget < 0) {
            pp_err(err, errlen, "more entries than can be counted");
            rv = -1;
            break;
        }
        if (!all && !pp_path_names_mac(e->d_name, mac)) {
            continue;
        }
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) {
                continue;               /* gone meanwhile */
            }
            pp_err(err, errlen, "cannot stat %s: %s", e->d_name,
                   strerror(errno));
            rv = -1;
            break;
        }
        u->entries++;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                pp_err(err, errlen, "cannot open %s: %s", e->d_name,
                       strerror(errno));
                rv = -1;
                break;
            }
            if (usage_at(sub, mac, 1, depth + 1, max_depth, u, err,
                         errlen) != 0) {
                rv = -1;
                break;
            }
        }
        else if (S_ISREG(st.st_mode)) {
            u->bytes += (long long)st.st_size;
        }
    }
    if (rv == 0 && errno != 0) {
        pp_err(err, errlen, "cannot read a directory: %s", strerror(errno));
        rv = -1;
    }
    closedir(d);
    return rv;
}

int pp_quota_usage(const char *dir, pp_mac_t mac, int all, long max_entries,
                   int max_depth, pp_usage_t *u, char *err, size_t errlen)
{
    int fd;

    u->bytes = 0;
    u->entries = 0;
    u->budget = max_entries;
    fd = pp_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT && !all) {
            return 0;                   /* no directory yet: nothing held */
        }
        pp_err(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    return usage_at(fd, mac, all, 0, max_depth, u, err, errlen);
}
