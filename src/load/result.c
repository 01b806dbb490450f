/* The measured result's bookkeeping: error kind names, and the statistics a run (or a merge)
 * adds up. No I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"

const char *const load_err_names[LOAD_ERR_KINDS] = {
    "connect", "reset", "closed", "read", "write", "timeout", "parse", "http_4xx", "http_5xx",
    "unsent"};

static int stats_init(struct load_stats *s, bool is_shared) {
    memset(s, 0, sizeof *s);
    struct hist *hs[] = {&s->latency, &s->service, &s->queue, &s->connect, &s->ttfb, &s->send_lag};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if ((is_shared ? hist_init_shared : hist_init)(hs[i], 1, HIST_DEFAULT_HIGHEST,
                                                       HIST_DEFAULT_SIGFIGS) < 0)
            return -ENOMEM;
    return 0;
}

int load_stats_init(struct load_stats *s) { return stats_init(s, false); }

int load_stats_init_shared(struct load_stats *s) { return stats_init(s, true); }

void load_stats_free(struct load_stats *s) {
    struct hist *hs[] = {&s->latency, &s->service, &s->queue, &s->connect, &s->ttfb, &s->send_lag};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        hist_free(hs[i]);
}

void load_stats_merge(struct load_stats *d, const struct load_stats *s) {
    hist_merge(&d->latency, &s->latency);
    hist_merge(&d->service, &s->service);
    hist_merge(&d->queue, &s->queue);
    hist_merge(&d->connect, &s->connect);
    hist_merge(&d->ttfb, &s->ttfb);
    hist_merge(&d->send_lag, &s->send_lag);
    d->requests += s->requests;
    d->responses += s->responses;
    d->ok += s->ok;
    d->sent += s->sent;
    for (int k = 0; k < LOAD_ERR_KINDS; k++)
        d->errors[k] += s->errors[k];
    d->waited += s->waited;
    d->bytes_read += s->bytes_read;
    d->connects += s->connects;
    d->max_conns += s->max_conns;
    d->has_port_exhaustion |= s->has_port_exhaustion;
}

uint64_t load_stats_errors(const struct load_stats *s) {
    uint64_t n = 0;
    for (int k = 0; k < LOAD_ERR_KINDS; k++)
        n += s->errors[k];
    return n;
}

void load_result_free(struct load_result *r) {
    load_stats_free(&r->total);
    free(r->seconds);
    r->seconds = NULL;
    free(r->gaps_us);
    free(r->latencies_us);
    r->gaps_us = r->latencies_us = NULL;
}
