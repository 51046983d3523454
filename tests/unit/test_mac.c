/* SPDX-License-Identifier: Apache-2.0 */
/* MAC notations. */
#include "unit.h"

#include <string.h>

static pp_mac_t parse(const char *s, int *ok)
{
    pp_mac_t m = 0;

    *ok = pp_mac_parse(s, strlen(s), &m);
    return m;
}

START_TEST(hex12)
{
    pp_mac_t m;

    ck_assert(pp_mac_from_hex12("0004F28B54F4", &m));
    ck_assert_uint_eq(m, 0x0004F28B54F4ULL);
    ck_assert(pp_mac_from_hex12("0004f28b54f4", &m));
    ck_assert_uint_eq(m, 0x0004F28B54F4ULL);
    ck_assert(!pp_mac_from_hex12("0004f28b54fg", &m));
    ck_assert(!pp_mac_from_hex12("0004f28b54f", &m));   /* NUL at 11 */
}
END_TEST

START_TEST(notations)
{
    static const char *const good[] = {
        "0004f2aabbcc", "0004F2AABBCC", "00:04:f2:aa:bb:cc",
        "00:04:F2:AA:BB:CC", "00-04-f2-aa-bb-cc", "0004.f2aa.bbcc",
        "0004.F2AA.BBCC",
    };
    static const char *const bad[] = {
        "", "0004f2aabbc", "0004f2aabbccd", "00:04:f2:aa:bb-cc",
        "00-04-f2-aa-bb:cc", "0004f2:aabbcc", "00.04.f2.aa.bb.cc",
        "0004-f2aa-bbcc", "0004.f2aabbcc", "00:04:f2:aa:bb:cg",
        " 0004f2aabbcc", "0004f2aabbcc ", "000:4f2:aab:bcc", "0x04f2aabbcc",
        "00:04:f2:aa:bb:c", "00::04:f2:aa:bb:cc",
    };
    size_t i;
    int ok;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pp_mac_t m = parse(good[i], &ok);
        ck_assert_msg(ok, "'%s' should parse", good[i]);
        ck_assert_uint_eq(m, 0x0004F2AABBCCULL);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parse(bad[i], &ok);
        ck_assert_msg(!ok, "'%s' should not parse", bad[i]);
    }
}
END_TEST

START_TEST(hex_table)
{
    int c;

    for (c = 0; c < 256; c++) {
        int want = (c >= '0' && c <= '9') ? c - '0'
                 : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : PP_NOT_HEX;
        ck_assert_msg(pp_hex[c] == want, "pp_hex[%d]", c);
    }
}
END_TEST

START_TEST(format)
{
    char buf[13];

    pp_mac_format(0x0004F28B54F4ULL, buf);
    ck_assert_str_eq(buf, "0004f28b54f4");
    pp_mac_format(0, buf);
    ck_assert_str_eq(buf, "000000000000");
    pp_mac_format(0xFFFFFFFFFFFFULL, buf);
    ck_assert_str_eq(buf, "ffffffffffff");
}
END_TEST

START_TEST(reasons)
{
    ck_assert_str_eq(pp_reason_name(PP_R_OK), "ok");
    ck_assert_str_eq(pp_reason_name(PP_R_NO_TLS), "no-tls");
    ck_assert_str_eq(pp_reason_name(PP_R_NO_CERT), "no-cert");
    ck_assert_str_eq(pp_reason_name(PP_R_UNTRUSTED), "untrusted");
    ck_assert_str_eq(pp_reason_name(PP_R_ISSUER), "issuer");
    ck_assert_str_eq(pp_reason_name(PP_R_BAD_CN), "bad-cn");
    ck_assert_str_eq(pp_reason_name(PP_R_DENY_LIST), "deny-list");
    ck_assert_str_eq(pp_reason_name(PP_R_ALLOW_LIST), "allow-list");
    ck_assert_str_eq(pp_reason_name(PP_R_DIRECTORY), "directory");
    ck_assert_str_eq(pp_reason_name(PP_R_NOT_OWNER), "not-owner");
    ck_assert_str_eq(pp_reason_name(PP_R_LIST_UNAVAILABLE),
                     "list-unavailable");
    ck_assert_str_eq(pp_reason_name(PP_R_SHARED_READONLY), "shared-readonly");
    ck_assert_str_eq(pp_reason_name(PP_R_NOT_SHARED), "not-shared");
    ck_assert_str_eq(pp_reason_name(PP_R_INTERNAL), "internal");
    ck_assert_str_eq(pp_reason_name(PP_R_QUOTA), "quota");
    ck_assert_str_eq(pp_reason_name((pp_reason_t)999), "internal");
    ck_assert_str_eq(pp_reason_name((pp_reason_t)-1), "internal");
    /* one past the last reason */
    ck_assert_str_eq(pp_reason_name((pp_reason_t)(PP_R_QUOTA + 1)),
                     "internal");
}
END_TEST

Suite *suite_mac(void)
{
    Suite *s = suite_create("mac");
    TCase *tc = tcase_create("mac");

    tcase_add_test(tc, hex12);
    tcase_add_test(tc, hex_table);
    tcase_add_test(tc, notations);
    tcase_add_test(tc, format);
    tcase_add_test(tc, reasons);
    suite_add_tcase(s, tc);
    return s;
}
