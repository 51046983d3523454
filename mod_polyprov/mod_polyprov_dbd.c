/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov httpd glue: allow and deny lists from a database query.
 *
 * PolyProvAllowList dbd "SELECT mac FROM phones WHERE enabled" takes the
 * list from the first column of each row of the query, run with apr_dbd
 * through the driver and parameters of mod_dbd's DBDriver and DBDParams
 * for the virtual host the directive is in (else the main server's).
 * mod_dbd's own connections are tied to requests and connections; the
 * list is queried where no request exists (at start-up in the parent, then
 * by the background thread of whichever child wins a round of the core,
 * mod_polyprov_reload.c), so this file opens a connection of its own for
 * each query, in a pool of its own, and closes it at once.
 *
 * The core (pp_listset.c) does the rest as for a list file: one process
 * queries, a result that differs from the version in force becomes a new
 * snapshot every process maps, and a failing query keeps the last good
 * list.
 */
#include "mod_polyprov.h"

#include "apr_dbd.h"
#include "apr_strings.h"

typedef struct {
    const char *driver;          /* DBDriver */
    const char *params;          /* DBDParams (never logged: passwords) */
    const char *query;
    const char *version;         /* the change check, or NULL */
} polyprov_dbd_t;

/* The value of the last `name` directive in a list of directives and the
 * containers below them, <VirtualHost> sections left out at the top (they
 * have their own). */
static const char *find_param(apr_pool_t *p, const ap_directive_t *d,
                              const char *name, int top)
{
    const char *found = NULL;

    for (; d; d = d->next) {
        if (d->first_child) {
            const char *in;
            if (top && !strcasecmp(d->directive, "<VirtualHost")) {
                continue;
            }
            if ((in = find_param(p, d->first_child, name, top))) {
                found = in;
            }
        }
        else if (!strcasecmp(d->directive, name) && d->args) {
            const char *args = d->args;
            found = ap_getword_conf(p, &args);
        }
    }
    return found;
}

/* DBDriver or DBDParams for the server the directive d is in. */
static const char *server_param(apr_pool_t *p, const ap_directive_t *d,
                                const char *name)
{
    const ap_directive_t *v;
    const char *val = NULL;

    for (v = d ? d->parent : NULL; v; v = v->parent) {
        if (!strcasecmp(v->directive, "<VirtualHost")) {
            val = find_param(p, v->first_child, name, 0);
            break;
        }
    }
    return val ? val : find_param(p, ap_conftree, name, 1);
}

/* A driver's message on one line (libpq's have newlines and tabs). */
static void one_line(char *s)
{
    char *w = s;
    int space = 0;

    for (; *s; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r' || *s == ' ') {
            space = 1;
            continue;
        }
        if (space) {
            *w++ = ' ';
            space = 0;
        }
        *w++ = *s;
    }
    *w = '\0';
}

static int dbd_read_query(void *baton, uint64_t *version, pp_maclist_t *list,
                          char *err, size_t errlen);

static int dbd_read(void *baton, uint64_t *version, pp_maclist_t *list,
                    char *err, size_t errlen)
{
    int rc = dbd_read_query(baton, version, list, err, errlen);

    if (rc != 1 && errlen) {
        one_line(err);
    }
    return rc;
}

/* The version query's answer (its first column of its first row) as a
 * token: FNV-1a, never 0.  -1 when it fails. */
static int version_token(const apr_dbd_driver_t *drv, apr_pool_t *p,
                         apr_dbd_t *h, const char *query, uint64_t *token,
                         char *err, size_t errlen)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL, *e;
    uint64_t t = 1469598103934665603ULL;
    int i;

    if ((i = apr_dbd_select(drv, p, h, &res, query, 1)) != 0 || !res) {
        e = apr_dbd_error(drv, h, i);
        pp_err(err, errlen, "the version query failed: %s",
               e && *e ? e : "(no message)");
        return -1;
    }
    if (apr_dbd_num_tuples(drv, res) > 0
        && apr_dbd_get_row(drv, p, res, &row, -1) == 0) {
        v = apr_dbd_get_entry(drv, row, 0);
    }
    /* no row, or NULL: a version of its own */
    for (v = v ? v : "\001(none)"; *v; v++) {
        t = (t ^ (unsigned char)*v) * 1099511628211ULL;
    }
    *token = t ? t : 1;
    return 1;
}

static int dbd_read_query(void *baton, uint64_t *version, pp_maclist_t *list,
                          char *err, size_t errlen)
{
    const polyprov_dbd_t *q = baton;
    const apr_dbd_driver_t *drv;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_dbd_t *h = NULL;
    pp_macbuild_t b;
    const char *e = NULL;
    apr_pool_t *p;
    apr_status_t rv;
    int rc = 1, i, n;

    memset(&b, 0, sizeof(b));
    /* a pool of its own: this runs in a background thread */
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        pp_err(err, errlen, "out of memory");
        return -1;
    }
    if ((rv = apr_dbd_get_driver(p, q->driver, &drv)) != APR_SUCCESS) {
        pp_err(err, errlen, "the apr_dbd driver '%s' cannot be loaded",
               q->driver);
        apr_pool_destroy(p);
        return -1;
    }
    if ((rv = apr_dbd_open_ex(drv, p, q->params, &h, &e)) != APR_SUCCESS
        || !h) {
        char buf[256];
        pp_err(err, errlen, "cannot connect to the database (DBDriver %s): "
               "%s", q->driver, e ? e : apr_strerror(rv, buf, sizeof(buf)));
        apr_pool_destroy(p);
        return -1;
    }
    if (q->version) {
        /* the change check first: data changed after it only makes the
         * next round query again */
        uint64_t token = 0;
        if (version_token(drv, p, h, q->version, &token, err, errlen) != 1) {
            apr_dbd_close(drv, h);
            apr_pool_destroy(p);
            return -1;
        }
        if (*version && token == *version) {
            apr_dbd_close(drv, h);
            apr_pool_destroy(p);
            return PP_LIST_UNCHANGED;
        }
        *version = token;
    }
    /* random access: the whole result, or the query's error, at once (a
     * result cut short must never pass for a shorter list) */
    if ((i = apr_dbd_select(drv, p, h, &res, q->query, 1)) != 0 || !res) {
        e = apr_dbd_error(drv, h, i);
        pp_err(err, errlen, "the query failed: %s",
               e && *e ? e : "(no message)");
        rc = -1;
    }
    else if (apr_dbd_num_cols(drv, res) < 1) {
        pp_err(err, errlen, "the query returns no column");
        rc = 0;
    }
    else {
        n = apr_dbd_num_tuples(drv, res);
        for (i = 0; i < n; i++) {
            const char *v;
            if (apr_dbd_get_row(drv, p, res, &row, -1) != 0) {
                pp_err(err, errlen, "row %d of %d cannot be read", i + 1, n);
                rc = -1;
                break;
            }
            v = apr_dbd_get_entry(drv, row, 0);
            if (rc == 1) {
                rc = pp_macbuild_row(&b, v, v ? strlen(v) : 0,
                                     (unsigned long)i + 1, err, errlen);
            }
            if (rc != 1) {
                break;
            }
        }
    }
    apr_dbd_close(drv, h);
    apr_pool_destroy(p);
    if (rc != 1) {
        pp_macbuild_free(&b);
        return rc;
    }
    if (pp_macbuild_finish(&b, list) != 1) {
        pp_err(err, errlen, "out of memory");
        return -1;
    }
    return 1;
}

const char *polyprov_dbd_source(cmd_parms *cmd, const char *query,
                                const char *version, const char **name,
                                pp_list_read_fn **read, void **baton)
{
    polyprov_dbd_t *q;
    const apr_dbd_driver_t *drv;
    apr_hash_t *seen = NULL;
    const char *key, *prev;
    apr_status_t rv;
    const char *same;
    int n = 1;

    if (!*query) {
        return "dbd needs a query, e.g. dbd \"SELECT mac FROM phones WHERE "
               "enabled\"";
    }
    q = apr_pcalloc(cmd->pool, sizeof(*q));
    q->query = apr_pstrdup(cmd->pool, query);
    if (version && !*version) {
        return "an empty version query (leave it out to query the list "
               "every interval)";
    }
    q->version = version ? apr_pstrdup(cmd->pool, version) : NULL;
    q->driver = server_param(cmd->temp_pool, cmd->directive, "DBDriver");
    q->params = server_param(cmd->temp_pool, cmd->directive, "DBDParams");
    if (!q->driver) {
        return "dbd needs mod_dbd's DBDriver (and DBDParams) in this "
               "virtual host or the main server";
    }
    q->driver = apr_pstrdup(cmd->pool, q->driver);
    q->params = apr_pstrdup(cmd->pool, q->params ? q->params : "");
    /* what makes two directives the same list */
    same = apr_pstrcat(cmd->pool, q->params, "\n", q->version ? q->version
                       : "", NULL);
    apr_dbd_init(cmd->pool);
    if ((rv = apr_dbd_get_driver(cmd->pool, q->driver, &drv))
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "DBDriver %s: the apr_dbd driver "
                            "cannot be loaded (%s; on Debian: apt install "
                            "libaprutil1-dbd-%s)", q->driver,
                            rv == APR_ENOTIMPL ? "no such driver"
                            : "its library is missing", q->driver);
    }
    /* the name in messages and in the list set: the same query on
     * another database is another list */
    apr_pool_userdata_get((void **)&seen, "polyprov-dbd-names", cmd->pool);
    if (!seen) {
        seen = apr_hash_make(cmd->pool);
        apr_pool_userdata_set(seen, "polyprov-dbd-names", NULL, cmd->pool);
    }
    for (;;) {
        key = n == 1 ? apr_psprintf(cmd->pool, "dbd:%s \"%s\"", q->driver,
                                    q->query)
                     : apr_psprintf(cmd->pool, "dbd:%s \"%s\" (database %d)",
                                    q->driver, q->query, n);
        prev = apr_hash_get(seen, key, APR_HASH_KEY_STRING);
        if (!prev) {
            apr_hash_set(seen, key, APR_HASH_KEY_STRING, same);
            break;
        }
        if (!strcmp(prev, same)) {
            break;
        }
        n++;
    }
    *name = key;
    *read = dbd_read;
    *baton = q;
    return NULL;
}

const char *polyprov_dbd_file(apr_pool_t *p, void *baton)
{
    const polyprov_dbd_t *q = baton;

    if (!q || strcasecmp(q->driver, "sqlite3") || !*q->params
        || !strcmp(q->params, ":memory:") || !strncmp(q->params, "file:", 5)) {
        return NULL;
    }
    /* apr_dbd's sqlite3 driver opens DBDParams as a path, from the
     * server's working directory (/ once httpd runs) */
    return q->params[0] == '/' ? q->params
                               : apr_pstrcat(p, "/", q->params, NULL);
}
