/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: expired phone certificates through mod_ssl's
 * handshake, on the virtual hosts whose scopes say PolyProvAllowExpired On,
 * and nowhere else.
 *
 * mod_ssl refuses a client certificate past its notAfter inside the
 * handshake, even under SSLVerifyClient optional_no_ca (its
 * ssl_verify_error_is_optional() does not count X509_V_ERR_CERT_HAS_EXPIRED),
 * so no module would ever see such a phone.  Without patching httpd:
 *
 *  - mod_ssl's optional hook ssl_init_server hands over each SSL-enabled
 *    virtual host's SSL_CTX.  On a host where a PolyProv On and a
 *    PolyProvAllowExpired On apply, SSL_CTX_set_cert_verify_callback()
 *    puts cert_verify() around OpenSSL's X509_verify_cert().  OpenSSL calls
 *    it with the SSL_CTX the connection has at that moment: the one of the
 *    host SNI chose (mod_ssl switches it with SSL_set_SSL_CTX), also for a
 *    renegotiation or a TLS 1.3 post-handshake authentication that a
 *    per-directory SSLVerifyClient asks for.
 *  - cert_verify() wraps whatever per-certificate callback is in force
 *    (mod_ssl's ssl_callback_SSLVerify, for the handshake or for a
 *    directory) with waiver_cb(), and verifies.  waiver_cb() turns exactly
 *    one error into success: X509_V_ERR_CERT_HAS_EXPIRED at depth 0, when
 *    no other error came before it and the chain ends at a certificate that
 *    came from the trust store (not from the client: under optional_no_ca a
 *    client may send the public Polycom root itself) and is a certificate
 *    of one of the host's PolyProvTrustedCA.  The error is reset to
 *    X509_V_OK (mod_ssl refuses after the handshake otherwise) and mod_ssl's
 *    callback then runs as for a good certificate (its depth check, OCSP).
 *    Every other error, at any depth, reaches mod_ssl as before: not yet
 *    valid, an expired CA, a revoked certificate (mod_ssl's CRLs), a chain
 *    to another CA the host trusts.
 *  - the connection's SSL, which mod_polyprov_conn.c keeps from mod_ssl's
 *    ssl_pre_handshake on every connection, tells every request whether
 *    its client certificate is past its notAfter, resumed sessions
 *    included.
 *
 * After the handshake the module judges each request itself (PP_STEP_VERIFY
 * of the decision refuses an expired certificate unless its scope allows it), and
 * mod_polyprov.c refuses every request on such a connection that is not in
 * a PolyProv On scope: mod_ssl calls the connection verified.
 *
 * A virtual host where no scope allows expired certificates is left
 * exactly as it was: no callback on its SSL_CTX.
 */
#include "mod_polyprov.h"

#include <pthread.h>
#include <string.h>

#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "http_connection.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* mod_ssl's optional hook, as modules/ssl/mod_ssl_openssl.h declares it
 * (Debian's apache2-dev does not ship that header).  Optional hooks are
 * found by name when mod_ssl runs them; with no mod_ssl, nothing runs. */
typedef int ssl_HOOK_init_server_t(server_rec *s, apr_pool_t *p,
                                   int is_proxy, SSL_CTX *ctx);

/* One virtual host where PolyProv On applies (on: its handshake's
 * refusals are logged, PP124), that lets expired certificates through
 * (waive), or where a PolyProv Report applies (report: the handshakes
 * mod_ssl refuses are logged with the MAC of the CN, PP141); or several
 * of these. */
typedef struct {
    server_rec *s;
    const char *name;             /* for the log */
    apr_array_header_t *cas;      /* const pp_ca_t *: its PolyProvTrustedCA */
    int on;                       /* PolyProv On applies */
    int waive;                    /* PolyProvAllowExpired On applies */
    int report;
    const char *report_where;     /* PolyProv Report's file:line */
    const pp_pattern_t *pattern;  /* the host's PolyProvCNPattern */
    const pp_pattern_t *report_pattern; /* the Report scope's, or NULL */
} waiver_t;

/* Whether any host of this configuration has a waiver: the others' SSL
 * objects are not even kept. */
static int any_waiver;
static int ctx_idx = -1;          /* SSL_CTX ex_data: its waiver_t, or
                                   * &no_waiver for a host without one */
static char no_waiver;
static int store_idx = -1;        /* X509_STORE_CTX ex_data: verify_state_t */

typedef struct {
    const waiver_t *w;
    SSL_verify_cb outer;          /* the callback that was in force */
    int other_error;              /* an error other than the waived one */
    int waived;
    const char *declined;         /* why an expired leaf was not waived */
    int refused;                  /* mod_ssl's callback refused an error */
    int refused_err, refused_depth;
} verify_state_t;

/* The chain ends at a certificate from the trust store (X509_STORE), and
 * that certificate is one of the host's PolyProvTrustedCA. */
static const char *anchor_refused(const waiver_t *w, X509_STORE_CTX *x)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
    int n = chain ? sk_X509_num(chain) : 0, i;
    unsigned char fp[32];
    unsigned int len = 0;

    if (n < 2) {
        return "no chain above it";
    }
    if (n - 1 < X509_STORE_CTX_get_num_untrusted(x)) {
        return "its chain ends at a certificate the client sent, not at a "
               "trusted CA";
    }
    if (!X509_digest(sk_X509_value(chain, n - 1), EVP_sha256(), fp, &len)
        || len != 32) {
        return "the trust anchor's digest failed";
    }
    for (i = 0; i < w->cas->nelts; i++) {
        if (pp_ca_holds(APR_ARRAY_IDX(w->cas, i, const pp_ca_t *), fp)) {
            return NULL;
        }
    }
    return "its chain ends at a CA that is not in PolyProvTrustedCA";
}

static int waiver_cb(int ok, X509_STORE_CTX *x)
{
    verify_state_t *st = X509_STORE_CTX_get_ex_data(x, store_idx);

    if (!st) {
        return ok;
    }
    if (!ok) {
        int err = X509_STORE_CTX_get_error(x);
        int expired_leaf = err == X509_V_ERR_CERT_HAS_EXPIRED
                           && X509_STORE_CTX_get_error_depth(x) == 0;
        const char *why = NULL;

        if (expired_leaf && st->w->waive && !st->other_error
            && !(why = anchor_refused(st->w, x))) {
            st->waived = 1;
            X509_STORE_CTX_set_error(x, X509_V_OK);
            ok = 1;
        }
        else {
            /* counted even when the outer callback accepts it
             * (optional_no_ca): no waiver after any other error */
            if (expired_leaf && st->w->waive) {
                st->declined = why ? why : "the chain has another error";
            }
            st->other_error = 1;
            if (!st->refused) {
                st->refused_err = err;
                st->refused_depth = X509_STORE_CTX_get_error_depth(x);
            }
        }
    }
    ok = st->outer ? st->outer(ok, x) : ok;
    if (!ok && !st->refused) {
        /* mod_ssl ends the handshake on this error (under optional_no_ca
         * it lets the chain errors pass, never the dates or purpose) */
        st->refused = 1;
        st->refused_err = X509_STORE_CTX_get_error(x);
        st->refused_depth = X509_STORE_CTX_get_error_depth(x);
    }
    return ok;
}

/* PP141, on a host where PolyProv Report applies: mod_ssl refuses this
 * client certificate in the handshake.  The phone never reaches a
 * request, under Report or On alike; the readiness report (polyprov-check
 * --readiness) needs its MAC, taken from the CN by the Report scope's
 * pattern (nothing about the certificate is verified: it is what the
 * phone claims). */
static void log_handshake_refusal(conn_rec *c, X509_STORE_CTX *x,
                                  const verify_state_t *st)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    pp_cert_facts_t *f = apr_pcalloc(c->pool, sizeof(*f));
    unsigned char *der = NULL;
    int len = leaf ? i2d_X509(leaf, &der) : -1;
    const pp_pattern_t *pat = st->w->report_pattern;
    pp_cn_mac_t cm;
    char macs[13] = "-";

    if (len > 0 && pp_cert_subject_cn(der, (size_t)len, f) && f->cn_usable) {
        if (!pat && polyprov_glue) {
            pat = polyprov_glue->default_pattern;
        }
        if (pat) {
            pp_cn_mac_of(pat, f, &cm);
            if (cm.rv == PP_R_OK) {
                pp_mac_format(cm.mac, macs);
            }
        }
    }
    OPENSSL_free(der);
    ap_log_cerror(APLOG_MARK, APLOG_NOTICE, 0, c, "PP141: would refuse "
                  "reason=untrusted mac=%s client=%s cn=\"%s\" detail=mod_ssl "
                  "ends the handshake: verify error %d at depth %d: %s "
                  "(virtual host %s) report=%s", macs, c->client_ip,
                  f->cn_usable ? ap_escape_logitem(c->pool, f->cn) : "",
                  st->refused_err, st->refused_depth,
                  X509_verify_cert_error_string(st->refused_err), st->w->name,
                  st->w->report_where ? st->w->report_where : "?");
}

static void log_leaf(conn_rec *c, int level, X509_STORE_CTX *x,
                     const waiver_t *w, const char *msg)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    char subject[256] = "?";

    if (leaf) {
        X509_NAME_oneline(X509_get_subject_name(leaf), subject,
                          sizeof(subject));
    }
    if (c) {
        ap_log_cerror(APLOG_MARK, level, 0, c, "%s: subject %s, "
                      "virtual host %s", msg,
                      ap_escape_logitem(c->pool, subject), w->name);
    }
}

/* Once per certificate and process: 256 sets of 4 fingerprints. */
typedef struct {
    unsigned char fp[256][4][32];
    unsigned char used[256];
    pthread_mutex_t mu;
} seen_t;

static int seen_first(seen_t *t, const unsigned char sha256[32])
{
    unsigned char set = sha256[1];
    int i, first = 1;

    pthread_mutex_lock(&t->mu);
    for (i = 0; i < 4 && i < t->used[set]; i++) {
        if (!memcmp(t->fp[set][i], sha256, 32)) {
            first = 0;
            break;
        }
    }
    if (first) {
        /* the oldest goes: a fifth certificate of the set is logged
         * again when it comes back */
        memmove(t->fp[set][1], t->fp[set][0], 3 * 32);
        memcpy(t->fp[set][0], sha256, 32);
        if (t->used[set] < 4) {
            t->used[set]++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return first;
}

static seen_t refused_seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* PP124: the handshake refused a client certificate on a host where
 * PolyProv On applies.  mod_ssl's own line (AH02039 at warn) names no
 * subject; this one names the phone, as the module's other lines do, so
 * that grep of a MAC finds every refusal of it. */
static void log_refused(conn_rec *c, X509_STORE_CTX *x, const waiver_t *w)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    int err = X509_STORE_CTX_get_error(x);
    int depth = X509_STORE_CTX_get_error_depth(x);
    unsigned char fp[32];
    unsigned int len = 0;
    char issuer[256] = "?", macs[13];
    pp_cert_facts_t f;
    unsigned char *der = NULL;
    int dlen;
    pp_mac_t mac = 0;
    pp_cn_mac_t cm;
    const char *cn = NULL, *what;

    if (!c || !leaf || !X509_digest(leaf, EVP_sha256(), fp, &len)
        || len != 32 || !seen_first(&refused_seen, fp)) {
        return;
    }
    X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
    memset(&f, 0, sizeof(f));
    if ((dlen = i2d_X509(leaf, &der)) > 0
        && pp_cert_subject_cn(der, (size_t)dlen, &f) && f.cn_count > 0) {
        cn = ap_escape_logitem(c->pool, f.cn);
        const pp_pattern_t *pat = w->pattern ? w->pattern
                                  : polyprov_glue
                                    ? polyprov_glue->default_pattern : NULL;
        if (pat) {
            pp_cn_mac_of(pat, &f, &cm);
            mac = cm.mac;
        }
    }
    OPENSSL_free(der);
    pp_mac_format(mac, macs);
    what = err != X509_V_OK
        ? apr_psprintf(c->pool, "verify error %d at depth %d: %s", err, depth,
                       X509_verify_cert_error_string(err))
        : "refused by mod_ssl's own checks (SSLVerifyDepth, OCSP): its "
          "AH lines say which";
    ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, c, "PP124: refused in the "
                  "TLS handshake mac=%s cn=\"%s\" issuer=\"%s\" client=%s "
                  "detail=%s; virtual host %s (no request reaches the "
                  "module; logged once per certificate and process)",
                  mac ? macs : "-", cn ? cn : "",
                  ap_escape_logitem(c->pool, issuer),
                  c->client_ip ? c->client_ip : "?", what, w->name);
}

/* SSL_CTX_set_cert_verify_callback: OpenSSL's verification of the client's
 * chain, with waiver_cb() around the callback in force. */
static int cert_verify(X509_STORE_CTX *x, void *arg)
{
    verify_state_t st;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x,
                                          SSL_get_ex_data_X509_STORE_CTX_idx());
    conn_rec *c = ssl ? SSL_get_app_data(ssl) : NULL;
    int rc;

    memset(&st, 0, sizeof(st));
    st.w = arg;
    st.outer = X509_STORE_CTX_get_verify_cb(x);
    if (!X509_STORE_CTX_set_ex_data(x, store_idx, &st)) {
        return X509_verify_cert(x);          /* as without the module */
    }
    X509_STORE_CTX_set_verify_cb(x, waiver_cb);
    rc = X509_verify_cert(x);
    X509_STORE_CTX_set_verify_cb(x, st.outer);
    X509_STORE_CTX_set_ex_data(x, store_idx, NULL);
    if (c && st.refused && st.w->report) {
        log_handshake_refusal(c, x, &st);
    }
    if (rc != 1 && polyprov_glue && st.w->on) {
        log_refused(c, x, st.w);
    }
    if (c && rc == 1 && st.waived) {
        log_leaf(c, APLOG_INFO, x, st.w, "PP047: an expired client "
                 "certificate under PolyProvTrustedCA passed the handshake "
                 "(PolyProvAllowExpired); the module judges each request");
    }
    else if (c && st.declined) {
        log_leaf(c, APLOG_INFO, x, st.w, apr_psprintf(c->pool, "PP048: an "
                 "expired client certificate was left to mod_ssl, which "
                 "refuses it: %s", st.declined));
    }
    return rc;
}

/* The waiver of the host this SSL_CTX belongs to, if it has one. */
static const waiver_t *ctx_waiver(SSL_CTX *ctx)
{
    void *w = ctx && ctx_idx >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_idx) : NULL;

    return w == &no_waiver || (w && !((const waiver_t *)w)->waive) ? NULL
                                                                    : w;
}

/* ssl_init_server: for each SSL-enabled virtual host (and its proxy
 * side, which is none of the module's business). */
static int init_server(server_rec *s, apr_pool_t *p, int is_proxy,
                       SSL_CTX *ctx)
{
    polyprov_host_t h;
    waiver_t *w;
    void *mark;

    if (is_proxy || !ctx) {
        return DECLINED;
    }
    if (ctx_idx < 0) {
        ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    if (store_idx < 0) {
        store_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                    NULL);
    }
    polyprov_host_scan(p, s, &h);
    mark = ctx_idx >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_idx) : NULL;
    if (!h.polyprov_on && !h.report) {
        /* configtest says why, if it matters.  Marked, so that an SSL_CTX
         * shared with a host that lets expired certificates through (mod_ssl
         * makes one per host: it never is) would stop the start instead of
         * loosening this host */
        if (ctx_waiver(ctx)) {
            goto shared;
        }
        if (ctx_idx >= 0) {
            SSL_CTX_set_ex_data(ctx, ctx_idx, &no_waiver);
        }
        return DECLINED;
    }
    if (mark) {
        /* (never: mod_ssl makes an SSL_CTX per host) shared with a host
         * that has no waiver, without one itself: no harm */
        if (!ctx_waiver(ctx)
            && !(h.allow_expired && h.polyprov_on && h.cas->nelts)) {
            return DECLINED;
        }
        goto shared;
    }
    w = apr_pcalloc(p, sizeof(*w));
    w->s = s;
    w->cas = h.cas;
    w->on = h.polyprov_on;
    w->waive = h.allow_expired && h.polyprov_on && h.cas->nelts > 0;
    w->report = h.report;
    w->report_where = h.report_where;
    w->pattern = h.pattern;
    w->report_pattern = h.report_pattern;
    w->name = apr_psprintf(p, "%s:%u (%s:%d)",
                           s->server_hostname ? s->server_hostname : "?",
                           s->addrs ? (unsigned)s->addrs->host_port
                                    : (unsigned)s->port,
                           s->defn_name ? s->defn_name : "?",
                           s->defn_line_number);
    if (ctx_idx < 0 || store_idx < 0 || !SSL_CTX_set_ex_data(ctx, ctx_idx, w)) {
        if (!w->waive) {
            return DECLINED;      /* only the PP124/PP141 lines are missed */
        }
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PP049: cannot install "
                     "PolyProvAllowExpired (at %s) into mod_ssl for %s: "
                     "OpenSSL refused its ex_data",
                     h.allow_expired_where ? h.allow_expired_where : "?",
                     w->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    SSL_CTX_set_cert_verify_callback(ctx, cert_verify, w);
    if (!w->waive) {
        return OK;                /* watching only (PP124, PP141) */
    }
    any_waiver = 1;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "PP050: expired client "
                 "certificates under PolyProvTrustedCA pass the handshake of "
                 "%s (PolyProvAllowExpired On at %s)", w->name,
                 h.allow_expired_where ? h.allow_expired_where : "?");
    return OK;
shared:
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PP049: cannot install "
                 "PolyProvAllowExpired into mod_ssl for %s:%d: its SSL "
                 "context is shared with another virtual host, which would "
                 "let expired certificates through both or neither",
                 s->defn_name ? s->defn_name : "?", s->defn_line_number);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int polyprov_expired_conn(conn_rec *c, apr_time_t now, time_t *not_after)
{
    SSL *ssl;
    X509 *peer;
    struct tm tm;
    time_t t;

    if (!any_waiver || !(ssl = polyprov_conn_ssl(c))
        || !ctx_waiver(SSL_get_SSL_CTX(ssl))
        || !(peer = SSL_get0_peer_certificate(ssl))
        || !ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm)) {
        return 0;
    }
    t = timegm(&tm);
    if (t >= (time_t)apr_time_sec(now)) {
        return 0;
    }
    *not_after = t;
    return 1;
}

/* PP042 once per certificate and process. */
static seen_t expired_seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

int polyprov_expired_first(const unsigned char sha256[32])
{
    return seen_first(&expired_seen, sha256);
}

void polyprov_expired_register(apr_pool_t *p)
{
    (void)p;
    any_waiver = 0;
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
