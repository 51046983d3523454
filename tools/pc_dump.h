/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check --dump: the lines of `apachectl -t -D DUMP_POLYPROV`
 * (JSON Lines, one flat object per scope: strings, integers, null, and
 * arrays of strings), read back.
 */
#ifndef PC_DUMP_H
#define PC_DUMP_H

#include <stddef.h>

enum { PC_J_NULL = 0, PC_J_STR, PC_J_NUM, PC_J_ARR };

typedef struct {
    char *key;
    int type;
    char *str;                   /* PC_J_STR, PC_J_NUM (its text) */
    char **arr;                  /* PC_J_ARR */
    int narr;
} pc_jv_t;

typedef struct {
    pc_jv_t *v;
    int n;
} pc_jobj_t;

/* Parse one line; 1, or 0 with a message. */
int pc_json_line(const char *line, pc_jobj_t *o, char *err, size_t errlen);
/* The member named key, or NULL. */
const pc_jv_t *pc_json_get(const pc_jobj_t *o, const char *key);
/* Its string ("" when absent or null). */
const char *pc_json_str(const pc_jobj_t *o, const char *key);
void pc_json_free(pc_jobj_t *o);

#endif /* PC_DUMP_H */
