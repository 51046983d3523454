/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check: the input parsing the tool does itself (pc_input.h).
 *
 * pc_normalize_path, pc_unescape, pc_getparents and pc_no2slash follow
 * httpd 2.4's ap_normalize_path, unescape_url, ap_getparents and
 * ap_no2slash (server/util.c, Apache License 2.0) statement by statement,
 * so that the tool sees the path the module sees.
 */
#define _GNU_SOURCE                /* memmem */
#include "pc_input.h"
#include "pp_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void pc_printable(const char *s, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    if (!outlen) {
        return;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            if (o + 1 >= outlen) {
                break;
            }
            out[o++] = (char)c;
        }
        else {
            if (o + 4 >= outlen) {
                break;
            }
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

int pc_read_file(const char *path, size_t max, char **buf, size_t *len,
                 char *err, size_t errlen)
{
    struct stat st;
    char *b = NULL;
    size_t n = 0, cap;
    int fd;

    *buf = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return 0;
    }
    if (fstat(fd, &st) != 0) {
        say(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        say(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return 0;
    }
    if ((unsigned long long)st.st_size > max) {
        say(err, errlen, "'%s' is too large (%lld bytes; at most %zu)",
            path, (long long)st.st_size, max);
        close(fd);
        return 0;
    }
    /* read up to max + 1 bytes whatever the size said: it may grow */
    cap = (size_t)st.st_size + 1;
    if (!(b = malloc(cap + 1))) {
        say(err, errlen, "'%s': out of memory", path);
        close(fd);
        return 0;
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            char *nb;
            if (cap > max) {
                break;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            if (!(nb = realloc(b, cap + 1))) {
                say(err, errlen, "'%s': out of memory", path);
                goto fail;
            }
            b = nb;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            say(err, errlen, "cannot read '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n > max) {
        say(err, errlen, "'%s' is too large (more than %zu bytes)", path, max);
        goto fail;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 1;
fail:
    close(fd);
    free(b);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Certificate files                                                   */

void pc_certs_free(pc_certs_t *c)
{
    int i;

    if (!c) {
        return;
    }
    for (i = 0; i < c->count; i++) {
        free(c->ders[i]);
    }
    free(c->ders);
    free(c->lens);
    free(c->leaf_pem);
    memset(c, 0, sizeof(*c));
}

static int push_cert(pc_certs_t *c, X509 *x)
{
    unsigned char **nd;
    size_t *nl;
    unsigned char *der = NULL, *p;
    int n = i2d_X509(x, NULL);

    if (n <= 0) {
        return 0;
    }
    nd = realloc(c->ders, (size_t)(c->count + 1) * sizeof(*nd));
    if (!nd) {
        return 0;
    }
    c->ders = nd;
    nl = realloc(c->lens, (size_t)(c->count + 1) * sizeof(*nl));
    if (!nl) {
        return 0;
    }
    c->lens = nl;
    if (!(der = malloc((size_t)n))) {
        return 0;
    }
    p = der;
    if (i2d_X509(x, &p) != n) {
        free(der);
        return 0;
    }
    c->ders[c->count] = der;
    c->lens[c->count] = (size_t)n;
    c->count++;
    return 1;
}

static int leaf_to_pem(pc_certs_t *c, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int ok = 0;

    if (b && PEM_write_bio_X509(b, x) && (n = BIO_get_mem_data(b, &data)) > 0
        && (c->leaf_pem = malloc((size_t)n + 1))) {
        memcpy(c->leaf_pem, data, (size_t)n);
        c->leaf_pem[n] = '\0';
        c->leaf_pem_len = (size_t)n;
        ok = 1;
    }
    BIO_free(b);
    return ok;
}

#define PEM_MARK "-----BEGIN "

int pc_certs_parse(const char *name, const char *buf, size_t len,
                   pc_certs_t *out, char *err, size_t errlen)
{
    X509 *x, *leaf = NULL;
    char why[256];
    int ok = 0;

    memset(out, 0, sizeof(*out));
    ERR_clear_error();
    if (len == 0) {
        say(err, errlen, "'%s' is empty: expected a certificate (PEM or "
            "DER)", name);
        return 0;
    }
    if (len > (size_t)PC_CERT_FILE_MAX || len > 0x7fffffff) {
        say(err, errlen, "'%s' is too large (%zu bytes; at most %d)", name,
            len, PC_CERT_FILE_MAX);
        return 0;
    }
    if (memmem(buf, len, PEM_MARK, sizeof(PEM_MARK) - 1)) {
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        unsigned long e;

        if (!b) {
            say(err, errlen, "'%s': out of memory", name);
            return 0;
        }
        while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            if (!push_cert(out, x)) {
                X509_free(x);
                BIO_free(b);
                say(err, errlen, "'%s': out of memory", name);
                goto done;
            }
            if (!leaf) {
                leaf = x;
            }
            else {
                X509_free(x);
            }
        }
        BIO_free(b);
        /* the loop ends at the end of the text, or at a broken block */
        e = ERR_peek_last_error();
        if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM
                   && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            if (out->count == 0) {
                say(err, errlen, "'%s': its first PEM certificate does not "
                    "decode (truncated or damaged?): %s", name,
                    pp_openssl_error(why, sizeof(why)));
            }
            else {
                say(err, errlen, "'%s': the PEM block after certificate #%d "
                    "does not decode (truncated or damaged?): %s", name,
                    out->count, pp_openssl_error(why, sizeof(why)));
            }
            goto done;
        }
        ERR_clear_error();
        if (out->count == 0) {
            say(err, errlen, "'%s' holds PEM data but no CERTIFICATE block",
                name);
            goto done;
        }
    }
    else {
        const unsigned char *p = (const unsigned char *)buf;
        const unsigned char *end = p + len;

        out->der = 1;
        while (p < end) {
            const unsigned char *at = p;
            x = d2i_X509(NULL, &p, (long)(end - p));
            if (!x) {
                ERR_clear_error();
                if (out->count == 0) {
                    say(err, errlen, "'%s' is neither a PEM nor a DER "
                        "certificate", name);
                }
                else {
                    say(err, errlen, "'%s': %zu bytes after DER certificate "
                        "#%d are not a certificate", name,
                        (size_t)(end - at), out->count);
                }
                goto done;
            }
            if (!push_cert(out, x)) {
                X509_free(x);
                say(err, errlen, "'%s': out of memory", name);
                goto done;
            }
            if (!leaf) {
                leaf = x;
            }
            else {
                X509_free(x);
            }
        }
    }
    if (!leaf_to_pem(out, leaf)) {
        say(err, errlen, "'%s': cannot encode the certificate as PEM: %s",
            name, pp_openssl_error(why, sizeof(why)));
        goto done;
    }
    ok = 1;
done:
    X509_free(leaf);
    ERR_clear_error();
    if (!ok) {
        pc_certs_free(out);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* httpd's URI handling                                                */

#define IS_SLASH(c) ((c) == '/')
#define IS_SLASH_OR_NUL(c) ((c) == '\0' || IS_SLASH(c))

static int is_xdigit(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

static char x2c(const char *what)
{
    int hi = (unsigned char)what[0], lo = (unsigned char)what[1];

    hi = hi >= 'A' ? ((hi & 0xdf) - 'A') + 10 : hi - '0';
    lo = lo >= 'A' ? ((lo & 0xdf) - 'A') + 10 : lo - '0';
    return (char)(hi * 16 + lo);
}

/* RFC 3986's unreserved: ALPHA, DIGIT, '-', '.', '_', '~' */
static int unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}

int pc_normalize_path(char *path)
{
    int ret = 1;
    size_t l = 1, w = 1, n;

    if (!IS_SLASH(path[0])) {
        return 0;                  /* a request path starts with '/' */
    }
    while (path[l] != '\0') {
        if (path[l] == '%') {
            if (is_xdigit((unsigned char)path[l + 1])
                && is_xdigit((unsigned char)path[l + 2])) {
                const char c = x2c(&path[l + 1]);
                if (unreserved((unsigned char)c)) {
                    l += 2;
                    path[l] = c;
                }
            }
            else {
                ret = 0;           /* an invalid encoding */
            }
        }
        if (w == 0 || IS_SLASH(path[w - 1])) {
            if (IS_SLASH(path[l])) {           /* merge slashes */
                do {
                    l++;
                } while (IS_SLASH(path[l]));
                continue;
            }
            if (path[l] == '.') {
                if (IS_SLASH_OR_NUL(path[l + 1])) {     /* /./ */
                    l++;
                    if (path[l]) {
                        l++;
                    }
                    continue;
                }
                n = l + 1;                              /* /xx/../ */
                if ((path[n] == '.' || (path[n] == '%' && path[++n] == '2'
                                        && (path[++n] == 'e'
                                            || path[n] == 'E')))
                    && IS_SLASH_OR_NUL(path[n + 1])) {
                    if (w > 1) {
                        do {
                            w--;
                        } while (w && !IS_SLASH(path[w - 1]));
                    }
                    else {
                        ret = 0;   /* above the root */
                    }
                    l = n + 1;
                    if (path[l]) {
                        l++;
                    }
                    continue;
                }
            }
        }
        path[w++] = path[l++];
    }
    path[w] = '\0';
    return ret;
}

int pc_unescape(char *url, int forbid_slashes, int keep_unreserved)
{
    int badesc = 0, badpath = 0;
    char *x, *y;

    y = strchr(url, '%');
    if (y == NULL) {
        return 0;
    }
    for (x = y; *y; ++x, ++y) {
        if (*y != '%') {
            *x = *y;
        }
        else if (!is_xdigit((unsigned char)y[1])
                 || !is_xdigit((unsigned char)y[2])) {
            badesc = 1;
            *x = '%';
        }
        else {
            char decoded = x2c(y + 1);
            if (decoded == '\0' || (forbid_slashes && IS_SLASH(decoded))) {
                badpath = 1;
                *x = decoded;
                y += 2;
            }
            else if (keep_unreserved && unreserved((unsigned char)decoded)) {
                *x++ = *y++;
                *x++ = *y++;
                *x = *y;
            }
            else {
                *x = decoded;
                y += 2;
            }
        }
    }
    *x = '\0';
    return badesc ? 400 : badpath ? 404 : 0;
}

void pc_getparents(char *name)
{
    char *next;
    long l, w, first_dot;

    /* a) remove ./ path segments */
    for (next = name; *next && (*next != '.'); next++) {
    }
    l = w = first_dot = next - name;
    while (name[l] != '\0') {
        if (name[l] == '.' && IS_SLASH(name[l + 1])
            && (l == 0 || IS_SLASH(name[l - 1]))) {
            l += 2;
        }
        else {
            name[w++] = name[l++];
        }
    }
    /* b) remove trailing . path, segment */
    if (w == 1 && name[0] == '.') {
        w--;
    }
    else if (w > 1 && name[w - 1] == '.' && IS_SLASH(name[w - 2])) {
        w--;
    }
    name[w] = '\0';
    /* c) remove all xx/../ segments (including leading ../ and /../) */
    l = first_dot;
    while (name[l] != '\0') {
        if (name[l] == '.' && name[l + 1] == '.' && IS_SLASH(name[l + 2])
            && (l == 0 || IS_SLASH(name[l - 1]))) {
            long m = l + 3, n;

            l = l - 2;
            if (l >= 0) {
                while (l >= 0 && !IS_SLASH(name[l])) {
                    l--;
                }
                l++;
            }
            else {
                l = 0;
            }
            n = l;
            while ((name[n] = name[m])) {
                ++n;
                ++m;
            }
        }
        else {
            ++l;
        }
    }
    /* d) remove trailing xx/.. segment */
    if (l == 2 && name[0] == '.' && name[1] == '.') {
        name[0] = '\0';
    }
    else if (l > 2 && name[l - 1] == '.' && name[l - 2] == '.'
             && IS_SLASH(name[l - 3])) {
        l = l - 4;
        if (l >= 0) {
            while (l >= 0 && !IS_SLASH(name[l])) {
                l--;
            }
            l++;
        }
        else {
            l = 0;
        }
        name[l] = '\0';
    }
}

void pc_no2slash(char *name)
{
    char *d, *s;

    s = d = name;
    while (*s) {
        if ((*d++ = *s) == '/') {
            do {
                ++s;
            } while (*s == '/');
        }
        else {
            ++s;
        }
    }
    *d = '\0';
}

/* Split a URI reference as apr_uri_parse does for the shapes a client
 * sends: "scheme://authority/path?query#fragment", "//authority/path",
 * "/path".  Sets the path's start and length, and whether a query or a
 * fragment follows it.  Returns 0 when there is no absolute path. */
static int split_uri(const char *s, const char **path, size_t *plen,
                     int *query, int *fragment)
{
    const char *p = s, *e;

    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        p += strcspn(p, "/?#");
    }
    else if (p[0] != '/') {
        const char *c = p;
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
            return 0;
        }
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
               || (*c >= '0' && *c <= '9') || *c == '+' || *c == '-'
               || *c == '.') {
            c++;
        }
        if (c[0] != ':' || c[1] != '/' || c[2] != '/') {
            return 0;
        }
        p = c + 3;
        p += strcspn(p, "/?#");
    }
    e = p + strcspn(p, "?#");
    *query = *e == '?';
    *fragment = *e == '#' || (*e == '?' && strchr(e, '#'));
    *path = p;
    *plen = (size_t)(e - p);
    return *plen > 0 && p[0] == '/';
}

char *pc_request_path(const char *target, int *status, char *err,
                      size_t errlen)
{
    const char *p;
    size_t n, i;
    int q, f, rc;
    char *path;

    *status = 400;
    for (i = 0; target[i]; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c <= 0x20 || c == 0x7f) {
            say(err, errlen, "the URI holds a space or a control character "
                "(httpd answers 400)");
            return NULL;
        }
    }
    /* ap_parse_uri: a request target is a path, and a leading "//" is
     * no authority there */
    while (target[0] == '/' && target[1] == '/') {
        target++;
    }
    if (!split_uri(target, &p, &n, &q, &f)) {
        say(err, errlen, "'%s' is not a request path (\"/...\") or an "
            "absolute URI (\"https://host/...\")", target);
        return NULL;
    }
    if (!(path = malloc(n + 1))) {
        say(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(path, p, n);
    path[n] = '\0';
    if (!pc_normalize_path(path)) {
        say(err, errlen, "'%s': a bad %%-escape, or '..' above the root "
            "(httpd answers 400)", target);
        free(path);
        return NULL;
    }
    rc = pc_unescape(path, 1, 1);
    if (rc) {
        *status = rc;
        say(err, errlen, rc == 404 ? "'%s': an encoded '/' or NUL (httpd "
            "answers 404, AllowEncodedSlashes Off)" : "'%s': a bad "
            "%%-escape (httpd answers 400)", target);
        free(path);
        return NULL;
    }
    *status = 0;
    return path;
}

char *pc_destination_path(const char *dest, char *why, size_t whylen)
{
    const char *p;
    size_t n;
    int q, f;
    char *path;

    if (!dest || !*dest) {
        say(why, whylen, "COPY or MOVE without a Destination");
        return NULL;
    }
    if (!split_uri(dest, &p, &n, &q, &f) || q || f) {
        say(why, whylen, "Destination \"%s\" is not an absolute URI or path "
            "without query", dest);
        return NULL;
    }
    if (!(path = malloc(n + 1))) {
        say(why, whylen, "out of memory");
        return NULL;
    }
    memcpy(path, p, n);
    path[n] = '\0';
    if (pc_unescape(path, 1, 0) != 0 || strchr(path, ';')) {
        say(why, whylen, "Destination \"%s\" cannot be decoded (bad escape, "
            "encoded '/' or NUL, or ';')", dest);
        free(path);
        return NULL;
    }
    pc_getparents(path);
    pc_no2slash(path);
    return path;
}
