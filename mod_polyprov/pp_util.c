/* mod_polyprov core: reasons, logging sink, allocation (with a test seam). */
#include "pp_core.h"

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
};

const char *pp_reason_name(pp_reason_t r)
{
    if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0])
        && reason_names[r]) {
        return reason_names[r];
    }
    return "internal";
}

/* ------------------------------------------------------------------ */

static void stderr_sink(void *baton, int level, const char *msg)
{
    static const char *const lv[] = { "error", "warn", "info", "debug" };
    (void)baton;
    fprintf(stderr, "polyprov[%s]: %s\n", lv[level & 3], msg);
}

static pp_log_fn *log_fn = stderr_sink;
static void *log_baton;

void pp_set_logger(pp_log_fn *fn, void *baton)
{
    log_fn = fn ? fn : stderr_sink;
    log_baton = baton;
}

void pp_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, buf);
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
/* Allocation.  The fault counter is process-global and only meant for
 * single-threaded tests; production never sets it. */

static unsigned long fault_countdown;

void pp_fault_alloc_after(unsigned long n)
{
    fault_countdown = n;
}

static int fault_now(void)
{
    if (fault_countdown == 0) {
        return 0;
    }
    return --fault_countdown == 0;
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
