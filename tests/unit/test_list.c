/* SPDX-License-Identifier: Apache-2.0 */
/* PP_STEP_DENY_LIST and PP_STEP_ALLOW_LIST: list files, their reload and their sharing. */
#define _GNU_SOURCE
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define A 0x0004F2000A01ULL
#define B 0x0004F2000B02ULL
#define C 0x0004F2000C03ULL

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Write a file in place with the given modification time. */
static void write_at(const char *path, const char *content, int64_t mtime_us)
{
    FILE *f = fopen(path, "w");
    struct timeval tv[2];

    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    tv[0].tv_sec = mtime_us / 1000000;
    tv[0].tv_usec = mtime_us % 1000000;
    tv[1] = tv[0];
    ck_assert_int_eq(utimes(path, tv), 0);
}

/* Write a file in place and date it age_s seconds back. */
static void write_aged(const char *path, const char *content, int age_s)
{
    write_at(path, content, now_us() - (int64_t)age_s * 1000000);
}

static int parse(const char *text, pp_maclist_t *l, char *err, size_t len)
{
    return pp_maclist_parse("list.txt", text, strlen(text), l, err, len);
}

START_TEST(notations_and_comments)
{
    pp_maclist_t l;
    char err[512];
    const char *text =
        "\xef\xbb\xbf# phones of floor 3\r\n"
        "0004f2000a01\r\n"
        "\n"
        "   00:04:F2:00:0B:02   # desk 12\n"
        "\t00-04-f2-00-0c-03\t\n"
        "0004.F200.0A01\n"
        "# 0004f2ffffff is commented out\n"
        "0004F2000B02";                      /* no newline at the end */

    ck_assert_msg(parse(text, &l, err, sizeof(err)) == 1, "%s", err);
    ck_assert_uint_eq(l.count, 3);           /* de-duplicated */
    ck_assert(pp_maclist_contains(l.macs, l.count, A));
    ck_assert(pp_maclist_contains(l.macs, l.count, B));
    ck_assert(pp_maclist_contains(l.macs, l.count, C));
    ck_assert(!pp_maclist_contains(l.macs, l.count, 0x0004F2FFFFFFULL));
    ck_assert(l.macs[0] < l.macs[1] && l.macs[1] < l.macs[2]);
    pp_free(l.macs);
}
END_TEST

START_TEST(errors_name_the_line)
{
    pp_maclist_t l;
    char err[512];

    ck_assert(!parse("0004f2000a01\n# ok\nnot-a-mac\n", &l, err,
                     sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "list.txt:3: 'not-a-mac'"));
    ck_assert(!parse("0004f2000a01 0004f2000b02\n", &l, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "list.txt:1:"));
    ck_assert(!parse("0004f2000a0\n", &l, err, sizeof(err)));
    ck_assert(!parse("0004f2000a01x\n", &l, err, sizeof(err)));
    ck_assert(!parse("\n\n00:04:f2:00:0a:01:02\n", &l, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "list.txt:3:"));
    /* a NUL byte is shown, not swallowed */
    ck_assert(!pp_maclist_parse("l", "0004f2\0000a01\n", 14, &l, err,
                                sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "\\x00"));
    ck_assert_ptr_null(l.macs);
}
END_TEST

START_TEST(empty_and_comment_only)
{
    pp_maclist_t l;
    char err[512];

    ck_assert(!pp_maclist_parse("l", "", 0, &l, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "empty (0 bytes)"));
    ck_assert(parse("# nobody yet\n", &l, err, sizeof(err)) == 1);
    ck_assert_uint_eq(l.count, 0);
    ck_assert(!pp_maclist_contains(l.macs, l.count, A));
    pp_free(l.macs);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    pp_mac_t x = *(const pp_mac_t *)a, y = *(const pp_mac_t *)b;

    return x < y ? -1 : x > y;
}

START_TEST(large_list_sorted)
{
    size_t n = 300000, i;
    char *text = malloc(n * 13 + 1), *p = text;
    pp_mac_t *want = malloc(n * sizeof(*want));
    pp_maclist_t l;
    char err[512];

    srand(42);
    for (i = 0; i < n; i++) {
        pp_mac_t m = (((pp_mac_t)rand() << 24) ^ (pp_mac_t)rand())
                     & 0xFFFFFFFFFFFFULL;
        want[i] = m;
        pp_mac_format(m, p);
        p[12] = '\n';
        p += 13;
    }
    *p = '\0';
    ck_assert(pp_maclist_parse("big", text, (size_t)(p - text), &l, err,
                               sizeof(err)) == 1);
    for (i = 1; i < l.count; i++) {
        ck_assert(l.macs[i - 1] < l.macs[i]);
    }
    for (i = 0; i < n; i += 997) {
        ck_assert(pp_maclist_contains(l.macs, l.count, want[i]));
    }
    ck_assert(!pp_maclist_contains(l.macs, l.count, 0x1000000000000ULL));
    pp_free(l.macs);

    /* the same with every MAC twice (some in capitals) and a broken line
     * far down: exactly the sorted distinct set, and the error names the
     * line after the 2n fast-path lines */
    {
        char *text2 = malloc(n * 26 + 32), *q = text2, msg[64];
        size_t distinct = 1;

        for (i = 0; i < 2 * n; i++) {
            pp_mac_format(want[i % n], q);
            if (i % 7 == 0) {
                size_t k;
                for (k = 0; k < 12; k++) {
                    q[k] = (char)toupper((unsigned char)q[k]);
                }
            }
            q[12] = '\n';
            q += 13;
        }
        ck_assert(pp_maclist_parse("big", text2, (size_t)(q - text2), &l,
                                   err, sizeof(err)) == 1);
        qsort(want, n, sizeof(*want), cmp_u64);
        for (i = 1; i < n; i++) {
            if (want[i] != want[i - 1]) {
                want[distinct++] = want[i];
            }
        }
        ck_assert_uint_eq(l.count, distinct);
        ck_assert(!memcmp(l.macs, want, distinct * sizeof(*want)));
        pp_free(l.macs);
        memcpy(q, "0004f2zz0a01\n", 13);
        q += 13;
        ck_assert(!pp_maclist_parse("big", text2, (size_t)(q - text2), &l,
                                    err, sizeof(err)));
        snprintf(msg, sizeof(msg), "big:%zu: '0004f2zz0a01'", 2 * n + 1);
        ck_assert_msg(strstr(err, msg) != NULL, "%s", err);
        free(text2);
    }
    free(want);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ */

typedef struct {
    pp_listset_t *set;
    char dir[512], state[600], path[600];
    int idx;
} fixture_t;

static void setup_set(fixture_t *fx, const char *content)
{
    char err[512];

    snprintf(fx->dir, sizeof(fx->dir), "%s", tmpdir());
    snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
    snprintf(fx->path, sizeof(fx->path), "%s/allow.txt", fx->dir);
    write_aged(fx->path, content, 10);
    fx->set = pp_listset_new();
    fx->idx = pp_listset_add(fx->set, fx->path, err, sizeof(err));
    ck_assert_msg(fx->idx == 0, "%s", err);
    ck_assert_int_eq(pp_listset_add(fx->set, fx->path, err, sizeof(err)), 0);
    ck_assert_msg(pp_listset_start(fx->set, fx->state, 1, -1, -1, err,
                                   sizeof(err)), "%s", err);
}

START_TEST(set_lookup)
{
    fixture_t fx;
    char err[512];

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    ck_assert_int_eq(pp_listset_count(fx.set), 1);
    ck_assert_str_eq(pp_listset_path(fx.set, 0), fx.path);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, pp_monotonic_us(), 5), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 7, A, pp_monotonic_us(), 5), -1);
    ck_assert_int_eq(pp_listset_add(fx.set, "/nonexistent", err,
                                     sizeof(err)), -1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
    ck_assert_int_eq(access(fx.state, F_OK), -1);
}
END_TEST

/* A list is data: a file that cannot be read or is broken is registered
 * all the same, and says why (it used to fail the configuration). */
START_TEST(set_add_errors)
{
    pp_listset_t *set = pp_listset_new();
    char err[512];
    const char *bad = write_tmp("bad.txt", "0004f2000a01\nfoo\n");

    ck_assert_int_eq(pp_listset_add(set, "/nonexistent/allow", err,
                                     sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "cannot read '/nonexistent/allow'"));
    ck_assert_ptr_nonnull(strstr(pp_listset_problem(set, 0),
                                 "cannot read '/nonexistent/allow'"));
    ck_assert_int_eq(pp_listset_add(set, bad, err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "bad.txt:2: 'foo'"));
    ck_assert_ptr_nonnull(strstr(pp_listset_problem(set, 1),
                                 "bad.txt:2: 'foo'"));
    ck_assert_int_eq(pp_listset_add(set, "/tmp", err, sizeof(err)), 2);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    ck_assert_int_eq(pp_listset_add(set, write_tmp("e", ""), err,
                                     sizeof(err)), 3);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    /* a good one has no problem */
    ck_assert_int_eq(pp_listset_add(set, write_tmp("g", "0004f2000a01\n"),
                                     err, sizeof(err)), 4);
    ck_assert_ptr_null(pp_listset_problem(set, 4));
    ck_assert_str_eq(err, "");
    ck_assert_ptr_null(pp_listset_problem(set, 9));
    pp_listset_free(set);
}
END_TEST

/* Every bad line, the first max of them, and how many in all. */
typedef struct {
    char lines[8][256];
    int n;
} bad_seen_t;

static void bad_cb(void *baton, const char *msg)
{
    bad_seen_t *b = baton;

    ck_assert_int_lt(b->n, 8);
    snprintf(b->lines[b->n++], sizeof(b->lines[0]), "%s", msg);
}

START_TEST(validate_all_reports_every_bad_line)
{
    const char *path = write_tmp("three.txt", "# x\n0004f2000a01\nbad\n\n"
                                 "00:04:f2\n0004f2000b02 # ok\nzz\n");
    bad_seen_t b;
    unsigned long nbad = 9;
    size_t count = 7;
    char err[512];

    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(pp_list_validate_all(path, &count, 100, bad_cb, &b,
                                          &nbad, err, sizeof(err)), 0);
    ck_assert_uint_eq(nbad, 3);
    ck_assert_int_eq(b.n, 3);
    ck_assert_ptr_nonnull(strstr(b.lines[0], "three.txt:3: 'bad'"));
    ck_assert_ptr_nonnull(strstr(b.lines[1], "three.txt:5: '00:04:f2'"));
    ck_assert_ptr_nonnull(strstr(b.lines[2], "three.txt:7: 'zz'"));
    /* err holds the first, as pp_list_validate's */
    ck_assert_ptr_nonnull(strstr(err, "three.txt:3: 'bad'"));
    ck_assert_uint_eq(count, 7);               /* untouched */
    /* the cap: two shown, three counted */
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(pp_list_validate_all(path, NULL, 2, bad_cb, &b, &nbad,
                                          err, sizeof(err)), 0);
    ck_assert_int_eq(b.n, 2);
    ck_assert_uint_eq(nbad, 3);
    /* a good list: no call, its count */
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(pp_list_validate_all(write_tmp("ok.txt", "0004f2000a01\n"
                                                    "0004F2000A01\n"),
                                          &count, 100, bad_cb, &b, &nbad, err,
                                          sizeof(err)), 1);
    ck_assert_int_eq(b.n, 0);
    ck_assert_uint_eq(nbad, 0);
    ck_assert_uint_eq(count, 1);
    /* wrong as a whole, or unreadable: err, no bad line */
    ck_assert_int_eq(pp_list_validate_all(write_tmp("e.txt", ""), NULL, 100,
                                          bad_cb, &b, &nbad, err,
                                          sizeof(err)), 0);
    ck_assert_uint_eq(nbad, 0);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    ck_assert_int_eq(pp_list_validate_all("/nonexistent/x", NULL, 100,
                                          bad_cb, &b, &nbad, err,
                                          sizeof(err)), -1);
    ck_assert_int_eq(b.n, 0);
}
END_TEST

/* A list withheld before the start (the children cannot read it) is not
 * in force, however good root found it, until it is read again. */
START_TEST(withheld_list_is_unavailable)
{
    fixture_t fx;
    char err[512];
    uint64_t count = 9;

    capture_logs();
    snprintf(fx.dir, sizeof(fx.dir), "%s", tmpdir());
    snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
    snprintf(fx.path, sizeof(fx.path), "%s/allow.txt", fx.dir);
    write_aged(fx.path, "0004f2000a01\n", 10);
    fx.set = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(fx.set, fx.path, err, sizeof(err)), 0);
    ck_assert_ptr_null(pp_listset_problem(fx.set, 0));
    ck_assert_int_eq(pp_listset_withhold(fx.set, 0, "not for the children"),
                     1);
    ck_assert_int_eq(pp_listset_withhold(fx.set, 3, "no such list"), 0);
    ck_assert_str_eq(pp_listset_problem(fx.set, 0), "not for the children");
    ck_assert(pp_listset_start(fx.set, fx.state, 0, -1, -1, err,
                               sizeof(err)));
    ck_assert_int_eq(pp_listset_withhold(fx.set, 0, "too late"), 0);
    ck_assert_int_eq(pp_listset_origin(fx.set, 0, &count), PP_LIST_NONE);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 5),
                     PP_LIST_UNAVAILABLE);
    /* read again at the next interval, as any list that never loaded */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A,
                                       pp_monotonic_us() + 6000000, 5), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A list that has never loaded refuses (PP_LIST_UNAVAILABLE, not an
 * error), is tried again each interval, and is used once it loads. */
START_TEST(never_loaded_is_unavailable_until_fixed)
{
    fixture_t fx;
    char err[512];
    int64_t t = pp_monotonic_us();
    uint64_t count = 99;
    int logged;

    capture_logs();
    snprintf(fx.dir, sizeof(fx.dir), "%s", tmpdir());
    snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
    snprintf(fx.path, sizeof(fx.path), "%s/allow.txt", fx.dir);
    write_aged(fx.path, "0004f2000a01\nnot-a-mac\n", 10);
    fx.set = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(fx.set, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(fx.set, fx.state, 0, -1, -1, err,
                               sizeof(err)));
    ck_assert_int_eq(pp_listset_origin(fx.set, 0, &count), PP_LIST_NONE);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(pp_listset_map_current(fx.set), 0);
    /* A is in the broken file, but nothing of it is in force */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 5),
                     PP_LIST_UNAVAILABLE);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5),
                     PP_LIST_UNAVAILABLE);
    logged = captured_count();
    /* the same broken version is not logged again at the next interval */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5),
                     PP_LIST_UNAVAILABLE);
    ck_assert_int_eq(captured_count(), logged);
    /* still broken, differently: logged, saying it never loaded */
    write_aged(fx.path, "bad\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 18000000, 5),
                     PP_LIST_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(captured(), "PP032: list "));
    ck_assert_ptr_nonnull(strstr(captured(), "allow.txt:1: 'bad'"));
    ck_assert_ptr_nonnull(strstr(captured(), "never loaded"));
    /* fixed: picked up at the next interval */
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 24000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 24000000, 5), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "PP033: list "));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A missing list with PolyProvReloadInterval 0 is tried again all the same
 * (every PP_LIST_RETRY_S): there is nothing in force to keep. */
START_TEST(never_loaded_retried_with_interval_zero)
{
    fixture_t fx;
    char err[512];
    int64_t t = pp_monotonic_us();

    capture_logs();
    snprintf(fx.dir, sizeof(fx.dir), "%s", tmpdir());
    snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
    snprintf(fx.path, sizeof(fx.path), "%s/deny.txt", fx.dir);
    fx.set = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(fx.set, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(fx.set, fx.state, 0, -1, -1, err,
                               sizeof(err)));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 0),
                     PP_LIST_UNAVAILABLE);
    write_aged(fx.path, "0004f2000a01\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 1000000, 0),
                     PP_LIST_UNAVAILABLE);       /* not yet */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A,
                                        t + (PP_LIST_RETRY_S + 1) * 1000000LL,
                                        0), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A graceful restart (a new generation in the same state directory) with
 * a broken or unreadable list keeps the last good version the previous
 * generation had, the one reloaded at run time included. */
START_TEST(kept_across_generations)
{
    fixture_t fx;
    char err[512], other[700];
    pp_listset_t *g2, *g3;
    uint64_t count = 0;

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");            /* generation 1 */
    ck_assert_int_eq(pp_listset_origin(fx.set, 0, &count), PP_LIST_READ);
    ck_assert_uint_eq(count, 1);
    write_aged(fx.path, "0004f2000a01\n0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, pp_monotonic_us() + 6000000, 5),
                     1);                        /* version 2 of gen 1 */
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    write_aged(fx.path, "garbage\n", 3);
    /* generation 2: another list first, so the index differs */
    snprintf(other, sizeof(other), "%s/other.txt", fx.dir);
    write_aged(other, "0004f2000c03\n", 3);
    g2 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(g2, other, err, sizeof(err)), 0);
    ck_assert_int_eq(pp_listset_add(g2, fx.path, err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "allow.txt:1: 'garbage'"));
    ck_assert(pp_listset_start(g2, fx.state, 2, -1, -1, err, sizeof(err)));
    ck_assert_int_eq(pp_listset_origin(g2, 1, &count), PP_LIST_KEPT);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(pp_listset_origin(g2, 0, NULL), PP_LIST_READ);
    ck_assert_int_eq(pp_listset_lookup(g2, 1, B, pp_monotonic_us(), 5), 1);
    ck_assert_int_eq(pp_listset_lookup(g2, 1, C, pp_monotonic_us(), 5), 0);
    ck_assert_int_eq(pp_listset_lookup(g2, 0, C, pp_monotonic_us(), 5), 1);
    /* the broken version is known: not logged again by a lookup */
    ck_assert_int_eq(pp_listset_lookup(g2, 1, B, pp_monotonic_us() + 6000000, 5), 1);
    ck_assert_ptr_null(strstr(captured(), "garbage"));
    /* generation 3, unreadable this time: kept again, from generation 2 */
    unlink(fx.path);
    g3 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(g3, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(g3, fx.state, 3, -1, -1, err, sizeof(err)));
    ck_assert_int_eq(pp_listset_origin(g3, 0, &count), PP_LIST_KEPT);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(pp_listset_lookup(g3, 0, B, pp_monotonic_us(), 5), 1);
    /* a generation with no predecessor keeps nothing */
    pp_listset_free(g3);
    g3 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(g3, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(g3, fx.state, 9, -1, -1, err, sizeof(err)));
    ck_assert_int_eq(pp_listset_origin(g3, 0, NULL), PP_LIST_NONE);
    ck_assert_int_eq(pp_listset_lookup(g3, 0, B, pp_monotonic_us(), 5),
                     PP_LIST_UNAVAILABLE);
    pp_listset_free(fx.set);
    pp_listset_free(g2);
    pp_listset_free(g3);
    pp_statedir_remove(fx.state);
    ck_assert_int_eq(access(fx.state, F_OK), -1);  /* manifests gone too */
}
END_TEST

/* A process two restarts old, whose sibling published a version it had
 * not mapped before those restarts removed its generation's files, uses
 * the newest version a newer generation published (not `internal`). */
START_TEST(old_generation_falls_forward)
{
    fixture_t fx;
    pp_listset_t *g2, *g3;
    char err[512];
    pid_t pid;
    int st = -1;

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");           /* generation 1 */
    write_aged(fx.path, "0004f2000a01\n0004f2000c03\n", 3);
    /* a sibling process publishes version 2; this one does not map it */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(pp_listset_lookup(fx.set, 0, C, pp_monotonic_us() + 6000000, 5)
              == 1 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* two restarts: generation 3 removes generation 1's files */
    g2 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(g2, fx.path, err, sizeof(err)), 0);
    ck_assert_msg(pp_listset_start(g2, fx.state, 2, -1, -1, err, sizeof(err)),
                  "%s", err);
    g3 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(g3, fx.path, err, sizeof(err)), 0);
    ck_assert_msg(pp_listset_start(g3, fx.state, 3, -1, -1, err, sizeof(err)),
                  "%s", err);
    /* the old process's next lookup (no reload of its own: interval 0) */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, pp_monotonic_us(), 0), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, pp_monotonic_us(), 0), 0);
    ck_assert_ptr_nonnull(strstr(captured(), "PP051"));
    pp_listset_free(fx.set);
    pp_listset_free(g2);
    pp_listset_free(g3);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(validate_for_pipelines)
{
    char err[512];
    size_t n = 0;

    ck_assert_int_eq(pp_list_validate(write_tmp("ok.txt", "# fleet\n"
        "0004f2000a01\n00:04:f2:00:0a:01\n0004.f200.0b02\n"), &n, err,
        sizeof(err)), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(pp_list_validate(write_tmp("bad.txt", "0004f2000a01\n"
        "\n0004f2000b0\n"), &n, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "bad.txt:3: '0004f2000b0'"));
    ck_assert_int_eq(pp_list_validate("/nonexistent/x", &n, err,
                                      sizeof(err)), -1);
}
END_TEST

START_TEST(reload_on_change)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    write_aged(fx.path, "0004f2000b02\n", 3);
    /* not yet: checked at most every interval seconds */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 1000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 5), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    ck_assert_ptr_nonnull(strstr(captured(), "reloaded: 1 MACs (version 2)"));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A version that could not be read (I/O, memory) is read again at the
 * next interval; before, it was recorded like a broken version and a good
 * new list was never loaded until the file changed again. */
START_TEST(read_failure_is_retried)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();
    int kind;

    capture_logs();
    /* reading a list calls no OpenSSL: an armed SSL fault never fires
     * there (and the list loads); the other kinds do */
    setup_set(&fx, "0004f2000a01\n");
    write_aged(fx.path, "0004f2000b02\n", 3);
    pp_fault_arm(PP_FAULT_SSL, 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 5), 1);
    ck_assert_uint_eq(pp_fault_fired(PP_FAULT_SSL), 0);
    pp_fault_arm(PP_FAULT_SSL, 0);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
    for (kind = PP_FAULT_ALLOC; kind <= PP_FAULT_IO; kind++) {
        if (kind == PP_FAULT_SSL) {
            continue;                    /* shown above: none to fail */
        }
        setup_set(&fx, "0004f2000a01\n");
        write_aged(fx.path, "0004f2000b02\n", 3);
        pp_fault_arm((pp_fault_kind_t)kind, 1);     /* the reload's first */
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 1);
        ck_assert_uint_eq(pp_fault_fired((pp_fault_kind_t)kind), 1);
        ck_assert_ptr_nonnull(strstr(captured(), "will try again"));
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 12000000, 5), 1);
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5), 0);
        pp_listset_free(fx.set);
        pp_statedir_remove(fx.state);
    }
}
END_TEST

/* The seam itself: once, from then on, and disarmed. */
START_TEST(fault_seam)
{
    int i, hits = 0;

    pp_fault_arm(PP_FAULT_IO, 3);
    for (i = 0; i < 10; i++) {
        hits += pp_fault(PP_FAULT_IO);
    }
    ck_assert_int_eq(hits, 1);
    ck_assert_uint_eq(pp_fault_fired(PP_FAULT_IO), 1);
    pp_fault_arm_from(PP_FAULT_IO, 3, 1);
    for (i = 0, hits = 0; i < 10; i++) {
        hits += pp_fault(PP_FAULT_IO);
    }
    ck_assert_int_eq(hits, 8);
    pp_fault_arm(PP_FAULT_IO, 0);
    ck_assert_int_eq(pp_fault(PP_FAULT_IO), 0);
    i = pp_open("/dev/null", 0, 0);
    ck_assert_int_ge(i, 0);
    close(i);
    pp_fault_arm(PP_FAULT_IO, 1);
    ck_assert_int_eq(pp_open("/dev/null", 0, 0), -1);
    ck_assert_int_eq(errno, EIO);
    pp_fault_arm(PP_FAULT_IO, 1);
    ck_assert_ptr_null(pp_fopen("/dev/null", "r"));
    ck_assert_int_eq(errno, EIO);
}
END_TEST

START_TEST(broken_version_keeps_last_good)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();
    int logged;

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    write_aged(fx.path, "0004f2000b02\nbroken line\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 5), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "allow.txt:2: 'broken line'"));
    ck_assert_ptr_nonnull(strstr(captured(), "keeping the last good list"));
    logged = captured_count();
    /* the same broken version is not logged again */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5), 1);
    ck_assert_int_eq(captured_count(), logged);
    /* a good version after it is taken */
    write_aged(fx.path, "0004f2000c03\n", 2);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, t + 18000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 18000000, 5), 0);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* What a monitor reads: the version, its MACs, whether the file as it
 * stands is in force; and one event per load or logged problem, in the
 * process that made it (a forked child here). */
typedef struct {
    int loaded, errors, last_idx;
} events_t;

static void count_event(void *baton, int idx, int event)
{
    events_t *ev = baton;

    ev->last_idx = idx;
    if (event == PP_LIST_EVENT_LOADED) {
        ev->loaded++;
    }
    else if (event == PP_LIST_EVENT_ERROR) {
        ev->errors++;
    }
}

START_TEST(state_and_events)
{
    fixture_t fx;
    pp_list_state_t st;
    events_t ev = { 0, 0, -1 };
    int64_t t = now_us();

    capture_logs();
    setup_set(&fx, "0004f2000a01\n0004f2000b02\n");
    pp_listset_observe(fx.set, count_event, &ev);
    ck_assert_int_eq(pp_listset_state(fx.set, 1, &st), 0);
    ck_assert_int_eq(pp_listset_state(fx.set, 0, &st), 1);
    ck_assert_uint_eq(st.version, 1);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_int_eq(st.failing, 0);
    /* a broken version: one error, the last good one stays */
    write_aged(fx.path, "0004f2000c03\nbroken\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 1);
    ck_assert_int_eq(ev.errors, 1);
    ck_assert_int_eq(ev.loaded, 0);
    ck_assert_int_eq(ev.last_idx, 0);
    ck_assert_int_eq(pp_listset_state(fx.set, 0, &st), 1);
    ck_assert_uint_eq(st.version, 1);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_int_eq(st.failing, 1);
    /* logged once, counted once */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5), 1);
    ck_assert_int_eq(ev.errors, 1);
    /* deleted: another problem */
    unlink(fx.path);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 18000000, 5), 1);
    ck_assert_int_eq(ev.errors, 2);
    /* a good version, loaded by another process: the event is its own,
     * the state is everyone's */
    write_aged(fx.path, "0004f2000c03\n0004f2000a01\n0004f2000b02\n", 3);
    {
        pid_t kid = fork();
        int status;
        if (kid == 0) {
            int ok = pp_listset_lookup(fx.set, 0, C, t + 24000000, 5) == 1
                     && ev.loaded == 1;
            _exit(ok ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(kid, &status, 0), kid);
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(ev.loaded, 0);
    ck_assert_int_eq(pp_listset_state(fx.set, 0, &st), 1);
    ck_assert_uint_eq(st.version, 2);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_int_eq(st.failing, 0);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(truncated_deleted_unreadable)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();
    int logged;

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    write_aged(fx.path, "", 3);                        /* truncated */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "empty (0 bytes)"));
    unlink(fx.path);                                   /* deleted */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "cannot stat"));
    logged = captured_count();
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 18000000, 5), 1);
    ck_assert_int_eq(captured_count(), logged);        /* logged once */
    write_aged(fx.path, "0004f2000b02\n", 3);          /* back */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 24000000, 5), 1);
    write_aged(fx.path, "0004f2000c03\n", 3);
    chmod(fx.path, 0);                                 /* unreadable */
    if (geteuid() != 0) {
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 30000000, 5), 1);
        ck_assert_ptr_nonnull(strstr(captured(), "Permission denied"));
    }
    else {
        /* root reads everything: the step runs in a child that has given
         * up root for nobody, as httpd's children give it up */
        pid_t pid;
        int st = -1;

        ck_assert_int_eq(chmod(fx.dir, 0755), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int ok = setgid(65534) == 0 && setuid(65534) == 0
                     && pp_listset_lookup(fx.set, 0, B, t + 30000000, 5) == 1
                     && pp_listset_lookup(fx.set, 0, C, t + 30000000, 5) == 0
                     && strstr(captured(), "Permission denied") != NULL;
            _exit(ok ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "as nobody, an unreadable list kept the last good one "
                      "and said Permission denied: status %d", st);
    }
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A step of the wall clock neither stalls nor hurries reloads: the rounds
 * are counted on the monotonic clock, and a file written before the wall
 * clock was stepped back (its time now lies in the future) is read. */
START_TEST(wall_clock_steps)
{
    fixture_t fx;
    int64_t s;

    setup_set(&fx, "0004f2000a01\n");
    s = pp_monotonic_us();
    /* the file's time an hour ahead: as after a step back of an hour */
    write_at(fx.path, "0004f2000b02\n", now_us() + 3600LL * 1000000);
    /* within the interval: not checked yet, whatever the wall clock says */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, s + 1000000, 5), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    /* at the next round it is read, not put off for an hour */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, s + 6000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, s + 6000000, 5), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    /* a file an hour old (a step forward): read at the next round too */
    write_at(fx.path, "0004f2000c03\n", now_us() - 3600LL * 1000000);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, s + 12000000, 5), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 3);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(settles_before_reading)
{
    fixture_t fx;
    int64_t s, m;

    setup_set(&fx, "0004f2000a01\n");
    s = pp_monotonic_us();       /* the set was started just before */
    m = now_us() + 500000;       /* the file changes half a second later */
    write_at(fx.path, "0004f2000b02\n", m);
    /* checked 0.7 s after the write: too fresh, postponed, not read */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, s + 1200000, 1), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, s + 1400000, 1), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    /* a second after the write it is read, without waiting for another
     * whole interval */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, s + 1600000, 1), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(interval_zero_never_rechecks)
{
    fixture_t fx;

    setup_set(&fx, "0004f2000a01\n");
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us() + 60000000, 0),
                     1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(processes_agree)
{
    fixture_t fx;
    pid_t kid;
    int status;

    setup_set(&fx, "0004f2000a01\n");
    /* this process maps version 1 */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 3600), 1);
    write_aged(fx.path, "0004f2000b02\n", 3);
    kid = fork();
    if (kid == 0) {
        /* another process notices the change and publishes it */
        int ok = pp_listset_lookup(fx.set, 0, B, pp_monotonic_us() + 10000000, 1) == 1;
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* this process never checks the file (interval 0) yet uses the new
     * version: the sequence number is shared */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, pp_monotonic_us(), 0), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 0), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(missing_snapshot_fails_closed)
{
    fixture_t fx;
    char snap[700];

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    snprintf(snap, sizeof(snap), "%s/g1-0-1.snap", fx.state);
    ck_assert_int_eq(unlink(snap), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 0), -1);
    ck_assert_ptr_nonnull(strstr(captured(), "cannot map its snapshot"));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* A snapshot that is not what was published (another format, or a size
 * that does not match its count) is not mapped: the lookup fails
 * closed. */
START_TEST(damaged_snapshot_fails_closed)
{
    fixture_t fx;
    char snap[700];
    struct stat st;
    int fd;

    capture_logs();
    setup_set(&fx, "0004f2000a01\n");
    snprintf(snap, sizeof(snap), "%s/g1-0-1.snap", fx.state);
    ck_assert_int_eq(chmod(snap, 0600), 0);
    /* its magic changed */
    fd = open(snap, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "X", 1, 0), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 0),
                     -1);
    ck_assert_ptr_nonnull(strstr(captured(), "cannot map its snapshot"));
    /* the magic back, one byte more than its count says */
    ck_assert_int_eq(pwrite(fd, "P", 1, 0), 1);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(ftruncate(fd, st.st_size + 1), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 0),
                     -1);
    /* as published, it is mapped */
    ck_assert_int_eq(ftruncate(fd, st.st_size), 0);
    close(fd);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, pp_monotonic_us(), 0),
                     1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(start_errors)
{
    pp_listset_t *set = pp_listset_new();
    char err[512];
    const char *p = write_tmp("l.txt", "0004f2000a01\n");

    ck_assert_int_eq(pp_listset_add(set, p, err, sizeof(err)), 0);
    ck_assert(!pp_listset_start(set, "/nonexistent/dir/state", 1, -1, -1,
                                err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot create the list state"));
    pp_listset_free(set);
}
END_TEST

START_TEST(old_generations_swept)
{
    fixture_t fx, fx2;
    char err[512], old[700];
    pp_listset_t *set3;

    setup_set(&fx, "0004f2000a01\n");
    /* a second and third configuration generation in the same directory */
    fx2.set = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(fx2.set, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(fx2.set, fx.state, 2, -1, -1, err,
                               sizeof(err)));
    snprintf(old, sizeof(old), "%s/g1-0-1.snap", fx.state);
    ck_assert_int_eq(access(old, F_OK), 0);      /* kept for old children */
    set3 = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(set3, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(set3, fx.state, 3, -1, -1, err,
                               sizeof(err)));
    ck_assert_int_eq(access(old, F_OK), -1);     /* two back: gone */
    pp_listset_free(fx.set);
    pp_listset_free(fx2.set);
    pp_listset_free(set3);
    pp_statedir_remove(fx.state);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Background reloads: pp_listset_tick does the checks, lookups map.   */

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* Whether this process maps snapshot `name` (a file of the state dir). */
static int maps_snapshot(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *nl = strchr(line, '\n');
        size_t len, nlen = strlen(name);
        if (nl) {
            *nl = '\0';
        }
        len = strlen(line);
        if (len >= nlen && !strcmp(line + len - nlen, name)) {
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static void setup_background(fixture_t *fx, const char *content,
                             int interval_s)
{
    setup_set(fx, content);
    pp_listset_background(fx->set, 1);
    ck_assert_int_eq(pp_listset_background_interval(fx->set, 0, interval_s),
                     interval_s);
}

START_TEST(background_lookups_never_parse)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();

    capture_logs();
    setup_background(&fx, "0004f2000a01\n", 5);
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 1000000), 0);  /* not due */
    /* due, and the background is alive: a lookup does not check */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 5500000, 5), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    /* the background's round does */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 5500000), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    ck_assert_ptr_nonnull(strstr(captured(), "reloaded: 1 MACs (version 2)"));
    ck_assert_ptr_nonnull(strstr(captured(), "in the background"));
    /* the round mapped it in this process; lookups use it */
    ck_assert(maps_snapshot("/g1-0-2.snap"));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 5600000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 5600000, 5), 0);
    /* the next round of this list is an interval later */
    write_aged(fx.path, "0004f2000c03\n", 3);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 9000000), 0);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 10600000), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, t + 10600000, 5), 1);
    ck_assert_int_eq(captured_count(), 2);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* The background's interval: the shortest any scope or lookup asks for. */
START_TEST(background_interval_is_the_shortest_asked)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();

    setup_background(&fx, "0004f2000a01\n", 0);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 0, 0), 0);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 0, 30), 30);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 0, 60), 30);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 0), 1);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 0, 0), 30);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 2), 1);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 0, 0), 2);
    ck_assert_int_eq(pp_listset_background_interval(fx.set, 3, 1), -1);
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 2500000), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 2500000, 2), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* With no scope asking for reloads (interval 0), a list is never checked,
 * unless it has never loaded: then it is retried every PP_LIST_RETRY_S. */
START_TEST(background_interval_zero)
{
    fixture_t fx;
    char err[512];
    int64_t t = pp_monotonic_us();

    setup_background(&fx, "0004f2000a01\n", 0);
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 60000000), 0);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);

    capture_logs();
    snprintf(fx.dir, sizeof(fx.dir), "%s", tmpdir());
    snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
    snprintf(fx.path, sizeof(fx.path), "%s/allow.txt", fx.dir);
    write_aged(fx.path, "0004f2000a01\nbroken\n", 10);
    fx.set = pp_listset_new();
    ck_assert_int_eq(pp_listset_add(fx.set, fx.path, err, sizeof(err)), 0);
    ck_assert(pp_listset_start(fx.set, fx.state, 0, -1, -1, err,
                               sizeof(err)));
    pp_listset_background(fx.set, 1);
    t = pp_monotonic_us();
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 1000000), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 1000000, 0),
                     PP_LIST_UNAVAILABLE);
    write_aged(fx.path, "0004f2000b02\n", 3);
    /* lookups refuse and never read it, however long it takes ... */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 4000000), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 0),
                     PP_LIST_UNAVAILABLE);
    /* ... the background retries it */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 6000000), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 0), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "PP033: list"));
    ck_assert_ptr_nonnull(strstr(captured(), "in the background"));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* Fail closed in the background: a broken version keeps the last good
 * list (logged once), a read failure is tried again next round. */
START_TEST(background_keeps_last_good)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();
    int kind;

    capture_logs();
    setup_background(&fx, "0004f2000a01\n", 5);
    write_aged(fx.path, "0004f2000b02\nnot-a-mac\n", 3);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 6000000), 1);
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 12000000), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 12000000, 5), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 12000000, 5), 0);
    ck_assert_int_eq(occurrences(captured(), "'not-a-mac'"), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "keeping the last good list"));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
    for (kind = PP_FAULT_ALLOC; kind <= PP_FAULT_IO; kind += 2) {
        capture_logs();
        setup_background(&fx, "0004f2000a01\n", 5);
        write_aged(fx.path, "0004f2000b02\n", 3);
        pp_fault_arm((pp_fault_kind_t)kind, 1);
        ck_assert_int_eq(pp_listset_tick(fx.set, t + 6000000), 1);
        ck_assert_uint_eq(pp_fault_fired((pp_fault_kind_t)kind), 1);
        ck_assert_ptr_nonnull(strstr(captured(), "will try again"));
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 6000000, 5), 1);
        ck_assert_int_eq(pp_listset_tick(fx.set, t + 12000000), 1);
        ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 12000000, 5), 1);
        pp_listset_free(fx.set);
        pp_statedir_remove(fx.state);
    }
}
END_TEST

/* No background round for PP_LIST_STALE_S: lookups check again (PP072,
 * once per episode), until a round runs again. */
START_TEST(background_stopped_lookups_take_over)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();

    capture_logs();
    setup_background(&fx, "0004f2000a01\n", 5);
    write_aged(fx.path, "0004f2000b02\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 6000000, 5), 1);
    ck_assert_int_eq(occurrences(captured(), "PP072"), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "on the request path"));
    write_aged(fx.path, "0004f2000c03\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, t + 12000000, 5), 1);
    ck_assert_int_eq(occurrences(captured(), "PP072"), 1);   /* once */
    /* a round again: lookups leave the checks to it */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 13000000), 0);
    write_aged(fx.path, "0004f2000a01\n", 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, C, t + 17500000, 5), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 3);
    /* and when it stops again, PP072 again */
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 19000000, 5), 1);
    ck_assert_int_eq(occurrences(captured(), "PP072"), 2);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

/* One process's round publishes; every other process maps the new
 * version in its own round, without a lookup. */
START_TEST(background_every_process_maps)
{
    fixture_t fx;
    int64_t t = pp_monotonic_us();
    pid_t kid;
    int status;

    setup_background(&fx, "0004f2000a01\n", 1);
    ck_assert_int_eq(pp_listset_map_current(fx.set), 0);
    ck_assert(maps_snapshot("/g1-0-1.snap"));
    write_aged(fx.path, "0004f2000b02\n", 3);
    kid = fork();
    if (kid == 0) {
        int ok = pp_listset_tick(fx.set, t + 2000000) == 1
                 && pp_listset_seq(fx.set, 0) == 2;
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* this process's round: the other one took the check of this
     * interval; this one maps what it published */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 2100000), 0);
    ck_assert(maps_snapshot("/g1-0-2.snap"));
    ck_assert(!maps_snapshot("/g1-0-1.snap"));
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST


/* ------------------------------------------------------------------ */
/* Lists from another source (a database query, through the glue).    */

/* A fake database: what the next query returns. */
typedef struct {
    int rc;                      /* 1 the rows, 0 a bad row, -1 an error */
    const char *rows[8];
    int nrows;
    const char *error;
    int calls;
    uint64_t version;            /* a change check's token, 0: none */
    int full;                    /* full queries made */
} fakedb_t;

static int fake_read(void *baton, uint64_t *version, pp_maclist_t *list,
                     char *err, size_t errlen)
{
    fakedb_t *db = baton;
    pp_macbuild_t b;
    int i, rc;

    db->calls++;
    if (db->version && db->rc >= 0) {
        if (*version == db->version) {
            return PP_LIST_UNCHANGED;
        }
        *version = db->version;
    }
    if (db->rc < 0) {
        pp_err(err, errlen, "%s", db->error);
        return -1;
    }
    db->full++;
    memset(&b, 0, sizeof(b));
    for (i = 0; i < db->nrows; i++) {
        const char *v = db->rows[i];
        rc = pp_macbuild_row(&b, v, v ? strlen(v) : 0, (unsigned long)i + 1,
                             err, errlen);
        if (rc != 1) {
            pp_macbuild_free(&b);
            return rc;
        }
    }
    return pp_macbuild_finish(&b, list);
}

static void fake_rows(fakedb_t *db, const char *a, const char *b,
                      const char *c)
{
    db->rc = 1;
    db->nrows = 0;
    if (a) db->rows[db->nrows++] = a;
    if (b) db->rows[db->nrows++] = b;
    if (c) db->rows[db->nrows++] = c;
}

START_TEST(macbuild_notations_and_bad_rows)
{
    pp_macbuild_t b;
    pp_maclist_t l;
    char err[256];

    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(pp_macbuild_row(&b, " 00:04:F2:00:0A:01 ", 19, 1, err,
                                     sizeof(err)), 1);
    ck_assert_int_eq(pp_macbuild_row(&b, "00-04-f2-00-0b-02", 17, 2, err,
                                     sizeof(err)), 1);
    ck_assert_int_eq(pp_macbuild_row(&b, "0004.f200.0c03\n", 15, 3, err,
                                     sizeof(err)), 1);
    ck_assert_int_eq(pp_macbuild_row(&b, "0004f2000a01", 12, 4, err,
                                     sizeof(err)), 1);
    ck_assert_int_eq(pp_macbuild_row(&b, "0004f2000a01 # x", 16, 5, err,
                                     sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "row 5: '0004f2000a01 # x' is not a "
                                      "MAC address"));
    ck_assert_int_eq(pp_macbuild_row(&b, NULL, 0, 6, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "row 6: NULL"));
    ck_assert_int_eq(pp_macbuild_row(&b, "", 0, 7, err, sizeof(err)), 0);
    ck_assert_int_eq(pp_macbuild_finish(&b, &l), 1);
    ck_assert_uint_eq(l.count, 3);
    ck_assert(l.macs[0] == A && l.macs[1] == B && l.macs[2] == C);
    pp_free(l.macs);
    /* nothing at all is a list of no MACs, not an error */
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(pp_macbuild_finish(&b, &l), 1);
    ck_assert_ptr_nonnull(l.macs);
    ck_assert_uint_eq(l.count, 0);
    pp_free(l.macs);
}
END_TEST

static void setup_source(fixture_t *fx, fakedb_t *db, int interval_s)
{
    char err[512];

    snprintf(fx->dir, sizeof(fx->dir), "%s", tmpdir());
    snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
    fx->set = pp_listset_new();
    fx->idx = pp_listset_add_source(fx->set, "dbd:fake \"SELECT mac\"",
                                    fake_read, db, err, sizeof(err));
    ck_assert_msg(fx->idx == 0, "%s", err);
    ck_assert_int_eq(pp_listset_add_source(fx->set, "dbd:fake \"SELECT mac\"",
                                           fake_read, db, err, sizeof(err)),
                     0);
    ck_assert(pp_listset_is_source(fx->set, 0));
    ck_assert_int_eq(db->calls, 0);          /* not read before start */
    ck_assert_msg(pp_listset_start(fx->set, fx->state, 1, -1, -1, err,
                                   sizeof(err)), "%s", err);
    pp_listset_background(fx->set, 1);
    pp_listset_background_interval(fx->set, 0, interval_s);
}

START_TEST(source_read_at_start_refreshed_in_background)
{
    fixture_t fx;
    fakedb_t db = { 0 };
    int64_t t = pp_monotonic_us();

    capture_logs();
    fake_rows(&db, "0004f2000a01", NULL, NULL);
    setup_source(&fx, &db, 1);
    ck_assert_int_eq(db.calls, 1);
    ck_assert(!pp_listset_is_source(NULL, 0));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 1), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t, 1), 0);
    /* a lookup never queries, even when the background looks dead */
    fake_rows(&db, "0004f2000b02", NULL, NULL);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B,
                                       t + 60 * 1000000LL, 1), 0);
    ck_assert_int_eq(db.calls, 1);
    /* the background's round does: a change is a new version */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 1100000), 1);
    ck_assert_int_eq(db.calls, 2);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 1100000, 1), 1);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 1100000, 1), 0);
    ck_assert_ptr_nonnull(strstr(captured(), "PP038: list dbd:fake "
                                 "\"SELECT mac\" reloaded: 1 MACs "
                                 "(version 2)"));
    /* the same result is no new version */
    ck_assert_int_eq(pp_listset_tick(fx.set, t + 2200000), 1);
    ck_assert_int_eq(db.calls, 3);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    /* nothing: a list of no MACs (an allow list then allows nobody) */
    fake_rows(&db, NULL, NULL, NULL);
    pp_listset_tick(fx.set, t + 3300000);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 3);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 3300000, 1), 0);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(source_failures_keep_last_good_logged_once)
{
    fixture_t fx;
    fakedb_t db = { 0 };
    int64_t t = pp_monotonic_us();
    pp_list_state_t st;

    capture_logs();
    fake_rows(&db, "0004f2000a01", "0004f2000b02", NULL);
    setup_source(&fx, &db, 1);
    /* the database goes down: the last good list stays, said once */
    db.rc = -1;
    db.error = "cannot connect to the database: No such file";
    pp_listset_tick(fx.set, t + 1100000);
    pp_listset_tick(fx.set, t + 2200000);
    pp_listset_tick(fx.set, t + 3300000);
    ck_assert_int_eq(db.calls, 4);
    ck_assert_int_eq(occurrences(captured(), "PP081"), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "PP081: list dbd:fake \"SELECT "
                                 "mac\": cannot connect to the database: No "
                                 "such file; keeping the last good list (2 "
                                 "MACs)"));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 3300000, 1), 1);
    ck_assert(pp_listset_state(fx.set, 0, &st) && st.failing);
    /* another cause is said again */
    db.error = "the query failed: relation \"phones\" does not exist";
    pp_listset_tick(fx.set, t + 4400000);
    pp_listset_tick(fx.set, t + 5500000);
    ck_assert_int_eq(occurrences(captured(), "PP081"), 2);
    /* a row that is no MAC: the same, with the row */
    fake_rows(&db, "0004f2000a01", "not-a-mac", NULL);
    pp_listset_tick(fx.set, t + 6600000);
    pp_listset_tick(fx.set, t + 7700000);
    ck_assert_int_eq(occurrences(captured(), "PP082"), 1);
    ck_assert_ptr_nonnull(strstr(captured(), "row 2: 'not-a-mac' is not a "
                                 "MAC address"));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 7700000, 1), 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    /* back, unchanged: said, and no new version */
    fake_rows(&db, "0004f2000a01", "0004f2000b02", NULL);
    pp_listset_tick(fx.set, t + 8800000);
    ck_assert_ptr_nonnull(strstr(captured(), "PP083"));
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    ck_assert(pp_listset_state(fx.set, 0, &st) && !st.failing);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(source_version_check)
{
    fixture_t fx;
    fakedb_t db = { 0 };
    int64_t t = pp_monotonic_us();

    capture_logs();
    fake_rows(&db, "0004f2000a01", NULL, NULL);
    db.version = 7;
    setup_source(&fx, &db, 1);
    ck_assert_int_eq(db.full, 1);
    /* the same version: no query of the list, whatever the rows say */
    fake_rows(&db, "0004f2000b02", NULL, NULL);
    pp_listset_tick(fx.set, t + 1100000);
    pp_listset_tick(fx.set, t + 2200000);
    ck_assert_int_eq(db.calls, 3);
    ck_assert_int_eq(db.full, 1);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 1);
    /* a new version: the list is read and published */
    db.version = 8;
    pp_listset_tick(fx.set, t + 3300000);
    ck_assert_int_eq(db.full, 2);
    ck_assert_uint_eq(pp_listset_seq(fx.set, 0), 2);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 3300000, 1), 1);
    /* a failure, then the same version again: the list in force is
     * current (PP083), nothing read */
    db.rc = -1;
    db.error = "down";
    pp_listset_tick(fx.set, t + 4400000);
    fake_rows(&db, "0004f2000c03", NULL, NULL);
    pp_listset_tick(fx.set, t + 5500000);
    ck_assert_int_eq(db.full, 2);
    ck_assert_ptr_nonnull(strstr(captured(), "PP083"));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, B, t + 5500000, 1), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST

START_TEST(source_down_at_start_fails_closed)
{
    fixture_t fx;
    fakedb_t db = { 0 };
    int64_t t = pp_monotonic_us();

    capture_logs();
    db.rc = -1;
    db.error = "cannot connect to the database";
    setup_source(&fx, &db, 1);
    ck_assert_int_eq(pp_listset_origin(fx.set, 0, NULL), PP_LIST_NONE);
    ck_assert_str_eq(pp_listset_problem(fx.set, 0),
                     "cannot connect to the database");
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t, 1),
                     PP_LIST_UNAVAILABLE);
    /* the same cause is not said again by the background */
    pp_listset_tick(fx.set, t + 1100000);
    ck_assert_int_eq(occurrences(captured(), "cannot connect"), 0);
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 1100000, 1),
                     PP_LIST_UNAVAILABLE);
    fake_rows(&db, "0004f2000a01", NULL, NULL);
    pp_listset_tick(fx.set, t + 2200000);
    ck_assert_ptr_nonnull(strstr(captured(), "PP033"));
    ck_assert_int_eq(pp_listset_lookup(fx.set, 0, A, t + 2200000, 1), 1);
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
}
END_TEST


/* ------------------------------------------------------------------ */
/* A background parse makes way for requests (pp_core.h)               */

typedef struct {
    pp_listset_t *set;
    int64_t now;
    int ticked;
    unsigned long steps;
} tick_arg_t;

static void *tick_elsewhere(void *arg)
{
    tick_arg_t *a = arg;

    a->ticked = pp_listset_tick(a->set, a->now);
    a->steps = pp_reload_steps();
    return NULL;
}

/* n lines of distinct MACs from `first`, in a scrambled order */
static char *many_macs(size_t n, unsigned long long first)
{
    char *text = malloc(n * 13 + 1), *p = text;
    size_t i;

    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++) {
        p += sprintf(p, "%012llx\n",
                     first + (unsigned long long)((i * 7919) % n));
    }
    return text;
}

/* In a child process (the thread's nice value and its count of steps are
 * its own): the thread that called pp_reload_thread_start is at nice
 * PP_RELOAD_NICE (or stays above it, where the runner's nice value is
 * higher and only root could lower it) and parses in steps, at least one per 4,096 lines; a parse on the
 * request path, or in a thread that never called it, takes none.  Exit
 * status 0, or the number of the check that failed. */
static int stepped_reload(void)
{
    fixture_t fx;
    size_t n = 300000;          /* 3.9 MB of text, 2.4 MB of MACs: each
                                 * block given back in pieces, and the
                                 * list intact after it */
    char *v2 = many_macs(n, 0x0004f2100000ULL);
    char *v3 = many_macs(n, 0x0004f2400000ULL);
    int64_t t = pp_monotonic_us();
    unsigned long before;
    pthread_t th;
    tick_arg_t a;
    size_t i;

    int nice0, nice1;

    setup_background(&fx, "0004f2000a01\n", 1);
    /* whatever nice value the runner gave the tests */
    errno = 0;
    nice0 = getpriority(PRIO_PROCESS, 0);
    if (errno) {
        return 1;
    }
    pp_reload_thread_start();
    errno = 0;
    nice1 = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno) {
        return 2;
    }
    /* PP_RELOAD_NICE from a lower nice value; from a higher one, only
     * root may lower it (to PP_RELOAD_NICE), anyone else keeps it */
    if (nice0 <= PP_RELOAD_NICE ? nice1 != PP_RELOAD_NICE
                                : nice1 < PP_RELOAD_NICE || nice1 > nice0) {
        return 2;
    }
    /* a background round in this thread: in steps */
    write_aged(fx.path, v2, 3);
    before = pp_reload_steps();
    if (pp_listset_tick(fx.set, t + 2000000) != 1
        || pp_listset_seq(fx.set, 0) != 2) {
        return 3;
    }
    if (pp_reload_steps() - before < n / 4096) {
        return 4;
    }
    /* the stepped parse is the whole list, sorted: every MAC of it */
    for (i = 0; i < n; i++) {
        if (pp_listset_lookup(fx.set, 0, 0x0004f2100000ULL + i,
                              t + 2000000, 1) != 1) {
            return 10;
        }
    }
    if (pp_listset_lookup(fx.set, 0, 0x0004f2100000ULL - 1,
                          t + 2000000, 1) != 0
        || pp_listset_lookup(fx.set, 0, 0x0004f2100000ULL + n,
                             t + 2000000, 1) != 0
        || pp_listset_lookup(fx.set, 0, A, t + 2000000, 1) != 0) {
        return 5;
    }
    /* a round in a thread that never asked: straight through */
    write_aged(fx.path, v3, 3);
    a.set = fx.set;
    a.now = t + 4000000;
    a.ticked = 0;
    a.steps = 1;
    if (pthread_create(&th, NULL, tick_elsewhere, &a) != 0
        || pthread_join(th, NULL) != 0) {
        return 6;
    }
    if (a.ticked != 1 || a.steps != 0 || pp_listset_seq(fx.set, 0) != 3) {
        return 7;
    }
    /* a parse that is not a background round: straight through */
    before = pp_reload_steps();
    {
        pp_maclist_t l;
        char err[256];
        if (pp_maclist_parse("v2", v2, strlen(v2), &l, err,
                             sizeof(err)) != 1 || l.count != n) {
            return 8;
        }
        free(l.macs);
    }
    if (pp_reload_steps() != before) {
        return 9;
    }
    pp_listset_free(fx.set);
    pp_statedir_remove(fx.state);
    free(v2);
    free(v3);
    return 0;
}

START_TEST(background_parse_in_steps)
{
    pid_t pid;
    int status;

    capture_logs();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(stepped_reload());
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST


Suite *suite_list(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("parse");
    TCase *ts = tcase_create("set");

    tcase_add_test(tc, notations_and_comments);
    tcase_add_test(tc, errors_name_the_line);
    tcase_add_test(tc, empty_and_comment_only);
    tcase_add_test(tc, large_list_sorted);
    suite_add_tcase(s, tc);
    tcase_add_test(ts, set_lookup);
    tcase_add_test(ts, set_add_errors);
    tcase_add_test(ts, validate_all_reports_every_bad_line);
    tcase_add_test(ts, withheld_list_is_unavailable);
    tcase_add_test(ts, never_loaded_is_unavailable_until_fixed);
    tcase_add_test(ts, never_loaded_retried_with_interval_zero);
    tcase_add_test(ts, kept_across_generations);
    tcase_add_test(tc, validate_for_pipelines);
    tcase_add_test(ts, reload_on_change);
    tcase_add_test(ts, broken_version_keeps_last_good);
    tcase_add_test(ts, state_and_events);
    tcase_add_test(ts, truncated_deleted_unreadable);
    tcase_add_test(ts, wall_clock_steps);
    tcase_add_test(ts, old_generation_falls_forward);
    tcase_add_test(ts, settles_before_reading);
    tcase_add_test(ts, interval_zero_never_rechecks);
    tcase_add_test(ts, processes_agree);
    tcase_add_test(ts, missing_snapshot_fails_closed);
    tcase_add_test(ts, damaged_snapshot_fails_closed);
    tcase_add_test(ts, start_errors);
    tcase_add_test(ts, old_generations_swept);
    tcase_add_test(ts, read_failure_is_retried);
    tcase_add_test(ts, fault_seam);
    tcase_add_test(ts, background_lookups_never_parse);
    tcase_add_test(ts, background_interval_is_the_shortest_asked);
    tcase_add_test(ts, background_interval_zero);
    tcase_add_test(ts, background_keeps_last_good);
    tcase_add_test(ts, background_stopped_lookups_take_over);
    tcase_add_test(ts, background_every_process_maps);
    tcase_add_test(tc, macbuild_notations_and_bad_rows);
    tcase_add_test(ts, source_read_at_start_refreshed_in_background);
    tcase_add_test(ts, source_failures_keep_last_good_logged_once);
    tcase_add_test(ts, source_down_at_start_fails_closed);
    tcase_add_test(ts, source_version_check);
    tcase_add_test(ts, background_parse_in_steps);
    suite_add_tcase(s, ts);
    return s;
}
