/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the decision, step by step, over plain facts.
 *
 * The steps are those of docs/decisions.md's decision table ("How the module
 * decides"); each is named below by its pp_step_t (pp_core.h).  The httpd glue gathers
 * the facts (TLS, the client certificate's verdict, the request's target)
 * and reports the verdict; the offline tool and the unit tests call this
 * same function.
 */
#include "pp_core.h"

#include <string.h>

static pp_reason_t done(pp_verdict_t *v, pp_step_t step, pp_reason_t reason)
{
    v->step = step;
    v->reason = reason;
    return reason;
}

/* PP_STEP_DENY_LIST and PP_STEP_ALLOW_LIST: look the MAC up in list idx; refuse with `refusal` when
 * it is on the list (refuse_if_listed) or not on it (the allow list).  A
 * list that has never loaded, or cannot be looked at, refuses too. */
static pp_reason_t list_step(const pp_scope_t *s, const pp_request_t *q,
                             pp_verdict_t *v, int idx, const char *which,
                             int refuse_if_listed, pp_reason_t refusal)
{
    const char *path = pp_listset_path(s->lists, idx);
    int rc = pp_listset_lookup(s->lists, idx, v->mac, q->now_us,
                               s->reload_s);

    if (rc == PP_LIST_UNAVAILABLE) {
        pp_err(v->detail, sizeof(v->detail), "the %s list %s has never "
               "loaded", which, path);
        return PP_R_LIST_UNAVAILABLE;
    }
    if (rc < 0) {
        pp_err(v->detail, sizeof(v->detail), "the %s list %s is "
               "unavailable", which, path);
        return PP_R_INTERNAL;
    }
    if (!rc == !refuse_if_listed) {
        pp_err(v->detail, sizeof(v->detail), "%s %s",
               refuse_if_listed ? "listed in" : "not in", path);
        return refusal;
    }
    return PP_R_OK;
}

/* A scope with PolyProv SharedOnly (no device certificates): only files
 * that name no device, read-only.  The steps before PP_STEP_DIRECTORY
 * do not apply. */
static pp_reason_t decide_shared_only(const pp_scope_t *s,
                                      const pp_request_t *q,
                                      pp_verdict_t *v)
{
    pp_target_t t;
    pp_reason_t rv;

    /* PP_STEP_DIRECTORY */
    if (q->is_dir) {
        return done(v, PP_STEP_DIRECTORY, PP_R_DIRECTORY);
    }
    /* PP_STEP_OWNER, with no device of its own: any device's file is
     * refused */
    t.uri_path = q->uri;
    t.has_path_info = q->path_info && *q->path_info
                      && strcmp(q->path_info, "/");
    t.filename = q->file;
    t.read_method = q->read_only;
    rv = pp_owner_check(&t, PP_MAC_NONE, s->shared);
    if (rv == PP_R_NOT_OWNER && (pp_path_names_any(q->uri)
                                 || pp_path_names_any(q->file))) {
        pp_err(v->detail, sizeof(v->detail), "PolyProv SharedOnly serves "
               "no file that names a device");
        rv = PP_R_DEVICE_FILE;
    }
    return done(v, rv == PP_R_OK ? PP_STEP_NONE : PP_STEP_OWNER, rv);
}

pp_reason_t pp_decide(const pp_scope_t *s, const pp_request_t *q,
                      pp_verdict_t *v)
{
    const pp_cert_facts_t *f = q->cert;
    pp_target_t t;
    pp_reason_t rv;
    int i;

    /* (not the whole struct: detail is long, and this runs per request) */
    v->reason = PP_R_OK;
    v->step = PP_STEP_NONE;
    v->mac = 0;
    v->mac_known = 0;
    v->device_file = 0;
    v->detail[0] = '\0';
    if (s->mode == PP_MODE_SHARED_ONLY) {
        return decide_shared_only(s, q, v);
    }
    /* PP_STEP_TLS: the connection is TLS */
    if (!q->tls) {
        return done(v, PP_STEP_TLS, PP_R_NO_TLS);
    }
    /* PP_STEP_CERT: a client certificate is present (mod_ssl's own verdict is
     * not consulted either way) */
    if (!f) {
        return done(v, PP_STEP_CERT, PP_R_NO_CERT);
    }
    /* PP_STEP_VERIFY: the module's own verification (without a PolyProvTrustedCA
     * the core trusts nothing) */
    if (f->verdict != PP_R_OK) {
        if (s->have_ca) {
            pp_err(v->detail, sizeof(v->detail), "%s", f->detail);
        }
        else {
            pp_err(v->detail, sizeof(v->detail), "%s (PolyProv On at %s)",
                   f->detail, s->enabled_where ? s->enabled_where : "?");
        }
        return done(v, PP_STEP_VERIFY, f->verdict == PP_R_INTERNAL
                                       ? PP_R_INTERNAL : PP_R_UNTRUSTED);
    }
    /* ... in which a client certificate past its notAfter (and valid in
     * every other respect) passes only where PolyProvAllowExpired is On */
    if (f->leaf_expired && !s->allow_expired) {
        char when[64];
        pp_time_format(f->not_after, when, sizeof(when));
        pp_err(v->detail, sizeof(v->detail), "the certificate expired at %s"
               " (its notAfter); PolyProvAllowExpired is not On here",
               when);
        return done(v, PP_STEP_VERIFY, PP_R_UNTRUSTED);
    }
    /* PP_STEP_ISSUER: the direct issuer is pinned, if pins are set */
    if (s->npins > 0) {
        int ok = 0;
        for (i = 0; i < s->npins && !ok; i++) {
            ok = !memcmp(s->pins + (size_t)i * 32, f->issuer_sha256, 32);
        }
        if (!ok) {
            char fp[96];
            pp_fingerprint_format(f->issuer_sha256, fp);
            pp_err(v->detail, sizeof(v->detail), "issuer sha256:%s is not "
                   "pinned", fp);
            return done(v, PP_STEP_ISSUER, PP_R_ISSUER);
        }
    }
    /* PP_STEP_CN: one usable CN, and the pattern gives a MAC */
    if (!f->cn_usable) {
        if (f->cn_count != 1) {
            pp_err(v->detail, sizeof(v->detail), "the subject has %d CN "
                   "attributes", f->cn_count);
        }
        else {
            pp_err(v->detail, sizeof(v->detail), "the CN is too long, not "
                   "UTF-8 or holds a NUL");
        }
        return done(v, PP_STEP_CN, PP_R_BAD_CN);
    }
    /* ... as the caller worked it out once for this certificate
     * (pp_cn_mac_of): none, or one worked out with another pattern than
     * this scope's, is refused */
    if (!q->cn || q->cn->pattern != s->pattern) {
        pp_err(v->detail, sizeof(v->detail), "the CN's MAC was not worked "
               "out with this scope's PolyProvCNPattern");
        return done(v, PP_STEP_CN, PP_R_INTERNAL);
    }
    rv = q->cn->rv;
    if (rv != PP_R_OK) {
        pp_err(v->detail, sizeof(v->detail), "the CN gives no MAC with "
               "PolyProvCNPattern %s", pp_pattern_source(s->pattern));
        return done(v, PP_STEP_CN, rv == PP_R_INTERNAL ? PP_R_INTERNAL
                                                       : PP_R_BAD_CN);
    }
    v->mac = q->cn->mac;
    v->mac_known = 1;
    /* PP_STEP_DENY_LIST: not on the deny list (it wins over the allow list) */
    if (s->deny_idx >= 0) {
        rv = list_step(s, q, v, s->deny_idx, "deny", 1, PP_R_DENY_LIST);
        if (rv != PP_R_OK) {
            return done(v, PP_STEP_DENY_LIST, rv);
        }
    }
    /* PP_STEP_ALLOW_LIST: on the allow list, if one is configured */
    if (s->allow_idx >= 0) {
        rv = list_step(s, q, v, s->allow_idx, "allow", 0, PP_R_ALLOW_LIST);
        if (rv != PP_R_OK) {
            return done(v, PP_STEP_ALLOW_LIST, rv);
        }
    }
    /* PP_STEP_DIRECTORY: not a directory */
    if (q->is_dir) {
        return done(v, PP_STEP_DIRECTORY, PP_R_DIRECTORY);
    }
    t.uri_path = q->uri;
    /* "/" alone is how a collection is spelled (MKCOL /dir/) */
    t.has_path_info = q->path_info && *q->path_info
                      && strcmp(q->path_info, "/");
    t.filename = q->file;
    t.read_method = q->read_only;
    /* PP_STEP_DOT_FILE: no write to a dot-file (.htaccess and the like) */
    if (!t.read_method && (pp_path_has_dot_segment(q->uri)
                           || pp_path_has_dot_segment(q->file))) {
        return done(v, PP_STEP_DOT_FILE, PP_R_DOT_FILE);
    }
    /* PP_STEP_OWNER: the file belongs to the requester ... */
    rv = pp_owner_check_ex(&t, v->mac, s->shared, &v->device_file);
    if (rv != PP_R_OK) {
        return done(v, PP_STEP_OWNER, rv);
    }
    /* ... and so does what a COPY or MOVE writes, judged here whatever
     * serves the request (mod_dav, a proxy, anything else) */
    if (q->copy_move) {
        if (!q->destination) {
            pp_err(v->detail, sizeof(v->detail), "%s",
                   q->destination_error ? q->destination_error
                                        : "no Destination");
            return done(v, PP_STEP_OWNER, PP_R_NOT_OWNER);
        }
        if (pp_path_has_dot_segment(q->destination)) {
            rv = PP_R_DOT_FILE;
        }
        else {
            t.uri_path = q->destination;
            t.has_path_info = 0;
            t.filename = NULL;
            t.read_method = 0;
            rv = pp_owner_check(&t, v->mac, NULL);
        }
        if (rv != PP_R_OK) {
            pp_err(v->detail, sizeof(v->detail), "Destination %s",
                   q->destination);
            return done(v, rv == PP_R_DOT_FILE ? PP_STEP_DOT_FILE
                                               : PP_STEP_OWNER, rv);
        }
    }
    /* PP_STEP_METHOD: phones never set WebDAV properties (mod_dav_fs's
     * "executable" would make an upload a program for XBitHack or CGI) */
    if (q->proppatch) {
        pp_err(v->detail, sizeof(v->detail), "PROPPATCH is not allowed to "
               "devices");
        return done(v, PP_STEP_METHOD, PP_R_METHOD);
    }
    return done(v, PP_STEP_NONE, PP_R_OK);
}
