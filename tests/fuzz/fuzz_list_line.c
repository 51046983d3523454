/* SPDX-License-Identifier: Apache-2.0 */
/* One line of a list file: blank, a comment, or one MAC in a notation of
 * docs/deployment.md (List files), with surrounding whitespace.  The core's parser must agree
 * with the reference notation parser on every line.  The same bytes as a
 * database row (pp_macbuild_row: no comment, whitespace around) too. */
#include "fuzz.h"

static int space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *s = (const char *)d, *e;
    pp_maclist_t l;
    char err[512];
    uint64_t want = 0;
    int rc, ref;

    fuzz_init();
    if (n == 0 || memchr(d, '\n', n)) {
        return 0;                         /* one line; fuzz_list_file does
                                           * the rest */
    }
    rc = pp_maclist_parse("line", s, n, &l, err, sizeof(err));
    e = memchr(s, '#', n);
    e = e ? e : s + n;
    if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
        s += 3;
    }
    while (s < e && space((unsigned char)*s)) {
        s++;
    }
    while (e > s && space((unsigned char)e[-1])) {
        e--;
    }
    if (s == e) {
        FUZZ_CHECK(rc == 1 && l.count == 0, "blank line: rc %d", rc);
    }
    else {
        ref = ref_mac(s, (size_t)(e - s), &want);
        FUZZ_CHECK(rc == ref, "core %d, reference %d", rc, ref);
        if (ref) {
            FUZZ_CHECK(l.count == 1 && l.macs[0] == want, "%zu MACs",
                       l.count);
        }
        else {
            FUZZ_CHECK(strstr(err, "line:1:"), "error '%s' without line",
                       err);
        }
    }
    if (rc == 1) {
        pp_free(l.macs);
    }
    {
        const char *vs = (const char *)d, *ve = vs + n;
        pp_macbuild_t b;
        pp_maclist_t bl;
        uint64_t bw = 0;
        int brc, bref;

        memset(&b, 0, sizeof(b));
        brc = pp_macbuild_row(&b, (const char *)d, n, 1, err, sizeof(err));
        while (vs < ve && space((unsigned char)*vs)) {
            vs++;
        }
        while (ve > vs && space((unsigned char)ve[-1])) {
            ve--;
        }
        bref = vs < ve ? ref_mac(vs, (size_t)(ve - vs), &bw) : 0;
        FUZZ_CHECK(brc == bref, "row: core %d, reference %d", brc, bref);
        if (brc == 1) {
            FUZZ_CHECK(pp_macbuild_finish(&b, &bl) == 1 && bl.count == 1
                       && bl.macs[0] == bw, "row: %zu MACs", bl.count);
            pp_free(bl.macs);
        }
        else {
            FUZZ_CHECK(strstr(err, "row 1: "), "row error '%s'", err);
            pp_macbuild_free(&b);
        }
    }
    return 0;
}
