/* SPDX-License-Identifier: Apache-2.0 */
/* PP_STEP_CN: the MAC out of the CN. */
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
    /* an embedded NUL (the anchored default refuses these anyway) */
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
    /* a CN holding a NUL is refused even where a pattern that is not
     * anchored would find a MAC before or after it */
    ck_assert_int_eq(mac_of("[0-9A-F]{12}", S("0004F2000A01"), &m), PP_R_OK);
    ck_assert_int_eq(mac_of("[0-9A-F]{12}", S("0004F2000A01\0x"), &m),
                     PP_R_BAD_CN);
    ck_assert_int_eq(mac_of("[0-9A-F]{12}", S("x\0" "0004F2000A01"), &m),
                     PP_R_BAD_CN);
}
END_TEST

/* pp_cn_mac_of: the one way a certificate's CN becomes a MAC; a CN the
 * certificate facts call unusable (two CNs, too long, a NUL) gives none,
 * even when its text would match */
START_TEST(cn_mac_of_certificate)
{
    char err[256];
    pp_pattern_t *p = pp_pattern_compile(DEF, err, sizeof(err));
    pp_cert_facts_t f;
    pp_cn_mac_t out;

    ck_assert_msg(p != NULL, "%s", err);
    memset(&f, 0, sizeof(f));
    strcpy(f.cn, "0004F2000A01");
    f.cn_len = 12;
    f.cn_count = 1;
    f.cn_usable = 1;
    pp_cn_mac_of(p, &f, &out);
    ck_assert_int_eq(out.rv, PP_R_OK);
    ck_assert_uint_eq(out.mac, 0x0004F2000A01ULL);
    ck_assert_ptr_eq(out.pattern, p);
    /* two CN attributes: the first one's text matches, yet no MAC */
    f.cn_count = 2;
    f.cn_usable = 0;
    pp_cn_mac_of(p, &f, &out);
    ck_assert_int_eq(out.rv, PP_R_BAD_CN);
    ck_assert_uint_eq(out.mac, 0);
    ck_assert_ptr_eq(out.pattern, p);
    /* a CN the pattern refuses */
    f.cn_count = 1;
    f.cn_usable = 1;
    strcpy(f.cn, "SEP0004F2000A01");
    f.cn_len = strlen(f.cn);
    pp_cn_mac_of(p, &f, &out);
    ck_assert_int_eq(out.rv, PP_R_BAD_CN);
    ck_assert_uint_eq(out.mac, 0);
    pp_pattern_free(p);
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

/* A pathological operator pattern ends at a match limit and the request
 * is refused (internal).  (PCRE2's own default limit stops this input
 * too, in a fraction of a second: the two tests below are the ones that
 * need the module's own, lower, limits.) */
START_TEST(runaway_pattern_is_bounded)
{
    char err[256], cn[PP_CN_MAX + 1];
    pp_pattern_t *p = pp_pattern_compile("^((a+)+)+$", err, sizeof(err));
    pp_mac_t mac = 0;

    ck_assert_ptr_nonnull(p);
    memset(cn, 'a', 60);
    cn[60] = 'b';
    ck_assert_int_eq(pp_pattern_mac(p, cn, 61, &mac), PP_R_INTERNAL);
    pp_pattern_free(p);
}
END_TEST

/* The module's match limit (100,000): this CN takes about a million
 * steps of backtracking (2^20 ways to split 20 a's) before the second
 * alternative gives a MAC.  Under PCRE2's default limit (10,000,000) it
 * matches (PP_R_OK); under the module's it is refused. */
START_TEST(match_limit_is_the_modules)
{
    char err[256], cn[PP_CN_MAX + 1];
    pp_pattern_t *p = pp_pattern_compile(
        "^(?:(?:a+)+b|a*([0-9A-F]{12}))$", err, sizeof(err));
    pp_mac_t mac = 0;

    ck_assert_ptr_nonnull(p);
    /* a short run of a's is within the limit: the MAC is found */
    ck_assert_int_eq(pp_pattern_mac(p, S("aaaa0004F2000A01"), &mac),
                     PP_R_OK);
    ck_assert_uint_eq(mac, 0x0004F2000A01ULL);
    memset(cn, 'a', 20);
    memcpy(cn + 20, "0004F2000A01", 12);
    ck_assert_int_eq(pp_pattern_mac(p, cn, 32, &mac), PP_R_INTERNAL);
    pp_pattern_free(p);
}
END_TEST

/* The module's depth limit (1,000): eight nested groups for each of 116
 * a's go deeper than that, well within the match limit (the look-ahead
 * only makes the MAC the first group).  Under PCRE2's
 * default depth limit it matches (PP_R_OK); under the module's it is
 * refused. */
START_TEST(depth_limit_is_the_modules)
{
    char err[256], cn[PP_CN_MAX + 1];
    pp_pattern_t *p = pp_pattern_compile(
        "^(?=[ab]*([0-9A-F]{12})$)(?:((((((((a))))))))|b)*"
        "[0-9A-F]{12}$", err, sizeof(err));
    pp_mac_t mac = 0;

    ck_assert_ptr_nonnull(p);
    memset(cn, 'a', 10);
    memcpy(cn + 10, "0004F2000A01", 12);
    ck_assert_int_eq(pp_pattern_mac(p, cn, 22, &mac), PP_R_OK);
    memset(cn, 'a', 116);
    memcpy(cn + 116, "0004F2000A01", 12);
    ck_assert_int_eq(pp_pattern_mac(p, cn, 128, &mac), PP_R_INTERNAL);
    pp_pattern_free(p);
}
END_TEST

Suite *suite_cn(void)
{
    Suite *s = suite_create("cn");
    TCase *tc = tcase_create("cn");

    tcase_add_test(tc, default_pattern);
    tcase_add_test(tc, custom_patterns);
    tcase_add_test(tc, cn_mac_of_certificate);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, runaway_pattern_is_bounded);
    tcase_add_test(tc, match_limit_is_the_modules);
    tcase_add_test(tc, depth_limit_is_the_modules);
    suite_add_tcase(s, tc);
    return s;
}
