/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: whether another user can read files (pp_access.h). */
#define _GNU_SOURCE                /* initgroups */
#include "pp_access.h"
#include "pp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Can another user read these files?  Asked in a forked process that  */
/* takes that user's identity, as httpd's children do (initgroups,     */
/* setgid, setuid), so that groups and ACLs count as they will.        */

/* Which directory above path (or path itself) stops the user. */
static void blame(const char *path, pp_access_t *a)
{
    char dir[sizeof(a->where)];
    size_t i, len = strlen(path);

    snprintf(a->where, sizeof(a->where), "%s", path);
    if (path[0] != '/' || len >= sizeof(dir)) {
        return;
    }
    for (i = 1; i < len; i++) {
        if (path[i] != '/') {
            continue;
        }
        memcpy(dir, path, i);
        dir[i] = '\0';
        if (access(dir, X_OK) != 0) {
            a->err = errno;
            a->is_dir = 1;
            snprintf(a->where, sizeof(a->where), "%s", dir);
            return;
        }
    }
}

static void check_one(const char *path, pp_access_t *a)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    memset(a, 0, sizeof(*a));
    if (fd >= 0) {
        close(fd);
        return;
    }
    a->err = errno;
    blame(path, a);
}

int pp_check_readable_as(const char *user, long uid, long gid,
                         const char *const *paths, int n, pp_access_t *out,
                         char *err, size_t errlen)
{
    int fds[2], status, i, bad = 0;
    size_t want = (size_t)n * sizeof(*out), got = 0;
    pid_t pid;

    if (n <= 0) {
        return 0;
    }
    if (pipe(fds) != 0) {
        pp_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        pp_err(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* the child: become the user, look, write the results, exit
         * (no allocation: the parent may have had threads) */
        close(fds[0]);
        if ((user && initgroups(user, (gid_t)gid) != 0)
            || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) {
            _exit(2);
        }
        for (i = 0; i < n; i++) {
            pp_access_t res;
            const char *p = (const char *)&res;
            size_t left = sizeof(res);

            check_one(paths[i], &res);
            while (left > 0) {
                ssize_t w = write(fds[1], p, left);
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w <= 0) {
                    _exit(3);
                }
                p += w;
                left -= (size_t)w;
            }
        }
        _exit(0);
    }
    close(fds[1]);
    while (got < want) {
        ssize_t r = read(fds[0], (char *)out + got, want - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fds[0]);
    status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }                            /* (ECHILD if SIGCHLD is ignored: status 0) */
    if (got != want || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        pp_err(err, errlen, "could not take the identity of %s (uid %ld, "
               "gid %ld) to check its access", user ? user : "?", uid, gid);
        return -1;
    }
    for (i = 0; i < n; i++) {
        out[i].where[sizeof(out[i].where) - 1] = '\0';
        bad += out[i].err != 0;
    }
    return bad;
}
