/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: CA and CRL material (PolyProvTrustedCA, PolyProvCRL,
 * PolyProvIssuerFingerprint).
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_CA_H
#define PP_CA_H

#include <stddef.h>
#include <time.h>

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
/* Certificate i of the bundle, in file order: its subject (one-line form)
 * and SHA-256 fingerprint.  0 when there is no certificate i. */
int pp_ca_info(const pp_ca_t *ca, int i, char *subject, size_t len,
               unsigned char sha256[32]);

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

/* The last OpenSSL error of this thread as text ("no further detail"
 * when there is none) in buf, and the error queue emptied; for messages
 * (the core's, and polyprov-check's own parsing).  Returns buf. */
const char *pp_openssl_error(char *buf, size_t len);

#endif /* PP_CA_H */
