/* SPDX-License-Identifier: Apache-2.0 */
/* polyprov-check --readiness (pc_readiness.c). */
#ifndef PC_READINESS_H
#define PC_READINESS_H

/* Read the error logs argv[first..argc-1] ("-": standard input) and print
 * which phones PolyProv On would refuse, by reason and phone (JSON when
 * json is set).  Returns 0 none, 1 some, 2 a file could not be read. */
int pc_readiness(int argc, char **argv, int first, int json);

#endif
