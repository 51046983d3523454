/* SPDX-License-Identifier: Apache-2.0 */
/* PP_STEP_OWNER: ownership of a request path. */
#include "unit.h"

#include <string.h>

#define A 0x0004F2000A01ULL

static pp_shared_t *shared_of(const char *p1, const char *p2)
{
    const char *v[2] = { p1, p2 };
    char err[256];
    pp_shared_t *s = pp_shared_new(v, p2 ? 2 : 1, err, sizeof(err));

    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

static pp_reason_t own(const char *uri, const char *file, int read,
                       const pp_shared_t *sh)
{
    pp_target_t t;

    memset(&t, 0, sizeof(t));
    t.uri_path = uri;
    t.filename = file;
    t.read_method = read;
    return pp_owner_check(&t, A, sh);
}

START_TEST(owned_files)
{
    pp_shared_t *all = shared_of("*", NULL);

    ck_assert_int_eq(own("/0004f2000a01.cfg", "/srv/0004f2000a01.cfg", 1, all),
                     PP_R_OK);
    ck_assert_int_eq(own("/0004F2000A01-phone.cfg",
                         "/srv/0004F2000A01-phone.cfg", 1, all), PP_R_OK);
    /* any method on the requester's own file */
    ck_assert_int_eq(own("/0004f2000a01-app.log", "/srv/0004f2000a01-app.log",
                         0, all), PP_R_OK);
    /* the MAC in a directory of the URI */
    ck_assert_int_eq(own("/phones/0004f2000a01/contacts.xml",
                         "/srv/phones/0004f2000a01/contacts.xml", 1, all),
                     PP_R_OK);
    /* own MAC and the placeholder */
    ck_assert_int_eq(own("/0004f2000a01-000000000000.cfg",
                         "/srv/0004f2000a01-000000000000.cfg", 0, all),
                     PP_R_OK);
    /* two tokens, both the requester's */
    ck_assert_int_eq(own("/0004f2000a01-0004F2000A01.cfg",
                         "/srv/0004f2000a01-0004F2000A01.cfg", 1, all),
                     PP_R_OK);
    pp_shared_free(all);
}
END_TEST

START_TEST(foreign_and_ambiguous)
{
    pp_shared_t *all = shared_of("*", NULL);

    ck_assert_int_eq(own("/0004f2000b02.cfg", "/srv/0004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    /* own and foreign in one name */
    ck_assert_int_eq(own("/0004f2000a01-0004f2000b02.cfg",
                         "/srv/0004f2000a01-0004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    /* glued: a run of 24 is ambiguous */
    ck_assert_int_eq(own("/0004f2000a010004f2000b02.cfg",
                         "/srv/0004f2000a010004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    /* 13 hex digits */
    ck_assert_int_eq(own("/0004f2000a01a.cfg", "/srv/0004f2000a01a.cfg", 1,
                         all), PP_R_NOT_OWNER);
    /* 'cafe' before the MAC makes one long run */
    ck_assert_int_eq(own("/cafe0004f2000a01.cfg", "/srv/cafe0004f2000a01.cfg",
                         1, all), PP_R_NOT_OWNER);
    /* the URI names the requester, the mapped file another device */
    ck_assert_int_eq(own("/0004f2000a01.cfg", "/srv/0004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    /* a shared-looking URI mapped onto another device's file */
    ck_assert_int_eq(own("/site.cfg", "/srv/0004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    /* a run of more than 12 hex digits is ambiguous even when its value,
     * read as a number, is the requester's MAC (13 digits with a leading
     * zero; 20 digits whose last 16 are the MAC) */
    ck_assert_int_eq(own("/00004f2000a01.cfg", "/srv/00004f2000a01.cfg", 1,
                         all), PP_R_NOT_OWNER);
    ck_assert_int_eq(own("/00004f2000a01.cfg", "/srv/00004f2000a01.cfg", 0,
                         all), PP_R_NOT_OWNER);
    ck_assert_int_eq(own("/ffff00000004f2000a01.cfg",
                         "/srv/ffff00000004f2000a01.cfg", 0, all),
                     PP_R_NOT_OWNER);
    ck_assert_int_eq(own("/x/00004f2000a01", NULL, 1, all), PP_R_NOT_OWNER);
    ck_assert(!pp_path_names_mac("/00004f2000a01.cfg", A));
    /* a foreign MAC in a directory */
    ck_assert_int_eq(own("/0004f2000b02/0004f2000a01.cfg",
                         "/srv/0004f2000b02/0004f2000a01.cfg", 1, all),
                     PP_R_NOT_OWNER);
    pp_shared_free(all);
}
END_TEST

START_TEST(path_info)
{
    pp_shared_t *all = shared_of("*", NULL);
    pp_target_t t;

    memset(&t, 0, sizeof(t));
    t.uri_path = "/0004f2000a01.cfg/x";
    t.filename = "/srv/0004f2000a01.cfg";
    t.has_path_info = 1;
    t.read_method = 1;
    ck_assert_int_eq(pp_owner_check(&t, A, all), PP_R_NOT_OWNER);
    t.uri_path = "/000000000000.cfg/0004f2000a01.cfg";
    t.filename = "/srv/000000000000.cfg";
    ck_assert_int_eq(pp_owner_check(&t, A, all), PP_R_NOT_OWNER);
    pp_shared_free(all);
}
END_TEST

START_TEST(shared_files)
{
    pp_shared_t *all = shared_of("*", NULL);
    pp_shared_t *none = shared_of("none", NULL);
    pp_shared_t *some = shared_of("000000000000*.cfg", "*.ld");

    ck_assert_int_eq(own("/000000000000.cfg", "/srv/000000000000.cfg", 1, all),
                     PP_R_OK);
    ck_assert_int_eq(own("/3111-40250-001.sip.ld", "/srv/3111-40250-001.sip.ld",
                         1, all), PP_R_OK);
    /* shared files are read-only */
    ck_assert_int_eq(own("/000000000000.cfg", "/srv/000000000000.cfg", 0, all),
                     PP_R_SHARED_READONLY);
    ck_assert_int_eq(own("/site.cfg", "/srv/site.cfg", 0, some),
                     PP_R_SHARED_READONLY);
    /* none */
    ck_assert_int_eq(own("/000000000000.cfg", "/srv/000000000000.cfg", 1,
                         none), PP_R_NOT_SHARED);
    /* wildcards */
    ck_assert_int_eq(own("/000000000000-license.cfg",
                         "/srv/000000000000-license.cfg", 1, some), PP_R_OK);
    ck_assert_int_eq(own("/fw/3111-40250-001.sip.ld",
                         "/srv/fw/3111-40250-001.sip.ld", 1, some), PP_R_OK);
    ck_assert_int_eq(own("/site.cfg", "/srv/site.cfg", 1, some),
                     PP_R_NOT_SHARED);
    /* both names must match: an alias from a shared name onto another */
    ck_assert_int_eq(own("/x.ld", "/srv/secret.key", 1, some),
                     PP_R_NOT_SHARED);
    /* ... and from another name onto a shared one */
    ck_assert_int_eq(own("/secret.key", "/srv/x.ld", 1, some),
                     PP_R_NOT_SHARED);
    ck_assert_int_eq(own("/secret.key", NULL, 1, some), PP_R_NOT_SHARED);
    /* no mapped file: the URI alone */
    ck_assert_int_eq(own("/x.ld", NULL, 1, some), PP_R_OK);
    ck_assert_int_eq(own("/0004f2000b02.cfg", NULL, 1, all), PP_R_NOT_OWNER);
    /* an owned file is not subject to the shared wildcards */
    ck_assert_int_eq(own("/0004f2000a01.cfg", "/srv/0004f2000a01.cfg", 1,
                         none), PP_R_OK);
    ck_assert_str_eq(pp_shared_describe(some), "000000000000*.cfg *.ld");
    /* case-sensitive, like file names */
    ck_assert_int_eq(own("/FW.LD", "/srv/FW.LD", 1, some), PP_R_NOT_SHARED);
    pp_shared_free(all);
    pp_shared_free(none);
    pp_shared_free(some);
}
END_TEST

/* File subrequests, whole file paths, writes, responses (docs/decisions.md, "How
 * the module decides"). */
START_TEST(file_paths_and_subrequests)
{
    pp_shared_t *all = shared_of("*", NULL);

    /* the whole path below the root counts, not only the last segment:
     * an SSI include file="<B>/contacts.xml" */
    ck_assert_int_eq(own("", "/0004f2000b02/contacts.xml", 1, all),
                     PP_R_NOT_OWNER);
    ck_assert_int_eq(own(NULL, "/sub/0004f2000b02.cfg", 1, all),
                     PP_R_NOT_OWNER);
    ck_assert_int_eq(own("/0004f2000a01-x.shtml", "/0004f2000b02/contacts.xml",
                         1, all), PP_R_NOT_OWNER);
    /* a file subrequest with no (or a relative) URI is judged on its file */
    ck_assert_int_eq(own("", "/0004f2000a01/contacts.xml", 1, all), PP_R_OK);
    ck_assert_int_eq(own("INTERNALLY GENERATED", "/site.cfg", 1, all),
                     PP_R_OK);
    /* with neither a URI nor a file nothing can be judged */
    ck_assert_int_eq(own("", NULL, 1, all), PP_R_NOT_OWNER);
    ck_assert_int_eq(own(NULL, NULL, 1, all), PP_R_NOT_OWNER);
    /* a write lands on a file whose own path names the device */
    ck_assert_int_eq(own("/0004f2000a01-x.log", "/x.php", 0, all),
                     PP_R_NOT_OWNER);
    ck_assert_int_eq(own("/0004f2000a01-x.log", "/0004f2000a01-x.log", 0,
                         all), PP_R_OK);
    ck_assert_int_eq(own("/logs/0004f2000a01/x.log",
                         "/up/0004f2000a01/x.log", 0, all), PP_R_OK);
    /* a read of an operator's script reached by a rewrite of the URI */
    ck_assert_int_eq(own("/0004f2000a01.cfg", "/gen.php", 1, all), PP_R_OK);
    /* a write with no local file (a proxy): the URI alone */
    ck_assert_int_eq(own("/dav/0004f2000a01-x.cfg", NULL, 0, all), PP_R_OK);
    pp_shared_free(all);
}
END_TEST

START_TEST(names_and_dot_segments)
{
    const char *txt;

    ck_assert(pp_path_names_mac("/0004f2000a01-x.php", A));
    ck_assert(pp_path_names_mac("/up/0004F2000A01/x.shtml", A));
    ck_assert(!pp_path_names_mac("/gen.php", A));
    ck_assert(!pp_path_names_mac("/000000000000.cfg", A));
    ck_assert(!pp_path_names_mac("/0004f2000a01-0004f2000b02.cfg", A));
    ck_assert(!pp_path_names_mac(NULL, A));
    ck_assert(pp_path_names_any("/0004f2000b02.cfg"));
    ck_assert(pp_path_names_any("/0004f2000b02a.cfg"));
    ck_assert(!pp_path_names_any("/000000000000.cfg"));
    ck_assert(!pp_path_names_any("/site.cfg"));
    ck_assert(!pp_path_names_any(NULL));

    ck_assert(pp_path_has_dot_segment("/logs/0004f2000a01/.htaccess"));
    ck_assert(pp_path_has_dot_segment("/.x/0004f2000a01.cfg"));
    ck_assert(pp_path_has_dot_segment(".htaccess"));
    ck_assert(!pp_path_has_dot_segment("/0004f2000a01.cfg"));
    ck_assert(!pp_path_has_dot_segment("/a.b/c.d"));
    ck_assert(!pp_path_has_dot_segment(NULL));

    /* a response naming another device: a 300 list of mod_speling */
    txt = "<li><a href=\"/0004f2000b02.cfg\">/0004f2000b02.cfg</a>";
    ck_assert(pp_text_names_other(txt, strlen(txt), A));
    /* ... only within the given length */
    ck_assert(!pp_text_names_other(txt, 20, A));
    txt = "The requested URL /0004f2000a01.cfg was not found";
    ck_assert(!pp_text_names_other(txt, strlen(txt), A));
    ck_assert(pp_text_names_other(txt, strlen(txt), PP_MAC_NONE));
    txt = "{\"0004f2000b02a.cfg\" 1 {length 41}}";
    ck_assert(pp_text_names_other(txt, strlen(txt), A));
    txt = "Location: /000000000000.cfg";
    ck_assert(!pp_text_names_other(txt, strlen(txt), A));
}
END_TEST

/* The path a file is judged by: below DocumentRoot, or whole. */
START_TEST(below_root)
{
    ck_assert_str_eq(pp_path_below_root("/srv/www/a.cfg", "/srv/www"),
                     "/a.cfg");
    ck_assert_str_eq(pp_path_below_root("/srv/www/a.cfg", "/srv/www/"),
                     "/a.cfg");
    /* a sibling directory that starts with the root's name is outside */
    ck_assert_str_eq(pp_path_below_root("/srv/wwwx/a.cfg", "/srv/www"),
                     "/srv/wwwx/a.cfg");
    ck_assert_str_eq(pp_path_below_root("/etc/a.cfg", "/srv/www"),
                     "/etc/a.cfg");
    ck_assert_str_eq(pp_path_below_root("/a.cfg", NULL), "/a.cfg");
    ck_assert_ptr_null(pp_path_below_root("a.cfg", "/srv/www"));
    ck_assert_ptr_null(pp_path_below_root(NULL, "/srv/www"));
}
END_TEST

START_TEST(shared_errors)
{
    const char *v[3] = { NULL, NULL, NULL };
    char err[256];

    ck_assert_ptr_null(pp_shared_new(v, 0, err, sizeof(err)));
    v[0] = "a/b";
    ck_assert_ptr_null(pp_shared_new(v, 1, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "may not contain '/'"));
    v[0] = "none";
    v[1] = "*.cfg";
    ck_assert_ptr_null(pp_shared_new(v, 2, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "must stand alone"));
    v[0] = "*.ld";
    v[1] = "*";
    ck_assert_ptr_null(pp_shared_new(v, 2, err, sizeof(err)));
    v[0] = "";
    ck_assert_ptr_null(pp_shared_new(v, 1, err, sizeof(err)));
}
END_TEST

START_TEST(alloc_failure)
{
    const char *v[2] = { "*.cfg", "*.ld" };
    char err[256];
    unsigned long n;

    /* every allocation failing in turn: the fault fires, and the result
     * is a clean error, never a crash; past the last allocation nothing
     * fires and the set is made */
    for (n = 1; n < 100; n++) {
        pp_shared_t *s;
        pp_fault_alloc_after(n);
        s = pp_shared_new(v, 2, err, sizeof(err));
        if (!pp_fault_fired(PP_FAULT_ALLOC)) {
            pp_fault_alloc_after(0);
            ck_assert_ptr_nonnull(s);
            ck_assert_str_eq(pp_shared_describe(s), "*.cfg *.ld");
            pp_shared_free(s);
            break;
        }
        pp_fault_alloc_after(0);
        ck_assert_msg(s == NULL, "allocation %lu failed, yet a set was made",
                      n);
        ck_assert_str_eq(err, "out of memory");
    }
    /* the set takes several allocations, each of which was tried */
    ck_assert_uint_gt(n, 3);
    ck_assert_uint_lt(n, 100);
}
END_TEST

Suite *suite_path(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("owner");

    tcase_add_test(tc, owned_files);
    tcase_add_test(tc, foreign_and_ambiguous);
    tcase_add_test(tc, path_info);
    tcase_add_test(tc, shared_files);
    tcase_add_test(tc, file_paths_and_subrequests);
    tcase_add_test(tc, names_and_dot_segments);
    tcase_add_test(tc, below_root);
    tcase_add_test(tc, shared_errors);
    tcase_add_test(tc, alloc_failure);
    suite_add_tcase(s, tc);
    return s;
}
