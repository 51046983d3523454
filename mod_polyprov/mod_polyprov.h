/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov httpd glue: shared between mod_polyprov.c and the config. */
#ifndef MOD_POLYPROV_H
#define MOD_POLYPROV_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mmn.h"
#include "apr_hash.h"

#include "pp_core.h"
#include "pp_version.h"   /* PP_VERSION, made from VERSION (Makefile) */

#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 105)
#error "mod_polyprov needs Apache httpd 2.4.48 or newer (ap_ssl_var_lookup)"
#endif

/* The one exported symbol (the rest is built -fvisibility=hidden). */
#define PP_EXPORT __attribute__((visibility("default")))
extern module AP_MODULE_DECLARE_DATA PP_EXPORT polyprov_module;
APLOG_USE_MODULE(polyprov);

#define PP_UNSET (-1)
/* PolyProv: Off, On, SharedOnly, Report (decided as On, never
 * refused: docs/deployment.md, "Migrating a live fleet") */
#define PP_OFF 0
#define PP_ON 1
#define PP_SHARED_ONLY 2
#define PP_REPORT 3
#define PP_DEFAULT_RELOAD 5

/* Per-directory configuration; every field has an "unset" state so an
 * inner scope overrides exactly what it sets. */
typedef struct {
    int enabled;                    /* PP_UNSET, PP_OFF, PP_ON,
                                     * PP_SHARED_ONLY, PP_REPORT */
    const char *enabled_where;      /* "file:line" of PolyProv On (or
                                     * Report, SharedOnly) */
    const pp_ca_t *ca;
    const char *ca_where;           /* "file:line" of PolyProvTrustedCA */
    const pp_crl_t *crl;
    const char *crl_where;          /* "file:line" of each PolyProvCRL */
    apr_array_header_t *pins;       /* unsigned char[32] */
    apr_array_header_t *pins_where; /* const char *: "file:line" of each */
    const pp_pattern_t *pattern;    /* NULL: default */
    int allow_idx;                  /* list index, PP_UNSET */
    int deny_idx;
    const pp_shared_t *shared;      /* NULL: default "*" (PolyProv On),
                                     * "none" (SharedOnly) */
    int reload;                     /* seconds, PP_UNSET */
    int device_handlers;            /* PolyProvDeviceHandlers, PP_UNSET */
    int allow_expired;              /* PolyProvAllowExpired, PP_UNSET */
    const char *allow_expired_where;/* "file:line" of it */
    /* "file:line" of the directives, for -D DUMP_POLYPROV */
    const char *pattern_where, *allow_where, *deny_where, *shared_where,
               *reload_where, *handlers_where;
    apr_off_t quota_bytes;          /* PolyProvDeviceQuota, PP_UNSET */
    long quota_files;
    const char *quota_where;        /* "file:line" of it */
} polyprov_dir_conf_t;

/* PolyProvDeviceQuota's default: what one device may hold in one
 * directory (docs/directives.md "PolyProvDeviceQuota") */
#define PP_DEFAULT_QUOTA_BYTES ((apr_off_t)64 * 1024 * 1024)
#define PP_DEFAULT_QUOTA_FILES 256

/* Module-wide state of one configuration generation. */
typedef struct {
    apr_pool_t *pool;               /* pconf */
    pp_listset_t *lists;
    apr_hash_t *cas;                /* paths (\n between) -> pp_ca_t */
    apr_hash_t *crls;               /* path -> pp_crl_t */
    apr_hash_t *list_where;         /* list path -> "Directive at file:line" */
    apr_hash_t *list_db;            /* list name -> the SQLite database
                                     * file it is queried from */
    pp_pattern_t *default_pattern;
    pp_shared_t *default_shared;
    pp_shared_t *shared_only_default;   /* "none" */
} polyprov_glue_t;

extern polyprov_glue_t *polyprov_glue;
extern const command_rec polyprov_cmds[];

void *polyprov_create_dir_conf(apr_pool_t *p, char *dir);
void *polyprov_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
int polyprov_config_pre(apr_pool_t *pconf);
/* mod_polyprov_checks.c: the configuration's checks, configtest's too */
int polyprov_config_check(apr_pool_t *pconf, server_rec *s);
/* PP016: PolyProv On scopes where other modules could act on uploads */
void polyprov_warn_risky_scopes(apr_pool_t *ptemp, server_rec *s);
/* post_config, at every start and restart (and the first pass of a
 * start, AP_SQ_MS_CREATE_PRE_CONFIG): checks that need the server as it
 * will run; not OK stops it. */
int polyprov_config_post(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
/* post_config, after pp_listset_start: lists kept or not loaded. */
void polyprov_config_lists_report(server_rec *s);
/* mod_polyprov_dbd.c: a list from a query (PolyProvAllowList dbd "..."
 * ["version query"]): its name, and the core's source callback; an error
 * message or NULL. */
const char *polyprov_dbd_source(cmd_parms *cmd, const char *query,
                                const char *version, const char **name,
                                pp_list_read_fn **read, void **baton);
/* The database file of a dbd list (DBDriver sqlite3: its DBDParams), or
 * NULL when the driver is another or the database is no file. */
const char *polyprov_dbd_file(apr_pool_t *p, void *baton);
/* post_config, after the lists were published: their reloads move to a
 * mod_watchdog thread in each child (mod_polyprov_reload.c). */
void polyprov_reload_start(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s);

/* mod_polyprov_sections.c: the one walk over a host's sections: its
 * defaults ("host"), each <Directory> and <Location>, and the <Files> and
 * <If> nested in them, depth first. */
typedef struct {
    server_rec *s;
    const char *kind;               /* "host", "Directory", "Location",
                                     * "Files", "If" */
    ap_conf_vector_t *own;          /* the section's own configuration */
    ap_conf_vector_t *merged;       /* merged as a request there sees it
                                     * (merge asked), else NULL */
    const char *path;               /* its name with those it is nested
                                     * in, as the dump shows it (merge
                                     * asked), else NULL */
} polyprov_section_t;
typedef void polyprov_section_fn(void *baton, const polyprov_section_t *sec);
void polyprov_walk_sections(apr_pool_t *p, server_rec *s, int merge,
                            polyprov_section_fn *fn, void *baton);
/* The module's own settings in every section (const polyprov_dir_conf_t
 * *, each section that has them), in the walk's order. */
apr_array_header_t *polyprov_sections(apr_pool_t *p, server_rec *s);

/* What the scopes of one (virtual) server say, from its merged
 * configuration: its defaults and every section (those of the main server
 * included, as httpd merges them). */
typedef struct {
    int polyprov_on;                /* PolyProv On in some scope */
    int allow_expired;              /* PolyProvAllowExpired On in some scope */
    const char *allow_expired_where;
    int report;                     /* PolyProv Report in some scope */
    const char *report_where;       /* the first one's file:line */
    const pp_pattern_t *report_pattern; /* its PolyProvCNPattern, or NULL */
    apr_array_header_t *cas;        /* const pp_ca_t *: every
                                     * PolyProvTrustedCA of it, once each */
    const pp_pattern_t *pattern;    /* its host-level PolyProvCNPattern, else
                                     * the first of its scopes, or NULL */
} polyprov_host_t;
void polyprov_host_scan(apr_pool_t *p, server_rec *s, polyprov_host_t *h);

/* mod_polyprov_dump.c: apachectl -t -D DUMP_POLYPROV (test_config). */
void polyprov_dump(apr_pool_t *p, server_rec *s);

/* mod_polyprov_expired.c: expired phone certificates through mod_ssl's
 * handshake, on the virtual hosts whose scopes allow them. */
void polyprov_expired_register(apr_pool_t *p);
/* The connection's client certificate is past its notAfter at now, on a
 * virtual host whose handshake lets expired certificates through (so
 * mod_ssl calls it verified); *not_after receives its notAfter. */
int polyprov_expired_conn(conn_rec *c, apr_time_t now, time_t *not_after);
/* 1 the first time this process allows a request on this (expired)
 * certificate, for the notice PP042. */
int polyprov_expired_first(const unsigned char sha256[32]);

/* mod_polyprov_conn.c: the state of a TLS connection (the master
 * connection under HTTP/2), made by whichever comes first of mod_ssl's
 * pre_handshake and the module's pre_connection: mod_ssl's SSL (kept
 * from ssl_pre_handshake, referenced until the connection's pool goes)
 * and the verdict on its client certificate.  Calls no other glue file. */
void polyprov_conn_register(apr_pool_t *p);
/* mod_ssl's SSL of c's connection, or NULL. */
void *polyprov_conn_ssl(conn_rec *c);
/* What a request needs to know of its client certificate. */
typedef struct {
    pp_cert_facts_t facts;
    pp_cn_mac_t cn;                /* the MAC the scope's pattern takes from
                                    * the CN (pp_cn_mac_of), for pp_decide */
} polyprov_cert_view_t;
/* Steps PP_STEP_CERT, PP_STEP_VERIFY and the CN of PP_STEP_CN, from
 * the connection's cache or the core: PP_R_NO_CERT, or PP_R_OK with the
 * verdict in v->facts. */
pp_reason_t polyprov_conn_cert(request_rec *r, const polyprov_dir_conf_t *dc,
                               const pp_pattern_t *pat,
                               polyprov_cert_view_t *v);
/* The MPM is stopping this process (pool cleanups may then run from a
 * signal handler: no OpenSSL frees there). */
int polyprov_process_stopping(void);
/* "2026-12-01T13:53:54Z", for the environment (no spaces). */
const char *polyprov_time_stamp(apr_pool_t *p, time_t t);

/* mod_polyprov_request.c: a request's facts, the decision, enforcement. */
/* Per request (request_config): what was decided, and for which target.
 * The one verdict object of a request: the core's pp_verdict_t, filled by
 * pp_decide() in place, with what the log line needs beside it. */
typedef struct {
    const polyprov_dir_conf_t *dc;
    const char *uri, *filename, *path_info;
    int method_number;
    pp_verdict_t verdict;          /* reason, step, the requester's MAC,
                                    * device_file, detail */
    const polyprov_cert_view_t *cert; /* the client certificate as the
                                    * connection gave it, if looked at */
    const char *file;              /* the file judged, below the root */
    int guarded;                   /* the response guard is in its chain */
    int report;                    /* PolyProv Report: logged and counted,
                                    * never refused */
} polyprov_req_t;
/* The hooks (registered in mod_polyprov.c). */
int polyprov_access(request_rec *r);
int polyprov_expired_guard(request_rec *r);
int polyprov_fixups(request_rec *r);
/* post_config: the modules it looks at (mod_speling) */
void polyprov_request_find_modules(void);
/* For the guards (mod_polyprov_guard.c): */
/* PolyProv On, SharedOnly or Report applies in dc */
int polyprov_scope_active(const polyprov_dir_conf_t *dc);
/* The settings r is judged by, or NULL: not the module's to judge. */
const polyprov_dir_conf_t *polyprov_judging_conf(const request_rec *r);
/* The nearest request r serves that the module decided, or NULL. */
const polyprov_req_t *polyprov_decided_ancestor(const request_rec *r);
/* rec was decided for r's present target with dc. */
int polyprov_same_target(const polyprov_req_t *rec, const request_rec *r,
                         const polyprov_dir_conf_t *dc);
/* Decide r with dc, record, log: DECLINED (allowed) or HTTP_FORBIDDEN. */
int polyprov_enforce(request_rec *r, const polyprov_dir_conf_t *dc,
                     const char *phase);
/* r's file below the DocumentRoot (or its whole path), or NULL. */
const char *polyprov_file_below_root(request_rec *r);
/* A shared file sent as it is may be cached; anything else is private. */
void polyprov_answer_shared(request_rec *r);
void polyprov_answer_private_header(request_rec *r);

/* mod_polyprov_guard.c: the handler guard, the quick handler before
 * mod_cache's, the response guard filter (POLYPROV_GUARD). */
int polyprov_handler_guard(request_rec *r);
int polyprov_quick(request_rec *r, int lookup);
void polyprov_insert_guard(request_rec *r);
void polyprov_guard_register_filter(void);
/* post_config: the modules it looks at (mod_cache) */
void polyprov_guard_find_modules(void);

/* mod_polyprov_life.c: the module's life cycle hooks. */
int polyprov_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp);
int polyprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s);
int polyprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s);
void polyprov_child_init(apr_pool_t *p, server_rec *s);

/* mod_polyprov_refusal.c: the refusal line, PP001 (refused) or PP140
 * (PolyProv Report: what On would refuse), and POLYPROV_REASON; the one
 * place that formats them.  Counting is the caller's. */
typedef struct {
    pp_reason_t reason;
    const char *mac;                /* formatted; NULL: "-" */
    const char *file;               /* file="...", or NULL */
    const char *cn;                 /* cn="...", or NULL */
    const char *detail;             /* detail=..., or NULL */
    const char *report;             /* PolyProv Report's file:line: PP140;
                                     * NULL: PP001 */
    int show_via;                   /* via=subrequest|redirect (the
                                     * decision's lines) */
} polyprov_refusal_t;
void polyprov_log_refusal(request_rec *r, const polyprov_refusal_t *f);

/* mod_polyprov_metrics.c (docs/operations.md, Monitoring): counters every process
 * adds to without a lock, kept across graceful restarts; the
 * polyprov-metrics handler and mod_status's figures. */
typedef enum {
    POLYPROV_M_DEVICE_AS_DATA = 0,  /* PP015 */
    POLYPROV_M_SPELING_404,         /* PP017 */
    POLYPROV_M_MONITORING_REFUSED   /* PP060, PP061 */
} polyprov_metric_t;
void polyprov_metrics_register_hooks(apr_pool_t *p);

/* mod_polyprov_answers.c: answers that belong to one phone */
void polyprov_answers_check(apr_pool_t *pconf, apr_pool_t *ptemp,
                            server_rec *s);
int polyprov_host_has_scope(server_rec *s);
/* 1 (logged PP100, counted) when r is a page that shows other clients'
 * requests and must be refused; under PolyProv Report (report) logged as
 * what On would refuse, and 0 */
int polyprov_monitoring_refused(request_rec *r,
                                const polyprov_dir_conf_t *dc, int report);

/* mod_polyprov_quota.c: OK, or HTTP_INSUFFICIENT_STORAGE (logged) when
 * the write r would take the device past PolyProvDeviceQuota; under
 * PolyProv Report (report) logged as what On would refuse (PP140), and
 * OK */
int polyprov_quota_check(request_rec *r, const polyprov_dir_conf_t *dc,
                         pp_mac_t mac, int report);
/* Every decision logged (PP002 allowed, PP001 refused, with its reason). */
void polyprov_metrics_decision(pp_reason_t reason);
/* Every decision of PolyProv Report (PP140 would refuse; allowed as
 * PP002 says), counted apart from the enforced ones. */
void polyprov_metrics_report_decision(pp_reason_t reason);
void polyprov_metrics_count(polyprov_metric_t which);

#endif /* MOD_POLYPROV_H */
