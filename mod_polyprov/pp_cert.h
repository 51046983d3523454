/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the verification of a client certificate (PP_STEP_VERIFY),
 * its facts, and the process's cache of verdicts.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_CERT_H
#define PP_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "pp_ca.h"
#include "pp_reason.h"

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
     * CRLs) still holds for an expired leaf.  PP_STEP_VERIFY refuses it
     * unless the scope allows expired certificates. */
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

#endif /* PP_CERT_H */
