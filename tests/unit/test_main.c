/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core unit tests: the runner and shared helpers. */
#define _GNU_SOURCE
#include "unit.h"

#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *pki(const char *name)
{
    static char buf[8][4096];
    static int slot;
    const char *dir = getenv("PP_PKI");

    ck_assert_msg(dir != NULL, "PP_PKI must name the generated test PKI");
    slot = (slot + 1) % 8;
    snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
    return buf[slot];
}

static char logbuf[65536];
static int logcount;

static void sink(void *baton, const char *file, int line, int level,
                 const char *msg)
{
    size_t len = strlen(logbuf);

    (void)baton;
    (void)file;
    (void)line;
    (void)level;
    snprintf(logbuf + len, sizeof(logbuf) - len, "%s\n", msg);
    logcount++;
}

void capture_logs(void)
{
    logbuf[0] = '\0';
    logcount = 0;
    pp_set_logger(sink, NULL);
}

const char *captured(void)
{
    return logbuf;
}

int captured_count(void)
{
    return logcount;
}

/* Every temporary directory of a run lives below this one (made before
 * Check forks the tests), so that the runner can remove them all. */
static char top[256];

const char *tmpdir(void)
{
    static char dir[sizeof(top) + 8];

    snprintf(dir, sizeof(dir), "%s/XXXXXX", top);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0) {
        /* a test may have left a file unreadable or a directory without
         * write permission: make it removable and try again */
        chmod(path, 0700);
        return remove(path) != 0;
    }
    return 0;
}

const char *write_tmp(const char *name, const char *content)
{
    static char path[4][512];
    static int slot;
    FILE *f;

    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof(path[slot]), "%s/%s", tmpdir(), name);
    f = fopen(path[slot], "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    return path[slot];
}

int main(void)
{
    SRunner *sr;
    int failed;
    const char *base = getenv("TMPDIR");

    /* the run's temporary root: below $TMPDIR when it is set, as every
     * harness of the project does, /tmp otherwise */
    snprintf(top, sizeof(top), "%s/pp-unit-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    /* searchable, so that tests may give a directory below to another
     * user (the httpd child user) */
    chmod(top, 0755);
    sr = srunner_create(suite_mac());
    srunner_add_suite(sr, suite_path());
    srunner_add_suite(sr, suite_decide());
    srunner_add_suite(sr, suite_cn());
    srunner_add_suite(sr, suite_cert());
    srunner_add_suite(sr, suite_list());
    srunner_add_suite(sr, suite_util());
    srunner_add_suite(sr, suite_quota());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "could not remove %s\n", top);
        failed++;
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
