/* The load run from the main thread: set-up (descriptors, connections and rate split over
 * threads), the common start, the progress line, per-second rows and the merged result. The
 * threads' event loops are loop.c. */
#include "load/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "net/units.h"

static void on_sigint(int sig) { loop_stop = 1; }

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
    pthread_mutex_lock(&e->lock);
    for (; e->next_row < ready && e->next_row <= e->last_sec; e->next_row++) {
        struct sec_acc *slot = &e->slots[e->next_row % SECOND_SLOTS];
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
    pthread_mutex_unlock(&e->lock);
}

/* ---- The run, from the main thread --------------------------------------------------------- */

/* Each connection needs a descriptor: raise the soft limit as far as the hard one allows. */
static int ensure_fds(const struct load_opts *o, char *err, size_t errlen) {
    struct rlimit rl;
    rlim_t need = (rlim_t)o->connections + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return 0;
    struct rlimit want = {.rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) /* a raised hard limit needs CAP_SYS_RESOURCE */
        return 0;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= need)
        return 0;
    snprintf(err, errlen, "%llu connections need %llu file descriptors, the limit is %llu "
             "(raise it with ulimit -n)", (unsigned long long)o->connections,
             (unsigned long long)need, (unsigned long long)rl.rlim_max);
    return -EMFILE;
}

static int engine_init(struct engine *e, const struct load_opts *o, struct load_result *r) {
    memset(e, 0, sizeof *e);
    e->o = o;
    e->r = r;
    e->req_bytes = o->request_bytes;
    e->last_sec = -1;
    e->reqbuf = malloc(o->request_bytes * o->pipeline);
    e->threads = calloc(o->threads, sizeof *e->threads);
    if (!e->reqbuf || !e->threads)
        return -ENOMEM;
    for (unsigned i = 0; i < o->pipeline; i++)
        memcpy(e->reqbuf + i * o->request_bytes, o->request, o->request_bytes);
    /* Without keep-alive every request leaves a TIME_WAIT socket behind: spread those too. */
    uint64_t per_source = (o->connections + CONNS_PER_SOURCE_ADDR - 1) / CONNS_PER_SOURCE_ADDR;
    e->src_addrs = o->is_loopback ? (unsigned)per_source : 1;
    if (o->is_loopback && !o->is_keepalive && e->src_addrs < 16)
        e->src_addrs = 16;
    e->src_addrs = e->src_addrs > 250 ? 250 : e->src_addrs;
    pthread_mutex_init(&e->lock, NULL);
    if (hist_init(&e->so_far, 1, HIST_DEFAULT_HIGHEST, LOAD_SECOND_SIGFIGS) < 0)
        return -ENOMEM;
    for (int i = 0; i < SECOND_SLOTS; i++) {
        e->slots[i].index = -1;
        if (hist_init(&e->slots[i].h, 1, HIST_DEFAULT_HIGHEST, LOAD_SECOND_SIGFIGS) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void engine_free(struct engine *e) {
    for (unsigned i = 0; e->threads && i < e->o->threads; i++)
        loop_free(&e->threads[i]);
    for (int i = 0; i < SECOND_SLOTS; i++)
        hist_free(&e->slots[i].h);
    hist_free(&e->so_far);
    free(e->threads);
    free(e->reqbuf);
    pthread_mutex_destroy(&e->lock);
}

static int threads_setup(struct engine *e) {
    const struct load_opts *o = e->o;
    unsigned n = o->threads;
    for (unsigned i = 0; i < n; i++) {
        struct thread *t = &e->threads[i];
        t->e = e;
        t->o = o;
        t->index = i;
        t->ep = -1;
        uint32_t conns = (uint32_t)(o->connections / n + (i < o->connections % n));
        t->budget = o->requests ? o->requests / n + (i < o->requests % n) : UINT64_MAX;
        if (loop_alloc(t, conns) < 0)
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

static void watch(struct engine *e) {
    uint64_t last_done = 0, last_ns = loop_now_ns(), last_print = last_ns;
    while (!all_finished(e)) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        rows_collect(e);
        uint64_t now = loop_now_ns();
        if (e->o->is_progress && now - last_print >= 250000000ULL) {
            progress(e, now, &last_done, &last_ns);
            last_print = now;
        }
    }
    if (e->o->is_progress)
        fputs("\r\033[K", stderr);
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
    r->was_interrupted = loop_stop;
    struct thread *t0 = &e->threads[0]; /* the verdict's sequences: ownership moves to r */
    r->gaps_us = t0->gaps;
    r->gap_count = t0->gap_count;
    r->latencies_us = t0->lats;
    r->latency_count = t0->lat_count;
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

static int start_threads(struct engine *e, unsigned *started) {
    unsigned n = e->o->threads;
    pthread_barrier_init(&e->ready, NULL, n + 1);
    pthread_barrier_init(&e->go, NULL, n + 1);
    for (*started = 0; *started < n; (*started)++)
        if (pthread_create(&e->threads[*started].tid, NULL, loop_thread_main,
                           &e->threads[*started]))
            return -EAGAIN;
    pthread_barrier_wait(&e->ready);
    /* A common start, 1 ms out (or at --start-at), so that every thread begins on time. */
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    uint64_t mono = loop_now_ns();
    double now_s = (double)wall.tv_sec + wall.tv_nsec / 1e9;
    double wait_s = e->o->start_at_unix_s > now_s + 0.001 ? e->o->start_at_unix_s - now_s : 0.001;
    e->t0_ns = mono + (uint64_t)(wait_s * 1e9);
    e->r->start_unix_s = now_s + wait_s;
    pthread_barrier_wait(&e->go);
    return 0;
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
    loop_stop = 0;
    struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    unsigned started = 0;
    rc = start_threads(&e, &started);
    if (rc == 0)
        watch(&e);
    for (unsigned i = 0; i < started; i++)
        pthread_join(e.threads[i].tid, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    rows_collect(&e);
    summarize(&e, r);
    if (e.raw && e.raw != stdout)
        fclose(e.raw);
    else if (e.raw)
        fflush(stdout);
    engine_free(&e);
    if (rc < 0)
        snprintf(err, errlen, "cannot start threads");
    return rc;
}
