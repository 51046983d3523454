/* SPDX-License-Identifier: Apache-2.0 */
/* The whole decision (pp_decide) against a reference that walks the
 * docs/decisions.md's decision table in the plainest way: which step fails first,
 * and what it says.  Ownership (PP_STEP_OWNER) is taken from pp_owner_check,
 * which fuzz_path checks against its own reference; the dot-file rule,
 * the lists and the CN are written out here.
 *
 * Input: three flag bytes, six bytes of a MAC for the CN, then
 * "uri\0file\0destination" (each optional).  The third flag byte is the
 * certificate's expiry (bit 0: past its notAfter) and the scope's
 * PolyProvAllowExpired (bit 1). */
#include "fuzz.h"

#include <unistd.h>

#define MAC_A 0x0004f2000a01ULL
#define MAC_B 0x0004f2000b02ULL
#define MAC_D 0x0004f2000d04ULL

static pp_listset_t *lists;
static pp_pattern_t *pattern;
static pp_shared_t *shared;
static const unsigned char PIN[32] = { 7 };
static char dir[256];
static char state[256];

static void cleanup(void)
{
    pp_statedir_remove(state);
    rmdir(dir);
}

static void setup(void)
{
    char path[256], err[256];
    const char *all[1] = { "*" };
    FILE *f;

    if (lists) {
        return;
    }
    {
        const char *base = getenv("TMPDIR");    /* as every harness */

        snprintf(dir, sizeof(dir), "%s/pp-fuzz-decide-XXXXXX",
                 base && *base ? base : "/tmp");
    }
    if (!mkdtemp(dir)) {
        abort();
    }
    lists = pp_listset_new();
    snprintf(path, sizeof(path), "%s/deny", dir);
    f = fopen(path, "w");
    fputs("0004f2000d04\n", f);
    fclose(f);
    FUZZ_CHECK(pp_listset_add(lists, path, err, sizeof(err)) == 0, "%s", err);
    remove(path);
    snprintf(path, sizeof(path), "%s/allow", dir);
    f = fopen(path, "w");
    fputs("0004f2000a01\n0004f2000b02\n0004f2000d04\n", f);
    fclose(f);
    FUZZ_CHECK(pp_listset_add(lists, path, err, sizeof(err)) == 1, "%s", err);
    remove(path);
    snprintf(state, sizeof(state), "%s/state", dir);
    FUZZ_CHECK(pp_listset_start(lists, state, 1, -1, -1, err, sizeof(err)),
               "%s", err);
    atexit(cleanup);
    pattern = pp_pattern_compile(PP_DEFAULT_CN_PATTERN, err, sizeof(err));
    shared = pp_shared_new(all, 1, err, sizeof(err));
    FUZZ_CHECK(pattern && shared, "%s", err);
}

static int ref_dot(const char *p)
{
    size_t i;

    if (!p) {
        return 0;
    }
    for (i = 0; p[i]; i++) {
        if (p[i] == '.' && (i == 0 || p[i - 1] == '/')) {
            return 1;
        }
    }
    return 0;
}

static pp_reason_t ref_decide(const pp_scope_t *s, const pp_request_t *q,
                              uint64_t cn_mac, int cn_ok)
{
    pp_target_t t;
    pp_reason_t rv;
    int pi = q->path_info && *q->path_info && strcmp(q->path_info, "/");

    t.uri_path = q->uri;
    t.has_path_info = pi;
    t.filename = q->file;
    t.read_method = q->read_only;
    if (s->mode == PP_MODE_SHARED_ONLY) {
        if (q->is_dir) {
            return PP_R_DIRECTORY;
        }
        rv = pp_owner_check(&t, 0, s->shared);
        if (rv == PP_R_NOT_OWNER && (pp_path_names_any(q->uri)
                                     || pp_path_names_any(q->file))) {
            return PP_R_DEVICE_FILE;
        }
        return rv;
    }
    if (!q->tls) {
        return PP_R_NO_TLS;
    }
    if (!q->cert) {
        return PP_R_NO_CERT;
    }
    if (q->cert->verdict != PP_R_OK) {
        return q->cert->verdict;
    }
    if (q->cert->leaf_expired && !s->allow_expired) {
        return PP_R_UNTRUSTED;
    }
    if (s->npins && memcmp(q->cert->issuer_sha256, PIN, 32)) {
        return PP_R_ISSUER;
    }
    if (!q->cert->cn_usable || !cn_ok) {
        return PP_R_BAD_CN;
    }
    if (cn_mac == MAC_D) {
        return PP_R_DENY_LIST;
    }
    if (cn_mac != MAC_A && cn_mac != MAC_B) {
        return PP_R_ALLOW_LIST;
    }
    if (q->is_dir) {
        return PP_R_DIRECTORY;
    }
    if (!q->read_only && (ref_dot(q->uri) || ref_dot(q->file))) {
        return PP_R_DOT_FILE;
    }
    rv = pp_owner_check(&t, cn_mac, s->shared);
    if (rv != PP_R_OK) {
        return rv;
    }
    if (q->copy_move) {
        if (!q->destination) {
            return PP_R_NOT_OWNER;
        }
        if (ref_dot(q->destination)) {
            return PP_R_DOT_FILE;
        }
        t.uri_path = q->destination;
        t.has_path_info = 0;
        t.filename = NULL;
        t.read_method = 0;
        rv = pp_owner_check(&t, cn_mac, NULL);
        if (rv != PP_R_OK) {
            return rv;
        }
    }
    return q->proppatch ? PP_R_METHOD : PP_R_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    pp_scope_t s;
    pp_request_t q;
    pp_verdict_t v;
    pp_cert_facts_t cert;
    pp_cn_mac_t cn;
    uint64_t mac = 0;
    char *buf, *parts[3] = { NULL, NULL, NULL };
    size_t i, k;
    int cn_ok;
    pp_reason_t want;

    fuzz_init();
    setup();
    if (n < 9) {
        return 0;
    }
    for (i = 3; i < 9; i++) {
        mac = mac << 8 | d[i];
    }
    /* a CN of the phones the lists know, most of the time */
    switch (d[1] >> 5) {
    case 0: mac = MAC_A; break;
    case 1: mac = MAC_B; break;
    case 2: mac = MAC_D; break;
    default: break;
    }
    memset(&s, 0, sizeof(s));
    s.mode = (d[1] & 8) ? PP_MODE_SHARED_ONLY : PP_MODE_ON;
    s.have_ca = 1;
    s.pins = PIN;
    s.npins = (d[1] & 16) ? 1 : 0;
    s.pattern = pattern;
    s.lists = lists;
    s.deny_idx = 0;
    s.allow_idx = 1;
    s.shared = shared;
    s.allow_expired = (d[2] & 2) != 0;

    memset(&cert, 0, sizeof(cert));
    cert.verdict = (d[0] & 4) ? PP_R_OK
                              : (d[0] & 8) ? PP_R_INTERNAL : PP_R_UNTRUSTED;
    if (d[0] & 16) {
        memcpy(cert.issuer_sha256, PIN, 32);
    }
    cert.cn_count = 1;
    cert.cn_usable = (d[0] & 32) != 0;
    snprintf(cert.cn, sizeof(cert.cn), "%012llX", (unsigned long long)mac);
    cert.cn_len = strlen(cert.cn);
    cert.leaf_expired = d[2] & 1;
    cert.not_after = 86400;
    cn_ok = mac != 0;

    buf = malloc(n - 9 + 1);
    memcpy(buf, d + 9, n - 9);
    buf[n - 9] = '\0';
    for (i = 0, k = 0; k < 3; k++) {
        if (i > n - 9) {
            break;
        }
        parts[k] = buf + i;
        i += strlen(buf + i) + 1;
    }
    memset(&q, 0, sizeof(q));
    q.tls = d[0] & 1;
    q.cert = (d[0] & 2) ? &cert : NULL;
    q.uri = parts[0];
    q.file = parts[1] && *parts[1] ? parts[1] : NULL;
    q.is_dir = (d[0] & 64) != 0;
    q.read_only = (d[0] & 128) != 0;
    q.proppatch = d[1] & 1;
    q.copy_move = (d[1] & 2) != 0;
    q.destination = (d[1] & 4) ? parts[2] : NULL;
    if (q.proppatch || q.copy_move) {
        q.read_only = 0;
    }
    /* the CN's MAC, worked out once as the module does */
    pp_cn_mac_of(s.pattern, &cert, &cn);
    q.cn = &cn;
    pp_decide(&s, &q, &v);
    want = ref_decide(&s, &q, mac, cn_ok);
    FUZZ_CHECK(v.reason == want, "core %s (step %d), reference %s; uri '%s' "
               "file '%s' dest '%s' mac %012llx flags %02x %02x %02x",
               pp_reason_name(v.reason), (int)v.step, pp_reason_name(want),
               q.uri ? q.uri : "(none)", q.file ? q.file : "(none)",
               q.destination ? q.destination : "(none)",
               (unsigned long long)mac, d[0], d[1], d[2]);
    FUZZ_CHECK((v.reason == PP_R_OK) == (v.step == PP_STEP_NONE),
               "step %d for %s",
               (int)v.step, pp_reason_name(v.reason));
    FUZZ_CHECK(!v.mac_known || v.mac == mac, "mac %012llx",
               (unsigned long long)v.mac);
    /* an expired certificate refused at PP_STEP_VERIFY says so, with its
     * date */
    FUZZ_CHECK(!(v.step == PP_STEP_VERIFY && cert.verdict == PP_R_OK)
               || strstr(v.detail, "expired at 1970-01-02 00:00:00 UTC"),
               "PP_STEP_VERIFY detail '%s'", v.detail);
    free(buf);
    return 0;
}
