/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: reasons, logging sink, allocation (with a test seam). */
#define _GNU_SOURCE                /* initgroups */
#include "pp_fault.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[] = {
    [PP_R_OK] = "ok",
    [PP_R_NO_TLS] = "no-tls",
    [PP_R_NO_CERT] = "no-cert",
    [PP_R_UNTRUSTED] = "untrusted",
    [PP_R_ISSUER] = "issuer",
    [PP_R_BAD_CN] = "bad-cn",
    [PP_R_DENY_LIST] = "deny-list",
    [PP_R_ALLOW_LIST] = "allow-list",
    [PP_R_DIRECTORY] = "directory",
    [PP_R_NOT_OWNER] = "not-owner",
    [PP_R_SHARED_READONLY] = "shared-readonly",
    [PP_R_NOT_SHARED] = "not-shared",
    [PP_R_INTERNAL] = "internal",
    [PP_R_DOT_FILE] = "dot-file",
    [PP_R_METHOD] = "method",
    [PP_R_FOREIGN_NAME] = "foreign-name",
    [PP_R_DEVICE_FILE] = "device-file",
    [PP_R_LIST_UNAVAILABLE] = "list-unavailable",
    [PP_R_QUOTA] = "quota",
};

const char *pp_reason_name(pp_reason_t r)
{
    if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0])
        && reason_names[r]) {
        return reason_names[r];
    }
    return "internal";
}

const char *pp_cert_source_name(pp_cert_source_t s)
{
    switch (s) {
    case PP_CERT_PROCESS_CACHE:
        return "process-cache";
    case PP_CERT_CONNECTION:
        return "connection";
    case PP_CERT_HANDSHAKE:
        return "handshake";
    case PP_CERT_VERIFIED:
    default:
        return "verified";
    }
}

/* ------------------------------------------------------------------ */

static void stderr_sink(void *baton, const char *file, int line, int level,
                        const char *msg)
{
    static const char *const lv[] = { "error", "warn", "notice", "info",
                                      "debug" };
    (void)baton;
    (void)file;
    (void)line;
    fprintf(stderr, "polyprov[%s]: %s\n",
            lv[level >= 0 && level <= PP_LOG_DEBUG ? level : 0], msg);
}

static pp_log_fn *log_fn = stderr_sink;
static void *log_baton;

void pp_set_logger(pp_log_fn *fn, void *baton)
{
    log_fn = fn ? fn : stderr_sink;
    log_baton = baton;
}

void pp_log_at(const char *file, int line, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(log_baton, file, line, level, buf);
}

void pp_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* The test seam: a countdown per kind, atomic so that a test build
 * under a threaded MPM cannot corrupt it; production never arms it. */

static unsigned long fault_countdown[PP_FAULT_KINDS];
static unsigned long fault_fired_n[PP_FAULT_KINDS];
static int fault_sticky[PP_FAULT_KINDS];

void pp_fault_arm_from(pp_fault_kind_t kind, unsigned long n, int sticky)
{
    if ((unsigned)kind < PP_FAULT_KINDS) {
        __atomic_store_n(&fault_fired_n[kind], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&fault_sticky[kind], sticky, __ATOMIC_RELAXED);
        __atomic_store_n(&fault_countdown[kind], n, __ATOMIC_RELEASE);
    }
}

void pp_fault_arm(pp_fault_kind_t kind, unsigned long n)
{
    pp_fault_arm_from(kind, n, 0);
}

void pp_fault_alloc_after(unsigned long n)
{
    pp_fault_arm(PP_FAULT_ALLOC, n);
}

int pp_fault(pp_fault_kind_t kind)
{
    unsigned long c = __atomic_load_n(&fault_countdown[kind],
                                      __ATOMIC_ACQUIRE);

    while (c != 0) {
        unsigned long next = c - 1;
        if (c == 1 && __atomic_load_n(&fault_sticky[kind],
                                      __ATOMIC_RELAXED)) {
            next = 1;                /* every operation from now on */
        }
        if (__atomic_compare_exchange_n(&fault_countdown[kind], &c, next,
                                        0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            if (c == 1) {
                __atomic_add_fetch(&fault_fired_n[kind], 1,
                                   __ATOMIC_RELAXED);
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

unsigned long pp_fault_fired(pp_fault_kind_t kind)
{
    return __atomic_load_n(&fault_fired_n[kind], __ATOMIC_RELAXED);
}

const char *pp_fault_name(pp_fault_kind_t kind)
{
    static const char *const names[PP_FAULT_KINDS] = {"alloc", "ssl", "io"};

    return (unsigned)kind < PP_FAULT_KINDS ? names[kind] : "?";
}

int pp_open(const char *path, int flags, unsigned int mode)
{
    if (pp_fault(PP_FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return open(path, flags, (mode_t)mode);
}

FILE *pp_fopen(const char *path, const char *mode)
{
    if (pp_fault(PP_FAULT_IO)) {
        errno = EIO;
        return NULL;
    }
    return fopen(path, mode);
}

void *pp_mmap(size_t len, int prot, int flags, int fd)
{
    if (pp_fault(PP_FAULT_IO)) {
        errno = EIO;
        return MAP_FAILED;
    }
    return mmap(NULL, len, prot, flags, fd, 0);
}

int pp_fault_arm_spec(const char *spec)
{
    unsigned long n;
    char name[8], plus = 0;
    int k;

    if (!spec || sscanf(spec, "%7[a-z]=%lu%c", name, &n, &plus) < 2
        || (plus && plus != '+')) {
        return -1;
    }
    for (k = 0; k < PP_FAULT_KINDS; k++) {
        if (!strcmp(name, pp_fault_name((pp_fault_kind_t)k))) {
            pp_fault_arm_from((pp_fault_kind_t)k, n, plus == '+');
            return k;
        }
    }
    return -1;
}

static int fault_now(void)
{
    if (pp_fault(PP_FAULT_ALLOC)) {
        errno = ENOMEM;             /* as malloc(3) would */
        return 1;
    }
    return 0;
}

void *pp_malloc(size_t n)
{
    return fault_now() ? NULL : malloc(n ? n : 1);
}

void *pp_calloc(size_t n, size_t size)
{
    return fault_now() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *pp_realloc(void *p, size_t n)
{
    return fault_now() ? NULL : realloc(p, n ? n : 1);
}

char *pp_strndup(const char *s, size_t n)
{
    char *d = pp_malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void pp_free(void *p)
{
    free(p);
}

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
