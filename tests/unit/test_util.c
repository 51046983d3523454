/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the core: whether another user can read a file. */
#include "unit.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(readable_as_another_user)
{
    struct passwd *pw = getpwnam("www-data");
    char dir[512], sub[600], ok[700], secret[700], hidden[700], err[256];
    const char *paths[4];
    pp_access_t res[4];

    if (geteuid() != 0 || !pw) {
        return;                  /* needs root, and the child user */
    }
    snprintf(dir, sizeof(dir), "%s", tmpdir());
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(ok, sizeof(ok), "%s/ok.txt", dir);
    snprintf(secret, sizeof(secret), "%s/secret.txt", dir);
    snprintf(sub, sizeof(sub), "%s/private", dir);
    snprintf(hidden, sizeof(hidden), "%s/allow.txt", sub);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    fclose(fopen(ok, "w"));
    fclose(fopen(secret, "w"));
    fclose(fopen(hidden, "w"));
    ck_assert_int_eq(chmod(ok, 0644), 0);
    ck_assert_int_eq(chmod(secret, 0600), 0);   /* root's */
    ck_assert_int_eq(chmod(hidden, 0644), 0);   /* in a 0700 directory */
    paths[0] = ok;
    paths[1] = secret;
    paths[2] = hidden;
    paths[3] = "/nonexistent/allow.txt";
    ck_assert_int_eq(pp_check_readable_as(pw->pw_name, (long)pw->pw_uid,
                                          (long)pw->pw_gid, paths, 4, res,
                                          err, sizeof(err)), 3);
    ck_assert_int_eq(res[0].err, 0);
    ck_assert_int_eq(res[1].err, EACCES);
    ck_assert_int_eq(res[1].is_dir, 0);
    ck_assert_str_eq(res[1].where, secret);
    /* the directory that stops it is named */
    ck_assert_int_eq(res[2].err, EACCES);
    ck_assert_int_eq(res[2].is_dir, 1);
    ck_assert_str_eq(res[2].where, sub);
    ck_assert_int_eq(res[3].err, ENOENT);
    /* root itself reads them all but the missing one */
    ck_assert_int_eq(pp_check_readable_as(NULL, 0, 0, paths, 3, res, err,
                                          sizeof(err)), 0);
    /* the same user's group through its supplementary groups: a file of
     * group www-data, 0640 */
    ck_assert_int_eq(chown(secret, 0, pw->pw_gid), 0);
    ck_assert_int_eq(chmod(secret, 0640), 0);
    ck_assert_int_eq(pp_check_readable_as(pw->pw_name, (long)pw->pw_uid,
                                          (long)pw->pw_gid, paths + 1, 1,
                                          res, err, sizeof(err)), 0);
}
END_TEST

/* When the forked check cannot take the user's identity (here: a process
 * that is no longer root asks for root's), the check is not made: -1 and
 * a message, not a count of readable files. */
START_TEST(readable_as_identity_refused)
{
    struct passwd *pw = getpwnam("www-data");
    const char *paths[1] = { "/" };
    pp_access_t res[1];
    char err[256];
    pid_t pid;
    int status;

    if (geteuid() != 0 || !pw) {
        return;                  /* needs root, and the child user */
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
            _exit(10);
        }
        err[0] = '\0';
        if (pp_check_readable_as("root", 0, 0, paths, 1, res, err,
                                 sizeof(err)) != -1) {
            _exit(11);
        }
        _exit(strstr(err, "could not take the identity") ? 0 : 12);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");

    tcase_add_test(tc, readable_as_another_user);
    tcase_add_test(tc, readable_as_identity_refused);
    suite_add_tcase(s, tc);
    return s;
}
