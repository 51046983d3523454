/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: the MAC out of a certificate's CN (PolyProvCNPattern). */
#include "pp_core.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

struct pp_pattern {
    pcre2_code *code;
    pcre2_match_context *mctx;   /* bounds the work of one match */
    char *source;
};

/* A CN is at most PP_CN_MAX bytes; a sane pattern needs a few hundred
 * steps.  A pathological one ("^(a+)+$") stops here instead of holding a
 * worker for minutes, and the request is refused (internal). */
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 1000

pp_pattern_t *pp_pattern_compile(const char *regex, char *err, size_t errlen)
{
    pp_pattern_t *p;
    int errcode;
    PCRE2_SIZE erroff;

    if (!regex || !*regex) {
        pp_err(err, errlen, "empty regular expression");
        return NULL;
    }
    p = pp_calloc(1, sizeof(*p));
    if (!p || !(p->source = pp_strndup(regex, strlen(regex)))) {
        pp_free(p);
        pp_err(err, errlen, "out of memory");
        return NULL;
    }
    p->code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                            /* '$' means the end, not "before a final
                             * newline": a CN "<mac>\n" is not a MAC */
                            PCRE2_UTF | PCRE2_DOLLAR_ENDONLY,
                            &errcode, &erroff, NULL);
    if (p->code && (!(p->mctx = pcre2_match_context_create(NULL))
                    || pcre2_set_match_limit(p->mctx, MATCH_LIMIT) != 0
                    || pcre2_set_depth_limit(p->mctx, DEPTH_LIMIT) != 0)) {
        pp_err(err, errlen, "out of memory");
        pp_pattern_free(p);
        return NULL;
    }
    if (!p->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        pp_err(err, errlen, "bad regular expression '%s' at offset %zu: %s",
               regex, (size_t)erroff, (const char *)msg);
        pp_pattern_free(p);
        return NULL;
    }
    return p;
}

void pp_pattern_free(pp_pattern_t *p)
{
    if (!p) {
        return;
    }
    if (p->code) {
        pcre2_code_free(p->code);
    }
    if (p->mctx) {
        pcre2_match_context_free(p->mctx);
    }
    pp_free(p->source);
    pp_free(p);
}

const char *pp_pattern_source(const pp_pattern_t *p)
{
    return p ? p->source : PP_DEFAULT_CN_PATTERN;
}

pp_reason_t pp_pattern_mac(const pp_pattern_t *p, const char *cn,
                           size_t cnlen, pp_mac_t *mac)
{
    pcre2_match_data *md;
    PCRE2_SIZE *ov;
    pp_reason_t rv = PP_R_BAD_CN;
    size_t start, len;
    int rc;

    if (!p || !cn || memchr(cn, '\0', cnlen)) {
        return PP_R_BAD_CN;
    }
    md = pcre2_match_data_create_from_pattern(p->code, NULL);
    if (!md) {
        return PP_R_INTERNAL;
    }
    rc = pcre2_match(p->code, (PCRE2_SPTR)cn, cnlen, 0, 0, md, p->mctx);
    if (rc == PCRE2_ERROR_NOMATCH
        || (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)) {
        goto done;               /* no match, or a CN that is not UTF-8 */
    }
    if (rc < 0) {
        rv = PP_R_INTERNAL;
        goto done;
    }
    ov = pcre2_get_ovector_pointer(md);
    if (rc >= 2 && ov[2] != PCRE2_UNSET) {
        start = ov[2];
        len = ov[3] - ov[2];
    }
    else {
        start = ov[0];
        len = ov[1] - ov[0];
    }
    if (len == 12 && pp_mac_from_hex12(cn + start, mac)
        && *mac != PP_MAC_NONE) {
        rv = PP_R_OK;
    }
done:
    pcre2_match_data_free(md);
    return rv;
}

void pp_cn_mac_of(const pp_pattern_t *p, const pp_cert_facts_t *f,
                  pp_cn_mac_t *out)
{
    out->pattern = p;
    out->mac = 0;
    /* (pp_pattern_mac leaves the MAC 0 unless it gives PP_R_OK) */
    out->rv = f->cn_usable ? pp_pattern_mac(p, f->cn, f->cn_len, &out->mac)
                           : PP_R_BAD_CN;
}
