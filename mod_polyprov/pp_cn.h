/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the MAC out of a certificate's CN (PolyProvCNPattern,
 * PP_STEP_CN).
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_CN_H
#define PP_CN_H

#include <stddef.h>
#include "pp_cert.h"
#include "pp_mac.h"
#include "pp_reason.h"

#define PP_DEFAULT_CN_PATTERN "^([0-9A-Fa-f]{12})$"

typedef struct pp_pattern pp_pattern_t;

pp_pattern_t *pp_pattern_compile(const char *regex, char *err, size_t errlen);
void pp_pattern_free(pp_pattern_t *p);
const char *pp_pattern_source(const pp_pattern_t *p);

/* The first capture group, else the whole match, must be exactly 12 hex
 * digits and not 000000000000.  PP_R_OK or PP_R_BAD_CN (PP_R_INTERNAL if
 * the regex engine fails). */
pp_reason_t pp_pattern_mac(const pp_pattern_t *p, const char *cn,
                           size_t cnlen, pp_mac_t *mac);

/* The MAC a client certificate's CN gives under one pattern: the CN half
 * of PP_STEP_CN, worked out once per certificate and pattern (the module
 * keeps it with the connection) and handed to pp_decide(), which accepts
 * it only for its scope's own pattern. */
typedef struct {
    const pp_pattern_t *pattern;   /* the pattern it was worked out with */
    pp_reason_t rv;                /* PP_R_OK, PP_R_BAD_CN (also a CN that
                                    * is not usable) or PP_R_INTERNAL */
    pp_mac_t mac;                  /* when rv is PP_R_OK, else 0 */
} pp_cn_mac_t;

/* Work out f's CN under p into out (the one place the core, the module
 * and the tool take a MAC from a certificate's CN). */
void pp_cn_mac_of(const pp_pattern_t *p, const pp_cert_facts_t *f,
                  pp_cn_mac_t *out);

#endif /* PP_CN_H */
