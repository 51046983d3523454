/* SPDX-License-Identifier: Apache-2.0 */
/*
 * polyprov-check: the input parsing the tool does itself, beside the
 * core's (list files, CA and CRL files, fingerprints and patterns are the
 * core's own parsers).  Kept apart from the tool's main so that the
 * libFuzzer harness (tests/fuzz/fuzz_check_input.c) drives exactly this.
 *
 *  - reading a file whole, bounded in size;
 *  - a certificate file: PEM (one or more CERTIFICATE blocks) or DER (one
 *    or more certificates back to back);
 *  - the request target as httpd 2.4 makes r->uri of it, and the
 *    Destination of a COPY or MOVE as mod_polyprov reads it.
 */
#ifndef PC_INPUT_H
#define PC_INPUT_H

#include <stddef.h>

/* A certificate file larger than this is refused: a device certificate
 * with its chain is a few kilobytes. */
#define PC_CERT_FILE_MAX (1024 * 1024)

/* Read path whole into a malloc'd buffer (NUL-terminated, for
 * convenience; *len excludes it).  A file larger than max bytes, a
 * directory or anything that is not a regular file is refused.  Returns 1,
 * or 0 with a message naming the file. */
int pc_read_file(const char *path, size_t max, char **buf, size_t *len,
                 char *err, size_t errlen);

/* The certificates of a certificate file (see pc_certs_parse). */
typedef struct {
    int count;                     /* certificates found (>= 1) */
    int der;                       /* 1: DER, 0: PEM */
    unsigned char **ders;          /* each certificate's DER ... */
    size_t *lens;                  /* ... and its length */
    char *leaf_pem;                /* the first, as PEM (as mod_ssl hands
                                    * SSL_CLIENT_CERT to the module) */
    size_t leaf_pem_len;
} pc_certs_t;

/* Parse a certificate file held in memory.  PEM: every CERTIFICATE block
 * in order (other blocks, such as a private key, and text around them are
 * skipped); a block that does not decode is an error.  Otherwise DER:
 * certificates back to back, nothing else.  Returns 1, or 0 with a
 * message (empty, not a certificate, truncated, trailing data). */
int pc_certs_parse(const char *name, const char *buf, size_t len,
                   pc_certs_t *out, char *err, size_t errlen);
void pc_certs_free(pc_certs_t *c);

/* ---- httpd's URI handling, as in httpd 2.4's server/util.c ---------- */

/* ap_normalize_path() with AP_NORMALIZE_NOT_ABOVE_ROOT,
 * AP_NORMALIZE_MERGE_SLASHES and AP_NORMALIZE_DECODE_UNRESERVED (what
 * httpd applies to every request's path, MergeSlashes being On): in
 * place; returns 0 where httpd answers 400. */
int pc_normalize_path(char *path);

/* unescape_url(): 0, or 400 (a bad escape) or 404 (an encoded NUL, or an
 * encoded '/' when forbid_slashes); keep_unreserved leaves %41 and the
 * like as they are (ap_normalize_path decoded them already). */
int pc_unescape(char *url, int forbid_slashes, int keep_unreserved);

/* ap_getparents() and ap_no2slash(), in place. */
void pc_getparents(char *name);
void pc_no2slash(char *name);

/* The request target (origin form "/path?query", or absolute form
 * "https://host/path") as httpd makes r->uri of it: the path, without
 * query or fragment, normalised, then percent-decoded (AllowEncodedSlashes
 * Off, MergeSlashes On).  Returns a malloc'd path, or NULL and the status
 * httpd would answer (400, 404) with a message in err. */
char *pc_request_path(const char *target, int *status, char *err,
                      size_t errlen);

/* The path a COPY or MOVE writes to, as mod_polyprov reads its
 * Destination header (an absolute URI or path, no query or fragment;
 * percent-decoded, with an encoded '/', a NUL or a ';' refused; then ..
 * and repeated slashes resolved as mod_dav does).  Returns a malloc'd
 * path, or NULL and why in why. */
char *pc_destination_path(const char *dest, char *why, size_t whylen);

/* Printable form of len bytes (\xNN for anything else), at most outlen. */
void pc_printable(const char *s, size_t len, char *out, size_t outlen);

#endif /* PC_INPUT_H */
