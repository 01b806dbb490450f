/* What the parts of `srvlab load` share: the options (filled by load.c), the measured results
 * (filled by engine.c, printed by output.c) and the error taxonomy. */
#ifndef SRVLAB_LOAD_H
#define SRVLAB_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "load/hist.h"
#include "load/sched.h"
#include "load/slo.h"
#include "load/url.h"
#include "load/verdict.h"

#define LOAD_SCHEMA_VERSION 1
#define LOAD_MAX_HEADERS 64
#define LOAD_MAX_PROCS 256    /* --procs at most (as -t) */
#define LOAD_SECOND_SIGFIGS 2 /* per-second CSV percentiles: 1% precision keeps them small */

/* Why a request failed. A request fails at most once, with the first kind that hit it. */
enum load_err {
    LOAD_ERR_CONNECT,  /* connect() refused, unreachable or timed out */
    LOAD_ERR_RESET,    /* ECONNRESET while reading or writing */
    LOAD_ERR_CLOSED,   /* the server closed the connection before answering in full */
    LOAD_ERR_READ,     /* other read errors */
    LOAD_ERR_WRITE,    /* other write errors (EPIPE) */
    LOAD_ERR_TIMEOUT,  /* no complete answer within --timeout of the send */
    LOAD_ERR_PARSE,    /* the answer was not valid HTTP/1.x */
    LOAD_ERR_HTTP_4XX, /* a complete response with a 4xx status */
    LOAD_ERR_HTTP_5XX, /* a complete response with a 5xx status */
    LOAD_ERR_UNSENT,   /* still waiting for a connection when the run ended */
    LOAD_ERR_KINDS
};

extern const char *const load_err_names[LOAD_ERR_KINDS];

struct load_opts {
    const char *url_text;
    struct url url;
    struct sockaddr_storage addr; /* resolved target */
    socklen_t addr_len;
    bool is_loopback;             /* spread connections over 127.0.0.x source addresses */
    uint64_t connections;
    unsigned threads;             /* in all; under --procs at least procs, spread over them */
    unsigned procs;               /* --procs: processes sharing the threads; 1: this one only */
    double rate_per_s;            /* 0: closed loop */
    enum sched_arrival arrival;
    uint64_t seed;
    uint64_t duration_us;         /* 0: until -n requests are done */
    uint64_t requests;            /* -n; 0: until the duration ends */
    uint64_t warmup_us;
    uint64_t ramp_us;             /* rise to the rate or connections first; 0: none */
    double start_at_unix_s;       /* --start-at: wall-clock start (CLOCK_REALTIME); 0: now */
    uint64_t timeout_us;
    uint64_t think_us;
    uint64_t interval_us;         /* sampling mode when > 0 */
    uint64_t spin_us;             /* open loop: busy-poll when the next send is this close */
    unsigned pipeline;
    bool is_keepalive;
    bool is_http10;
    bool is_head;
    bool is_quiet;
    bool is_progress;             /* stderr is a terminal and not --quiet */
    bool is_stdout_taken;         /* an output file is "-": samples and summary go to stderr */
    const char *method;
    const char *headers[LOAD_MAX_HEADERS];
    size_t header_count;
    const char *body_path;
    char *body;
    size_t body_bytes;
    const char *json_path, *hgrm_path, *csv_path, *raw_path;
    bool has_slo;
    struct slo slo;
    const char *server_metrics_text; /* --server-metrics: srvlab serve's /metrics URL */
    struct url server_metrics_url;
    const char *search_text;      /* --search: the SLO whose highest rate is sought; NULL: off */
    uint64_t search_max_us;       /* --search: total measured time at most */
    char *request;                /* the formatted request, sent as is */
    size_t request_bytes;
};

/* Everything measured for the requests whose intended send time fell after the warm-up. */
struct load_stats {
    struct hist latency;  /* completion - intended send (the headline) */
    struct hist service;  /* completion - actual send */
    struct hist queue;    /* actual send - intended send (waiting for a connection) */
    struct hist connect;  /* connect() start to established */
    struct hist ttfb;     /* actual send - first response byte */
    struct hist send_lag; /* how late the generator noticed each due send (open loop) */
    uint64_t requests;    /* requests that ended one way or another */
    uint64_t responses;   /* complete responses, any status */
    uint64_t ok;          /* responses with status < 400 */
    uint64_t sent;        /* requests written in the measured window (achieved rate) */
    uint64_t errors[LOAD_ERR_KINDS];
    uint64_t waited;      /* requests that found no idle connection when due */
    uint64_t bytes_read;
    uint64_t connects;    /* connections established */
    uint64_t max_conns;   /* sum over threads of each thread's peak of open connections */
    bool has_port_exhaustion; /* connect() said EADDRNOTAVAIL */
};

/* One row of the per-second CSV (seconds after the warm-up; with --ramp, after the start, the
 * ramp and warm-up rows marked so). */
struct load_second {
    uint64_t sent, completed, errors;
    int64_t p50_us, p99_us;
    const char *phase; /* "ramp", "warmup" or "measured"; NULL: "measured" */
};

/* --server-metrics: one part of the server-side decomposition, over the run's requests. */
struct load_server_part {
    uint64_t count;
    double mean_us;              /* from the _sum and _count deltas */
    double p99_lo_us, p99_hi_us; /* p99 to bucket resolution: in (lo, hi]; NaN: unknown */
};

struct load_server {
    bool has;
    char error[160];             /* a failed scrape; has is false then */
    uint64_t requests;           /* requests the server answered during the run */
    struct load_server_part queueing, service;
    uint64_t rtt_count;          /* connects measured by the loader */
    double rtt_mean_us, rtt_p99_us; /* from the loader's connect times (one round trip) */
    double latency_mean_us;      /* the loader's mean latency */
    double remainder_us;         /* latency - (rtt + queueing + service): the rest of the path */
};

struct load_result {
    struct load_stats total;
    double elapsed_s;      /* measured window: warm-up end to the last completion or the end */
    double start_unix_s;   /* wall clock at the start of the run */
    struct load_second *seconds;
    size_t second_count;
    double achieved_rate_per_s;
    bool is_rate_short;    /* achieved rate more than 1% under target */
    bool is_lagging;       /* p99 send lag over 1 ms */
    bool was_interrupted;
    /* Thread 0's sequences for the verdict (engine.c; NULL when not kept). */
    double *gaps_us;      /* gaps between consecutive actual sends, Poisson runs */
    size_t gap_count;
    double *latencies_us; /* latencies in completion order */
    size_t latency_count;
    struct verdict verdict; /* output_evaluate() */
    struct load_server server; /* --server-metrics */
};

/* result.c. Zeroes s and sets up its six histograms (1 us to 1 h, 3 digits): 0 or -ENOMEM.
 * load_stats_free() releases them (also after a failed init). Not thread-safe: one owner. */
int load_stats_init(struct load_stats *s);
void load_stats_free(struct load_stats *s);
/* As load_stats_init, the histograms' counts in MAP_SHARED memory (hist_init_shared). */
int load_stats_init_shared(struct load_stats *s);
/* Adds src into dst: histograms merged exactly, counts added, max_conns summed. */
void load_stats_merge(struct load_stats *dst, const struct load_stats *src);
/* All errors, every kind. */
uint64_t load_stats_errors(const struct load_stats *s);
/* Frees what engine_run() allocated in r (statistics, per-second rows). */
void load_result_free(struct load_result *r);

/* engine.c. Runs the load described by o (threads, event loops) and fills r. Returns 0, or
 * -errno when the run could not start (r then holds nothing); a message goes to err. Prints
 * sample lines (sampling mode) and the progress line itself. Main thread only; installs
 * SIGINT/SIGTERM handlers for the run and restores the previous ones. */
int engine_run(const struct load_opts *o, struct load_result *r, char *err, size_t errlen);

/* output.c. The summary (mode, counts, throughput, connections, errors by kind, the table of
 * latency/service/queue/connect/ttfb/send-lag statistics, self-check warnings) to out. */
void output_summary(FILE *out, const struct load_opts *o, const struct load_result *r);
/* Files: path "-" is stdout. Each returns 0 or -errno (from fopen/fclose). */
int output_json(const char *path, const struct load_opts *o, const struct load_result *r);
int output_hgrm(const char *path, const struct hist *h); /* HdrHistogram text, values in ms */
int output_csv(const char *path, const struct load_result *r);
/* One metric object of the JSON schema (count, min_us, mean_us, stddev_us, max_us,
 * percentiles, histogram) as member `key`, for writers of srvlab load JSON (merge too). */
struct json_writer;
void output_json_metric(struct json_writer *w, const char *key, const struct hist *h);
/* Prints the SLO verdict table (point estimates only); returns true when every objective is
 * met. The run's own SLO verdict, with intervals, is r->verdict's (verdict_print_slo). */
bool output_slo(FILE *out, const struct load_opts *o, const struct load_result *r);
/* Judges the run into r->verdict (verdict_evaluate). 0 or -ENOMEM (verdict still complete). */
int output_evaluate(const struct load_opts *o, struct load_result *r);
/* errors / requests, 0 when there were no requests. */
double output_error_ratio(const struct load_stats *s);

/* srvmetrics.c. The series of srvlab serve's /metrics the decomposition uses. */
#define SRVMETRICS_MAX_BUCKETS 40
struct srvmetrics_hist {
    double sum_s, count;
    double cum[SRVMETRICS_MAX_BUCKETS]; /* cumulative counts at the sample's `le` bounds */
};
struct srvmetrics_sample {
    double le[SRVMETRICS_MAX_BUCKETS];  /* bucket bounds in seconds, increasing; +inf last */
    size_t bucket_count;
    struct srvmetrics_hist queueing, service;
    double requests;                    /* srvlab_requests_total, all classes */
};
/* GETs u (Connection: close, 5 s timeouts) and parses it. 0, or -errno with err set. */
int srvmetrics_scrape(const struct url *u, struct srvmetrics_sample *out, char *err,
                      size_t errlen);
/* The run's decomposition from two scrapes and the loader's statistics (connect, latency). */
void srvmetrics_decompose(const struct srvmetrics_sample *before,
                          const struct srvmetrics_sample *after, const struct load_stats *st,
                          struct load_server *out);

/* search.c. `--search`: steps of open-loop runs (o->rate_per_s the start rate, o->slo the SLO,
 * o->duration_us the longest step), the table of steps and the answer to stdout (stderr when
 * stdout is taken), the steps to --json. Returns the exit status: 0 a rate meets the SLO,
 * 1 none does or a run failed. */
int search_main(const struct load_opts *o);

#endif
