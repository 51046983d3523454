/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: MAC lists: a list file parsed and checked, a list built
 * from a database's rows, a lookup.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_MACLIST_H
#define PP_MACLIST_H

#include <stddef.h>
#include "pp_mac.h"

/* A sorted, de-duplicated array of MACs. */
typedef struct {
    pp_mac_t *macs;
    size_t count;
} pp_maclist_t;

/* Parse a list file.  Returns 1 on success (the caller frees list->macs
 * with pp_free); 0 when the content is wrong, with a message naming
 * "path:line"; -1 when the file could not be read or memory ran out
 * (worth trying again: the content may be fine). */
/* The strict check for pipelines (make check-list, polyprov-check): the
 * same rules as the server, the same return values; *count receives the
 * number of distinct MACs when the file is good. */
int pp_list_validate(const char *path, size_t *count, char *err,
                     size_t errlen);
/* The same, reporting every bad line instead of stopping at the first:
 * fn receives "path:line: ..." for each of the first max bad lines, and
 * *nbad (if not NULL) the number of bad lines in all (0 when the file is
 * good, or cannot be read, or is wrong as a whole: empty, not a regular
 * file; err says so then).  Returns as pp_list_validate. */
typedef void pp_list_bad_fn(void *baton, const char *msg);
/* How many bad lines the module (configtest) and the tools show. */
#define PP_LIST_BAD_SHOWN 100
int pp_list_validate_all(const char *path, size_t *count, unsigned long max,
                         pp_list_bad_fn *fn, void *baton,
                         unsigned long *nbad, char *err, size_t errlen);
int pp_maclist_load(const char *path, pp_maclist_t *list,
                    char *err, size_t errlen);
/* Same, from memory (name is used in messages). */
int pp_maclist_parse(const char *name, const char *buf, size_t len,
                     pp_maclist_t *list, char *err, size_t errlen);
int pp_maclist_contains(const pp_mac_t *macs, size_t count, pp_mac_t mac);

/* Building a list from values one at a time (a database's rows): each
 * value in any notation of the list format, surrounding whitespace
 * ignored (no comments).  Start from a zeroed builder. */
typedef struct {
    pp_maclist_t list;
    size_t cap;
} pp_macbuild_t;
/* 1 added; 0 not a MAC, with a message naming row `row` and the value
 * (value NULL: an SQL NULL); -1 out of memory. */
int pp_macbuild_row(pp_macbuild_t *b, const char *value, size_t len,
                    unsigned long row, char *err, size_t errlen);
/* Sort and de-duplicate into *out (the caller frees out->macs with
 * pp_free; never NULL on success, even for no MACs).  Returns 1, or -1
 * when out of memory (the builder is freed either way). */
int pp_macbuild_finish(pp_macbuild_t *b, pp_maclist_t *out);
void pp_macbuild_free(pp_macbuild_t *b);

#endif /* PP_MACLIST_H */
