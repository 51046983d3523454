/* SPDX-License-Identifier: Apache-2.0 */
/* Whole list files: the core's result must be exactly the sorted set of
 * the MACs of the reference line-by-line reading, or an error naming the
 * first bad line, or (zero bytes) an error. */
#include "fuzz.h"

static int space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *p = (const char *)d, *end = p + n;
    uint64_t *want = malloc((n / 12 + 1) * sizeof(*want));
    size_t count = 0, uniq = 0, i;
    unsigned long line = 1, bad = 0;
    pp_maclist_t l;
    char err[512], tag[32];
    int rc;

    fuzz_init();
    if (!want) {
        abort();
    }
    rc = pp_maclist_parse("f", (const char *)d, n, &l, err, sizeof(err));
    if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
        p += 3;
    }
    while (p < end && !bad) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *e = eol ? eol : end, *hash;
        uint64_t m;

        hash = memchr(s, '#', (size_t)(e - s));
        e = hash ? hash : e;
        while (s < e && space((unsigned char)*s)) {
            s++;
        }
        while (e > s && space((unsigned char)e[-1])) {
            e--;
        }
        if (s < e) {
            if (ref_mac(s, (size_t)(e - s), &m)) {
                want[count++] = m;
            }
            else {
                bad = line;
            }
        }
        if (!eol) {
            break;
        }
        p = eol + 1;
        line++;
    }
    if (n == 0) {
        FUZZ_CHECK(rc == 0 && strstr(err, "0 bytes"), "empty file: %d", rc);
    }
    else if (bad) {
        snprintf(tag, sizeof(tag), "f:%lu:", bad);
        FUZZ_CHECK(rc == 0 && strstr(err, tag), "rc %d err '%s', want %s",
                   rc, err, tag);
    }
    else {
        FUZZ_CHECK(rc == 1, "rc %d: %s", rc, err);
        qsort(want, count, sizeof(*want), cmp);
        for (i = 0; i < count; i++) {
            if (uniq == 0 || want[uniq - 1] != want[i]) {
                want[uniq++] = want[i];
            }
        }
        FUZZ_CHECK(l.count == uniq, "%zu MACs, reference %zu", l.count, uniq);
        for (i = 0; i < uniq; i++) {
            FUZZ_CHECK(l.macs[i] == want[i], "MAC %zu differs", i);
            FUZZ_CHECK(pp_maclist_contains(l.macs, l.count, want[i]),
                       "lookup misses MAC %zu", i);
        }
        pp_free(l.macs);
    }
    free(want);
    return 0;
}
