/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: logging (the glue installs a sink) and error messages.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <stddef.h>

/* Logging: the glue installs a sink; the default writes to stderr.    */

enum { PP_LOG_ERR = 0, PP_LOG_WARN, PP_LOG_NOTICE, PP_LOG_INFO,
       PP_LOG_DEBUG };

/* The sink gets where the message was logged (the core's source file and
 * line) and its level, so that httpd's log says so. */
typedef void pp_log_fn(void *baton, const char *file, int line, int level,
                       const char *msg);

void pp_set_logger(pp_log_fn *fn, void *baton);
void pp_log_at(const char *file, int line, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define pp_log(level, ...) pp_log_at(__FILE__, __LINE__, (level), __VA_ARGS__)

/* snprintf into a caller's error buffer (errlen may be 0). */
void pp_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* PP_LOG_H */
