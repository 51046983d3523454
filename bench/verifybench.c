/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verifybench: what a phone's certificate costs to check, OpenSSL alone,
 * for the ways the module could check it (make bench, section 3c).
 *
 *   verifybench PKI_DIR FLEET_DIR [N]
 *
 * Each op_* function checks N different phones of the storm's fleet once
 * (certificates parsed beforehand where the op does not parse), so that
 * `valgrind --tool=callgrind` gives its instructions per phone
 * (inclusive cost of op_X / N); run natively, it prints microseconds per
 * phone.  The ways:
 *
 *   pem_d2i        the PEM text of SSL_CLIENT_CERT to an X509, as the
 *                  module does now (base64, then d2i_X509, which decodes
 *                  the public key through OpenSSL 3's decoders)
 *   verify_full    X509_verify_cert against the four CAs of
 *                  PolyProvTrustedCA, as now: a signature check per link
 *                  (device <- issuing <- policy <- root)
 *   verify_partial the intermediates verified once, when the CAs are
 *                  loaded, and trusted as such (X509_V_FLAG_PARTIAL_CHAIN):
 *                  one signature check per phone
 *   leaf_signature X509_verify of the device certificate with its
 *                  issuer's key: that one signature check alone
 *   chain_match    the module's check (pp_cert_examine_x509) of the chain
 *                  OpenSSL already verified in the handshake, matched
 *                  against PolyProvTrustedCA (each CA of it the same
 *                  certificate as one configured), plus the dates and the
 *                  leaf's purpose: no signature check
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pp_testing.h"   /* pp_cert_cache_clear */

static int n_phones = 200;
static char **pems;              /* each phone's PEM */
static X509 **leaves;            /* each phone, parsed */
static STACK_OF(X509) *cas;      /* PolyProvTrustedCA: root, policy, ic1, ic2 */
static X509_STORE *full, *partial;
static X509 *issuing1;
static volatile int sink;
static int matched;             /* phones op_chain_match accepted */
static pp_ca_t *module_ca;       /* the same file, as the module loads it */

static void die(const char *what)
{
    fprintf(stderr, "verifybench: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int verify_with(X509_STORE *store, X509 *leaf, unsigned long flags)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc;

    if (!ctx || !X509_STORE_CTX_init(ctx, store, leaf, NULL)
        || !X509_STORE_CTX_set_default(ctx, "ssl_client")) {
        die("verify setup");
    }
    if (flags) {
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), flags);
    }
    rc = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    return rc;
}

__attribute__((noinline)) void op_pem_d2i(void)
{
    int i;

    for (i = 0; i < n_phones; i++) {
        BIO *b = BIO_new_mem_buf(pems[i], -1);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        sink += x != NULL;
        X509_free(x);
        BIO_free(b);
    }
}

__attribute__((noinline)) void op_verify_full(void)
{
    int i;

    for (i = 0; i < n_phones; i++) {
        sink += verify_with(full, leaves[i], 0) == 1;
    }
}

__attribute__((noinline)) void op_verify_partial(void)
{
    int i;

    for (i = 0; i < n_phones; i++) {
        sink += verify_with(partial, leaves[i], X509_V_FLAG_PARTIAL_CHAIN)
                == 1;
    }
}

__attribute__((noinline)) void op_leaf_signature(void)
{
    EVP_PKEY *k = X509_get0_pubkey(issuing1);
    int i;

    for (i = 0; i < n_phones; i++) {
        sink += X509_verify(leaves[i], k) == 1;
    }
}

/* The module's own check (pp_cert_examine_x509) given the chain of the
 * handshake (device, issuing 1, policy, root: the X509 objects mod_ssl's
 * SSL would hold): each CA matched against PolyProvTrustedCA, the dates
 * and the purpose; the process cache emptied first, so that every phone
 * is new to it, as in the storm. */
__attribute__((noinline)) void op_chain_match(void)
{
    time_t now = time(NULL);
    pp_cert_facts_t facts;
    int i;

    pp_cert_cache_clear();
    for (i = 0; i < n_phones; i++) {
        STACK_OF(X509) *chain = sk_X509_new_null();
        sk_X509_push(chain, leaves[i]);
        sk_X509_push(chain, issuing1);
        sk_X509_push(chain, sk_X509_value(cas, 1));
        sk_X509_push(chain, sk_X509_value(cas, 0));
        matched += pp_cert_examine_x509(module_ca, NULL, leaves[i], chain,
                                     X509_V_OK, now, &facts) == PP_R_OK
                && facts.source == PP_CERT_HANDSHAKE;
        sk_X509_free(chain);
    }
}

static void timed(const char *name, void (*op)(void))
{
    double best = 1e9;
    int r;

    for (r = 0; r < 3; r++) {
        double t0 = now_s();
        op();
        if (now_s() - t0 < best) {
            best = now_s() - t0;
        }
    }
    printf("  %-16s %9.1f us per phone\n", name, best / n_phones * 1e6);
}

int main(int argc, char **argv)
{
    char path[4096], path_ca[4096];
    FILE *f;
    X509 *x;
    int i;

    if (argc < 3) {
        fprintf(stderr, "usage: verifybench PKI_DIR FLEET_DIR [N]\n");
        return 2;
    }
    if (argc > 3) {
        n_phones = atoi(argv[3]);
    }
    cas = sk_X509_new_null();
    full = X509_STORE_new();
    partial = X509_STORE_new();
    snprintf(path, sizeof(path), "%s/polycom-chain.pem", argv[1]);
    snprintf(path_ca, sizeof(path_ca), "%s", path);
    if (!(f = fopen(path, "r"))) {
        die(path);
    }
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(cas, x);
        X509_STORE_add_cert(full, x);
        X509_STORE_add_cert(partial, x);
    }
    ERR_clear_error();
    fclose(f);
    if (sk_X509_num(cas) != 4) {
        die("polycom-chain.pem: four CAs expected");
    }
    issuing1 = sk_X509_value(cas, 2);
    /* the intermediates, verified once here as a load would */
    for (i = 1; i < 4; i++) {
        if (verify_with(full, sk_X509_value(cas, i), 0) != 1) {
            die("an intermediate does not verify");
        }
    }
    pems = calloc((size_t)n_phones, sizeof(char *));
    leaves = calloc((size_t)n_phones, sizeof(X509 *));
    snprintf(path, sizeof(path), "%s/fleet.pem", argv[2]);
    if (!(f = fopen(path, "r"))) {
        die(path);
    }
    for (i = 0; i < n_phones; i++) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long len;
        if (!(leaves[i] = PEM_read_X509(f, NULL, NULL, NULL))
            || !PEM_write_bio_X509(b, leaves[i])) {
            die("the fleet has fewer phones than asked");
        }
        len = BIO_get_mem_data(b, &data);
        pems[i] = strndup(data, (size_t)len);
        BIO_free(b);
    }
    fclose(f);
    if (verify_with(full, leaves[0], 0) != 1
        || verify_with(partial, leaves[0], X509_V_FLAG_PARTIAL_CHAIN) != 1) {
        die("a phone does not verify");
    }
    {
        char err[512];
        if (!(module_ca = pp_ca_load(path_ca, err, sizeof(err)))) {
            die(err);
        }
    }
    /* verdicts are not cached by OpenSSL: the same leaves serve each op */
    printf("verifybench: %d phones, each op once per phone\n", n_phones);
    timed("pem_d2i", op_pem_d2i);
    timed("verify_full", op_verify_full);
    timed("verify_partial", op_verify_partial);
    timed("leaf_signature", op_leaf_signature);
    timed("chain_match", op_chain_match);
    if (matched != 3 * n_phones) {
        die("the module did not take every phone's handshake chain");
    }
    return 0;
}
