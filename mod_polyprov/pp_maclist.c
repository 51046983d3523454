/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: MAC lists, one file or one database's rows.
 *
 * Parsing: one MAC per line, '#' comments, blank lines, any of the four
 * notations; anything else is an error at file:line.  A background
 * parse (pp_reload_thread_start) goes in steps that make way for
 * requests.
 */
#include "pp_maclist_internal.h"
#include "pp_testing.h"   /* the fault seam; pp_reload_steps defined here */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int cmp_mac(const void *a, const void *b)
{
    pp_mac_t x = *(const pp_mac_t *)a, y = *(const pp_mac_t *)b;

    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ */
/* A background parse makes way for requests (pp_core.h)               */

/* Whether this thread called pp_reload_thread_start, whether a parse of
 * its is under way, and how many steps its parses took (tests). */
__thread int tl_reload_thread, tl_working;
static __thread unsigned long tl_steps;
/* (WORK_STEP, pp_maclist_internal.h) the sort's passes take eight times
 * as many elements */
#define SORT_STEP (WORK_STEP * 8)

/* A step of a background parse: a request thread waiting for this core
 * takes it now, not at the end of this thread's time slice (at nice 10
 * that can be milliseconds on a busy core). */
void work_step(void)
{
    if (tl_working) {
        int en = errno;
        tl_steps++;
        sched_yield();
        errno = en;
    }
}

/* Give a large block's pages back to the system in pieces, a step each,
 * before it is freed or unmapped: one munmap of tens of megabytes holds
 * this process's memory map for milliseconds, and every request thread
 * of the process that maps a file or faults a page waits for it.  Outside
 * a background parse it does nothing. */
void work_release(void *p, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), piece = (size_t)1 << 20;
    uintptr_t a, e;

    if (!tl_working || !p || len < 2 * piece) {
        return;
    }
    a = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1);
    e = ((uintptr_t)p + len) & ~(uintptr_t)(pg - 1);
    for (; a + piece <= e; a += piece) {
        (void)madvise((void *)a, piece, MADV_DONTNEED);
        work_step();
    }
    if (a < e) {
        (void)madvise((void *)a, e - a, MADV_DONTNEED);
    }
}

void pp_reload_thread_start(void)
{
#ifdef SYS_gettid
    /* Linux: the nice value of a thread id is that thread's alone */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
                      PP_RELOAD_NICE);
#endif
    tl_reload_thread = 1;
}

unsigned long pp_reload_steps(void)
{
    return tl_steps;
}

/* LSD radix sort on the 48 significant bits, six passes of 8 bits
 * (the six histograms taken in one read of the input); falls back to
 * qsort when no scratch memory is available. */
#define RADIX_BITS 8
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6
static void sort_macs(pp_mac_t *v, size_t n)
{
    size_t count[RADIX_PASSES][RADIX_SIZE];     /* 12 kB */
    pp_mac_t *tmp;
    size_t i, j, stop;
    int pass;

    if (n < 65536 || !(tmp = pp_malloc(n * sizeof(*v)))) {
        qsort(v, n, sizeof(*v), cmp_mac);
        return;
    }
    memset(count, 0, sizeof(count));
    for (j = 0; j < n; j = stop) {
        stop = n - j > SORT_STEP ? j + SORT_STEP : n;
        for (i = j; i < stop; i++) {
            pp_mac_t x = v[i];
            for (pass = 0; pass < RADIX_PASSES; pass++) {
                count[pass][(x >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
            }
        }
        work_step();
    }
    for (pass = 0; pass < RADIX_PASSES; pass++) {
        size_t *c = count[pass], sum = 0;
        int shift = pass * RADIX_BITS;
        pp_mac_t *src = (pass & 1) ? tmp : v, *dst = (pass & 1) ? v : tmp;

        for (i = 0; i < RADIX_SIZE; i++) {
            size_t k = c[i];
            c[i] = sum;
            sum += k;
        }
        for (j = 0; j < n; j = stop) {
            stop = n - j > SORT_STEP ? j + SORT_STEP : n;
            for (i = j; i < stop; i++) {
                dst[c[(src[i] >> shift) & (RADIX_SIZE - 1)]++] = src[i];
            }
            work_step();
        }
    }
    /* an even number of passes: the result is back in v */
    work_release(tmp, n * sizeof(*tmp));
    pp_free(tmp);
}

static void printable(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'') {
            out[o++] = (char)c;
        }
        else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        }
    }
    if (i < n && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Every bad line, when a caller wants them all (pp_list_validate_all):
 * fn gets the first max of them, nbad counts them all. */
typedef struct {
    pp_list_bad_fn *fn;
    void *baton;
    unsigned long max;
    unsigned long nbad;
} bad_lines_t;

static int maclist_parse(const char *name, const char *buf, size_t len,
                         pp_maclist_t *list, char *err, size_t errlen,
                         bad_lines_t *all)
{
    const char *p = buf, *end = buf + len;
    size_t cap = len / 13 + 16, n = 0, i, w;
    pp_mac_t *macs;
    unsigned long line = 1;

    list->macs = NULL;
    list->count = 0;
    if (len == 0) {
        pp_err(err, errlen, "%s: the file is empty (0 bytes); to declare an "
               "empty list on purpose, put a '#' comment line in it", name);
        return 0;
    }
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
        p += 3;                         /* a UTF-8 byte order mark */
    }
    macs = pp_malloc(cap * sizeof(*macs));
    if (!macs) {
        pp_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    while (p < end) {
        const char *eol, *s = p, *e, *hash;
        pp_mac_t m;

        /* the common line, 12 hex digits and a newline, without searching
         * it; anything else takes the general path below */
        if (end - p > 12 && p[12] == '\n' && n < cap
            && pp_mac_from_hex12(p, &m)) {
            macs[n++] = m;
            p += 13;
            if ((++line & (WORK_STEP - 1)) == 0) {
                work_step();
            }
            continue;
        }
        eol = memchr(p, '\n', (size_t)(end - p));

        e = eol ? eol : end;
        hash = memchr(s, '#', (size_t)(e - s));
        if (hash) {
            e = hash;
        }
        while (s < e && is_space((unsigned char)*s)) {
            s++;
        }
        while (e > s && is_space((unsigned char)e[-1])) {
            e--;
        }
        if (s < e) {
            if (!pp_mac_parse(s, (size_t)(e - s), &m)) {
                char tok[64];
                printable(s, (size_t)(e - s), tok, sizeof(tok));
                if (!all || all->nbad == 0) {
                    pp_err(err, errlen, "%s:%lu: '%s' is not a MAC address "
                           "(use 0004f2aabbcc, 00:04:f2:aa:bb:cc, "
                           "00-04-f2-aa-bb-cc or 0004.f2aa.bbcc)", name, line,
                           tok);
                }
                if (!all) {
                    pp_free(macs);
                    return 0;
                }
                if (all->nbad++ < all->max && all->fn) {
                    char msg[256];
                    snprintf(msg, sizeof(msg), "%s:%lu: '%s' is not a MAC "
                             "address (use 0004f2aabbcc, 00:04:f2:aa:bb:cc, "
                             "00-04-f2-aa-bb-cc or 0004.f2aa.bbcc)", name,
                             line, tok);
                    all->fn(all->baton, msg);
                }
                goto next_line;
            }
            if (n == cap) {
                pp_mac_t *nm = pp_realloc(macs, cap * 2 * sizeof(*macs));
                if (!nm) {
                    pp_err(err, errlen, "%s:%lu: out of memory", name, line);
                    pp_free(macs);
                    return -1;
                }
                macs = nm;
                cap *= 2;
            }
            macs[n++] = m;
        }
next_line:
        if (!eol) {
            break;
        }
        p = eol + 1;
        if ((++line & (WORK_STEP - 1)) == 0) {
            work_step();
        }
    }
    if (all && all->nbad) {
        pp_free(macs);
        return 0;
    }
    sort_macs(macs, n);
    for (i = 0, w = 0; i < n; i++) {
        if (w == 0 || macs[w - 1] != macs[i]) {
            macs[w++] = macs[i];
        }
    }
    list->macs = macs;
    list->count = w;
    return 1;
}

/* Read a whole file through mmap; *st receives its state as read. */
static int load_file_all(const char *path, pp_maclist_t *list,
                         struct stat *st, char *err, size_t errlen,
                         bad_lines_t *all)
{
    int fd = pp_open(path, O_RDONLY | O_CLOEXEC, 0);
    void *map;
    int ok;

    if (fd < 0) {
        pp_err(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0) {
        pp_err(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        pp_err(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return 0;
    }
    if (st->st_size == 0) {
        close(fd);
        return maclist_parse(path, "", 0, list, err, errlen, all);
    }
    map = pp_mmap((size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd);
    close(fd);
    if (map == MAP_FAILED) {
        pp_err(err, errlen, "cannot map '%s': %s", path, strerror(errno));
        return -1;
    }
    ok = maclist_parse(path, map, (size_t)st->st_size, list, err, errlen,
                       all);
    work_release(map, (size_t)st->st_size);
    munmap(map, (size_t)st->st_size);
    return ok;
}

int load_file(const char *path, pp_maclist_t *list, struct stat *st,
              char *err, size_t errlen)
{
    return load_file_all(path, list, st, err, errlen, NULL);
}

int pp_maclist_parse(const char *name, const char *buf, size_t len,
                     pp_maclist_t *list, char *err, size_t errlen)
{
    return maclist_parse(name, buf, len, list, err, errlen, NULL);
}

int pp_list_validate_all(const char *path, size_t *count, unsigned long max,
                         pp_list_bad_fn *fn, void *baton,
                         unsigned long *nbad, char *err, size_t errlen)
{
    bad_lines_t all;
    pp_maclist_t list;
    struct stat st;
    int rc;

    all.fn = fn;
    all.baton = baton;
    all.max = max;
    all.nbad = 0;
    rc = load_file_all(path, &list, &st, err, errlen, &all);
    if (nbad) {
        *nbad = all.nbad;
    }
    if (rc == 1) {
        if (count) {
            *count = list.count;
        }
        pp_free(list.macs);
    }
    return rc;
}

int pp_maclist_load(const char *path, pp_maclist_t *list,
                    char *err, size_t errlen)
{
    struct stat st;

    return load_file(path, list, &st, err, errlen);
}

int pp_list_validate(const char *path, size_t *count, char *err,
                     size_t errlen)
{
    pp_maclist_t list;
    int rc = pp_maclist_load(path, &list, err, errlen);

    if (rc == 1) {
        if (count) {
            *count = list.count;
        }
        pp_free(list.macs);
    }
    return rc;
}

int pp_maclist_contains(const pp_mac_t *macs, size_t count, pp_mac_t mac)
{
    size_t lo = 0, hi = count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (macs[mid] < mac) {
            lo = mid + 1;
        }
        else if (macs[mid] > mac) {
            hi = mid;
        }
        else {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lists built value by value (a database's rows)                      */

int pp_macbuild_row(pp_macbuild_t *b, const char *value, size_t len,
                    unsigned long row, char *err, size_t errlen)
{
    const char *s = value, *e;
    pp_mac_t m;

    if (!value) {
        pp_err(err, errlen, "row %lu: NULL is not a MAC address", row);
        return 0;
    }
    e = value + len;
    while (s < e && (is_space((unsigned char)*s) || *s == '\n')) {
        s++;
    }
    while (e > s && (is_space((unsigned char)e[-1]) || e[-1] == '\n')) {
        e--;
    }
    if (!pp_mac_parse(s, (size_t)(e - s), &m)) {
        char tok[64];
        printable(value, len, tok, sizeof(tok));
        pp_err(err, errlen, "row %lu: '%s' is not a MAC address (use "
               "0004f2aabbcc, 00:04:f2:aa:bb:cc, 00-04-f2-aa-bb-cc or "
               "0004.f2aa.bbcc)", row, tok);
        return 0;
    }
    if (b->list.count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        pp_mac_t *nm = pp_realloc(b->list.macs, ncap * sizeof(*nm));
        if (!nm) {
            pp_err(err, errlen, "row %lu: out of memory", row);
            return -1;
        }
        b->list.macs = nm;
        b->cap = ncap;
    }
    b->list.macs[b->list.count++] = m;
    return 1;
}

int pp_macbuild_finish(pp_macbuild_t *b, pp_maclist_t *out)
{
    size_t i, w;

    out->macs = b->list.macs;
    out->count = b->list.count;
    b->list.macs = NULL;
    b->list.count = b->cap = 0;
    if (!out->macs && !(out->macs = pp_malloc(sizeof(pp_mac_t)))) {
        return -1;
    }
    sort_macs(out->macs, out->count);
    for (i = 0, w = 0; i < out->count; i++) {
        if (w == 0 || out->macs[w - 1] != out->macs[i]) {
            out->macs[w++] = out->macs[i];
        }
    }
    out->count = w;
    return 1;
}

void pp_macbuild_free(pp_macbuild_t *b)
{
    pp_free(b->list.macs);
    b->list.macs = NULL;
    b->list.count = b->cap = 0;
}
