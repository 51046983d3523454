/* SPDX-License-Identifier: Apache-2.0 */
/* polyprov-check's own input parsing (tools/pc_input.c), which the core's
 * harnesses do not reach: the request target and the Destination as httpd
 * and the module read them, and the device certificate file.
 *
 * Input: a mode byte, then the text or file.
 *   mode % 3 == 0  request target (pc_request_path): a result starts with
 *                  '/', holds no "//", no "." or ".." segment and no NUL;
 *                  for a target made only of plain path characters it is
 *                  exactly the reference's (RFC 3986 dot segments removed,
 *                  never above the root, slashes merged);
 *   mode % 3 == 1  Destination (pc_destination_path): a result holds no
 *                  NUL, no ';' and no "//"; without '%' and dot segments
 *                  it is the path with its slashes merged;
 *   mode % 3 == 2  certificate file (pc_certs_parse): on success every
 *                  certificate decodes, and the leaf's PEM is the first
 *                  certificate, byte for byte. */
#include "fuzz.h"
#include "pc_input.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Plain path characters: no escapes, queries, fragments or controls. */
static int plain(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#') {
            return 0;
        }
    }
    return 1;
}

/* The reference: segments, "." dropped, ".." pops (0 above the root),
 * empty segments merged; a trailing '/' kept when the last segment was
 * empty, "." or "..". */
static int ref_request(const char *in, char *out, size_t outlen)
{
    const char *segs[4096];
    size_t lens[4096];
    int n = 0, i, trailing = 0;
    const char *p = in;
    size_t o = 0;

    while (*p == '/' && p[1] == '/') {
        p++;
    }
    if (*p != '/') {
        return -1;                 /* not a path: no reference */
    }
    while (*p) {
        const char *s = ++p;
        size_t len = strcspn(s, "/");
        p = s + len;
        trailing = 0;
        if (len == 0 || (len == 1 && s[0] == '.')) {
            trailing = 1;
            continue;
        }
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (n == 0) {
                return 0;
            }
            n--;
            trailing = 1;
            continue;
        }
        if (n == 4096) {
            return -1;
        }
        segs[n] = s;
        lens[n++] = len;
    }
    for (i = 0; i < n; i++) {
        if (o + lens[i] + 2 >= outlen) {
            return -1;
        }
        out[o++] = '/';
        memcpy(out + o, segs[i], lens[i]);
        o += lens[i];
    }
    if (n == 0 || trailing) {
        out[o++] = '/';
    }
    out[o] = '\0';
    return 1;
}

static void check_normal_path(const char *r, const char *what)
{
    const char *p;

    FUZZ_CHECK(!strstr(r, "//"), "%s '%s' holds //", what, r);
    for (p = r; (p = strchr(p, '/')) != NULL; p++) {
        FUZZ_CHECK(!((p[1] == '.' && (p[2] == '/' || !p[2]))
                     || (p[1] == '.' && p[2] == '.'
                         && (p[3] == '/' || !p[3]))),
                   "%s '%s' holds a dot segment", what, r);
    }
}

static void request_mode(const char *s)
{
    char err[512], ref[8192];
    int status = -1, rr;
    char *r = pc_request_path(s, &status, err, sizeof(err));

    if (r) {
        FUZZ_CHECK(status == 0, "status %d with a result", status);
        FUZZ_CHECK(r[0] == '/', "'%s' -> '%s'", s, r);
        check_normal_path(r, "request path");
    }
    else {
        FUZZ_CHECK(status == 400 || status == 404, "status %d", status);
        FUZZ_CHECK(err[0], "no message");
    }
    if (plain(s) && (rr = ref_request(s, ref, sizeof(ref))) >= 0) {
        if (rr == 0) {
            FUZZ_CHECK(!r && status == 400, "'%s' goes above the root, "
                       "got '%s'", s, r ? r : "(null)");
        }
        else {
            FUZZ_CHECK(r && !strcmp(r, ref), "'%s' -> '%s', reference '%s'",
                       s, r ? r : "(null)", ref);
        }
    }
    free(r);
}

static void destination_mode(const char *s)
{
    char why[512];
    char *r = pc_destination_path(s, why, sizeof(why));

    if (r) {
        FUZZ_CHECK(!strchr(r, ';'), "'%s' -> '%s' keeps a ';'", s, r);
        FUZZ_CHECK(!strstr(r, "//"), "'%s' -> '%s' holds //", s, r);
        if (s[0] == '/' && s[1] != '/' && plain(s) && !strchr(s, ';')
            && !strstr(s, "/.")) {
            char *m = strdup(s);
            char *d = m;
            const char *q;
            if (!m) {
                abort();
            }
            for (q = s; *q; q++) {
                if (!(*q == '/' && d > m && d[-1] == '/')) {
                    *d++ = *q;
                }
            }
            *d = '\0';
            FUZZ_CHECK(!strcmp(r, m), "'%s' -> '%s', want '%s'", s, r, m);
            free(m);
        }
        free(r);
    }
    else {
        FUZZ_CHECK(why[0], "no message for '%s'", s);
    }
}

static void certs_mode(const uint8_t *d, size_t n)
{
    pc_certs_t c;
    char err[512];
    int i;

    if (!pc_certs_parse("fuzz", (const char *)d, n, &c, err, sizeof(err))) {
        FUZZ_CHECK(err[0], "no message");
        return;
    }
    FUZZ_CHECK(c.count >= 1 && c.leaf_pem && c.leaf_pem_len > 0,
               "count %d", c.count);
    for (i = 0; i < c.count; i++) {
        const unsigned char *p = c.ders[i];
        X509 *x = d2i_X509(NULL, &p, (long)c.lens[i]);
        FUZZ_CHECK(x && p == c.ders[i] + c.lens[i], "certificate %d", i);
        X509_free(x);
    }
    {
        BIO *b = BIO_new_mem_buf(c.leaf_pem, (int)c.leaf_pem_len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        unsigned char *der = NULL;
        int len = x ? i2d_X509(x, &der) : -1;
        FUZZ_CHECK(len > 0 && (size_t)len == c.lens[0]
                   && !memcmp(der, c.ders[0], c.lens[0]),
                   "the leaf's PEM is not the first certificate");
        OPENSSL_free(der);
        X509_free(x);
        BIO_free(b);
    }
    ERR_clear_error();
    pc_certs_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *s;

    fuzz_init();
    if (n < 1) {
        return 0;
    }
    switch (d[0] % 3) {
    case 0:
        s = fuzz_cstr(d + 1, n - 1);
        request_mode(s);
        free(s);
        break;
    case 1:
        s = fuzz_cstr(d + 1, n - 1);
        destination_mode(s);
        free(s);
        break;
    default:
        certs_mode(d + 1, n - 1);
        break;
    }
    return 0;
}
