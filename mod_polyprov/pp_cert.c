/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the module's own verification of a client certificate
 * against PolyProvTrustedCA (and PolyProvCRL), and a bounded cache of the
 * results keyed by the certificate's SHA-256.
 */
#define _GNU_SOURCE                /* memmem */
#include "pp_ca_internal.h"
#include "pp_testing.h"   /* the fault seam; test-only entry points defined here */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ */
/* Verification                                                        */

static void cn_facts(X509 *x, pp_cert_facts_t *f)
{
    X509_NAME *subj = X509_get_subject_name(x);
    int idx = -1, first = -1;
    unsigned char *utf8 = NULL;
    int n;

    while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
        if (first < 0) {
            first = idx;
        }
        f->cn_count++;
    }
    if (first < 0) {
        return;
    }
    n = pp_fault(PP_FAULT_SSL) ? -1 : ASN1_STRING_to_UTF8(&utf8,
            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, first)));
    if (n < 0) {
        ERR_clear_error();
        return;
    }
    f->cn_len = (size_t)n < PP_CN_MAX ? (size_t)n : PP_CN_MAX;
    memcpy(f->cn, utf8, f->cn_len);
    f->cn[f->cn_len] = '\0';
    f->cn_usable = f->cn_count == 1 && n <= PP_CN_MAX
                   && !memchr(utf8, '\0', (size_t)n);
    OPENSSL_free(utf8);
}

int pp_cert_subject_cn(const unsigned char *der, size_t len,
                       pp_cert_facts_t *f)
{
    const unsigned char *p = der;
    X509 *x;

    memset(f, 0, sizeof(*f));
    if (len > 65536 || !(x = d2i_X509(NULL, &p, (long)len))) {
        ERR_clear_error();
        return 0;
    }
    cn_facts(x, f);
    X509_free(x);
    return 1;
}

/* OpenSSL's verification, with one error tolerated: the client
 * certificate itself (depth 0) past its notAfter.  Every other error,
 * at any depth, still ends the verification; an expired CA is one. */
typedef struct {
    int leaf_expired;
} verify_state_t;

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    verify_state_t *st = X509_STORE_CTX_get_app_data(ctx);

    if (!ok && st && X509_STORE_CTX_get_error_depth(ctx) == 0
        && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_HAS_EXPIRED) {
        st->leaf_expired = 1;
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return ok;
}

static void verify(const pp_ca_t *ca, const pp_crl_t *crl, X509 *x,
                   time_t now, pp_cert_facts_t *f)
{
    verify_state_t st = { 0 };
    X509_STORE_CTX *ctx = pp_fault(PP_FAULT_SSL) ? NULL
                                                 : X509_STORE_CTX_new();
    X509_VERIFY_PARAM *vp;
    STACK_OF(X509) *chain;
    unsigned int n;
    int i, rc;
    char why[128];

    f->verdict = PP_R_INTERNAL;
    if (!ctx || pp_fault(PP_FAULT_SSL)
        || !X509_STORE_CTX_init(ctx, ca->store, x, NULL)
        || !X509_STORE_CTX_set_default(ctx, "ssl_client")) {
        snprintf(f->detail, sizeof(f->detail), "verification setup failed:"
                 " %s", pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    X509_STORE_CTX_set_app_data(ctx, &st);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, now);
    if (crl) {
        X509_STORE_CTX_set0_crls(ctx, crl->crls);
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK
                                        | X509_V_FLAG_CRL_CHECK_ALL);
    }
    rc = pp_fault(PP_FAULT_SSL) ? -1 : X509_verify_cert(ctx);
    if (rc < 0 || (rc != 1 && (X509_STORE_CTX_get_error(ctx)
                               == X509_V_ERR_OUT_OF_MEM
                               || X509_STORE_CTX_get_error(ctx)
                               == X509_V_ERR_UNSPECIFIED))) {
        /* OpenSSL failed, not the certificate: no verdict to cache */
        snprintf(f->detail, sizeof(f->detail), "verification failed "
                 "internally: %s", pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    if (rc != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail), "verify error %d at depth %d:"
                 " %s", e, X509_STORE_CTX_get_error_depth(ctx),
                 X509_verify_cert_error_string(e));
        ERR_clear_error();
        goto done;
    }
    if (X509_check_ca(x) != 0) {
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail),
                 "the client certificate is a CA certificate");
        goto done;
    }
    chain = X509_STORE_CTX_get0_chain(ctx);
    if (!chain || sk_X509_num(chain) < 2) {
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail),
                 "the client certificate is itself a trust anchor");
        goto done;
    }
    if (pp_fault(PP_FAULT_SSL)
        || !X509_digest(sk_X509_value(chain, 1), EVP_sha256(),
                        f->issuer_sha256, &n) || n != 32) {
        snprintf(f->detail, sizeof(f->detail), "issuer digest failed: %s",
                 pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    f->not_after = asn1_to_time(X509_get0_notAfter(x));
    f->leaf_expired = st.leaf_expired;
    /* a verdict holds until a certificate of the chain expires; an
     * expired leaf's verdict (expired) holds until its CAs' do */
    f->valid_until = now + 3600;
    for (i = st.leaf_expired ? 1 : 0; i < sk_X509_num(chain); i++) {
        time_t na = asn1_to_time(X509_get0_notAfter(sk_X509_value(chain, i)));
        if (na && na < f->valid_until) {
            f->valid_until = na;
        }
    }
    if (crl && crl->next_update && crl->next_update < f->valid_until) {
        f->valid_until = crl->next_update;
    }
    f->verdict = PP_R_OK;
    if (st.leaf_expired) {
        char when[64];
        pp_time_format(f->not_after, when, sizeof(when));
        snprintf(f->detail, sizeof(f->detail), "verified, but the "
                 "certificate expired at %s (its notAfter)", when);
    }
    else {
        snprintf(f->detail, sizeof(f->detail), "verified");
    }
done:
    X509_STORE_CTX_free(ctx);
}

/* ------------------------------------------------------------------ */
/* The cache: 256 sets of 4, least recently used replaced.             */

#define CACHE_SETS 256
#define CACHE_WAYS 4
#define NEGATIVE_TTL 60

typedef struct {
    int used;
    unsigned long ca_id, crl_id;
    time_t expires;
    unsigned long stamp;
    pp_cert_facts_t facts;
} centry_t;

static centry_t cache[CACHE_SETS][CACHE_WAYS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long cache_clock;
static pp_cache_stats_t stats;
static pp_cert_counters_t *shared_counters;   /* pp_cert_set_counters */

#define COUNT(field) do { if (shared_counters) \
    __atomic_fetch_add(&shared_counters->field, 1, __ATOMIC_RELAXED); \
    } while (0)

void pp_cert_set_counters(pp_cert_counters_t *shared)
{
    shared_counters = shared;
}

static int cache_get(const unsigned char sha[32], unsigned long ca_id,
                     unsigned long crl_id, time_t now, pp_cert_facts_t *out)
{
    centry_t *set = cache[sha[0]];
    int i, found = 0;

    pthread_mutex_lock(&cache_mu);
    for (i = 0; i < CACHE_WAYS; i++) {
        centry_t *e = &set[i];
        if (e->used && e->ca_id == ca_id && e->crl_id == crl_id
            && !memcmp(e->facts.leaf_sha256, sha, 32)) {
            if (now < e->expires) {
                e->stamp = ++cache_clock;
                *out = e->facts;
                found = 1;
            }
            else {
                e->used = 0;
            }
            break;
        }
    }
    if (found) {
        stats.hits++;
        COUNT(cache_hits);
    }
    else {
        stats.misses++;
        COUNT(cache_misses);
    }
    pthread_mutex_unlock(&cache_mu);
    return found;
}

static void cache_put(unsigned long ca_id, unsigned long crl_id,
                      time_t expires, const pp_cert_facts_t *f)
{
    centry_t *set = cache[f->leaf_sha256[0]];
    centry_t *victim = &set[0];
    int i;

    pthread_mutex_lock(&cache_mu);
    for (i = 0; i < CACHE_WAYS; i++) {
        centry_t *e = &set[i];
        if (!e->used || (e->ca_id == ca_id && e->crl_id == crl_id
                         && !memcmp(e->facts.leaf_sha256,
                                    f->leaf_sha256, 32))) {
            victim = e;
            break;
        }
        if (e->stamp < victim->stamp) {
            victim = e;
        }
    }
    if (victim->used && (victim->ca_id != ca_id || victim->crl_id != crl_id
                         || memcmp(victim->facts.leaf_sha256,
                                   f->leaf_sha256, 32))) {
        stats.evictions++;
    }
    victim->used = 1;
    victim->ca_id = ca_id;
    victim->crl_id = crl_id;
    victim->expires = expires;
    victim->stamp = ++cache_clock;
    victim->facts = *f;
    victim->facts.source = PP_CERT_PROCESS_CACHE;
    stats.inserts++;
    pthread_mutex_unlock(&cache_mu);
}

void pp_cert_cache_stats(pp_cache_stats_t *out)
{
    pthread_mutex_lock(&cache_mu);
    *out = stats;
    pthread_mutex_unlock(&cache_mu);
}

void pp_cert_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    memset(cache, 0, sizeof(cache));
    memset(&stats, 0, sizeof(stats));
    pthread_mutex_unlock(&cache_mu);
}

/* ------------------------------------------------------------------ */
/* The DER of the first certificate of a PEM text.  Parsing a certificate
 * with OpenSSL 3 costs over a million instructions (the public key goes
 * through the provider decoders); the cache key needs only the DER's
 * SHA-256, so a cache hit never parses. */

static const signed char b64[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};   /* value + 1; 0 for anything else */

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* Decode into a malloc'd buffer; NULL if the text is not a PEM
 * certificate. */
static unsigned char *pem_to_der(const char *pem, size_t len, size_t *derlen,
                                 int *oom)
{
    const char *p = memmem(pem, len, PEM_BEGIN, sizeof(PEM_BEGIN) - 1), *end;
    unsigned char *der, *o;
    unsigned int acc = 0;
    int bits = 0, pad = 0;

    if (!p) {
        return NULL;
    }
    p += sizeof(PEM_BEGIN) - 1;
    end = memmem(p, len - (size_t)(p - pem), PEM_END, sizeof(PEM_END) - 1);
    if (!end) {
        return NULL;
    }
    if (!(der = pp_malloc((size_t)(end - p) / 4 * 3 + 3))) {
        *oom = 1;
        return NULL;
    }
    for (o = der; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
            continue;
        }
        if (c == '=') {
            pad++;
            continue;
        }
        if (!b64[c] || pad) {
            pp_free(der);              /* not base64, or data after '=' */
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)(b64[c] - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (unsigned char)(acc >> bits);
        }
    }
    if (o == der || pad > 2) {
        pp_free(der);
        return NULL;
    }
    *derlen = (size_t)(o - der);
    return der;
}

/* ------------------------------------------------------------------ */

/* OpenSSL's verification of x, counted, and its verdict cached (a refusal
 * for NEGATIVE_TTL seconds; an internal failure not at all). */
static void verify_and_keep(const pp_ca_t *ca, const pp_crl_t *crl, X509 *x,
                            time_t now, pp_cert_facts_t *f)
{
    unsigned long crl_id = crl ? crl->id : 0;

    verify(ca, crl, x, now, f);
    if (f->verdict == PP_R_OK) {
        COUNT(verified_ok);
        cache_put(ca->id, crl_id, f->valid_until, f);
    }
    else if (f->verdict == PP_R_UNTRUSTED) {
        COUNT(verified_untrusted);
        cache_put(ca->id, crl_id, now + NEGATIVE_TTL, f);
    }
    else {
        COUNT(verified_internal);
    }
}

pp_reason_t pp_cert_examine_pem(const pp_ca_t *ca, const pp_crl_t *crl,
                                const char *pem, size_t pemlen, time_t now,
                                pp_cert_facts_t *f)
{
    unsigned long crl_id = crl ? crl->id : 0;
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t derlen = 0;
    X509 *x = NULL;
    unsigned int n;
    int oom = 0;
    char why[128];

    memset(f, 0, sizeof(*f));
    f->verdict = PP_R_INTERNAL;
    if (!ca) {
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail),
                 "no PolyProvTrustedCA applies here");
        return f->verdict;
    }
    if (!pem || pemlen == 0 || pemlen > 65536
        || !(der = pem_to_der(pem, pemlen, &derlen, &oom))) {
        f->verdict = oom ? PP_R_INTERNAL : PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail), oom ? "out of memory"
                 : "no usable client certificate");
        return f->verdict;
    }
    ERR_clear_error();
    if (pp_fault(PP_FAULT_SSL)
        || !EVP_Digest(der, derlen, f->leaf_sha256, &n, EVP_sha256(), NULL)
        || n != 32) {
        snprintf(f->detail, sizeof(f->detail), "digest failed: %s",
                 pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    if (cache_get(f->leaf_sha256, ca->id, crl_id, now, f)) {
        goto done;
    }
    p = der;
    if (pp_fault(PP_FAULT_SSL)) {
        snprintf(f->detail, sizeof(f->detail), "cannot decode the client "
                 "certificate: OpenSSL failed");
        goto done;
    }
    x = d2i_X509(NULL, &p, (long)derlen);
    if (!x && ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE) {
        snprintf(f->detail, sizeof(f->detail), "cannot decode the client "
                 "certificate: %s", pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    if (!x || p != der + derlen) {
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail), "client certificate does not "
                 "parse: %s", pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    cn_facts(x, f);
    verify_and_keep(ca, crl, x, now, f);
done:
    X509_free(x);
    pp_free(der);
    return f->verdict;
}

/* The chain OpenSSL verified in the handshake, standing for the module's
 * own verification when it is the chain the module would have built (see
 * pp_core.h): its CAs are certificates of PolyProvTrustedCA, byte for
 * byte, so each signature on it was checked with a key the module trusts;
 * what the handshake judged with its own settings (the time, the CRLs) is
 * judged again here, or the chain is not used.  Returns 1 with f's
 * verdict filled, 0 when a full verification is needed. */
static int handshake_chain(const pp_ca_t *ca, const pp_crl_t *crl, X509 *leaf,
                           STACK_OF(X509) *chain, long result, time_t now,
                           pp_cert_facts_t *f)
{
    int i, k, n = chain ? sk_X509_num(chain) : 0;
    int ncas = sk_X509_num(ca->certs);
    time_t until = now + 3600;
    int leaf_expired = 0;

    if (crl || result != X509_V_OK || n < 2
        || X509_cmp(sk_X509_value(chain, 0), leaf) != 0
        || X509_check_ca(leaf) != 0
        || X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1
        || !(X509_get_extension_flags(sk_X509_value(chain, n - 1))
             & EXFLAG_SS)) {
        goto no;
    }
    for (i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        /* as OpenSSL judges them: valid from notBefore, expired at
         * notAfter */
        time_t nb = asn1_to_time(X509_get0_notBefore(x));
        time_t na = asn1_to_time(X509_get0_notAfter(x));
        if (!nb || !na || nb > now || (na <= now && i > 0)) {
            goto no;         /* not yet valid, an expired CA, or no date */
        }
        if (na <= now) {
            leaf_expired = 1;         /* tolerated at depth 0 only */
        }
        else if (na < until) {
            until = na;
        }
        if (i == 0) {
            continue;
        }
        for (k = 0; k < ncas && X509_cmp(x, sk_X509_value(ca->certs, k));
             k++) {
        }
        if (k == ncas) {
            goto no;                 /* a CA PolyProvTrustedCA does not hold */
        }
        if (i == 1) {
            memcpy(f->issuer_sha256, ca->sha256[k], 32);
        }
    }
    ERR_clear_error();
    f->not_after = asn1_to_time(X509_get0_notAfter(leaf));
    f->leaf_expired = leaf_expired;
    f->valid_until = until;
    f->verdict = PP_R_OK;
    f->source = PP_CERT_HANDSHAKE;
    if (leaf_expired) {
        char when[64];
        pp_time_format(f->not_after, when, sizeof(when));
        snprintf(f->detail, sizeof(f->detail), "verified in the handshake, "
                 "but the certificate expired at %s (its notAfter)", when);
    }
    else {
        snprintf(f->detail, sizeof(f->detail), "verified in the handshake");
    }
    return 1;
no:
    memset(f->issuer_sha256, 0, sizeof(f->issuer_sha256));
    ERR_clear_error();
    return 0;
}

pp_reason_t pp_cert_examine_x509(const pp_ca_t *ca, const pp_crl_t *crl,
                                 X509 *leaf, STACK_OF(X509) *chain,
                                 long result, time_t now, pp_cert_facts_t *f)
{
    unsigned int n;
    char why[128];

    memset(f, 0, sizeof(*f));
    f->verdict = PP_R_INTERNAL;
    if (!ca || !leaf) {
        f->verdict = PP_R_UNTRUSTED;
        snprintf(f->detail, sizeof(f->detail), !ca
                 ? "no PolyProvTrustedCA applies here"
                 : "no usable client certificate");
        return f->verdict;
    }
    ERR_clear_error();
    if (pp_fault(PP_FAULT_SSL)
        || !X509_digest(leaf, EVP_sha256(), f->leaf_sha256, &n) || n != 32) {
        snprintf(f->detail, sizeof(f->detail), "digest failed: %s",
                 pp_openssl_error(why, sizeof(why)));
        return f->verdict;
    }
    if (cache_get(f->leaf_sha256, ca->id, crl ? crl->id : 0, now, f)) {
        return f->verdict;
    }
    cn_facts(leaf, f);
    if (handshake_chain(ca, crl, leaf, chain, result, now, f)) {
        COUNT(verified_ok);
        COUNT(handshake_chains);
        cache_put(ca->id, 0, f->valid_until, f);
        return f->verdict;
    }
    verify_and_keep(ca, crl, leaf, now, f);
    return f->verdict;
}

const char *pp_cert_source_name(pp_cert_source_t s)
{
    switch (s) {
    case PP_CERT_PROCESS_CACHE:
        return "process-cache";
    case PP_CERT_CONNECTION:
        return "connection";
    case PP_CERT_HANDSHAKE:
        return "handshake";
    case PP_CERT_VERIFIED:
    default:
        return "verified";
    }
}
