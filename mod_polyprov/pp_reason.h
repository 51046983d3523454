/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the reasons a request is refused, and the steps of the decision
 * that give them.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_REASON_H
#define PP_REASON_H

#include <stddef.h>

typedef enum {
    PP_R_OK = 0,
    PP_R_NO_TLS,
    PP_R_NO_CERT,
    PP_R_UNTRUSTED,
    PP_R_ISSUER,
    PP_R_BAD_CN,
    PP_R_DENY_LIST,
    PP_R_ALLOW_LIST,
    PP_R_DIRECTORY,
    PP_R_NOT_OWNER,
    PP_R_SHARED_READONLY,
    PP_R_NOT_SHARED,
    PP_R_INTERNAL,         /* an error inside the check: refused, logged */
    PP_R_DOT_FILE,         /* a write to a name with a '.' segment */
    PP_R_METHOD,           /* a method phones are never allowed */
    PP_R_FOREIGN_NAME,     /* another module's response names a device */
    PP_R_DEVICE_FILE,      /* PolyProv SharedOnly: a file naming a device */
    PP_R_LIST_UNAVAILABLE, /* a list the scope uses has never loaded */
    PP_R_QUOTA             /* a write past PolyProvDeviceQuota (507) */
} pp_reason_t;

/* "no-tls", "no-cert", ... as in docs/operations.md ("Troubleshooting a 403"); "ok" for PP_R_OK. */
const char *pp_reason_name(pp_reason_t r);

/* The steps of the decision, in order: the rows of docs/decisions.md's table
 * ("How the module decides"), numbered there as here.  The code, the
 * unit tests and polyprov-check name them; only this enum and the table
 * hold the numbers (tests/integration/test_docs.py compares the two). */
typedef enum {
    PP_STEP_NONE = 0,          /* allowed: no step refused */
    PP_STEP_TLS = 1,           /* the connection is TLS */
    PP_STEP_CERT = 2,          /* a client certificate is present */
    PP_STEP_VERIFY = 3,        /* the module's own verification */
    PP_STEP_ISSUER = 4,        /* the direct issuer is pinned */
    PP_STEP_CN = 5,            /* one usable CN gives a MAC */
    PP_STEP_DENY_LIST = 6,     /* not on the deny list */
    PP_STEP_ALLOW_LIST = 7,    /* on the allow list */
    PP_STEP_DIRECTORY = 8,     /* not a directory */
    PP_STEP_DOT_FILE = 9,      /* no write to a '.' segment */
    PP_STEP_OWNER = 10,        /* the file belongs to the requester */
    PP_STEP_METHOD = 11,       /* not PROPPATCH */
    PP_STEP_LAST = PP_STEP_METHOD
} pp_step_t;

/* "TLS", "certificate", ... (polyprov-check's step lines); "" for
 * PP_STEP_NONE and a value that is no step. */
const char *pp_step_name(pp_step_t s);

#endif /* PP_REASON_H */
