/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storm: a boot storm of Poly phones against a server on 127.0.0.1.
 *
 * Every phone has a certificate of its own (CN = its MAC, issued by the
 * test PKI's "Polycom Equipment Issuing CA 1"); the fleet shares one key
 * pair, so that ten thousand phones take a CA signature each and no key
 * generation.  Each phone plays Poly's boot sequence, one TLS handshake
 * (a new connection, no session resumption) per file:
 *
 *   1. GET 000000000000.cfg      (the master configuration)
 *   2. GET <MAC>.cfg             (its own configuration)
 *   3. GET 3111-40250-001.sip.ld (the firmware, a few MB)
 *   4. GET <MAC>-phone.cfg       (its own settings)
 *   5. PUT <MAC>-app.log         (its log)
 *
 * and with --foreign three more that must be refused (403): GET another
 * phone's two files and PUT its log.  Every answer is checked: the status
 * (200, 201 or 204 for the PUT, 403 for the foreign ones) and every byte
 * of each body; anything else, a refused phone included, is an error.
 *
 *   storm fleet    --pki DIR --out DIR --count N [--threads T]
 *   storm populate --fleet DIR --docroot DIR [--firmware-kb K]
 *   storm run      --fleet DIR --port P [--order phones|interleaved]
 *                  [--first F] [--count K] [--fleet-size N]
 *                  [--concurrency C] [--duration S] [--foreign] [--tls1.2]
 *                  [--json]
 *   storm keepalive --fleet DIR --port P [--concurrency C] [--rate R]
 *                  [--duration S] [--first F] [--samples FILE] [--json]
 *
 * run, order "phones": phones F .. F+K-1 (of the fleet's N), each playing
 * its steps back to back, C phones at a time: a real boot storm.
 * run, order "interleaved": requests F .. F+K-1 of an endless sequence in
 * which consecutive requests cycle through the steps, each for another
 * phone, and a phone's next step comes N requests after its previous one:
 * with N larger than every process's cache of verified certificates
 * together, no verification is ever a cache hit.  Phones per second is
 * then requests per second divided by the number of steps.
 * keepalive: C connections (one phone each) sending GET <MAC>.cfg on and
 * on, R requests per second in all, each timed from when it was due (a
 * stalled server makes the requests behind it late, and they count so).
 * --samples FILE also writes every answered request as a line "due
 * latency" (seconds; due on CLOCK_MONOTONIC), for a caller that sorts
 * them by what the server was doing when they were due.
 *
 * Bounded: at most K jobs, at most S seconds (default 300), a 30 s timeout
 * on every socket; 127.0.0.1 only.  The exit status is 0 when every answer
 * was the expected one, 1 otherwise, 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAC_BASE 0x0004F2100000ULL     /* the fleet's first MAC */
#define MAC_MAX 0xF00000               /* phones a fleet may hold */
#define FIRMWARE "3111-40250-001.sip.ld"
#define MASTER "000000000000.cfg"
#define IO_TIMEOUT_S 30
#define MAX_ERRORS_SHOWN 10

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "storm: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mac_of(unsigned long i, char lower[13], char upper[13])
{
    unsigned long long m = MAC_BASE + i;

    if (lower) {
        snprintf(lower, 13, "%012llx", m);
    }
    if (upper) {
        snprintf(upper, 13, "%012llX", m);
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read %s", path);
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0
        || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        die("cannot write %s: %s", path, strerror(errno));
    }
}

/* ------------------------------------------------------------------ */
/* What the server holds: the same functions make the files (populate) */
/* and check the answers (run).                                        */

static void cfg_body(const char *mac, int phone_cfg, char *out, size_t len)
{
    if (phone_cfg) {
        snprintf(out, len, "<?xml version=\"1.0\" standalone=\"yes\"?>\n"
                 "<!-- %s-phone.cfg: the settings of phone %s -->\n"
                 "<PHONE_CONFIG up.backlight.idleIntensity=\"1\" "
                 "lcl.ml.lang=\"English_United_States\" "
                 "device.set=\"1\" tag=\"%s\"/>\n", mac, mac, mac);
    }
    else {
        snprintf(out, len, "<?xml version=\"1.0\" standalone=\"yes\"?>\n"
                 "<!-- %s.cfg: the configuration of phone %s -->\n"
                 "<PHONE_CONFIG reg.1.address=\"%s@sip.example.com\" "
                 "reg.1.auth.userId=\"%s\" reg.1.auth.password=\"secret-%s\""
                 "/>\n", mac, mac, mac, mac, mac);
    }
}

static const char master_body[] =
    "<?xml version=\"1.0\" standalone=\"yes\"?>\n"
    "<!-- 000000000000.cfg: the master configuration of every phone -->\n"
    "<APPLICATION APP_FILE_PATH=\"" FIRMWARE "\" "
    "CONFIG_FILES=\"[PHONE_MAC_ADDRESS]-phone.cfg, [PHONE_MAC_ADDRESS].cfg\" "
    "LOG_FILE_DIRECTORY=\"\" OVERRIDES_DIRECTORY=\"\" "
    "CONTACTS_DIRECTORY=\"\" LICENSE_DIRECTORY=\"\"/>\n";

static unsigned char *firmware_bytes(size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    size_t i;

    if (!b) {
        die("out of memory");
    }
    for (i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        b[i] = (unsigned char)(s >> 24);
    }
    return b;
}

static void log_body(const char *mac, char *out, size_t len)
{
    size_t o = 0;
    int i;

    for (i = 0; i < 12 && o + 100 < len; i++) {
        o += (size_t)snprintf(out + o, len - o, "1202140%03d|boot |4|00|"
                              "phone %s: storm boot, line %d\n", i, mac, i);
    }
}

/* ------------------------------------------------------------------ */
/* storm fleet                                                         */

typedef struct {
    X509 *issuer;
    EVP_PKEY *issuer_key, *key;
    uint64_t serial0;
    unsigned long from, to;
    char **pem;
} fleet_job_t;

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

    if (!e || !X509_add_ext(x, e, -1)) {
        die("cannot add extension %s", value);
    }
    X509_EXTENSION_free(e);
}

static void *fleet_worker(void *arg)
{
    fleet_job_t *j = arg;
    unsigned long i;

    for (i = j->from; i < j->to; i++) {
        X509 *x = X509_new();
        X509_NAME *n = X509_get_subject_name(x);
        X509V3_CTX ctx;
        char upper[13];
        BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long len;

        mac_of(i, NULL, upper);
        X509_set_version(x, 2);
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), j->serial0 + i);
        X509_gmtime_adj(X509_getm_notBefore(x), -30L * 86400);
        X509_gmtime_adj(X509_getm_notAfter(x), 5400L * 86400);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (unsigned char *)upper, -1, -1, 0);
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                   (unsigned char *)"Polycom Inc.", -1, -1,
                                   0);
        X509_set_issuer_name(x, X509_get_subject_name(j->issuer));
        X509_set_pubkey(x, j->key);
        X509V3_set_ctx(&ctx, j->issuer, x, NULL, NULL, 0);
        add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, &ctx, NID_key_usage, "digitalSignature,keyEncipherment");
        add_ext(x, &ctx, NID_ext_key_usage, "clientAuth,serverAuth");
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
        if (!X509_sign(x, j->issuer_key, EVP_sha256())
            || !PEM_write_bio_X509(b, x)) {
            die("cannot sign phone %lu", i);
        }
        len = BIO_get_mem_data(b, &data);
        j->pem[i] = strndup(data, (size_t)len);
        BIO_free(b);
        X509_free(x);
    }
    return NULL;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (!x) {
        die("cannot read a certificate from %s", path);
    }
    fclose(f);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (!k) {
        die("cannot read a private key from %s", path);
    }
    fclose(f);
    return k;
}

static int cmd_fleet(const char *pki, const char *out, unsigned long count,
                     int threads)
{
    char path[4096];
    fleet_job_t *jobs;
    pthread_t *tids;
    X509 *issuer, *policy;
    EVP_PKEY *issuer_key, *key;
    unsigned char rnd[4];
    uint64_t serial0;
    unsigned long i;
    size_t total = 0, off = 0, len;
    char *all, *text;
    FILE *f;
    double t0 = now_s();
    int k;

    if (count == 0 || count > MAC_MAX) {
        die("--count must be 1 to %d", MAC_MAX);
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        die("cannot create %s: %s", out, strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/issuing1.crt", pki);
    issuer = load_cert(path);
    snprintf(path, sizeof(path), "%s/issuing1.key", pki);
    issuer_key = load_key(path);
    snprintf(path, sizeof(path), "%s/policy.crt", pki);
    policy = load_cert(path);
    key = EVP_RSA_gen(2048);
    if (!key) {
        die("cannot make the fleet's key");
    }
    /* serial numbers: a random prefix, then the phone's index */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        die("no random bytes");
    }
    serial0 = ((uint64_t)(rnd[0] & 0x7f) << 56 | (uint64_t)rnd[1] << 48
               | (uint64_t)rnd[2] << 40 | (uint64_t)rnd[3] << 32);
    jobs = calloc((size_t)threads, sizeof(*jobs));
    tids = calloc((size_t)threads, sizeof(*tids));
    char **pem = calloc(count, sizeof(char *));
    if (!jobs || !tids || !pem) {
        die("out of memory");
    }
    for (k = 0; k < threads; k++) {
        jobs[k] = (fleet_job_t){ issuer, issuer_key, key, serial0,
                                 count * (unsigned long)k / (unsigned long)threads,
                                 count * (unsigned long)(k + 1) / (unsigned long)threads,
                                 pem };
        if (pthread_create(&tids[k], NULL, fleet_worker, &jobs[k]) != 0) {
            die("cannot start a thread");
        }
    }
    for (k = 0; k < threads; k++) {
        pthread_join(tids[k], NULL);
    }
    for (i = 0; i < count; i++) {
        total += strlen(pem[i]);
    }
    all = malloc(total + 1);
    text = malloc((size_t)count * 13 + 64);
    if (!all || !text) {
        die("out of memory");
    }
    for (i = 0; i < count; i++) {
        len = strlen(pem[i]);
        memcpy(all + off, pem[i], len);
        off += len;
        free(pem[i]);
    }
    snprintf(path, sizeof(path), "%s/fleet.pem", out);
    write_file(path, all, total);
    off = (size_t)snprintf(text, 64, "# the storm fleet: %lu phones\n",
                           count);
    for (i = 0; i < count; i++) {
        mac_of(i, text + off, NULL);
        text[off + 12] = '\n';
        off += 13;
    }
    snprintf(path, sizeof(path), "%s/macs.txt", out);
    write_file(path, text, off);
    /* the key, and the intermediates a phone presents after its own */
    snprintf(path, sizeof(path), "%s/key.pem", out);
    f = fopen(path, "w");
    if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
        || fclose(f) != 0) {
        die("cannot write %s", path);
    }
    snprintf(path, sizeof(path), "%s/chain.pem", out);
    f = fopen(path, "w");
    if (!f || !PEM_write_X509(f, issuer) || !PEM_write_X509(f, policy)
        || fclose(f) != 0) {
        die("cannot write %s", path);
    }
    snprintf(path, sizeof(path), "%s/server-ca.crt", pki);
    text = read_file(path, &len);
    snprintf(path, sizeof(path), "%s/server-ca.crt", out);
    write_file(path, text, len);
    printf("storm: %lu phones in %s (%.1f s, %d threads)\n", count, out,
           now_s() - t0, threads);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The fleet, as the other commands load it                            */

typedef struct {
    char *pem;                   /* fleet.pem */
    size_t *off, *len;           /* each certificate's PEM */
    unsigned long n;
    X509 **x509;                 /* parsed on first use */
    EVP_PKEY *key;
    STACK_OF(X509) *chain;
    char cafile[4096];
} fleet_t;

static void fleet_load(fleet_t *fl, const char *dir)
{
    char path[4096];
    size_t len, o = 0, cap = 1024;
    const char *begin = "-----BEGIN CERTIFICATE-----";
    const char *end = "-----END CERTIFICATE-----";
    FILE *f;
    X509 *x;

    memset(fl, 0, sizeof(*fl));
    snprintf(path, sizeof(path), "%s/fleet.pem", dir);
    fl->pem = read_file(path, &len);
    fl->off = malloc(cap * sizeof(size_t));
    fl->len = malloc(cap * sizeof(size_t));
    while (fl->off && fl->len) {
        char *b = strstr(fl->pem + o, begin), *e;
        if (!b || !(e = strstr(b, end))) {
            break;
        }
        e += strlen(end);
        if (fl->n == cap) {
            cap *= 2;
            fl->off = realloc(fl->off, cap * sizeof(size_t));
            fl->len = realloc(fl->len, cap * sizeof(size_t));
            if (!fl->off || !fl->len) {
                die("out of memory");
            }
        }
        fl->off[fl->n] = (size_t)(b - fl->pem);
        fl->len[fl->n] = (size_t)(e - b);
        fl->n++;
        o = (size_t)(e - fl->pem);
    }
    if (fl->n == 0) {
        die("no certificate in %s", path);
    }
    fl->x509 = calloc(fl->n, sizeof(X509 *));
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    fl->key = load_key(path);
    snprintf(path, sizeof(path), "%s/chain.pem", dir);
    fl->chain = sk_X509_new_null();
    f = fopen(path, "r");
    while (f && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(fl->chain, x);
    }
    ERR_clear_error();
    if (f) {
        fclose(f);
    }
    snprintf(fl->cafile, sizeof(fl->cafile), "%s/server-ca.crt", dir);
}

/* Phone i's certificate, parsed once. */
static X509 *fleet_cert(fleet_t *fl, unsigned long i)
{
    X509 *x = __atomic_load_n(&fl->x509[i], __ATOMIC_ACQUIRE), *none = NULL;
    BIO *b;
    char cn[64], upper[13];

    if (x) {
        return x;
    }
    b = BIO_new_mem_buf(fl->pem + fl->off[i], (int)fl->len[i]);
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    mac_of(i, NULL, upper);
    if (!x || X509_NAME_get_text_by_NID(X509_get_subject_name(x),
                                        NID_commonName, cn, sizeof(cn)) < 0
        || strcmp(cn, upper) != 0) {
        die("fleet certificate %lu is not phone %s", i, upper);
    }
    if (!__atomic_compare_exchange_n(&fl->x509[i], &none, x, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        X509_free(x);
        x = none;
    }
    return x;
}

/* ------------------------------------------------------------------ */
/* storm populate                                                      */

static int cmd_populate(const char *fleetdir, const char *docroot,
                        unsigned long count, size_t firmware_kb)
{
    fleet_t fl;
    char path[4096], mac[13], body[1024];
    unsigned char *fw;
    unsigned long i;

    fleet_load(&fl, fleetdir);
    if (count == 0 || count > fl.n) {
        count = fl.n;
    }
    for (i = 0; i < count; i++) {
        mac_of(i, mac, NULL);
        snprintf(path, sizeof(path), "%s/%s.cfg", docroot, mac);
        cfg_body(mac, 0, body, sizeof(body));
        write_file(path, body, strlen(body));
        snprintf(path, sizeof(path), "%s/%s-phone.cfg", docroot, mac);
        cfg_body(mac, 1, body, sizeof(body));
        write_file(path, body, strlen(body));
    }
    snprintf(path, sizeof(path), "%s/" MASTER, docroot);
    write_file(path, master_body, strlen(master_body));
    fw = firmware_bytes(firmware_kb * 1024);
    snprintf(path, sizeof(path), "%s/" FIRMWARE, docroot);
    write_file(path, fw, firmware_kb * 1024);
    free(fw);
    printf("storm: the files of %lu phones, %s and a %zu KiB %s in %s\n",
           count, MASTER, firmware_kb, FIRMWARE, docroot);
    return 0;
}

/* ------------------------------------------------------------------ */
/* One exchange: a TLS connection, requests, answers checked           */

enum { ST_MASTER, ST_CFG, ST_FIRMWARE, ST_PHONE_CFG, ST_PUT_LOG,
       ST_FOREIGN_CFG, ST_FOREIGN_PHONE, ST_FOREIGN_PUT, ST_KEEPALIVE,
       ST_COUNT };

static const char *const step_names[ST_COUNT] = {
    MASTER, "<MAC>.cfg", "firmware", "<MAC>-phone.cfg", "PUT <MAC>-app.log",
    "foreign <MAC>.cfg", "foreign <MAC>-phone.cfg",
    "foreign PUT <MAC>-app.log", "keep-alive <MAC>.cfg"
};
static const char *const step_keys[ST_COUNT] = {
    "master", "cfg", "firmware", "phone_cfg", "put_log", "foreign_cfg",
    "foreign_phone_cfg", "foreign_put_log", "keepalive_cfg"
};

typedef struct {
    uint32_t *v;
    size_t n, cap;
    unsigned long ok, errors;
    unsigned long long bytes;
    double *due;                 /* --samples: when each was due */
    size_t due_cap;
} lat_t;

typedef struct {
    const char *host;
    int port;
    SSL_CTX *ctx;
    fleet_t *fl;
    unsigned long nplay;         /* the fleet's phones in play */
    unsigned long first, count;  /* jobs */
    int order_phones, foreign, nsteps;
    double deadline;
    unsigned char *firmware;
    size_t firmware_len;
    unsigned long next;          /* atomic: the next job */
    /* keep-alive */
    double rate, t0;
    int conc, samples;
    /* errors shown */
    pthread_mutex_t mu;
    int shown;
    unsigned long errors;
    char errtext[MAX_ERRORS_SHOWN][320];
} storm_t;

typedef struct {
    storm_t *st;
    int id;
    lat_t lat[ST_COUNT];
    unsigned long handshakes;
} worker_t;

static void lat_add(lat_t *l, double seconds)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (!l->v) {
            die("out of memory");
        }
    }
    l->v[l->n++] = (uint32_t)(seconds * 1e6 + 0.5);
}

/* A keep-alive sample with its due time (--samples); the list grows in
 * step with l->v. */
static void lat_add_due(lat_t *l, double seconds, double due, int keep)
{
    lat_add(l, seconds);
    if (!keep) {
        return;
    }
    if (l->due_cap < l->cap) {
        l->due_cap = l->cap;
        l->due = realloc(l->due, l->due_cap * sizeof(*l->due));
        if (!l->due) {
            die("out of memory");
        }
    }
    l->due[l->n - 1] = due;
}

static void report_error(storm_t *st, lat_t *l, const char *fmt, ...)
{
    va_list ap;

    l->errors++;
    pthread_mutex_lock(&st->mu);
    st->errors++;
    if (st->shown < MAX_ERRORS_SHOWN) {
        va_start(ap, fmt);
        vsnprintf(st->errtext[st->shown], sizeof(st->errtext[0]), fmt, ap);
        va_end(ap);
        st->shown++;
    }
    pthread_mutex_unlock(&st->mu);
}

typedef struct {
    int fd;
    SSL *ssl;
    char buf[65536];
    size_t have, used;
    char why[200];
} conn_t;

static void ssl_why(conn_t *c, const char *what)
{
    unsigned long e = ERR_get_error();
    char b[160];

    if (e) {
        ERR_error_string_n(e, b, sizeof(b));
    }
    else {
        snprintf(b, sizeof(b), "%s", errno ? strerror(errno) : "closed");
    }
    snprintf(c->why, sizeof(c->why), "%s: %s", what, b);
    ERR_clear_error();
}

static void conn_close(conn_t *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
}

/* Connect and hand-shake as phone i. */
static int conn_open(storm_t *st, conn_t *c, unsigned long phone)
{
    struct sockaddr_in sa;
    struct timeval tv = { IO_TIMEOUT_S, 0 };
    int one = 1;

    c->fd = -1;
    c->ssl = NULL;
    c->have = c->used = 0;
    c->why[0] = '\0';
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)st->port);
    inet_pton(AF_INET, st->host, &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(c->why, sizeof(c->why), "socket: %s", strerror(errno));
        return 0;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(c->why, sizeof(c->why), "connect: %s", strerror(errno));
        conn_close(c);
        return 0;
    }
    c->ssl = SSL_new(st->ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)
        || !SSL_set_tlsext_host_name(c->ssl, "localhost")
        || !SSL_set1_host(c->ssl, "localhost")
        || !SSL_use_certificate(c->ssl, fleet_cert(st->fl, phone))
        || !SSL_use_PrivateKey(c->ssl, st->fl->key)) {
        ssl_why(c, "TLS setup");
        conn_close(c);
        return 0;
    }
    errno = 0;
    if (SSL_connect(c->ssl) != 1) {
        ssl_why(c, "TLS handshake");
        conn_close(c);
        return 0;
    }
    return 1;
}

static int conn_write(conn_t *c, const char *data, size_t len)
{
    while (len) {
        int w = SSL_write(c->ssl, data, (int)len);
        if (w <= 0) {
            ssl_why(c, "write");
            return 0;
        }
        data += w;
        len -= (size_t)w;
    }
    return 1;
}

/* More bytes into c->buf; 0 at the end of the stream or on an error. */
static int conn_fill(conn_t *c)
{
    int r;

    if (c->used > 0) {
        memmove(c->buf, c->buf + c->used, c->have - c->used);
        c->have -= c->used;
        c->used = 0;
    }
    if (c->have == sizeof(c->buf)) {
        snprintf(c->why, sizeof(c->why), "response header too long");
        return 0;
    }
    errno = 0;
    r = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have));
    if (r <= 0) {
        ssl_why(c, "read");
        return 0;
    }
    c->have += (size_t)r;
    return 1;
}

/* Read one response: its status, and its body compared with want (of
 * want_len bytes; NULL: the body is not checked).  Returns the status, 0
 * when no complete response came; *body_ok tells whether the body was
 * the one expected; *bytes, its length. */
static int read_response(conn_t *c, const unsigned char *want,
                         size_t want_len, int *body_ok, size_t *bytes)
{
    char *hdr_end = NULL, *p;
    long long clen = -1;
    int status = 0, chunked = 0;
    size_t got = 0;

    *body_ok = 1;
    *bytes = 0;
    for (;;) {
        if (c->have > c->used) {
            hdr_end = memmem(c->buf + c->used, c->have - c->used,
                             "\r\n\r\n", 4);
        }
        if (hdr_end) {
            break;
        }
        if (!conn_fill(c)) {
            return 0;
        }
    }
    *hdr_end = '\0';
    p = c->buf + c->used;
    if (sscanf(p, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(c->why, sizeof(c->why), "not an HTTP response");
        return 0;
    }
    for (p = strstr(p, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (!strncasecmp(p + 2, "Content-Length:", 15)) {
            clen = strtoll(p + 17, NULL, 10);
        }
        else if (!strncasecmp(p + 2, "Transfer-Encoding:", 18)
                 && strcasestr(p + 20, "chunked")) {
            chunked = 1;
        }
    }
    c->used = (size_t)(hdr_end + 4 - c->buf);
    if (status == 204 || status == 304 || status < 200) {
        *body_ok = want == NULL || want_len == 0;
        return status;           /* no body, whatever the headers say */
    }
    if (chunked) {
        /* only error pages might come chunked: read, compare nothing */
        for (;;) {
            char *eol;
            long long n;
            while (!(eol = memmem(c->buf + c->used, c->have - c->used,
                                  "\r\n", 2))) {
                if (!conn_fill(c)) {
                    return 0;
                }
            }
            n = strtoll(c->buf + c->used, NULL, 16);
            c->used = (size_t)(eol + 2 - c->buf);
            while ((long long)(c->have - c->used) < n + 2) {
                if (!conn_fill(c)) {
                    return 0;
                }
            }
            c->used += (size_t)n + 2;
            got += (size_t)n;
            if (n == 0) {
                break;
            }
        }
        *bytes = got;
        *body_ok = want == NULL;
        return status;
    }
    if (clen < 0) {
        /* neither a length nor chunks: the body ends with the stream */
        do {
            got += c->have - c->used;
            c->used = c->have;
        } while (conn_fill(c));
        *bytes = got;
        *body_ok = want == NULL;
        return status;
    }
    while ((long long)got < clen) {
        size_t avail = c->have - c->used, take;
        if (avail == 0) {
            if (!conn_fill(c)) {
                return 0;
            }
            continue;
        }
        take = (long long)avail < clen - (long long)got
               ? avail : (size_t)(clen - (long long)got);
        if (want && (got + take > want_len
                     || memcmp(c->buf + c->used, want + got, take) != 0)) {
            *body_ok = 0;
        }
        c->used += take;
        got += take;
    }
    if (want && got != want_len) {
        *body_ok = 0;
    }
    *bytes = got;
    return status;
}

/* One step of phone i, on a new connection. */
static void play(worker_t *w, unsigned long phone, int step)
{
    storm_t *st = w->st;
    lat_t *l = &w->lat[step];
    unsigned long target = phone;
    char mac[13], tmac[13], req[2048], body[1024], want[1024];
    const unsigned char *expect = NULL;
    size_t expect_len = 0, bytes = 0, blen = 0;
    int status, body_ok, ok_status = 200, alt_status = 200;
    double t0 = now_s();
    conn_t c;

    if (step >= ST_FOREIGN_CFG) {
        target = (phone + 1) % st->nplay;
        ok_status = alt_status = 403;
    }
    mac_of(phone, mac, NULL);
    mac_of(target, tmac, NULL);
    switch (step) {
    case ST_MASTER:
        snprintf(req, sizeof(req), "GET /" MASTER);
        expect = (const unsigned char *)master_body;
        expect_len = strlen(master_body);
        break;
    case ST_CFG:
    case ST_FOREIGN_CFG:
        snprintf(req, sizeof(req), "GET /%s.cfg", tmac);
        cfg_body(tmac, 0, want, sizeof(want));
        break;
    case ST_FIRMWARE:
        snprintf(req, sizeof(req), "GET /" FIRMWARE);
        expect = st->firmware;
        expect_len = st->firmware_len;
        break;
    case ST_PHONE_CFG:
    case ST_FOREIGN_PHONE:
        snprintf(req, sizeof(req), "GET /%s-phone.cfg", tmac);
        cfg_body(tmac, 1, want, sizeof(want));
        break;
    default:                     /* the PUTs */
        snprintf(req, sizeof(req), "PUT /%s-app.log", tmac);
        log_body(mac, body, sizeof(body));
        blen = strlen(body);
        if (step == ST_PUT_LOG) {
            ok_status = 201;
            alt_status = 204;    /* replaced: a phone that booted before */
        }
        break;
    }
    if (step == ST_CFG || step == ST_PHONE_CFG) {
        expect = (const unsigned char *)want;
        expect_len = strlen(want);
    }
    if (ok_status == 403) {
        expect = NULL;           /* an error page: not compared */
    }
    snprintf(req + strlen(req), sizeof(req) - strlen(req),
             " HTTP/1.1\r\nHost: localhost\r\n"
             "User-Agent: FileTransport PolycomVVX-VVX_411-UA/6.4.0 "
             "(storm)\r\nAccept: */*\r\nConnection: close\r\n");
    if (blen) {
        snprintf(req + strlen(req), sizeof(req) - strlen(req),
                 "Content-Type: text/plain\r\nContent-Length: %zu\r\n",
                 blen);
    }
    strcat(req, "\r\n");
    if (!conn_open(st, &c, phone)) {
        report_error(st, l, "phone %s, %s: %s", mac, step_names[step],
                     c.why);
        return;
    }
    w->handshakes++;
    if (!conn_write(&c, req, strlen(req))
        || (blen && !conn_write(&c, body, blen))) {
        report_error(st, l, "phone %s, %s: %s", mac, step_names[step],
                     c.why);
        conn_close(&c);
        return;
    }
    status = read_response(&c, expect, expect_len, &body_ok, &bytes);
    if (status == 0) {
        report_error(st, l, "phone %s, %s: no response (%s)", mac,
                     step_names[step], c.why);
    }
    else if (status != ok_status && status != alt_status) {
        report_error(st, l, "phone %s, %s: status %d, expected %d",
                     mac, step_names[step], status, ok_status);
    }
    else if (!body_ok) {
        report_error(st, l, "phone %s, %s: status %d but not the expected "
                     "body (%zu bytes)", mac, step_names[step], status,
                     bytes);
    }
    else {
        l->ok++;
        l->bytes += bytes;
        lat_add(l, now_s() - t0);
    }
    conn_close(&c);
}

/* Interleaved: job j is step s = j mod S of phone (j div S + (S-1-s)·G)
 * mod N with G = N div S, so that consecutive jobs cycle through the
 * steps and a phone's step s+1 comes G·S (about N) jobs after its step s. */
static void job_interleaved(storm_t *st, unsigned long j,
                            unsigned long *phone, int *step)
{
    unsigned long S = (unsigned long)st->nsteps;
    unsigned long G = st->nplay / S ? st->nplay / S : 1;
    unsigned long s = j % S;

    *step = (int)s;
    *phone = (j / S + (S - 1 - s) * G) % st->nplay;
}

static const int foreign_steps[] = { ST_FOREIGN_CFG, ST_FOREIGN_PHONE,
                                     ST_FOREIGN_PUT };

static int step_of(int k)
{
    return k < 5 ? k : foreign_steps[k - 5];
}

static void *run_worker(void *arg)
{
    worker_t *w = arg;
    storm_t *st = w->st;

    for (;;) {
        unsigned long k = __atomic_fetch_add(&st->next, 1, __ATOMIC_RELAXED);
        unsigned long phone;
        int step, s;

        if (k >= st->count || now_s() > st->deadline) {
            break;
        }
        if (st->order_phones) {
            phone = (st->first + k) % st->nplay;
            for (s = 0; s < st->nsteps && now_s() <= st->deadline; s++) {
                play(w, phone, step_of(s));
            }
        }
        else {
            job_interleaved(st, st->first + k, &phone, &step);
            play(w, phone, step_of(step));
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* keep-alive: paced GETs on long connections                          */

static void *keepalive_worker(void *arg)
{
    worker_t *w = arg;
    storm_t *st = w->st;
    lat_t *l = &w->lat[ST_KEEPALIVE];
    unsigned long phone = (st->first + (unsigned long)w->id) % st->nplay;
    double period = (double)st->conc / st->rate;
    double due = st->t0 + period * (double)w->id / (double)st->conc;
    char mac[13], req[512], want[1024];
    conn_t c;
    int open = 0, attempt;

    mac_of(phone, mac, NULL);
    cfg_body(mac, 0, want, sizeof(want));
    snprintf(req, sizeof(req), "GET /%s.cfg HTTP/1.1\r\nHost: localhost\r\n"
             "User-Agent: FileTransport PolycomVVX-VVX_411-UA/6.4.0 "
             "(storm)\r\nAccept: */*\r\n\r\n", mac);
    while (due < st->deadline) {
        double now = now_s();
        int status, body_ok;
        size_t bytes;

        if (due > now) {
            struct timespec ts;
            double d = due - now;
            ts.tv_sec = (time_t)d;
            ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
            nanosleep(&ts, NULL);
        }
        /* on the open connection; if the server closed it (keep-alive
         * limits), once more on a new one, still timed from `due` */
        status = 0;
        for (attempt = 0; attempt < 2 && status == 0; attempt++) {
            if (!open) {
                if (!conn_open(st, &c, phone)) {
                    break;
                }
                w->handshakes++;
                open = 1;
            }
            if (!conn_write(&c, req, strlen(req))
                || (status = read_response(&c, (const unsigned char *)want,
                                           strlen(want), &body_ok,
                                           &bytes)) == 0) {
                conn_close(&c);
                open = 0;
            }
        }
        if (status == 0) {
            report_error(st, l, "phone %s: %s", mac, c.why);
            due += period;
            continue;
        }
        if (status != 200 || !body_ok) {
            report_error(st, l, "phone %s, keep-alive GET: status %d%s", mac,
                         status, body_ok ? "" : ", not the expected body");
        }
        else {
            l->ok++;
            l->bytes += bytes;
            lat_add_due(l, now_s() - due, due, st->samples);
        }
        due += period;
    }
    if (open) {
        conn_close(&c);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static double pct(const lat_t *l, double p)
{
    size_t i;

    if (l->n == 0) {
        return 0;
    }
    i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->v[i] / 1000.0;
}

static void merge(lat_t *into, const lat_t *from)
{
    size_t k;

    for (k = 0; k < from->n; k++) {
        lat_add(into, from->v[k] / 1e6);
    }
    into->ok += from->ok;
    into->errors += from->errors;
    into->bytes += from->bytes;
}

static SSL_CTX *client_ctx(fleet_t *fl, int tls12)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int i;

    if (!ctx) {
        die("no TLS context");
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (tls12) {
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    }
    /* a full handshake every time, as the phones do */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (!SSL_CTX_load_verify_locations(ctx, fl->cafile, NULL)) {
        die("cannot read %s", fl->cafile);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    for (i = 0; i < sk_X509_num(fl->chain); i++) {
        X509 *x = sk_X509_value(fl->chain, i);
        X509_up_ref(x);
        if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
            die("cannot add the intermediates");
        }
    }
    return ctx;
}

/* Every keep-alive sample as a line "due latency": the time it was due on
 * CLOCK_MONOTONIC (the clock of Python's time.monotonic()) and its
 * latency, both in seconds; in no particular order. */
static void write_samples(const char *path, const worker_t *w, int n)
{
    FILE *f = fopen(path, "w");
    int i;
    size_t k;

    if (!f) {
        die("cannot write %s: %s", path, strerror(errno));
    }
    for (i = 0; i < n; i++) {
        const lat_t *l = &w[i].lat[ST_KEEPALIVE];
        for (k = 0; l->due && k < l->n; k++) {
            fprintf(f, "%.6f %.6f\n", l->due[k], l->v[k] / 1e6);
        }
    }
    if (fclose(f) != 0) {
        die("cannot write %s", path);
    }
}

typedef struct {
    const char *fleet, *pki, *out, *docroot, *host, *samples;
    int port, conc, foreign, tls12, json, threads, keepalive;
    int order_phones;
    unsigned long first, count, nplay;
    double duration, rate;
    size_t firmware_kb;
} opts_t;

static int cmd_run(const opts_t *o)
{
    storm_t st;
    fleet_t fl;
    worker_t *w;
    pthread_t *tids;
    lat_t total[ST_COUNT];
    unsigned long handshakes = 0, jobs_ok = 0;
    double t0, el;
    int i, s, used[ST_COUNT] = { 0 };

    if (strcmp(o->host, "127.0.0.1") != 0) {
        die("--host: 127.0.0.1 only");
    }
    if (o->port <= 0 || o->port > 65535) {
        die("--port is needed");
    }
    fleet_load(&fl, o->fleet);
    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.mu, NULL);
    st.host = o->host;
    st.port = o->port;
    st.fl = &fl;
    st.nplay = o->nplay && o->nplay <= fl.n ? o->nplay : fl.n;
    st.first = o->first;
    st.order_phones = o->order_phones;
    st.foreign = o->foreign;
    st.nsteps = o->foreign ? 8 : 5;
    st.conc = o->conc;
    st.rate = o->rate;
    st.samples = o->samples != NULL;
    st.ctx = client_ctx(&fl, o->tls12);
    if (!o->keepalive) {
        st.count = o->count ? o->count
                            : (o->order_phones ? st.nplay
                                               : st.nplay * (unsigned long)st.nsteps);
        /* the firmware's expected bytes: its size on the server is not
         * known here, so populate's size is given again (--firmware-kb) */
        st.firmware_len = o->firmware_kb * 1024;
        st.firmware = firmware_bytes(st.firmware_len);
    }
    w = calloc((size_t)o->conc, sizeof(*w));
    tids = calloc((size_t)o->conc, sizeof(*tids));
    if (!w || !tids) {
        die("out of memory");
    }
    t0 = now_s();
    st.t0 = t0;
    st.deadline = t0 + o->duration;
    for (i = 0; i < o->conc; i++) {
        w[i].st = &st;
        w[i].id = i;
        if (pthread_create(&tids[i], NULL,
                           o->keepalive ? keepalive_worker : run_worker,
                           &w[i]) != 0) {
            die("cannot start a thread");
        }
    }
    for (i = 0; i < o->conc; i++) {
        pthread_join(tids[i], NULL);
    }
    el = now_s() - t0;
    if (o->samples) {
        write_samples(o->samples, w, o->conc);
    }
    memset(total, 0, sizeof(total));
    for (i = 0; i < o->conc; i++) {
        handshakes += w[i].handshakes;
        for (s = 0; s < ST_COUNT; s++) {
            merge(&total[s], &w[i].lat[s]);
            free(w[i].lat[s].v);
            free(w[i].lat[s].due);
        }
    }
    for (s = 0; s < ST_COUNT; s++) {
        qsort(total[s].v, total[s].n, sizeof(uint32_t), cmp_u32);
        used[s] = total[s].ok + total[s].errors > 0;
        jobs_ok += total[s].ok;
    }
    if (o->json) {
        printf("{\"mode\": \"%s\", \"order\": \"%s\", \"concurrency\": %d, "
               "\"fleet\": %lu, \"first\": %lu, \"seconds\": %.3f, "
               "\"handshakes\": %lu, \"requests_ok\": %lu, \"errors\": %lu, "
               "\"requests_per_s\": %.2f, \"phones_per_s\": %.3f, "
               "\"steps\": {", o->keepalive ? "keepalive" : "storm",
               o->order_phones ? "phones" : "interleaved", o->conc,
               st.nplay, st.first, el, handshakes, jobs_ok, st.errors,
               jobs_ok / el, jobs_ok / el / st.nsteps);
        for (s = 0, i = 0; s < ST_COUNT; s++) {
            if (!used[s]) {
                continue;
            }
            printf("%s\"%s\": {\"ok\": %lu, \"errors\": %lu, \"bytes\": %llu, "
                   "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
                   "\"p999_ms\": %.3f, \"max_ms\": %.3f}", i++ ? ", " : "",
                   step_keys[s], total[s].ok, total[s].errors,
                   total[s].bytes, pct(&total[s], 0.5),
                   pct(&total[s], 0.9), pct(&total[s], 0.99),
                   pct(&total[s], 0.999), pct(&total[s], 1.0));
        }
        printf("}, \"error_samples\": [");
        for (i = 0; i < st.shown; i++) {
            char *q;
            for (q = st.errtext[i]; *q; q++) {
                if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) {
                    *q = '\'';
                }
            }
            printf("%s\"%s\"", i ? ", " : "", st.errtext[i]);
        }
        printf("]}\n");
    }
    else {
        printf("storm %s: %lu requests answered as expected in %.2f s, "
               "concurrency %d, %lu phones in play\n",
               o->keepalive ? "keep-alive" : (o->order_phones
                   ? "(each phone's files back to back)"
                   : "(interleaved)"),
               jobs_ok, el, o->conc, st.nplay);
        printf("  %.1f requests/s, %.2f phones/s, %lu handshakes, "
               "%lu errors\n", jobs_ok / el, jobs_ok / el / st.nsteps,
               handshakes, st.errors);
        printf("  %-28s %7s %6s %9s %9s %9s %9s\n", "step", "ok", "errors",
               "p50 ms", "p99 ms", "p99.9 ms", "max ms");
        for (s = 0; s < ST_COUNT; s++) {
            if (!used[s]) {
                continue;
            }
            printf("  %-28s %7lu %6lu %9.2f %9.2f %9.2f %9.2f\n",
                   step_names[s], total[s].ok, total[s].errors,
                   pct(&total[s], 0.5), pct(&total[s], 0.99),
                   pct(&total[s], 0.999), pct(&total[s], 1.0));
        }
        for (i = 0; i < st.shown; i++) {
            printf("  error: %s\n", st.errtext[i]);
        }
        if (st.errors > (unsigned long)st.shown) {
            printf("  ... and %lu more errors\n",
                   st.errors - (unsigned long)st.shown);
        }
    }
    return st.errors ? 1 : 0;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
        "usage: storm fleet --pki DIR --out DIR --count N [--threads T]\n"
        "       storm populate --fleet DIR --docroot DIR [--firmware-kb K]"
        " [--count N]\n"
        "       storm run --fleet DIR --port P [--order phones|interleaved]"
        " [--first F]\n"
        "                 [--count K] [--fleet-size N] [--concurrency C]"
        " [--duration S]\n"
        "                 [--firmware-kb K] [--foreign] [--tls1.2] [--json]\n"
        "       storm keepalive --fleet DIR --port P [--concurrency C]"
        " [--rate R]\n"
        "                 [--duration S] [--first F] [--samples FILE] [--json]\n");
    exit(2);
}

static unsigned long num(const char *s)
{
    char *e;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &e, 10);
    if (!*s || *e || errno) {
        usage();
    }
    return v;
}

int main(int argc, char **argv)
{
    opts_t o;
    const char *cmd;
    int i;

    memset(&o, 0, sizeof(o));
    o.host = "127.0.0.1";
    o.conc = 8;
    o.duration = 300;
    o.rate = 100;
    o.threads = 2;
    o.firmware_kb = 2048;
    if (argc < 2) {
        usage();
    }
    cmd = argv[1];
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--pki")) o.pki = v;
        else if (ARG("--out")) o.out = v;
        else if (ARG("--fleet")) o.fleet = v;
        else if (ARG("--docroot")) o.docroot = v;
        else if (ARG("--host")) o.host = v;
        else if (ARG("--port")) o.port = (int)num(v);
        else if (ARG("--count")) o.count = num(v);
        else if (ARG("--first")) o.first = num(v);
        else if (ARG("--fleet-size")) o.nplay = num(v);
        else if (ARG("--concurrency")) o.conc = (int)num(v);
        else if (ARG("--threads")) o.threads = (int)num(v);
        else if (ARG("--duration")) o.duration = atof(v);
        else if (ARG("--rate")) o.rate = atof(v);
        else if (ARG("--firmware-kb")) o.firmware_kb = num(v);
        else if (ARG("--samples")) o.samples = v;
        else if (ARG("--order")) {
            if (!strcmp(v, "phones")) o.order_phones = 1;
            else if (!strcmp(v, "interleaved")) o.order_phones = 0;
            else usage();
        }
        else if (!strcmp(a, "--foreign")) o.foreign = 1;
        else if (!strcmp(a, "--tls1.2")) o.tls12 = 1;
        else if (!strcmp(a, "--json")) o.json = 1;
        else usage();
#undef ARG
    }
    if (o.conc < 1 || o.conc > 1024 || o.threads < 1 || o.threads > 64
        || o.duration <= 0 || o.rate <= 0) {
        usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "fleet") && o.pki && o.out && o.count) {
        return cmd_fleet(o.pki, o.out, o.count, o.threads);
    }
    if (!strcmp(cmd, "populate") && o.fleet && o.docroot) {
        return cmd_populate(o.fleet, o.docroot, o.count, o.firmware_kb);
    }
    if (!strcmp(cmd, "run") && o.fleet) {
        return cmd_run(&o);
    }
    if (!strcmp(cmd, "keepalive") && o.fleet) {
        o.keepalive = 1;
        return cmd_run(&o);
    }
    usage();
    return 2;
}
