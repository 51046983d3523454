/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: logging through the glue's sink, error messages. */
#include "pp_log.h"

#include <stdarg.h>
#include <stdio.h>

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
