/* SPDX-License-Identifier: Apache-2.0 */
/* Step 5: the MAC out of the CN. */
#include "unit.h"

#include <string.h>

static pp_reason_t mac_of(const char *re, const char *cn, size_t len,
                          pp_mac_t *m)
{
    char err[256];
    pp_pattern_t *p = pp_pattern_compile(re, err, sizeof(err));
    pp_reason_t r;

    ck_assert_msg(p != NULL, "%s", err);
    r = pp_pattern_mac(p, cn, len, m);
    pp_pattern_free(p);
    return r;
}

#define DEF PP_DEFAULT_CN_PATTERN
#define S(x) x, sizeof(x) - 1

START_TEST(default_pattern)
{
    pp_mac_t m = 0;

    ck_assert_int_eq(mac_of(DEF, S("0004F28B54F4"), &m), PP_R_OK);
    ck_assert_uint_eq(m, 0x0004F28B54F4ULL);
    ck_assert_int_eq(mac_of(DEF, S("0004f28b54f4"), &m), PP_R_OK);
    ck_assert_int_eq(mac_of(DEF, S("000000000000"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S("0004F28B54F41"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S("0004F28B54F"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S("00:04:F2:8B:54:F4"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S(" 0004F28B54F4"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S("0004F28B54F4\n"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S(""), &m), PP_R_BAD_CN);
    /* an embedded NUL never reaches the regex */
    ck_assert_int_eq(mac_of(DEF, S("0004F28B54F4\0x"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of(DEF, S("0004F2\0008B54F4"), &m), PP_R_BAD_CN);
    /* not UTF-8 */
    ck_assert_int_eq(mac_of(DEF, S("\xff\xfe" "0004F28B54F4"), &m),
                     PP_R_BAD_CN);
}
END_TEST

START_TEST(custom_patterns)
{
    pp_mac_t m = 0;

    /* Broadworks' pattern: the first group */
    ck_assert_int_eq(mac_of(".*([0-9a-fA-F]{12}).*",
                            S("Phone 0004F2000A01 desk"), &m), PP_R_OK);
    ck_assert_uint_eq(m, 0x0004F2000A01ULL);
    /* no group: the whole match */
    ck_assert_int_eq(mac_of("[0-9A-F]{12}", S("SEP0004F2000A01"), &m),
                     PP_R_OK);
    ck_assert_uint_eq(m, 0x0004F2000A01ULL);
    /* a group that yields something else than 12 hex digits */
    ck_assert_int_eq(mac_of("^(.*)$", S("0004F2000A01x"), &m), PP_R_BAD_CN);
    ck_assert_int_eq(mac_of("^([0-9A-F]{6})", S("0004F2000A01"), &m),
                     PP_R_BAD_CN);
    /* an optional group that did not take part: the whole match */
    ck_assert_int_eq(mac_of("^(x)?[0-9A-F]{12}$", S("0004F2000A01"), &m),
                     PP_R_OK);
}
END_TEST

START_TEST(compile_errors)
{
    char err[256];

    ck_assert_ptr_null(pp_pattern_compile("([0-9", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "offset"));
    ck_assert_ptr_null(pp_pattern_compile("", err, sizeof(err)));
    ck_assert_ptr_null(pp_pattern_compile("a{3,1}", err, sizeof(err)));
    ck_assert_str_eq(pp_pattern_source(NULL), PP_DEFAULT_CN_PATTERN);
}
END_TEST

/* A pathological operator pattern ends at PCRE2's match limit and the
 * request is refused, instead of backtracking for minutes. */
START_TEST(runaway_pattern_is_bounded)
{
    char err[256], cn[PP_CN_MAX + 1];
    pp_pattern_t *p = pp_pattern_compile("^((a+)+)+$", err, sizeof(err));
    pp_mac_t mac = 0;

    ck_assert_ptr_nonnull(p);
    memset(cn, 'a', 60);
    cn[60] = 'b';
    /* without the limit: NOMATCH (bad-cn) after minutes, or Check's
     * timeout */
    ck_assert_int_eq(pp_pattern_mac(p, cn, 61, &mac), PP_R_INTERNAL);
    pp_pattern_free(p);
}
END_TEST

Suite *suite_cn(void)
{
    Suite *s = suite_create("cn");
    TCase *tc = tcase_create("cn");

    tcase_add_test(tc, default_pattern);
    tcase_add_test(tc, custom_patterns);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, runaway_pattern_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}
