/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov glue: the one walk over a host's configuration sections.
 *
 * A (virtual) server's per-directory configuration is its defaults
 * (lookup_defaults) and its <Directory> and <Location> sections (the main
 * server's merged into every virtual host's, as httpd does), each with the
 * <Files> and <If> sections nested in it.  polyprov_walk_sections() visits
 * them all, depth first in that order, and gives each with its own vector
 * and, when asked, the vector merged the way a request there would see it
 * (over the host's defaults, the <Directory> sections that contain a
 * <Directory>, and the sections it is nested in).  The configuration
 * checks, the dump, the answers' scan and the reload intervals all walk
 * through it.  It calls no other glue file.
 */
#include "mod_polyprov.h"

#include <string.h>

#include "apr_strings.h"
#include "http_core.h"

typedef struct {
    apr_pool_t *p;
    server_rec *s;
    int merge;
    polyprov_section_fn *fn;
    void *baton;
} walker_t;

static int dir_contains(const char *outer, const char *inner)
{
    size_t n = strlen(outer);

    while (n > 0 && outer[n - 1] == '/') {
        n--;
    }
    return !strncmp(outer, inner, n) && (inner[n] == '/' || inner[n] == '\0');
}

/* What names a section in the dump: its path, "~ " before a regex; an
 * <If> its file:line. */
static const char *section_name(apr_pool_t *p, const core_dir_config *cd,
                                const char *kind)
{
    if (!cd) {
        return "?";
    }
    if (!strcmp(kind, "If")) {
        return cd->condition && cd->condition->filename
            ? apr_psprintf(p, "%s:%u", cd->condition->filename,
                           cd->condition->line_number) : "?";
    }
    if (cd->r) {
        return apr_pstrcat(p, "~ ", cd->d ? cd->d : "?", NULL);
    }
    return cd->d ? cd->d : "?";
}

static void visit(walker_t *w, const char *kind, ap_conf_vector_t *own,
                  ap_conf_vector_t *merged, const char *path)
{
    polyprov_section_t sec;

    sec.s = w->s;
    sec.kind = kind;
    sec.own = own;
    sec.merged = merged;
    sec.path = path;
    w->fn(w->baton, &sec);
}

/* <Files> and <If> sections inside v (merged over m) */
static void nested(walker_t *w, ap_conf_vector_t *m, ap_conf_vector_t *v,
                   const char *outer)
{
    core_dir_config *cd = v ? ap_get_core_module_config(v) : NULL;
    apr_array_header_t *secs[2];
    static const char *const kinds[2] = { "Files", "If" };
    int k, i;

    if (!cd) {
        return;
    }
    secs[0] = cd->sec_file;
    secs[1] = cd->sec_if;
    for (k = 0; k < 2; k++) {
        for (i = 0; secs[k] && i < secs[k]->nelts; i++) {
            ap_conf_vector_t *sv = APR_ARRAY_IDX(secs[k], i,
                                                 ap_conf_vector_t *);
            ap_conf_vector_t *mv = NULL;
            const char *path = NULL;

            if (!sv) {
                continue;
            }
            if (w->merge) {
                mv = ap_merge_per_dir_configs(w->p, m, sv);
                path = apr_pstrcat(w->p, outer, " ", kinds[k], " ",
                    section_name(w->p, ap_get_core_module_config(sv),
                                 kinds[k]), NULL);
            }
            visit(w, kinds[k], sv, mv, path);
            nested(w, mv, sv, path);
        }
    }
}

void polyprov_walk_sections(apr_pool_t *p, server_rec *s, int merge,
                            polyprov_section_fn *fn, void *baton)
{
    core_server_config *sc = ap_get_core_module_config(s->module_config);
    static const char *const kinds[2] = { "Directory", "Location" };
    apr_array_header_t *secs[2];
    walker_t w;
    int k, i, j;

    w.p = p;
    w.s = s;
    w.merge = merge;
    w.fn = fn;
    w.baton = baton;
    if (s->lookup_defaults) {
        visit(&w, "host", s->lookup_defaults,
              merge ? s->lookup_defaults : NULL, merge ? "" : NULL);
        nested(&w, s->lookup_defaults, s->lookup_defaults, "host");
    }
    secs[0] = sc->sec_dir;
    secs[1] = sc->sec_url;
    for (k = 0; k < 2; k++) {
        for (i = 0; secs[k] && i < secs[k]->nelts; i++) {
            ap_conf_vector_t *v = APR_ARRAY_IDX(secs[k], i,
                                                ap_conf_vector_t *);
            core_dir_config *cd;
            ap_conf_vector_t *m = s->lookup_defaults;
            const char *path = NULL;

            if (!v) {
                continue;
            }
            if (merge) {
                cd = ap_get_core_module_config(v);
                /* a <Directory> inherits from those that contain it */
                for (j = 0; k == 0 && j < i; j++) {
                    ap_conf_vector_t *o = APR_ARRAY_IDX(secs[k], j,
                                                        ap_conf_vector_t *);
                    core_dir_config *ocd = ap_get_core_module_config(o);
                    if (!ocd->r && !ocd->d_is_fnmatch && !cd->r && ocd->d
                        && cd->d && dir_contains(ocd->d, cd->d)) {
                        m = ap_merge_per_dir_configs(p, m, o);
                    }
                }
                m = ap_merge_per_dir_configs(p, m, v);
                path = section_name(p, cd, kinds[k]);
            }
            visit(&w, kinds[k], v, merge ? m : NULL, path);
            nested(&w, m, v, merge ? apr_pstrcat(p, kinds[k], " ", path,
                                                 NULL) : NULL);
        }
    }
}

static void push(void *baton, const polyprov_section_t *sec)
{
    const polyprov_dir_conf_t *dc = ap_get_module_config(sec->own,
                                                         &polyprov_module);
    if (dc) {
        APR_ARRAY_PUSH((apr_array_header_t *)baton,
                       const polyprov_dir_conf_t *) = dc;
    }
}

apr_array_header_t *polyprov_sections(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *confs = apr_array_make(
        p, 16, sizeof(const polyprov_dir_conf_t *));

    polyprov_walk_sections(p, s, 0, push, confs);
    return confs;
}

/* What the scopes of a host say (mod_polyprov.h, polyprov_host_t). */
void polyprov_host_scan(apr_pool_t *p, server_rec *s, polyprov_host_t *h)
{
    apr_array_header_t *confs = polyprov_sections(p, s);
    int i, j;

    memset(h, 0, sizeof(*h));
    h->cas = apr_array_make(p, 4, sizeof(const pp_ca_t *));
    for (i = 0; i < confs->nelts; i++) {
        const polyprov_dir_conf_t *dc = APR_ARRAY_IDX(
            confs, i, const polyprov_dir_conf_t *);
        if (dc->enabled == PP_ON) {
            h->polyprov_on = 1;
        }
        if (dc->pattern && !h->pattern) {
            h->pattern = dc->pattern;    /* (the defaults come first) */
        }
        if (dc->enabled == PP_REPORT && !h->report) {
            h->report = 1;
            h->report_where = dc->enabled_where;
            h->report_pattern = dc->pattern;
        }
        if (dc->allow_expired == 1 && !h->allow_expired) {
            h->allow_expired = 1;
            h->allow_expired_where = dc->allow_expired_where;
        }
        for (j = 0; dc->ca && j < h->cas->nelts; j++) {
            if (APR_ARRAY_IDX(h->cas, j, const pp_ca_t *) == dc->ca) {
                break;
            }
        }
        if (dc->ca && j == h->cas->nelts) {
            APR_ARRAY_PUSH(h->cas, const pp_ca_t *) = dc->ca;
        }
    }
}
