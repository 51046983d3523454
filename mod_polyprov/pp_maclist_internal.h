/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core, internal to pp_maclist.c and pp_listset.c: what the
 * list set needs of the parsing (a file read, the steps of a background
 * parse).  Not part of pp_core.h.
 */
#ifndef PP_MACLIST_INTERNAL_H
#define PP_MACLIST_INTERNAL_H

#include "pp_core.h"

#include <stddef.h>
#include <sys/stat.h>

/* (prefixed symbols, the names the two files use) */
#define work_step pp_maclist_work_step
#define work_release pp_maclist_work_release
#define load_file pp_maclist_load_file
#define tl_reload_thread pp_maclist_tl_reload_thread
#define tl_working pp_maclist_tl_working

/* Lines, or 8-byte words written, between two steps of a background
 * parse: about 0.1 ms of work each. */
#define WORK_STEP 4096

/* Whether this thread called pp_reload_thread_start, and whether a parse
 * of its is under way. */
extern __thread int tl_reload_thread, tl_working
    __attribute__((visibility("hidden")));
/* A step of a background parse (it yields the core; nothing outside a
 * background parse). */
void work_step(void) __attribute__((visibility("hidden")));
/* Give a large block's pages back in pieces, a step each (a background
 * parse only). */
void work_release(void *p, size_t len) __attribute__((visibility("hidden")));
/* Read and parse a whole list file; *st receives its state as read.
 * Returns as pp_maclist_load. */
int load_file(const char *path, pp_maclist_t *list, struct stat *st,
              char *err, size_t errlen) __attribute__((visibility("hidden")));

#endif /* PP_MACLIST_INTERNAL_H */
