/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check: what mod_polyprov would decide, without a server.
 *
 * Built from the module's httpd-free core (build/libpolyprov.a): the
 * directives' values are given as options and loaded by the core's own
 * loaders, the device certificate is verified by the core's own
 * verification, and the request is decided by pp_decide(), the one
 * implementation of docs/decisions.md's decision table.  This file only gathers
 * the facts (as the glue does from httpd) and prints each step.
 *
 *   polyprov-check [directive options] [--cert FILE] [request options] [URI]
 *   polyprov-check --check-list FILE...
 *   polyprov-check --show-ca FILE... [--issuer-fingerprint sha256:HEX]...
 *   polyprov-check --known-cas
 *   polyprov-check --readiness [--json] ERROR_LOG...
 *
 * Exit status: 0 allowed (or: good list, CA file accepted), 1 refused (or:
 * a list with a bad line), 2 usage or file error.  See polyprov-check(1).
 */
#define _GNU_SOURCE
#include "pp_core.h"
#include "pp_version.h"   /* PP_VERSION, made from VERSION (Makefile) */
#include "pc_input.h"
#include "pc_dump.h"
#include "pc_readiness.h"

#include <fnmatch.h>
#include <regex.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define PROG "polyprov-check"
#define EXIT_ALLOWED 0
#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define MAXFILES 64
#define CA_FILE_MAX (16 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Poly's published CA certificates: docs/deployment.md's table ("The Polycom CA
 * certificates").  The one place in the code that holds them;
 * tests/integration/test_check_tool.py holds this table and docs/deployment.md's
 * to each other (through --known-cas). */

static const struct {
    const char *name;
    const char *sha256;
} POLY_CAS[] = {
    { "Polycom Root CA",
      "5A:9A:1F:57:09:02:08:B9:AC:DA:4F:23:95:10:15:39:"
      "77:AE:A2:10:89:79:15:01:4D:43:1E:FF:06:60:1E:BE" },
    { "Polycom Equipment Policy CA",
      "77:F0:CF:45:BC:5D:C4:A7:1F:74:20:BD:4D:AD:E9:C7:"
      "AB:AD:61:C6:8E:91:4C:58:22:78:75:AC:95:FA:8A:7A" },
    { "Polycom Equipment Issuing CA 1",
      "2D:FD:3E:9E:45:57:AB:4F:6F:D1:7B:45:05:39:19:61:"
      "0E:8E:77:1E:6A:78:23:9B:08:D4:7C:81:53:25:A0:68" },
    { "Polycom Equipment Issuing CA 2",
      "90:B5:7C:FF:4C:68:1E:53:9E:5D:13:1E:B5:F9:8D:2B:"
      "48:AB:9A:BE:CC:1E:9F:0D:DA:F2:56:2A:B4:7A:F0:06" },
};
#define NPOLY (sizeof(POLY_CAS) / sizeof(POLY_CAS[0]))

/* ------------------------------------------------------------------ */
/* The scope's settings: one option per directive.                     */

typedef struct {
    const char *ca_files[MAXFILES];        /* PolyProvTrustedCA */
    int nca;
    const char *crl_files[MAXFILES];       /* PolyProvCRL (add up) */
    int ncrl;
    unsigned char pins[MAXFILES][32];      /* PolyProvIssuerFingerprint */
    int npins;
    const char *cn_pattern;                /* PolyProvCNPattern */
    const char *allow_list;                /* PolyProvAllowList */
    const char *deny_list;                 /* PolyProvDenyList */
    char *shared_words[MAXFILES];          /* PolyProvSharedFiles */
    int nshared;
    int shared_only;                       /* PolyProv SharedOnly */
    int allow_expired;                     /* PolyProvAllowExpired On */
    int mode_off;                          /* PolyProv Off (--dump) */
    const char *dump, *host;               /* --dump FILE, --host NAME */
    int from_dump;                         /* the directives came from it */
} settings_t;

/* What the settings become, loaded by the core as the module loads them. */
typedef struct {
    pp_ca_t *ca;
    pp_crl_t *crl;
    pp_pattern_t *pattern;
    pp_shared_t *shared;
    pp_listset_t *lists;
    char state_dir[4096];                  /* the lists' snapshots */
    pp_scope_t scope;
} loaded_t;

/* The request, and the certificate the client presents. */
typedef struct {
    const char *cert_file;
    int no_cert, no_tls;
    const char *method;
    const char *destination;
    const char *docroot, *file;
    const char *uri;
} request_opts_t;

/* ------------------------------------------------------------------ */

static int verbose_logs = 1;

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(" PROG " --help for the options)\n");
    exit(EXIT_USAGE);
}

static void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void error_msg(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);                /* in order, on a terminal or a pipe */
    fprintf(stderr, PROG ": error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The core's log lines (an expired CA or CRL, ...) as warnings. */
static void log_sink(void *baton, const char *file, int line, int level,
                     const char *msg)
{
    (void)baton;
    (void)file;
    (void)line;
    if (verbose_logs && level <= PP_LOG_WARN) {
        fprintf(stderr, PROG ": warning: %s\n", msg);
    }
}

static void usage(FILE *f)
{
    fputs(
"usage: " PROG " [DIRECTIVE OPTIONS] --cert FILE [REQUEST OPTIONS] [URI]\n"
"       " PROG " --dump FILE [--host NAME] --cert FILE [REQUEST OPTIONS] URI\n"
"       " PROG " --check-list FILE...\n"
"       " PROG " --show-ca FILE... [--issuer-fingerprint sha256:HEX]...\n"
"       " PROG " --readiness [--json] ERROR_LOG...\n"
"       " PROG " --known-cas | --help | --version\n"
"\n"
"What mod_polyprov would decide for a request, step by step, without a\n"
"server; the last line carries the reason the module would log.\n"
"\n"
"Directive options (as in the virtual host's configuration):\n"
"  --trusted-ca FILE          PolyProvTrustedCA (repeat for several files)\n"
"  --crl FILE                 PolyProvCRL (repeat: they add up)\n"
"  --issuer-fingerprint FP    PolyProvIssuerFingerprint sha256:HEX (repeat)\n"
"  --cn-pattern REGEX         PolyProvCNPattern\n"
"  --allow-list FILE          PolyProvAllowList\n"
"  --deny-list FILE           PolyProvDenyList\n"
"  --shared-files WORDS       PolyProvSharedFiles (wildcards, * or none;\n"
"                             default * under PolyProv On, none under\n"
"                             SharedOnly)\n"
"  --shared-only              PolyProv SharedOnly (default: PolyProv On)\n"
"  --allow-expired            PolyProvAllowExpired On\n"
"\n"
"Or the server's own configuration, instead of the options above:\n"
"  --dump FILE                the output of apachectl -t -D DUMP_POLYPROV\n"
"                             ('-' for standard input): the scopes of\n"
"                             --host that apply to the URI, merged as\n"
"                             httpd merges them\n"
"  --host NAME[:PORT]         the virtual host (ServerName or ServerAlias);\n"
"                             needed when the dump has several\n"
"\n"
"The client and the request:\n"
"  --cert FILE                the device certificate, PEM or DER, alone or\n"
"                             followed by its chain (the first is used)\n"
"  --no-cert                  the client presents no certificate\n"
"  --no-tls                   plain HTTP (TLS is assumed otherwise)\n"
"  --method METHOD            GET (default), PUT, COPY, PROPPATCH, ...\n"
"  --destination URI          the Destination header of a COPY or MOVE\n"
"  --docroot DIR              the DocumentRoot: the URI is looked up below\n"
"                             it as httpd does (directories, path info)\n"
"  --file PATH                the file the URI maps to (an Alias target)\n"
"  URI                        the request path; without --docroot and\n"
"                             --file it is taken as the file's path below\n"
"                             DocumentRoot; without a URI, steps 1 to 7\n"
"\n"
"Other modes:\n"
"  --check-list FILE...       check list files as the module reads them\n"
"  --show-ca FILE...          every certificate of PolyProvTrustedCA files\n"
"  --known-cas                Poly's published CA fingerprints\n"
"  --readiness ERROR_LOG...   the phones PolyProv On would refuse, from the\n"
"                             PolyProv Report lines of the error logs (-:\n"
"                             standard input), by reason and phone; exit 1\n"
"                             when there are any, 0 when none\n"
"  --json                     (with --readiness) the same as JSON\n"
"\n"
"Exit status: 0 allowed, 1 refused, 2 usage or file error.\n", f);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

enum {
    OPT_TRUSTED_CA = 256, OPT_CRL, OPT_PIN, OPT_CN_PATTERN, OPT_ALLOW,
    OPT_DENY, OPT_SHARED, OPT_SHARED_ONLY, OPT_CERT, OPT_NO_CERT,
    OPT_NO_TLS, OPT_METHOD, OPT_DESTINATION, OPT_DOCROOT, OPT_FILE,
    OPT_CHECK_LIST, OPT_SHOW_CA, OPT_KNOWN_CAS, OPT_HELP, OPT_VERSION,
    OPT_ALLOW_EXPIRED, OPT_DUMP, OPT_HOST, OPT_READINESS, OPT_JSON
};

static const struct option options[] = {
    { "trusted-ca", required_argument, NULL, OPT_TRUSTED_CA },
    { "crl", required_argument, NULL, OPT_CRL },
    { "issuer-fingerprint", required_argument, NULL, OPT_PIN },
    { "cn-pattern", required_argument, NULL, OPT_CN_PATTERN },
    { "allow-list", required_argument, NULL, OPT_ALLOW },
    { "deny-list", required_argument, NULL, OPT_DENY },
    { "shared-files", required_argument, NULL, OPT_SHARED },
    { "shared-only", no_argument, NULL, OPT_SHARED_ONLY },
    { "allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED },
    { "dump", required_argument, NULL, OPT_DUMP },
    { "host", required_argument, NULL, OPT_HOST },
    { "cert", required_argument, NULL, OPT_CERT },
    { "no-cert", no_argument, NULL, OPT_NO_CERT },
    { "no-tls", no_argument, NULL, OPT_NO_TLS },
    { "method", required_argument, NULL, OPT_METHOD },
    { "destination", required_argument, NULL, OPT_DESTINATION },
    { "docroot", required_argument, NULL, OPT_DOCROOT },
    { "file", required_argument, NULL, OPT_FILE },
    { "check-list", no_argument, NULL, OPT_CHECK_LIST },
    { "show-ca", no_argument, NULL, OPT_SHOW_CA },
    { "known-cas", no_argument, NULL, OPT_KNOWN_CAS },
    { "readiness", no_argument, NULL, OPT_READINESS },
    { "json", no_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

typedef enum { MODE_DECIDE, MODE_CHECK_LIST, MODE_SHOW_CA, MODE_KNOWN,
               MODE_READINESS } mode_t_;

static int json_output;            /* --json */

static void add_file(const char **v, int *n, const char *path, const char *opt)
{
    if (*n >= MAXFILES) {
        die_usage("too many %s options (at most %d)", opt, MAXFILES);
    }
    if (!*path) {
        die_usage("%s needs a file name", opt);
    }
    v[(*n)++] = path;
}

/* PolyProvSharedFiles takes several words: so does --shared-files, split
 * on blanks as httpd splits the directive's arguments. */
static void add_shared(settings_t *s, const char *arg)
{
    const char *p = arg;

    while (*p) {
        size_t n;
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (!n) {
            break;
        }
        if (s->nshared >= MAXFILES) {
            die_usage("too many --shared-files words (at most %d)", MAXFILES);
        }
        if (!(s->shared_words[s->nshared] = strndup(p, n))) {
            die_usage("out of memory");
        }
        s->nshared++;
        p += n;
    }
}

static int valid_method(const char *m)
{
    if (!*m) {
        return 0;
    }
    for (; *m; m++) {
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z')
              || (*m >= '0' && *m <= '9') || strchr("!#$%&'*+-.^_`|~", *m))) {
            return 0;
        }
    }
    return 1;
}

static mode_t_ parse_args(int argc, char **argv, settings_t *s,
                          request_opts_t *r, int *first_operand)
{
    mode_t_ mode = MODE_DECIDE;
    int c, modes = 0, directives = 0, pins = 0;
    char err[512];

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_TRUSTED_CA:
            add_file(s->ca_files, &s->nca, optarg, "--trusted-ca");
            directives++;
            break;
        case OPT_CRL:
            add_file(s->crl_files, &s->ncrl, optarg, "--crl");
            directives++;
            break;
        case OPT_PIN:
            if (s->npins >= MAXFILES) {
                die_usage("too many --issuer-fingerprint options");
            }
            if (!pp_fingerprint_parse(optarg, s->pins[s->npins], err,
                                      sizeof(err))) {
                die_usage("--issuer-fingerprint: %s", err);
            }
            s->npins++;
            pins++;
            break;
        case OPT_CN_PATTERN:
            s->cn_pattern = optarg;
            directives++;
            break;
        case OPT_ALLOW:
            s->allow_list = optarg;
            directives++;
            break;
        case OPT_DENY:
            s->deny_list = optarg;
            directives++;
            break;
        case OPT_SHARED:
            add_shared(s, optarg);
            directives++;
            break;
        case OPT_SHARED_ONLY:
            s->shared_only = 1;
            directives++;
            break;
        case OPT_ALLOW_EXPIRED:
            s->allow_expired = 1;
            directives++;
            break;
        case OPT_DUMP:
            s->dump = optarg;
            break;
        case OPT_HOST:
            s->host = optarg;
            break;
        case OPT_CERT:
            r->cert_file = optarg;
            break;
        case OPT_NO_CERT:
            r->no_cert = 1;
            break;
        case OPT_NO_TLS:
            r->no_tls = 1;
            break;
        case OPT_METHOD:
            if (!valid_method(optarg)) {
                die_usage("--method: '%s' is not an HTTP method", optarg);
            }
            r->method = optarg;
            break;
        case OPT_DESTINATION:
            r->destination = optarg;
            break;
        case OPT_DOCROOT:
            r->docroot = optarg;
            break;
        case OPT_FILE:
            r->file = optarg;
            break;
        case OPT_CHECK_LIST:
            mode = MODE_CHECK_LIST;
            modes++;
            break;
        case OPT_SHOW_CA:
            mode = MODE_SHOW_CA;
            modes++;
            break;
        case OPT_KNOWN_CAS:
            mode = MODE_KNOWN;
            modes++;
            break;
        case OPT_READINESS:
            mode = MODE_READINESS;
            modes++;
            break;
        case OPT_JSON:
            json_output = 1;
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf(PROG " (mod_polyprov %s)\n", PP_VERSION);
            exit(0);
        case '?':
        default:
            if (optopt) {
                die_usage("option '%s' needs an argument or is unknown",
                          argv[optind - 1]);
            }
            die_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (modes > 1) {
        die_usage("--check-list, --show-ca, --known-cas and --readiness "
                  "exclude each other");
    }
    if (json_output && mode != MODE_READINESS) {
        die_usage("--json goes with --readiness");
    }
    if (s->dump && (directives || pins || mode != MODE_DECIDE)) {
        die_usage("--dump gives the directives of the server's scopes: no "
                  "directive option, --check-list or --show-ca with it");
    }
    if (s->host && !s->dump) {
        die_usage("--host chooses a virtual host of --dump");
    }
    *first_operand = optind;
    return mode;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void fp_hex(const unsigned char fp[32], char out[96])
{
    pp_fingerprint_format(fp, out);
}

static const char *poly_name(const unsigned char fp[32])
{
    char hex[96];
    size_t i;

    fp_hex(fp, hex);
    for (i = 0; i < NPOLY; i++) {
        if (!strcmp(hex, POLY_CAS[i].sha256)) {
            return POLY_CAS[i].name;
        }
    }
    return NULL;
}

static int pinned(const settings_t *s, const unsigned char fp[32])
{
    int i;

    for (i = 0; i < s->npins; i++) {
        if (!memcmp(s->pins[i], fp, 32)) {
            return 1;
        }
    }
    return 0;
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return timegm(&tm);
}

typedef struct {
    char subject[512], issuer[512];
    time_t not_before, not_after;
    unsigned char sha256[32];
    int is_ca, self_signed;
} certinfo_t;

static int cert_info(const unsigned char *der, size_t len, certinfo_t *ci)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned int n = 0;

    memset(ci, 0, sizeof(*ci));
    if (!x) {
        return 0;
    }
    X509_NAME_oneline(X509_get_subject_name(x), ci->subject,
                      sizeof(ci->subject));
    X509_NAME_oneline(X509_get_issuer_name(x), ci->issuer,
                      sizeof(ci->issuer));
    ci->not_before = asn1_time(X509_get0_notBefore(x));
    ci->not_after = asn1_time(X509_get0_notAfter(x));
    EVP_Digest(der, len, ci->sha256, &n, EVP_sha256(), NULL);
    ci->is_ca = X509_check_ca(x) != 0;
    ci->self_signed = X509_check_issued(x, x) == X509_V_OK;
    X509_free(x);
    return n == 32;
}

static void print_validity(const char *indent, const certinfo_t *ci,
                           time_t now)
{
    char a[64], b[64];

    pp_time_format(ci->not_before, a, sizeof(a));
    pp_time_format(ci->not_after, b, sizeof(b));
    printf("%svalid    %s to %s%s\n", indent, a, b,
           ci->not_after && ci->not_after < now ? " (EXPIRED)"
           : ci->not_before > now ? " (NOT YET VALID)" : "");
}

/* ------------------------------------------------------------------ */
/* --known-cas, --check-list, --show-ca                                */

static int known_mode(void)
{
    size_t i;

    for (i = 0; i < NPOLY; i++) {
        printf("%-32s %s\n", POLY_CAS[i].name, POLY_CAS[i].sha256);
    }
    return 0;
}

/* The bad lines of a list, kept to follow its BROKEN line. */
typedef struct {
    char *lines[PP_LIST_BAD_SHOWN];
    int n;
} bad_lines_t;

static void bad_line(void *baton, const char *msg)
{
    bad_lines_t *b = baton;

    if (b->n < PP_LIST_BAD_SHOWN) {
        b->lines[b->n++] = strdup(msg);
    }
}

/* The module's own parser (pp_list_validate_all): 0 good, 1 bad lines (a
 * message naming file:line for each, the first PP_LIST_BAD_SHOWN, then
 * their count), 2 unreadable. */
static int check_list_mode(int argc, char **argv, int first)
{
    int i, worst = 0;

    if (first >= argc) {
        die_usage("--check-list needs at least one list file");
    }
    for (i = first; i < argc; i++) {
        char err[1024];
        size_t n = 0;
        unsigned long nbad = 0;
        bad_lines_t bad;
        int rc, k;

        bad.n = 0;
        rc = pp_list_validate_all(argv[i], &n, PP_LIST_BAD_SHOWN, bad_line,
                                  &bad, &nbad, err, sizeof(err));
        if (rc == 1) {
            printf("%s: OK, %zu MACs\n", argv[i], n);
        }
        else {
            int code = rc == 0 ? 1 : 2;
            printf("%s: %s\n", argv[i], rc == 0 ? "BROKEN" : "UNREADABLE");
            fflush(stdout);
            for (k = 0; k < bad.n; k++) {
                fprintf(stderr, PROG ": %s\n",
                        bad.lines[k] ? bad.lines[k] : "(out of memory)");
                free(bad.lines[k]);
            }
            if (nbad == 0) {
                fprintf(stderr, PROG ": %s\n", err);
            }
            else if (nbad > PP_LIST_BAD_SHOWN) {
                fprintf(stderr, PROG ": %s: %lu bad lines in all; the first "
                        "%d are shown\n", argv[i], nbad, PP_LIST_BAD_SHOWN);
            }
            if (worst < code) {
                worst = code;
            }
        }
    }
    return worst;
}

#define SHOW_CA_MAX 256

static int show_ca_mode(const settings_t *s, int argc, char **argv, int first)
{
    time_t now = time(NULL);
    char err[2048];
    pp_ca_t *ca;
    int i, k, total = 0, unmatched = 0;
    static struct {
        unsigned char sha256[32];
        char subject[512];
        const char *file;
        int n;
    } seen[SHOW_CA_MAX];

    if (first >= argc) {
        die_usage("--show-ca needs at least one CA file");
    }
    for (i = first; i < argc; i++) {
        pc_certs_t certs;
        char *buf;
        size_t len;

        if (!pc_read_file(argv[i], CA_FILE_MAX, &buf, &len, err,
                          sizeof(err))) {
            error_msg("%s", err);
            return EXIT_USAGE;
        }
        if (!pc_certs_parse(argv[i], buf, len, &certs, err, sizeof(err))) {
            free(buf);
            error_msg("%s", err);
            return EXIT_USAGE;
        }
        free(buf);
        printf("%s: %d certificate%s (%s)\n", argv[i], certs.count,
               certs.count == 1 ? "" : "s", certs.der ? "DER" : "PEM");
        for (k = 0; k < certs.count; k++) {
            certinfo_t ci;
            char hex[96];
            const char *poly;

            if (!cert_info(certs.ders[k], certs.lens[k], &ci)) {
                error_msg("%s: certificate #%d cannot be read", argv[i],
                          k + 1);
                pc_certs_free(&certs);
                return EXIT_USAGE;
            }
            if (total < SHOW_CA_MAX) {
                memcpy(seen[total].sha256, ci.sha256, 32);
                snprintf(seen[total].subject, sizeof(seen[total].subject),
                         "%s", ci.subject);
                seen[total].file = argv[i];
                seen[total].n = k + 1;
            }
            total++;
            fp_hex(ci.sha256, hex);
            poly = poly_name(ci.sha256);
            printf("  #%d subject  %s\n", k + 1, ci.subject);
            printf("     issuer   %s%s\n", ci.issuer,
                   ci.self_signed ? " (self-signed)" : "");
            print_validity("     ", &ci, now);
            printf("     sha256   %s\n", hex);
            printf("     %s%s%s%s\n",
                   ci.is_ca ? "a CA certificate" : "NOT a CA certificate",
                   poly ? "; Poly's published " : "; not one of Poly's "
                          "published CA certificates",
                   poly ? poly : "",
                   pinned(s, ci.sha256) ? "; pinned (--issuer-fingerprint)"
                                        : "");
        }
        pc_certs_free(&certs);
    }
    /* what PolyProvTrustedCA with these files would say (configtest) */
    verbose_logs = 0;
    ca = pp_ca_load_files((const char *const *)argv + first, argc - first,
                          err, sizeof(err));
    verbose_logs = 1;
    if (!ca) {
        printf("PolyProvTrustedCA would refuse this: %s\n", err);
        error_msg("PolyProvTrustedCA: %s", err);
        return EXIT_USAGE;
    }
    printf("PolyProvTrustedCA accepts these %d certificates; devices under "
           "them need SSLVerifyDepth %d or more\n", pp_ca_count(ca),
           pp_ca_verify_depth(ca));
    pp_ca_free(ca);
    /* each pin: the certificate it matches, or none (configtest fails,
     * PP123: every phone of the scope would be refused issuer) */
    for (k = 0; k < s->npins; k++) {
        char hex[96];
        fp_hex(s->pins[k], hex);
        for (i = 0; i < total && i < SHOW_CA_MAX; i++) {
            if (!memcmp(seen[i].sha256, s->pins[k], 32)) {
                break;
            }
        }
        if (i < total && i < SHOW_CA_MAX) {
            printf("pin sha256:%s matches #%d %s (%s)\n", hex, seen[i].n,
                   seen[i].subject, seen[i].file);
        }
        else {
            printf("pin sha256:%s matches NO certificate of these files\n",
                   hex);
            error_msg("--issuer-fingerprint sha256:%s matches no certificate "
                      "of these files: as PolyProvIssuerFingerprint with "
                      "them as PolyProvTrustedCA, every phone would be "
                      "refused (issuer), and configtest fails (PP123)", hex);
            unmatched++;
        }
    }
    return unmatched ? EXIT_REFUSED : 0;
}

/* ------------------------------------------------------------------ */
/* Loading the settings as the module's configuration does            */

static void unload(loaded_t *l)
{
    pp_listset_free(l->lists);
    if (l->state_dir[0]) {
        pp_statedir_remove(l->state_dir);
    }
    pp_ca_free(l->ca);
    pp_crl_free(l->crl);
    pp_pattern_free(l->pattern);
    pp_shared_free(l->shared);
    memset(l, 0, sizeof(*l));
}

/* 1, or 0 after a message: what would fail configtest fails here. */
static int load_settings(const settings_t *s, int need_ca, loaded_t *l)
{
    static const char *const star[] = { "*" };
    static const char *const none[] = { "none" };
    char err[2048];
    int i;

    memset(l, 0, sizeof(*l));
    if (s->nca > 0) {
        l->ca = pp_ca_load_files(s->ca_files, s->nca, err, sizeof(err));
        if (!l->ca) {
            error_msg("--trusted-ca (PolyProvTrustedCA): %s", err);
            return 0;
        }
    }
    else if (need_ca) {
        error_msg("--trusted-ca is needed (PolyProvTrustedCA): where none "
                  "applies the module refuses every certificate (untrusted)");
        return 0;
    }
    for (i = 0; i < s->ncrl; i++) {
        pp_crl_t *c = pp_crl_load(s->crl_files[i], err, sizeof(err));
        if (!c) {
            error_msg("--crl (PolyProvCRL): %s", err);
            return 0;
        }
        if (l->crl) {
            pp_crl_t *both = pp_crl_union(l->crl, c, err, sizeof(err));
            pp_crl_free(c);
            if (!both) {
                error_msg("--crl (PolyProvCRL): %s", err);
                return 0;
            }
            pp_crl_free(l->crl);
            c = both;
        }
        l->crl = c;
    }
    if (l->crl && l->ca) {
        /* PP020: with CRLs every CA of the bundle needs its CRL */
        char subject[256];
        int rc, gaps = 0;
        for (i = 0; (rc = pp_crl_covers(l->ca, i, l->crl, subject,
                                        sizeof(subject))) >= 0; i++) {
            if (rc == 0) {
                error_msg("--crl (PolyProvCRL) %s has no CRL of %s, "
                          "certificate #%d of --trusted-ca %s: with CRLs "
                          "configured every certificate of a chain needs its "
                          "issuer's CRL (the module's configtest fails, "
                          "PP020)", pp_crl_path(l->crl), subject, i + 1,
                          pp_ca_path(l->ca));
                gaps++;
            }
        }
        if (gaps) {
            return 0;
        }
    }
    l->pattern = pp_pattern_compile(s->cn_pattern ? s->cn_pattern
                                    : PP_DEFAULT_CN_PATTERN, err, sizeof(err));
    if (!l->pattern) {
        error_msg("--cn-pattern (PolyProvCNPattern): %s", err);
        return 0;
    }
    l->shared = s->nshared
        ? pp_shared_new((const char *const *)s->shared_words, s->nshared,
                        err, sizeof(err))
        /* PolyProv On shares every MAC-less name by default, SharedOnly
         * none (docs/directives.md "PolyProvSharedFiles") */
        : pp_shared_new(s->shared_only ? none : star, 1, err, sizeof(err));
    if (!l->shared) {
        error_msg("--shared-files (PolyProvSharedFiles): %s", err);
        return 0;
    }
    if (!(l->lists = pp_listset_new())) {
        error_msg("out of memory");
        return 0;
    }
    l->scope.mode = s->shared_only ? PP_MODE_SHARED_ONLY : PP_MODE_ON;
    l->scope.have_ca = l->ca != NULL;
    l->scope.enabled_where = "the command line";
    l->scope.pins = s->npins ? &s->pins[0][0] : NULL;
    l->scope.npins = s->npins;
    l->scope.pattern = l->pattern;
    l->scope.lists = l->lists;
    l->scope.deny_idx = l->scope.allow_idx = -1;
    l->scope.reload_s = 0;                 /* no reloading in one run */
    l->scope.shared = l->shared;
    l->scope.allow_expired = s->allow_expired;
    if (!s->shared_only && (s->deny_list || s->allow_list)) {
        /* a list is data: one that does not load is not an error of the
         * configuration; the module refuses list-unavailable */
        const char *dirs[2] = { s->deny_list, s->allow_list };
        int *idx[2] = { &l->scope.deny_idx, &l->scope.allow_idx };
        const char *tmp = getenv("TMPDIR");

        for (i = 0; i < 2; i++) {
            if (!dirs[i]) {
                continue;
            }
            *idx[i] = pp_listset_add(l->lists, dirs[i], err, sizeof(err));
            if (*idx[i] < 0) {
                error_msg("%s: %s", dirs[i], err);
                return 0;
            }
            if (pp_listset_problem(l->lists, *idx[i])) {
                fflush(stdout);
                fprintf(stderr, PROG ": warning: --%s-list %s does not load: "
                        "%s; the module would refuse every request that "
                        "needs it (list-unavailable) until it does\n",
                        i ? "allow" : "deny", dirs[i],
                        pp_listset_problem(l->lists, *idx[i]));
            }
        }
        snprintf(l->state_dir, sizeof(l->state_dir), "%s/polyprov-check-"
                 "XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(l->state_dir)) {
            error_msg("cannot make a temporary directory in %s: %s",
                      tmp && *tmp ? tmp : "/tmp", strerror(errno));
            l->state_dir[0] = '\0';
            return 0;
        }
        if (!pp_listset_start(l->lists, l->state_dir, 0, -1, -1, err,
                              sizeof(err))) {
            error_msg("%s", err);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* What the URI maps to                                                */

typedef struct {
    char *uri;             /* r->uri: decoded, normalised */
    char *filename;        /* r->filename, or NULL */
    char *path_info;       /* r->path_info, or NULL */
    const char *file;      /* the file below DocumentRoot (or whole) */
    int is_dir;
    const char *how;       /* how the file was found, for the output */
} target_t;

static void strip_slashes(char *s)
{
    size_t n = strlen(s);

    while (n > 1 && s[n - 1] == '/') {
        s[--n] = '\0';
    }
}


/* httpd's directory walk of DocumentRoot + URI: segment by segment; the
 * first that does not exist, or is a file, ends it, and what follows is
 * path info.  0 and a message when httpd would answer 403 itself. */
static int walk(const char *docroot, const char *uri, target_t *t)
{
    size_t cap = strlen(docroot) + strlen(uri) + 2;
    char *fn = malloc(cap);
    const char *rest = uri;
    struct stat st;

    if (!fn) {
        error_msg("out of memory");
        return 0;
    }
    snprintf(fn, cap, "%s", docroot);
    strip_slashes(fn);
    if (strcmp(fn, "/") == 0) {
        fn[0] = '\0';
    }
    if (stat(fn[0] ? fn : "/", &st) != 0 || !S_ISDIR(st.st_mode)) {
        error_msg("--docroot %s is not a directory", docroot);
        free(fn);
        return 0;
    }
    t->is_dir = 1;
    while (*rest) {
        const char *seg = rest + (*rest == '/');
        size_t n = strcspn(seg, "/");
        size_t len = strlen(fn);

        /* the segment with its leading slash */
        memcpy(fn + len, rest, (size_t)(seg - rest) + n);
        fn[len + (size_t)(seg - rest) + n] = '\0';
        rest = seg + n;
        if (n == 0) {
            break;                 /* a trailing '/' after a directory */
        }
        if (stat(fn, &st) != 0) {
            if (errno == ENOENT) {
                t->is_dir = 0;
                break;
            }
            error_msg("cannot look up %s: %s (httpd answers 403)", fn,
                      strerror(errno));
            free(fn);
            return 0;
        }
        if (S_ISREG(st.st_mode)) {
            t->is_dir = 0;
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            error_msg("%s is neither a file nor a directory (httpd answers "
                      "403)", fn);
            free(fn);
            return 0;
        }
    }
    t->filename = fn;
    if (*rest && !(t->path_info = strdup(rest))) {
        error_msg("out of memory");
        return 0;
    }
    return 1;
}

static int map_target(const request_opts_t *r, target_t *t)
{
    struct stat st;

    if (r->file) {
        if (!(t->filename = strdup(r->file))) {
            error_msg("out of memory");
            return 0;
        }
        t->is_dir = stat(r->file, &st) == 0 && S_ISDIR(st.st_mode);
        t->file = pp_path_below_root(t->filename, r->docroot);
        t->how = r->docroot ? "--file, below --docroot" : "--file";
        return 1;
    }
    if (r->docroot) {
        if (!walk(r->docroot, t->uri, t)) {
            return 0;
        }
        t->file = pp_path_below_root(t->filename, r->docroot);
        t->how = "looked up below --docroot";
        return 1;
    }
    /* neither: the URI is the path below DocumentRoot, not looked up */
    t->file = t->uri;
    t->how = "the URI itself: no --docroot or --file";
    return 1;
}

/* ------------------------------------------------------------------ */
/* The decision, and its steps                                         */

static void step(pp_step_t n, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void step(pp_step_t n, const char *status, const char *fmt, ...)
{
    va_list ap;

    printf("%2d %-13s %-4s  ", (int)n, pp_step_name(n), status);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* What each reason means (docs/operations.md's "Troubleshooting a 403"). */
static const char *meaning(pp_reason_t r)
{
    switch (r) {
    case PP_R_NOT_OWNER:
        return "the file names another device, two devices, an ambiguous "
               "hex run, or the request has path info";
    case PP_R_SHARED_READONLY:
        return "a write to a file that names no device";
    case PP_R_NOT_SHARED:
        return "a file that names no device, outside --shared-files";
    case PP_R_DEVICE_FILE:
        return "PolyProv SharedOnly serves no file that names a device";
    case PP_R_DIRECTORY:
        return "a directory was requested";
    case PP_R_DOT_FILE:
        return "a write to a name with a segment starting with '.'";
    case PP_R_METHOD:
        return "PROPPATCH is not allowed to devices";
    default:
        return "";
    }
}

static void print_cn(const pp_cert_facts_t *f, char *out, size_t outlen)
{
    char p[4 * PP_CN_MAX + 8];

    if (f->cn_count == 0) {
        snprintf(out, outlen, "no CN");
        return;
    }
    pc_printable(f->cn, f->cn_len, p, sizeof(p));
    snprintf(out, outlen, "CN \"%s\"%s", p, f->cn_count > 1
             ? " (the first of several)" : "");
}

typedef struct {
    const settings_t *s;
    const loaded_t *l;
    const request_opts_t *r;
    const pc_certs_t *certs;
    const pp_cert_facts_t *facts;
    const target_t *t;
    const pp_request_t *q;
    const pp_verdict_t *v;
    int have_request;
} report_t;

/* The first maximal run of 12 or more hex digits in path that is not
 * mac and not 000000000000, described ("names 0004f2aabbcc", "an
 * ambiguous run of 24 hex digits"), for the output only: the decision is
 * pp_decide()'s.  0 when there is none. */
static int foreign_run(const char *path, pp_mac_t mac, char *out,
                       size_t outlen)
{
    const char *p = path;

    while (p && *p) {
        size_t n = 0;
        pp_mac_t m;
        while (pp_hex[(unsigned char)p[n]] != PP_NOT_HEX) {
            n++;
        }
        if (n > 12) {
            snprintf(out, outlen, "an ambiguous run of %zu hex digits", n);
            return 1;
        }
        if (n == 12) {
            char tok[13];
            memcpy(tok, p, 12);
            tok[12] = '\0';
            if (pp_mac_from_hex12(tok, &m) && m != mac && m != PP_MAC_NONE) {
                char f[13];
                pp_mac_format(m, f);
                snprintf(out, outlen, "names %s", f);
                return 1;
            }
        }
        p += n ? n : 1;
    }
    return 0;
}

/* Why PP_STEP_OWNER refused, in the operator's terms. */
static void owner_why(const report_t *rp, char *out, size_t outlen)
{
    const pp_request_t *q = rp->q;
    const pp_verdict_t *v = rp->v;
    char run[128], mac[13];
    const char *where = NULL, *path = NULL;

    pp_mac_format(v->mac, mac);
    if (q->copy_move && !q->destination) {
        snprintf(out, outlen, "%s", v->detail);
        return;
    }
    if (v->detail[0] && v->reason != PP_R_DEVICE_FILE && q->destination) {
        /* the source passed: the Destination did not */
        if (v->reason == PP_R_NOT_OWNER
            && foreign_run(q->destination, v->mac, run, sizeof(run))) {
            snprintf(out, outlen, "the Destination %s %s, not the requester "
                     "%s", q->destination, run, mac);
        }
        else {
            snprintf(out, outlen, "the Destination %s: %s", q->destination,
                     meaning(v->reason));
        }
        return;
    }
    if (v->reason == PP_R_NOT_OWNER && q->path_info && *q->path_info
        && strcmp(q->path_info, "/")) {
        snprintf(out, outlen, "the request has path info \"%s\"",
                 q->path_info);
        return;
    }
    if (q->uri && foreign_run(q->uri, rp->s->shared_only ? PP_MAC_NONE
                              : v->mac, run, sizeof(run))) {
        where = "the URI";
        path = q->uri;
    }
    else if (q->file && foreign_run(q->file, rp->s->shared_only
                                    ? PP_MAC_NONE : v->mac, run,
                                    sizeof(run))) {
        where = "the file";
        path = q->file;
    }
    if (path && v->reason == PP_R_NOT_OWNER) {
        snprintf(out, outlen, "%s %s %s, not the requester %s", where, path,
                 run, mac);
    }
    else if (path && v->reason == PP_R_DEVICE_FILE) {
        snprintf(out, outlen, "%s %s %s: %s", where, path, run,
                 meaning(v->reason));
    }
    else {
        snprintf(out, outlen, "%s", meaning(v->reason));
    }
}

/* One line per step: pass, skip (does not apply), FAIL (the step that
 * refused, with the core's detail); none after the one that refused. */
static void report_steps(const report_t *rp)
{
    const pp_verdict_t *v = rp->v;
    const pp_request_t *q = rp->q;
    const settings_t *s = rp->s;
    const loaded_t *l = rp->l;
    pp_step_t last = v->step != PP_STEP_NONE ? v->step : PP_STEP_LAST;
    pp_step_t n;
    char buf[1024], mac[13];
    const char *detail = v->detail[0] ? v->detail : NULL;

    pp_mac_format(v->mac, mac);
    for (n = PP_STEP_TLS; n <= last; n++) {
        int fail = n == v->step;
        const char *st = fail ? "FAIL" : "pass";

        if (s->shared_only && n < PP_STEP_DIRECTORY) {
            if (n == PP_STEP_TLS) {
                printf(" %d-%d (certificate and lists) do not apply: "
                       "PolyProv SharedOnly\n", PP_STEP_TLS,
                       PP_STEP_ALLOW_LIST);
            }
            continue;
        }
        if (!rp->have_request && n >= PP_STEP_DIRECTORY) {
            printf("steps %d to %d not checked: no URI given\n",
                   PP_STEP_DIRECTORY, PP_STEP_LAST);
            break;
        }
        switch (n) {
        case PP_STEP_TLS:
            step(n, st, fail ? "plain HTTP (--no-tls)"
                             : "TLS assumed (--no-tls for plain HTTP)");
            break;
        case PP_STEP_CERT:
            if (fail) {
                step(n, st, "the client presents none (--no-cert)");
            }
            else {
                step(n, st, "%s, %d certificate%s%s", rp->certs->der
                     ? "DER" : "PEM", rp->certs->count,
                     rp->certs->count == 1 ? "" : "s",
                     rp->certs->count > 1 ? ": the first is the device's "
                     "(intermediates come from --trusted-ca)" : "");
            }
            break;
        case PP_STEP_VERIFY:
            if (fail) {
                step(n, st, "%s", detail ? detail : rp->facts->detail);
            }
            else if (rp->facts->leaf_expired) {
                char when[64];
                pp_time_format(rp->facts->not_after, when, sizeof(when));
                step(n, st, "chains to --trusted-ca (%d certificates), "
                     "expired at %s but PolyProvAllowExpired is On "
                     "(--allow-expired), for TLS clients, not a CA%s%s%s",
                     pp_ca_count(l->ca), when, l->crl ? ", not revoked "
                     "(--crl " : "; no --crl", l->crl ? pp_crl_path(l->crl)
                     : "", l->crl ? ")" : "");
            }
            else {
                step(n, st, "chains to --trusted-ca (%d certificates), "
                     "valid now, for TLS clients, not a CA%s%s%s",
                     pp_ca_count(l->ca), l->crl ? ", not revoked (--crl "
                     : "; no --crl", l->crl ? pp_crl_path(l->crl) : "",
                     l->crl ? ")" : "");
            }
            break;
        case PP_STEP_ISSUER:
            if (fail) {
                step(n, st, "%s", detail ? detail : "");
            }
            else if (s->npins == 0) {
                step(n, "skip", "no --issuer-fingerprint");
            }
            else {
                fp_hex(rp->facts->issuer_sha256, buf);
                step(n, st, "issuer sha256:%s is pinned", buf);
            }
            break;
        case PP_STEP_CN:
            print_cn(rp->facts, buf, sizeof(buf));
            if (fail) {
                step(n, st, "%s: %s", buf, detail ? detail : "");
            }
            else {
                step(n, st, "%s gives MAC %s (pattern %s)", buf, mac,
                     pp_pattern_source(l->pattern));
            }
            break;
        case PP_STEP_DENY_LIST:
        case PP_STEP_ALLOW_LIST: {
            const char *file = n == PP_STEP_DENY_LIST ? s->deny_list
                                                  : s->allow_list;
            if (fail) {
                step(n, st, "%s", detail ? detail : "");
            }
            else if (!file) {
                step(n, "skip", "no --%s-list",
                     n == PP_STEP_DENY_LIST ? "deny" : "allow");
            }
            else {
                step(n, st, "%s is %s %s", mac,
                     n == PP_STEP_DENY_LIST ? "not in" : "in",
                     file);
            }
            break;
        }
        case PP_STEP_DIRECTORY:
            step(n, st, "%s %s a directory%s", rp->t->file
                 ? rp->t->file : q->uri, fail ? "is" : "is not",
                 rp->r->docroot || rp->r->file ? ""
                 : " (not looked up: no --docroot or --file)");
            break;
        case PP_STEP_DOT_FILE:
            if (s->shared_only) {
                break;
            }
            if (fail) {
                step(n, st, "%s: %s", detail ? detail : q->uri,
                     meaning(v->reason));
            }
            else if (q->read_only) {
                step(n, "skip", "%s is not a write", rp->r->method);
            }
            else {
                step(n, st, "%s writes no name with a '.' segment",
                     rp->r->method);
            }
            break;
        case PP_STEP_OWNER:
            if (fail) {
                char why[512];
                owner_why(rp, why, sizeof(why));
                step(n, st, "%s: %s", pp_reason_name(v->reason), why);
            }
            else if (s->shared_only
                     || !(pp_path_names_mac(q->uri, v->mac)
                          || pp_path_names_mac(q->file, v->mac))) {
                step(n, st, "names no device: a shared file, read, whose "
                     "name matches --shared-files (%s)",
                     pp_shared_describe(l->shared));
            }
            else {
                step(n, st, "names %s, the requester%s", mac,
                     q->copy_move ? "; so does the Destination" : "");
            }
            break;
        case PP_STEP_METHOD:
            if (s->shared_only) {
                break;
            }
            step(n, st, fail ? "PROPPATCH: phones never set WebDAV "
                 "properties" : "%s is not PROPPATCH", rp->r->method);
            break;
        default:
            break;
        }
    }
}

/* The last line: the module's PP001 line (or PP002 for an allowed one). */
static void report_verdict(const report_t *rp)
{
    const pp_verdict_t *v = rp->v;
    const pp_request_t *q = rp->q;
    char mac[13], uri[1024], file[1024], cn[4 * PP_CN_MAX + 8], det[1024];

    pp_mac_format(v->mac, mac);
    if (!rp->have_request) {
        if (v->step == PP_STEP_NONE || v->step >= PP_STEP_DIRECTORY) {
            printf("certificate accepted (steps %d to %d) reason=ok "
                   "mac=%s\n", PP_STEP_TLS, PP_STEP_ALLOW_LIST, mac);
            return;
        }
        printf("refused reason=%s mac=%s", pp_reason_name(v->reason),
               v->mac_known ? mac : "-");
    }
    else {
        pc_printable(q->uri, strlen(q->uri), uri, sizeof(uri));
        printf("%s reason=%s mac=%s method=%s uri=\"%s\"",
               v->reason == PP_R_OK ? "allowed" : "refused",
               pp_reason_name(v->reason), v->mac_known ? mac : "-",
               rp->r->method, uri);
        if (v->reason != PP_R_OK && q->file && strcmp(q->file, q->uri)) {
            pc_printable(q->file, strlen(q->file), file, sizeof(file));
            printf(" file=\"%s\"", file);
        }
    }
    if (v->reason != PP_R_OK && rp->facts && rp->facts->cn_len) {
        pc_printable(rp->facts->cn, rp->facts->cn_len, cn, sizeof(cn));
        printf(" cn=\"%s\"", cn);
    }
    if (v->reason != PP_R_OK && v->detail[0]) {
        pc_printable(v->detail, strlen(v->detail), det, sizeof(det));
        printf(" detail=%s", det);
    }
    putchar('\n');
}

/* path, made absolute against the working directory (kept for the run) */
static char *absolute(const char *path)
{
    char cwd[4096], *out;
    size_t n;

    if (!path) {
        return NULL;
    }
    if (path[0] == '/') {
        if (!(out = strdup(path))) {
            die_usage("out of memory");
        }
        return out;
    }
    if (!getcwd(cwd, sizeof(cwd))) {
        die_usage("cannot make '%s' absolute: %s", path, strerror(errno));
    }
    n = strlen(cwd) + strlen(path) + 2;
    if (!(out = malloc(n))) {
        die_usage("out of memory");
    }
    snprintf(out, n, "%s/%s", cwd, path);
    return out;
}

/* ------------------------------------------------------------------ */
/* --dump: the directives from the server's own configuration          */

/* The parsed lines of the dump, kept until the end of the run (the
 * settings point into them). */
static pc_jobj_t *dump_rows;
static int dump_nrows;

static void dump_free(void)
{
    int i;

    for (i = 0; i < dump_nrows; i++) {
        pc_json_free(&dump_rows[i]);
    }
    free(dump_rows);
    dump_rows = NULL;
    dump_nrows = 0;
}

static int read_dump(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    char *line = NULL, err[512];
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;

    if (!f) {
        error_msg("--dump: cannot read '%s': %s", path, strerror(errno));
        return 0;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        pc_jobj_t *nr;
        lineno++;
        if (line[0] != '{') {
            continue;            /* not a line of the dump */
        }
        if (!(nr = realloc(dump_rows, sizeof(*nr) * (size_t)(dump_nrows + 1)))) {
            error_msg("out of memory");
            break;
        }
        dump_rows = nr;
        if (!pc_json_line(line, &dump_rows[dump_nrows], err, sizeof(err))) {
            error_msg("--dump: %s:%d: %s", path, lineno, err);
            free(line);
            if (f != stdin) {
                fclose(f);
            }
            return 0;
        }
        dump_nrows++;
    }
    free(line);
    if (f != stdin) {
        fclose(f);
    }
    if (!dump_nrows) {
        error_msg("--dump: '%s' holds no line of apachectl -t -D "
                  "DUMP_POLYPROV", path);
        return 0;
    }
    return 1;
}

/* Does the row's host answer to --host (NAME or NAME:PORT)? */
static int host_matches(const pc_jobj_t *o, const char *want)
{
    const char *host = pc_json_str(o, "host");
    const char *colon = strrchr(host, ':');
    const char *wcolon = strrchr(want, ':');
    size_t hn = colon ? (size_t)(colon - host) : strlen(host);
    size_t wn = wcolon ? (size_t)(wcolon - want) : strlen(want);
    const pc_jv_t *al = pc_json_get(o, "aliases");
    int i, name = 0;

    if (wcolon && (!colon || strcmp(colon + 1, wcolon + 1))) {
        return 0;
    }
    if (hn == wn && !strncasecmp(host, want, wn)) {
        name = 1;
    }
    for (i = 0; !name && al && i < al->narr; i++) {
        if (strlen(al->arr[i]) == wn && !strncasecmp(al->arr[i], want, wn)) {
            name = 1;
        }
    }
    return name;
}

static int dir_contains(const char *outer, const char *inner)
{
    size_t n = strlen(outer);

    while (n > 0 && outer[n - 1] == '/') {
        n--;
    }
    return !strncmp(outer, inner, n) && (inner[n] == '/' || inner[n] == '\0');
}

static int regex_matches(const char *re, const char *s)
{
    regex_t rx;
    int m;

    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
        return 0;
    }
    m = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return m;
}

/* <Location path> for a request's decoded path, as httpd matches it. */
static int location_matches(const char *path, const char *uri)
{
    size_t n = strlen(path);

    if (!strncmp(path, "~ ", 2)) {
        return regex_matches(path + 2, uri);
    }
    return !strncmp(uri, path, n)
           && (n == 0 || path[n - 1] == '/' || uri[n] == '/' || uri[n] == '\0');
}

static int has(const pc_jv_t *own, const char *key)
{
    int i;

    for (i = 0; own && i < own->narr; i++) {
        if (!strcmp(own->arr[i], key)) {
            return 1;
        }
    }
    return 0;
}

/* What one scope sets itself replaces what came before (httpd's merge). */
static int apply_row(settings_t *s, const pc_jobj_t *o)
{
    const pc_jv_t *own = pc_json_get(o, "own"), *v;
    char err[512];
    int i;

    if (has(own, "mode")) {
        const char *m = pc_json_str(o, "mode");
        s->mode_off = !strcmp(m, "Off");
        s->shared_only = !strcmp(m, "SharedOnly");
        /* Report decides as On: what it would refuse is what On refuses */
    }
    if (has(own, "trusted_ca")) {
        s->nca = 0;
        v = pc_json_get(o, "trusted_ca");
        for (i = 0; v && i < v->narr; i++) {
            add_file(s->ca_files, &s->nca, v->arr[i], "PolyProvTrustedCA");
        }
    }
    if (has(own, "crl")) {
        s->ncrl = 0;
        v = pc_json_get(o, "crl");
        for (i = 0; v && i < v->narr; i++) {
            add_file(s->crl_files, &s->ncrl, v->arr[i], "PolyProvCRL");
        }
    }
    if (has(own, "pins")) {
        s->npins = 0;
        v = pc_json_get(o, "pins");
        for (i = 0; v && i < v->narr && s->npins < MAXFILES; i++) {
            if (!pp_fingerprint_parse(v->arr[i], s->pins[s->npins], err,
                                      sizeof(err))) {
                error_msg("--dump: PolyProvIssuerFingerprint: %s", err);
                return 0;
            }
            s->npins++;
        }
    }
    if (has(own, "cn_pattern")) {
        s->cn_pattern = pc_json_str(o, "cn_pattern");
    }
    if (has(own, "allow_list")) {
        s->allow_list = pc_json_get(o, "allow_list")->str;
    }
    if (has(own, "deny_list")) {
        s->deny_list = pc_json_get(o, "deny_list")->str;
    }
    if (has(own, "shared_files")) {
        for (i = 0; i < s->nshared; i++) {
            free(s->shared_words[i]);
        }
        s->nshared = 0;
        add_shared(s, pc_json_str(o, "shared_files"));
    }
    if (has(own, "allow_expired")) {
        s->allow_expired = !strcmp(pc_json_str(o, "allow_expired"), "On");
    }
    return 1;
}

static void print_scope(const pc_jobj_t *o, int *printed)
{
    const char *kind = pc_json_str(o, "kind"), *path = pc_json_str(o, "path");

    printf("%s%s%s%s", *printed ? "; " : "scope        ", kind,
           *path ? " " : "", path);
    *printed = 1;
}

/* The settings of the scopes of --host that apply to the request, in the
 * order httpd merges them: the host, <Directory> sections (shortest path
 * first, then regular expressions, as the dump lists them), <Files> in
 * them, <Location> sections.  <If> sections are not evaluated. */
static int settings_from_dump(settings_t *s, request_opts_t *r)
{
    const char *host = NULL;
    char *path = NULL, *file = NULL, err[512];
    const char *base;
    int i, pass, status, printed = 0, ifs = 0, ok = 0;
    int *dir_applied;

    if (!read_dump(s->dump)) {
        return 0;
    }
    for (i = 0; i < dump_nrows; i++) {
        const char *h = pc_json_str(&dump_rows[i], "host");
        /* the main server's scopes are merged into every virtual host's
         * (and printed with them): its own lines stand for no host
         * when there are virtual hosts */
        if (!strcmp(pc_json_str(&dump_rows[i], "vhost"), "main server")
            && dump_nrows > 0 && strcmp(pc_json_str(&dump_rows[dump_nrows - 1],
                                                    "vhost"), "main server")) {
            continue;
        }
        if (s->host ? host_matches(&dump_rows[i], s->host) : 1) {
            if (host && strcmp(host, h)) {
                error_msg("--dump: %s scopes of %s and of %s: say which "
                          "with --host NAME:PORT", s->host ? "--host matches"
                          : "the dump holds", host, h);
                return 0;
            }
            host = h;
        }
    }
    if (!host) {
        error_msg("--dump: no virtual host %s has a PolyProv scope", s->host);
        return 0;
    }
    if (!r->uri) {
        die_usage("--dump needs the request's URI: the scopes that apply "
                  "depend on it");
    }
    if (!(path = pc_request_path(r->uri, &status, err, sizeof(err)))) {
        error_msg("%s; the module never sees such a request", err);
        return 0;
    }
    for (i = 0; i < dump_nrows; i++) {
        if (!strcmp(pc_json_str(&dump_rows[i], "host"), host)) {
            if (!r->docroot && *pc_json_str(&dump_rows[i], "document_root")) {
                r->docroot = pc_json_str(&dump_rows[i], "document_root");
            }
            break;
        }
    }
    if (r->file) {
        file = strdup(r->file);
    }
    else if (r->docroot) {
        size_t n = strlen(r->docroot);
        if ((file = malloc(n + strlen(path) + 2))) {
            sprintf(file, "%s%s", r->docroot,
                    n && r->docroot[n - 1] == '/' && path[0] == '/'
                    ? path + 1 : path);
        }
    }
    if (!file) {
        error_msg("--dump: the host has no DocumentRoot: give --docroot or "
                  "--file");
        goto out;
    }
    base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    dir_applied = calloc((size_t)dump_nrows, sizeof(int));
    if (!dir_applied) {
        error_msg("out of memory");
        goto out;
    }
    for (pass = 0; pass < 4; pass++) {
        for (i = 0; i < dump_nrows; i++) {
            const pc_jobj_t *o = &dump_rows[i];
            const char *kind = pc_json_str(o, "kind");
            const char *p = pc_json_str(o, "path");
            int applies = 0;

            if (strcmp(pc_json_str(o, "host"), host)) {
                continue;
            }
            if (pass == 0 && !strcmp(kind, "host")) {
                applies = 1;
            }
            else if (pass == 1 && !strcmp(kind, "Directory")) {
                applies = !strncmp(p, "~ ", 2) ? regex_matches(p + 2, file)
                                               : dir_contains(p, file);
                dir_applied[i] = applies;
            }
            else if (pass == 2 && !strcmp(kind, "Files")) {
                /* "host Files X" or "Directory P Files X" */
                const char *f = strstr(p, " Files ");
                int outer = !strncmp(p, "host Files ", 11);
                int k;
                for (k = 0; !outer && f && k < dump_nrows; k++) {
                    const char *dp = pc_json_str(&dump_rows[k], "path");
                    outer = dir_applied[k]
                            && !strncmp(p, "Directory ", 10)
                            && strlen(dp) == (size_t)(f - p - 10)
                            && !strncmp(p + 10, dp, strlen(dp));
                }
                if (outer && f) {
                    f += 7;
                    applies = !strncmp(f, "~ ", 2) ? regex_matches(f + 2, base)
                                                   : !fnmatch(f, base, 0);
                }
            }
            else if (pass == 3 && !strcmp(kind, "Location")) {
                applies = location_matches(p, path);
            }
            else if (pass == 3 && !strcmp(kind, "If")) {
                ifs++;
            }
            if (applies) {
                print_scope(o, &printed);
                if (!apply_row(s, o)) {
                    free(dir_applied);
                    goto out;
                }
            }
        }
    }
    free(dir_applied);
    printf("%s(%s)\n", printed ? " " : "scope        none ", host);
    for (i = 0; i < dump_nrows; i++) {
        if (!strcmp(pc_json_str(&dump_rows[i], "host"), host)) {
            printf("vhost        %s\n", pc_json_str(&dump_rows[i], "vhost"));
            break;
        }
    }
    if (ifs) {
        fflush(stdout);
        fprintf(stderr, PROG ": note: %d <If> section%s of the host %s not "
                "evaluated\n", ifs, ifs == 1 ? "" : "s",
                ifs == 1 ? "is" : "are");
    }
    if ((s->allow_list && !strncmp(s->allow_list, "dbd:", 4))
        || (s->deny_list && !strncmp(s->deny_list, "dbd:", 4))) {
        error_msg("--dump: a list of this scope comes from a database (%s): "
                  "the tool reads list files only",
                  s->allow_list && !strncmp(s->allow_list, "dbd:", 4)
                  ? s->allow_list : s->deny_list);
        goto out;
    }
    s->from_dump = 1;
    ok = 1;
out:
    free(path);
    free(file);
    return ok;
}

static int decide_mode(settings_t *s, request_opts_t *r, int argc,
                       char **argv, int first)
{
    int need_cert;
    pc_certs_t certs;
    pp_cert_facts_t facts;
    pp_cn_mac_t cn;
    loaded_t l;
    target_t t;
    pp_request_t q;
    pp_verdict_t v;
    report_t rp;
    char err[2048];
    int rc = EXIT_USAGE, status;
    char *abs_docroot, *abs_file;

    memset(&certs, 0, sizeof(certs));
    memset(&facts, 0, sizeof(facts));
    memset(&t, 0, sizeof(t));
    memset(&q, 0, sizeof(q));
    if (argc - first > 1) {
        die_usage("one URI at most ('%s' is one too many)", argv[first + 1]);
    }
    r->uri = argc > first ? argv[first] : NULL;
    if (!r->method) {
        r->method = "GET";
    }
    if (s->dump && !settings_from_dump(s, r)) {
        return EXIT_USAGE;
    }
    if (s->mode_off) {
        printf("not judged   PolyProv is Off in this scope: the module does "
               "not judge %s\n", r->uri);
        return EXIT_ALLOWED;
    }
    need_cert = !s->shared_only && !r->no_tls && !r->no_cert;
    if (need_cert && !r->cert_file) {
        die_usage("--cert FILE is needed (or --no-cert, --no-tls, "
                  "--shared-only)");
    }
    if (r->cert_file && r->no_cert) {
        die_usage("--cert and --no-cert exclude each other");
    }
    /* httpd's DocumentRoot and r->filename are absolute paths */
    r->docroot = abs_docroot = absolute(r->docroot);
    r->file = abs_file = absolute(r->file);
    if (s->shared_only && !r->uri) {
        die_usage("PolyProv SharedOnly decides on the file only: give a URI");
    }
    if ((r->docroot || r->file || r->destination
         || strcmp(r->method, "GET")) && !r->uri) {
        die_usage("--method, --destination, --docroot and --file describe "
                  "a request: give its URI");
    }
    if (!load_settings(s, need_cert, &l)) {
        goto done;
    }

    /* PP_STEP_CERT and PP_STEP_VERIFY: the certificate, verified by the
     * core */
    if (r->cert_file && !s->shared_only && !r->no_tls) {
        char *buf;
        size_t len;
        if (!pc_read_file(r->cert_file, PC_CERT_FILE_MAX, &buf, &len, err,
                          sizeof(err))) {
            error_msg("--cert: %s", err);
            goto done;
        }
        if (!pc_certs_parse(r->cert_file, buf, len, &certs, err,
                            sizeof(err))) {
            free(buf);
            error_msg("--cert: %s", err);
            goto done;
        }
        free(buf);
        pp_cert_examine_pem(l.ca, l.crl, certs.leaf_pem, certs.leaf_pem_len,
                            time(NULL), &facts);
        pp_cn_mac_of(l.scope.pattern, &facts, &cn);
        q.cert = &facts;
        q.cn = &cn;
    }
    else if (r->cert_file) {
        fprintf(stderr, PROG ": note: --cert is not looked at %s\n",
                s->shared_only ? "under PolyProv SharedOnly" : "without TLS");
    }

    /* the request, as the glue gathers it from httpd */
    q.tls = !r->no_tls;
    {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        q.now_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    }
    if (r->uri) {
        if (!(t.uri = pc_request_path(r->uri, &status, err, sizeof(err)))) {
            error_msg("%s; the module never sees such a request", err);
            goto done;
        }
        if (!map_target(r, &t)) {
            goto done;
        }
        q.uri = t.uri;
        q.path_info = t.path_info;
        q.file = t.file;
        q.is_dir = t.is_dir;
        q.read_only = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")
                      || !strcmp(r->method, "OPTIONS");
        q.proppatch = !strcmp(r->method, "PROPPATCH");
        q.copy_move = !strcmp(r->method, "COPY") || !strcmp(r->method, "MOVE");
        if (q.copy_move) {
            static char why[1024];
            q.destination = pc_destination_path(r->destination, why,
                                                sizeof(why));
            q.destination_error = why;
        }
        else if (r->destination) {
            fprintf(stderr, PROG ": note: --destination is not looked at for "
                    "%s (only COPY and MOVE have one)\n", r->method);
        }
    }
    else {
        /* the steps before PP_STEP_DIRECTORY only: a request with neither
         * URI nor file is refused by PP_STEP_OWNER, after all that this
         * run looks at */
        q.read_only = 1;
    }

    pp_decide(&l.scope, &q, &v);

    memset(&rp, 0, sizeof(rp));
    rp.s = s;
    rp.l = &l;
    rp.r = r;
    rp.certs = &certs;
    rp.facts = q.cert;
    rp.t = &t;
    rp.q = &q;
    rp.v = &v;
    rp.have_request = r->uri != NULL;
    if (r->uri) {
        char u[1024];
        pc_printable(t.uri, strlen(t.uri), u, sizeof(u));
        printf("request      %s %s%s%s%s\n", r->method, u,
               t.path_info ? " (path info \"" : "",
               t.path_info ? t.path_info : "", t.path_info ? "\")" : "");
        if (t.file) {
            char f[1024];
            pc_printable(t.file, strlen(t.file), f, sizeof(f));
            printf("file         %s (%s)\n", f, t.how);
        }
        if (q.copy_move) {
            printf("destination  %s\n", q.destination ? q.destination
                   : q.destination_error);
        }
    }
    if (q.cert) {
        certinfo_t ci;
        char hex[96];
        if (cert_info(certs.ders[0], certs.lens[0], &ci)) {
            fp_hex(ci.sha256, hex);
            printf("certificate  %s\n", r->cert_file);
            printf("    subject  %s\n", ci.subject);
            printf("    issuer   %s\n", ci.issuer);
            print_validity("    ", &ci, time(NULL));
            printf("    sha256   %s\n", hex);
        }
    }
    report_steps(&rp);
    report_verdict(&rp);
    if (r->uri) {
        rc = v.reason == PP_R_OK ? EXIT_ALLOWED : EXIT_REFUSED;
    }
    else {
        rc = v.step == PP_STEP_NONE || v.step >= PP_STEP_DIRECTORY
             ? EXIT_ALLOWED : EXIT_REFUSED;
    }
    free((char *)q.destination);
done:
    pc_certs_free(&certs);
    free(t.uri);
    free(t.filename);
    free(t.path_info);
    unload(&l);
    free(abs_docroot);
    free(abs_file);
    return rc;
}

int main(int argc, char **argv)
{
    settings_t s;
    request_opts_t r;
    int first, rc, i;
    mode_t_ mode;

    memset(&s, 0, sizeof(s));
    memset(&r, 0, sizeof(r));
    pp_set_logger(log_sink, NULL);
    mode = parse_args(argc, argv, &s, &r, &first);
    switch (mode) {
    case MODE_KNOWN:
        rc = known_mode();
        break;
    case MODE_CHECK_LIST:
        rc = check_list_mode(argc, argv, first);
        break;
    case MODE_SHOW_CA:
        rc = show_ca_mode(&s, argc, argv, first);
        break;
    case MODE_READINESS:
        rc = pc_readiness(argc, argv, first, json_output);
        break;
    case MODE_DECIDE:
    default:
        rc = decide_mode(&s, &r, argc, argv, first);
        break;
    }
    dump_free();
    for (i = 0; i < s.nshared; i++) {
        free(s.shared_words[i]);
    }
    if (fflush(stdout) != 0 && rc == 0) {
        rc = EXIT_USAGE;
    }
    return rc;
}
