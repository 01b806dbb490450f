/* Summary numbers from the saved runs. Every number here can be traced to one field of one
 * saved file (the e2e test does exactly that), so nothing is averaged across runs. */
#include "report/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool summary_run_meets(const struct run *r, const struct slo *slo) {
    if (!r->has_result || hist_count(&r->latency) == 0)
        return false;
    if (r->rate_per_s > 0 && r->throughput_per_s < 0.9 * r->rate_per_s)
        return false;
    struct slo_input in = {
        .latency = &r->latency,
        .error_ratio = r->requests ? (double)r->errors / (double)r->requests : 0,
        .throughput_per_s = r->throughput_per_s,
    };
    struct slo_verdict v[SLO_MAX_RULES];
    return slo_judge(slo, &in, v);
}

static int by_rate_then_conns(const void *a, const void *b) {
    const struct run *x = *(const struct run *const *)a, *y = *(const struct run *const *)b;
    if (x->rate_per_s != y->rate_per_s)
        return x->rate_per_s < y->rate_per_s ? -1 : 1;
    return (x->connections > y->connections) - (x->connections < y->connections);
}

size_t summary_runs(const struct sweep_server *s, const char *step, const struct run **out,
                    size_t max) {
    size_t n = 0;
    bool is_closed = !strcmp(step, "closed");
    for (size_t i = 0; i < s->run_count && n < max; i++) {
        const struct run *r = &s->runs[i];
        if (!strcmp(r->step, step) || (is_closed && !strcmp(r->step, "low")))
            out[n++] = r;
    }
    qsort(out, n, sizeof *out, by_rate_then_conns);
    return n;
}

static void max_throughput(const struct sweep_server *s, struct summary *out) {
    const struct run *runs[64];
    size_t n = summary_runs(s, "closed", runs, 64);
    for (size_t i = 0; i < n; i++)
        if (runs[i]->has_result && (!out->max_run ||
                                    runs[i]->throughput_per_s > out->max_tput_per_s)) {
            out->max_run = runs[i];
            out->max_tput_per_s = runs[i]->throughput_per_s;
        }
}

static void slo_rate(const struct sweep_server *s, const struct slo *slo, struct summary *out) {
    if (!slo)
        return;
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        bool is_open = !strcmp(r->step, "open") || !strcmp(r->step, "search");
        if (!is_open || !summary_run_meets(r, slo))
            continue;
        if (isnan(out->slo_rate_per_s) || r->rate_per_s > out->slo_rate_per_s)
            out->slo_rate_per_s = r->rate_per_s;
    }
}

static void p99_half(const struct sweep_server *s, struct summary *out) {
    double best = INFINITY;
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        double off = fabs(r->fraction - 0.5);
        if (strcmp(r->step, "open") || !r->has_result || off > 0.05 || off >= best)
            continue;
        best = off;
        out->half_run = r;
        out->p99_half_us = (double)hist_percentile(&r->latency, 99);
    }
}

static const struct run *closed_at(const struct sweep_server *s, unsigned conns) {
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        bool is_closed = !strcmp(r->step, "closed") || !strcmp(r->step, "low");
        if (is_closed && r->connections == conns && r->rss_peak_kib > 0)
            return r;
    }
    return NULL;
}

static void mem_per_conn(const struct sweep_server *s, struct summary *out) {
    const struct run *one = closed_at(s, 1), *many = closed_at(s, 1000);
    if (!one || !many || !many->has_result || many->max_conns < 2)
        return;
    /* A server that did not hold the connections (iterative leaves them in the kernel's
     * accept queue, where they time out) has no per-connection memory to speak of. */
    if (many->errors * 100 > many->requests)
        return;
    double conns = (double)many->max_conns - 1;
    out->mem_per_conn_kib = (double)(many->rss_peak_kib - one->rss_peak_kib) / conns;
}

void summary_server(const struct sweep_server *s, const struct slo *slo, double run_duration_s,
                    struct summary *out) {
    *out = (struct summary){NAN, NULL, NAN, NAN, NULL, NAN, NAN};
    max_throughput(s, out);
    slo_rate(s, slo, out);
    p99_half(s, out);
    mem_per_conn(s, out);
    const struct run *m = out->max_run;
    /* The server's CPU was measured over the whole run, warm-up included: divide by the
     * responses of the whole run, estimated as throughput x run length. */
    if (m && m->throughput_per_s > 0 && run_duration_s > 0)
        out->cpu_per_req_us = m->cpu_s * 1e6 / (m->throughput_per_s * run_duration_s);
}
