/* mod_polyprov core unit tests: the runner and shared helpers. */
#define _GNU_SOURCE
#include "unit.h"

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

static void sink(void *baton, int level, const char *msg)
{
    size_t len = strlen(logbuf);

    (void)baton;
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

const char *tmpdir(void)
{
    static char dir[256];

    snprintf(dir, sizeof(dir), "/tmp/pp-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
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
    SRunner *sr = srunner_create(suite_mac());
    int failed;

    srunner_add_suite(sr, suite_path());
    srunner_add_suite(sr, suite_cn());
    srunner_add_suite(sr, suite_cert());
    srunner_add_suite(sr, suite_list());
    srunner_add_suite(sr, suite_util());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
