/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core, internal to pp_ca.c and pp_cert.c: what the
 * verification (pp_cert.c) needs of the CA and CRL material (pp_ca.c).
 * Not part of pp_core.h.
 */
#ifndef PP_CA_INTERNAL_H
#define PP_CA_INTERNAL_H

#include "pp_core.h"

#include <openssl/x509.h>

struct pp_ca {
    X509_STORE *store;
    STACK_OF(X509) *certs;       /* every certificate, in file order */
    unsigned char (*sha256)[32]; /* their fingerprints, in the same order */
    unsigned long id;
    int count;
    int depth;                   /* SSLVerifyDepth a device under it needs */
    char *path;                  /* the files, ", " between them */
};

struct pp_crl {
    STACK_OF(X509_CRL) *crls;
    unsigned long id;
    time_t next_update;          /* earliest nextUpdate, 0 if none */
    char *path;                  /* the files, ", " between them */
};

/* (prefixed symbols, the names the two files use) */
#define asn1_to_time pp_ca_asn1_to_time

/* A certificate time as Unix time, 0 when there is none. */
time_t asn1_to_time(const ASN1_TIME *t);

#endif /* PP_CA_INTERNAL_H */
