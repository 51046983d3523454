/* SPDX-License-Identifier: Apache-2.0 */
/*
 * make check-list LIST=path: the strict check of allow and deny list files
 * for deployment pipelines, with the server's own parser
 * (pp_list_validate, which polyprov-check --check-list shares).
 *
 * Exit 0 when every file is a good list; 1 when one is broken (a message
 * naming file:line for each bad line, the first PP_LIST_BAD_SHOWN, then
 * their count); 2 when one cannot be read.
 */
#include "pp_core.h"

#include <stdio.h>

static void bad_line(void *baton, const char *msg)
{
    (void)baton;
    fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    int i, worst = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s LIST-FILE...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        char err[1024];
        size_t n = 0;
        unsigned long nbad = 0;
        int rc = pp_list_validate_all(argv[i], &n, PP_LIST_BAD_SHOWN,
                                      bad_line, NULL, &nbad, err,
                                      sizeof(err));

        if (rc == 1) {
            printf("%s: OK, %zu MACs\n", argv[i], n);
        }
        else {
            if (nbad == 0) {
                fprintf(stderr, "%s\n", err);
            }
            else if (nbad > PP_LIST_BAD_SHOWN) {
                fprintf(stderr, "%s: %lu bad lines in all; the first %d "
                        "are shown\n", argv[i], nbad, PP_LIST_BAD_SHOWN);
            }
            if (worst < (rc == 0 ? 1 : 2)) {
                worst = rc == 0 ? 1 : 2;
            }
        }
    }
    return worst;
}
