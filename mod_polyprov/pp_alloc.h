/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: allocation, through the fault seam (pp_fault.h).
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_ALLOC_H
#define PP_ALLOC_H

#include <stddef.h>

/* Allocation: every core allocation goes through these, so tests can */
/* make any of them fail (see pp_fault_*).                             */

void *pp_malloc(size_t n);
void *pp_calloc(size_t n, size_t size);
void *pp_realloc(void *p, size_t n);
char *pp_strndup(const char *s, size_t n);
void pp_free(void *p);

#endif /* PP_ALLOC_H */
