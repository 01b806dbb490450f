/* The load run from the main thread: set-up (descriptors, connections and rate split over
 * threads), the common start, the progress line, per-second rows and the merged result. The
 * threads' event loops are loop.c. */
#include "load/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "load/share.h"
#include "net/units.h"

#define FD_SPARE 64 /* descriptors besides the connections: epoll, stdio, files */

static void on_sigint(int sig) {
    int saved = errno;
    loop_set_stop(1);
    errno = saved;
}

static int append_row(struct load_result *r, const struct sec_acc *slot, int64_t index) {
    if ((size_t)index >= r->second_count) {
        size_t n = (size_t)index + 1;
        struct load_second *rows = realloc(r->seconds, n * sizeof *rows);
        if (!rows)
            return -ENOMEM;
        memset(rows + r->second_count, 0, (n - r->second_count) * sizeof *rows);
        r->seconds = rows;
        r->second_count = n;
    }
    struct load_second *row = &r->seconds[index];
    if (!slot)
        return 0; /* stays zero */
    row->sent = slot->sent;
    row->completed = slot->completed;
    row->errors = slot->errors;
    row->p50_us = hist_percentile(&slot->h, 50);
    row->p99_us = hist_percentile(&slot->h, 99);
    return 0;
}

/* Rows count from the start with --ramp (else from the end of the warm-up): a row is "ramp"
 * when it began during the ramp, "warmup" during the warm-up after it. */
static void label_rows(const struct load_opts *o, struct load_result *r) {
    for (size_t i = 0; i < r->second_count; i++) {
        uint64_t at_us = (uint64_t)i * 1000000;
        r->seconds[i].phase = !o->ramp_us ? "measured"
                              : at_us < o->ramp_us ? "ramp"
                              : at_us < o->ramp_us + o->warmup_us ? "warmup" : "measured";
    }
}

/* Main thread: finalizes every second that all threads have flushed. */
static void rows_collect(struct engine *e) {
    int64_t ready = INT64_MAX;
    for (unsigned i = 0; i < e->o->threads; i++) {
        int64_t f = __atomic_load_n(&e->threads[i].flushed_sec, __ATOMIC_ACQUIRE);
        ready = f < ready ? f : ready;
    }
    struct sec_board *b = e->board;
    board_lock(b);
    for (; e->next_row < ready && e->next_row <= b->last_sec; e->next_row++) {
        struct sec_acc *slot = &b->slots[e->next_row % SECOND_SLOTS];
        if (slot->index != e->next_row) {
            append_row(e->r, NULL, e->next_row); /* no thread saw this second */
            continue;
        }
        append_row(e->r, slot, e->next_row);
        hist_merge(&e->so_far, &slot->h);
        slot->index = -1;
        slot->sent = slot->completed = slot->errors = 0;
        hist_reset(&slot->h);
    }
    board_unlock(b);
}

/* ---- The run, from the main thread --------------------------------------------------------- */

/* The connections one process holds: all, or process 0's share under --procs (the most). */
static uint64_t proc_conns(const struct load_opts *o) {
    return o->procs > 1 ? share_proc_conns(o->connections, o->threads, o->procs, 0)
                        : o->connections;
}

static void fds_advice(const struct load_opts *o, rlim_t max, char *err, size_t errlen) {
    uint64_t fit = max > FD_SPARE ? (uint64_t)max - FD_SPARE : 0;
    unsigned n = share_procs_needed(o->connections, o->procs > 1 ? o->threads : 1, fit,
                                    LOAD_MAX_PROCS);
    size_t len = strlen(err);
    if (n > 1)
        snprintf(err + len, errlen - len, "; the limit is per process: use --procs %u "
                 "(at most %llu connections each)", n, (unsigned long long)fit);
    else
        snprintf(err + len, errlen - len, " (raise the hard limit: ulimit -Hn, as root)");
}

/* Each connection needs a descriptor: raise the soft limit as far as the hard one allows
 * (children forked under --procs inherit it). */
static int ensure_fds(const struct load_opts *o, char *err, size_t errlen) {
    struct rlimit rl;
    rlim_t need = (rlim_t)proc_conns(o) + FD_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return 0;
    struct rlimit want = {.rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) /* a raised hard limit needs CAP_SYS_RESOURCE */
        return 0;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= need)
        return 0;
    if (o->procs > 1)
        snprintf(err, errlen, "-c %llu over --procs %u: a process holds up to %llu connections "
                 "and needs %llu file descriptors, the limit (RLIMIT_NOFILE) is %llu",
                 (unsigned long long)o->connections, o->procs,
                 (unsigned long long)proc_conns(o), (unsigned long long)need,
                 (unsigned long long)rl.rlim_max);
    else
        snprintf(err, errlen, "%llu connections need %llu file descriptors in one process, "
                 "the limit (RLIMIT_NOFILE) is %llu", (unsigned long long)o->connections,
                 (unsigned long long)need, (unsigned long long)rl.rlim_max);
    fds_advice(o, rl.rlim_max, err, errlen);
    return -EMFILE;
}

/* Zeroed memory, shared with the --procs children when is_shared. */
static void *mem_alloc(size_t bytes, bool is_shared) {
    return is_shared ? procs_shm_alloc(bytes) : calloc(1, bytes);
}

static void mem_free(void *p, size_t bytes, bool is_shared) {
    if (is_shared)
        procs_shm_free(p, bytes);
    else
        free(p);
}

static int board_init(struct engine *e, bool is_shared) {
    struct sec_board *b = e->board = mem_alloc(sizeof *e->board, is_shared);
    if (!b)
        return -ENOMEM;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    if (is_shared) {
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    }
    pthread_mutex_init(&b->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    b->last_sec = -1;
    for (int i = 0; i < SECOND_SLOTS; i++) {
        b->slots[i].index = -1;
        if ((is_shared ? hist_init_shared : hist_init)(&b->slots[i].h, 1, HIST_DEFAULT_HIGHEST,
                                                       LOAD_SECOND_SIGFIGS) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void board_free(struct engine *e, bool is_shared) {
    if (!e->board)
        return;
    for (int i = 0; i < SECOND_SLOTS; i++)
        hist_free(&e->board->slots[i].h);
    pthread_mutex_destroy(&e->board->lock);
    mem_free(e->board, sizeof *e->board, is_shared);
}

static int engine_init(struct engine *e, const struct load_opts *o, struct load_result *r) {
    memset(e, 0, sizeof *e);
    bool is_shared = o->procs > 1;
    e->o = o;
    e->r = r;
    e->req_bytes = o->request_bytes;
    e->hi = o->threads;
    e->reqbuf = malloc(o->request_bytes * o->pipeline);
    e->threads = mem_alloc(o->threads * sizeof *e->threads, is_shared);
    pthread_mutex_init(&e->lock, NULL);
    if (!e->reqbuf || !e->threads)
        return -ENOMEM;
    for (unsigned i = 0; i < o->threads; i++)
        e->threads[i].ep = -1;
    for (unsigned i = 0; i < o->pipeline; i++)
        memcpy(e->reqbuf + i * o->request_bytes, o->request, o->request_bytes);
    /* Without keep-alive every request leaves a TIME_WAIT socket behind: spread those too. */
    uint64_t per_source = (o->connections + CONNS_PER_SOURCE_ADDR - 1) / CONNS_PER_SOURCE_ADDR;
    e->src_addrs = o->is_loopback ? (unsigned)per_source : 1;
    if (o->is_loopback && !o->is_keepalive && e->src_addrs < 16)
        e->src_addrs = 16;
    e->src_addrs = e->src_addrs > 250 ? 250 : e->src_addrs;
    if (hist_init(&e->so_far, 1, HIST_DEFAULT_HIGHEST, LOAD_SECOND_SIGFIGS) < 0)
        return -ENOMEM;
    return board_init(e, is_shared);
}

/* A thread's results, which the main thread (the parent, under --procs) merges: its
 * statistics, and thread 0's sequences for the verdict. */
static int results_alloc(struct thread *t, bool is_shared) {
    const struct load_opts *o = t->o;
    if ((is_shared ? load_stats_init_shared : load_stats_init)(&t->st) < 0)
        return -ENOMEM;
    if (t->index != 0)
        return 0;
    t->lats = mem_alloc(VERDICT_LAG1_MAX * sizeof *t->lats, is_shared);
    bool wants_gaps = o->rate_per_s > 0 && o->arrival == SCHED_POISSON;
    t->gaps = wants_gaps ? mem_alloc(VERDICT_AD_MAX_GAPS * sizeof *t->gaps, is_shared) : NULL;
    return !t->lats || (wants_gaps && !t->gaps) ? -ENOMEM : 0;
}

static void results_free(struct thread *t, bool is_shared) {
    load_stats_free(&t->st);
    mem_free(t->lats, VERDICT_LAG1_MAX * sizeof *t->lats, is_shared);
    mem_free(t->gaps, VERDICT_AD_MAX_GAPS * sizeof *t->gaps, is_shared);
}

static void engine_free(struct engine *e) {
    bool is_shared = e->o->procs > 1;
    for (unsigned i = 0; e->threads && i < e->o->threads; i++) {
        if (!is_shared) /* else the children's, gone with them */
            loop_free(&e->threads[i]);
        results_free(&e->threads[i], is_shared);
    }
    board_free(e, is_shared);
    hist_free(&e->so_far);
    mem_free(e->threads, e->o->threads * sizeof *e->threads, is_shared);
    free(e->reqbuf);
    free(e->pids);
    if (e->sync)
        procs_shm_free(e->sync, sizeof *e->sync);
    pthread_mutex_destroy(&e->lock);
}

/* Thread i of n gets share_of(-c, n, i) connections and of -n requests, and R/n of the rate
 * at phase i/n: under --procs too, where n counts every process's threads. */
static int threads_setup(struct engine *e) {
    const struct load_opts *o = e->o;
    unsigned n = o->threads;
    for (unsigned i = 0; i < n; i++) {
        struct thread *t = &e->threads[i];
        t->e = e;
        t->o = o;
        t->index = i;
        t->ep = -1;
        t->budget = o->requests ? share_of(o->requests, n, i) : UINT64_MAX;
        if (results_alloc(t, o->procs > 1) < 0)
            return -ENOMEM;
        if (o->procs <= 1 && loop_alloc(t, (uint32_t)share_of(o->connections, n, i)) < 0)
            return -ENOMEM;
        if (o->rate_per_s > 0)
            sched_init(&t->sched, o->arrival, o->rate_per_s / n, (double)i / n,
                       o->seed + i * 0x9e3779b97f4a7c15ULL);
    }
    return 0;
}

static void progress(struct engine *e, uint64_t now, uint64_t *last_done, uint64_t *last_ns) {
    uint64_t done = 0, errs = 0;
    for (unsigned i = 0; i < e->o->threads; i++) {
        done += __atomic_load_n(&e->threads[i].prog_done, __ATOMIC_RELAXED);
        errs += __atomic_load_n(&e->threads[i].prog_err, __ATOMIC_RELAXED);
    }
    double rate = (double)(done - *last_done) * 1e9 / (double)(now - *last_ns + 1);
    *last_done = done;
    *last_ns = now;
    char el[32], tot[32] = "", p99[32] = "-";
    units_fmt_duration(el, sizeof el, (double)(now - e->t0_ns) / 1000.0);
    if (e->o->duration_us)
        units_fmt_duration(tot, sizeof tot,
                           (double)(e->o->duration_us + e->o->warmup_us + e->o->ramp_us));
    if (hist_count(&e->so_far))
        units_fmt_duration(p99, sizeof p99, (double)hist_percentile(&e->so_far, 99));
    fprintf(stderr, "\r\033[K%s%s%s  %.0f req/s  p99 %s  errors %llu", el, *tot ? " / " : "", tot,
            rate, p99, (unsigned long long)errs);
}

static bool all_finished(const struct engine *e) {
    for (unsigned i = 0; i < e->o->threads; i++)
        if (!__atomic_load_n(&e->threads[i].is_finished, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

/* Until every thread is done (or a --procs child failed: then -ECHILD, message in err). */
static int watch(struct engine *e, char *err, size_t errlen) {
    uint64_t last_done = 0, last_ns = loop_now_ns(), last_print = last_ns;
    int rc = 0;
    while (!all_finished(e)) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        if (e->pids && (rc = procs_poll(e, err, errlen)) < 0)
            break;
        rows_collect(e);
        uint64_t now = loop_now_ns();
        if (e->o->is_progress && now - last_print >= 250000000ULL) {
            progress(e, now, &last_done, &last_ns);
            last_print = now;
        }
    }
    if (e->o->is_progress)
        fputs("\r\033[K", stderr);
    return rc;
}

static double *memdup(const double *p, size_t bytes) {
    double *q = malloc(bytes ? bytes : 1);
    return q ? memcpy(q, p, bytes) : NULL;
}

static void summarize(struct engine *e, struct load_result *r) {
    const struct load_opts *o = e->o;
    uint64_t measure = e->t0_ns + (o->ramp_us + o->warmup_us) * 1000, stop = 0, finish = 0;
    label_rows(o, r);
    for (unsigned i = 0; i < o->threads; i++) {
        struct thread *t = &e->threads[i];
        load_stats_merge(&r->total, &t->st);
        stop = t->stop_ns > stop ? t->stop_ns : stop;
        finish = t->finish_ns > finish ? t->finish_ns : finish;
    }
    uint64_t end = o->duration_us && measure + o->duration_us * 1000 < finish
                       ? measure + o->duration_us * 1000 : finish;
    r->elapsed_s = end > measure ? (double)(end - measure) / 1e9 : 0;
    uint64_t send_end = o->duration_us ? measure + o->duration_us * 1000 : UINT64_MAX;
    stop = stop < send_end ? stop : send_end; /* the sending window */
    double send_s = stop > measure ? (double)(stop - measure) / 1e9 : r->elapsed_s;
    if (o->rate_per_s > 0 && send_s > 0) {
        r->achieved_rate_per_s = (double)r->total.sent / send_s;
        r->is_rate_short = r->achieved_rate_per_s < 0.99 * o->rate_per_s;
        r->is_lagging = hist_percentile(&r->total.send_lag, 99) > 1000;
    }
    r->was_interrupted = loop_stopping();
    struct thread *t0 = &e->threads[0]; /* the verdict's sequences: ownership moves to r */
    r->gap_count = t0->gap_count;
    r->latency_count = t0->lat_count;
    if (o->procs > 1) { /* copied out of the shared mapping, which engine_free unmaps */
        r->gaps_us = t0->gaps ? memdup(t0->gaps, t0->gap_count * sizeof *t0->gaps) : NULL;
        r->latencies_us = memdup(t0->lats, t0->lat_count * sizeof *t0->lats);
        r->gap_count = r->gaps_us ? r->gap_count : 0;
        r->latency_count = r->latencies_us ? r->latency_count : 0;
        return;
    }
    r->gaps_us = t0->gaps;
    r->latencies_us = t0->lats;
    t0->gaps = t0->lats = NULL;
}

static int open_raw(struct engine *e, char *err, size_t errlen) {
    if (!e->o->raw_path)
        return 0;
    e->raw = strcmp(e->o->raw_path, "-") ? fopen(e->o->raw_path, "w") : stdout;
    if (!e->raw) {
        snprintf(err, errlen, "%s: %s", e->o->raw_path, strerror(errno));
        return -errno;
    }
    fputs("thread,intended_us,sent_us,done_us,status,error\n", e->raw);
    return 0;
}

int engine_spawn(struct engine *e, unsigned *started) {
    unsigned n = e->hi - e->lo;
    pthread_barrier_init(&e->ready, NULL, n + 1);
    pthread_barrier_init(&e->go, NULL, n + 1);
    for (*started = 0; *started < n; (*started)++)
        if (pthread_create(&e->threads[e->lo + *started].tid, NULL, loop_thread_main,
                           &e->threads[e->lo + *started]))
            return -EAGAIN;
    return 0;
}

/* A common start, 1 ms out (or at --start-at), so that every thread begins on time. */
void engine_pick_start(struct engine *e) {
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    uint64_t mono = loop_now_ns();
    double now_s = (double)wall.tv_sec + wall.tv_nsec / 1e9;
    double wait_s = e->o->start_at_unix_s > now_s + 0.001 ? e->o->start_at_unix_s - now_s : 0.001;
    e->t0_ns = mono + (uint64_t)(wait_s * 1e9);
    e->r->start_unix_s = now_s + wait_s;
}

static int start_threads(struct engine *e, unsigned *started) {
    int rc = engine_spawn(e, started);
    if (rc < 0)
        return rc;
    pthread_barrier_wait(&e->ready);
    engine_pick_start(e);
    pthread_barrier_wait(&e->go);
    return 0;
}

/* Starts the threads here, or in --procs children; then watches until they are done. */
static int run_threads(struct engine *e, char *err, size_t errlen) {
    if (e->o->procs > 1) {
        int rc = procs_start(e, err, errlen);
        if (rc == 0)
            rc = watch(e, err, errlen);
        int reaped = procs_reap(e, rc < 0, err, errlen);
        return rc < 0 ? rc : reaped;
    }
    unsigned started = 0;
    int rc = start_threads(e, &started);
    if (rc == 0)
        watch(e, err, errlen);
    for (unsigned i = 0; i < started; i++)
        pthread_join(e->threads[i].tid, NULL);
    if (rc < 0)
        snprintf(err, errlen, "cannot start threads");
    return rc;
}

int engine_run(const struct load_opts *o, struct load_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    struct engine e;
    int rc = ensure_fds(o, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = engine_init(&e, o, r)) < 0 || (rc = threads_setup(&e)) < 0 ||
        (rc = load_stats_init(&r->total)) < 0 || (rc = open_raw(&e, err, errlen)) < 0) {
        if (!*err)
            snprintf(err, errlen, "%s", strerror(-rc));
        engine_free(&e);
        return rc;
    }
    loop_set_stop(0);
    struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = run_threads(&e, err, errlen);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == 0) {
        rows_collect(&e);
        summarize(&e, r);
    }
    if (e.raw && e.raw != stdout)
        fclose(e.raw);
    else if (e.raw)
        fflush(stdout);
    engine_free(&e);
    if (rc < 0)
        load_result_free(r);
    return rc;
}
