/* SPDX-License-Identifier: Apache-2.0 */
/* The decision (pp_decide): every row of docs/decisions.md's decision table, and
 * the order of the steps, over plain facts. */
#include "unit.h"

#include <string.h>

#define A 0x0004F2000A01ULL
#define B 0x0004F2000B02ULL
#define C 0x0004F2000C03ULL
#define D 0x0004F2000D04ULL

static const unsigned char PIN_OK[32] = { 1, 2, 3 };
static const unsigned char PIN_OTHER[32] = { 9, 9, 9 };

typedef struct {
    pp_listset_t *set;
    pp_pattern_t *pattern;
    pp_shared_t *shared;
    pp_scope_t scope;
    pp_cert_facts_t cert;
    pp_cn_mac_t cn;                /* the CN's MAC, as pp_cn_mac_of gives it
                                    * (decide() works it out, as the module
                                    * does, unless cn_given) */
    int cn_given;
    pp_request_t q;
    pp_verdict_t v;
} fixture_t;

static fixture_t fx;

static void setup(void)
{
    char err[256];
    const char *dir = tmpdir();
    const char *all[1] = { "*" };
    char state[512];

    memset(&fx, 0, sizeof(fx));
    fx.set = pp_listset_new();
    ck_assert_ptr_nonnull(fx.set);
    /* D is on both lists: the deny list wins */
    ck_assert_int_eq(pp_listset_add(fx.set, write_tmp("deny",
        "0004f2000d04\n"), err, sizeof(err)), 0);
    ck_assert_int_eq(pp_listset_add(fx.set, write_tmp("allow",
        "0004f2000a01\n0004f2000b02\n0004f2000d04\n"), err, sizeof(err)), 1);
    snprintf(state, sizeof(state), "%s/state", dir);
    ck_assert_msg(pp_listset_start(fx.set, state, 1, -1, -1, err,
                                   sizeof(err)), "%s", err);
    fx.pattern = pp_pattern_compile(PP_DEFAULT_CN_PATTERN, err, sizeof(err));
    ck_assert_ptr_nonnull(fx.pattern);
    fx.shared = pp_shared_new(all, 1, err, sizeof(err));
    ck_assert_ptr_nonnull(fx.shared);

    fx.scope.mode = PP_MODE_ON;
    fx.scope.have_ca = 1;
    fx.scope.enabled_where = "httpd.conf:7";
    fx.scope.pins = PIN_OK;
    fx.scope.npins = 1;
    fx.scope.pattern = fx.pattern;
    fx.scope.lists = fx.set;
    fx.scope.deny_idx = 0;
    fx.scope.allow_idx = 1;
    fx.scope.reload_s = 0;
    fx.scope.shared = fx.shared;

    /* phone A's genuine certificate */
    fx.cert.verdict = PP_R_OK;
    memcpy(fx.cert.issuer_sha256, PIN_OK, 32);
    fx.cert.cn_count = 1;
    fx.cert.cn_usable = 1;
    strcpy(fx.cert.cn, "0004F2000A01");
    fx.cert.cn_len = 12;

    /* GET /<A>.cfg over TLS */
    fx.q.tls = 1;
    fx.q.cert = &fx.cert;
    fx.q.uri = "/0004f2000a01.cfg";
    fx.q.file = "/0004f2000a01.cfg";
    fx.q.read_only = 1;
}

static void teardown(void)
{
    pp_listset_free(fx.set);
    pp_pattern_free(fx.pattern);
    pp_shared_free(fx.shared);
}

static void as_phone(const char *cn)
{
    strcpy(fx.cert.cn, cn);
    fx.cert.cn_len = strlen(cn);
}

static pp_reason_t decide(void)
{
    if (!fx.cn_given) {
        pp_cn_mac_of(fx.scope.pattern, &fx.cert, &fx.cn);
        fx.q.cn = &fx.cn;
    }
    return pp_decide(&fx.scope, &fx.q, &fx.v);
}

#define EXPECT(want, want_step) do { \
        ck_assert_str_eq(pp_reason_name(decide()), pp_reason_name(want)); \
        ck_assert_int_eq(fx.v.reason, (want)); \
        ck_assert_int_eq(fx.v.step, (want_step)); \
    } while (0)

START_TEST(allowed)
{
    EXPECT(PP_R_OK, PP_STEP_NONE);
    ck_assert(fx.v.mac_known);
    ck_assert(fx.v.mac == A);
    ck_assert_str_eq(fx.v.detail, "");
    /* a shared file */
    fx.q.uri = fx.q.file = "/000000000000.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    /* the CN's MAC is taken as the caller worked it out for the scope's
     * pattern (the module's, once per connection), not worked out again */
    fx.cn_given = 1;
    fx.cn.pattern = fx.scope.pattern;
    fx.cn.rv = PP_R_OK;
    fx.cn.mac = B;
    fx.q.cn = &fx.cn;
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    ck_assert(fx.v.mac == B);
}
END_TEST

START_TEST(tls_no_tls)
{
    fx.q.tls = 0;
    EXPECT(PP_R_NO_TLS, PP_STEP_TLS);
    ck_assert(!fx.v.mac_known);
}
END_TEST

START_TEST(cert_none)
{
    fx.q.cert = NULL;
    EXPECT(PP_R_NO_CERT, PP_STEP_CERT);
}
END_TEST

START_TEST(verify_untrusted)
{
    fx.cert.verdict = PP_R_UNTRUSTED;
    strcpy(fx.cert.detail, "verify error 20 at depth 0");
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);
    ck_assert_str_eq(fx.v.detail, "verify error 20 at depth 0");
    ck_assert(!fx.v.mac_known);
    /* no PolyProvTrustedCA applies: says where PolyProv is On */
    fx.scope.have_ca = 0;
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "PolyProv On at httpd.conf:7"));
    /* OpenSSL failing, not the certificate */
    fx.cert.verdict = PP_R_INTERNAL;
    EXPECT(PP_R_INTERNAL, PP_STEP_VERIFY);
}
END_TEST

/* A certificate past its notAfter, valid in every other respect:
 * PP_STEP_VERIFY refuses it unless the scope allows expired certificates,
 * and nothing after it is loosened. */
START_TEST(verify_expired)
{
    fx.cert.leaf_expired = 1;
    fx.cert.not_after = 86400;              /* 1970-01-02 00:00:00 UTC */
    fx.scope.allow_expired = 0;
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);
    ck_assert_str_eq(fx.v.detail, "the certificate expired at 1970-01-02 "
                     "00:00:00 UTC (its notAfter); PolyProvAllowExpired is "
                     "not On here");
    ck_assert(!fx.v.mac_known);
    fx.scope.allow_expired = 1;
    EXPECT(PP_R_OK, PP_STEP_NONE);
    ck_assert(fx.v.mac_known && fx.v.mac == A);
    /* the verification's own refusal stands */
    fx.cert.verdict = PP_R_UNTRUSTED;
    strcpy(fx.cert.detail, "verify error 23 at depth 0: certificate revoked");
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);
    ck_assert_str_eq(fx.v.detail, fx.cert.detail);
    fx.cert.verdict = PP_R_OK;
    /* every later step as for any certificate */
    fx.scope.pins = PIN_OTHER;
    EXPECT(PP_R_ISSUER, PP_STEP_ISSUER);
    fx.scope.pins = PIN_OK;
    fx.cert.cn_usable = 0;
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    fx.cert.cn_usable = 1;
    as_phone("0004F2000D04");
    fx.q.uri = fx.q.file = "/0004f2000d04.cfg";
    EXPECT(PP_R_DENY_LIST, PP_STEP_DENY_LIST);
    as_phone("0004F2000C03");
    fx.q.uri = fx.q.file = "/0004f2000c03.cfg";
    EXPECT(PP_R_ALLOW_LIST, PP_STEP_ALLOW_LIST);
    as_phone("0004F2000A01");
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    fx.q.uri = fx.q.file = "/0004f2000a01.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    /* a certificate in force needs nothing of the scope */
    fx.cert.leaf_expired = 0;
    fx.scope.allow_expired = 0;
    EXPECT(PP_R_OK, PP_STEP_NONE);
    /* SharedOnly looks at no certificate */
    fx.cert.leaf_expired = 1;
    fx.scope.mode = PP_MODE_SHARED_ONLY;
    fx.q.uri = fx.q.file = "/000000000000.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
}
END_TEST

START_TEST(issuer_pin)
{
    fx.scope.pins = PIN_OTHER;
    EXPECT(PP_R_ISSUER, PP_STEP_ISSUER);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "is not pinned"));
    /* one of several pins */
    {
        unsigned char two[64];
        memcpy(two, PIN_OTHER, 32);
        memcpy(two + 32, PIN_OK, 32);
        fx.scope.pins = two;
        fx.scope.npins = 2;
        EXPECT(PP_R_OK, PP_STEP_NONE);
        fx.scope.npins = 1;
        EXPECT(PP_R_ISSUER, PP_STEP_ISSUER);
    }
    /* no pins: any issuer under the CA */
    fx.scope.npins = 0;
    fx.scope.pins = NULL;
    EXPECT(PP_R_OK, PP_STEP_NONE);
}
END_TEST

START_TEST(cn_bad)
{
    fx.cert.cn_usable = 0;
    fx.cert.cn_count = 2;
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    ck_assert_str_eq(fx.v.detail, "the subject has 2 CN attributes");
    fx.cert.cn_count = 1;
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "holds a NUL"));
    fx.cert.cn_usable = 1;
    as_phone("SEP0004F2000A01");
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "PolyProvCNPattern"));
    as_phone("000000000000");
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    ck_assert(!fx.v.mac_known);
    /* the caller's result for the scope's pattern is taken as it is */
    as_phone("0004F2000A01");
    fx.cn_given = 1;
    fx.cn.pattern = fx.scope.pattern;
    fx.cn.mac = A;
    fx.q.cn = &fx.cn;
    fx.cn.rv = PP_R_BAD_CN;
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    ck_assert(!fx.v.mac_known);
    fx.cn.rv = PP_R_INTERNAL;
    EXPECT(PP_R_INTERNAL, PP_STEP_CN);
    ck_assert(!fx.v.mac_known);
}
END_TEST

/* A certificate with no worked-out MAC, or one worked out with another
 * pattern than the scope's, is refused (internal), whatever it says */
START_TEST(cn_mac_for_the_scope_only)
{
    char err[256];
    pp_pattern_t *other = pp_pattern_compile("^SEP([0-9A-F]{12})$", err,
                                             sizeof(err));

    ck_assert_ptr_nonnull(other);
    fx.cn_given = 1;
    fx.cn.pattern = fx.scope.pattern;
    fx.cn.rv = PP_R_OK;
    fx.cn.mac = A;
    fx.q.cn = &fx.cn;
    EXPECT(PP_R_OK, PP_STEP_NONE);
    fx.q.cn = NULL;
    EXPECT(PP_R_INTERNAL, PP_STEP_CN);
    ck_assert(!fx.v.mac_known);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "PolyProvCNPattern"));
    /* A's MAC, but worked out with another pattern */
    fx.q.cn = &fx.cn;
    fx.cn.pattern = other;
    EXPECT(PP_R_INTERNAL, PP_STEP_CN);
    ck_assert(!fx.v.mac_known);
    /* the same, worked out by pp_cn_mac_of for the other pattern */
    as_phone("SEP0004F2000A01");
    pp_cn_mac_of(other, &fx.cert, &fx.cn);
    ck_assert_int_eq(fx.cn.rv, PP_R_OK);
    ck_assert(fx.cn.mac == A);
    EXPECT(PP_R_INTERNAL, PP_STEP_CN);
    /* and with the scope's pattern */
    fx.scope.pattern = other;
    EXPECT(PP_R_OK, PP_STEP_NONE);
    ck_assert(fx.v.mac == A);
    fx.scope.pattern = fx.pattern;
    pp_pattern_free(other);
}
END_TEST

START_TEST(deny_list)
{
    as_phone("0004F2000D04");
    fx.q.uri = fx.q.file = "/0004f2000d04.cfg";
    EXPECT(PP_R_DENY_LIST, PP_STEP_DENY_LIST);
    ck_assert(fx.v.mac_known && fx.v.mac == D);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "listed in "));
    /* without the deny list, D is on the allow list */
    fx.scope.deny_idx = -1;
    EXPECT(PP_R_OK, PP_STEP_NONE);
}
END_TEST

START_TEST(allow_list)
{
    as_phone("0004F2000C03");
    fx.q.uri = fx.q.file = "/0004f2000c03.cfg";
    EXPECT(PP_R_ALLOW_LIST, PP_STEP_ALLOW_LIST);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "not in "));
    /* shared files too */
    fx.q.uri = fx.q.file = "/000000000000.cfg";
    EXPECT(PP_R_ALLOW_LIST, PP_STEP_ALLOW_LIST);
    fx.scope.allow_idx = -1;
    EXPECT(PP_R_OK, PP_STEP_NONE);
}
END_TEST

START_TEST(directory)
{
    fx.q.uri = "/";
    fx.q.file = "/";
    fx.q.is_dir = 1;
    EXPECT(PP_R_DIRECTORY, PP_STEP_DIRECTORY);
    /* even the phone's own */
    fx.q.uri = fx.q.file = "/0004f2000a01";
    EXPECT(PP_R_DIRECTORY, PP_STEP_DIRECTORY);
}
END_TEST

START_TEST(dot_file)
{
    fx.q.read_only = 0;
    fx.q.uri = fx.q.file = "/0004f2000a01/.htaccess";
    EXPECT(PP_R_DOT_FILE, PP_STEP_DOT_FILE);
    fx.q.uri = "/logs/0004f2000a01-x.log";
    fx.q.file = "/.up/0004f2000a01-x.log";
    EXPECT(PP_R_DOT_FILE, PP_STEP_DOT_FILE);
    /* reading one is not a write */
    fx.q.read_only = 1;
    fx.q.uri = fx.q.file = "/0004f2000a01/.profile";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    /* a COPY onto one */
    fx.q.read_only = 0;
    fx.q.uri = fx.q.file = "/0004f2000a01.cfg";
    fx.q.copy_move = 1;
    fx.q.destination = "/0004f2000a01/.htaccess";
    EXPECT(PP_R_DOT_FILE, PP_STEP_DOT_FILE);
}
END_TEST

START_TEST(owner)
{
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    fx.q.uri = fx.q.file = "/site.cfg";
    fx.q.read_only = 0;
    EXPECT(PP_R_SHARED_READONLY, PP_STEP_OWNER);
    {
        const char *some[1] = { "000000000000*.cfg" };
        char err[256];
        pp_shared_t *s = pp_shared_new(some, 1, err, sizeof(err));
        fx.scope.shared = s;
        fx.q.read_only = 1;
        EXPECT(PP_R_NOT_SHARED, PP_STEP_OWNER);
        fx.scope.shared = fx.shared;
        pp_shared_free(s);
    }
    /* path info; a lone "/" is how a collection is spelled */
    fx.q.uri = "/0004f2000a01.cfg/x";
    fx.q.file = "/0004f2000a01.cfg";
    fx.q.path_info = "/x";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    fx.q.read_only = 0;
    fx.q.uri = "/0004f2000a01-dir/";
    fx.q.file = "/0004f2000a01-dir";
    fx.q.path_info = "/";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    /* a file subrequest without a URI, into another device's directory */
    fx.q.read_only = 1;
    fx.q.path_info = NULL;
    fx.q.uri = "";
    fx.q.file = "/0004f2000b02/contacts.xml";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
}
END_TEST

START_TEST(owner_destination)
{
    fx.q.read_only = 0;
    fx.q.copy_move = 1;
    fx.q.destination = "/0004f2000a01-backup.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    fx.q.destination = "/0004f2000b02.cfg";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    ck_assert_str_eq(fx.v.detail, "Destination /0004f2000b02.cfg");
    fx.q.destination = "/000000000000.cfg";
    EXPECT(PP_R_SHARED_READONLY, PP_STEP_OWNER);
    fx.q.destination = NULL;
    fx.q.destination_error = "COPY or MOVE without a Destination";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    ck_assert_str_eq(fx.v.detail, "COPY or MOVE without a Destination");
    /* the source is judged first */
    fx.q.destination = "/0004f2000a01-backup.cfg";
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
    ck_assert_str_eq(fx.v.detail, "");
}
END_TEST

START_TEST(method_proppatch)
{
    fx.q.read_only = 0;
    fx.q.proppatch = 1;
    EXPECT(PP_R_METHOD, PP_STEP_METHOD);
    /* on another device's file, ownership speaks first */
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
}
END_TEST

START_TEST(lists_never_loaded)
{
    char err[256], state[512];
    pp_listset_t *set = pp_listset_new();
    int idx = pp_listset_add(set, write_tmp("broken", "not-a-mac\n"), err,
                             sizeof(err));

    /* a broken list is registered (lists are data), and refuses with a
     * reason of its own until it loads */
    ck_assert_int_ge(idx, 0);
    snprintf(state, sizeof(state), "%s/state", tmpdir());
    ck_assert_msg(pp_listset_start(set, state, 1, -1, -1, err, sizeof(err)),
                  "%s", err);
    fx.scope.lists = set;
    fx.scope.deny_idx = idx;
    fx.scope.allow_idx = -1;
    EXPECT(PP_R_LIST_UNAVAILABLE, PP_STEP_DENY_LIST);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "never loaded"));
    fx.scope.deny_idx = -1;
    fx.scope.allow_idx = idx;
    EXPECT(PP_R_LIST_UNAVAILABLE, PP_STEP_ALLOW_LIST);
    fx.scope.lists = fx.set;
    pp_listset_free(set);
}
END_TEST

/* A list that cannot be looked at (here: a set never started, so no
 * snapshot to map) refuses as an error inside the check, deny list and
 * allow list alike. */
START_TEST(list_error_is_internal)
{
    char err[256];
    pp_listset_t *set = pp_listset_new();
    int idx = pp_listset_add(set, write_tmp("deny", "0004f2000d04\n"), err,
                             sizeof(err));

    ck_assert_int_ge(idx, 0);
    fx.scope.lists = set;
    fx.scope.deny_idx = idx;
    fx.scope.allow_idx = -1;
    EXPECT(PP_R_INTERNAL, PP_STEP_DENY_LIST);
    ck_assert_ptr_nonnull(strstr(fx.v.detail, "unavailable"));
    fx.scope.deny_idx = -1;
    fx.scope.allow_idx = idx;
    EXPECT(PP_R_INTERNAL, PP_STEP_ALLOW_LIST);
    fx.scope.lists = fx.set;
    pp_listset_free(set);
}
END_TEST

/* The first failing step gives the reason: each pair fails two steps. */
START_TEST(order_of_steps)
{
    fx.q.tls = 0;
    fx.q.cert = NULL;
    EXPECT(PP_R_NO_TLS, PP_STEP_TLS);
    fx.q.tls = 1;
    fx.cert.verdict = PP_R_UNTRUSTED;
    fx.scope.pins = PIN_OTHER;
    fx.q.cert = &fx.cert;
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);
    fx.cert.verdict = PP_R_OK;
    fx.cert.leaf_expired = 1;
    EXPECT(PP_R_UNTRUSTED, PP_STEP_VERIFY);      /* expired, where it is not allowed */
    fx.cert.leaf_expired = 0;
    fx.cert.cn_usable = 0;
    EXPECT(PP_R_ISSUER, PP_STEP_ISSUER);
    fx.scope.pins = PIN_OK;
    as_phone("0004F2000D04");       /* denied */
    fx.cert.cn_usable = 0;
    EXPECT(PP_R_BAD_CN, PP_STEP_CN);
    fx.cert.cn_usable = 1;
    EXPECT(PP_R_DENY_LIST, PP_STEP_DENY_LIST);     /* D is on the allow list too */
    as_phone("0004F2000C03");       /* not allowed */
    fx.q.is_dir = 1;
    EXPECT(PP_R_ALLOW_LIST, PP_STEP_ALLOW_LIST);
    as_phone("0004F2000A01");
    fx.q.read_only = 0;
    fx.q.uri = fx.q.file = "/0004f2000b02/.htaccess";
    EXPECT(PP_R_DIRECTORY, PP_STEP_DIRECTORY);
    fx.q.is_dir = 0;
    EXPECT(PP_R_DOT_FILE, PP_STEP_DOT_FILE);
    fx.q.uri = fx.q.file = "/0004f2000b02.cfg";
    fx.q.proppatch = 1;
    EXPECT(PP_R_NOT_OWNER, PP_STEP_OWNER);
}
END_TEST

START_TEST(shared_only_mode)
{
    fx.scope.mode = PP_MODE_SHARED_ONLY;
    /* no TLS and no certificate needed */
    fx.q.tls = 0;
    fx.q.cert = NULL;
    fx.q.uri = fx.q.file = "/000000000000.cfg";
    EXPECT(PP_R_OK, PP_STEP_NONE);
    ck_assert(!fx.v.mac_known);
    fx.q.uri = fx.q.file = "/0004f2000a01.cfg";
    EXPECT(PP_R_DEVICE_FILE, PP_STEP_OWNER);
    fx.q.uri = "/phones/0004f2000a01/contacts.xml";
    fx.q.file = NULL;
    EXPECT(PP_R_DEVICE_FILE, PP_STEP_OWNER);
    /* a URI naming no device mapped to a file that names one (an Alias,
     * a rewrite): the file is a device's */
    fx.q.uri = "/site.cfg";
    fx.q.file = "/0004f2000b02.cfg";
    EXPECT(PP_R_DEVICE_FILE, PP_STEP_OWNER);
    fx.q.uri = fx.q.file = "/000000000000.cfg";
    fx.q.read_only = 0;
    EXPECT(PP_R_SHARED_READONLY, PP_STEP_OWNER);
    fx.q.read_only = 1;
    fx.q.is_dir = 1;
    EXPECT(PP_R_DIRECTORY, PP_STEP_DIRECTORY);
    fx.q.is_dir = 0;
    {
        const char *none[1] = { "none" };
        char err[256];
        pp_shared_t *s = pp_shared_new(none, 1, err, sizeof(err));
        fx.scope.shared = s;
        EXPECT(PP_R_NOT_SHARED, PP_STEP_OWNER);
        fx.scope.shared = fx.shared;
        pp_shared_free(s);
    }
}
END_TEST

Suite *suite_decide(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("steps");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, allowed);
    tcase_add_test(tc, tls_no_tls);
    tcase_add_test(tc, cert_none);
    tcase_add_test(tc, verify_untrusted);
    tcase_add_test(tc, verify_expired);
    tcase_add_test(tc, issuer_pin);
    tcase_add_test(tc, cn_bad);
    tcase_add_test(tc, cn_mac_for_the_scope_only);
    tcase_add_test(tc, deny_list);
    tcase_add_test(tc, allow_list);
    tcase_add_test(tc, directory);
    tcase_add_test(tc, dot_file);
    tcase_add_test(tc, owner);
    tcase_add_test(tc, owner_destination);
    tcase_add_test(tc, method_proppatch);
    tcase_add_test(tc, lists_never_loaded);
    tcase_add_test(tc, list_error_is_internal);
    tcase_add_test(tc, order_of_steps);
    tcase_add_test(tc, shared_only_mode);
    suite_add_tcase(s, tc);
    return s;
}
