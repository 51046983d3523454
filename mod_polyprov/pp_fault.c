/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: the fault seam (pp_fault.h), and the allocation and
 * file operations that go through it (pp_alloc.h). */
#include "pp_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
