/* SPDX-License-Identifier: Apache-2.0 */
/* CN to MAC.  With the default PolyProvCNPattern the answer is known
 * exactly: a MAC iff the CN is 12 hex digits, not all zero.  With an
 * operator's pattern (a few realistic ones, and arbitrary ones taken from
 * the input), any MAC returned must be 12 hex digits found in the CN, and
 * a pathological pattern must end (PCRE2's match limit), not hang. */
#include "fuzz.h"

static const char *const patterns[] = {
    PP_DEFAULT_CN_PATTERN,
    "^SEP([0-9A-Fa-f]{12})$",
    "^Phone ([0-9A-Fa-f]{12}) desk$",
    "([0-9a-fA-F]{12})",
    "^(?:[0-9a-f]{2}[:-]?){6}$",
    "^((a+)+)+$",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))

static pp_pattern_t *compiled[NPAT];

static int ref_default(const char *cn, size_t n, uint64_t *mac)
{
    size_t i;
    uint64_t v = 0;

    if (n != 12) {
        return 0;
    }
    for (i = 0; i < 12; i++) {
        if (ref_hex((unsigned char)cn[i]) < 0) {
            return 0;
        }
        v = v << 4 | (uint64_t)ref_hex((unsigned char)cn[i]);
    }
    *mac = v;
    return v != 0;
}

/* Is the MAC written (any case) as 12 consecutive hex digits in cn? */
static int mac_in(const char *cn, size_t n, pp_mac_t mac)
{
    size_t i, j;

    for (i = 0; i + 12 <= n; i++) {
        uint64_t v = 0;
        for (j = 0; j < 12 && ref_hex((unsigned char)cn[i + j]) >= 0; j++) {
            v = v << 4 | (uint64_t)ref_hex((unsigned char)cn[i + j]);
        }
        if (j == 12 && v == mac) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char err[512];
    pp_mac_t mac = 0;
    uint64_t want = 0;
    pp_reason_t rv;
    size_t i;

    fuzz_init();
    for (i = 0; i < NPAT; i++) {
        if (!compiled[i]) {
            compiled[i] = pp_pattern_compile(patterns[i], err, sizeof(err));
            FUZZ_CHECK(compiled[i], "%s: %s", patterns[i], err);
        }
    }
    if (n > 512) {
        return 0;                 /* a CN the module takes is <= 128 bytes */
    }
    /* the default pattern: exact */
    rv = pp_pattern_mac(compiled[0], (const char *)d, n, &mac);
    if (ref_default((const char *)d, n, &want) && !memchr(d, 0, n)) {
        FUZZ_CHECK(rv == PP_R_OK && mac == want, "rv %d mac %012llx", rv,
                   (unsigned long long)mac);
    }
    else {
        FUZZ_CHECK(rv == PP_R_BAD_CN, "rv %d for a CN that is no MAC", rv);
    }
    /* the others: whatever they return is in the CN */
    for (i = 1; i < NPAT; i++) {
        mac = 0;
        rv = pp_pattern_mac(compiled[i], (const char *)d, n, &mac);
        FUZZ_CHECK(rv == PP_R_OK || rv == PP_R_BAD_CN
                   || rv == PP_R_INTERNAL, "rv %d", rv);
        if (rv == PP_R_OK) {
            FUZZ_CHECK(mac != PP_MAC_NONE && mac_in((const char *)d, n, mac),
                       "pattern %s gave %012llx", patterns[i],
                       (unsigned long long)mac);
        }
    }
    /* an arbitrary pattern: the input up to the first NUL, applied to the
     * rest */
    {
        const uint8_t *nul = memchr(d, 0, n);
        if (nul && nul > d) {
            pp_pattern_t *p = pp_pattern_compile((const char *)d, err,
                                                 sizeof(err));
            if (p) {
                size_t off = (size_t)(nul - d) + 1;
                rv = pp_pattern_mac(p, (const char *)d + off, n - off, &mac);
                if (rv == PP_R_OK) {
                    FUZZ_CHECK(mac_in((const char *)d + off, n - off, mac),
                               "gave %012llx", (unsigned long long)mac);
                }
                pp_pattern_free(p);
            }
        }
    }
    return 0;
}
