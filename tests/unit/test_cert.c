/* SPDX-License-Identifier: Apache-2.0 */
/* PP_STEP_VERIFY and PP_STEP_ISSUER: the module's own verification, fingerprints, the cache. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static pp_ca_t *chain(void)
{
    char err[512];
    pp_ca_t *ca = pp_ca_load(pki("polycom-chain.pem"), err, sizeof(err));

    ck_assert_msg(ca != NULL, "%s", err);
    return ca;
}

static pp_reason_t examine(const pp_ca_t *ca, const pp_crl_t *crl,
                           const char *name, time_t now, pp_cert_facts_t *f)
{
    size_t len;
    char *pem = slurp(pki(name), &len);
    pp_reason_t r = pp_cert_examine_pem(ca, crl, pem, len, now, f);

    free(pem);
    return r;
}

static void sha256_of(const char *name, unsigned char out[32])
{
    FILE *f = fopen(pki(name), "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    unsigned int n;

    ck_assert_ptr_nonnull(x);
    X509_digest(x, EVP_sha256(), out, &n);
    X509_free(x);
    fclose(f);
}

START_TEST(ca_bundle)
{
    char err[512];
    pp_ca_t *ca = chain();

    ck_assert_int_eq(pp_ca_count(ca), 4);
    pp_ca_free(ca);
    /* an expired CA is accepted, with a warning */
    capture_logs();
    ca = pp_ca_load(pki("with-expired-root.pem"), err, sizeof(err));
    ck_assert_msg(ca != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(captured(), "certificate #5 (/CN=Old Root "
                                 "CA) has expired"));
    pp_ca_free(ca);
    ck_assert_ptr_null(pp_ca_load("/nonexistent/ca.pem", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot read"));
    ck_assert_ptr_null(pp_ca_load(write_tmp("empty.pem", "nothing here\n"),
                                  err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no PEM certificate"));
    ck_assert_ptr_null(pp_ca_load(pki("phone-a.crt"), err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "is not a CA"));
    ck_assert_ptr_null(pp_ca_load(pki("issuing1.crt"), err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no self-signed root"));
    ck_assert_ptr_null(pp_ca_load(write_tmp("bad.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
        err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "unreadable PEM"));
}
END_TEST

/* A DER copy of a PEM certificate of the test PKI, in a temporary
 * directory; with extra bytes appended if trailing. */
static const char *der_copy(const char *name, int trailing)
{
    static char path[4][512];
    static int slot;
    FILE *in = fopen(pki(name), "r"), *out;
    X509 *x;

    ck_assert_ptr_nonnull(in);
    x = PEM_read_X509(in, NULL, NULL, NULL);
    fclose(in);
    ck_assert_ptr_nonnull(x);
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof(path[slot]), "%s/%s.der", tmpdir(), name);
    out = fopen(path[slot], "wb");
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(i2d_X509_fp(out, x), 1);
    if (trailing) {
        fputs("junk", out);
    }
    fclose(out);
    X509_free(x);
    return path[slot];
}

START_TEST(ca_der_and_several_files)
{
    char err[512];
    const char *files[4];
    pp_ca_t *ca;
    pp_cert_facts_t f;

    /* one DER certificate per file, the root in any of them */
    files[0] = der_copy("issuing1.crt", 0);
    files[1] = der_copy("policy.crt", 0);
    files[2] = der_copy("root.crt", 0);
    ca = pp_ca_load_files(files, 3, err, sizeof(err));
    ck_assert_msg(ca != NULL, "%s", err);
    ck_assert_int_eq(pp_ca_count(ca), 3);
    ck_assert_ptr_nonnull(strstr(pp_ca_path(ca), "issuing1.crt.der, "));
    ck_assert_int_eq(examine(ca, NULL, "phone-a.chain.pem", time(NULL), &f),
                     PP_R_OK);
    /* issuing CA 2 is not in it */
    ck_assert_int_eq(examine(ca, NULL, "phone-c.chain.pem", time(NULL), &f),
                     PP_R_UNTRUSTED);
    pp_ca_free(ca);
    /* PEM and DER mixed */
    files[0] = pki("polycom-chain.pem");
    files[1] = der_copy("root.crt", 0);
    ca = pp_ca_load_files(files, 2, err, sizeof(err));
    ck_assert_msg(ca != NULL, "%s", err);
    pp_ca_free(ca);
    /* a DER intermediate alone still needs its root */
    files[0] = der_copy("issuing1.crt", 0);
    ck_assert_ptr_null(pp_ca_load_files(files, 1, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no self-signed root"));
    /* a DER device certificate is no CA */
    ck_assert_ptr_null(pp_ca_load(der_copy("phone-a.crt", 0), err,
                                  sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "is not a CA"));
    /* one certificate per DER file, and the message says how to convert */
    ck_assert_ptr_null(pp_ca_load(der_copy("root.crt", 1), err,
                                  sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "openssl x509 -inform DER"));
    /* neither PEM nor DER */
    ck_assert_ptr_null(pp_ca_load(write_tmp("x.der", "\x30\x03junk"), err,
                                  sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no PEM certificate and is not a DER"));
}
END_TEST

START_TEST(ca_verify_depth)
{
    char err[512];
    pp_ca_t *ca = chain();

    /* device <- Issuing CA <- Policy CA <- Root CA: mod_ssl needs 3 */
    ck_assert_int_eq(pp_ca_verify_depth(ca), 3);
    pp_ca_free(ca);
    ca = pp_ca_load(pki("polycom-root-only.pem"), err, sizeof(err));
    ck_assert_msg(ca != NULL, "%s", err);
    ck_assert_int_eq(pp_ca_verify_depth(ca), 1);
    pp_ca_free(ca);
    /* an unrelated expired root adds nothing */
    ca = pp_ca_load(pki("with-expired-root.pem"), err, sizeof(err));
    ck_assert_msg(ca != NULL, "%s", err);
    ck_assert_int_eq(pp_ca_verify_depth(ca), 3);
    pp_ca_free(ca);
}
END_TEST

START_TEST(crl_files)
{
    char err[512];
    pp_crl_t *c = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));

    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(pp_crl_count(c), 4);
    pp_crl_free(c);
    c = pp_crl_load(pki("crl-issuing1.der"), err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(pp_crl_count(c), 1);
    pp_crl_free(c);
    ck_assert_ptr_null(pp_crl_load(pki("phone-a.crt"), err, sizeof(err)));
    ck_assert_ptr_null(pp_crl_load(write_tmp("x.crl", "garbage"), err,
                                   sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "contains no CRL"));
    ck_assert_ptr_null(pp_crl_load("/nonexistent.crl", err, sizeof(err)));
}
END_TEST

START_TEST(fingerprints)
{
    unsigned char a[32], b[32];
    char err[256], out[96];
    const char *colons = "sha256:5A:9A:1F:57:09:02:08:B9:AC:DA:4F:23:95:10:15:"
        "39:77:AE:A2:10:89:79:15:01:4D:43:1E:FF:06:60:1E:BE";
    const char *plain = "SHA256:5a9a1f57090208b9acda4f239510153977aea210897915"
        "014d431eff06601ebe";

    ck_assert(pp_fingerprint_parse(colons, a, err, sizeof(err)));
    ck_assert(pp_fingerprint_parse(plain, b, err, sizeof(err)));
    ck_assert(!memcmp(a, b, 32));
    pp_fingerprint_format(a, out);
    ck_assert_str_eq(out, colons + 7);
    ck_assert(!pp_fingerprint_parse(colons + 7, a, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "expected sha256:"));
    ck_assert(!pp_fingerprint_parse("sha256:5a9a", a, err, sizeof(err)));
    ck_assert(!pp_fingerprint_parse("sha1:5a9a1f57090208b9acda4f239510153977"
                                    "aea210", a, err, sizeof(err)));
    ck_assert(!pp_fingerprint_parse("sha256:5g9a1f57090208b9acda4f2395101539"
                                    "77aea210897915014d431eff06601ebe", a,
                                    err, sizeof(err)));
    /* colons in the wrong places */
    ck_assert(!pp_fingerprint_parse("sha256:5A9:A1F:57:09:02:08:B9:AC:DA:4F:"
        "23:95:10:15:39:77:AE:A2:10:89:79:15:01:4D:43:1E:FF:06:60:1E:BE",
        a, err, sizeof(err)));
}
END_TEST

START_TEST(genuine_devices)
{
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    unsigned char ic1[32], ic2[32], root[32];
    time_t now = time(NULL);

    sha256_of("issuing1.crt", ic1);
    sha256_of("issuing2.crt", ic2);
    sha256_of("root.crt", root);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    {
        unsigned char leaf[32];
        sha256_of("phone-a.crt", leaf);     /* the usual fingerprint */
        ck_assert(!memcmp(f.leaf_sha256, leaf, 32));
    }
    ck_assert_int_eq(f.cn_count, 1);
    ck_assert(f.cn_usable);
    ck_assert_str_eq(f.cn, "0004F2000A01");
    ck_assert(!memcmp(f.issuer_sha256, ic1, 32));
    ck_assert(f.valid_until > now && f.valid_until <= now + 3600);
    ck_assert_int_eq(examine(ca, NULL, "phone-c.crt", now, &f), PP_R_OK);
    ck_assert(!memcmp(f.issuer_sha256, ic2, 32));
    /* the chain the phone presents (with intermediates) verifies the same:
     * only the first certificate of the PEM is the client's */
    ck_assert_int_eq(examine(ca, NULL, "phone-b.chain.pem", now, &f),
                     PP_R_OK);
    ck_assert_str_eq(f.cn, "0004F2000B02");
    ck_assert_int_eq(examine(ca, NULL, "phone-d-root.crt", now, &f), PP_R_OK);
    ck_assert(!memcmp(f.issuer_sha256, root, 32));
    pp_ca_free(ca);
}
END_TEST

START_TEST(lookalikes)
{
    static const char *const untrusted[] = {
        "forged-a.crt", "corp-a.crt", "selfsigned-a.crt",
        "notyet-a.crt", "ca-as-device.crt", "server-eku-a.crt",
        "issuing1.crt", "root.crt", "corp-expired.crt", "forged-expired.crt",
    };
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    size_t i;

    for (i = 0; i < sizeof(untrusted) / sizeof(untrusted[0]); i++) {
        ck_assert_msg(examine(ca, NULL, untrusted[i], time(NULL), &f)
                      == PP_R_UNTRUSTED, "%s: %s", untrusted[i], f.detail);
    }
    /* verified, but the CN is unusable: decided by the pattern step */
    ck_assert_int_eq(examine(ca, NULL, "two-cn.crt", time(NULL), &f), PP_R_OK);
    ck_assert_int_eq(f.cn_count, 2);
    ck_assert(!f.cn_usable);
    ck_assert_int_eq(examine(ca, NULL, "no-cn.crt", time(NULL), &f), PP_R_OK);
    ck_assert_int_eq(f.cn_count, 0);
    ck_assert(!f.cn_usable);
    /* only the root in the bundle: intermediates come from the bundle,
     * never from the client, so nothing below the root verifies */
    {
        char err[512];
        pp_ca_t *rootonly = pp_ca_load(pki("polycom-root-only.pem"), err,
                                       sizeof(err));
        ck_assert_ptr_nonnull(rootonly);
        ck_assert_int_eq(examine(rootonly, NULL, "phone-a.chain.pem",
                                 time(NULL), &f), PP_R_UNTRUSTED);
        pp_ca_free(rootonly);
    }
    pp_ca_free(ca);
}
END_TEST

/* A certificate past its notAfter: verified, the expiry recorded
 * (PP_STEP_VERIFY of the decision judges it); nothing else is tolerated. */
START_TEST(expired_devices)
{
    char err[512];
    pp_ca_t *ca = chain(), *oldca;
    pp_crl_t *crl = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));
    pp_cert_facts_t f;
    unsigned char ic1[32];
    time_t now = time(NULL);

    ck_assert_ptr_nonnull(crl);
    sha256_of("issuing1.crt", ic1);
    pp_cert_cache_clear();
    /* a day ago, ten years ago: the chain, the CN and the issuer as for
     * any phone, the notAfter kept */
    ck_assert_int_eq(examine(ca, NULL, "expired-day.chain.pem", now, &f),
                     PP_R_OK);
    ck_assert(f.leaf_expired);
    ck_assert(f.not_after < now && f.not_after > now - 3 * 86400);
    ck_assert_str_eq(f.cn, "0004F2000F06");
    ck_assert(f.cn_usable);
    ck_assert(!memcmp(f.issuer_sha256, ic1, 32));
    ck_assert_ptr_nonnull(strstr(f.detail, "expired at "));
    /* the verdict holds until a CA expires (or the hour), not until the
     * leaf's notAfter, which has passed */
    ck_assert(f.valid_until > now && f.valid_until <= now + 3600);
    ck_assert_int_eq(examine(ca, NULL, "expired-day.crt", now + 1, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_PROCESS_CACHE);
    ck_assert(f.leaf_expired);
    ck_assert_int_eq(examine(ca, NULL, "expired-decade.crt", now, &f),
                     PP_R_OK);
    ck_assert(f.leaf_expired);
    ck_assert(f.not_after < now - 9L * 365 * 86400);
    /* a certificate in force is not expired, and says until when */
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert(!f.leaf_expired);
    ck_assert(f.not_after > now);
    ck_assert_str_eq(f.detail, "verified");
    /* ... until it is past its notAfter while its CAs are still valid */
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now + 5500L * 86400,
                             &f), PP_R_OK);
    ck_assert(f.leaf_expired);
    /* not yet valid is no expiry */
    ck_assert_int_eq(examine(ca, NULL, "notyet-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "not yet valid"));
    /* an expired CA in the chain is refused, leaf expired or not */
    oldca = pp_ca_load(pki("polycom-chain-oldca.pem"), err, sizeof(err));
    ck_assert_msg(oldca != NULL, "%s", err);
    ck_assert_int_eq(examine(oldca, NULL, "expired-oldca.chain.pem", now,
                             &f), PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "at depth 1"));
    ck_assert_ptr_nonnull(strstr(f.detail, "expired"));
    /* revoked and expired: revoked */
    ck_assert_int_eq(examine(ca, NULL, "expired-revoked.crt", now, &f),
                     PP_R_OK);
    ck_assert(f.leaf_expired);
    ck_assert_int_eq(examine(ca, crl, "expired-revoked.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "revoked"));
    ck_assert_int_eq(examine(ca, crl, "expired-day.crt", now, &f), PP_R_OK);
    ck_assert(f.leaf_expired);
    /* expired, from a CA outside the bundle */
    ck_assert_int_eq(examine(ca, NULL, "corp-expired.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert(!f.leaf_expired);
    pp_crl_free(crl);
    pp_ca_free(oldca);
    pp_ca_free(ca);
}
END_TEST

START_TEST(ca_holds)
{
    pp_ca_t *ca = chain();
    unsigned char fp[32];

    sha256_of("root.crt", fp);
    ck_assert_int_eq(pp_ca_holds(ca, fp), 1);
    sha256_of("issuing2.crt", fp);
    ck_assert_int_eq(pp_ca_holds(ca, fp), 1);
    /* the forged root has the same name, not the same certificate */
    sha256_of("forged-root.crt", fp);
    ck_assert_int_eq(pp_ca_holds(ca, fp), 0);
    sha256_of("corp-ca.crt", fp);
    ck_assert_int_eq(pp_ca_holds(ca, fp), 0);
    sha256_of("phone-a.crt", fp);
    ck_assert_int_eq(pp_ca_holds(ca, fp), 0);
    ck_assert_int_eq(pp_ca_holds(NULL, fp), 0);
    pp_ca_free(ca);
}
END_TEST

START_TEST(revocation)
{
    char err[512];
    pp_ca_t *ca = chain();
    pp_crl_t *crl = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));
    pp_crl_t *stale = pp_crl_load(pki("crl-expired.pem"), err, sizeof(err));
    pp_crl_t *partial = pp_crl_load(pki("crl-issuing1.der"), err,
                                    sizeof(err));
    pp_cert_facts_t f;
    time_t now = time(NULL);

    ck_assert_ptr_nonnull(crl);
    ck_assert_ptr_nonnull(stale);
    ck_assert_ptr_nonnull(partial);
    ck_assert_int_eq(examine(ca, NULL, "phone-revoked.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(examine(ca, crl, "phone-revoked.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "revoked"));
    ck_assert_int_eq(examine(ca, crl, "phone-a.crt", now, &f), PP_R_OK);
    /* an expired CRL refuses every certificate it covers */
    ck_assert_int_eq(examine(ca, stale, "phone-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "expired"));
    ck_assert_int_eq(examine(ca, stale, "phone-c.crt", now, &f), PP_R_OK);
    /* the whole chain is checked: a CRL for the issuing CA alone is not
     * enough */
    ck_assert_int_eq(examine(ca, partial, "phone-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    pp_crl_free(crl);
    pp_crl_free(stale);
    pp_crl_free(partial);
    pp_ca_free(ca);
}
END_TEST

START_TEST(crl_sets_and_coverage)
{
    char err[512], subj[256];
    pp_ca_t *ca = chain();
    pp_crl_t *all = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));
    pp_crl_t *ic1 = pp_crl_load(pki("crl-issuing1.der"), err, sizeof(err));
    pp_crl_t *both, *again;
    pp_cert_facts_t f;
    time_t now = time(NULL), nu;
    int i, covered = 0;

    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(ic1);
    /* the bundle is root, policy, issuing 1, issuing 2: one CRL each */
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pp_crl_covers(ca, i, all, subj, sizeof(subj)), 1);
    }
    ck_assert_int_eq(pp_crl_covers(ca, 4, all, subj, sizeof(subj)), -1);
    /* issuing CA 1's CRL alone covers issuing CA 1 only */
    for (i = 0; i < 4; i++) {
        int rc = pp_crl_covers(ca, i, ic1, subj, sizeof(subj));
        ck_assert_int_eq(rc, !strcmp(subj, "/CN=Polycom Equipment Issuing "
                                            "CA 1"));
        covered += rc;
    }
    ck_assert_int_eq(covered, 1);
    ck_assert_int_eq(pp_crl_covers(ca, 0, NULL, subj, sizeof(subj)), 0);
    /* sets add up: a new identity, both files named, every CRL used */
    both = pp_crl_union(ic1, all, err, sizeof(err));
    ck_assert_msg(both != NULL, "%s", err);
    ck_assert_int_eq(pp_crl_count(both), 5);
    ck_assert_ptr_nonnull(strstr(pp_crl_path(both), "crl-issuing1.der, "));
    ck_assert_ptr_nonnull(strstr(pp_crl_path(both), "crl-all.pem"));
    ck_assert_int_eq(examine(ca, ic1, "phone-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(examine(ca, both, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(examine(ca, both, "phone-revoked.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "revoked"));
    /* the union holds references: freeing the parts leaves it whole */
    again = pp_crl_union(both, ic1, err, sizeof(err));
    pp_crl_free(both);
    pp_crl_free(ic1);
    ck_assert_int_eq(pp_crl_count(again), 6);
    ck_assert_int_eq(pp_crl_info(again, 0, subj, sizeof(subj), &nu), 1);
    ck_assert_str_eq(subj, "/CN=Polycom Equipment Issuing CA 1");
    ck_assert(nu > now);
    ck_assert_int_eq(pp_crl_info(again, 6, subj, sizeof(subj), &nu), 0);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pp_crl_covers(ca, i, again, subj, sizeof(subj)), 1);
    }
    pp_crl_free(again);
    pp_crl_free(all);
    pp_ca_free(ca);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The DER of a certificate whose subject is one CN of len bytes of 'a'
 * (a UTF8String, with no upper bound applied), signed by a throwaway EC
 * key: what pp_cert_subject_cn reads. */
static unsigned char *cert_with_cn(size_t len, int *derlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char cn[512], *der = NULL;

    ck_assert_uint_lt(len, sizeof(cn));
    memset(cn, 'a', len);
    ck_assert_ptr_nonnull(key);
    ck_assert(X509_NAME_add_entry_by_NID(name, NID_commonName,
                                         V_ASN1_UTF8STRING, cn, (int)len,
                                         -1, 0));
    ck_assert(X509_set_subject_name(x, name));
    ck_assert(X509_set_issuer_name(x, name));
    ck_assert(X509_set_pubkey(x, key));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    ck_assert(X509_sign(x, key, EVP_sha256()));
    *derlen = i2d_X509(x, &der);
    ck_assert_int_gt(*derlen, 0);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return der;
}

/* The CN facts: one CN of at most PP_CN_MAX bytes, with no NUL. */
START_TEST(cn_facts_usable)
{
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    unsigned char *der;
    int len;

    /* a NUL in the CN: verified, but the CN is not usable */
    pp_cert_cache_clear();
    ck_assert_int_eq(examine(ca, NULL, "cn-nul.crt", time(NULL), &f),
                     PP_R_OK);
    ck_assert_int_eq(f.cn_count, 1);
    ck_assert_int_eq(f.cn_usable, 0);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", time(NULL), &f),
                     PP_R_OK);
    ck_assert_int_eq(f.cn_usable, 1);
    pp_ca_free(ca);
    /* PP_CN_MAX bytes fit; one more does not (kept cut, not usable) */
    der = cert_with_cn(PP_CN_MAX, &len);
    ck_assert(pp_cert_subject_cn(der, (size_t)len, &f));
    ck_assert_int_eq(f.cn_count, 1);
    ck_assert_int_eq(f.cn_usable, 1);
    ck_assert_uint_eq(f.cn_len, PP_CN_MAX);
    OPENSSL_free(der);
    der = cert_with_cn(PP_CN_MAX + 1, &len);
    ck_assert(pp_cert_subject_cn(der, (size_t)len, &f));
    ck_assert_int_eq(f.cn_count, 1);
    ck_assert_int_eq(f.cn_usable, 0);
    ck_assert_uint_eq(f.cn_len, PP_CN_MAX);
    OPENSSL_free(der);
}
END_TEST

/* With a CRL, a verdict holds no longer than the CRL's nextUpdate. */
START_TEST(verdict_until_crl_next_update)
{
    char err[512], issuer[256];
    pp_ca_t *ca = chain();
    pp_crl_t *crl = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));
    pp_cert_facts_t f;
    time_t nu, first = 0;
    int i;

    ck_assert_msg(crl != NULL, "%s", err);
    for (i = 0; pp_crl_info(crl, i, issuer, sizeof(issuer), &nu); i++) {
        if (nu && (!first || nu < first)) {
            first = nu;
        }
    }
    ck_assert(first > time(NULL));
    pp_cert_cache_clear();
    /* ten minutes before it: without the CRL the verdict would hold for
     * the usual hour */
    ck_assert_int_eq(examine(ca, crl, "phone-a.crt", first - 600, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.valid_until, first);
    pp_cert_cache_clear();
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", first - 600, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.valid_until, first - 600 + 3600);
    pp_crl_free(crl);
    pp_ca_free(ca);
}
END_TEST

/* The handshake's chain (pp_cert_examine_x509): what OpenSSL verified in
 * a handshake is simulated by a verification with the store mod_ssl
 * would have (SSLCACertificateFile: `trusted`), the client's chain file
 * as the untrusted certificates it sent, at time `at`. */

static STACK_OF(X509) *read_certs(const char *name)
{
    FILE *f = fopen(pki(name), "r");
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;

    ck_assert_msg(f != NULL, "cannot open %s", name);
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(sk, x);
    }
    ERR_clear_error();
    fclose(f);
    ck_assert_int_gt(sk_X509_num(sk), 0);
    return sk;
}

typedef struct {
    X509 *leaf;
    STACK_OF(X509) *chain;     /* verified, or NULL */
    long result;
} handshake_t;

static void handshake(handshake_t *h, const char *trusted,
                      const char *client, time_t at, unsigned long flags)
{
    STACK_OF(X509) *sent = read_certs(client);
    STACK_OF(X509) *anchors = read_certs(trusted);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int i;

    for (i = 0; i < sk_X509_num(anchors); i++) {
        X509_STORE_add_cert(store, sk_X509_value(anchors, i));
    }
    h->leaf = sk_X509_shift(sent);
    ck_assert(X509_STORE_CTX_init(ctx, store, h->leaf, sent));
    X509_STORE_CTX_set_default(ctx, "ssl_client");
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), flags);
    X509_verify_cert(ctx);
    h->result = X509_STORE_CTX_get_error(ctx);
    h->chain = X509_STORE_CTX_get1_chain(ctx);
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(anchors, X509_free);
    sk_X509_pop_free(sent, X509_free);
}

static void handshake_free(handshake_t *h)
{
    X509_free(h->leaf);
    sk_X509_pop_free(h->chain, X509_free);
}

static pp_reason_t from_handshake(const pp_ca_t *ca, const pp_crl_t *crl,
                                  const char *trusted, const char *client,
                                  time_t at, time_t now, unsigned long flags,
                                  pp_cert_facts_t *f)
{
    handshake_t h;
    pp_reason_t r;

    handshake(&h, trusted, client, at, flags);
    r = pp_cert_examine_x509(ca, crl, h.leaf, h.chain, h.result, now, f);
    handshake_free(&h);
    return r;
}

/* The handshake's chain gives exactly the facts of a full verification. */
START_TEST(handshake_chain_same_facts)
{
    static const char *const phones[] = {
        "phone-a.chain.pem", "phone-b.chain.pem", "phone-c.chain.pem",
        "phone-d-root.chain.pem",
        "cn-utf8.chain.pem", "two-cn.chain.pem", "no-cn.chain.pem",
    };
    pp_ca_t *ca = chain();
    pp_cert_facts_t full, fast;
    time_t now = time(NULL);
    size_t i;

    for (i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
        pp_cert_cache_clear();
        ck_assert_int_eq(examine(ca, NULL, phones[i], now, &full), PP_R_OK);
        pp_cert_cache_clear();
        ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                        phones[i], now - 60, now, 0, &fast),
                         PP_R_OK);
        ck_assert_msg(fast.source == PP_CERT_HANDSHAKE, "%s", phones[i]);
        ck_assert(!memcmp(full.leaf_sha256, fast.leaf_sha256, 32));
        ck_assert(!memcmp(full.issuer_sha256, fast.issuer_sha256, 32));
        ck_assert_int_eq(full.cn_count, fast.cn_count);
        ck_assert_int_eq(full.cn_usable, fast.cn_usable);
        ck_assert_str_eq(full.cn, fast.cn);
        ck_assert_int_eq(full.leaf_expired, fast.leaf_expired);
        ck_assert_int_eq(full.not_after, fast.not_after);
        ck_assert_int_eq(full.valid_until, fast.valid_until);
    }
    /* and from then on the process's cache, as after a full one */
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "no-cn.chain.pem", now, now + 1, 0,
                                    &fast), PP_R_OK);
    ck_assert_int_eq(fast.source, PP_CERT_PROCESS_CACHE);
    pp_ca_free(ca);
}
END_TEST

/* Whatever the handshake trusted or tolerated that the module does not,
 * the certificate is verified in full, with the module's own verdict. */
START_TEST(handshake_chain_not_taken)
{
    char err[512];
    pp_ca_t *ca = chain();
    pp_ca_t *rootonly = pp_ca_load(pki("polycom-root-only.pem"), err,
                                   sizeof(err));
    pp_crl_t *crl = pp_crl_load(pki("crl-all.pem"), err, sizeof(err));
    pp_cert_counters_t c;
    pp_cert_facts_t f;
    handshake_t h;
    time_t now = time(NULL);

    ck_assert_ptr_nonnull(rootonly);
    ck_assert_ptr_nonnull(crl);
    memset(&c, 0, sizeof(c));
    pp_cert_set_counters(&c);

    /* mod_ssl trusts forged CAs of the same names: a chain to them */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "forged-chain.pem",
                                    "forged-a.chain.pem", now, now, 0, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* ... or only the forged issuing CA, partial chains allowed */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "forged-issuing1.crt",
                                    "forged-a.chain.pem", now, now,
                                    X509_V_FLAG_PARTIAL_CHAIN, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* another CA mod_ssl trusts for the host */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "corp-ca.chain.pem",
                                    "corp-a.chain.pem", now, now, 0, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* PolyProvTrustedCA holds the root only: the intermediates are not its */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(rootonly, NULL, "polycom-chain.pem",
                                    "phone-a.chain.pem", now, now, 0, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* a CRL applies: the module's own CRL check, every time */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, crl, "polycom-chain.pem",
                                    "phone-revoked.chain.pem", now, now, 0,
                                    &f), PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "revoked"));
    ck_assert_int_eq(from_handshake(ca, crl, "polycom-chain.pem",
                                    "phone-a.chain.pem", now, now, 0, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* the handshake's result was not X509_V_OK (optional_no_ca) */
    pp_cert_cache_clear();
    handshake(&h, "corp-ca.chain.pem", "phone-a.chain.pem", now, 0);
    ck_assert_int_ne(h.result, X509_V_OK);
    ck_assert_int_eq(pp_cert_examine_x509(ca, NULL, h.leaf, h.chain,
                                          h.result, now, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    handshake_free(&h);
    /* a good chain, but a result that says otherwise */
    pp_cert_cache_clear();
    handshake(&h, "polycom-chain.pem", "phone-a.chain.pem", now, 0);
    ck_assert_int_eq(h.result, X509_V_OK);
    ck_assert_int_eq(pp_cert_examine_x509(ca, NULL, h.leaf, h.chain,
                                          X509_V_ERR_CERT_REVOKED, now, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* the chain of another certificate than the client's */
    pp_cert_cache_clear();
    {
        handshake_t b;
        handshake(&b, "polycom-chain.pem", "forged-a.chain.pem", now,
                  X509_V_FLAG_PARTIAL_CHAIN);
        ck_assert_int_eq(pp_cert_examine_x509(ca, NULL, b.leaf, h.chain,
                                              X509_V_OK, now, &f),
                         PP_R_UNTRUSTED);
        ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
        handshake_free(&b);
    }
    /* no chain (a resumed session): verified in full */
    pp_cert_cache_clear();
    ck_assert_int_eq(pp_cert_examine_x509(ca, NULL, h.leaf, NULL, X509_V_OK,
                                          now, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    handshake_free(&h);
    /* a chain that ends at an intermediate (a partial chain mod_ssl might
     * accept): the module wants its root */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "issuing1.crt",
                                    "phone-a.chain.pem", now, now,
                                    X509_V_FLAG_PARTIAL_CHAIN, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* verified in the handshake long ago, judged now: a CA has expired
     * since (the module's own error), or the leaf is not yet valid */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "phone-a.chain.pem", now,
                                    now + 40L * 365 * 86400, 0, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "notyet-a.chain.pem",
                                    now + 30L * 86400, now, 0, &f),
                     PP_R_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(f.detail, "not yet valid"));
    /* a CA certificate as the client's */
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "ca-as-device.chain.pem", now, now, 0,
                                    &f), PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* a leaf that may not act as a TLS client (serverAuth only), with a
     * result that says the handshake met no error */
    pp_cert_cache_clear();
    handshake(&h, "polycom-chain.pem", "server-eku-a.chain.pem", now, 0);
    ck_assert_int_eq(sk_X509_num(h.chain), 4);
    ck_assert_int_eq(pp_cert_examine_x509(ca, NULL, h.leaf, h.chain,
                                          X509_V_OK, now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    handshake_free(&h);
    /* not one of these took the handshake's chain */
    ck_assert_uint_eq(c.handshake_chains, 0);
    /* and a genuine one does, counted as a verification */
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "phone-b.chain.pem", now, now, 0, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_HANDSHAKE);
    ck_assert_uint_eq(c.handshake_chains, 1);
    pp_cert_set_counters(NULL);
    pp_crl_free(crl);
    pp_ca_free(rootonly);
    pp_ca_free(ca);
}
END_TEST

/* Its own expired leaf: tolerated at depth 0 as in a full verification
 * (the handshake tolerated it under PolyProvAllowExpired, or was earlier). */
START_TEST(handshake_chain_expired_leaf)
{
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    time_t now = time(NULL);

    pp_cert_facts_t full;

    pp_cert_cache_clear();
    ck_assert_int_eq(examine(ca, NULL, "expired-day.chain.pem", now, &full),
                     PP_R_OK);
    pp_cert_cache_clear();
    ck_assert_int_eq(from_handshake(ca, NULL, "polycom-chain.pem",
                                    "expired-day.chain.pem", now - 5 * 86400,
                                    now, 0, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_HANDSHAKE);
    ck_assert_int_eq(f.valid_until, full.valid_until);
    ck_assert(!memcmp(f.issuer_sha256, full.issuer_sha256, 32));
    ck_assert_str_eq(f.cn, full.cn);
    ck_assert(f.leaf_expired);
    ck_assert(f.not_after < now);
    ck_assert_ptr_nonnull(strstr(f.detail, "expired at "));
    ck_assert(f.valid_until > now && f.valid_until <= now + 3600);
    pp_ca_free(ca);
}
END_TEST

START_TEST(cache)
{
    pp_ca_t *ca = chain(), *ca2;
    pp_cert_facts_t f;
    pp_cache_stats_t st;
    time_t now = time(NULL);
    char err[512];

    pp_cert_cache_clear();
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now + 1, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_PROCESS_CACHE);
    ck_assert_str_eq(f.cn, "0004F2000A01");
    /* a negative verdict is kept too, briefly */
    ck_assert_int_eq(examine(ca, NULL, "forged-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(examine(ca, NULL, "forged-a.crt", now + 1, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_PROCESS_CACHE);
    ck_assert_int_eq(examine(ca, NULL, "forged-a.crt", now + 120, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* another CA bundle (a reload) never sees the first one's verdicts */
    ca2 = pp_ca_load(pki("polycom-chain.pem"), err, sizeof(err));
    ck_assert_int_eq(examine(ca2, NULL, "phone-a.crt", now + 2, &f), PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    /* a verdict ends with the hour, or with the certificate */
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now + 4000, &f),
                     PP_R_OK);
    ck_assert_int_eq(f.source, PP_CERT_VERIFIED);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt",
                             now + 40L * 365 * 86400, &f), PP_R_UNTRUSTED);
    pp_cert_cache_stats(&st);
    ck_assert_uint_ge(st.hits, 2);
    ck_assert_uint_ge(st.misses, 5);
    pp_ca_free(ca2);
    pp_ca_free(ca);
}
END_TEST

/* The counters every process adds to (the glue points them at shared
 * memory): hits, misses and verifications by verdict, and nothing when
 * no block is set. */
START_TEST(shared_counters)
{
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    pp_cert_counters_t c;
    time_t now = time(NULL);

    memset(&c, 0, sizeof(c));
    pp_cert_cache_clear();
    pp_cert_set_counters(&c);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", now, &f), PP_R_OK);
    ck_assert_int_eq(examine(ca, NULL, "forged-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(examine(ca, NULL, "forged-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_uint_eq(c.cache_misses, 2);
    ck_assert_uint_eq(c.cache_hits, 3);
    ck_assert_uint_eq(c.verified_ok, 1);
    ck_assert_uint_eq(c.verified_untrusted, 1);
    ck_assert_uint_eq(c.verified_internal, 0);
    /* no CA: refused before the cache is asked, nothing verified */
    ck_assert_int_eq(examine(NULL, NULL, "phone-a.crt", now, &f),
                     PP_R_UNTRUSTED);
    ck_assert_uint_eq(c.cache_misses + c.cache_hits, 5);
    pp_cert_set_counters(NULL);
    ck_assert_int_eq(examine(ca, NULL, "phone-b.crt", now, &f), PP_R_OK);
    ck_assert_uint_eq(c.verified_ok, 1);
    pp_ca_free(ca);
}
END_TEST

/* A distinct self-signed certificate per serial (all untrusted). */
static char *synthetic_pem(EVP_PKEY *key, long serial, size_t *len)
{
    X509 *x = X509_new();
    BIO *b = BIO_new(BIO_s_mem());
    char cn[32], *data, *out;
    long n;

    snprintf(cn, sizeof(cn), "synthetic %ld", serial);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
    PEM_write_bio_X509(b, x);
    n = BIO_get_mem_data(b, &data);
    out = malloc((size_t)n);
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
    BIO_free(b);
    X509_free(x);
    return out;
}

START_TEST(cache_bounded)
{
    pp_ca_t *ca = chain();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    pp_cert_facts_t f;
    pp_cache_stats_t st;
    long i;

    ck_assert_ptr_nonnull(key);
    pp_cert_cache_clear();
    for (i = 1; i <= 1500; i++) {
        size_t len;
        char *pem = synthetic_pem(key, i, &len);
        ck_assert_int_eq(pp_cert_examine_pem(ca, NULL, pem, len, time(NULL),
                                             &f), PP_R_UNTRUSTED);
        free(pem);
    }
    pp_cert_cache_stats(&st);
    ck_assert_uint_eq(st.inserts, 1500);
    /* 256 sets of 4: at most 1024 live entries, the rest evicted */
    ck_assert_uint_ge(st.evictions, 1500 - 1024);
    EVP_PKEY_free(key);
    pp_ca_free(ca);
}
END_TEST

START_TEST(bad_input)
{
    pp_ca_t *ca = chain();
    pp_cert_facts_t f;
    const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n"
                       "-----END CERTIFICATE-----\n";

    ck_assert_int_eq(pp_cert_examine_pem(ca, NULL, junk, strlen(junk),
                                         time(NULL), &f), PP_R_UNTRUSTED);
    ck_assert_int_eq(pp_cert_examine_pem(ca, NULL, "", 0, time(NULL), &f),
                     PP_R_UNTRUSTED);
    ck_assert_int_eq(pp_cert_examine_pem(NULL, NULL, junk, strlen(junk),
                                         time(NULL), &f), PP_R_UNTRUSTED);
    {
        static const char *const bad[] = {
            "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n",
            "-----BEGIN CERTIFICATE-----\nMA==MIIB\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n",
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
            "-----BEGIN CERTIFICATE-----\nMA===\n-----END CERTIFICATE-----\n",
        };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ck_assert_msg(pp_cert_examine_pem(ca, NULL, bad[i], strlen(bad[i]),
                                              time(NULL), &f)
                          == PP_R_UNTRUSTED, "case %zu", i);
        }
    }
    /* bytes appended after the certificate's DER are not ignored: the
     * genuine certificate, its DER followed by three more bytes, in one
     * PEM block (so the base64 stays valid) */
    {
        FILE *in = fopen(pki("phone-a.crt"), "r");
        X509 *x = PEM_read_X509(in, NULL, NULL, NULL);
        unsigned char *der = NULL, *buf;
        int derlen, b64len;
        char *pem;

        fclose(in);
        ck_assert_ptr_nonnull(x);
        derlen = i2d_X509(x, &der);
        ck_assert_int_gt(derlen, 0);
        buf = malloc((size_t)derlen + 3);
        memcpy(buf, der, (size_t)derlen);
        memcpy(buf + derlen, "\x05\x00\x00", 3);
        pem = malloc(((size_t)derlen + 3) * 2 + 128);
        strcpy(pem, "-----BEGIN CERTIFICATE-----\n");
        b64len = EVP_EncodeBlock((unsigned char *)pem + strlen(pem), buf,
                                 derlen + 3);
        ck_assert_int_gt(b64len, 0);
        strcat(pem, "\n-----END CERTIFICATE-----\n");
        /* without the extra bytes it is phone A's good certificate */
        ck_assert_int_eq(examine(ca, NULL, "phone-a.crt", time(NULL), &f),
                         PP_R_OK);
        ck_assert_int_eq(pp_cert_examine_pem(ca, NULL, pem, strlen(pem),
                                             time(NULL), &f), PP_R_UNTRUSTED);
        ck_assert_msg(strstr(f.detail, "does not parse") != NULL, "%s",
                      f.detail);
        free(pem);
        free(buf);
        OPENSSL_free(der);
        X509_free(x);
    }
    pp_ca_free(ca);
}
END_TEST

START_TEST(alloc_failure)
{
    char err[512];
    unsigned long n;

    /* each of the first allocations fails in turn: the fault fires, and
     * the load fails cleanly with a message; past the last allocation
     * nothing fires and the load succeeds */
    for (n = 1; n <= 4; n++) {
        pp_ca_t *ca;
        pp_fault_alloc_after(n);
        ca = pp_ca_load(pki("polycom-chain.pem"), err, sizeof(err));
        ck_assert_msg(pp_fault_fired(PP_FAULT_ALLOC) == 1,
                      "allocation %lu: the fault did not fire", n);
        pp_fault_alloc_after(0);
        ck_assert_msg(ca == NULL, "allocation %lu failed, yet the CA loaded",
                      n);
        ck_assert_ptr_nonnull(strstr(err, "out of memory"));
    }
    for (n = 1; n < 1000; n++) {
        pp_ca_t *ca;
        pp_fault_alloc_after(n);
        ca = pp_ca_load(pki("polycom-chain.pem"), err, sizeof(err));
        if (!pp_fault_fired(PP_FAULT_ALLOC)) {
            pp_fault_alloc_after(0);
            ck_assert_ptr_nonnull(ca);      /* no fault: loaded */
            pp_ca_free(ca);
            break;
        }
        pp_fault_alloc_after(0);
        ck_assert_ptr_null(ca);
    }
    ck_assert_uint_lt(n, 1000);
}
END_TEST

Suite *suite_cert(void)
{
    Suite *s = suite_create("cert");
    TCase *tc = tcase_create("cert");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ca_bundle);
    tcase_add_test(tc, crl_files);
    tcase_add_test(tc, ca_der_and_several_files);
    tcase_add_test(tc, ca_verify_depth);
    tcase_add_test(tc, fingerprints);
    tcase_add_test(tc, genuine_devices);
    tcase_add_test(tc, lookalikes);
    tcase_add_test(tc, cn_facts_usable);
    tcase_add_test(tc, verdict_until_crl_next_update);
    tcase_add_test(tc, expired_devices);
    tcase_add_test(tc, ca_holds);
    tcase_add_test(tc, revocation);
    tcase_add_test(tc, crl_sets_and_coverage);
    tcase_add_test(tc, cache);
    tcase_add_test(tc, handshake_chain_same_facts);
    tcase_add_test(tc, handshake_chain_not_taken);
    tcase_add_test(tc, handshake_chain_expired_leaf);
    tcase_add_test(tc, cache_bounded);
    tcase_add_test(tc, shared_counters);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, alloc_failure);
    suite_add_tcase(s, tc);
    return s;
}
