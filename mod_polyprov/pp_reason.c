/* SPDX-License-Identifier: Apache-2.0 */
/* mod_polyprov core: the names of reasons and of decision steps. */
#include "pp_reason.h"

#include <stddef.h>

static const char *const reason_names[] = {
    [PP_R_OK] = "ok",
    [PP_R_NO_TLS] = "no-tls",
    [PP_R_NO_CERT] = "no-cert",
    [PP_R_UNTRUSTED] = "untrusted",
    [PP_R_ISSUER] = "issuer",
    [PP_R_BAD_CN] = "bad-cn",
    [PP_R_DENY_LIST] = "deny-list",
    [PP_R_ALLOW_LIST] = "allow-list",
    [PP_R_DIRECTORY] = "directory",
    [PP_R_NOT_OWNER] = "not-owner",
    [PP_R_SHARED_READONLY] = "shared-readonly",
    [PP_R_NOT_SHARED] = "not-shared",
    [PP_R_INTERNAL] = "internal",
    [PP_R_DOT_FILE] = "dot-file",
    [PP_R_METHOD] = "method",
    [PP_R_FOREIGN_NAME] = "foreign-name",
    [PP_R_DEVICE_FILE] = "device-file",
    [PP_R_LIST_UNAVAILABLE] = "list-unavailable",
    [PP_R_QUOTA] = "quota",
};

const char *pp_reason_name(pp_reason_t r)
{
    if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0])
        && reason_names[r]) {
        return reason_names[r];
    }
    return "internal";
}

static const char *const step_names[] = {
    [PP_STEP_NONE] = "",
    [PP_STEP_TLS] = "TLS",
    [PP_STEP_CERT] = "certificate",
    [PP_STEP_VERIFY] = "verification",
    [PP_STEP_ISSUER] = "issuer pin",
    [PP_STEP_CN] = "CN and MAC",
    [PP_STEP_DENY_LIST] = "deny list",
    [PP_STEP_ALLOW_LIST] = "allow list",
    [PP_STEP_DIRECTORY] = "directory",
    [PP_STEP_DOT_FILE] = "dot-file",
    [PP_STEP_OWNER] = "owner",
    [PP_STEP_METHOD] = "method",
};

/* a step added to pp_step_t without a name here does not compile */
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == PP_STEP_LAST + 1,
               "every step of pp_step_t has a name in step_names");

const char *pp_step_name(pp_step_t s)
{
    if ((unsigned)s < sizeof(step_names) / sizeof(step_names[0])
        && step_names[s]) {
        return step_names[s];
    }
    return "";
}
