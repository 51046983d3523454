/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer harnesses of the core (make fuzz).  Each
 * harness checks the core against an independent reference written here,
 * in the plainest way, from docs/decisions.md's rules; a disagreement aborts with both
 * answers, and libFuzzer saves the input. */
#ifndef PP_FUZZ_H
#define PP_FUZZ_H

#include "pp_core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                             \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "\nfuzz check failed at %s:%d: %s\n  ",       \
                    __FILE__, __LINE__, #cond);                           \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
            abort();                                                      \
        }                                                                 \
    } while (0)

static void fuzz_no_log(void *baton, const char *file, int line, int level,
                        const char *msg)
{
    (void)baton;
    (void)file;
    (void)line;
    (void)level;
    (void)msg;
}

static inline void fuzz_init(void)
{
    static int done;
    if (!done) {
        pp_set_logger(fuzz_no_log, NULL);
        done = 1;
    }
}

/* A NUL-terminated copy (the input may hold NULs: the copy stops there). */
static inline char *fuzz_cstr(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) {
        abort();
    }
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

static inline int ref_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* docs/deployment.md's list notations (List files): 0004f2aabbcc, 00:04:f2:aa:bb:cc,
 * 00-04-f2-aa-bb-cc, 0004.f2aa.bbcc, any case. */
static inline int ref_mac(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    int digits = 0;
    char sep = 0;
    size_t every = 0;              /* a separator after every `every` */

    if (n == 12) {
        every = 0;
    }
    else if (n == 17 && (s[2] == ':' || s[2] == '-')) {
        sep = s[2];
        every = 2;
    }
    else if (n == 14) {
        sep = '.';
        every = 4;
    }
    else {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (every && i % (every + 1) == every) {
            if (s[i] != sep) {
                return 0;
            }
            continue;
        }
        if (ref_hex((unsigned char)s[i]) < 0) {
            return 0;
        }
        v = v << 4 | (uint64_t)ref_hex((unsigned char)s[i]);
        digits++;
    }
    if (digits != 12) {
        return 0;
    }
    *out = v;
    return 1;
}

#endif
