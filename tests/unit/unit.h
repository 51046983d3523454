/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core unit tests (Check). */
#ifndef PP_UNIT_H
#define PP_UNIT_H

#include <check.h>
#include "pp_core.h"
#include "pp_testing.h" /* the fault seam, and the entry points for tests */

Suite *suite_mac(void);
Suite *suite_path(void);
Suite *suite_cn(void);
Suite *suite_cert(void);
Suite *suite_list(void);
Suite *suite_decide(void);
Suite *suite_util(void);
Suite *suite_quota(void);

/* $PP_PKI/name: the generated test PKI (tests/pphttpd/pki.py). */
const char *pki(const char *name);

/* A log sink that keeps the last messages for assertions. */
void capture_logs(void);
const char *captured(void);      /* all messages since capture_logs() */
int captured_count(void);

/* A fresh temporary directory, and a file in it (all below one directory
 * that the runner removes when it ends). */
const char *tmpdir(void);
const char *write_tmp(const char *name, const char *content);

#endif
