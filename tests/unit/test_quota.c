/* SPDX-License-Identifier: Apache-2.0 */
/* PolyProvDeviceQuota's core: the holding directory, what a device holds. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define A_MAC 0x0004f2000a01ULL

static void holding(const char *path, const char *want)
{
    char *got = pp_quota_holding_dir(path, A_MAC);

    ck_assert_ptr_nonnull(got);
    ck_assert_msg(!strcmp(got, want), "%s: got %s, want %s", path, got,
                  want);
    free(got);
}

START_TEST(holding_dir)
{
    holding("/srv/up/0004f2000a01-app.log", "/srv/up");
    holding("/srv/up/0004f2000a01-d/x.log", "/srv/up");
    holding("/srv/up/0004f2000a01-d/0004f2000a01-e/", "/srv/up");
    holding("/srv/up/0004F2000A01-d/sub/x", "/srv/up/0004F2000A01-d/sub");
    holding("/0004f2000a01.cfg", "/");
    holding("0004f2000a01.cfg", ".");
    /* another device's directory is not the requester's */
    holding("/srv/0004f2000b02/0004f2000a01.log", "/srv/0004f2000b02");
}
END_TEST

static void put(const char *dir, const char *name, size_t size)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    while (size--) {
        fputc('x', f);
    }
    fclose(f);
}

static const char *tree(void)
{
    static char dir[1024];
    char sub[1100];

    snprintf(dir, sizeof(dir), "%s/quota", tmpdir());
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    put(dir, "0004f2000a01-1.log", 10);
    put(dir, "0004F2000A01-2.log", 20);
    put(dir, "0004f2000b02-1.log", 100);
    put(dir, "other.txt", 5);
    snprintf(sub, sizeof(sub), "%s/0004f2000a01-d", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    put(sub, "x", 7);
    strcat(sub, "/sub");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    put(sub, "y", 3);
    /* a link is an entry of its own, never followed */
    snprintf(sub, sizeof(sub), "%s/0004f2000a01-link", dir);
    ck_assert_int_eq(symlink("0004f2000b02-1.log", sub), 0);
    return dir;
}

START_TEST(usage_counts_the_device_only)
{
    const char *dir = tree();
    pp_usage_t u;
    char err[256];

    ck_assert_int_eq(pp_quota_usage(dir, A_MAC, 0, 1000, 8, &u, err,
                                    sizeof(err)), 0);
    /* two files, the collection and its three entries, the link */
    ck_assert_int_eq(u.entries, 7);
    ck_assert_int_eq(u.bytes, 10 + 20 + 7 + 3);
    /* another device: its own file only */
    ck_assert_int_eq(pp_quota_usage(dir, 0x0004f2000b02ULL, 0, 1000, 8, &u,
                                    err, sizeof(err)), 0);
    ck_assert_int_eq(u.entries, 1);
    ck_assert_int_eq(u.bytes, 100);
}
END_TEST

START_TEST(usage_fails_closed)
{
    const char *dir = tree();
    char missing[1100];
    pp_usage_t u;
    char err[256];

    /* too many entries to read, too deep */
    ck_assert_int_eq(pp_quota_usage(dir, A_MAC, 0, 3, 8, &u, err,
                                    sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "more entries"));
    ck_assert_int_eq(pp_quota_usage(dir, A_MAC, 0, 1000, 1, &u, err,
                                    sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "levels"));
    /* a directory that cannot be opened */
    pp_fault_arm(PP_FAULT_IO, 1);
    ck_assert_int_eq(pp_quota_usage(dir, A_MAC, 0, 1000, 8, &u, err,
                                    sizeof(err)), -1);
    pp_fault_arm(PP_FAULT_IO, 0);
    /* one that does not exist yet holds nothing */
    snprintf(missing, sizeof(missing), "%s/none", dir);
    ck_assert_int_eq(pp_quota_usage(missing, A_MAC, 0, 1000, 8, &u, err,
                                    sizeof(err)), 0);
    ck_assert_int_eq(u.entries, 0);
    ck_assert_int_eq(u.bytes, 0);
}
END_TEST

Suite *suite_quota(void)
{
    Suite *s = suite_create("quota");
    TCase *tc = tcase_create("quota");

    tcase_add_test(tc, holding_dir);
    tcase_add_test(tc, usage_counts_the_device_only);
    tcase_add_test(tc, usage_fails_closed);
    suite_add_tcase(s, tc);
    return s;
}
