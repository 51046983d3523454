/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check --readiness: which phones PolyProv On would refuse, from
 * the error log of a host where PolyProv Report applies (docs/deployment.md,
 * "Migrating a live fleet").
 *
 * Reads the module's would-be refusals, PP140 (a request, subrequest or
 * response) and PP141 (a handshake mod_ssl ended, with the MAC the CN
 * names), and groups them by reason and phone: a phone is counted once per
 * reason however many requests it made.  A would-be refusal without a MAC
 * (no certificate, no TLS, a CN the pattern takes no MAC from) is grouped
 * by client address.
 *
 * Only lines the module wrote are read: the tag must follow httpd's
 * "[polyprov:notice] " and the line's other bracketed fields (so a URI that
 * some other module logs cannot pass for a line of the module's).
 */
#define _GNU_SOURCE
#include "pc_readiness.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD 256

typedef struct {
    char reason[40];
    char who[64];          /* a MAC, or a client address */
    int has_mac;
    unsigned long requests, handshakes;
    char first[40], last[40];
    char example[FIELD + 40]; /* the last request: method and URI */
    int used;
} entry_t;

typedef struct {
    entry_t *e;
    size_t cap, n;
} table_t;

static uint64_t hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *a; a++) {
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    }
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *b; b++) {
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    }
    return h;
}

static int grow(table_t *t)
{
    table_t n;
    size_t i;

    n.cap = t->cap ? t->cap * 2 : 256;
    n.n = 0;
    n.e = calloc(n.cap, sizeof(*n.e));
    if (!n.e) {
        return 0;
    }
    for (i = 0; i < t->cap; i++) {
        if (t->e[i].used) {
            size_t j = hash(t->e[i].reason, t->e[i].who) & (n.cap - 1);
            while (n.e[j].used) {
                j = (j + 1) & (n.cap - 1);
            }
            n.e[j] = t->e[i];
            n.n++;
        }
    }
    free(t->e);
    *t = n;
    return 1;
}

static entry_t *lookup(table_t *t, const char *reason, const char *who)
{
    size_t j;

    if ((t->n + 1) * 2 > t->cap && !grow(t)) {
        return NULL;
    }
    j = hash(reason, who) & (t->cap - 1);
    while (t->e[j].used) {
        if (!strcmp(t->e[j].reason, reason) && !strcmp(t->e[j].who, who)) {
            return &t->e[j];
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->e[j].used = 1;
    snprintf(t->e[j].reason, sizeof(t->e[j].reason), "%s", reason);
    snprintf(t->e[j].who, sizeof(t->e[j].who), "%s", who);
    t->n++;
    return &t->e[j];
}

/* The value of key (" key=") in s: up to the next blank, or the quoted
 * string (its backslash escapes kept) when it starts with a quote. */
static int field(const char *s, const char *key, char *out, size_t len)
{
    char pat[32];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof(pat), " %s=", key);
    if (!(p = strstr(s, pat))) {
        return 0;
    }
    p += strlen(pat);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1]) {
                if (n + 1 < len) {
                    out[n++] = *p;
                }
                p++;
            }
            if (n + 1 < len) {
                out[n++] = *p;
            }
        }
    }
    else {
        for (; *p && *p != ' ' && *p != '\n'; p++) {
            if (n + 1 < len) {
                out[n++] = *p;
            }
        }
    }
    out[n] = '\0';
    return 1;
}

static int is_mac(const char *s)
{
    int i;

    for (i = 0; i < 12; i++) {
        if (!strchr("0123456789abcdef", s[i])) {
            return 0;
        }
    }
    return s[12] == '\0';
}

/* One line of the error log: 1 if it was a would-be refusal. */
static int take(table_t *t, const char *line)
{
    static const char *const tags[] = { "] PP140: would refuse",
                                        "] PP141: would refuse" };
    const char *lvl = strstr(line, "[polyprov:notice] ");
    const char *tag = NULL, *end;
    char reason[40], mac[40], client[64], method[32], uri[FIELD];
    char stamp[40] = "";
    entry_t *e;
    int k, handshake = 0;

    if (!lvl) {
        return 0;
    }
    for (k = 0; k < 2 && !tag; k++) {
        const char *p = strstr(lvl, tags[k]);
        /* the tag follows the bracketed fields directly: nothing but
         * "[...] " between the level and it */
        if (p) {
            const char *q = lvl;
            while (q < p && *q == '[') {
                q = strchr(q, ']');
                if (!q || q > p) {
                    break;
                }
                if (q == p) {
                    tag = p;
                    handshake = k;
                    break;
                }
                q += 2;
            }
        }
    }
    if (!tag) {
        return 0;
    }
    tag += strlen(tags[handshake]);
    if (!field(tag, "reason", reason, sizeof(reason))
        || !field(tag, "mac", mac, sizeof(mac))) {
        return 0;
    }
    if (!field(tag, "client", client, sizeof(client))) {
        snprintf(client, sizeof(client), "?");
    }
    if (line[0] == '[' && (end = strchr(line, ']')) != NULL
        && (size_t)(end - line - 1) < sizeof(stamp)) {
        memcpy(stamp, line + 1, (size_t)(end - line - 1));
        stamp[end - line - 1] = '\0';
    }
    e = lookup(t, reason, is_mac(mac) ? mac : client);
    if (!e) {
        return -1;
    }
    e->has_mac = is_mac(mac);
    if (handshake) {
        e->handshakes++;
    }
    else {
        e->requests++;
        if (field(tag, "method", method, sizeof(method))
            && field(tag, "uri", uri, sizeof(uri))) {
            snprintf(e->example, sizeof(e->example), "%s %s", method, uri);
        }
    }
    if (!e->first[0]) {
        snprintf(e->first, sizeof(e->first), "%s", stamp);
    }
    snprintf(e->last, sizeof(e->last), "%s", stamp);
    return 1;
}

static int by_reason_then_who(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    int c = strcmp(x->reason, y->reason);

    if (c) {
        return c;
    }
    if (x->has_mac != y->has_mac) {
        return y->has_mac - x->has_mac;
    }
    return strcmp(x->who, y->who);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        }
        else if (c < 0x20 || c >= 0x7f) {
            fprintf(f, "\\u%04x", c);
        }
        else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct MACs over all reasons. */
static size_t count_phones(const entry_t *v, size_t n, size_t *clients)
{
    const char **macs = calloc(n ? n : 1, sizeof(*macs));
    const char **ips = calloc(n ? n : 1, sizeof(*ips));
    size_t i, m = 0, c = 0, distinct = 0, dc = 0;

    if (!macs || !ips) {
        free(macs);
        free(ips);
        *clients = 0;
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (v[i].has_mac) {
            macs[m++] = v[i].who;
        }
        else {
            ips[c++] = v[i].who;
        }
    }
    qsort(macs, m, sizeof(*macs), cmp_str);
    qsort(ips, c, sizeof(*ips), cmp_str);
    for (i = 0; i < m; i++) {
        distinct += !i || strcmp(macs[i], macs[i - 1]);
    }
    for (i = 0; i < c; i++) {
        dc += !i || strcmp(ips[i], ips[i - 1]);
    }
    free(macs);
    free(ips);
    *clients = dc;
    return distinct;
}

int pc_readiness(int argc, char **argv, int first, int json)
{
    table_t t = { NULL, 0, 0 };
    entry_t *v;
    size_t n = 0, i, phones, clients;
    unsigned long lines = 0, skipped = 0;
    char *buf = NULL;
    size_t cap = 0;
    int a, rc = 0;

    if (first >= argc) {
        fprintf(stderr, "polyprov-check: --readiness needs the error log "
                "(or several, or - for standard input)\n");
        return 2;
    }
    for (a = first; a < argc; a++) {
        FILE *f = strcmp(argv[a], "-") ? fopen(argv[a], "r") : stdin;
        if (!f) {
            fprintf(stderr, "polyprov-check: %s: %s\n", argv[a],
                    strerror(errno));
            free(t.e);
            free(buf);
            return 2;
        }
        while (getline(&buf, &cap, f) > 0) {
            int got = take(&t, buf);
            if (got < 0) {
                fprintf(stderr, "polyprov-check: out of memory\n");
                free(t.e);
                free(buf);
                return 2;
            }
            lines += (unsigned long)got;
            if (!got && (strstr(buf, "PP140: would refuse")
                         || strstr(buf, "PP141: would refuse"))) {
                skipped++;
            }
        }
        if (ferror(f)) {
            fprintf(stderr, "polyprov-check: %s: read error\n", argv[a]);
            rc = 2;
        }
        if (f != stdin) {
            fclose(f);
        }
    }
    free(buf);
    if (skipped) {
        /* an ErrorLogFormat without httpd's "[module:level] " field, or
         * a would-be refusal's text inside another line (a URI) */
        fprintf(stderr, "polyprov-check: %lu line(s) name PP140 or PP141 "
                "but are not the module's as httpd's default ErrorLogFormat "
                "writes them ([polyprov:notice] before the tag): not "
                "counted\n", skipped);
    }
    v = calloc(t.n ? t.n : 1, sizeof(*v));
    if (!v) {
        free(t.e);
        return 2;
    }
    for (i = 0; i < t.cap; i++) {
        if (t.e[i].used) {
            v[n++] = t.e[i];
        }
    }
    free(t.e);
    qsort(v, n, sizeof(*v), by_reason_then_who);
    phones = count_phones(v, n, &clients);

    if (json) {
        printf("{\"logs\": %d, \"refusals\": %lu, \"phones\": %zu, "
               "\"clients_without_mac\": %zu, \"reasons\": [",
               argc - first, lines, phones, clients);
        for (i = 0; i < n; i++) {
            if (!i || strcmp(v[i].reason, v[i - 1].reason)) {
                printf("%s{\"reason\": ", i ? "]}, " : "");
                json_str(stdout, v[i].reason);
                printf(", \"phones\": [");
            }
            else {
                printf(", ");
            }
            printf("{\"mac\": ");
            if (v[i].has_mac) {
                json_str(stdout, v[i].who);
                printf(", \"client\": null");
            }
            else {
                printf("null, \"client\": ");
                json_str(stdout, v[i].who);
            }
            printf(", \"requests\": %lu, \"handshakes\": %lu, \"first\": ",
                   v[i].requests, v[i].handshakes);
            json_str(stdout, v[i].first);
            printf(", \"last\": ");
            json_str(stdout, v[i].last);
            printf(", \"example\": ");
            json_str(stdout, v[i].example);
            printf("}");
        }
        printf("%s]}\n", n ? "]}" : "");
    }
    else if (!n) {
        printf("no would-be refusal in %d log(s): PolyProv On would refuse "
               "no phone seen there\n", argc - first);
    }
    else {
        printf("%zu phone(s) would be refused by PolyProv On (and %zu "
               "client address(es) without a MAC), from %lu line(s) of "
               "%d log(s):\n", phones, clients, lines, argc - first);
        for (i = 0; i < n; i++) {
            if (!i || strcmp(v[i].reason, v[i - 1].reason)) {
                size_t j, k = 0;
                for (j = i; j < n && !strcmp(v[j].reason, v[i].reason); j++) {
                    k++;
                }
                printf("\n%s: %zu\n", v[i].reason, k);
            }
            printf("  %-14s %lu request(s)", v[i].who, v[i].requests);
            if (v[i].handshakes) {
                printf(", %lu handshake(s) mod_ssl ended", v[i].handshakes);
            }
            printf("; last %s", v[i].last[0] ? v[i].last : "?");
            if (v[i].example[0]) {
                printf("; %s", v[i].example);
            }
            printf("\n");
        }
    }
    free(v);
    if (rc) {
        return rc;
    }
    return n ? 1 : 0;
}
