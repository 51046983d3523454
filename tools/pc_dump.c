/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check --dump: a reader of the flat JSON objects that
 * mod_polyprov_dump.c writes, one per line.  Not a general JSON parser:
 * an object of members whose values are strings, numbers, null, or arrays
 * of strings; anything else is an error.
 */
#define _GNU_SOURCE
#include "pc_dump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    char *err;
    size_t errlen;
} rd_t;

static void skip_ws(rd_t *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n') {
        r->p++;
    }
}

static int fail(rd_t *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s at '%.20s'", what, r->p);
    return 0;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A string (after its opening quote was seen): UTF-8, \uXXXX below 0x80
 * and the two-character escapes. */
static char *read_string(rd_t *r)
{
    size_t cap = strlen(r->p) + 1, n = 0;
    char *out;

    if (*r->p != '"') {
        fail(r, "a string expected");
        return NULL;
    }
    r->p++;
    if (!(out = malloc(cap))) {
        fail(r, "out of memory");
        return NULL;
    }
    while (*r->p && *r->p != '"') {
        char c = *r->p++;
        if (c == '\\') {
            c = *r->p++;
            switch (c) {
            case '"': case '\\': case '/': break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                int i, v = 0;
                for (i = 0; i < 4; i++) {
                    int h = hexval((unsigned char)r->p[i]);
                    if (h < 0) {
                        free(out);
                        fail(r, "a bad \\u escape");
                        return NULL;
                    }
                    v = v * 16 + h;
                }
                if (v == 0 || v > 0x7f) {
                    free(out);
                    fail(r, "a \\u escape this reader does not take");
                    return NULL;
                }
                r->p += 4;
                c = (char)v;
                break;
            }
            default:
                free(out);
                fail(r, "a bad escape");
                return NULL;
            }
        }
        out[n++] = c;
    }
    if (*r->p != '"') {
        free(out);
        fail(r, "an unterminated string");
        return NULL;
    }
    r->p++;
    out[n] = '\0';
    return out;
}

static int read_value(rd_t *r, pc_jv_t *v)
{
    skip_ws(r);
    if (*r->p == '"') {
        v->type = PC_J_STR;
        return (v->str = read_string(r)) != NULL;
    }
    if (!strncmp(r->p, "null", 4)) {
        r->p += 4;
        v->type = PC_J_NULL;
        return 1;
    }
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
        size_t n = strspn(r->p, "-0123456789");
        v->type = PC_J_NUM;
        if (!(v->str = strndup(r->p, n))) {
            return fail(r, "out of memory");
        }
        r->p += n;
        return 1;
    }
    if (*r->p == '[') {
        r->p++;
        v->type = PC_J_ARR;
        skip_ws(r);
        if (*r->p == ']') {
            r->p++;
            return 1;
        }
        for (;;) {
            char **na;
            char *s;
            skip_ws(r);
            if (!(s = read_string(r))) {
                return 0;
            }
            if (!(na = realloc(v->arr, sizeof(*na) * (size_t)(v->narr + 1)))) {
                free(s);
                return fail(r, "out of memory");
            }
            v->arr = na;
            v->arr[v->narr++] = s;
            skip_ws(r);
            if (*r->p == ',') {
                r->p++;
                continue;
            }
            if (*r->p == ']') {
                r->p++;
                return 1;
            }
            return fail(r, "',' or ']' expected");
        }
    }
    return fail(r, "a string, number, null or array expected");
}

int pc_json_line(const char *line, pc_jobj_t *o, char *err, size_t errlen)
{
    rd_t r;

    memset(o, 0, sizeof(*o));
    r.p = line;
    r.err = err;
    r.errlen = errlen;
    skip_ws(&r);
    if (*r.p != '{') {
        return fail(&r, "'{' expected");
    }
    r.p++;
    skip_ws(&r);
    if (*r.p == '}') {
        return 1;
    }
    for (;;) {
        pc_jv_t *nv = realloc(o->v, sizeof(*nv) * (size_t)(o->n + 1));
        pc_jv_t *v;
        if (!nv) {
            pc_json_free(o);
            return fail(&r, "out of memory");
        }
        o->v = nv;
        v = &o->v[o->n++];
        memset(v, 0, sizeof(*v));
        skip_ws(&r);
        if (!(v->key = read_string(&r))) {
            pc_json_free(o);
            return 0;
        }
        skip_ws(&r);
        if (*r.p != ':') {
            pc_json_free(o);
            return fail(&r, "':' expected");
        }
        r.p++;
        if (!read_value(&r, v)) {
            pc_json_free(o);
            return 0;
        }
        skip_ws(&r);
        if (*r.p == ',') {
            r.p++;
            continue;
        }
        if (*r.p == '}') {
            r.p++;
            skip_ws(&r);
            if (*r.p) {
                pc_json_free(o);
                return fail(&r, "text after the object");
            }
            return 1;
        }
        pc_json_free(o);
        return fail(&r, "',' or '}' expected");
    }
}

const pc_jv_t *pc_json_get(const pc_jobj_t *o, const char *key)
{
    int i;

    for (i = 0; i < o->n; i++) {
        if (!strcmp(o->v[i].key, key)) {
            return &o->v[i];
        }
    }
    return NULL;
}

const char *pc_json_str(const pc_jobj_t *o, const char *key)
{
    const pc_jv_t *v = pc_json_get(o, key);

    return v && v->str ? v->str : "";
}

void pc_json_free(pc_jobj_t *o)
{
    int i, k;

    for (i = 0; i < o->n; i++) {
        free(o->v[i].key);
        free(o->v[i].str);
        for (k = 0; k < o->v[i].narr; k++) {
            free(o->v[i].arr[k]);
        }
        free(o->v[i].arr);
    }
    free(o->v);
    o->v = NULL;
    o->n = 0;
}
