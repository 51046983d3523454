/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_polyprov core: the list set, every list the configuration names,
 * shared by all httpd processes.
 *
 * Sharing: each list is published as a snapshot file (a header and a
 * sorted array of 64-bit MACs) that every process maps read-only, so a
 * list of a million MACs costs its 8 MB once, in the page cache, not once
 * per process.  A small record per list in anonymous shared memory (made
 * by the parent before it forks) holds the sequence number of the newest
 * good snapshot and the state of the source file as last examined.
 *
 * Reload: a process whose list has not been checked for `interval`
 * seconds claims the check (compare-and-swap on the record), stats the
 * source and, if it changed and has been quiet for a second, parses it.
 * A good version becomes snapshot seq+1, written to a temporary name and
 * renamed into place before the sequence number is published; a broken
 * one is logged with file:line and never published.  Every process
 * compares its mapped sequence with the published one on every lookup, so
 * all processes use the same list, idle ones included, and none ever sees
 * a half-written list.
 *
 * Who checks: in the background (pp_listset_background), a thread of each
 * process calls pp_listset_tick several times a second; one of them wins
 * each round of each list, and lookups only map the newest snapshot (an
 * open and an mmap when it changed), so no request waits for a parse.  A
 * heartbeat in shared memory tells lookups whether any background thread
 * is alive: if none has ticked for PP_LIST_STALE_S, lookups check the
 * sources themselves, as they do without a background.
 */
#include "pp_maclist_internal.h"
#include "pp_testing.h"   /* the fault seam; test-only entry points defined here */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_US 1000000          /* a source must be quiet this long */
#define BUSY_STALE_US 300000000    /* a checker holding the claim longer died */

/* ------------------------------------------------------------------ */
/* The shared list set                                                 */

#define SNAP_MAGIC "PPLIST1\n"

typedef struct {
    char magic[8];
    uint64_t count;
    uint64_t seq;
    uint64_t reserved;
} snap_hdr_t;

/* What a source file looked like when last examined. */
typedef struct {
    uint64_t dev, ino;
    int64_t size, mtime_ns;
} src_state_t;

enum { BAD_NONE = 0, BAD_STAT, BAD_READ, BAD_PARSE, BAD_PUBLISH };

/* One per list, in shared memory. */
typedef struct {
    uint64_t seq;                /* atomic: newest published snapshot */
    int64_t last_check_us;       /* atomic */
    int32_t want_s;              /* atomic: the background's interval (the
                                  * shortest asked for), 0: none */
    int32_t pad;
    uint32_t busy_pid;           /* atomic: the process checking now */
    int64_t busy_since_us;
    uint64_t count;              /* MACs in snapshot `seq` */
    /* below: written only by the process holding busy_pid */
    src_state_t src;             /* the version last examined */
    int32_t bad;                 /* why that version is not in force */
    int32_t bad_errno;
    uint64_t version;            /* a source's token of the version last
                                  * read (pp_list_read_fn), 0: none */
} shrec_t;

/* A mapped snapshot, counted by the requests using it. */
typedef struct snapmap {
    void *addr;
    size_t len;
    const pp_mac_t *macs;
    size_t count;
    uint64_t seq;
    int refs;
} snapmap_t;

typedef struct {
    char *path;
    pp_maclist_t initial;        /* parsed at configuration, until start */
    src_state_t initial_src;
    int initial_rc;              /* as pp_maclist_load at configuration */
    int initial_errno;           /* why it could not be read (rc -1) */
    char *problem;               /* the message, when rc != 1 */
    int origin;                  /* PP_LIST_READ, _KEPT or _NONE */
    uint64_t origin_count;       /* MACs of the version kept */
    snapmap_t *cur;              /* this process's mapping */
    uint64_t cur_for_seq;        /* when cur came from a newer generation:
                                  * the version of this one it stands for */
    pp_list_read_fn *read;       /* a source that is no file (a query) */
    void *baton;
} entry_t;

/* initial_rc of a source not yet read (pp_listset_start reads it) */
#define RC_PENDING 2

/* One per set, in shared memory after the records. */
typedef struct {
    int64_t tick_us;             /* atomic: a background thread's last round */
} shset_t;

struct pp_listset {
    entry_t *e;
    int n, cap;
    shrec_t *shm;
    shset_t *shs;                /* after the n records */
    size_t shm_len;
    int background;              /* lookups leave checks to pp_listset_tick */
    int inline_warned;           /* atomic: PP072 said in this process */
    char *dir;
    unsigned gen;                /* configuration generation */
    long uid, gid;               /* owner of snapshot files, -1: as is */
    pthread_mutex_t mu;          /* guards e[].cur and refs */
    pp_list_event_fn *observer;  /* pp_listset_observe */
    void *observer_baton;
};

pp_listset_t *pp_listset_new(void)
{
    pp_listset_t *set = pp_calloc(1, sizeof(*set));

    if (set) {
        pthread_mutex_init(&set->mu, NULL);
    }
    return set;
}

static void snap_release(snapmap_t *m)
{
    if (m && --m->refs == 0) {
        munmap(m->addr, m->len);
        pp_free(m);
    }
}

void pp_listset_free(pp_listset_t *set)
{
    int i;

    if (!set) {
        return;
    }
    for (i = 0; i < set->n; i++) {
        pp_free(set->e[i].path);
        pp_free(set->e[i].problem);
        pp_free(set->e[i].initial.macs);
        snap_release(set->e[i].cur);
    }
    pp_free(set->e);
    if (set->shm) {
        munmap(set->shm, set->shm_len);
    }
    pp_free(set->dir);
    pthread_mutex_destroy(&set->mu);
    pp_free(set);
}

/* The wall clock: only to compare with a file's modification time. */
static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int64_t pp_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void src_from_stat(const struct stat *st, src_state_t *s)
{
    s->dev = (uint64_t)st->st_dev;
    s->ino = (uint64_t)st->st_ino;
    s->size = (int64_t)st->st_size;
    s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL
                  + st->st_mtim.tv_nsec;
}

static int src_same(const src_state_t *a, const src_state_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size
           && a->mtime_ns == b->mtime_ns;
}

/* What a source's failure said, to log each cause once (FNV-1a). */
static uint32_t msg_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h ? h : 1;
}

/* The index of the list named path: *found when it is registered already;
 * else a new entry at set->n, zeroed but for its path, that the caller
 * counts.  -1 with a message on error. */
static int entry_for(pp_listset_t *set, const char *path, int *found,
                     char *err, size_t errlen)
{
    entry_t *e;
    int i;

    *found = 0;
    if (set->shm) {
        pp_err(err, errlen, "list set already started");
        return -1;
    }
    for (i = 0; i < set->n; i++) {
        if (!strcmp(set->e[i].path, path)) {
            *found = 1;
            return i;
        }
    }
    if (set->n == set->cap) {
        int ncap = set->cap ? set->cap * 2 : 4;
        entry_t *ne = pp_realloc(set->e, (size_t)ncap * sizeof(*ne));
        if (!ne) {
            pp_err(err, errlen, "out of memory");
            return -1;
        }
        set->e = ne;
        set->cap = ncap;
    }
    e = &set->e[set->n];
    memset(e, 0, sizeof(*e));
    if (!(e->path = pp_strndup(path, strlen(path)))) {
        pp_err(err, errlen, "out of memory");
        return -1;
    }
    return set->n;
}

int pp_listset_add(pp_listset_t *set, const char *path,
                   char *err, size_t errlen)
{
    entry_t *e;
    struct stat st;
    int found, i = entry_for(set, path, &found, err, errlen);

    if (i < 0 || found) {
        return i;
    }
    e = &set->e[i];
    /* a list is data: one that cannot be read or is broken is still
     * registered (the caller reports it); start keeps an older version
     * or marks it unavailable, and lookups try it again */
    e->initial_rc = load_file(path, &e->initial, &st, err, errlen);
    if (e->initial_rc != 1) {
        const char *why = (err && errlen) ? err : "cannot be read";
        e->initial_errno = errno;
        if (!(e->problem = pp_strndup(why, strlen(why)))) {
            pp_free(e->path);
            pp_err(err, errlen, "out of memory");
            return -1;
        }
        if (e->initial_rc == 0) {
            src_from_stat(&st, &e->initial_src);   /* this broken version */
        }
        return set->n++;
    }
    src_from_stat(&st, &e->initial_src);
    if (err && errlen) {
        err[0] = '\0';
    }
    return set->n++;
}

int pp_listset_add_source(pp_listset_t *set, const char *name,
                          pp_list_read_fn *read, void *baton,
                          char *err, size_t errlen)
{
    entry_t *e;
    int found, i = entry_for(set, name, &found, err, errlen);

    if (i < 0) {
        return -1;
    }
    if (found) {
        if (!set->e[i].read) {
            pp_err(err, errlen, "'%s' names a list file already", name);
            return -1;
        }
        return i;
    }
    e = &set->e[i];
    e->read = read;
    e->baton = baton;
    e->initial_rc = RC_PENDING;
    if (err && errlen) {
        err[0] = '\0';
    }
    return set->n++;
}

int pp_listset_is_source(const pp_listset_t *set, int idx)
{
    return set && idx >= 0 && idx < set->n && set->e[idx].read != NULL;
}

int pp_listset_withhold(pp_listset_t *set, int idx, const char *why)
{
    entry_t *e;
    char *p;

    if (!set || set->shm || idx < 0 || idx >= set->n
        || !(p = pp_strndup(why, strlen(why)))) {
        return 0;
    }
    e = &set->e[idx];
    pp_free(e->initial.macs);
    e->initial.macs = NULL;
    e->initial.count = 0;
    memset(&e->initial_src, 0, sizeof(e->initial_src));
    e->initial_rc = -1;
    e->initial_errno = EACCES;
    pp_free(e->problem);
    e->problem = p;
    return 1;
}

const char *pp_listset_problem(const pp_listset_t *set, int idx)
{
    return (set && idx >= 0 && idx < set->n) ? set->e[idx].problem : NULL;
}

int pp_listset_origin(const pp_listset_t *set, int idx, uint64_t *count)
{
    if (!set || idx < 0 || idx >= set->n) {
        return PP_LIST_NONE;
    }
    if (count) {
        *count = set->e[idx].origin_count;
    }
    return set->e[idx].origin;
}

int pp_listset_count(const pp_listset_t *set)
{
    return set ? set->n : 0;
}

const char *pp_listset_path(const pp_listset_t *set, int idx)
{
    return (set && idx >= 0 && idx < set->n) ? set->e[idx].path : NULL;
}

static char *snap_name(const pp_listset_t *set, int idx, uint64_t seq,
                       char *buf, size_t len)
{
    snprintf(buf, len, "%s/g%u-%d-%llu.snap", set->dir, set->gen, idx,
             (unsigned long long)seq);
    return buf;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        /* in pieces, each a step of a background parse's work */
        size_t piece = WORK_STEP * sizeof(pp_mac_t) * 4;
        ssize_t w = write(fd, p, len < piece ? len : piece);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 0;
        }
        p += w;
        len -= (size_t)w;
        work_step();
    }
    return 1;
}

/* Create tmp for writing (0600), given to the httpd child user when
 * running as root, so that the children can read what is published. */
static int create_for_children(const pp_listset_t *set, const char *tmp,
                               char *err, size_t errlen)
{
    int fd = pp_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0) {
        pp_err(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    if (set->uid >= 0 && geteuid() == 0
        && fchown(fd, (uid_t)set->uid, (gid_t)set->gid) != 0) {
        pp_err(err, errlen, "cannot chown '%s': %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

/* Write snapshot `seq` of list idx under its final name, atomically. */
static int snap_write(pp_listset_t *set, int idx, uint64_t seq,
                      const pp_maclist_t *list, char *err, size_t errlen)
{
    char final[4096], tmp[4200];
    snap_hdr_t h;
    int fd;

    snap_name(set, idx, seq, final, sizeof(final));
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", final, (long)getpid());
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, SNAP_MAGIC, 8);
    h.count = list->count;
    h.seq = seq;
    if ((fd = create_for_children(set, tmp, err, errlen)) < 0) {
        return 0;
    }
    if (!write_all(fd, &h, sizeof(h))
        || !write_all(fd, list->macs, list->count * sizeof(pp_mac_t))) {
        pp_err(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return 0;
    }
    if (close(fd) != 0 || rename(tmp, final) != 0) {
        pp_err(err, errlen, "cannot publish '%s': %s", final, strerror(errno));
        unlink(tmp);
        return 0;
    }
    return 1;
}

/* Map snapshot seq of list idx of generation gen. */
static snapmap_t *snap_map_gen(pp_listset_t *set, unsigned gen, int idx,
                               uint64_t seq)
{
    char name[4096];
    struct stat st;
    snapmap_t *m;
    const snap_hdr_t *h;
    void *addr;
    int fd;

    snprintf(name, sizeof(name), "%s/g%u-%d-%llu.snap", set->dir, gen, idx,
             (unsigned long long)seq);
    fd = pp_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(snap_hdr_t)) {
        close(fd);
        return NULL;
    }
    addr = pp_mmap((size_t)st.st_size, PROT_READ, MAP_SHARED, fd);
    close(fd);
    if (addr == MAP_FAILED) {
        return NULL;
    }
    h = addr;
    if (memcmp(h->magic, SNAP_MAGIC, 8) != 0 || h->seq != seq
        || (size_t)st.st_size != sizeof(*h) + h->count * sizeof(pp_mac_t)) {
        munmap(addr, (size_t)st.st_size);
        return NULL;
    }
    m = pp_calloc(1, sizeof(*m));
    if (!m) {
        munmap(addr, (size_t)st.st_size);
        return NULL;
    }
    m->addr = addr;
    m->len = (size_t)st.st_size;
    m->macs = (const pp_mac_t *)(h + 1);
    m->count = h->count;
    m->seq = seq;
    m->refs = 1;                 /* the reference held as e->cur */
    return m;
}

static snapmap_t *snap_map(pp_listset_t *set, int idx, uint64_t seq)
{
    return snap_map_gen(set, set->gen, idx, seq);
}

/* Remove the snapshot files (and leftover temporary files) of generations
 * older than `keep_from`: processes of the generation before the current
 * one may still be finishing their requests and map their files. */
static void sweep(const char *dir, unsigned keep_from)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        char full[4096];
        unsigned g;
        int at = 0;

        if ((sscanf(nm, "g%u-%*d-%*u.snap%n", &g, &at) != 1 || at == 0)
            && (sscanf(nm, "g%u.lists%n", &g, &at) != 1 || at == 0)) {
            continue;                 /* not ours */
        }
        if (g >= keep_from) {
            continue;
        }
        snprintf(full, sizeof(full), "%s/%s", dir, nm);
        unlink(full);
    }
    closedir(d);
}

/* The manifest of a generation: the path of each list, by index, NUL
 * after each, so that the next generation can find the last good version
 * of a list that it cannot load itself. */
static int manifest_write(pp_listset_t *set, char *err, size_t errlen)
{
    char final[4096], tmp[4200];
    int fd, i, ok = 1;

    snprintf(final, sizeof(final), "%s/g%u.lists", set->dir, set->gen);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", final, (long)getpid());
    /* the children read it too (an old one, finishing its requests, looks
     * for a newer generation's version of a list it lost) */
    if ((fd = create_for_children(set, tmp, err, errlen)) < 0) {
        return 0;
    }
    for (i = 0; i < set->n && ok; i++) {
        ok = write_all(fd, set->e[i].path, strlen(set->e[i].path) + 1);
    }
    if (close(fd) != 0) {
        ok = 0;
    }
    if (!ok || rename(tmp, final) != 0) {
        pp_err(err, errlen, "cannot write '%s': %s", final, strerror(errno));
        unlink(tmp);
        return 0;
    }
    return 1;
}

/* The index of path in generation gen's manifest, or -1. */
static int manifest_find(const char *dir, unsigned gen, const char *path)
{
    char name[4096], buf[65536];
    ssize_t len;
    size_t off = 0;
    int fd, idx = 0;

    snprintf(name, sizeof(name), "%s/g%u.lists", dir, gen);
    if ((fd = pp_open(name, O_RDONLY | O_CLOEXEC, 0)) < 0) {
        return -1;
    }
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0) {
        return -1;
    }
    buf[len] = '\0';
    while (off < (size_t)len) {
        if (!strcmp(buf + off, path)) {
            return idx;
        }
        off += strlen(buf + off) + 1;
        idx++;
    }
    return -1;
}

/* The newest snapshot of list `old` of generation gen, copied into list:
 * the last good version the previous configuration had. */
static int adopt(pp_listset_t *set, unsigned gen, int old,
                 pp_maclist_t *list)
{
    DIR *d = opendir(set->dir);
    struct dirent *de;
    unsigned long long best = 0;
    char name[4096];
    struct stat st;
    const snap_hdr_t *h;
    void *addr;
    int fd, ok = 0;

    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        unsigned g;
        int i, at = 0;
        unsigned long long seq;
        if (sscanf(de->d_name, "g%u-%d-%llu.snap%n", &g, &i, &seq, &at) == 3
            && at > 0 && de->d_name[at] == '\0' && g == gen && i == old
            && seq > best) {
            best = seq;
        }
    }
    closedir(d);
    if (!best) {
        return 0;
    }
    snprintf(name, sizeof(name), "%s/g%u-%d-%llu.snap", set->dir, gen, old,
             best);
    if ((fd = pp_open(name, O_RDONLY | O_CLOEXEC, 0)) < 0) {
        return 0;
    }
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(snap_hdr_t)) {
        close(fd);
        return 0;
    }
    addr = pp_mmap((size_t)st.st_size, PROT_READ, MAP_SHARED, fd);
    close(fd);
    if (addr == MAP_FAILED) {
        return 0;
    }
    h = addr;
    if (!memcmp(h->magic, SNAP_MAGIC, 8) && h->seq == best
        && h->count <= ((size_t)st.st_size - sizeof(*h)) / sizeof(pp_mac_t)
        && (size_t)st.st_size == sizeof(*h) + h->count * sizeof(pp_mac_t)
        && (list->macs = pp_malloc(h->count ? h->count * sizeof(pp_mac_t)
                                            : 1)) != NULL) {
        memcpy(list->macs, h + 1, h->count * sizeof(pp_mac_t));
        list->count = h->count;
        ok = 1;
    }
    munmap(addr, (size_t)st.st_size);
    return ok;
}

int pp_listset_start(pp_listset_t *set, const char *state_dir,
                     unsigned gen, long uid, long gid,
                     char *err, size_t errlen)
{
    struct stat st;
    int i;

    if (set->shm) {
        pp_err(err, errlen, "list set already started");
        return 0;
    }
    if (set->n == 0) {
        return 1;
    }
    set->dir = pp_strndup(state_dir, strlen(state_dir));
    set->gen = gen;
    if (!set->dir) {
        pp_err(err, errlen, "out of memory");
        return 0;
    }
    set->uid = uid;
    set->gid = gid;
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        pp_err(err, errlen, "cannot create the list state directory '%s': %s",
               state_dir, strerror(errno));
        return 0;
    }
    if (lstat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        pp_err(err, errlen, "'%s' is not a directory", state_dir);
        return 0;
    }
    if (uid >= 0 && geteuid() == 0
        && chown(state_dir, (uid_t)uid, (gid_t)gid) != 0) {
        pp_err(err, errlen, "cannot chown '%s': %s", state_dir,
               strerror(errno));
        return 0;
    }
    set->shm_len = (size_t)set->n * sizeof(shrec_t) + sizeof(shset_t);
    set->shm = mmap(NULL, set->shm_len, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (set->shm == MAP_FAILED) {
        set->shm = NULL;
        pp_err(err, errlen, "cannot create shared memory for %d lists: %s",
               set->n, strerror(errno));
        return 0;
    }
    memset(set->shm, 0, set->shm_len);
    set->shs = (shset_t *)(void *)(set->shm + set->n);
    set->shs->tick_us = pp_monotonic_us();
    sweep(state_dir, gen > 0 ? gen - 1 : 0);
    if (!manifest_write(set, err, errlen)) {
        return 0;
    }
    for (i = 0; i < set->n; i++) {
        entry_t *e = &set->e[i];
        shrec_t *r = &set->shm[i];
        int old;

        r->last_check_us = pp_monotonic_us();  /* just read: check later */
        e->origin = PP_LIST_READ;
        if (e->initial_rc == RC_PENDING) {
            char why[1024];
            why[0] = '\0';
            uint64_t v = 0;
            e->initial_rc = e->read(e->baton, &v, &e->initial, why,
                                    sizeof(why));
            if (e->initial_rc == PP_LIST_UNCHANGED) {
                e->initial_rc = -1;      /* nothing was in force */
                pp_err(why, sizeof(why), "no list was read");
            }
            if (e->initial_rc == 1) {
                r->version = v;
            }
            if (e->initial_rc != 1) {
                pp_free(e->initial.macs);
                e->initial.macs = NULL;
                pp_free(e->problem);
                e->problem = pp_strndup(why, strlen(why));
                /* logged at start (PP030, PP031): the background says
                 * nothing more until the cause changes */
                r->bad_errno = (int32_t)msg_hash(why);
            }
        }
        if (e->initial_rc != 1) {
            /* not loadable now: the last good version of the previous
             * generation (a graceful restart), else none */
            r->src = e->initial_src;     /* zero unless a broken version */
            r->bad = e->initial_rc == 0 ? BAD_PARSE : BAD_READ;
            if (!e->read) {
                r->bad_errno = e->initial_rc == 0 ? 0 : e->initial_errno;
            }
            e->origin = PP_LIST_NONE;
            if (gen > 0 && (old = manifest_find(state_dir, gen - 1,
                                                e->path)) >= 0
                && adopt(set, gen - 1, old, &e->initial)) {
                e->origin = PP_LIST_KEPT;
            }
            if (e->origin == PP_LIST_NONE) {
                continue;                /* seq 0: unavailable */
            }
        }
        if (!snap_write(set, i, 1, &e->initial, err, errlen)) {
            return 0;
        }
        r->seq = 1;
        r->count = e->initial.count;
        e->origin_count = e->initial.count;
        if (e->initial_rc == 1) {
            r->src = e->initial_src;
        }
        pp_free(e->initial.macs);
        e->initial.macs = NULL;
    }
    return 1;
}

void pp_statedir_remove(const char *dir)
{
    sweep(dir, ~0u);                 /* every generation */
    rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Checking a source and publishing a new snapshot                     */

static int64_t mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000LL
           + st->st_mtim.tv_nsec / 1000;
}

static void notify(pp_listset_t *set, int idx, int event)
{
    if (set->observer) {
        set->observer(set->observer_baton, idx, event);
    }
}

/* What stays in force while a new version cannot be used. */
static const char *in_force(const shrec_t *r, uint64_t seq, char *buf,
                            size_t len)
{
    if (seq == 0) {
        return "it has never loaded: requests in scopes using it are "
               "refused (list-unavailable) until it does";
    }
    snprintf(buf, len, "keeping the last good list (%llu MACs)",
             (unsigned long long)r->count);
    return buf;
}

/* Where a check runs, for the log lines of a reload. */
enum { BY_LOOKUP = 0, BY_BACKGROUND, BY_FALLBACK };

static const char *by_name(int by)
{
    return by == BY_BACKGROUND ? "in the background" : "on the request path";
}

static int publish(pp_listset_t *set, int idx, uint64_t seq,
                   pp_maclist_t *lp, int64_t t0, int by, const char *tag);
static int read_query(pp_listset_t *set, int idx, int by);

/* Called by the one process holding r->busy_pid.  Returns 1 when it
 * read the file (and so allocated and freed the memory of a parse). */
static int read_source(pp_listset_t *set, int idx, int64_t now_us,
                       int interval_s, int by)
{
    entry_t *e = &set->e[idx];
    shrec_t *r = &set->shm[idx];
    uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
    struct stat st, st2;
    src_state_t now_src, after;
    pp_maclist_t list;
    char err[1024], kept[128];
    /* PP032 while the list has never loaded; else the cause's own number */
    const char *tag = seq ? NULL : "PP032";
    int64_t t0;
    int rc;

    if (e->read) {
        return read_query(set, idx, by);
    }
    if (stat(e->path, &st) != 0) {
        int en = errno;
        if (r->bad != BAD_STAT || r->bad_errno != en) {
            pp_log(PP_LOG_ERR, "%s: list %s: cannot stat: %s; %s",
                   tag ? tag : "PP034",
                   e->path, strerror(en),
                   in_force(r, seq, kept, sizeof(kept)));
            r->bad = BAD_STAT;
            r->bad_errno = en;
            memset(&r->src, 0, sizeof(r->src));
            notify(set, idx, PP_LIST_EVENT_ERROR);
        }
        return 0;
    }
    src_from_stat(&st, &now_src);
    if (src_same(&now_src, &r->src)) {
        return 0;
    }
    {
        /* A file changed less than a second ago may still be being
         * written: look again when it has settled.  The file's time is
         * the wall clock's (now_us on the monotonic clock, taken to the
         * wall clock); the rounds are counted on the monotonic clock.  A time in the future (the wall clock was stepped back
         * after the file was written) counts as settled: waiting for the
         * clock to catch up would stall reloads for as long as the step. */
        int64_t wall_now = wall_us() + (now_us - pp_monotonic_us());
        int64_t age = wall_now - mtime_us(&st);
        if (age >= 0 && age < SETTLE_US) {
            int64_t again = now_us + (SETTLE_US - age)
                            - (int64_t)interval_s * 1000000LL;
            __atomic_store_n(&r->last_check_us, again, __ATOMIC_RELEASE);
            return 0;
        }
    }
    /* from here to the end of check_source, in steps (pp_core.h) */
    tl_working = by == BY_BACKGROUND && tl_reload_thread;
    t0 = pp_monotonic_us();
    rc = load_file(e->path, &list, &st2, err, sizeof(err));
    if (rc < 0) {
        /* could not read it, or out of memory: the content may be fine,
         * so the source state is not recorded and the next round tries
         * again; logged once per cause */
        int en = errno;
        if (r->bad != BAD_READ || r->bad_errno != en) {
            pp_log(PP_LOG_ERR, "%s: list %s: %s; %s, will try again",
                   tag ? tag : "PP035",
                   e->path, err, in_force(r, seq, kept, sizeof(kept)));
            r->bad = BAD_READ;
            r->bad_errno = en;
            notify(set, idx, PP_LIST_EVENT_ERROR);
        }
        return 1;
    }
    if (rc == 0) {
        /* each broken version is logged once: its state is recorded */
        pp_log(PP_LOG_ERR, "%s: list %s: %s; %s", tag ? tag : "PP036",
               e->path, err, in_force(r, seq, kept, sizeof(kept)));
        r->bad = BAD_PARSE;
        r->bad_errno = 0;
        r->src = now_src;
        notify(set, idx, PP_LIST_EVENT_ERROR);
        return 1;
    }
    src_from_stat(&st2, &after);
    if (!src_same(&now_src, &after)) {
        pp_free(list.macs);          /* changed while read: next time */
        return 1;
    }
    if (publish(set, idx, seq, &list, t0, by, tag)) {
        r->src = now_src;
    }
    return 1;
}

/* Publish list (a good new version, freed here) as version seq + 1 of
 * list idx, and say so; 0 when it cannot be published (logged). */
static int publish(pp_listset_t *set, int idx, uint64_t seq,
                   pp_maclist_t *lp, int64_t t0, int by, const char *tag)
{
    entry_t *e = &set->e[idx];
    shrec_t *r = &set->shm[idx];
    pp_maclist_t list = *lp;
    char err[1024], kept[128];

    if (!snap_write(set, idx, seq + 1, &list, err, sizeof(err))) {
        if (r->bad != BAD_PUBLISH) {
            pp_log(PP_LOG_ERR, "%s: list %s: %s; %s", tag ? tag : "PP037",
                   e->path, err, in_force(r, seq, kept, sizeof(kept)));
            notify(set, idx, PP_LIST_EVENT_ERROR);
        }
        r->bad = BAD_PUBLISH;
        pp_free(list.macs);
        return 0;
    }
    r->bad = BAD_NONE;
    r->bad_errno = 0;
    __atomic_store_n(&r->count, (uint64_t)list.count, __ATOMIC_RELAXED);
    __atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELEASE);
    notify(set, idx, PP_LIST_EVENT_LOADED);
    if (seq == 0) {
        pp_log(PP_LOG_NOTICE, "PP033: list %s loaded: %zu MACs (version 1); "
               "requests in scopes using it are decided again; read and "
               "published in %.3f s %s", e->path, list.count,
               (double)(pp_monotonic_us() - t0) / 1e6, by_name(by));
    }
    else {
        pp_log(PP_LOG_NOTICE, "PP038: list %s reloaded: %zu MACs (version "
               "%llu); read and published in %.3f s %s",
               e->path, list.count, (unsigned long long)(seq + 1),
               (double)(pp_monotonic_us() - t0) / 1e6, by_name(by));
    }
    work_release(list.macs, list.count * sizeof(pp_mac_t));
    pp_free(list.macs);
    if (seq > 1) {
        char old[4096];
        /* keep `seq` for processes about to map it; drop the one before */
        unlink(snap_name(set, idx, seq - 1, old, sizeof(old)));
    }
    return 1;
}

static snapmap_t *acquire(pp_listset_t *set, int idx, int quiet);

/* Whether list is the version in force of list idx. */
static int same_as_current(pp_listset_t *set, int idx,
                           const pp_maclist_t *list)
{
    snapmap_t *m = acquire(set, idx, 1);
    int same;

    if (!m) {
        return 0;
    }
    same = m->count == list->count
           && (list->count == 0
               || !memcmp(m->macs, list->macs,
                          list->count * sizeof(pp_mac_t)));
    pthread_mutex_lock(&set->mu);
    snap_release(m);
    pthread_mutex_unlock(&set->mu);
    return same;
}

/* A source's query worked again with the version in force (seq, of
 * r->count MACs) unchanged: said once, after a failure. */
static void query_recovered(const entry_t *e, shrec_t *r, uint64_t seq)
{
    if (r->bad != BAD_NONE) {
        pp_log(PP_LOG_NOTICE, "PP083: list %s: queried without error "
               "again: unchanged, %llu MACs (version %llu) in force",
               e->path, (unsigned long long)r->count,
               (unsigned long long)seq);
        r->bad = BAD_NONE;
        r->bad_errno = 0;
    }
}

/* A source that is no file (pp_listset_add_source): ask it, and publish
 * what it returns when that differs from the version in force.  Called
 * by the one process holding r->busy_pid, in the background. */
static int read_query(pp_listset_t *set, int idx, int by)
{
    entry_t *e = &set->e[idx];
    shrec_t *r = &set->shm[idx];
    uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
    pp_maclist_t list = { NULL, 0 };
    char err[1024], kept[128];
    int64_t t0 = pp_monotonic_us();
    uint64_t version = seq ? r->version : 0;
    int rc;

    err[0] = '\0';
    rc = e->read(e->baton, &version, &list, err, sizeof(err));
    if (rc == PP_LIST_UNCHANGED && seq > 0) {
        /* its version query says the list in force is current */
        query_recovered(e, r, seq);
        return 1;
    }
    if (rc == PP_LIST_UNCHANGED) {
        rc = -1;
        pp_err(err, sizeof(err), "no list was read");
    }
    if (rc != 1) {
        int cause = rc == 0 ? BAD_PARSE : BAD_READ;
        int32_t h = (int32_t)msg_hash(err);
        pp_free(list.macs);
        if (r->bad != cause || r->bad_errno != h) {
            pp_log(PP_LOG_ERR, "%s: list %s: %s; %s; trying again at each "
                   "interval", seq ? (rc == 0 ? "PP082" : "PP081") : "PP032",
                   e->path, err, in_force(r, seq, kept, sizeof(kept)));
            r->bad = cause;
            r->bad_errno = h;
            notify(set, idx, PP_LIST_EVENT_ERROR);
        }
        return 1;
    }
    if (seq > 0 && same_as_current(set, idx, &list)) {
        r->version = version;
        query_recovered(e, r, seq);
        pp_free(list.macs);
        return 1;
    }
    if (publish(set, idx, seq, &list, t0, by, seq ? NULL : "PP032")) {
        r->version = version;
    }
    return 1;
}

/* A parse allocates twice the list and frees it.  glibc keeps freed
 * memory below its mmap threshold (which rises to the size of the last
 * large block freed, up to 32 MB) in the thread's arena: give it back, so
 * that the process that parsed does not keep a list's worth of memory. */
static void check_source(pp_listset_t *set, int idx, int64_t now_us,
                         int interval_s, int by)
{
    if (read_source(set, idx, now_us, interval_s, by)) {
#ifdef __GLIBC__
        malloc_trim(0);
#endif
    }
    tl_working = 0;
}

/* Check list idx if its round is due and no one else took it; returns 1
 * when this call checked it. */
static int maybe_check(pp_listset_t *set, int idx, int64_t now_us,
                       int interval_s, int by)
{
    shrec_t *r = &set->shm[idx];
    int64_t last = __atomic_load_n(&r->last_check_us, __ATOMIC_ACQUIRE);
    uint32_t me = (uint32_t)getpid(), busy = 0;

    if (set->e[idx].read && by != BY_BACKGROUND) {
        return 0;                    /* a query never runs in a request */
    }
    if (now_us - last < (int64_t)interval_s * 1000000LL) {
        return 0;
    }
    if (!__atomic_compare_exchange_n(&r->last_check_us, &last, now_us, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return 0;                    /* another process took this round */
    }
    if (!__atomic_compare_exchange_n(&r->busy_pid, &busy, me, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        int64_t since = __atomic_load_n(&r->busy_since_us, __ATOMIC_ACQUIRE);
        int dead = kill((pid_t)busy, 0) != 0 && errno == ESRCH;
        if (!dead && now_us - since < BUSY_STALE_US) {
            return 0;
        }
        if (!__atomic_compare_exchange_n(&r->busy_pid, &busy, me, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return 0;
        }
    }
    __atomic_store_n(&r->busy_since_us, now_us, __ATOMIC_RELEASE);
    if (by == BY_FALLBACK
        && !__atomic_exchange_n(&set->inline_warned, 1, __ATOMIC_ACQ_REL)) {
        int64_t tick = __atomic_load_n(&set->shs->tick_us, __ATOMIC_ACQUIRE);
        pp_log(PP_LOG_WARN, "PP072: list %s: no background reload has run "
               "for %lld s; this process checks its lists on the request "
               "path until one runs again", set->e[idx].path,
               (long long)((now_us - tick) / 1000000));
    }
    check_source(set, idx, now_us, interval_s, by);
    __atomic_store_n(&r->busy_pid, 0, __ATOMIC_RELEASE);
    return 1;
}

/* A process of an older generation whose snapshot file was removed by a
 * later restart (a restart keeps only its own generation's files and the
 * one before: a process two restarts old, still finishing a kept-alive
 * connection, loses its version when a sibling published one it had not
 * mapped yet).  The newest version of the same list file that a newer
 * generation published is mapped instead: the newest data there is. */
static snapmap_t *map_from_newer_generation(pp_listset_t *set, int idx,
                                            unsigned *from_gen)
{
    DIR *d = opendir(set->dir);
    struct dirent *de;
    unsigned best_gen = 0;
    unsigned long long best_seq = 0;
    int best_idx = -1;

    if (!d) {
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        unsigned g;
        int i, at = 0;
        unsigned long long seq;
        if (sscanf(de->d_name, "g%u-%d-%llu.snap%n", &g, &i, &seq, &at) != 3
            || at == 0 || de->d_name[at] != '\0' || g <= set->gen
            || g < best_gen || (g == best_gen && seq <= best_seq)) {
            continue;
        }
        if (manifest_find(set->dir, g, set->e[idx].path) != i) {
            continue;                 /* another list of that generation */
        }
        best_gen = g;
        best_seq = seq;
        best_idx = i;
    }
    closedir(d);
    if (best_idx < 0) {
        errno = ENOENT;
        return NULL;
    }
    *from_gen = best_gen;
    return snap_map_gen(set, best_gen, best_idx, best_seq);
}

/* Take a reference on the newest snapshot, mapping it if need be; quiet:
 * say nothing when it cannot be mapped (the background's rounds). */
static snapmap_t *acquire(pp_listset_t *set, int idx, int quiet)
{
    shrec_t *r = &set->shm[idx];
    entry_t *e = &set->e[idx];
    snapmap_t *m = NULL;
    int attempt;

    pthread_mutex_lock(&set->mu);
    for (attempt = 0; attempt < 3; attempt++) {
        uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
        if (e->cur && (e->cur->seq == seq || e->cur_for_seq == seq)) {
            /* (or taken from a newer generation for this version) */
            m = e->cur;
            break;
        }
        m = snap_map(set, idx, seq);
        if (m) {
            snap_release(e->cur);
            e->cur = m;
            e->cur_for_seq = 0;
            break;
        }
        /* a newer version may have replaced it meanwhile: look again */
        if (quiet) {
            continue;
        }
        pp_log(PP_LOG_WARN, "PP039: list %s: cannot map version %llu of its "
               "snapshot (%s); trying again", e->path,
               (unsigned long long)seq, strerror(errno));
    }
    if (!m) {
        uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
        unsigned from = 0;
        m = map_from_newer_generation(set, idx, &from);
        if (m) {
            pp_log(PP_LOG_NOTICE, "PP051: list %s: version %llu of "
                   "generation %u is gone (removed by a later restart); "
                   "this process, finishing its last requests, uses "
                   "generation %u's newest version", e->path,
                   (unsigned long long)seq, set->gen, from);
            snap_release(e->cur);
            e->cur = m;
            e->cur_for_seq = seq;
        }
    }
    if (m) {
        m->refs++;
    }
    pthread_mutex_unlock(&set->mu);
    return m;
}

int pp_listset_map_current(pp_listset_t *set)
{
    int i, failed = 0;

    for (i = 0; set && set->shm && i < set->n; i++) {
        snapmap_t *m;
        if (__atomic_load_n(&set->shm[i].seq, __ATOMIC_ACQUIRE) == 0) {
            continue;                /* never loaded: nothing to map */
        }
        m = acquire(set, i, 0);
        if (!m) {
            pp_log(PP_LOG_ERR, "PP040: list %s: cannot map its snapshot in %s "
                   "(%s)",
                   set->e[i].path, set->dir, strerror(errno));
            failed++;
            continue;
        }
        pthread_mutex_lock(&set->mu);
        snap_release(m);             /* e->cur keeps its own reference */
        pthread_mutex_unlock(&set->mu);
    }
    return failed;
}

/* Lower the background's interval for r to interval_s (> 0). */
static void want_interval(shrec_t *r, int interval_s)
{
    int32_t cur = __atomic_load_n(&r->want_s, __ATOMIC_RELAXED);

    while ((cur <= 0 || interval_s < cur)
           && !__atomic_compare_exchange_n(&r->want_s, &cur,
                                           (int32_t)interval_s, 0,
                                           __ATOMIC_ACQ_REL,
                                           __ATOMIC_RELAXED)) {
    }
}

int pp_listset_lookup(pp_listset_t *set, int idx, pp_mac_t mac,
                      int64_t now_us, int interval_s)
{
    snapmap_t *m;
    int found, by = BY_LOOKUP;

    if (!set || idx < 0 || idx >= set->n || !set->shm) {
        pp_log(PP_LOG_ERR, "PP041: list #%d is not available", idx);
        return -1;
    }
    if (set->background) {
        /* the background checks the sources; a lookup only tells it the
         * interval its scope asks for, and maps what it published */
        int64_t tick = __atomic_load_n(&set->shs->tick_us, __ATOMIC_ACQUIRE);
        by = BY_FALLBACK;
        if (interval_s > 0) {
            want_interval(&set->shm[idx], interval_s);
        }
        if (now_us - tick < (int64_t)PP_LIST_STALE_S * 1000000LL) {
            if (__atomic_load_n(&set->inline_warned, __ATOMIC_RELAXED)) {
                __atomic_store_n(&set->inline_warned, 0, __ATOMIC_RELAXED);
            }
            interval_s = -1;            /* nothing to check here */
        }
    }
    if (interval_s > 0) {
        maybe_check(set, idx, now_us, interval_s, by);
    }
    if (__atomic_load_n(&set->shm[idx].seq, __ATOMIC_ACQUIRE) == 0) {
        /* never loaded: keep trying, and refuse meanwhile */
        if (interval_s == 0) {
            maybe_check(set, idx, now_us, PP_LIST_RETRY_S, by);
        }
        if (__atomic_load_n(&set->shm[idx].seq, __ATOMIC_ACQUIRE) == 0) {
            return PP_LIST_UNAVAILABLE;
        }
    }
    m = acquire(set, idx, 0);
    if (!m) {
        pp_log(PP_LOG_ERR, "PP040: list %s: cannot map its snapshot in %s "
                   "(%s)",
               set->e[idx].path, set->dir, strerror(errno));
        return -1;
    }
    found = pp_maclist_contains(m->macs, m->count, mac);
    pthread_mutex_lock(&set->mu);
    snap_release(m);
    pthread_mutex_unlock(&set->mu);
    return found;
}

void pp_listset_background(pp_listset_t *set, int on)
{
    if (set) {
        set->background = on;
    }
}

int pp_listset_background_interval(pp_listset_t *set, int idx,
                                   int interval_s)
{
    if (!set || !set->shm || idx < 0 || idx >= set->n) {
        return -1;
    }
    if (interval_s > 0) {
        want_interval(&set->shm[idx], interval_s);
    }
    return __atomic_load_n(&set->shm[idx].want_s, __ATOMIC_RELAXED);
}

int pp_listset_tick(pp_listset_t *set, int64_t now_us)
{
    int i, checked = 0;

    if (!set || !set->shm) {
        return 0;
    }
    __atomic_store_n(&set->shs->tick_us, now_us, __ATOMIC_RELEASE);
    for (i = 0; i < set->n; i++) {
        shrec_t *r = &set->shm[i];
        int iv = __atomic_load_n(&r->want_s, __ATOMIC_RELAXED);
        uint64_t seq;
        snapmap_t *m;

        if (iv > 0) {
            checked += maybe_check(set, i, now_us, iv, BY_BACKGROUND);
        }
        else if (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) == 0) {
            /* never loaded: retried even when no scope wants reloads */
            checked += maybe_check(set, i, now_us, PP_LIST_RETRY_S,
                                   BY_BACKGROUND);
        }
        /* this process maps the newest version now, idle or not; a
         * failure is the request path's to report */
        seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
        if (seq == 0) {
            continue;
        }
        pthread_mutex_lock(&set->mu);
        m = set->e[i].cur;
        if (m && m->seq == seq) {
            pthread_mutex_unlock(&set->mu);
            continue;
        }
        pthread_mutex_unlock(&set->mu);
        if ((m = acquire(set, i, 1)) != NULL) {
            pthread_mutex_lock(&set->mu);
            snap_release(m);         /* e->cur keeps its own reference */
            pthread_mutex_unlock(&set->mu);
        }
    }
    return checked;
}

void pp_listset_recheck(pp_listset_t *set)
{
    int i;

    for (i = 0; set && set->shm && i < set->n; i++) {
        shrec_t *r = &set->shm[i];
        memset(&r->src, 0, sizeof(r->src));
        r->bad = BAD_NONE;
        r->bad_errno = 0;
        __atomic_store_n(&r->last_check_us, 0, __ATOMIC_RELEASE);
    }
}

uint64_t pp_listset_seq(pp_listset_t *set, int idx)
{
    if (!set || !set->shm || idx < 0 || idx >= set->n) {
        return 0;
    }
    return __atomic_load_n(&set->shm[idx].seq, __ATOMIC_ACQUIRE);
}

int pp_listset_state(const pp_listset_t *set, int idx, pp_list_state_t *out)
{
    const shrec_t *r;

    if (!set || !set->shm || idx < 0 || idx >= set->n) {
        return 0;
    }
    r = &set->shm[idx];
    out->version = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
    out->entries = __atomic_load_n(&r->count, __ATOMIC_RELAXED);
    out->failing = __atomic_load_n(&r->bad, __ATOMIC_RELAXED) != BAD_NONE;
    return 1;
}

void pp_listset_observe(pp_listset_t *set, pp_list_event_fn *fn,
                        void *baton)
{
    if (set) {
        set->observer = fn;
        set->observer_baton = baton;
    }
}
