/* The numbers a reader wants from a sweep, derived from the saved runs: per server, the maximum
 * throughput, the highest rate meeting the SLO, p99 at half load, memory per connection and CPU
 * per request. Pure: no I/O. */
#ifndef SRVLAB_REPORT_SUMMARY_H
#define SRVLAB_REPORT_SUMMARY_H

#include <stdbool.h>

#include "load/slo.h"
#include "report/data.h"

/* Every field is NAN when the runs it needs are missing. */
struct summary {
    double max_tput_per_s;     /* highest throughput of the closed-loop runs (low included) */
    const struct run *max_run; /* the run that gave it */
    double slo_rate_per_s;     /* highest open-loop target rate that met the SLO */
    double p99_half_us;        /* p99 latency of the open-loop run at 50% of max throughput */
    const struct run *half_run;
    double mem_per_conn_kib;   /* (memory at 1000 connections - at 1) / (connections - 1),
                                  unless over 1% of the 1000-connection requests failed */
    double cpu_per_req_us;     /* server CPU time per response, at max throughput */
};

/* True when an open-loop run met the SLO: every rule met, and the responses kept up with the
 * target rate (at least 90% of it), so a short run cannot pass by queueing the excess. */
bool summary_run_meets(const struct run *r, const struct slo *slo);

/* The summary of one server; run_duration_s is each run's length, warm-up included. Without
 * an SLO (NULL), slo_rate_per_s stays NAN. */
void summary_server(const struct sweep_server *s, const struct slo *slo, double run_duration_s,
                    struct summary *out);

/* Runs of one step ("open", "closed", ...) in s, sorted by rate then connections, into out
 * (at most max); returns how many. "closed" also takes the "low" run (one connection). */
size_t summary_runs(const struct sweep_server *s, const char *step, const struct run **out,
                    size_t max);

#endif
