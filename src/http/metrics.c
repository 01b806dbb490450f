/* Server metrics (see metrics.h). Shards live in one MAP_SHARED mapping made at start, so the
 * fork architecture's children record into the same counters the parent's /metrics reads.
 * Histogram geometry comes from load/hist.c; counts are updated with relaxed atomics. */
#include "http/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "load/hist.h"

#define NSHARDS 16
#define HIGHEST_NS 60000000000LL /* 60 s */
#define SIGFIGS 2                /* 1% buckets: 32 KiB per histogram */

struct shard {
    uint64_t requests[6];
    uint64_t conns[METRICS_CONN_NEVENTS];
    uint64_t bytes_out;
    uint64_t queue_sum_ns, service_sum_ns;
    uint64_t *queue_counts, *service_counts;
} __attribute__((aligned(64)));

static struct {
    bool is_enabled;
    int64_t *open_conns; /* in the shared mapping: counted even with --no-metrics */
    struct hist layout; /* geometry only: its own counts are unused */
    struct shard *shards;
    int64_t queue_len;
    int arrival_source;
    unsigned *next_shard; /* in the shared mapping: worker processes (--procs) take turns too */
} M;

static __thread struct shard *my_shard;

int metrics_init(bool is_enabled) {
    M.is_enabled = is_enabled;
    if (hist_init(&M.layout, 1, HIGHEST_NS, SIGFIGS) < 0)
        return -ENOMEM;
    size_t per = (size_t)M.layout.counts_len * sizeof(uint64_t);
    size_t len = NSHARDS * sizeof(struct shard) + NSHARDS * 2 * per + 64; /* + open, next */
    char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    M.shards = (struct shard *)mem;
    char *counts = mem + NSHARDS * sizeof(struct shard);
    M.open_conns = (int64_t *)(counts + NSHARDS * 2 * per);
    M.next_shard = (unsigned *)(M.open_conns + 1);
    for (int i = 0; i < NSHARDS; i++) {
        M.shards[i].queue_counts = (uint64_t *)(counts + (size_t)(2 * i) * per);
        M.shards[i].service_counts = (uint64_t *)(counts + (size_t)(2 * i + 1) * per);
    }
    return 0;
}

bool metrics_enabled(void) {
    return M.is_enabled;
}

uint64_t metrics_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread's shard, assigned round-robin on first use; NULL when disabled. */
static struct shard *shard(void) {
    if (my_shard || !M.is_enabled || !M.shards)
        return my_shard;
    unsigned i = __atomic_fetch_add(M.next_shard, 1, __ATOMIC_RELAXED);
    my_shard = &M.shards[i % NSHARDS];
    return my_shard;
}

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)

void metrics_status(int status) {
    struct shard *s = shard();
    if (s && status >= 100 && status < 600)
        ADD(s->requests[status / 100], 1);
}

void metrics_conn(enum metrics_conn_event ev) {
    if (M.open_conns && (ev == METRICS_CONN_ACCEPTED || ev == METRICS_CONN_CLOSED))
        ADD(*M.open_conns, ev == METRICS_CONN_ACCEPTED ? 1 : -1);
    struct shard *s = shard();
    if (s)
        ADD(s->conns[ev], 1);
}

void metrics_bytes_out(uint64_t n) {
    struct shard *s = shard();
    if (s)
        ADD(s->bytes_out, n);
}

static void record(uint64_t *counts, uint64_t ns, unsigned n) {
    int64_t v = ns > (uint64_t)HIGHEST_NS ? HIGHEST_NS : (int64_t)ns;
    ADD(counts[hist_index_of(&M.layout, v)], n);
}

void metrics_queue_delay(uint64_t ns) {
    struct shard *s = shard();
    if (!s)
        return;
    record(s->queue_counts, ns, 1);
    ADD(s->queue_sum_ns, ns);
}

void metrics_service(uint64_t ns, unsigned n) {
    struct shard *s = shard();
    if (!s || n == 0)
        return;
    record(s->service_counts, ns, n);
    ADD(s->service_sum_ns, ns * n);
}

int64_t metrics_open_conns(void) {
    return M.open_conns ? __atomic_load_n(M.open_conns, __ATOMIC_RELAXED) : 0;
}

void metrics_set_queue_len(int64_t n) {
    __atomic_store_n(&M.queue_len, n, __ATOMIC_RELAXED);
}

void metrics_set_arrival_source(enum metrics_arrival_source src) {
    __atomic_store_n(&M.arrival_source, src, __ATOMIC_RELAXED); /* every worker sets it */
}

/* Adds a shard's counts into h, each bucket at its lowest equivalent value. */
static void fold(struct hist *h, const uint64_t *counts) {
    for (int i = 0; i < M.layout.counts_len; i++) {
        uint64_t n = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
        if (n)
            hist_record_n(h, hist_index_value(&M.layout, i), n);
    }
}

/* Snapshots share two histograms, so /metrics and --stats take turns. */
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hist snap_q, snap_s;

static void add_shard(struct metrics_snapshot *out, struct shard *s) {
    for (int c = 0; c < 6; c++)
        out->requests[c] += __atomic_load_n(&s->requests[c], __ATOMIC_RELAXED);
    for (int c = 0; c < METRICS_CONN_NEVENTS; c++)
        out->conns[c] += __atomic_load_n(&s->conns[c], __ATOMIC_RELAXED);
    out->bytes_out += __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
    out->queue_sum_ns += __atomic_load_n(&s->queue_sum_ns, __ATOMIC_RELAXED);
    out->service_sum_ns += __atomic_load_n(&s->service_sum_ns, __ATOMIC_RELAXED);
    fold(&snap_q, s->queue_counts);
    fold(&snap_s, s->service_counts);
}

int metrics_snapshot(struct metrics_snapshot *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&snap_lock);
    if (!snap_q.counts && (hist_init(&snap_q, 1, HIGHEST_NS, SIGFIGS) < 0 ||
                           hist_init(&snap_s, 1, HIGHEST_NS, SIGFIGS) < 0)) {
        pthread_mutex_unlock(&snap_lock);
        return -ENOMEM;
    }
    hist_reset(&snap_q);
    hist_reset(&snap_s);
    for (int i = 0; M.shards && i < NSHARDS; i++)
        add_shard(out, &M.shards[i]);
    out->queue_len = __atomic_load_n(&M.queue_len, __ATOMIC_RELAXED);
    out->arrival_source = __atomic_load_n(&M.arrival_source, __ATOMIC_RELAXED);
    out->queue = &snap_q;
    out->service = &snap_s;
    return 0; /* snap_lock stays held until metrics_snapshot_free() */
}

void metrics_snapshot_free(struct metrics_snapshot *s) {
    if (!s->queue)
        return;
    s->queue = s->service = NULL;
    pthread_mutex_unlock(&snap_lock);
}

/* ---- Prometheus text exposition ---------------------------------------------------------- */

struct out {
    char *buf;
    size_t cap, len;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...) {
    if (o->len + 1 >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

/* Bucket bounds in seconds: 10us .. 10s, the span between a loopback hello and a stall. */
static const double bounds_s[] = {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
                                  1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static void emit_hist(struct out *o, const char *name, const char *help, const struct hist *h,
                      uint64_t sum_ns) {
    emit(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    size_t nb = sizeof bounds_s / sizeof bounds_s[0];
    uint64_t below[sizeof bounds_s / sizeof bounds_s[0]] = {0};
    struct hist_iter it;
    hist_iter_init(&it);
    while (hist_next(h, &it))
        for (size_t b = 0; b < nb; b++)
            if ((double)it.hi <= bounds_s[b] * 1e9)
                below[b] += it.count;
    for (size_t b = 0; b < nb; b++)
        emit(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds_s[b], (unsigned long long)below[b]);
    uint64_t n = hist_count(h);
    emit(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
         (unsigned long long)n, name, (double)sum_ns / 1e9, name, (unsigned long long)n);
    emit(o, "# HELP %s_p50 median, from the histogram\n# TYPE %s_p50 gauge\n%s_p50 %.9f\n",
         name, name, name, (double)hist_percentile(h, 50) / 1e9);
    emit(o, "# HELP %s_p99 99th percentile, from the histogram\n# TYPE %s_p99 gauge\n"
            "%s_p99 %.9f\n", name, name, name, (double)hist_percentile(h, 99) / 1e9);
}

static const char *const conn_names[] = {"accepted", "closed", "refused", "timed_out"};

size_t metrics_format_prometheus(const struct metrics_snapshot *s, char *buf, size_t cap) {
    struct out o = {buf, cap, 0};
    buf[0] = '\0';
    emit(&o, "# HELP srvlab_requests_total Responses sent, by status class.\n"
             "# TYPE srvlab_requests_total counter\n");
    for (int c = 1; c <= 5; c++)
        emit(&o, "srvlab_requests_total{class=\"%dxx\"} %llu\n", c,
             (unsigned long long)s->requests[c]);
    emit(&o, "# HELP srvlab_response_bytes_total Response bytes handed to the kernel.\n"
             "# TYPE srvlab_response_bytes_total counter\nsrvlab_response_bytes_total %llu\n",
         (unsigned long long)s->bytes_out);
    emit(&o, "# HELP srvlab_connections_total Connection events.\n"
             "# TYPE srvlab_connections_total counter\n");
    for (int c = 0; c < METRICS_CONN_NEVENTS; c++)
        emit(&o, "srvlab_connections_total{event=\"%s\"} %llu\n", conn_names[c],
             (unsigned long long)s->conns[c]);
    int64_t open = (int64_t)s->conns[METRICS_CONN_ACCEPTED] - (int64_t)s->conns[METRICS_CONN_CLOSED];
    emit(&o, "# HELP srvlab_connections_open Connections open now.\n"
             "# TYPE srvlab_connections_open gauge\nsrvlab_connections_open %lld\n",
         (long long)(open > 0 ? open : 0));
    emit(&o, "# HELP srvlab_queue_length Accepted connections waiting for a worker (pool).\n"
             "# TYPE srvlab_queue_length gauge\nsrvlab_queue_length %lld\n",
         (long long)s->queue_len);
    emit_hist(&o, "srvlab_queueing_delay_seconds",
              "Request arrival to handler start (the course's queueing delay).", s->queue,
              s->queue_sum_ns);
    emit_hist(&o, "srvlab_service_time_seconds",
              "Handler start to response fully handed to the kernel.", s->service,
              s->service_sum_ns);
    emit(&o, "# HELP srvlab_arrival_timestamp_info Where arrival times come from.\n"
             "# TYPE srvlab_arrival_timestamp_info gauge\n"
             "srvlab_arrival_timestamp_info{source=\"%s\"} 1\n",
         s->arrival_source == METRICS_ARRIVAL_KERNEL ? "kernel" : "read");
    return o.len;
}

/* ---- per-interval figures for --stats ------------------------------------------------------ */

/* Sums every shard's bucket i. */
static uint64_t merged_count(int which, int i) {
    uint64_t n = 0;
    for (int s = 0; s < NSHARDS; s++) {
        uint64_t *counts = which ? M.shards[s].service_counts : M.shards[s].queue_counts;
        n += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
    }
    return n;
}

/* p-th percentile (ns) of what was recorded since the previous call, for one histogram. */
static uint64_t interval_percentile(int which, uint64_t *prev, double p) {
    static struct hist h;
    if (!h.counts && hist_init(&h, 1, HIGHEST_NS, SIGFIGS) < 0)
        return 0;
    hist_reset(&h);
    for (int i = 0; i < M.layout.counts_len; i++) {
        uint64_t now = merged_count(which, i);
        if (now > prev[i])
            hist_record_n(&h, hist_index_value(&M.layout, i), now - prev[i]);
        prev[i] = now;
    }
    return (uint64_t)hist_percentile(&h, p);
}

int metrics_interval(struct metrics_interval *iv) {
    static uint64_t *prev[2];
    static uint64_t prev_requests, prev_ns;
    memset(iv, 0, sizeof *iv);
    if (!M.shards)
        return -EINVAL;
    for (int w = 0; w < 2; w++)
        if (!prev[w] && !(prev[w] = calloc((size_t)M.layout.counts_len, sizeof(uint64_t))))
            return -ENOMEM;
    struct metrics_snapshot s = {0};
    for (int i = 0; i < NSHARDS; i++) {
        for (int c = 1; c < 6; c++)
            s.requests[c] += __atomic_load_n(&M.shards[i].requests[c], __ATOMIC_RELAXED);
        for (int c = 0; c < METRICS_CONN_NEVENTS; c++)
            s.conns[c] += __atomic_load_n(&M.shards[i].conns[c], __ATOMIC_RELAXED);
    }
    uint64_t total = s.requests[1] + s.requests[2] + s.requests[3] + s.requests[4] + s.requests[5];
    uint64_t now = metrics_now_ns();
    double secs = prev_ns ? (double)(now - prev_ns) / 1e9 : 0;
    iv->requests = total - prev_requests;
    iv->rate_per_s = secs > 0 ? (double)iv->requests / secs : 0;
    iv->queue_p99_ns = interval_percentile(0, prev[0], 99);
    iv->service_p99_ns = interval_percentile(1, prev[1], 99);
    iv->open = (int64_t)s.conns[METRICS_CONN_ACCEPTED] - (int64_t)s.conns[METRICS_CONN_CLOSED];
    prev_requests = total;
    prev_ns = now;
    return 0;
}
