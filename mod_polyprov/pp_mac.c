/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: MAC address notations. */
#include "pp_core.h"

#define X PP_NOT_HEX
#define X16 X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
const unsigned char pp_hex[256] = {
    X16, X16, X16,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,          /* '0'.. */
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,    /* 'A'.. */
    X16,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,    /* 'a'.. */
    X16, X16, X16, X16, X16, X16, X16, X16, X16,               /* 0x70.. */
};
#undef X16
#undef X

int pp_mac_from_hex12(const char *s, pp_mac_t *out)
{
    pp_mac_t m = 0;
    int i;

    for (i = 0; i < 12; i++) {
        unsigned char v = pp_hex[(unsigned char)s[i]];
        if (v == PP_NOT_HEX) {
            return 0;
        }
        m = (m << 4) | (pp_mac_t)v;
    }
    *out = m;
    return 1;
}

/*
 * Digits in groups of `group` hex digits separated by `sep` (12 digits
 * with no separator are pp_mac_from_hex12's):
 *   xx:xx:xx:xx:xx:xx / xx-...:  group 2
 *   xxxx.xxxx.xxxx:              group 4
 */
static int parse_grouped(const char *s, size_t len, int group, char sep,
                         pp_mac_t *out)
{
    size_t want = 12 + (size_t)(12 / group - 1);
    char digits[12];
    size_t i;
    int n = 0;

    if (len != want) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        /* a separator sits after every full group */
        if ((i + 1) % (size_t)(group + 1) == 0) {
            if (s[i] != sep) {
                return 0;
            }
            continue;
        }
        if (pp_hex[(unsigned char)s[i]] == PP_NOT_HEX) {
            return 0;
        }
        digits[n++] = s[i];
    }
    return n == 12 && pp_mac_from_hex12(digits, out);
}

int pp_mac_parse(const char *s, size_t len, pp_mac_t *out)
{
    switch (len) {
    case 12:
        return pp_mac_from_hex12(s, out);
    case 17:
        return parse_grouped(s, len, 2, s[2] == '-' ? '-' : ':', out);
    case 14:
        return parse_grouped(s, len, 4, '.', out);
    default:
        return 0;
    }
}

void pp_mac_format(pp_mac_t mac, char out[13])
{
    static const char hex[] = "0123456789abcdef";
    int i;

    for (i = 11; i >= 0; i--) {
        out[i] = hex[mac & 0xf];
        mac >>= 4;
    }
    out[12] = '\0';
}
