/* Server-side measurements for every architecture: request counters, connection counters, and
 * the two parts of the course's latency equation measured from inside the server:
 *   queueing delay = handler start - arrival,  service time = response written - handler start.
 * Recording is lock-free and allocation-free (relaxed atomics into per-thread shards kept in
 * shared memory, so fork's children count too); reading merges the shards on demand. */
#ifndef SRVLAB_HTTP_METRICS_H
#define SRVLAB_HTTP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hist;

enum metrics_conn_event {
    METRICS_CONN_ACCEPTED,
    METRICS_CONN_CLOSED,
    METRICS_CONN_REFUSED,   /* turned away: queue full, FD_SETSIZE, --max-conns */
    METRICS_CONN_TIMED_OUT, /* closed by a header/body/idle/send timeout */
    METRICS_CONN_NEVENTS,
};

/* Where arrival times come from: the kernel's receive timestamp (SO_TIMESTAMPNS) or the time
 * the bytes were read. Architectures that use sock_recv_ts() report the former. */
enum metrics_arrival_source { METRICS_ARRIVAL_READ, METRICS_ARRIVAL_KERNEL };

/* Sets up the shared shards. Call once before any connection (and before fork). is_enabled false
 * (--no-metrics) turns every metrics_* recording call into a no-op. 0 or -ENOMEM. */
int metrics_init(bool is_enabled);

/* True unless --no-metrics. */
bool metrics_enabled(void);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t metrics_now_ns(void);

/* Records one response with this status, and one connection event. Any thread. */
void metrics_status(int status);
void metrics_conn(enum metrics_conn_event ev);
void metrics_bytes_out(uint64_t n);

/* Records one request's queueing delay and service time, in nanoseconds. Any thread. */
void metrics_queue_delay(uint64_t ns);
void metrics_service(uint64_t ns, unsigned n_requests);

/* Connections open now, over all threads and processes (kept even with --no-metrics). */
int64_t metrics_open_conns(void);

/* A gauge architectures with a queue keep current (pool: connections waiting for a worker). */
void metrics_set_queue_len(int64_t n);

/* Declares how arrival times are taken (shown in /metrics). */
void metrics_set_arrival_source(enum metrics_arrival_source src);

/* Snapshot of everything, merged over shards. The histograms are in nanoseconds and must be
 * freed with metrics_snapshot_free(). */
struct metrics_snapshot {
    uint64_t requests[6];              /* [1]..[5]: by status class 1xx..5xx */
    uint64_t conns[METRICS_CONN_NEVENTS];
    uint64_t bytes_out;
    int64_t queue_len;
    uint64_t queue_sum_ns, service_sum_ns;
    struct hist *queue, *service;
    int arrival_source;
};
int metrics_snapshot(struct metrics_snapshot *s);
void metrics_snapshot_free(struct metrics_snapshot *s);

/* Writes the Prometheus text exposition of a snapshot into buf; returns the length (truncated
 * at cap - 1, always NUL-terminated). */
size_t metrics_format_prometheus(const struct metrics_snapshot *s, char *buf, size_t cap);

/* What happened since the previous call (the first call covers everything so far):
 * requests answered, their rate, p99 of queueing delay and service time, open connections.
 * One caller at a time (the --stats thread). 0 or -errno. */
struct metrics_interval {
    uint64_t requests;
    double rate_per_s;
    uint64_t queue_p99_ns, service_p99_ns;
    int64_t open;
};
int metrics_interval(struct metrics_interval *iv);

#endif
