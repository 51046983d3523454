/* SPDX-License-Identifier: Apache-2.0 */
/* pp_mac_parse and pp_mac_format against the reference notation parser. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    pp_mac_t got = 0, again = 0;
    uint64_t want = 0;
    char text[13];
    int ok, ref;

    fuzz_init();
    ok = pp_mac_parse((const char *)d, n, &got);
    ref = ref_mac((const char *)d, n, &want);
    FUZZ_CHECK(ok == ref, "core %d, reference %d for %zu bytes", ok, ref, n);
    if (!ok) {
        return 0;
    }
    FUZZ_CHECK(got == want, "core %012llx, reference %012llx",
               (unsigned long long)got, (unsigned long long)want);
    FUZZ_CHECK(got >> 48 == 0, "more than 48 bits");
    pp_mac_format(got, text);
    FUZZ_CHECK(strlen(text) == 12 && strspn(text, "0123456789abcdef") == 12,
               "format gave '%s'", text);
    FUZZ_CHECK(pp_mac_parse(text, 12, &again) && again == got,
               "'%s' does not parse back", text);
    return 0;
}
