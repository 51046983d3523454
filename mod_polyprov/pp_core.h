/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: everything that decides, with no httpd type in it.
 *
 * The httpd glue (mod_polyprov.c, mod_polyprov_config.c) and the unit tests
 * link against this; so can an operator's offline tool.  Nothing here
 * includes an httpd or APR header.
 */
#ifndef PP_CORE_H
#define PP_CORE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#define PP_VERSION "1.0.0"

/* ------------------------------------------------------------------ */
/* Reasons                                                             */

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

/* "no-tls", "no-cert", ... as in the README (Troubleshooting a 403); "ok" for PP_R_OK. */
const char *pp_reason_name(pp_reason_t r);

/* ------------------------------------------------------------------ */
/* Logging: the glue installs a sink; the default writes to stderr.    */

enum { PP_LOG_ERR = 0, PP_LOG_WARN, PP_LOG_NOTICE, PP_LOG_INFO,
       PP_LOG_DEBUG };

/* The sink gets where the message was logged (the core's source file and
 * line) and its level, so that httpd's log says so. */
typedef void pp_log_fn(void *baton, const char *file, int line, int level,
                       const char *msg);

void pp_set_logger(pp_log_fn *fn, void *baton);
void pp_log_at(const char *file, int line, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define pp_log(level, ...) pp_log_at(__FILE__, __LINE__, (level), __VA_ARGS__)

/* snprintf into a caller's error buffer (errlen may be 0). */
void pp_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Allocation: every core allocation goes through these, so tests can */
/* make any of them fail (see pp_fault_*).                             */

void *pp_malloc(size_t n);
void *pp_calloc(size_t n, size_t size);
void *pp_realloc(void *p, size_t n);
char *pp_strndup(const char *s, size_t n);
void pp_free(void *p);

/* The test seam for faults (allocation, OpenSSL, file operations) is
 * declared in pp_fault.h: the core's own files and the tests include it. */

/* Whether user (uid, gid, and the user's supplementary groups) can open
 * each path for reading: asked in a forked process that takes that
 * identity, as httpd's children do, so groups and ACLs count.  For each
 * path, out[i].err is 0 or the errno, and out[i].where the directory that
 * cannot be searched (is_dir) or the file itself.  Returns how many
 * cannot be read, or -1 with a message if the check could not be made.
 * Needs root to take another identity. */
typedef struct {
    int err;
    int is_dir;
    char where[1024];
} pp_access_t;

int pp_check_readable_as(const char *user, long uid, long gid,
                         const char *const *paths, int n, pp_access_t *out,
                         char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* MAC addresses                                                       */

typedef uint64_t pp_mac_t;          /* 48 bits, in the low bits */
#define PP_MAC_NONE ((pp_mac_t)0)   /* 000000000000: names nobody */

/* The value of a hex digit, any case, or PP_NOT_HEX: one table for every
 * parser of the core. */
#define PP_NOT_HEX 0xff
extern const unsigned char pp_hex[256];

/* Exactly 12 hex digits, any case. Returns 1 and sets *out, else 0. */
int pp_mac_from_hex12(const char *s, pp_mac_t *out);

/* A list-file notation, any case: 0004f2aabbcc, 00:04:f2:aa:bb:cc,
 * 00-04-f2-aa-bb-cc, 0004.f2aa.bbcc.  Returns 1 and sets *out, else 0. */
int pp_mac_parse(const char *s, size_t len, pp_mac_t *out);

/* 12 lower-case hex digits and a NUL. */
void pp_mac_format(pp_mac_t mac, char out[13]);

/* ------------------------------------------------------------------ */
/* Ownership of a request path                                         */

typedef struct pp_shared pp_shared_t;

/* PolyProvSharedFiles: "*" (everything), "none" (nothing) or shell
 * wildcards matched against one path segment.  NULL on error. */
pp_shared_t *pp_shared_new(const char *const *patterns, int n,
                           char *err, size_t errlen);
void pp_shared_free(pp_shared_t *s);
int pp_shared_match(const pp_shared_t *s, const char *segment);
/* A short description for logs and tests: "*", "none" or "a.cfg *.ld". */
const char *pp_shared_describe(const pp_shared_t *s);

typedef struct {
    const char *uri_path;   /* decoded, normalised URI, no query; NULL (or
                             * not starting with '/') when the request has
                             * none, as file subrequests may */
    int has_path_info;      /* non-empty path info (other than "/") */
    const char *filename;   /* the path of the file it maps to below the
                             * document root (the whole path when outside
                             * it), or NULL */
    int read_method;        /* GET, HEAD or OPTIONS (and no writing parent) */
} pp_target_t;

/* Step 11 of the decision table (README, "How the module decides"):
 * PP_R_OK, PP_R_NOT_OWNER, PP_R_SHARED_READONLY or PP_R_NOT_SHARED.
 * Every maximal run of 12 or more hex digits in the URI and in the whole
 * file path counts; a write must land on a file whose path names `mac`. */
pp_reason_t pp_owner_check(const pp_target_t *t, pp_mac_t mac,
                           const pp_shared_t *shared);
/* The same; *file_names_mac (if not NULL) says whether the file's path
 * names mac (a device file, as pp_path_names_mac says). */
pp_reason_t pp_owner_check_ex(const pp_target_t *t, pp_mac_t mac,
                              const pp_shared_t *shared,
                              int *file_names_mac);

/* The path a file is judged by (README, "How the module decides"): the
 * part of file below root (DocumentRoot), or the whole of file when it lies
 * elsewhere; NULL when file is no absolute path (no local file). */
const char *pp_path_below_root(const char *file, const char *root);

/* 1 when path holds a token naming mac and no other device (a device
 * file of mac: served as data only). */
int pp_path_names_mac(const char *path, pp_mac_t mac);
/* 1 when path holds a token naming any device, or an ambiguous run. */
int pp_path_names_any(const char *path);
/* 1 when len bytes of text hold a hex run of 12 or more digits that is
 * neither mac nor 000000000000 (a response naming another device). */
int pp_text_names_other(const char *text, size_t len, pp_mac_t mac);
/* 1 when a segment of path starts with '.' (".htaccess", ".x/y"). */
int pp_path_has_dot_segment(const char *path);

/* PolyProvDeviceQuota (pp_quota.c): what one device holds on disk. */
typedef struct {
    long long bytes;             /* of its regular files */
    long entries;                /* files, collections, links, and all that
                                  * its collections hold */
    long budget;                 /* (entries still to be read) */
} pp_usage_t;

/* The directory whose entries hold the device's part of path: path's
 * parent, or further up while the parent's name names the device (a file
 * in the device's own collection counts where the collection is).
 * Allocated (free() it); NULL when out of memory. */
char *pp_quota_holding_dir(const char *path, pp_mac_t mac);

/* What of directory dir is the device's: the entries whose names name
 * mac (all: every entry) and everything below those that are
 * directories (links are entries, never followed).  0, or -1 and why
 * (a directory that cannot be read, more than max_entries entries read,
 * deeper than max_depth): the caller refuses the write.  A dir that does
 * not exist holds nothing. */
int pp_quota_usage(const char *dir, pp_mac_t mac, int all, long max_entries,
                   int max_depth, pp_usage_t *u, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* CN to MAC                                                           */

#define PP_DEFAULT_CN_PATTERN "^([0-9A-Fa-f]{12})$"

typedef struct pp_pattern pp_pattern_t;

pp_pattern_t *pp_pattern_compile(const char *regex, char *err, size_t errlen);
void pp_pattern_free(pp_pattern_t *p);
const char *pp_pattern_source(const pp_pattern_t *p);

/* The first capture group, else the whole match, must be exactly 12 hex
 * digits and not 000000000000.  PP_R_OK or PP_R_BAD_CN (PP_R_INTERNAL if
 * the regex engine fails). */
pp_reason_t pp_pattern_mac(const pp_pattern_t *p, const char *cn,
                           size_t cnlen, pp_mac_t *mac);

/* ------------------------------------------------------------------ */
/* Certificates                                                        */

typedef struct pp_ca pp_ca_t;
typedef struct pp_crl pp_crl_t;

/* PolyProvTrustedCA: a PEM bundle of CA certificates, with at least one
 * self-signed root.  NULL and a message on error. */
pp_ca_t *pp_ca_load(const char *path, char *err, size_t errlen);
/* The same from several files, each a PEM bundle or one DER certificate;
 * the root may be in any of them. */
pp_ca_t *pp_ca_load_files(const char *const *paths, int n, char *err,
                          size_t errlen);
void pp_ca_free(pp_ca_t *ca);
int pp_ca_count(const pp_ca_t *ca);
const char *pp_ca_path(const pp_ca_t *ca);   /* the files, ", " between */
/* The SSLVerifyDepth a device needs under the longest chain of the bundle:
 * 1 + the CAs from a device issuer up to, not counting, its root (3 for
 * Polycom: Issuing CA, Policy CA, Root CA). */
int pp_ca_verify_depth(const pp_ca_t *ca);
/* Whether a certificate of the bundle has this SHA-256 fingerprint (of
 * its DER): 1 yes, 0 no. */
int pp_ca_holds(const pp_ca_t *ca, const unsigned char sha256[32]);

/* PolyProvCRL: PEM (one or more) or DER CRLs. */
pp_crl_t *pp_crl_load(const char *path, char *err, size_t errlen);
void pp_crl_free(pp_crl_t *crl);
int pp_crl_count(const pp_crl_t *crl);
const char *pp_crl_path(const pp_crl_t *crl); /* the files, ", " between */
/* A new set holding the CRLs of both (several PolyProvCRL in a scope). */
pp_crl_t *pp_crl_union(const pp_crl_t *a, const pp_crl_t *b,
                       char *err, size_t errlen);
/* The issuer (one-line form) and nextUpdate (0 if none) of CRL i;
 * returns 0 when there is no CRL i. */
int pp_crl_info(const pp_crl_t *crl, int i, char *issuer, size_t len,
                time_t *next_update);
/* Whether crl holds a CRL issued by certificate i of ca (its name, and
 * signed by its key): 1 yes, 0 no, -1 no certificate i.  subject receives
 * the certificate's subject.  With CRLs configured every certificate of a
 * chain needs its issuer's CRL, so every CA of the bundle needs one. */
int pp_crl_covers(const pp_ca_t *ca, int i, const pp_crl_t *crl,
                  char *subject, size_t len);

/* "2026-01-31 12:00:00 UTC" ("(none)" for 0), for messages. */
void pp_time_format(time_t t, char *buf, size_t len);

/* "sha256:HEX", hex with or without colons between bytes. */
int pp_fingerprint_parse(const char *s, unsigned char out[32],
                         char *err, size_t errlen);
void pp_fingerprint_format(const unsigned char fp[32], char out[96]);

#define PP_CN_MAX 128

/* Where a certificate verdict came from: a verification now, the
 * process's cache of verified certificates, the TLS connection's earlier
 * verdict (the glue's), or the chain OpenSSL verified in this connection's
 * handshake, checked against PolyProvTrustedCA (pp_cert_examine_x509). */
typedef enum {
    PP_CERT_VERIFIED = 0,
    PP_CERT_PROCESS_CACHE,
    PP_CERT_CONNECTION,
    PP_CERT_HANDSHAKE
} pp_cert_source_t;

const char *pp_cert_source_name(pp_cert_source_t s);

typedef struct {
    pp_reason_t verdict;          /* PP_R_OK, PP_R_UNTRUSTED, PP_R_INTERNAL */
    char detail[256];             /* why, for the log */
    unsigned char leaf_sha256[32];
    unsigned char issuer_sha256[32]; /* the direct issuer in the verified chain */
    int cn_count;                 /* CN attributes in the subject */
    int cn_usable;                /* one CN, fits, no NUL */
    size_t cn_len;
    char cn[PP_CN_MAX + 1];       /* UTF-8, NUL-terminated */
    time_t valid_until;           /* re-verify after this */
    pp_cert_source_t source;      /* where this verdict came from */
    /* The client certificate's notAfter, and whether it had passed when
     * the certificate was verified.  The verification tolerates exactly
     * that, and only at depth 0: everything else of it (the chain to
     * PolyProvTrustedCA, its CAs' own validity, signatures, purpose, the
     * CRLs) still holds for an expired leaf.  Step 3 of the decision
     * refuses it unless the scope allows expired certificates. */
    int leaf_expired;
    time_t not_after;
} pp_cert_facts_t;

/* The CN facts of a DER certificate, as the verification takes them: how
 * many CN attributes, the first one as UTF-8, and whether it is usable.
 * Returns 0 if the DER is no certificate.  (The fuzzers compare it with an
 * independent DER reading.) */
int pp_cert_subject_cn(const unsigned char *der, size_t len,
                       pp_cert_facts_t *f);

/* Verify a PEM client certificate against ca (and crl if not NULL) at
 * time now, using and filling the process's bounded cache of results.  A
 * client certificate past its notAfter and otherwise valid is PP_R_OK with
 * leaf_expired set (see above). */
pp_reason_t pp_cert_examine_pem(const pp_ca_t *ca, const pp_crl_t *crl,
                                const char *pem, size_t pemlen, time_t now,
                                pp_cert_facts_t *facts);

/* The same for a client certificate OpenSSL has already parsed (the
 * connection's peer certificate), with what the handshake verified:
 * chain is the chain OpenSSL verified for this certificate in the
 * handshake (SSL_get0_verified_chain), or NULL when the session was
 * resumed or the chain is not known, and result X509_V_OK only when that
 * verification met no error at all (mod_ssl: SSL_get_verify_result, and
 * SSL_CLIENT_VERIFY "SUCCESS", since over TLS 1.2 mod_ssl resets the
 * verify result to X509_V_OK after an error optional_no_ca let pass).  The handshake's chain stands for the
 * module's own verification only when every one of these holds (else the
 * certificate is verified in full, as pp_cert_examine_pem does): result
 * is X509_V_OK; no PolyProvCRL applies (crl is NULL); the chain starts
 * with leaf; every certificate after the leaf is, byte for byte, a
 * certificate of ca, and the last is self-signed; at time now every CA of
 * it is within its dates, and the leaf is no longer before its notBefore;
 * the leaf is no CA and may act as a TLS client.  A leaf past its notAfter
 * is PP_R_OK with leaf_expired set, as in a full verification.  The
 * process cache is used and filled as by pp_cert_examine_pem.  (OpenSSL
 * types are declared by their struct tags, so that this header needs no
 * OpenSSL header.) */
struct x509_st;
struct stack_st_X509;
pp_reason_t pp_cert_examine_x509(const pp_ca_t *ca, const pp_crl_t *crl,
                                 struct x509_st *leaf,
                                 struct stack_st_X509 *chain, long result,
                                 time_t now, pp_cert_facts_t *facts);

/* The verified-certificate cache: counters, and a reset for tests. */
typedef struct {
    unsigned long hits, misses, inserts, evictions;
} pp_cache_stats_t;
void pp_cert_cache_stats(pp_cache_stats_t *out);
void pp_cert_cache_clear(void);

/* Counters of certificate checks for every process together: when the
 * glue points the core at a block in shared memory (before httpd forks
 * its children), each process adds to it atomically, without a lock.
 * NULL (the default) counts nothing. */
typedef struct {
    uint64_t cache_hits;       /* a verdict taken from the process cache */
    uint64_t cache_misses;     /* the cache was asked and had none */
    uint64_t verified_ok;      /* chains verified with OpenSSL, by verdict */
    uint64_t verified_untrusted;
    uint64_t verified_internal;
    uint64_t handshake_chains; /* of verified_ok: the handshake's chain */
} pp_cert_counters_t;
void pp_cert_set_counters(pp_cert_counters_t *shared);

/* ------------------------------------------------------------------ */
/* MAC lists                                                           */

/* A sorted, de-duplicated array of MACs. */
typedef struct {
    pp_mac_t *macs;
    size_t count;
} pp_maclist_t;

/* Parse a list file.  Returns 1 on success (the caller frees list->macs
 * with pp_free); 0 when the content is wrong, with a message naming
 * "path:line"; -1 when the file could not be read or memory ran out
 * (worth trying again: the content may be fine). */
/* The strict check for pipelines (make check-list, polyprov-check): the
 * same rules as the server, the same return values; *count receives the
 * number of distinct MACs when the file is good. */
int pp_list_validate(const char *path, size_t *count, char *err,
                     size_t errlen);
int pp_maclist_load(const char *path, pp_maclist_t *list,
                    char *err, size_t errlen);
/* Same, from memory (name is used in messages). */
int pp_maclist_parse(const char *name, const char *buf, size_t len,
                     pp_maclist_t *list, char *err, size_t errlen);
int pp_maclist_contains(const pp_mac_t *macs, size_t count, pp_mac_t mac);

/* Building a list from values one at a time (a database's rows): each
 * value in any notation of the list format, surrounding whitespace
 * ignored (no comments).  Start from a zeroed builder. */
typedef struct {
    pp_maclist_t list;
    size_t cap;
} pp_macbuild_t;
/* 1 added; 0 not a MAC, with a message naming row `row` and the value
 * (value NULL: an SQL NULL); -1 out of memory. */
int pp_macbuild_row(pp_macbuild_t *b, const char *value, size_t len,
                    unsigned long row, char *err, size_t errlen);
/* Sort and de-duplicate into *out (the caller frees out->macs with
 * pp_free; never NULL on success, even for no MACs).  Returns 1, or -1
 * when out of memory (the builder is freed either way). */
int pp_macbuild_finish(pp_macbuild_t *b, pp_maclist_t *out);
void pp_macbuild_free(pp_macbuild_t *b);

/*
 * A list set: every list file the configuration names, shared by all
 * httpd processes.  The parent loads each file (at parse time), then
 * pp_listset_start() publishes each as a read-only snapshot file in
 * state_dir and puts a small record per list in anonymous shared memory
 * that forked children inherit.  Any process may notice a change of a
 * source file (at most every interval seconds), re-parse it and publish a
 * new snapshot; every process maps the newest published snapshot before
 * its next lookup.  A broken new version is logged and never published.
 * Who notices: the lookups themselves, or a background thread in each
 * process (pp_listset_background, below).
 */
typedef struct pp_listset pp_listset_t;

pp_listset_t *pp_listset_new(void);
void pp_listset_free(pp_listset_t *set);
/* Register (and load and validate) a list file; the same path twice gives
 * the same index.  A list is data, not configuration: a file that cannot
 * be read or is broken is registered all the same, with the message in
 * err and in pp_listset_problem(); pp_listset_start() then keeps the
 * previous generation's last good version of it, or leaves it unavailable
 * (lookups return PP_LIST_UNAVAILABLE and try the file again).  Returns
 * the index >= 0, or -1 with a message (memory, already started). */
int pp_listset_add(pp_listset_t *set, const char *path,
                   char *err, size_t errlen);
/* A list whose content comes from elsewhere than a file: a database
 * query, run by the glue (README, "Lists from a database").  read()
 * fills *list (pp_macbuild_*) and returns as pp_maclist_load does: 1
 * good, 0 the content is wrong (a row that is no MAC: err names it), -1
 * it could not be read (connection, query error, timeout: err says so).
 * *version holds a token of the version in force (0: none, or unknown);
 * a source with a cheap change check (a version query) sets it to the
 * token of what it read, and may return PP_LIST_UNCHANGED, without a
 * list, when the token it finds is the one it was given.
 * It is first called by pp_listset_start (in the process that starts the
 * set), then by the background rounds only (pp_listset_tick; never by a
 * lookup): every interval, one process queries, and a result that differs
 * from the version in force is published as a new snapshot.  A failure
 * keeps the version in force and is logged once per cause (the same
 * message), until a query succeeds again.  name identifies the list (the
 * same name twice gives the same index) and appears in messages. */
#define PP_LIST_UNCHANGED 2
typedef int pp_list_read_fn(void *baton, uint64_t *version,
                            pp_maclist_t *list, char *err, size_t errlen);
int pp_listset_add_source(pp_listset_t *set, const char *name,
                          pp_list_read_fn *read, void *baton,
                          char *err, size_t errlen);
/* 1 when list idx comes from pp_listset_add_source, not a file. */
int pp_listset_is_source(const pp_listset_t *set, int idx);
/* Why list idx did not load when it was added, or NULL. */
const char *pp_listset_problem(const pp_listset_t *set, int idx);
/* After pp_listset_start: where the version in force came from, and how
 * many MACs it holds. */
enum { PP_LIST_READ = 0, PP_LIST_KEPT, PP_LIST_NONE };
int pp_listset_origin(const pp_listset_t *set, int idx, uint64_t *count);
/* A list that has never loaded is tried again this often even when the
 * interval is 0 (there is nothing in force to keep). */
#define PP_LIST_RETRY_S 5
int pp_listset_count(const pp_listset_t *set);
const char *pp_listset_path(const pp_listset_t *set, int idx);
/* Publish: create state_dir (mode 0700) if needed, the shared records and
 * the first snapshots, named after the configuration generation `gen`,
 * and the generation's manifest of list paths; files of generations
 * before gen - 1 are removed.  A list that did not load takes the newest
 * snapshot of the same path in generation gen - 1, if there is one.  When running as
 * root, the directory and every snapshot are given to uid/gid (the httpd
 * child user; -1 leaves them as they are). */
int pp_listset_start(pp_listset_t *set, const char *state_dir,
                     unsigned gen, long uid, long gid,
                     char *err, size_t errlen);
/* Map the current version of every list now (after start, and in each
 * child), so that a process keeps its lists even if the state directory
 * is removed under it.  Returns how many could not be mapped (logged). */
int pp_listset_map_current(pp_listset_t *set);
/* Lookup: 1 present, 0 absent, -1 error (logged; the caller refuses),
 * PP_LIST_UNAVAILABLE when the list has never loaded (the caller refuses).
 * now_us: pp_monotonic_us(); interval_s: 0 = never re-check. */
#define PP_LIST_UNAVAILABLE (-2)
/* now_us for pp_listset_lookup: a monotonic clock (CLOCK_MONOTONIC, the
 * same in every process), so that a step of the wall clock neither stalls
 * nor hurries list reloads. */
int64_t pp_monotonic_us(void);
int pp_listset_lookup(pp_listset_t *set, int idx, pp_mac_t mac,
                      int64_t now_us, int interval_s);
/* The sequence number of the snapshot this process uses (tests, logs). */
uint64_t pp_listset_seq(pp_listset_t *set, int idx);
/*
 * Background reloads.  pp_listset_background(set, 1), before the
 * processes that look up fork, leaves every check of a source (stat,
 * parse, publish) to pp_listset_tick, which a thread of each process calls
 * several times a second (httpd: mod_watchdog, mod_polyprov_reload.c):
 * one process wins each round of each list, as lookups did, and every
 * process maps the newest snapshot in its own round.  Lookups then only
 * map a newer snapshot (an open and an mmap); they tell the background the
 * interval their scope asks for.  Should no thread have ticked for
 * PP_LIST_STALE_S seconds, lookups check the sources themselves again
 * (PP072, once per process and episode).
 */
void pp_listset_background(pp_listset_t *set, int on);
#define PP_LIST_STALE_S 5
/* After pp_listset_start: list idx is checked in the background every
 * interval_s seconds, or more often if another scope (or a lookup) asks;
 * 0 asks nothing.  Returns the interval in force (0: only retried, every
 * PP_LIST_RETRY_S, while it has never loaded), -1 for no list idx. */
int pp_listset_background_interval(pp_listset_t *set, int idx,
                                   int interval_s);
/* One round of the background at now_us (pp_monotonic_us()).  Returns
 * how many sources this call checked. */
int pp_listset_tick(pp_listset_t *set, int64_t now_us);
/*
 * A background reload makes way for requests.  pp_reload_thread_start,
 * called by the thread that will call pp_listset_tick, puts that thread
 * (and no other) at nice PP_RELOAD_NICE.  Its parses (read, parse, sort,
 * write the snapshot, free the memory) then go in steps of about 0.1 ms
 * of work and yield the core after each: at nice 10 alone, a request
 * thread woken on the parse's core could wait for the rest of the
 * parse's time slice.  The large blocks a parse frees are given back in
 * 1 MB pieces, a step each, rather than by one munmap that holds the
 * process's memory map (and its request threads) for milliseconds.  A
 * parse in any other thread (a request's, a tool's) runs straight
 * through.  pp_reload_steps: how many steps this thread's parses took
 * (tests).
 */
#define PP_RELOAD_NICE 10
void pp_reload_thread_start(void);
unsigned long pp_reload_steps(void);
/* Forget what every source looked like, so that the next lookup of each
 * list re-reads and republishes it (the fault-injection tests use it). */
void pp_listset_recheck(pp_listset_t *set);
/* What a monitor needs of list idx, from the shared record: the version
 * in force (the sequence number, 0: never loaded), its MACs, and whether
 * the file as it stands is not in force (broken, unreadable, missing, or
 * not publishable: the last good version is).  Returns 0 when there is no
 * list idx or the set has not started. */
typedef struct {
    uint64_t version;
    uint64_t entries;
    int failing;
} pp_list_state_t;
int pp_listset_state(const pp_listset_t *set, int idx, pp_list_state_t *out);
/* Told of each run-time load of list idx by whichever process made it:
 * PP_LIST_EVENT_LOADED for a new version in force (PP033, PP038),
 * PP_LIST_EVENT_ERROR for each problem logged (PP032, PP034 to PP037).
 * Set after pp_listset_start, before httpd forks. */
enum { PP_LIST_EVENT_LOADED = 1, PP_LIST_EVENT_ERROR };
typedef void pp_list_event_fn(void *baton, int idx, int event);
void pp_listset_observe(pp_listset_t *set, pp_list_event_fn *fn,
                        void *baton);
/* Remove a state directory's snapshot files and the directory (by the
 * process that made it, when it exits). */
void pp_statedir_remove(const char *dir);

/* ------------------------------------------------------------------ */
/* The decision (README, "How the module decides")                     */

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
                                    * step 3 (nothing else is loosened) */
} pp_scope_t;

/* What is known of a request when it is decided. */
typedef struct {
    int tls;                       /* step 1 */
    const pp_cert_facts_t *cert;   /* step 2: NULL when no certificate */
    int cn_known;                  /* cn_rv/cn_mac hold the pattern's
                                    * result already (a cache); else the
                                    * decision applies scope->pattern */
    pp_reason_t cn_rv;
    pp_mac_t cn_mac;
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
    int step;                      /* the step that refused; 0: allowed */
    pp_mac_t mac;                  /* the requester's, when mac_known */
    int mac_known;
    int device_file;               /* allowed, and the file's path names
                                    * the requester (served as data) */
    char detail[320];              /* why, for the log ("" if nothing) */
} pp_verdict_t;

/* Decide a request in a scope: the steps of the README's table in order;
 * the first that fails gives the reason.  Returns v->reason. */
pp_reason_t pp_decide(const pp_scope_t *s, const pp_request_t *q,
                      pp_verdict_t *v);

#endif /* PP_CORE_H */
