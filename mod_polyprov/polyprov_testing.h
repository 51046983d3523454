/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the one seam of the test-only builds.
 *
 *   make weak    -DPP_TESTING_ACCESS_HOOK_ONLY: the access checker alone,
 *                without the guards that follow a request past it
 *                (fixups, handler, response), so that the subrequest
 *                tests can show they catch a plain access hook;
 *   make faults  -DPP_TESTING_FAULTS: a request header (or PP_TEST_FAULT
 *                at start-up) arms the core's fault seam (pp_fault.h).
 *
 * A normal build compiles none of it: the calls below are empty.  Never
 * install a test build; each says so in the log (PP013, PP018).
 */
#ifndef POLYPROV_TESTING_H
#define POLYPROV_TESTING_H

#include "httpd.h"

#ifdef PP_TESTING_ACCESS_HOOK_ONLY
#define POLYPROV_TEST_GUARDS 0
#else
#define POLYPROV_TEST_GUARDS 1      /* the guards are registered */
#endif

#ifdef PP_TESTING_FAULTS
/* The faults a request arms are counted process-wide: a background
 * thread's list reload would take them.  This build keeps reloads on the
 * request path, where the request that arms a fault runs them (the same
 * core code, pp_listset.c, that the background runs). */
#define POLYPROV_TEST_INLINE_RELOADS 1
/* Before a decision: arms the seam if the request asks for it (after the
 * connection's verdict was forgotten, the process cache emptied and the
 * lists marked for a re-read); returns the kind armed + 1, or 0. */
int polyprov_test_fault_arm(request_rec *r);
/* After it: logs PP014 with whether the fault fired, and disarms. */
void polyprov_test_fault_report(request_rec *r, int armed);
/* While the configuration is read: PP_TEST_FAULT=<kind>=N[+]. */
void polyprov_test_fault_startup(void);
#else
#define POLYPROV_TEST_INLINE_RELOADS 0
#define polyprov_test_fault_arm(r) 0
#define polyprov_test_fault_report(r, armed) ((void)(armed))
#define polyprov_test_fault_startup() ((void)0)
#endif

/* At start-up: PP013 or PP018 when this is a test build. */
void polyprov_test_announce(server_rec *s);

/* The glue's hook for a test: forget the connection's verdict. */
void polyprov_conn_forget(conn_rec *c);

#endif /* POLYPROV_TESTING_H */
