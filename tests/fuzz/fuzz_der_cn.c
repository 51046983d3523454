/* SPDX-License-Identifier: Apache-2.0 */
/* Differential: the CN the module takes out of a certificate (OpenSSL's
 * d2i_X509, X509_NAME_get_index_by_NID, ASN1_STRING_to_UTF8, in
 * pp_cert_subject_cn) against an independent reading of the DER written
 * here: walk Certificate > TBSCertificate > subject, count the CN
 * attributes, decode the first one's string type to UTF-8.
 *
 * Input byte 0 picks the mode:
 *   even: the rest is a DER certificate (seeds: real test certificates);
 *   odd:  the rest describes a subject, records of (kind, length, bytes),
 *         built into an otherwise fixed certificate, so every input is a
 *         certificate whose subject is fuzzed (string types, NULs, several
 *         CNs, multi-valued RDNs). */
#include "fuzz.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} span_t;

/* One TLV with a one-byte tag and a definite length. */
static int tlv(span_t *in, int *tag, span_t *val)
{
    size_t len = 0, i, k;

    if (in->n < 2 || (in->p[0] & 0x1f) == 0x1f) {
        return 0;
    }
    *tag = in->p[0];
    if (in->p[1] < 0x80) {
        len = in->p[1];
        i = 2;
    }
    else {
        k = in->p[1] & 0x7f;
        if (k == 0 || k > 4 || in->n < 2 + k) {
            return 0;
        }
        for (i = 0; i < k; i++) {
            len = len << 8 | in->p[2 + i];
        }
        i = 2 + k;
    }
    if (len > in->n - i) {
        return 0;
    }
    val->p = in->p + i;
    val->n = len;
    in->p += i + len;
    in->n -= i + len;
    return 1;
}

static void put_utf8(uint32_t v, uint8_t *out, size_t *o)
{
    if (v < 0x80) {
        out[(*o)++] = (uint8_t)v;
    }
    else if (v < 0x800) {
        out[(*o)++] = (uint8_t)(0xc0 | v >> 6);
        out[(*o)++] = (uint8_t)(0x80 | (v & 0x3f));
    }
    else if (v < 0x10000) {
        out[(*o)++] = (uint8_t)(0xe0 | v >> 12);
        out[(*o)++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
        out[(*o)++] = (uint8_t)(0x80 | (v & 0x3f));
    }
    else {
        out[(*o)++] = (uint8_t)(0xf0 | v >> 18);
        out[(*o)++] = (uint8_t)(0x80 | ((v >> 12) & 0x3f));
        out[(*o)++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
        out[(*o)++] = (uint8_t)(0x80 | (v & 0x3f));
    }
}

/* Strict RFC 3629 UTF-8. */
static int valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t v;
        size_t k, need;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xe0) == 0xc0) {
            need = 1, v = s[i] & 0x1f;
        }
        else if ((s[i] & 0xf0) == 0xe0) {
            need = 2, v = s[i] & 0x0f;
        }
        else if ((s[i] & 0xf8) == 0xf0) {
            need = 3, v = s[i] & 0x07;
        }
        else {
            return 0;
        }
        for (k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            v = v << 6 | (s[i + k] & 0x3f);
        }
        if ((need == 1 && v < 0x80) || (need == 2 && v < 0x800)
            || (need == 3 && v < 0x10000) || v > 0x10ffff
            || (v >= 0xd800 && v < 0xe000)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

/* 1 decoded, 0 no UTF-8 form (invalid UTF-8, a surrogate, beyond
 * U+10FFFF, an odd length, a type that is not a string); *sure says
 * whether OpenSSL must succeed too. */
static int decode(int tag, span_t v, uint8_t *out, size_t *o, int *sure)
{
    size_t i;

    *o = 0;
    *sure = 0;
    switch (tag) {
    case 0x12: case 0x13: case 0x14: case 0x16:   /* 1 byte = 1 char */
    case 0x19: case 0x1a: case 0x1b:
        for (i = 0; i < v.n; i++) {
            put_utf8(v.p[i], out, o);
        }
        *sure = 1;
        return 1;
    case 0x0c:
        if (!valid_utf8(v.p, v.n)) {
            return 0;
        }
        memcpy(out, v.p, v.n);
        *o = v.n;
        *sure = 1;
        return 1;
    case 0x1e:                                     /* BMPString */
        if (v.n % 2) {
            return 0;
        }
        for (i = 0; i < v.n; i += 2) {
            uint32_t c = (uint32_t)v.p[i] << 8 | v.p[i + 1];
            if (c >= 0xd800 && c < 0xe000) {
                return 0;                      /* a surrogate: no UTF-8 */
            }
            put_utf8(c, out, o);
        }
        *sure = 1;
        return 1;
    case 0x1c:                                     /* UniversalString */
        if (v.n % 4) {
            return 0;
        }
        for (i = 0; i < v.n; i += 4) {
            uint32_t c = (uint32_t)v.p[i] << 24 | (uint32_t)v.p[i + 1] << 16
                         | (uint32_t)v.p[i + 2] << 8 | v.p[i + 3];
            if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
                return 0;
            }
            put_utf8(c, out, o);
        }
        *sure = 1;
        return 1;
    default:
        return 0;
    }
}

typedef struct {
    int ok;                 /* the subject was found */
    int undecodable;        /* some attribute's string has no UTF-8 form */
    int count;              /* CN attributes */
    int first_tag;
    span_t first;
} ref_t;

static ref_t ref_subject(const uint8_t *der, size_t n)
{
    static const uint8_t cn_oid[] = {0x55, 0x04, 0x03};
    ref_t r;
    span_t in = {der, n}, cert, tbs, x, subj;
    int tag, i;

    memset(&r, 0, sizeof(r));
    if (!tlv(&in, &tag, &cert) || tag != 0x30
        || !tlv(&cert, &tag, &tbs) || tag != 0x30) {
        return r;
    }
    if (tbs.n && tbs.p[0] == 0xa0 && !tlv(&tbs, &tag, &x)) {
        return r;                                   /* [0] version */
    }
    for (i = 0; i < 4; i++) {       /* serial, signature, issuer, validity */
        if (!tlv(&tbs, &tag, &x)) {
            return r;
        }
    }
    if (!tlv(&tbs, &tag, &subj) || tag != 0x30) {
        return r;
    }
    while (subj.n) {
        span_t rdn;
        if (!tlv(&subj, &tag, &rdn) || tag != 0x31) {
            return r;
        }
        while (rdn.n) {
            span_t atv, oid, val;
            int vt;
            if (!tlv(&rdn, &tag, &atv) || tag != 0x30
                || !tlv(&atv, &tag, &oid) || tag != 0x06
                || !tlv(&atv, &vt, &val)) {
                return r;
            }
            {
                static uint8_t scratch[70000];
                size_t sn;
                int sure;
                if (!decode(vt, val, scratch, &sn, &sure)) {
                    r.undecodable = 1;
                }
            }
            if (oid.n == 3 && !memcmp(oid.p, cn_oid, 3)) {
                if (r.count++ == 0) {
                    r.first_tag = vt;
                    r.first = val;
                }
            }
        }
    }
    r.ok = 1;
    return r;
}

/* -- building a certificate around a fuzzed subject -------------------- */

static const uint8_t spki[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0xd1, 0x0f, 0x13, 0x32, 0x35, 0x7c, 0xfd, 0x40, 0x08,
    0xdc, 0x73, 0x74, 0x82, 0x4e, 0xe2, 0x79, 0x55, 0x13, 0x22, 0x52, 0x78,
    0xe2, 0xfe, 0x1a, 0x53, 0x60, 0xad, 0x62, 0x64, 0xbc, 0xcc, 0x86, 0x0a,
    0x0f, 0xf5, 0x22, 0xbb, 0xb2, 0x6e, 0xf1, 0xbe, 0xa7, 0x64, 0xe3, 0xf6,
    0x22, 0xfb, 0x61, 0x6a, 0xe9, 0xb9, 0x7f, 0xb0, 0x82, 0x72, 0x6d, 0x66,
    0xbe, 0x9f, 0x3a, 0xcf, 0x2f, 0x4c, 0xc7,
};
static const uint8_t sigalg[] = {        /* ecdsa-with-SHA256 */
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const uint8_t head[] = {          /* version 3, serial 1 */
    0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01,
};
static const uint8_t issuer[] = {        /* CN=Polycom Root CA */
    0x30, 0x1a, 0x31, 0x18, 0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
    0x0f, 'P', 'o', 'l', 'y', 'c', 'o', 'm', ' ', 'R', 'o', 'o', 't', ' ',
    'C', 'A',
};
static const uint8_t validity[] = {
    0x30, 0x1e, 0x17, 0x0d, '2', '0', '0', '1', '0', '1', '0', '0', '0', '0',
    '0', '0', 'Z', 0x17, 0x0d, '4', '0', '0', '1', '0', '1', '0', '0', '0',
    '0', '0', '0', 'Z',
};
static const uint8_t sig[] = {0x03, 0x03, 0x00, 0x30, 0x00};

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            abort();
        }
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_tlv(buf_t *b, int tag, const uint8_t *d, size_t n)
{
    uint8_t h[6];
    size_t k = 0;

    h[k++] = (uint8_t)tag;
    if (n < 0x80) {
        h[k++] = (uint8_t)n;
    }
    else if (n < 0x100) {
        h[k++] = 0x81;
        h[k++] = (uint8_t)n;
    }
    else {
        h[k++] = 0x82;
        h[k++] = (uint8_t)(n >> 8);
        h[k++] = (uint8_t)n;
    }
    put(b, h, k);
    put(b, d, n);
}

static buf_t build(const uint8_t *d, size_t n)
{
    static const int tags[8] = {0x0c, 0x13, 0x16, 0x1e, 0x1c, 0x14, 0x12,
                                0x0c};
    buf_t name = {0}, rdn = {0}, tbs = {0}, cert = {0}, out = {0};
    size_t i = 0;

    while (i + 2 <= n && name.n < 4000) {
        int kind = d[i], len = d[i + 1];
        buf_t atv = {0}, one = {0};
        static const uint8_t cn[] = {0x06, 0x03, 0x55, 0x04, 0x03};
        static const uint8_t org[] = {0x06, 0x03, 0x55, 0x04, 0x0a};
        i += 2;
        if ((size_t)len > n - i) {
            len = (int)(n - i);
        }
        put(&atv, (kind & 1) ? cn : org, 5);
        put_tlv(&atv, tags[(kind >> 1) & 7], d + i, (size_t)len);
        put_tlv(&one, 0x30, atv.p, atv.n);
        i += (size_t)len;
        if (!(kind & 0x80) && rdn.n) {          /* close the RDN before */
            put_tlv(&name, 0x31, rdn.p, rdn.n);
            rdn.n = 0;
        }
        put(&rdn, one.p, one.n);
        free(atv.p);
        free(one.p);
    }
    if (rdn.n) {
        put_tlv(&name, 0x31, rdn.p, rdn.n);
    }
    put(&tbs, head, sizeof(head));
    put(&tbs, sigalg, sizeof(sigalg));
    put(&tbs, issuer, sizeof(issuer));
    put(&tbs, validity, sizeof(validity));
    put_tlv(&tbs, 0x30, name.p ? name.p : (const uint8_t *)"", name.n);
    put(&tbs, spki, sizeof(spki));
    put_tlv(&cert, 0x30, tbs.p, tbs.n);
    put(&cert, sigalg, sizeof(sigalg));
    put(&cert, sig, sizeof(sig));
    put_tlv(&out, 0x30, cert.p, cert.n);
    free(name.p);
    free(rdn.p);
    free(tbs.p);
    free(cert.p);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    buf_t built = {0};
    const uint8_t *der;
    size_t dn;
    pp_cert_facts_t f;
    uint8_t want[70000];
    size_t wn = 0;
    int parsed, sure = 0, dec;
    ref_t r;

    fuzz_init();
    if (n < 1 || n > 16384) {
        return 0;
    }
    if (d[0] & 1) {
        built = build(d + 1, n - 1);
        der = built.p;
        dn = built.n;
    }
    else {
        der = d + 1;
        dn = n - 1;
    }
    parsed = pp_cert_subject_cn(der, dn, &f);
    r = ref_subject(der, dn);
    if (d[0] & 1) {
        /* OpenSSL canonicalises every attribute of a name it decodes
         * (x509_name_canon): a string with no UTF-8 form fails the whole
         * certificate, and only that */
        FUZZ_CHECK(parsed || (r.ok && r.undecodable),
                   "a built certificate does not parse");
    }
    if (parsed && r.ok) {
        FUZZ_CHECK(f.cn_count == r.count, "%d CNs, reference %d",
                   f.cn_count, r.count);
        if (r.count) {
            dec = decode(r.first_tag, r.first, want, &wn, &sure);
            if (f.cn_len > 0) {
                FUZZ_CHECK(dec, "module decoded a CN (tag %02x) the "
                           "reference cannot", r.first_tag);
                FUZZ_CHECK(f.cn_len == (wn < PP_CN_MAX ? wn : PP_CN_MAX)
                           && !memcmp(f.cn, want, f.cn_len),
                           "CN differs (tag %02x): %zu vs %zu bytes",
                           r.first_tag, f.cn_len, wn);
            }
            else if (dec && sure) {
                FUZZ_CHECK(wn == 0, "module could not decode a CN of tag "
                           "%02x, %zu bytes", r.first_tag, wn);
            }
            FUZZ_CHECK(!f.cn_usable || (r.count == 1 && dec
                                        && wn <= PP_CN_MAX
                                        && !memchr(want, 0, wn)),
                       "a CN was declared usable that is not");
        }
        else {
            FUZZ_CHECK(!f.cn_usable && f.cn_len == 0, "usable without a CN");
        }
    }
    free(built.p);
    return 0;
}
