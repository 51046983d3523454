/* SPDX-License-Identifier: Apache-2.0 */
/* The ownership classifier, against a reference written from the
 * docs/decisions.md's rules ("How the module decides"): maximal hex runs of 12 or
 * more in the URI path (when it is absolute) and in the whole path of the
 * mapped file; a run over 12 is ambiguous; a 12-run other than
 * 000000000000 must be the requester's MAC; path info is refused; with
 * neither an absolute URI nor a file nothing is judged; a write must land
 * on a file whose path names the requester; files naming nobody are
 * shared, read-only, and must match PolyProvSharedFiles by both names.
 * The same input also drives the response scan (pp_text_names_other)
 * and the dot-segment test against references.
 *
 * Input: a flags byte, six MAC bytes, then "uri\0filename". */
#include "fuzz.h"

#include <fnmatch.h>

static const char *const shared_sets[4][3] = {
    {"*", NULL, NULL},
    {"none", NULL, NULL},
    {"*.cfg", "*.ld", NULL},
    {"000000000000*", "site.cfg", NULL},
};
static pp_shared_t *shared[4];

static int ref_scan(const char *s, uint64_t mac, int *owned)
{
    size_t i = 0, n = strlen(s);

    while (i < n) {
        size_t j = i, k;
        uint64_t v = 0;
        if (ref_hex((unsigned char)s[i]) < 0) {
            i++;
            continue;
        }
        while (j < n && ref_hex((unsigned char)s[j]) >= 0) {
            j++;
        }
        if (j - i > 12) {
            return 0;
        }
        if (j - i == 12) {
            for (k = i; k < j; k++) {
                v = v << 4 | (uint64_t)ref_hex((unsigned char)s[k]);
            }
            if (v != 0) {
                if (v != mac) {
                    return 0;
                }
                *owned = 1;
            }
        }
        i = j;
    }
    return 1;
}

static int ref_shared(int set, const char *seg)
{
    int i;

    if (set == 0) {
        return 1;
    }
    if (set == 1) {
        return 0;
    }
    for (i = 0; shared_sets[set][i]; i++) {
        if (fnmatch(shared_sets[set][i], seg, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *seg_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static pp_reason_t ref_owner(const pp_target_t *t, uint64_t mac, int set)
{
    int owned_uri = 0, owned_file = 0;
    const char *uri = t->uri_path && t->uri_path[0] == '/' ? t->uri_path
                                                           : NULL;
    const char *fseg = t->filename ? seg_of(t->filename) : NULL;

    if ((!uri && !t->filename) || t->has_path_info
        || (uri && !ref_scan(uri, mac, &owned_uri))
        || (t->filename && !ref_scan(t->filename, mac, &owned_file))) {
        return PP_R_NOT_OWNER;
    }
    if (owned_uri || owned_file) {
        return !t->read_method && t->filename && !owned_file
               ? PP_R_NOT_OWNER : PP_R_OK;
    }
    if (!t->read_method) {
        return PP_R_SHARED_READONLY;
    }
    if ((uri && !ref_shared(set, seg_of(uri)))
        || (fseg && !ref_shared(set, fseg))) {
        return PP_R_NOT_SHARED;
    }
    return PP_R_OK;
}

static int ref_dot_segment(const char *p)
{
    size_t i, n = strlen(p);

    for (i = 0; i < n; i++) {
        if (p[i] == '.' && (i == 0 || p[i - 1] == '/')) {
            return 1;
        }
    }
    return 0;
}

/* The first 12-run of the URI, so that inputs reach the owner's path. */
static uint64_t first_token(const char *s)
{
    size_t i, n = strlen(s), j;

    for (i = 0; i + 12 <= n; i++) {
        uint64_t v = 0;
        for (j = 0; j < 12 && ref_hex((unsigned char)s[i + j]) >= 0; j++) {
            v = v << 4 | (uint64_t)ref_hex((unsigned char)s[i + j]);
        }
        if (j == 12) {
            return v;
        }
    }
    return 0x0004f2000a01ULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    pp_target_t t;
    char *buf, *file;
    uint64_t mac = 0;
    pp_reason_t got, want;
    int set, i;
    char err[256];

    fuzz_init();
    for (i = 0; i < 4; i++) {
        if (!shared[i]) {
            int k = 0;
            while (k < 3 && shared_sets[i][k]) {
                k++;
            }
            shared[i] = pp_shared_new(shared_sets[i], k, err, sizeof(err));
            FUZZ_CHECK(shared[i], "%s", err);
        }
    }
    if (n < 7) {
        return 0;
    }
    for (i = 1; i < 7; i++) {
        mac = mac << 8 | d[i];
    }
    buf = malloc(n - 7 + 2);
    memcpy(buf, d + 7, n - 7);
    buf[n - 7] = '\0';
    buf[n - 7 + 1] = '\0';
    file = buf + strlen(buf) + 1;        /* after the first NUL, if any */
    if (file > buf + (n - 7)) {
        file = NULL;
    }
    t.uri_path = buf;
    t.has_path_info = d[0] & 1;
    t.read_method = (d[0] >> 1) & 1;
    t.filename = (d[0] & 4) ? file : NULL;
    set = (d[0] >> 3) & 3;
    if (d[0] & 32) {
        mac = first_token(buf);
    }
    got = pp_owner_check(&t, mac, shared[set]);
    want = ref_owner(&t, mac, set);
    FUZZ_CHECK(got == want, "core %s, reference %s; uri '%s' file '%s' "
               "mac %012llx flags %02x", pp_reason_name(got),
               pp_reason_name(want), t.uri_path,
               t.filename ? t.filename : "(none)", (unsigned long long)mac,
               d[0]);
    {
        int owned = 0;
        int other = !ref_scan(buf, mac, &owned);
        FUZZ_CHECK(pp_text_names_other(buf, strlen(buf), mac) == other,
                   "pp_text_names_other disagrees on '%s' mac %012llx", buf,
                   (unsigned long long)mac);
        FUZZ_CHECK(pp_path_has_dot_segment(buf) == ref_dot_segment(buf),
                   "pp_path_has_dot_segment disagrees on '%s'", buf);
    }
    free(buf);
    return 0;
}
