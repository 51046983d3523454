/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the one test seam for faults.  Not part of the
 * core's interface for its users (the glue, the tools): the core's own
 * files use it for every allocation, OpenSSL call and file operation that
 * can fail on its own, and the tests (and the test-only build, make
 * faults) arm it.
 */
#ifndef PP_FAULT_H
#define PP_FAULT_H

#include "pp_core.h"

/* Test seam.  The core asks pp_fault(kind) before each allocation, each
 * OpenSSL call that can fail on its own (not on bad input), and each
 * open/mmap of a file; when it returns 1 the operation fails as if the
 * system had refused it.  pp_fault_arm(kind, n) makes the Nth such
 * operation from now fail, once (0 disarms); pp_fault_arm_from makes it
 * and every later one fail.  Nothing in the module arms
 * it except the test-only build (make faults). */
typedef enum {
    PP_FAULT_ALLOC = 0,
    PP_FAULT_SSL,
    PP_FAULT_IO,
    PP_FAULT_KINDS
} pp_fault_kind_t;

void pp_fault_arm(pp_fault_kind_t kind, unsigned long n);
/* The same, and with sticky set every later operation fails too. */
void pp_fault_arm_from(pp_fault_kind_t kind, unsigned long n, int sticky);
int pp_fault(pp_fault_kind_t kind);
unsigned long pp_fault_fired(pp_fault_kind_t kind);  /* since last arm */
const char *pp_fault_name(pp_fault_kind_t kind);
/* The same as pp_fault_arm(PP_FAULT_ALLOC, n). */
void pp_fault_alloc_after(unsigned long n);
/* "alloc=N", "ssl=N+", ...: arms that kind; returns it, or -1. */
int pp_fault_arm_spec(const char *spec);
/* open(2), fopen(3) and mmap(2) (at no fixed address), subject to
 * PP_FAULT_IO (errno EIO). */
int pp_open(const char *path, int flags, unsigned int mode);
FILE *pp_fopen(const char *path, const char *mode);
void *pp_mmap(size_t len, int prot, int flags, int fd);

#endif /* PP_FAULT_H */
