/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: what an operator monitors (docs/operations.md, Monitoring).
 *
 * The counters live in one anonymous shared memory segment that the
 * parent allocates once, from the process pool (s->process->pool), and
 * finds again at every restart through that pool's user data.  mod_so
 * unloads and reloads the module with each configuration generation; the
 * process pool lives as long as the parent, so the counters outlive
 * graceful restarts and count every process of every generation: children
 * inherit the mapping when they are forked, and old children finishing
 * their requests after a graceful restart still add to it.
 *
 * The request path takes no lock: each count is one relaxed atomic add on
 * the shared segment.  Gauges (a list's version and MACs, the CRLs in
 * force) are read when asked, from the list set's shared records and the
 * configuration.
 *
 * Two readers: SetHandler polyprov-metrics (the Prometheus text format,
 * 0.0.4) and mod_status's status_hook (ExtendedStatus On; HTML and
 * ?auto).  Neither answers where PolyProv is On or SharedOnly (phones'
 * scopes): the handler refuses (403, PP060), mod_status's page goes
 * without these figures (PP061).
 */
#include "mod_polyprov.h"

#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#include "apr_optional_hooks.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_status.h"

#define PM_HANDLER "polyprov-metrics"

/* The segment's layout: a module with another layout loaded by a graceful
 * restart starts a segment of its own (its counters from zero) rather than
 * misreading this one. */
#define PM_LAYOUT 2
#define PM_MAGIC ((UINT64_C(0x50504d45) << 32) | PM_LAYOUT)   /* "PPME" */
#define PM_REASONS 64              /* pp_reason_t values counted */
#define PM_EVENTS 16               /* polyprov_metric_t values */
#define PM_LISTS 64                /* list files tracked (by path) */
#define PM_PATH 4096

/* A list file's counters, by path: a list keeps its slot across
 * generations (its index in the list set may change). */
typedef struct {
    char path[PM_PATH];            /* "": free; written by the parent */
    uint64_t last_gen;             /* the last generation naming it */
    uint64_t load_errors;          /* atomic */
    int64_t loaded_us;             /* atomic: the last successful load */
} pm_list_t;

typedef struct {
    uint64_t magic;
    uint64_t size;
    int64_t started_us;            /* counting since */
    int64_t config_us;             /* the configuration in force loaded */
    uint64_t decisions[PM_REASONS];/* [PP_R_OK]: allowed; atomic */
    uint64_t events[PM_EVENTS];    /* polyprov_metric_t; atomic */
    pp_cert_counters_t cert;       /* the core adds to it; atomic */
    pm_list_t lists[PM_LISTS];
    uint64_t reported[PM_REASONS]; /* PolyProv Report's decisions; atomic */
} pm_shared_t;

/* This process's view (the module's statics are new each generation). */
static pm_shared_t *pm;
static int *slot_of;               /* list index -> lists[] slot, or -1 */
static int slot_count;

static void add(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void polyprov_metrics_decision(pp_reason_t reason)
{
    if (pm) {
        add(&pm->decisions[(unsigned)reason < PM_REASONS ? (unsigned)reason
                                                         : PP_R_INTERNAL]);
    }
}

void polyprov_metrics_report_decision(pp_reason_t reason)
{
    if (pm) {
        add(&pm->reported[(unsigned)reason < PM_REASONS ? (unsigned)reason
                                                        : PP_R_INTERNAL]);
    }
}

void polyprov_metrics_count(polyprov_metric_t which)
{
    if (pm && (unsigned)which < PM_EVENTS) {
        add(&pm->events[which]);
    }
}

/* ------------------------------------------------------------------ */
/* The segment and the lists' slots (the parent, in post_config)       */

#define PM_KEY "mod_polyprov metrics segment"

static pm_shared_t *segment(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    apr_shm_t *shm;
    pm_shared_t *seg;
    apr_status_t rv;

    apr_pool_userdata_get(&data, PM_KEY, pp);
    if (data) {
        seg = apr_shm_baseaddr_get(data);
        if (seg->magic == PM_MAGIC && seg->size == sizeof(*seg)) {
            return seg;
        }
    }
    /* anonymous: inherited by every child, gone with the parent */
    rv = apr_shm_create(&shm, sizeof(*seg), NULL, pp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "PP062: cannot create "
                     "the shared memory of the metrics (%" APR_SIZE_T_FMT
                     " bytes): nothing is counted, and the "
                     PM_HANDLER " handler answers 503", sizeof(*seg));
        return NULL;
    }
    seg = apr_shm_baseaddr_get(shm);     /* zeroes, not yet touched */
    seg->magic = PM_MAGIC;
    seg->size = sizeof(*seg);
    seg->started_us = apr_time_now();
    /* the key is copied; the cleanup is APR's, not this module's (which is
     * unloaded before the process pool goes) */
    apr_pool_userdata_set(shm, PM_KEY, apr_pool_cleanup_null, pp);
    return seg;
}

/* The slot of a list path: its own, else one no generation has named for
 * two restarts (old children may still count into the last one's). */
static int find_slot(const char *path, uint64_t gen)
{
    int i, free_slot = -1;

    if (strlen(path) >= PM_PATH) {
        return -1;
    }
    for (i = 0; i < PM_LISTS; i++) {
        pm_list_t *l = &pm->lists[i];
        if (l->path[0] && !strcmp(l->path, path)) {
            return i;
        }
        if (free_slot < 0 && (!l->path[0] || l->last_gen + 2 <= gen)) {
            free_slot = i;
        }
    }
    if (free_slot >= 0) {
        pm_list_t *l = &pm->lists[free_slot];
        memset(l, 0, sizeof(*l));
        strcpy(l->path, path);
    }
    return free_slot;
}

/* Run-time loads, in whichever process made them. */
static void list_event(void *baton, int idx, int event)
{
    (void)baton;
    if (!pm || idx < 0 || idx >= slot_count || slot_of[idx] < 0) {
        return;
    }
    if (event == PP_LIST_EVENT_LOADED) {
        __atomic_store_n(&pm->lists[slot_of[idx]].loaded_us, apr_time_now(),
                         __ATOMIC_RELAXED);
    }
    else if (event == PP_LIST_EVENT_ERROR) {
        add(&pm->lists[slot_of[idx]].load_errors);
    }
}

static void attach_lists(apr_pool_t *pconf, server_rec *s)
{
    pp_listset_t *set = polyprov_glue ? polyprov_glue->lists : NULL;
    uint64_t gen = (uint64_t)ap_state_query(AP_SQ_CONFIG_GEN);
    int i, n = pp_listset_count(set);

    slot_count = n;
    slot_of = apr_palloc(pconf, sizeof(int) * (size_t)(n ? n : 1));
    for (i = 0; i < n; i++) {
        const char *path = pp_listset_path(set, i);
        int origin = pp_listset_origin(set, i, NULL);
        pm_list_t *l;

        slot_of[i] = find_slot(path, gen);
        if (slot_of[i] < 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PP063: list %s: "
                         "more than %d list files (or a path of %d bytes or "
                         "more): its load errors and load time are not "
                         "counted; its MACs and version are", path,
                         PM_LISTS, PM_PATH);
            continue;
        }
        l = &pm->lists[slot_of[i]];
        l->last_gen = gen;
        if (origin == PP_LIST_READ) {
            __atomic_store_n(&l->loaded_us, apr_time_now(), __ATOMIC_RELAXED);
        }
        else {
            add(&l->load_errors);            /* PP030 or PP031 */
        }
    }
    pp_listset_observe(set, list_event, NULL);
}

static int metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    pm = segment(s);
    pp_cert_set_counters(pm ? &pm->cert : NULL);
    if (pm) {
        pm->config_us = apr_time_now();
        attach_lists(pconf, s);
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* The figures, as both readers show them                              */

typedef struct {
    const char *path;
    pp_list_state_t st;
    int tracked;                   /* has a slot: errors and time below */
    uint64_t load_errors;
    int64_t loaded_us;
} pm_list_view_t;

typedef struct {
    const char *file;
    char issuer[256];
    time_t next_update;            /* 0: none */
} pm_crl_view_t;

typedef struct {
    uint64_t decisions[PM_REASONS];
    uint64_t refused;              /* all reasons */
    uint64_t reported[PM_REASONS]; /* PolyProv Report */
    uint64_t would_refuse;         /* all its reasons */
    uint64_t events[PM_EVENTS];
    pp_cert_counters_t cert;
    int nlists, ncrls, crls_expired;
    pm_list_view_t *lists;
    pm_crl_view_t *crls;
} pm_view_t;

/* The counters every reader shows the same way, in the order they show
 * them: one row each, its Prometheus family (the HELP and TYPE lines come
 * with the first row of a family), its labels, its mod_status ?auto key,
 * and the text before it on mod_status's HTML page (the page writes them
 * in sentences: each row's text ends the previous one's).  Lists, CRLs
 * and the counts by reason have a row per item, below. */
typedef struct {
    const char *family;
    const char *help;              /* NULL: the family of the row above */
    const char *labels;
    const char *status_key;
    const char *html_before;
    size_t offset;                 /* of its uint64_t in pm_view_t */
} pm_counter_t;

#define PM_CERT(f) (offsetof(pm_view_t, cert) + offsetof(pp_cert_counters_t, f))
#define PM_EVENT(e) (offsetof(pm_view_t, events) + (e) * sizeof(uint64_t))

static const pm_counter_t pm_counters[] = {
    { "polyprov_cert_verifications_total", "Client certificates verified "
      "with OpenSSL against PolyProvTrustedCA (and PolyProvCRL), by result: "
      "ok, untrusted, internal (OpenSSL failed).", "{result=\"ok\"}",
      "PolyProvCertVerificationsOk", "<dt>Certificate verifications: ok ",
      PM_CERT(verified_ok) },
    { "polyprov_cert_verifications_total", NULL, "{result=\"untrusted\"}",
      "PolyProvCertVerificationsUntrusted", ", untrusted ",
      PM_CERT(verified_untrusted) },
    { "polyprov_cert_verifications_total", NULL, "{result=\"internal\"}",
      "PolyProvCertVerificationsInternal", ", internal ",
      PM_CERT(verified_internal) },
    { "polyprov_cert_handshake_chains_total", "Of the verifications with "
      "result ok, those that took the chain OpenSSL verified in the TLS "
      "handshake, its CAs found in PolyProvTrustedCA (no signature checked "
      "again).", "", "PolyProvCertHandshakeChains",
      " (of the ok, from the handshake's chain: ",
      PM_CERT(handshake_chains) },
    { "polyprov_cert_cache_hits_total", "Certificate verdicts found in a "
      "process's cache of verified certificates (a new connection of a "
      "phone verified moments ago).", "", "PolyProvCertCacheHits",
      ")</dt>\n<dt>Certificate cache: hits ", PM_CERT(cache_hits) },
    { "polyprov_cert_cache_misses_total", "Lookups in that cache that found "
      "nothing (a verification follows).", "", "PolyProvCertCacheMisses",
      ", misses ", PM_CERT(cache_misses) },
    { "polyprov_device_files_as_data_total", "Times a device file was "
      "served as data instead of through another handler or output filter "
      "(PP015 lines).", "", "PolyProvDeviceFilesAsData",
      "</dt>\n<dt>Device files served as data: ",
      PM_EVENT(POLYPROV_M_DEVICE_AS_DATA) },
    { "polyprov_speling_404_total", "Missing files answered 404 before "
      "mod_speling could name look-alikes (PP017 lines).", "",
      "PolyProvSpeling404",
      "</dt>\n<dt>Missing files answered 404 before mod_speling: ",
      PM_EVENT(POLYPROV_M_SPELING_404) },
    { "polyprov_monitoring_refused_total", "Requests for these figures "
      "refused in a PolyProv scope (PP060, PP061 lines).", "",
      "PolyProvMonitoringRefused",
      "</dt>\n<dt>Monitoring requests refused in a PolyProv scope: ",
      PM_EVENT(POLYPROV_M_MONITORING_REFUSED) },
};
#define PM_COUNTERS (sizeof(pm_counters) / sizeof(pm_counters[0]))
/* what ends the last row's sentence on the HTML page */
#define PM_HTML_AFTER "</dt>\n"

static uint64_t counter_value(const pm_view_t *v, const pm_counter_t *c)
{
    return *(const uint64_t *)(const void *)((const char *)v + c->offset);
}

/* The reasons there are: every pp_reason_t with a name of its own. */
static int is_reason(int r)
{
    return r > PP_R_OK && (r == PP_R_INTERNAL
                           || strcmp(pp_reason_name((pp_reason_t)r),
                                     "internal"));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void collect(request_rec *r, pm_view_t *v)
{
    pp_listset_t *set = polyprov_glue ? polyprov_glue->lists : NULL;
    time_t now = time(NULL);
    int i, j;

    memset(v, 0, sizeof(*v));
    for (i = 0; i < PM_REASONS; i++) {
        v->decisions[i] = get(&pm->decisions[i]);
        if (i != PP_R_OK) {
            v->refused += v->decisions[i];
        }
        v->reported[i] = get(&pm->reported[i]);
        if (i != PP_R_OK) {
            v->would_refuse += v->reported[i];
        }
    }
    for (i = 0; i < PM_EVENTS; i++) {
        v->events[i] = get(&pm->events[i]);
    }
    v->cert.cache_hits = get(&pm->cert.cache_hits);
    v->cert.cache_misses = get(&pm->cert.cache_misses);
    v->cert.verified_ok = get(&pm->cert.verified_ok);
    v->cert.verified_untrusted = get(&pm->cert.verified_untrusted);
    v->cert.verified_internal = get(&pm->cert.verified_internal);
    v->cert.handshake_chains = get(&pm->cert.handshake_chains);

    v->nlists = pp_listset_count(set);
    v->lists = apr_pcalloc(r->pool, sizeof(*v->lists)
                                    * (size_t)(v->nlists ? v->nlists : 1));
    for (i = 0; i < v->nlists; i++) {
        pm_list_view_t *l = &v->lists[i];
        l->path = pp_listset_path(set, i);
        pp_listset_state(set, i, &l->st);
        if (i < slot_count && slot_of[i] >= 0) {
            l->tracked = 1;
            l->load_errors = get(&pm->lists[slot_of[i]].load_errors);
            l->loaded_us = __atomic_load_n(&pm->lists[slot_of[i]].loaded_us,
                                           __ATOMIC_RELAXED);
        }
    }

    if (polyprov_glue && polyprov_glue->crls) {
        apr_hash_index_t *hi;
        apr_array_header_t *files = apr_array_make(r->pool, 8,
                                                   sizeof(char *));
        apr_array_header_t *crls = apr_array_make(r->pool, 8,
                                                  sizeof(pm_crl_view_t));
        for (hi = apr_hash_first(r->pool, polyprov_glue->crls); hi;
             hi = apr_hash_next(hi)) {
            const void *key;
            apr_hash_this(hi, &key, NULL, NULL);
            APR_ARRAY_PUSH(files, const char *) = key;
        }
        qsort(files->elts, (size_t)files->nelts, sizeof(char *), by_name);
        for (i = 0; i < files->nelts; i++) {
            const char *f = APR_ARRAY_IDX(files, i, const char *);
            const pp_crl_t *crl = apr_hash_get(polyprov_glue->crls, f,
                                               APR_HASH_KEY_STRING);
            for (j = 0;; j++) {
                pm_crl_view_t *c = apr_array_push(crls);
                if (!pp_crl_info(crl, j, c->issuer, sizeof(c->issuer),
                                 &c->next_update)) {
                    crls->nelts--;
                    break;
                }
                c->file = f;
                if (c->next_update && c->next_update < now) {
                    v->crls_expired++;
                }
            }
        }
        v->ncrls = crls->nelts;
        v->crls = (pm_crl_view_t *)crls->elts;
    }
}

/* Seconds since the epoch, to the millisecond. */
static const char *seconds(apr_pool_t *p, int64_t us)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT ".%03d", us / 1000000,
                        (int)(us % 1000000 / 1000));
}

/* ------------------------------------------------------------------ */
/* Prometheus text format 0.0.4                                        */

/* A label value: backslash, double quote and line feed escaped. */
static const char *label(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
            *o++ = *s;
        }
        else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static void family(request_rec *r, const char *name, const char *type,
                   const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(request_rec *r, const char *name, const char *labels,
                   uint64_t value)
{
    ap_rprintf(r, "%s%s %" APR_UINT64_T_FMT "\n", name, labels,
               (apr_uint64_t)value);
}

static void prometheus(request_rec *r, const pm_view_t *v)
{
    apr_pool_t *p = r->pool;
    const pm_counter_t *c;
    int i, k;

    family(r, "polyprov_info", "gauge", "The mod_polyprov version running "
           "(the value is always 1).");
    ap_rprintf(r, "polyprov_info{version=\"%s\"} 1\n", PP_VERSION);
    family(r, "polyprov_start_time_seconds", "gauge", "When httpd's parent "
           "started counting (Unix time): every counter counts from then, "
           "across graceful restarts.");
    ap_rprintf(r, "polyprov_start_time_seconds %s\n",
               seconds(p, pm->started_us));
    family(r, "polyprov_config_load_time_seconds", "gauge", "When the "
           "configuration in force was loaded: the start or the last "
           "(graceful) restart (Unix time).");
    ap_rprintf(r, "polyprov_config_load_time_seconds %s\n",
               seconds(p, pm->config_us));

    family(r, "polyprov_requests_allowed_total", "counter", "Requests, "
           "subrequests and internal redirects the module allowed (PP002 "
           "lines).");
    sample(r, "polyprov_requests_allowed_total", "",
           v->decisions[PP_R_OK]);
    family(r, "polyprov_requests_refused_total", "counter", "Requests, "
           "subrequests and internal redirects the module refused, by "
           "reason (PP001 lines; foreign-name counts responses replaced "
           "after they were allowed).");
    for (i = 1; i < PM_REASONS; i++) {
        if (is_reason(i)) {
            sample(r, "polyprov_requests_refused_total",
                   apr_psprintf(p, "{reason=\"%s\"}",
                                pp_reason_name((pp_reason_t)i)),
                   v->decisions[i]);
        }
    }
    family(r, "polyprov_decisions_total", "counter", "Every decision, by "
           "mode: enforce (PolyProv On, SharedOnly: the two series above) "
           "or report (PolyProv Report: reason ok for PP002, else PP140 "
           "lines, requests that were not refused), and by reason.");
    for (k = 0; k < 2; k++) {
        const uint64_t *d = k ? v->reported : v->decisions;
        for (i = 0; i < PM_REASONS; i++) {
            if (i == PP_R_OK || is_reason(i)) {
                sample(r, "polyprov_decisions_total",
                       apr_psprintf(p, "{mode=\"%s\",reason=\"%s\"}",
                                    k ? "report" : "enforce",
                                    i == PP_R_OK ? "ok"
                                        : pp_reason_name((pp_reason_t)i)),
                       d[i]);
            }
        }
    }

    for (c = pm_counters; c < pm_counters + PM_COUNTERS; c++) {
        if (c->help) {
            family(r, c->family, "counter", c->help);
        }
        sample(r, c->family, c->labels, counter_value(v, c));
    }

    family(r, "polyprov_list_entries", "gauge", "MACs in the version of a "
           "list file in force (0 while it has never loaded).");
    for (i = 0; i < v->nlists; i++) {
        sample(r, "polyprov_list_entries", apr_psprintf(p, "{list=\"%s\"}",
               label(p, v->lists[i].path)), v->lists[i].st.entries);
    }
    family(r, "polyprov_list_version", "gauge", "The version of a list in "
           "force, as PP038 numbers it: 1 at each start or restart, +1 per "
           "reload; 0: never loaded (list-unavailable).");
    for (i = 0; i < v->nlists; i++) {
        sample(r, "polyprov_list_version", apr_psprintf(p, "{list=\"%s\"}",
               label(p, v->lists[i].path)), v->lists[i].st.version);
    }
    family(r, "polyprov_list_failing", "gauge", "1 while the list file as "
           "it stands is not in force (broken, unreadable, missing, not "
           "publishable): the last good version is, if any.");
    for (i = 0; i < v->nlists; i++) {
        sample(r, "polyprov_list_failing", apr_psprintf(p, "{list=\"%s\"}",
               label(p, v->lists[i].path)), (uint64_t)v->lists[i].st.failing);
    }
    family(r, "polyprov_list_last_load_time_seconds", "gauge", "When a "
           "version of the list file was last read successfully (Unix time; "
           "0: not since httpd started).");
    for (i = 0; i < v->nlists; i++) {
        if (v->lists[i].tracked) {
            ap_rprintf(r, "polyprov_list_last_load_time_seconds{list=\"%s\"} "
                       "%s\n", label(p, v->lists[i].path),
                       seconds(p, v->lists[i].loaded_us));
        }
    }
    family(r, "polyprov_list_load_errors_total", "counter", "Versions of a "
           "list file that could not be loaded, each logged once (PP030 to "
           "PP032, PP034 to PP037).");
    for (i = 0; i < v->nlists; i++) {
        if (v->lists[i].tracked) {
            sample(r, "polyprov_list_load_errors_total",
                   apr_psprintf(p, "{list=\"%s\"}",
                                label(p, v->lists[i].path)),
                   v->lists[i].load_errors);
        }
    }

    family(r, "polyprov_crl_next_update_time_seconds", "gauge", "The "
           "nextUpdate of each CRL in force (Unix time; 0: none): past it, "
           "every certificate the CRL covers is refused (untrusted).");
    for (i = 0; i < v->ncrls; i++) {
        ap_rprintf(r, "polyprov_crl_next_update_time_seconds{file=\"%s\","
                   "issuer=\"%s\"} %" APR_INT64_T_FMT "\n",
                   label(p, v->crls[i].file), label(p, v->crls[i].issuer),
                   (apr_int64_t)v->crls[i].next_update);
    }
    family(r, "polyprov_crls_expired", "gauge", "CRLs in force past their "
           "nextUpdate (PP021 at each start).");
    sample(r, "polyprov_crls_expired", "", (uint64_t)v->crls_expired);
}

/* ------------------------------------------------------------------ */
/* Not where phones are                                                */

/* Where PolyProv is On or SharedOnly, or in a subrequest or redirect of
 * a request the module judged: the "PolyProv" directive that applies, or
 * a description. */
static const char *phones_scope(request_rec *r)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                         &polyprov_module);
    const request_rec *q;

    /* (a PolyProv Report scope: every request there is judged) */
    if (dc && (dc->enabled == PP_ON || dc->enabled == PP_SHARED_ONLY)) {
        return dc->enabled_where ? dc->enabled_where : "?";
    }
    for (q = r; q; q = q->main ? q->main : q->prev) {
        if (ap_get_module_config(q->request_config, &polyprov_module)) {
            return "(a request the module judged)";
        }
    }
    return NULL;
}

static int metrics_handler(request_rec *r)
{
    const char *where;
    pm_view_t v;

    if (!r->handler || strcmp(r->handler, PM_HANDLER)) {
        return DECLINED;
    }
    if ((where = phones_scope(r))) {
        polyprov_metrics_count(POLYPROV_M_MONITORING_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PP060: " PM_HANDLER
                      " refused uri=\"%s\" client=%s: it never answers in a "
                      "PolyProv On or SharedOnly scope (PolyProv at %s); "
                      "give it a <Location> outside the phones' scopes",
                      ap_escape_logitem(r->pool, r->uri), r->useragent_ip,
                      where);
        return HTTP_FORBIDDEN;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!pm) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    collect(r, &v);
    prometheus(r, &v);
    return OK;
}

/* ------------------------------------------------------------------ */
/* mod_status                                                          */

static void status_auto(request_rec *r, const pm_view_t *v)
{
    const pm_counter_t *c;
    int i;

    ap_rprintf(r, "PolyProvVersion: %s\n", PP_VERSION);
    ap_rprintf(r, "PolyProvStartTime: %s\n",
               seconds(r->pool, pm->started_us));
    ap_rprintf(r, "PolyProvConfigLoadTime: %s\n",
               seconds(r->pool, pm->config_us));
    ap_rprintf(r, "PolyProvRequestsAllowed: %" APR_UINT64_T_FMT "\n",
               (apr_uint64_t)v->decisions[PP_R_OK]);
    ap_rprintf(r, "PolyProvRequestsRefused: %" APR_UINT64_T_FMT "\n",
               (apr_uint64_t)v->refused);
    for (i = 1; i < PM_REASONS; i++) {
        if (is_reason(i)) {
            ap_rprintf(r, "PolyProvRefused-%s: %" APR_UINT64_T_FMT "\n",
                       pp_reason_name((pp_reason_t)i),
                       (apr_uint64_t)v->decisions[i]);
        }
    }
    ap_rprintf(r, "PolyProvReportAllowed: %" APR_UINT64_T_FMT "\n"
               "PolyProvReportWouldRefuse: %" APR_UINT64_T_FMT "\n",
               (apr_uint64_t)v->reported[PP_R_OK],
               (apr_uint64_t)v->would_refuse);
    for (i = 1; i < PM_REASONS; i++) {
        if (is_reason(i)) {
            ap_rprintf(r, "PolyProvReportWouldRefuse-%s: %" APR_UINT64_T_FMT
                       "\n", pp_reason_name((pp_reason_t)i),
                       (apr_uint64_t)v->reported[i]);
        }
    }
    for (c = pm_counters; c < pm_counters + PM_COUNTERS; c++) {
        ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", c->status_key,
                   (apr_uint64_t)counter_value(v, c));
    }
    for (i = 0; i < v->nlists; i++) {
        const pm_list_view_t *l = &v->lists[i];
        ap_rprintf(r, "PolyProvList%d: %s\n"
                   "PolyProvList%dEntries: %" APR_UINT64_T_FMT "\n"
                   "PolyProvList%dVersion: %" APR_UINT64_T_FMT "\n"
                   "PolyProvList%dFailing: %d\n", i + 1, l->path,
                   i + 1, (apr_uint64_t)l->st.entries,
                   i + 1, (apr_uint64_t)l->st.version,
                   i + 1, l->st.failing);
        if (l->tracked) {
            ap_rprintf(r, "PolyProvList%dLastLoadTime: %s\n"
                       "PolyProvList%dLoadErrors: %" APR_UINT64_T_FMT "\n",
                       i + 1, seconds(r->pool, l->loaded_us),
                       i + 1, (apr_uint64_t)l->load_errors);
        }
    }
    ap_rprintf(r, "PolyProvCRLsExpired: %d\n", v->crls_expired);
    for (i = 0; i < v->ncrls; i++) {
        ap_rprintf(r, "PolyProvCRL%d: %s %s\n"
                   "PolyProvCRL%dNextUpdate: %" APR_INT64_T_FMT "\n",
                   i + 1, v->crls[i].file, v->crls[i].issuer, i + 1,
                   (apr_int64_t)v->crls[i].next_update);
    }
}

static const char *html_time(apr_pool_t *p, int64_t us)
{
    char buf[64];

    if (!us) {
        return "never";
    }
    pp_time_format((time_t)(us / 1000000), buf, sizeof(buf));
    return apr_pstrdup(p, buf);
}

static void status_html(request_rec *r, const pm_view_t *v)
{
    apr_pool_t *p = r->pool;
    const pm_counter_t *c;
    int i;

    ap_rprintf(r, "<hr />\n<h2>mod_polyprov %s</h2>\n<dl>\n", PP_VERSION);
    ap_rprintf(r, "<dt>Counting since %s; configuration loaded %s</dt>\n",
               html_time(p, pm->started_us), html_time(p, pm->config_us));
    ap_rprintf(r, "<dt>Requests allowed: %" APR_UINT64_T_FMT "</dt>\n"
               "<dt>Requests refused: %" APR_UINT64_T_FMT "</dt>\n",
               (apr_uint64_t)v->decisions[PP_R_OK],
               (apr_uint64_t)v->refused);
    for (i = 1; i < PM_REASONS; i++) {
        if (is_reason(i)) {
            ap_rprintf(r, "<dd>refused %s: %" APR_UINT64_T_FMT "</dd>\n",
                       pp_reason_name((pp_reason_t)i),
                       (apr_uint64_t)v->decisions[i]);
        }
    }
    ap_rprintf(r, "<dt>PolyProv Report: allowed %" APR_UINT64_T_FMT
               ", would refuse %" APR_UINT64_T_FMT "</dt>\n",
               (apr_uint64_t)v->reported[PP_R_OK],
               (apr_uint64_t)v->would_refuse);
    for (c = pm_counters; c < pm_counters + PM_COUNTERS; c++) {
        ap_rprintf(r, "%s%" APR_UINT64_T_FMT, c->html_before,
                   (apr_uint64_t)counter_value(v, c));
    }
    ap_rputs(PM_HTML_AFTER, r);
    for (i = 0; i < v->nlists; i++) {
        const pm_list_view_t *l = &v->lists[i];
        ap_rprintf(r, "<dt>List %s: %" APR_UINT64_T_FMT " MACs, version %"
                   APR_UINT64_T_FMT "%s", ap_escape_html(p, l->path),
                   (apr_uint64_t)l->st.entries, (apr_uint64_t)l->st.version,
                   l->st.failing ? ", the file as it stands is NOT in force"
                                 : "");
        if (l->tracked) {
            ap_rprintf(r, ", last loaded %s, load errors %" APR_UINT64_T_FMT,
                       html_time(p, l->loaded_us),
                       (apr_uint64_t)l->load_errors);
        }
        ap_rputs("</dt>\n", r);
    }
    ap_rprintf(r, "<dt>CRLs expired: %d</dt>\n", v->crls_expired);
    for (i = 0; i < v->ncrls; i++) {
        char when[64];
        pp_time_format(v->crls[i].next_update, when, sizeof(when));
        ap_rprintf(r, "<dd>CRL %s of %s: next update %s%s</dd>\n",
                   ap_escape_html(p, v->crls[i].file),
                   ap_escape_html(p, v->crls[i].issuer), when,
                   v->crls[i].next_update
                   && v->crls[i].next_update < time(NULL) ? " (EXPIRED)"
                                                          : "");
    }
    ap_rputs("</dl>\n", r);
}

static int metrics_status(request_rec *r, int flags)
{
    const char *where;
    pm_view_t v;

    if (!(flags & AP_STATUS_EXTENDED) || !pm) {
        return OK;
    }
    if ((where = phones_scope(r))) {
        polyprov_metrics_count(POLYPROV_M_MONITORING_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PP061: mod_status page "
                      "uri=\"%s\" client=%s shown without mod_polyprov's "
                      "figures: a PolyProv On or SharedOnly scope (PolyProv "
                      "at %s)", ap_escape_logitem(r->pool, r->uri),
                      r->useragent_ip, where);
        return OK;
    }
    collect(r, &v);
    if (flags & AP_STATUS_SHORT) {
        status_auto(r, &v);
    }
    else {
        status_html(r, &v);
    }
    return OK;
}

void polyprov_metrics_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* after the module's own post_config has published the lists */
    ap_hook_post_config(metrics_post_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, metrics_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
