/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the list set: every list of the configuration, shared by
 * all httpd processes as snapshots, reloaded (PP_STEP_DENY_LIST,
 * PP_STEP_ALLOW_LIST).
 * (part of pp_core.h, which includes every header of the core).
 */
#ifndef PP_LISTSET_H
#define PP_LISTSET_H

#include <stddef.h>
#include <stdint.h>
#include "pp_mac.h"
#include "pp_maclist.h"

/*
 * A list set: every list file the configuration names, shared by all
 * httpd processes.  The parent loads each file (at parse time), then
 * pp_listset_start() publishes each as a read-only snapshot file in
 * state_dir and puts a small record per list in anonymous shared memory
 * that forked children inherit.  Any process may notice a change of a
 * source file (at most every interval seconds), re-parse it and publish a
 * new snapshot; every process maps the newest published snapshot before
 * its next lookup.  A broken new version is logged and never published.
 * Who notices: the lookups themselves, or a background thread in each
 * process (pp_listset_background, below).
 */
typedef struct pp_listset pp_listset_t;

pp_listset_t *pp_listset_new(void);
void pp_listset_free(pp_listset_t *set);
/* Register (and load and validate) a list file; the same path twice gives
 * the same index.  A list is data, not configuration: a file that cannot
 * be read or is broken is registered all the same, with the message in
 * err and in pp_listset_problem(); pp_listset_start() then keeps the
 * previous generation's last good version of it, or leaves it unavailable
 * (lookups return PP_LIST_UNAVAILABLE and try the file again).  Returns
 * the index >= 0, or -1 with a message (memory, already started). */
int pp_listset_add(pp_listset_t *set, const char *path,
                   char *err, size_t errlen);
/* A list whose content comes from elsewhere than a file: a database
 * query, run by the glue (docs/deployment.md, "Lists from a database").  read()
 * fills *list (pp_macbuild_*) and returns as pp_maclist_load does: 1
 * good, 0 the content is wrong (a row that is no MAC: err names it), -1
 * it could not be read (connection, query error, timeout: err says so).
 * *version holds a token of the version in force (0: none, or unknown);
 * a source with a cheap change check (a version query) sets it to the
 * token of what it read, and may return PP_LIST_UNCHANGED, without a
 * list, when the token it finds is the one it was given.
 * It is first called by pp_listset_start (in the process that starts the
 * set), then by the background rounds only (pp_listset_tick; never by a
 * lookup): every interval, one process queries, and a result that differs
 * from the version in force is published as a new snapshot.  A failure
 * keeps the version in force and is logged once per cause (the same
 * message), until a query succeeds again.  name identifies the list (the
 * same name twice gives the same index) and appears in messages. */
#define PP_LIST_UNCHANGED 2
typedef int pp_list_read_fn(void *baton, uint64_t *version,
                            pp_maclist_t *list, char *err, size_t errlen);
int pp_listset_add_source(pp_listset_t *set, const char *name,
                          pp_list_read_fn *read, void *baton,
                          char *err, size_t errlen);
/* 1 when list idx comes from pp_listset_add_source, not a file. */
int pp_listset_is_source(const pp_listset_t *set, int idx);
/* Before pp_listset_start: put list idx out of force as if it could not
 * be read (why: the message), whatever was read when it was added; start
 * then keeps the previous generation's version or leaves it unavailable,
 * and lookups (or the background) try it again.  1 done, 0 no such list,
 * already started, or out of memory. */
int pp_listset_withhold(pp_listset_t *set, int idx, const char *why);
/* Why list idx did not load when it was added, or NULL. */
const char *pp_listset_problem(const pp_listset_t *set, int idx);
/* After pp_listset_start: where the version in force came from, and how
 * many MACs it holds. */
enum { PP_LIST_READ = 0, PP_LIST_KEPT, PP_LIST_NONE };
int pp_listset_origin(const pp_listset_t *set, int idx, uint64_t *count);
/* A list that has never loaded is tried again this often even when the
 * interval is 0 (there is nothing in force to keep). */
#define PP_LIST_RETRY_S 5
int pp_listset_count(const pp_listset_t *set);
const char *pp_listset_path(const pp_listset_t *set, int idx);
/* Publish: create state_dir (mode 0700) if needed, the shared records and
 * the first snapshots, named after the configuration generation `gen`,
 * and the generation's manifest of list paths; files of generations
 * before gen - 1 are removed.  A list that did not load takes the newest
 * snapshot of the same path in generation gen - 1, if there is one.  When running as
 * root, the directory and every snapshot are given to uid/gid (the httpd
 * child user; -1 leaves them as they are). */
int pp_listset_start(pp_listset_t *set, const char *state_dir,
                     unsigned gen, long uid, long gid,
                     char *err, size_t errlen);
/* Map the current version of every list now (after start, and in each
 * child), so that a process keeps its lists even if the state directory
 * is removed under it.  Returns how many could not be mapped (logged). */
int pp_listset_map_current(pp_listset_t *set);
/* Lookup: 1 present, 0 absent, -1 error (logged; the caller refuses),
 * PP_LIST_UNAVAILABLE when the list has never loaded (the caller refuses).
 * now_us: pp_monotonic_us(); interval_s: 0 = never re-check. */
#define PP_LIST_UNAVAILABLE (-2)
/* now_us for pp_listset_lookup: a monotonic clock (CLOCK_MONOTONIC, the
 * same in every process), so that a step of the wall clock neither stalls
 * nor hurries list reloads. */
int64_t pp_monotonic_us(void);
int pp_listset_lookup(pp_listset_t *set, int idx, pp_mac_t mac,
                      int64_t now_us, int interval_s);
/*
 * Background reloads.  pp_listset_background(set, 1), before the
 * processes that look up fork, leaves every check of a source (stat,
 * parse, publish) to pp_listset_tick, which a thread of each process calls
 * several times a second (httpd: mod_watchdog, mod_polyprov_reload.c):
 * one process wins each round of each list, as lookups did, and every
 * process maps the newest snapshot in its own round.  Lookups then only
 * map a newer snapshot (an open and an mmap); they tell the background the
 * interval their scope asks for.  Should no thread have ticked for
 * PP_LIST_STALE_S seconds, lookups check the sources themselves again
 * (PP072, once per process and episode).
 */
void pp_listset_background(pp_listset_t *set, int on);
#define PP_LIST_STALE_S 5
/* After pp_listset_start: list idx is checked in the background every
 * interval_s seconds, or more often if another scope (or a lookup) asks;
 * 0 asks nothing.  Returns the interval in force (0: only retried, every
 * PP_LIST_RETRY_S, while it has never loaded), -1 for no list idx. */
int pp_listset_background_interval(pp_listset_t *set, int idx,
                                   int interval_s);
/* One round of the background at now_us (pp_monotonic_us()).  Returns
 * how many sources this call checked. */
int pp_listset_tick(pp_listset_t *set, int64_t now_us);
/*
 * A background reload makes way for requests.  pp_reload_thread_start,
 * called by the thread that will call pp_listset_tick, puts that thread
 * (and no other) at nice PP_RELOAD_NICE.  Its parses (read, parse, sort,
 * write the snapshot, free the memory) then go in steps of about 0.1 ms
 * of work and yield the core after each: at nice 10 alone, a request
 * thread woken on the parse's core could wait for the rest of the
 * parse's time slice.  The large blocks a parse frees are given back in
 * 1 MB pieces, a step each, rather than by one munmap that holds the
 * process's memory map (and its request threads) for milliseconds.  A
 * parse in any other thread (a request's, a tool's) runs straight
 * through.  (pp_reload_steps, pp_testing.h: how many steps this
 * thread's parses took.)
 */
#define PP_RELOAD_NICE 10
void pp_reload_thread_start(void);
/* What a monitor needs of list idx, from the shared record: the version
 * in force (the sequence number, 0: never loaded), its MACs, and whether
 * the file as it stands is not in force (broken, unreadable, missing, or
 * not publishable: the last good version is).  Returns 0 when there is no
 * list idx or the set has not started. */
typedef struct {
    uint64_t version;
    uint64_t entries;
    int failing;
} pp_list_state_t;
int pp_listset_state(const pp_listset_t *set, int idx, pp_list_state_t *out);
/* Told of each run-time load of list idx by whichever process made it:
 * PP_LIST_EVENT_LOADED for a new version in force (PP033, PP038),
 * PP_LIST_EVENT_ERROR for each problem logged (PP032, PP034 to PP037).
 * Set after pp_listset_start, before httpd forks. */
enum { PP_LIST_EVENT_LOADED = 1, PP_LIST_EVENT_ERROR };
typedef void pp_list_event_fn(void *baton, int idx, int event);
void pp_listset_observe(pp_listset_t *set, pp_list_event_fn *fn,
                        void *baton);
/* Remove a state directory's snapshot files and the directory (by the
 * process that made it, when it exits). */
void pp_statedir_remove(const char *dir);

#endif /* PP_LISTSET_H */
