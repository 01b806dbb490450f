/* What `srvlab load` prints and writes: the summary, the SLO verdict table, and the --json,
 * --hgrm and --csv files. Formatting only; the numbers come from engine.c. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cmd.h"
#include "load/histjson.h"
#include "load/load.h"
#include "load/output.h"
#include "net/units.h"
#include "util/json.h"

static const double report_pcts[] = {50, 75, 90, 99, 99.9, 99.99};
#define REPORT_PCTS (sizeof report_pcts / sizeof report_pcts[0])

double output_error_ratio(const struct load_stats *s) {
    return s->requests ? (double)load_stats_errors(s) / (double)s->requests : 0;
}

static const char *mode_name(const struct load_opts *o) {
    return o->interval_us ? "sampling" : o->rate_per_s > 0 ? "open" : "closed";
}

/* ---- Summary ------------------------------------------------------------------------- */

static char *dur(char *buf, size_t len, double us) { return units_fmt_duration(buf, len, us); }

static void summary_header(FILE *out, const struct load_opts *o, const struct load_result *r) {
    char a[32], b[32], c[32];
    fprintf(out, "srvlab load %s %s\n", o->method, o->url_text);
    if (o->rate_per_s > 0)
        fprintf(out, "  mode         open loop at %s req/s, %s arrivals (seed %llu)", 
                units_fmt_count(a, sizeof a, o->rate_per_s), sched_arrival_name(o->arrival),
                (unsigned long long)o->seed);
    else if (o->interval_us)
        fprintf(out, "  mode         sampling, one request at a time, %s pause after each",
                dur(a, sizeof a, (double)o->interval_us));
    else
        fprintf(out, "  mode         closed loop%s%s", o->think_us ? ", think " : "",
                o->think_us ? dur(a, sizeof a, (double)o->think_us) : "");
    char procs[32] = "";
    if (o->procs > 1)
        snprintf(procs, sizeof procs, " in %u processes", o->procs);
    fprintf(out, "; %llu connection%s, %u thread%s%s, %s%s, HTTP/1.%d\n",
            (unsigned long long)o->connections, o->connections == 1 ? "" : "s", o->threads,
            o->threads == 1 ? "" : "s", procs,
            o->is_keepalive ? "keep-alive" : "a new connection per request",
            o->pipeline > 1 ? ", pipelined" : "", o->is_http10 ? 0 : 1);
    fprintf(out, "  duration     %s measured", dur(a, sizeof a, r->elapsed_s * 1e6));
    if (o->ramp_us)
        fprintf(out, " after a %s ramp", dur(b, sizeof b, (double)o->ramp_us));
    if (o->warmup_us)
        fprintf(out, "%s %s warm-up", o->ramp_us ? " and" : " after",
                dur(b, sizeof b, (double)o->warmup_us));
    fprintf(out, ", timeout %s%s\n", dur(c, sizeof c, (double)o->timeout_us),
            r->was_interrupted ? " (interrupted)" : "");
}

static void summary_counts(FILE *out, const struct load_opts *o, const struct load_result *r) {
    const struct load_stats *s = &r->total;
    char a[32], b[32];
    double secs = r->elapsed_s > 0 ? r->elapsed_s : 1;
    fprintf(out, "  requests     %llu: %llu responses (%llu ok), %llu errors; %s read (%s/s)\n",
            (unsigned long long)s->requests, (unsigned long long)s->responses,
            (unsigned long long)s->ok, (unsigned long long)load_stats_errors(s),
            units_fmt_bytes(a, sizeof a, (double)s->bytes_read),
            units_fmt_bytes(b, sizeof b, (double)s->bytes_read / secs));
    fprintf(out, "  throughput   %.1f responses/s", (double)s->responses / secs);
    if (o->rate_per_s > 0)
        fprintf(out, "; sent %.1f/s against a target of %.1f/s (%.2f%%)", r->achieved_rate_per_s,
                o->rate_per_s, 100 * r->achieved_rate_per_s / o->rate_per_s);
    fprintf(out, "\n  connections  %llu at most (of %llu), %llu connects",
            (unsigned long long)s->max_conns, (unsigned long long)o->connections,
            (unsigned long long)s->connects);
    if (o->rate_per_s > 0)
        fprintf(out, "; %llu request%s waited for a connection", (unsigned long long)s->waited,
                s->waited == 1 ? "" : "s");
    fputc('\n', out);
}

static void stat_row(FILE *out, const char *name, const struct hist *h) {
    char buf[32];
    fprintf(out, "  %-10s %8llu", name, (unsigned long long)hist_count(h));
    if (!hist_count(h)) {
        fputs("        -\n", out);
        return;
    }
    fprintf(out, " %8s", dur(buf, sizeof buf, (double)hist_min(h)));
    fprintf(out, " %8s", dur(buf, sizeof buf, hist_mean(h)));
    fprintf(out, " %8s", dur(buf, sizeof buf, hist_stddev(h)));
    for (size_t i = 0; i < REPORT_PCTS; i++)
        fprintf(out, " %8s", dur(buf, sizeof buf, (double)hist_percentile(h, report_pcts[i])));
    fprintf(out, " %8s\n", dur(buf, sizeof buf, (double)hist_max(h)));
}

static void summary_table(FILE *out, const struct load_opts *o, const struct load_stats *s) {
    fprintf(out, "\n  %-10s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "", "count", "min",
            "mean", "stddev", "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max");
    stat_row(out, "latency", &s->latency);
    if (o->rate_per_s > 0) {
        stat_row(out, "service", &s->service);
        stat_row(out, "queue", &s->queue);
    }
    stat_row(out, "connect", &s->connect);
    stat_row(out, "ttfb", &s->ttfb);
    if (o->rate_per_s > 0) {
        stat_row(out, "send lag", &s->send_lag);
        fputs("\n  latency runs from each request's intended send time, so a stalled server "
              "cannot hide its\n  stall (no coordinated omission); service runs from the "
              "actual send; queue is the wait\n  between the two (no idle connection).\n", out);
    } else {
        fputs("\n  closed loop: latency runs from the actual send; a stalled server delays the "
              "next requests\n  instead of showing up in these numbers (use --rate for an "
              "open-loop measurement).\n", out);
    }
}

static void summary_errors(FILE *out, const struct load_stats *s) {
    if (!load_stats_errors(s))
        return;
    fputs("  errors      ", out);
    for (int k = 0; k < LOAD_ERR_KINDS; k++)
        if (s->errors[k])
            fprintf(out, " %s %llu", load_err_names[k], (unsigned long long)s->errors[k]);
    fputc('\n', out);
    if (s->has_port_exhaustion)
        fputs("  note: connect() ran out of local ports (EADDRNOTAVAIL); use fewer connections,"
              " widen\n        net.ipv4.ip_local_port_range or spread over more source"
              " addresses\n", out);
}

static void summary_warnings(FILE *out, const struct load_opts *o, const struct load_result *r) {
    char a[32];
    if (r->is_rate_short && r->total.waited)
        fprintf(out, "\n  WARNING: sent %.1f req/s, more than 1%% under the %.1f/s target: %llu "
                "requests waited\n  for one of the %llu connections (the server is slower than "
                "the offered load, or\n  -c is too small). Their wait is in their latency; "
                "the server saw less than the\n  target rate.\n", r->achieved_rate_per_s,
                o->rate_per_s, (unsigned long long)r->total.waited,
                (unsigned long long)o->connections);
    else if (r->is_rate_short)
        fprintf(out, "\n  WARNING: the generator sent %.1f req/s, more than 1%% under the %.1f/s "
                "target:\n  these numbers describe the generator, not the server. Use more "
                "threads (-t) or\n  connections (-c), or a lower rate.\n",
                r->achieved_rate_per_s, o->rate_per_s);
    if (r->is_lagging)
        fprintf(out, "\n  WARNING: p99 send lag is %s (over 1ms): the generator could not send "
                "on time;\n  these numbers describe the generator, not the server.\n",
                dur(a, sizeof a, (double)hist_percentile(&r->total.send_lag, 99)));
}

static void server_row(FILE *out, const char *name, double mean_us, double lo, double hi,
                       const char *note) {
    char a[32], b[32], c[32];
    fprintf(out, "    %-12s %9s", name, isnan(mean_us) ? "-" : dur(a, sizeof a, mean_us));
    if (!isnan(hi))
        fprintf(out, "   p99 in (%s, %s]", dur(b, sizeof b, lo), dur(c, sizeof c, hi));
    fprintf(out, "%s%s\n", *note ? "   " : "", note);
}

/* --server-metrics: L = RTT + queueing + service + remainder, means (and p99 buckets). */
static void summary_server(FILE *out, const struct load_result *r) {
    const struct load_server *s = &r->server;
    if (!s->has)
        return;
    char a[32];
    fprintf(out, "\n  server side (--server-metrics; %llu requests answered during the run; p99 "
                 "to bucket resolution):\n", (unsigned long long)s->requests);
    server_row(out, "latency", s->latency_mean_us, NAN, NAN, "mean, measured by the loader");
    char note[64];
    snprintf(note, sizeof note, "from %llu connect times, p99 %s",
             (unsigned long long)s->rtt_count,
             isnan(s->rtt_p99_us) ? "-" : dur(a, sizeof a, s->rtt_p99_us));
    server_row(out, "= rtt", s->rtt_mean_us, NAN, NAN, s->rtt_count ? note : "no connects");
    server_row(out, "+ queueing", s->queueing.mean_us, s->queueing.p99_lo_us,
               s->queueing.p99_hi_us, "");
    server_row(out, "+ service", s->service.mean_us, s->service.p99_lo_us, s->service.p99_hi_us,
               "");
    server_row(out, "+ remainder", s->remainder_us, NAN, NAN,
               "the rest: loader, kernels, network beyond one RTT");
}

void output_summary(FILE *out, const struct load_opts *o, const struct load_result *r) {
    summary_header(out, o, r);
    summary_counts(out, o, r);
    summary_errors(out, &r->total);
    summary_table(out, o, &r->total);
    summary_server(out, r);
    summary_warnings(out, o, r);
}

/* ---- SLO ----------------------------------------------------------------------------- */

static void fmt_slo_value(char *buf, size_t len, const struct slo_rule *rule, double v) {
    if (rule->metric == SLO_ERRORS)
        snprintf(buf, len, "%.4g%%", 100 * v);
    else if (rule->metric == SLO_THROUGHPUT)
        snprintf(buf, len, "%.1f/s", v);
    else
        units_fmt_duration(buf, len, v);
}

bool output_slo_judge(const struct load_opts *o, const struct load_result *r,
                      struct slo_verdict *v) {
    struct slo_input in = {.latency = &r->total.latency,
                           .error_ratio = output_error_ratio(&r->total),
                           .throughput_per_s = r->elapsed_s > 0
                                                   ? (double)r->total.responses / r->elapsed_s
                                                   : 0};
    return slo_judge(&o->slo, &in, v);
}

bool output_slo(FILE *out, const struct load_opts *o, const struct load_result *r) {
    struct slo_verdict v[SLO_MAX_RULES];
    bool is_met = output_slo_judge(o, r, v);
    fprintf(out, "\n  %-20s %12s %12s  %s\n", "SLO", "limit", "measured", "verdict");
    for (size_t i = 0; i < o->slo.count; i++) {
        const struct slo_rule *rule = &o->slo.rules[i];
        char lim[32], act[32];
        fmt_slo_value(lim, sizeof lim, rule, rule->limit);
        fmt_slo_value(act, sizeof act, rule, v[i].actual);
        fprintf(out, "  %-20s %12s %12s  %s\n", rule->text, lim, act,
                v[i].is_met ? "met" : "VIOLATED");
    }
    fprintf(out, "  SLO %s\n", is_met ? "met" : "VIOLATED");
    return is_met;
}

int output_evaluate(const struct load_opts *o, struct load_result *r) {
    struct verdict_input in = {
        .latency = &r->total.latency, .is_open_loop = o->rate_per_s > 0,
        .is_poisson = o->rate_per_s > 0 && o->arrival == SCHED_POISSON,
        .target_rate_per_s = o->rate_per_s, .achieved_rate_per_s = r->achieved_rate_per_s,
        .sent = r->total.sent, .send_lag = o->rate_per_s > 0 ? &r->total.send_lag : NULL,
        .gaps_us = r->gaps_us, .gap_count = r->gap_count, .latencies_us = r->latencies_us,
        .latency_count = r->latency_count, .requests = r->total.requests,
        .errors = load_stats_errors(&r->total), .timeouts = r->total.errors[LOAD_ERR_TIMEOUT],
        .slo = o->has_slo ? &o->slo : NULL,
        .throughput_per_s = r->elapsed_s > 0 ? (double)r->total.responses / r->elapsed_s : 0};
    return verdict_evaluate(&in, &r->verdict);
}

/* ---- JSON ---------------------------------------------------------------------------- */

void output_json_metric(struct json_writer *w, const char *key, const struct hist *h) {
    json_obj_begin(w, key);
    json_uint(w, "count", hist_count(h));
    json_int(w, "min_us", hist_min(h));
    json_num(w, "mean_us", hist_mean(h));
    json_num(w, "stddev_us", hist_stddev(h));
    json_int(w, "max_us", hist_max(h));
    json_obj_begin_inline(w, "percentiles");
    for (size_t i = 0; i < REPORT_PCTS; i++) {
        char key_buf[16];
        snprintf(key_buf, sizeof key_buf, "%g", report_pcts[i]);
        json_int(w, key_buf, hist_percentile(h, report_pcts[i]));
    }
    json_obj_end(w);
    histjson_write(w, "histogram", h);
    json_obj_end(w);
}

static void json_options(struct json_writer *w, const struct load_opts *o) {
    json_int(w, "srvlab_load", LOAD_SCHEMA_VERSION);
    json_str(w, "version", SRVLAB_VERSION);
    json_str(w, "url", o->url_text);
    json_str(w, "method", o->method);
    json_str(w, "mode", mode_name(o));
    if (o->rate_per_s > 0) {
        json_num(w, "target_rate_per_s", o->rate_per_s);
        json_str(w, "arrival", sched_arrival_name(o->arrival));
        json_uint(w, "seed", o->seed);
    } else {
        json_null(w, "target_rate_per_s");
    }
    json_uint(w, "connections", o->connections);
    json_uint(w, "threads", o->threads);
    if (o->procs > 1)
        json_uint(w, "procs", o->procs);
    json_uint(w, "pipeline", o->pipeline);
    json_bool(w, "keepalive", o->is_keepalive);
    json_str(w, "http_version", o->is_http10 ? "1.0" : "1.1");
    json_num(w, "warmup_s", (double)o->warmup_us / 1e6);
    json_num(w, "ramp_s", (double)o->ramp_us / 1e6);
    json_num(w, "timeout_s", (double)o->timeout_us / 1e6);
    json_num(w, "think_s", (double)(o->interval_us ? o->interval_us : o->think_us) / 1e6);
    if (o->requests)
        json_uint(w, "requests_asked", o->requests);
}

void output_json_counts(struct json_writer *w, const struct load_stats *s,
                        const struct output_counts *c) {
    json_num(w, "start_unix_s", c->start_unix_s);
    json_num(w, "duration_s", c->duration_s);
    json_bool(w, "interrupted", c->was_interrupted);
    json_uint(w, "requests", s->requests);
    json_uint(w, "responses", s->responses);
    json_uint(w, "ok", s->ok);
    json_uint(w, "sent", s->sent);
    json_obj_begin(w, "errors");
    json_uint(w, "total", load_stats_errors(s));
    for (int k = 0; k < LOAD_ERR_KINDS; k++)
        json_uint(w, load_err_names[k], s->errors[k]);
    json_obj_end(w);
    json_num(w, "error_ratio", output_error_ratio(s));
    json_num(w, "throughput_per_s", c->throughput_per_s);
    json_num(w, "achieved_rate_per_s", c->achieved_rate_per_s);
    json_uint(w, "bytes_read", s->bytes_read);
    json_num(w, "bytes_per_s", c->bytes_per_s);
    json_uint(w, "connections_used_max", s->max_conns);
    json_uint(w, "connects", s->connects);
    json_uint(w, "waited", s->waited);
}

static void json_counts(struct json_writer *w, const struct load_opts *o,
                        const struct load_result *r) {
    double secs = r->elapsed_s > 0 ? r->elapsed_s : 1;
    struct output_counts c = {
        .start_unix_s = r->start_unix_s, .duration_s = r->elapsed_s,
        .was_interrupted = r->was_interrupted,
        .throughput_per_s = (double)r->total.responses / secs,
        .achieved_rate_per_s = o->rate_per_s > 0 ? r->achieved_rate_per_s : NAN,
        .bytes_per_s = (double)r->total.bytes_read / secs};
    output_json_counts(w, &r->total, &c);
}

static void json_self_check(struct json_writer *w, const struct load_opts *o,
                            const struct load_result *r) {
    json_obj_begin(w, "self_check");
    json_bool(w, "ok", !(r->is_rate_short && !r->total.waited) && !r->is_lagging);
    json_bool(w, "rate_short", r->is_rate_short);
    json_str(w, "rate_short_cause", !r->is_rate_short ? NULL
                                    : r->total.waited ? "connections" : "generator");
    json_bool(w, "lagging", r->is_lagging);
    json_int(w, "send_lag_p99_us", hist_percentile(&r->total.send_lag, 99));
    json_arr_begin(w, "warnings");
    if (r->is_rate_short && r->total.waited)
        json_str(w, NULL, "achieved rate more than 1% under target: requests waited for "
                          "connections (server slower than the offered load, or -c too small)");
    else if (r->is_rate_short)
        json_str(w, NULL, "achieved rate more than 1% under target: generator-bound");
    if (r->is_lagging)
        json_str(w, NULL, "p99 send lag over 1ms: generator-bound");
    if (r->total.has_port_exhaustion)
        json_str(w, NULL, "connect() ran out of local ports (EADDRNOTAVAIL)");
    json_arr_end(w);
    json_obj_end(w);
}

static void json_slo(struct json_writer *w, const struct load_opts *o,
                     const struct load_result *r) {
    if (!o->has_slo)
        return;
    struct slo_verdict v[SLO_MAX_RULES];
    bool is_met = output_slo_judge(o, r, v);
    json_arr_begin(w, "slo");
    for (size_t i = 0; i < o->slo.count; i++) {
        json_obj_begin_inline(w, NULL);
        json_str(w, "rule", o->slo.rules[i].text);
        json_num(w, "limit", o->slo.rules[i].limit);
        json_num(w, "actual", v[i].actual);
        json_bool(w, "met", v[i].is_met);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_bool(w, "slo_met", is_met);
}

static void json_seconds(struct json_writer *w, const struct load_result *r) {
    json_arr_begin(w, "seconds");
    for (size_t i = 0; i < r->second_count; i++) {
        const struct load_second *s = &r->seconds[i];
        json_obj_begin_inline(w, NULL);
        json_uint(w, "second", i);
        json_uint(w, "sent", s->sent);
        json_uint(w, "completed", s->completed);
        json_uint(w, "errors", s->errors);
        json_int(w, "p50_us", s->p50_us);
        json_int(w, "p99_us", s->p99_us);
        json_str(w, "phase", s->phase ? s->phase : "measured");
        json_obj_end(w);
    }
    json_arr_end(w);
}

static void json_server_part(struct json_writer *w, const char *key,
                             const struct load_server_part *p) {
    json_obj_begin_inline(w, key);
    json_uint(w, "count", p->count);
    json_num(w, "mean_us", p->mean_us);
    json_num(w, "p99_lo_us", p->p99_lo_us);
    json_num(w, "p99_hi_us", p->p99_hi_us);
    json_obj_end(w);
}

static void json_server(struct json_writer *w, const struct load_opts *o,
                        const struct load_result *r) {
    const struct load_server *s = &r->server;
    if (!o->server_metrics_text)
        return;
    json_obj_begin(w, "server");
    json_str(w, "metrics_url", o->server_metrics_text);
    json_str(w, "error", s->has ? NULL : s->error);
    if (s->has) {
        json_uint(w, "requests", s->requests);
        json_num(w, "latency_mean_us", s->latency_mean_us);
        json_obj_begin_inline(w, "rtt");
        json_str(w, "source", "connect");
        json_uint(w, "count", s->rtt_count);
        json_num(w, "mean_us", s->rtt_mean_us);
        json_num(w, "p99_us", s->rtt_p99_us);
        json_obj_end(w);
        json_server_part(w, "queueing", &s->queueing);
        json_server_part(w, "service", &s->service);
        json_num(w, "remainder_us", s->remainder_us);
        json_str(w, "p99_resolution", "bucket");
    }
    json_obj_end(w);
}

static FILE *open_out(const char *path) { return strcmp(path, "-") ? fopen(path, "w") : stdout; }

static int close_out(FILE *f) {
    if (f == stdout)
        return fflush(f) ? -errno : 0;
    return fclose(f) ? -errno : 0;
}

int output_json(const char *path, const struct load_opts *o, const struct load_result *r) {
    FILE *f = open_out(path);
    if (!f)
        return -errno;
    struct json_writer w;
    json_writer_init(&w, f);
    json_obj_begin(&w, NULL);
    json_options(&w, o);
    json_counts(&w, o, r);
    json_self_check(&w, o, r);
    json_slo(&w, o, r);
    verdict_json_write(&w, "verdict", o->has_slo ? &o->slo : NULL, &r->verdict);
    output_json_metric(&w, "latency", &r->total.latency);
    output_json_metric(&w, "service", &r->total.service);
    output_json_metric(&w, "queue", &r->total.queue);
    output_json_metric(&w, "connect", &r->total.connect);
    output_json_metric(&w, "ttfb", &r->total.ttfb);
    output_json_metric(&w, "send_lag", &r->total.send_lag);
    json_server(&w, o, r);
    json_seconds(&w, r);
    json_obj_end(&w);
    json_writer_finish(&w);
    return close_out(f);
}

/* ---- HdrHistogram percentile distribution (.hgrm), values in milliseconds ------------- */

#define HGRM_TICKS_PER_HALF 5

/* The next percentile to report: steps halve each time the remaining tail halves. */
static double next_target(double p) {
    double half = pow(2, floor(log2(100.0 / (100.0 - p))) + 1);
    return p + 100.0 / (HGRM_TICKS_PER_HALF * half);
}

static void hgrm_row(FILE *f, int64_t value_us, double p, uint64_t cum) {
    fprintf(f, "%12.3f %12.6f %12llu %12.2f\n", (double)value_us / 1000.0, p / 100.0,
            (unsigned long long)cum, p >= 100 ? INFINITY : 1.0 / (1.0 - p / 100.0));
}

int output_hgrm(const char *path, const struct hist *h) {
    FILE *f = open_out(path);
    if (!f)
        return -errno;
    fprintf(f, "%12s %12s %12s %12s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    struct hist_iter it;
    hist_iter_init(&it);
    double target = 0;
    uint64_t total = hist_count(h);
    while (total && hist_next(h, &it)) {
        int64_t v = it.hi < hist_max(h) ? it.hi : hist_max(h);
        bool is_last = it.cumulative == total;
        while (100.0 * (double)it.cumulative / (double)total >= target) {
            hgrm_row(f, v, target, it.cumulative);
            target = next_target(target);
            if (is_last)
                break;
        }
        if (is_last)
            hgrm_row(f, v, 100, it.cumulative);
    }
    fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / 1000,
            hist_stddev(h) / 1000);
    fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n", (double)hist_max(h) / 1000,
            (unsigned long long)total);
    fprintf(f, "#[Buckets = %12d, SubBuckets     = %12lld]\n", h->bucket_count,
            (long long)h->sub_count);
    return close_out(f);
}

/* ---- Per-second CSV -------------------------------------------------------------------- */

int output_csv(const char *path, const struct load_result *r) {
    FILE *f = open_out(path);
    if (!f)
        return -errno;
    fputs("second,sent,completed,errors,rate_per_s,p50_us,p99_us,phase\n", f);
    for (size_t i = 0; i < r->second_count; i++) {
        const struct load_second *s = &r->seconds[i];
        fprintf(f, "%zu,%llu,%llu,%llu,%llu,%lld,%lld,%s\n", i, (unsigned long long)s->sent,
                (unsigned long long)s->completed, (unsigned long long)s->errors,
                (unsigned long long)s->completed, (long long)s->p50_us, (long long)s->p99_us,
                s->phase ? s->phase : "measured");
    }
    return close_out(f);
}
