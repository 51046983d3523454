/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the decision (docs/decisions.md, "How the module decides"), step by
 * step, over plain facts.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_DECIDE_H
#define PP_DECIDE_H

#include <stddef.h>
#include <stdint.h>
#include "pp_cert.h"
#include "pp_cn.h"
#include "pp_listset.h"
#include "pp_path.h"
#include "pp_reason.h"

/* The decision (docs/decisions.md, "How the module decides")          */

typedef enum {
    PP_MODE_ON = 1,            /* PolyProv On: every step */
    PP_MODE_SHARED_ONLY = 2    /* PolyProv SharedOnly: files naming no
                                * device, read-only */
} pp_mode_t;

/* A scope's settings, as the directives that apply give them. */
typedef struct {
    pp_mode_t mode;
    int have_ca;                   /* a PolyProvTrustedCA applies */
    const char *enabled_where;     /* "file:line" of PolyProv, for messages */
    const unsigned char *pins;     /* npins issuer fingerprints, 32 bytes
                                    * each (PolyProvIssuerFingerprint) */
    int npins;
    const pp_pattern_t *pattern;   /* PolyProvCNPattern (not NULL) */
    pp_listset_t *lists;
    int deny_idx, allow_idx;       /* list indexes in lists, -1: none */
    int reload_s;                  /* PolyProvReloadInterval */
    const pp_shared_t *shared;     /* PolyProvSharedFiles (not NULL) */
    int allow_expired;             /* PolyProvAllowExpired On: a client
                                    * certificate past its notAfter passes
                                    * PP_STEP_VERIFY (nothing else is
                                    * loosened) */
} pp_scope_t;

/* What is known of a request when it is decided. */
typedef struct {
    int tls;                       /* PP_STEP_TLS */
    const pp_cert_facts_t *cert;   /* PP_STEP_CERT: NULL when none */
    const pp_cn_mac_t *cn;         /* PP_STEP_CN: the MAC cert's CN gives
                                    * under scope->pattern (pp_cn_mac_of);
                                    * needed whenever cert is set */
    int64_t now_us;                /* for list reloads */
    const char *uri;               /* decoded, normalised, no query; NULL
                                    * or relative when there is none */
    const char *path_info;
    const char *file;              /* below DocumentRoot (or whole), NULL */
    int is_dir;                    /* maps to a directory */
    int read_only;                 /* GET, HEAD or OPTIONS, and so is
                                    * every request it serves */
    int proppatch;
    int copy_move;                 /* judge the Destination too */
    const char *destination;       /* its normalised path, or NULL ... */
    const char *destination_error; /* ... and why */
} pp_request_t;

typedef struct {
    pp_reason_t reason;
    pp_step_t step;                /* the step that refused;
                                    * PP_STEP_NONE: allowed */
    pp_mac_t mac;                  /* the requester's, when mac_known */
    int mac_known;
    int device_file;               /* allowed, and the file's path names
                                    * the requester (served as data) */
    char detail[320];              /* why, for the log ("" if nothing) */
} pp_verdict_t;

/* Decide a request in a scope: the steps of docs/decisions.md's table in order;
 * the first that fails gives the reason.  Returns v->reason. */
pp_reason_t pp_decide(const pp_scope_t *s, const pp_request_t *q,
                      pp_verdict_t *v);

#endif /* PP_DECIDE_H */
