/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the state of one TLS connection, and nothing else.
 *
 *  - mod_ssl's SSL, kept (referenced) from its optional hook
 *    ssl_pre_handshake on every TLS connection: the certificate the
 *    connection holds now (polyprov_conn_ssl), for the request path and for
 *    the expired-certificate waiver (mod_polyprov_expired.c);
 *  - the verdict on the connection's client certificate and the MAC the
 *    scope's CN pattern takes from it, cached for the certificate it was
 *    given for (polyprov_conn_cert: the core's pp_cn_mac_of, once per
 *    connection and pattern, whose result pp_decide takes; the glue's
 *    only other use of it names the phone in the log lines of
 *    certificates refused in the handshake, mod_polyprov_expired.c).
 *
 * It calls no other glue file; mod_polyprov.c and mod_polyprov_expired.c
 * call it.
 */
#include "mod_polyprov.h"

#include <string.h>
#include <time.h>

#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "http_connection.h"
#include "http_ssl.h"
#include "ap_mpm.h"
#include "http_core.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* mod_ssl's optional hook, as modules/ssl/mod_ssl_openssl.h declares it
 * (Debian's apache2-dev does not ship that header). */
typedef int ssl_HOOK_pre_handshake_t(conn_rec *c, SSL *ssl, int is_proxy);

/* ------------------------------------------------------------------ */
/* Per TLS connection (the master connection under HTTP/2): the verdict */
/* on its client certificate, so that later requests skip it.          */
/*                                                                      */
/* The verdict holds for the connection's certificate: a certificate     */
/* only reaches a connection through a handshake in which the client     */
/* proved its key.  A renegotiation (asked for by a per-directory         */
/* SSLVerifyClient or SSLCipherSuite) can bring another certificate: the  */
/* cached verdict is used only while the connection still holds the very */
/* certificate object it was given for (mod_ssl's SSL, below), and a new */
/* one is judged as itself.  Lists, ownership and the certificates'      */
/* expiry are still checked on every request.                            */

typedef struct {
#if APR_HAS_THREADS
    apr_thread_mutex_t *mu;        /* HTTP/2 streams run in parallel */
#endif
    int have;
    const pp_ca_t *ca;
    const pp_crl_t *crl;
    pp_cert_facts_t facts;
    pp_cn_mac_t cn;                /* the MAC the pattern last applied
                                    * takes from the CN */
    X509 *peer;                    /* the certificate judged (a reference) */
    void *ssl;                     /* mod_ssl's SSL (ssl_pre_handshake,
                                    * below), referenced */
} polyprov_conn_t;


static void conn_lock(polyprov_conn_t *cs)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(cs->mu);
#else
    (void)cs;
#endif
}

static void conn_unlock(polyprov_conn_t *cs)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(cs->mu);
#else
    (void)cs;
#endif
}

/* The state of a TLS connection: made by mod_ssl's pre_handshake hook
 * (which runs inside mod_ssl's pre_connection) or by ours, whichever comes
 * first.  NULL if it cannot be made (no cache: every request verifies). */
static polyprov_conn_t *conn_make(conn_rec *c)
{
    polyprov_conn_t *cs = ap_get_module_config(c->conn_config,
                                               &polyprov_module);

    if (cs) {
        return cs;
    }
    cs = apr_pcalloc(c->pool, sizeof(*cs));
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&cs->mu, APR_THREAD_MUTEX_DEFAULT, c->pool)
        != APR_SUCCESS) {
        return NULL;
    }
#endif
    ap_set_module_config(c->conn_config, &polyprov_module, cs);
    return cs;
}

static int polyprov_pre_connection(conn_rec *c, void *csd)
{
    (void)csd;
    if (c->master || !ap_ssl_conn_is_ssl(c)) {
        return DECLINED;
    }
    conn_make(c);
    return DECLINED;
}

/* The connection's current client certificate, as mod_ssl holds it in
 * the connection's SSL (kept from mod_ssl's ssl_pre_handshake hook,
 * below).  NULL when there is none: the caller then
 * does not reuse the connection's verdict. */
static X509 *current_peer(polyprov_conn_t *cs)
{
    SSL *ssl = cs ? cs->ssl : NULL;

    if (!ssl) {
        return NULL;
    }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return SSL_get0_peer_certificate(ssl);
#else
    {
        X509 *x = SSL_get_peer_certificate(ssl);
        X509_free(x);                /* the session keeps its reference */
        return x;
    }
#endif
}

/* A child that stops ungracefully (SIGTERM: the MPM's just_die) destroys
 * its pools from the signal handler while its threads may still be inside
 * OpenSSL: freeing OpenSSL objects there is not safe, and the process is
 * ending anyway.  The connection-pool cleanups of the module leave them.
 * A threaded MPM's single process (httpd -X, as under valgrind) takes its
 * signals on a thread of their own and joins its workers before its pools
 * go: there they are freed, as at any other time. */
int polyprov_process_stopping(void)
{
    int state = AP_MPMQ_RUNNING, threaded = AP_MPMQ_NOT_SUPPORTED;

    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) != APR_SUCCESS
        || state != AP_MPMQ_STOPPING) {
        return 0;
    }
    return !(ap_exists_config_define("ONE_PROCESS")
             && ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) == APR_SUCCESS
             && threaded != AP_MPMQ_NOT_SUPPORTED);
}

static apr_status_t peer_release(void *data)
{
    polyprov_conn_t *cs = data;

    if (!polyprov_process_stopping()) {
        X509_free(cs->peer);
    }
    cs->peer = NULL;
    return APR_SUCCESS;
}

/* Remember the certificate the verdict is for, holding a reference so
 * that its address cannot be taken by another certificate meanwhile. */
static void keep_peer(conn_rec *c, polyprov_conn_t *cs, X509 *peer)
{
    if (cs->peer == peer) {
        return;
    }
    if (cs->peer) {
        X509_free(cs->peer);
    }
    else {
        apr_pool_cleanup_register(c->pool, cs, peer_release,
                                  apr_pool_cleanup_null);
    }
    cs->peer = peer;
    if (peer) {
        X509_up_ref(peer);
    }
}

static void conn_keep_ssl(conn_rec *c, void *ssl)
{
    polyprov_conn_t *cs = c->master ? NULL : conn_make(c);

    if (cs) {
        cs->ssl = ssl;
    }
}

static polyprov_conn_t *conn_state(conn_rec *c)
{
    while (c->master) {
        c = c->master;
    }
    return ap_get_module_config(c->conn_config, &polyprov_module);
}

void *polyprov_conn_ssl(conn_rec *c)
{
    polyprov_conn_t *cs = conn_state(c);

    return cs ? cs->ssl : NULL;
}

/* PP_STEP_CERT, PP_STEP_VERIFY and the CN of PP_STEP_CN.  From the connection if its
 * certificate was verified with the same trust, else from the core (its
 * process cache, or a full verification).  The connection's lock is held
 * throughout, so parallel HTTP/2 streams of one connection wait for the
 * first check instead of repeating it.  Returns PP_R_NO_CERT or PP_R_OK
 * (the verdict is then in v->facts). */
pp_reason_t polyprov_conn_cert(request_rec *r, const polyprov_dir_conf_t *dc,
                               const pp_pattern_t *pat,
                               polyprov_cert_view_t *v)
{
    conn_rec *c = r->connection;
    polyprov_conn_t *cs = conn_state(c);
    time_t now = (time_t)apr_time_sec(r->request_time);
    const char *pem;
    pp_reason_t rv = PP_R_OK;

    conn_rec *tls = c;
    X509 *peer;

    while (tls->master) {
        tls = tls->master;
    }
    if (cs) {
        conn_lock(cs);
        peer = current_peer(cs);
        if (cs->have && cs->ca == dc->ca && cs->crl == dc->crl
            && now < cs->facts.valid_until && peer && peer == cs->peer) {
            v->facts = cs->facts;
            v->facts.source = PP_CERT_CONNECTION;
            if (cs->cn.pattern != pat) {
                pp_cn_mac_of(pat, &cs->facts, &cs->cn);
            }
            v->cn = cs->cn;
            conn_unlock(cs);
            return PP_R_OK;
        }
    }
    if (cs && cs->ssl) {
        /* the certificate mod_ssl's SSL_CLIENT_CERT would give, as OpenSSL
         * parsed it, with the chain the handshake verified (none for a
         * resumed session: the session keeps the certificate, not it) */
        SSL *ssl = cs->ssl;
        X509 *leaf = current_peer(cs);
        STACK_OF(X509) *chain = NULL;
        long result = X509_V_ERR_UNSPECIFIED;
        if (!leaf) {
            rv = PP_R_NO_CERT;
            goto done;
        }
        if (!SSL_session_reused(ssl)
            && (chain = SSL_get0_verified_chain(ssl)) != NULL) {
            /* mod_ssl resets the verify result to X509_V_OK on every
             * request of a TLS 1.2 connection (ssl_hook_Access_classic),
             * also after an error optional_no_ca accepted; its
             * SSL_CLIENT_VERIFY keeps that apart ("GENEROUS") */
            const char *vfy = ap_ssl_var_lookup(r->pool, r->server, c, r,
                                              "SSL_CLIENT_VERIFY");
            if (vfy && !strcmp(vfy, "SUCCESS")) {
                result = SSL_get_verify_result(ssl);
            }
        }
        pp_cert_examine_x509(dc->ca, dc->crl, leaf, chain, result, now,
                             &v->facts);
    }
    else {
        pem = ap_ssl_var_lookup(r->pool, r->server, c, r, "SSL_CLIENT_CERT");
        if (!pem || !*pem) {
            rv = PP_R_NO_CERT;
            goto done;
        }
        pp_cert_examine_pem(dc->ca, dc->crl, pem, strlen(pem), now,
                            &v->facts);
    }
    pp_cn_mac_of(pat, &v->facts, &v->cn);
    if (APLOGrdebug(r)) {
        char fp[96];
        pp_fingerprint_format(v->facts.leaf_sha256, fp);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "PP003: client "
                      "certificate sha256:%s checked for this connection: %s "
                      "(%s)%s%s", fp, pp_reason_name(v->facts.verdict),
                      pp_cert_source_name(v->facts.source),
                      v->facts.leaf_expired ? ", expired at " : "",
                      v->facts.leaf_expired
                          ? polyprov_time_stamp(r->pool,
                                                   v->facts.not_after)
                          : "");
    }
    if (cs && v->facts.verdict == PP_R_OK) {
        /* kept for the certificate the connection holds now (when mod_ssl's
         * SSL cannot be had, peer is NULL and the verdict is not reused) */
        keep_peer(tls, cs, current_peer(cs));
        cs->have = 1;
        cs->ca = dc->ca;
        cs->crl = dc->crl;
        cs->facts = v->facts;
        cs->cn = v->cn;
    }
done:
    if (cs) {
        conn_unlock(cs);
    }
    return rv;
}

/* The test-only builds' hook: forget the connection's verdict. */
void polyprov_conn_forget(conn_rec *c)
{
    polyprov_conn_t *cs = conn_state(c);

    if (cs) {
        conn_lock(cs);
        cs->have = 0;
        conn_unlock(cs);
    }
}

static apr_status_t ssl_release(void *ssl)
{
    /* (not from an ungraceful stop's signal handler: see
     * polyprov_process_stopping) */
    if (!polyprov_process_stopping()) {
        SSL_free(ssl);
    }
    return APR_SUCCESS;
}

/* ssl_pre_handshake: mod_ssl made the connection's SSL.  Kept, with a
 * reference of the module's own (released when the connection's pool
 * goes, after mod_ssl's), for polyprov_expired_conn() and for the
 * connection's verdict, which holds only for the certificate the SSL
 * holds, on every connection. */
static int pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    if (is_proxy || c->master || !ssl) {
        return DECLINED;
    }
    if (SSL_up_ref(ssl)) {
        apr_pool_cleanup_register(c->pool, ssl, ssl_release,
                                  apr_pool_cleanup_null);
        conn_keep_ssl(c, ssl);
    }
    return DECLINED;
}

const char *polyprov_time_stamp(apr_pool_t *p, time_t t)
{
    struct tm tm;
    char buf[32];

    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf),
                                        "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        return "?";
    }
    return apr_pstrdup(p, buf);
}

void polyprov_conn_register(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    (void)p;
    ap_hook_pre_connection(polyprov_pre_connection, after_ssl, NULL,
                           APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, pre_handshake, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
