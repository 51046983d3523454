/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: MAC addresses: notations, the hex table.
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_MAC_H
#define PP_MAC_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t pp_mac_t;          /* 48 bits, in the low bits */
#define PP_MAC_NONE ((pp_mac_t)0)   /* 000000000000: names nobody */

/* The value of a hex digit, any case, or PP_NOT_HEX: one table for every
 * parser of the core. */
#define PP_NOT_HEX 0xff
extern const unsigned char pp_hex[256];

/* Exactly 12 hex digits, any case. Returns 1 and sets *out, else 0. */
int pp_mac_from_hex12(const char *s, pp_mac_t *out);

/* A list-file notation, any case: 0004f2aabbcc, 00:04:f2:aa:bb:cc,
 * 00-04-f2-aa-bb-cc, 0004.f2aa.bbcc.  Returns 1 and sets *out, else 0. */
int pp_mac_parse(const char *s, size_t len, pp_mac_t *out);

/* 12 lower-case hex digits and a NUL. */
void pp_mac_format(pp_mac_t mac, char out[13]);

#endif /* PP_MAC_H */
