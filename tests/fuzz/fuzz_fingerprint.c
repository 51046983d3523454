/* SPDX-License-Identifier: Apache-2.0 */
/* PolyProvIssuerFingerprint values against a reference parser:
 * "sha256:" (any case) then 64 hex digits, or 32 bytes joined by ':'. */
#include "fuzz.h"

#include <strings.h>

static int ref_fp(const char *s, unsigned char out[32])
{
    size_t len, i, step;

    if (strncasecmp(s, "sha256:", 7) != 0) {
        return 0;
    }
    s += 7;
    len = strlen(s);
    if (len == 64) {
        step = 2;
    }
    else if (len == 95) {
        step = 3;
        for (i = 2; i < 95; i += 3) {
            if (s[i] != ':') {
                return 0;
            }
        }
    }
    else {
        return 0;
    }
    for (i = 0; i < 32; i++) {
        int hi = ref_hex((unsigned char)s[i * step]);
        int lo = ref_hex((unsigned char)s[i * step + 1]);
        if (hi < 0 || lo < 0) {
            return 0;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *s = fuzz_cstr(d, n);
    unsigned char got[32], want[32];
    char err[256], text[96], round[104];
    int ok, ref;

    fuzz_init();
    ok = pp_fingerprint_parse(s, got, err, sizeof(err));
    ref = ref_fp(s, want);
    FUZZ_CHECK(ok == ref, "core %d, reference %d for '%s'", ok, ref, s);
    if (ok) {
        FUZZ_CHECK(!memcmp(got, want, 32), "bytes differ for '%s'", s);
        pp_fingerprint_format(got, text);
        snprintf(round, sizeof(round), "sha256:%s", text);
        FUZZ_CHECK(pp_fingerprint_parse(round, want, err, sizeof(err))
                   && !memcmp(got, want, 32), "'%s' does not parse back",
                   round);
    }
    else {
        FUZZ_CHECK(err[0] != '\0', "refused without a message");
    }
    free(s);
    return 0;
}
