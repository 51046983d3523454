/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: CA and CRL material (PolyProvTrustedCA, PolyProvCRL),
 * issuer fingerprints (PolyProvIssuerFingerprint), times for messages.
 */
#define _GNU_SOURCE                /* timegm */
#include "pp_ca_internal.h"
#include "pp_fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Identities for cache keys: a fresh number for every load, so that a
 * cached verdict never outlives the CA or CRL it was computed with. */
static unsigned long next_id = 1;
static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned long new_id(void)
{
    unsigned long id;

    pthread_mutex_lock(&id_mu);
    id = next_id++;
    pthread_mutex_unlock(&id_mu);
    return id;
}

time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return timegm(&tm);
}

static void subject_of(X509 *x, char *buf, size_t len)
{
    X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len);
}

/* After a loop of PEM_read_bio_*: 1 when it ended at the end of the
 * file (OpenSSL's "no start line"), 0 at a broken PEM block, with the
 * reason in buf; the error queue is emptied either way. */

static int pem_ended_cleanly(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();

    if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM
               && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        pp_openssl_error(buf, len);
        return 0;
    }
    ERR_clear_error();
    return 1;
}

const char *pp_openssl_error(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();

    if (!e) {
        snprintf(buf, len, "no further detail");
    }
    else {
        ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

/* Open a file, or say why not. */
static BIO *open_file(const char *path, char *err, size_t errlen)
{
    FILE *f = pp_fopen(path, "rb");
    BIO *b;

    if (!f) {
        pp_err(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    b = BIO_new_fp(f, BIO_CLOSE);
    if (!b) {
        fclose(f);
        pp_err(err, errlen, "cannot read '%s': out of memory", path);
    }
    return b;
}

/* ------------------------------------------------------------------ */

/* Add one certificate of a CA file to the bundle. */
static int ca_add(pp_ca_t *ca, X509 *x, const char *path, int *roots,
                  char *err, size_t errlen)
{
    char subj[256], why[256];

    ca->count++;
    subject_of(x, subj, sizeof(subj));
    if (X509_check_ca(x) == 0) {
        pp_err(err, errlen, "'%s': certificate #%d (%s) is not a CA "
               "certificate", path, ca->count, subj);
        return 0;
    }
    if (X509_check_issued(x, x) == X509_V_OK) {
        (*roots)++;
    }
    if (asn1_to_time(X509_get0_notAfter(x)) < time(NULL)) {
        pp_log(PP_LOG_WARN, "PP009: PolyProvTrustedCA '%s': certificate #%d "
               "(%s)"
               " has expired; devices under it will be refused",
               path, ca->count, subj);
    }
    if (!X509_STORE_add_cert(ca->store, x)) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
            pp_err(err, errlen, "'%s': certificate #%d (%s): %s", path,
                   ca->count, subj, pp_openssl_error(why, sizeof(why)));
            return 0;
        }
        ERR_clear_error();
    }
    if (pp_fault(PP_FAULT_ALLOC) || !X509_up_ref(x)
        || !sk_X509_push(ca->certs, x)) {
        pp_err(err, errlen, "'%s': out of memory", path);
        return 0;
    }
    return 1;
}

/* One file: PEM certificates (one or more), else one DER certificate. */
static int ca_add_file(pp_ca_t *ca, const char *path, int *roots,
                       char *err, size_t errlen)
{
    BIO *b;
    X509 *x;
    int before = ca->count, ok = 0;
    char why[256];

    ERR_clear_error();
    if (!(b = open_file(path, err, errlen))) {
        return 0;
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        ok = ca_add(ca, x, path, roots, err, errlen);
        X509_free(x);
        if (!ok) {
            goto done;
        }
    }
    ok = 0;
    /* The loop ends at the end of the file, or at a broken PEM block. */
    if (!pem_ended_cleanly(why, sizeof(why))) {
        pp_err(err, errlen, "'%s': unreadable PEM after certificate #%d: %s",
               path, ca->count, why);
        goto done;
    }
    if (ca->count == before) {
        /* no PEM block at all: one DER certificate, and nothing after it */
        char extra;
        (void)BIO_reset(b);
        x = d2i_X509_bio(b, NULL);
        ERR_clear_error();
        if (!x) {
            pp_err(err, errlen, "'%s' contains no PEM certificate and is not "
                   "a DER certificate", path);
            goto done;
        }
        if (BIO_read(b, &extra, 1) > 0) {
            X509_free(x);
            pp_err(err, errlen, "'%s': data after its DER certificate; a DER "
                   "file holds one certificate: name one file per "
                   "certificate, or convert them to one PEM bundle with "
                   "'openssl x509 -inform DER -in FILE' for each", path);
            goto done;
        }
        ok = ca_add(ca, x, path, roots, err, errlen);
        X509_free(x);
        if (!ok) {
            goto done;
        }
    }
    ok = 1;
done:
    BIO_free(b);
    return ok;
}

/* The number of CA certificates from cert i up to a self-signed root of
 * the bundle (0 for a root), or -1 if it reaches none. */
static int steps_to_root(STACK_OF(X509) *certs, int i)
{
    int n = sk_X509_num(certs), steps = 0;
    X509 *x = sk_X509_value(certs, i);

    while (steps <= n) {
        int j;
        if (X509_check_issued(x, x) == X509_V_OK) {
            return steps;
        }
        for (j = 0; j < n; j++) {
            X509 *y = sk_X509_value(certs, j);
            if (y != x && X509_check_issued(y, x) == X509_V_OK) {
                break;
            }
        }
        if (j == n) {
            return -1;
        }
        x = sk_X509_value(certs, j);
        steps++;
    }
    return -1;                   /* a loop of cross-signed names */
}

pp_ca_t *pp_ca_load_files(const char *const *paths, int n, char *err,
                          size_t errlen)
{
    pp_ca_t *ca = NULL;
    size_t len = 0;
    int i, roots = 0;

    ERR_clear_error();
    if (n < 1) {
        pp_err(err, errlen, "needs a file name");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        len += strlen(paths[i]) + 2;
    }
    ca = pp_calloc(1, sizeof(*ca));
    if (!ca || !(ca->path = pp_malloc(len + 1))
        || pp_fault(PP_FAULT_ALLOC) || !(ca->certs = sk_X509_new_null())
        || !(ca->store = X509_STORE_new())) {
        pp_err(err, errlen, "'%s': out of memory", paths[0]);
        goto fail;
    }
    ca->path[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i) {
            strcat(ca->path, ", ");
        }
        strcat(ca->path, paths[i]);
        if (!ca_add_file(ca, paths[i], &roots, err, errlen)) {
            goto fail;
        }
    }
    if (roots == 0) {
        pp_err(err, errlen, "'%s' contains no self-signed root CA; the "
               "bundle must hold the Polycom Root CA and its intermediates",
               ca->path);
        goto fail;
    }
    /* mod_ssl's SSLVerifyDepth counts the certificates above the device's:
     * a device under a CA k steps below the root needs k + 1 */
    for (i = 0; i < sk_X509_num(ca->certs); i++) {
        int k = steps_to_root(ca->certs, i);
        if (k + 1 > ca->depth) {
            ca->depth = k + 1;
        }
    }
    /* fingerprints, for the handshake's question "is this trust anchor
     * one of PolyProvTrustedCA's?" */
    ca->sha256 = pp_calloc((size_t)sk_X509_num(ca->certs) + 1,
                           sizeof(*ca->sha256));
    if (!ca->sha256) {
        pp_err(err, errlen, "'%s': out of memory", ca->path);
        goto fail;
    }
    for (i = 0; i < sk_X509_num(ca->certs); i++) {
        unsigned int dlen = 0;
        if (pp_fault(PP_FAULT_SSL)
            || !X509_digest(sk_X509_value(ca->certs, i), EVP_sha256(),
                            ca->sha256[i], &dlen) || dlen != 32) {
            char why[256];
            pp_err(err, errlen, "'%s': certificate #%d: digest failed: %s",
                   ca->path, i + 1, pp_openssl_error(why, sizeof(why)));
            goto fail;
        }
    }
    ca->id = new_id();
    return ca;
fail:
    pp_ca_free(ca);
    return NULL;
}

pp_ca_t *pp_ca_load(const char *path, char *err, size_t errlen)
{
    return pp_ca_load_files(&path, 1, err, errlen);
}

void pp_ca_free(pp_ca_t *ca)
{
    if (!ca) {
        return;
    }
    X509_STORE_free(ca->store);
    sk_X509_pop_free(ca->certs, X509_free);
    pp_free(ca->sha256);
    pp_free(ca->path);
    pp_free(ca);
}

int pp_ca_count(const pp_ca_t *ca)
{
    return ca ? ca->count : 0;
}

const char *pp_ca_path(const pp_ca_t *ca)
{
    return ca ? ca->path : NULL;
}

int pp_ca_verify_depth(const pp_ca_t *ca)
{
    return ca ? ca->depth : 0;
}

int pp_ca_holds(const pp_ca_t *ca, const unsigned char sha256[32])
{
    int i;

    for (i = 0; ca && ca->sha256 && i < sk_X509_num(ca->certs); i++) {
        if (!memcmp(ca->sha256[i], sha256, 32)) {
            return 1;
        }
    }
    return 0;
}

int pp_ca_info(const pp_ca_t *ca, int i, char *subject, size_t len,
               unsigned char sha256[32])
{
    if (!ca || !ca->sha256 || i < 0 || i >= sk_X509_num(ca->certs)) {
        return 0;
    }
    subject_of(sk_X509_value(ca->certs, i), subject, len);
    memcpy(sha256, ca->sha256[i], 32);
    return 1;
}

/* ------------------------------------------------------------------ */

void pp_time_format(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (!t || !gmtime_r(&t, &tm)
        || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm)) {
        snprintf(buf, len, "(none)");
    }
}

static int crl_add(pp_crl_t *c, X509_CRL *crl, const char *path)
{
    time_t nu = asn1_to_time(X509_CRL_get0_nextUpdate(crl));

    if (!sk_X509_CRL_push(c->crls, crl)) {
        return 0;
    }
    if (nu && (!c->next_update || nu < c->next_update)) {
        c->next_update = nu;
    }
    if (nu && nu < time(NULL)) {
        char iss[256], when[64];
        X509_NAME_oneline(X509_CRL_get_issuer(crl), iss, sizeof(iss));
        pp_time_format(nu, when, sizeof(when));
        pp_log(PP_LOG_WARN, "PP022: PolyProvCRL %s: the CRL of %s has "
               "expired (its nextUpdate, %s, has passed); every certificate "
               "it covers will be refused until it is renewed", path, iss,
               when);
    }
    return 1;
}

pp_crl_t *pp_crl_load(const char *path, char *err, size_t errlen)
{
    pp_crl_t *c = NULL;
    BIO *b;
    X509_CRL *crl;
    char why[256];

    ERR_clear_error();
    if (!(b = open_file(path, err, errlen))) {
        return NULL;
    }
    c = pp_calloc(1, sizeof(*c));
    if (!c || !(c->crls = sk_X509_CRL_new_null())
        || !(c->path = pp_strndup(path, strlen(path)))) {
        pp_err(err, errlen, "'%s': out of memory", path);
        goto fail;
    }
    while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
        if (!crl_add(c, crl, path)) {
            X509_CRL_free(crl);
            pp_err(err, errlen, "'%s': out of memory", path);
            goto fail;
        }
    }
    if (!pem_ended_cleanly(why, sizeof(why))) {
        pp_err(err, errlen, "'%s': unreadable PEM CRL: %s", path, why);
        goto fail;
    }
    if (sk_X509_CRL_num(c->crls) == 0) {
        /* not PEM: try one DER CRL */
        (void)BIO_reset(b);
        crl = d2i_X509_CRL_bio(b, NULL);
        if (!crl) {
            pp_err(err, errlen, "'%s' contains no CRL (neither PEM nor DER)",
                   path);
            ERR_clear_error();
            goto fail;
        }
        if (!crl_add(c, crl, path)) {
            X509_CRL_free(crl);
            pp_err(err, errlen, "'%s': out of memory", path);
            goto fail;
        }
    }
    BIO_free(b);
    c->id = new_id();
    return c;
fail:
    BIO_free(b);
    pp_crl_free(c);
    return NULL;
}

void pp_crl_free(pp_crl_t *c)
{
    if (!c) {
        return;
    }
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    pp_free(c->path);
    pp_free(c);
}

int pp_crl_count(const pp_crl_t *c)
{
    return c ? sk_X509_CRL_num(c->crls) : 0;
}

const char *pp_crl_path(const pp_crl_t *c)
{
    return c ? c->path : NULL;
}

pp_crl_t *pp_crl_union(const pp_crl_t *a, const pp_crl_t *b,
                       char *err, size_t errlen)
{
    const pp_crl_t *from[2] = { a, b };
    pp_crl_t *c = pp_calloc(1, sizeof(*c));
    size_t len = strlen(a->path) + strlen(b->path) + 3;
    int k, i;

    if (!c || !(c->crls = sk_X509_CRL_new_null())
        || !(c->path = pp_malloc(len))) {
        goto oom;
    }
    snprintf(c->path, len, "%s, %s", a->path, b->path);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < sk_X509_CRL_num(from[k]->crls); i++) {
            X509_CRL *x = sk_X509_CRL_value(from[k]->crls, i);
            if (pp_fault(PP_FAULT_ALLOC) || !X509_CRL_up_ref(x)) {
                goto oom;
            }
            if (!sk_X509_CRL_push(c->crls, x)) {
                X509_CRL_free(x);
                goto oom;
            }
        }
        if (from[k]->next_update && (!c->next_update
                                     || from[k]->next_update
                                        < c->next_update)) {
            c->next_update = from[k]->next_update;
        }
    }
    c->id = new_id();
    return c;
oom:
    pp_err(err, errlen, "'%s, %s': out of memory", a->path, b->path);
    pp_crl_free(c);
    return NULL;
}

int pp_crl_info(const pp_crl_t *c, int i, char *issuer, size_t len,
                time_t *next_update)
{
    X509_CRL *x;

    if (!c || i < 0 || i >= sk_X509_CRL_num(c->crls)) {
        return 0;
    }
    x = sk_X509_CRL_value(c->crls, i);
    X509_NAME_oneline(X509_CRL_get_issuer(x), issuer, (int)len);
    *next_update = asn1_to_time(X509_CRL_get0_nextUpdate(x));
    return 1;
}

int pp_crl_covers(const pp_ca_t *ca, int i, const pp_crl_t *crl,
                  char *subject, size_t len)
{
    X509 *x;
    EVP_PKEY *key;
    int j;

    if (!ca || i < 0 || i >= sk_X509_num(ca->certs)) {
        return -1;
    }
    x = sk_X509_value(ca->certs, i);
    subject_of(x, subject, len);
    key = X509_get0_pubkey(x);
    for (j = 0; crl && key && j < sk_X509_CRL_num(crl->crls); j++) {
        X509_CRL *c = sk_X509_CRL_value(crl->crls, j);
        /* issued by this CA: its name, and its signature */
        if (X509_NAME_cmp(X509_CRL_get_issuer(c),
                          X509_get_subject_name(x)) == 0
            && X509_CRL_verify(c, key) == 1) {
            return 1;
        }
    }
    ERR_clear_error();
    return 0;
}

/* ------------------------------------------------------------------ */

int pp_fingerprint_parse(const char *s, unsigned char out[32],
                         char *err, size_t errlen)
{
    const char *h;
    size_t len, i;
    int colons;

    if (strncasecmp(s, "sha256:", 7) != 0) {
        pp_err(err, errlen, "'%s': expected sha256:HEX (64 hex digits, "
               "colons between bytes allowed)", s);
        return 0;
    }
    h = s + 7;
    len = strlen(h);
    colons = (len == 95);
    if (len != 64 && len != 95) {
        pp_err(err, errlen, "'%s': a SHA-256 fingerprint has 32 bytes "
               "(64 hex digits)", s);
        return 0;
    }
    for (i = 0; i < 32; i++) {
        const char *p = h + (colons ? i * 3 : i * 2);
        unsigned char hi = pp_hex[(unsigned char)p[0]];
        unsigned char lo = pp_hex[(unsigned char)p[1]];
        if (hi == PP_NOT_HEX || lo == PP_NOT_HEX
            || (colons && i < 31 && p[2] != ':')) {
            pp_err(err, errlen, "'%s': not a hex fingerprint", s);
            return 0;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

void pp_fingerprint_format(const unsigned char fp[32], char out[96])
{
    static const char hex[] = "0123456789ABCDEF";
    int i;

    for (i = 0; i < 32; i++) {
        out[i * 3] = hex[fp[i] >> 4];
        out[i * 3 + 1] = hex[fp[i] & 15];
        out[i * 3 + 2] = i < 31 ? ':' : '\0';
    }
}
