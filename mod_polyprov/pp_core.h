/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: everything that decides, with no httpd type in it.
 *
 * The httpd glue (mod_polyprov.c, mod_polyprov_config.c) and the unit tests
 * link against this; so can an operator's offline tool.  Nothing here
 * includes an httpd or APR header.
 *
 * pp_core.h is the umbrella: it includes the header of every unit of the
 * core, each with one job (CONTRIBUTING.md, "Source layout").  Entry
 * points for tests only are in pp_testing.h, the fault seam in
 * pp_fault.h.
 */
#ifndef PP_CORE_H
#define PP_CORE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "pp_reason.h"    /* reasons and decision steps */
#include "pp_log.h"       /* logging, error messages */
#include "pp_alloc.h"     /* allocation (through the fault seam) */
#include "pp_access.h"    /* can httpd's children read a file */
#include "pp_mac.h"       /* MAC notations */
#include "pp_path.h"      /* ownership of a request path */
#include "pp_quota.h"     /* what one device holds on disk */
#include "pp_cn.h"        /* the MAC out of the CN */
#include "pp_ca.h"        /* CA and CRL material */
#include "pp_cert.h"      /* verification and its cache */
#include "pp_maclist.h"   /* list files and lookups */
#include "pp_listset.h"   /* lists shared between processes, reloads */
#include "pp_decide.h"    /* the decision */

#endif /* PP_CORE_H */
