/* The paragraph under each plot, written from the numbers: who comes first, where knees and
 * stalls are, how far the model is from the measurement. Plain sentences, no judgment the
 * data does not support. Output is HTML-safe (server names are plain words). */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"

#define KNEE_FACTOR 3.0 /* p99 this many times its lowest-load value marks the knee */

static const char *name_of(const struct report *rep, size_t i) {
    return rep->data.servers[i].name;
}

static double p_us(const struct run *r, double p) {
    return (double)hist_percentile(&r->latency, p);
}

/* ---- Latency vs load ---- */

/* The first open-loop rate whose p99 exceeds KNEE_FACTOR x the lowest-load p99; 0 if none. */
static double knee_rate(const struct sweep_server *s, double *fraction) {
    const struct run *runs[32];
    size_t n = summary_runs(s, "open", runs, 32);
    double base = 0;
    for (size_t i = 0; i < n; i++) {
        if (!runs[i]->has_result || hist_count(&runs[i]->latency) == 0)
            continue;
        if (base == 0) {
            base = fmax(1, p_us(runs[i], 99));
            continue;
        }
        if (p_us(runs[i], 99) > KNEE_FACTOR * base) {
            *fraction = runs[i]->fraction;
            return runs[i]->rate_per_s;
        }
    }
    return 0;
}

/* The model's p99 at load_per_s (linear between its points), or NAN. */
static double model_p99(const struct report *rep, const struct sweep_server *s, double load) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", rep->dir, s->model_stem);
    struct json *root = s->model_stem[0] ? json_parse_file(path, NULL, 0) : NULL;
    const struct json *pts = json_get(root, "points");
    double result = NAN, prev_x = NAN, prev_y = NAN;
    for (size_t i = 0; i < json_len(pts) && isnan(result); i++) {
        double x = json_number(json_get(json_at(pts, i), "load_per_s"), NAN);
        double y = json_number(json_get(json_at(pts, i), "p99_us"), NAN);
        if (x >= load && !isnan(prev_x))
            result = prev_y + (y - prev_y) * (load - prev_x) / (x - prev_x);
        prev_x = x;
        prev_y = y;
    }
    json_free(root);
    return result;
}

static void latency_model(FILE *f, const struct report *rep) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < rep->data.server_count; i++)
        if (rep->sums[i].half_run &&
            (best == SIZE_MAX || rep->sums[i].max_tput_per_s > rep->sums[best].max_tput_per_s))
            best = i;
    if (best == SIZE_MAX)
        return;
    const struct run *r = rep->sums[best].half_run;
    double model = model_p99(rep, &rep->data.servers[best], r->rate_per_s);
    if (isnan(model))
        return;
    const struct sweep_server *s = &rep->data.servers[best];
    char a[32], b[32], svc[32], rtt[32];
    fprintf(f, " At half of its maximum (%.0f req/s), the queueing model (one server, service "
               "time %s, round trip %s; see the page's end) predicts a p99 of %s for %s; it "
               "measured %s, %.*f times the prediction.",
            r->rate_per_s, report_fmt_us(svc, sizeof svc, s->service_us),
            report_fmt_us(rtt, sizeof rtt, s->rtt_us), report_fmt_us(a, sizeof a, model),
            s->name, report_fmt_us(b, sizeof b, rep->sums[best].p99_half_us),
            p_us(r, 99) / fmax(1, model) < 10 ? 1 : 0, p_us(r, 99) / fmax(1, model));
}

/* Open-loop runs where the loader fell behind its schedule measure the loader, not the server. */
static void generator_bound(FILE *f, const struct report *rep) {
    size_t bound = 0, total = 0;
    for (size_t i = 0; i < rep->data.server_count; i++)
        for (size_t j = 0; j < rep->data.servers[i].run_count; j++) {
            const struct run *r = &rep->data.servers[i].runs[j];
            if (r->rate_per_s > 0 && r->has_result) {
                total++;
                bound += r->is_generator_bound;
            }
        }
    if (bound)
        fprintf(f, "In %zu of %zu open-loop runs the loader fell behind its schedule (its "
                   "self-check: rate short or send lag over 1 ms); there, part of the latency "
                   "is the loader's (marked in the run tables). ",
                bound, total);
}

static void reading_latency(FILE *f, const struct report *rep) {
    size_t first = SIZE_MAX, last = SIZE_MAX, flat = 0;
    double knees[DATA_MAX_SERVERS], fracs[DATA_MAX_SERVERS] = {0};
    for (size_t i = 0; i < rep->data.server_count; i++) {
        knees[i] = knee_rate(&rep->data.servers[i], &fracs[i]);
        if (knees[i] == 0) {
            flat += rep->sums[i].half_run != NULL;
            continue;
        }
        if (first == SIZE_MAX || knees[i] < knees[first])
            first = i;
        if (last == SIZE_MAX || knees[i] > knees[last])
            last = i;
    }
    fprintf(f, "Each server gets Poisson arrivals at fractions of its own maximum throughput. ");
    generator_bound(f, rep);
    if (first == SIZE_MAX)
        fprintf(f, "No server's p99 rose above %.0f times its low-load value: no knee up to "
                   "the highest load tried.", KNEE_FACTOR);
    else
        fprintf(f, "The p99 knee (p99 above %.0f times its value at the lowest load) comes first "
                   "for %s, at %.0f req/s (%.0f%% of its maximum); the highest knee is %s's, at "
                   "%.0f req/s (%.0f%%).",
                KNEE_FACTOR, name_of(rep, first), knees[first], 100 * fracs[first],
                name_of(rep, last), knees[last], 100 * fracs[last]);
    for (size_t i = 0, n = 0; flat && i < rep->data.server_count; i++) {
        if (knees[i] != 0 || !rep->sums[i].half_run)
            continue;
        fprintf(f, "%s%s", n ? ", " : " No knee up to 95% of the maximum: ", name_of(rep, i));
        if (++n == flat)
            fputc('.', f);
    }
    latency_model(f, rep);
}

/* ---- Throughput vs connections ---- */

static const struct run *closed_run(const struct sweep_server *s, unsigned conns) {
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        if ((!strcmp(r->step, "closed") || !strcmp(r->step, "low")) && r->connections == conns &&
            r->has_result)
            return r;
    }
    return NULL;
}

static void best_at(FILE *f, const struct report *rep, unsigned conns) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = closed_run(&rep->data.servers[i], conns), *b = NULL;
        if (best != SIZE_MAX)
            b = closed_run(&rep->data.servers[best], conns);
        if (r && (!b || r->throughput_per_s > b->throughput_per_s))
            best = i;
    }
    if (best != SIZE_MAX)
        fprintf(f, " With %u connection%s, %s leads at %.0f responses/s.", conns,
                conns == 1 ? "" : "s", name_of(rep, best),
                closed_run(&rep->data.servers[best], conns)->throughput_per_s);
}

/* A server that used well under one CPU in its best run was not the bottleneck: the loader
 * (one thread, one CPU) was, so its maximum is a lower bound. */
static void loader_bound(FILE *f, const struct report *rep) {
    size_t n = 0;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = rep->sums[i].max_run;
        double busy = r && rep->data.duration_s > 0 ? r->cpu_s / rep->data.duration_s : 1;
        if (busy >= 0.8)
            continue;
        fprintf(f, "%s %s (%.0f%%)", n++ ? "," : " Servers that used under 80% of their CPU in "
                                                 "their best run, so the loader was the limit "
                                                 "and their maximum is a lower bound:",
                name_of(rep, i), 100 * busy);
    }
    if (n)
        fputs(".", f);
}

static void reading_throughput(FILE *f, const struct report *rep) {
    fprintf(f, "Closed loop: each connection sends its next request when the previous answer "
               "arrives, so this is throughput against concurrency.");
    best_at(f, rep, 1);
    best_at(f, rep, 1000);
    size_t weak = 0;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = closed_run(&rep->data.servers[i], 1000);
        double max = rep->sums[i].max_tput_per_s;
        if (!r || isnan(max) || (r->throughput_per_s >= max / 2 && r->errors == 0))
            continue;
        fprintf(f, "%s %s", weak++ ? "," : " At 1000 connections these fell below half their "
                                            "best or had errors:",
                name_of(rep, i));
        fprintf(f, " (%.0f/s, %llu errors)", r->throughput_per_s, (unsigned long long)r->errors);
    }
    if (weak)
        fputs(".", f);
    else
        fputs(" Every server kept at least half its best throughput at 1000 connections, "
              "without errors.", f);
    loader_bound(f, rep);
}

/* ---- At the common load: CDF, histogram, spectrum ---- */

/* Among servers with a common-load run, the index with the lowest (or highest) percentile p. */
static size_t extreme(const struct report *rep, double p, bool is_lowest) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (!r)
            continue;
        if (best == SIZE_MAX) {
            best = i;
            continue;
        }
        double v = p_us(r, p), b = p_us(plot_common_run(&rep->data.servers[best]), p);
        if (is_lowest ? v < b : v > b)
            best = i;
    }
    return best;
}

static void reading_cdf(FILE *f, const struct report *rep) {
    size_t lo50 = extreme(rep, 50, true), lo99 = extreme(rep, 99, true);
    size_t hi99 = extreme(rep, 99, false);
    if (lo50 == SIZE_MAX) {
        fputs("No server has a run at the common load.", f);
        return;
    }
    char a[32], b[32], c[32];
    fprintf(f, "Every server at the same offered load, %.0f req/s (Poisson). Lowest median: %s "
               "(%s). Lowest p99: %s (%s); highest p99: %s (%s).",
            rep->data.common_rate_per_s, name_of(rep, lo50),
            report_fmt_us(a, sizeof a, p_us(plot_common_run(&rep->data.servers[lo50]), 50)),
            name_of(rep, lo99),
            report_fmt_us(b, sizeof b, p_us(plot_common_run(&rep->data.servers[lo99]), 99)),
            name_of(rep, hi99),
            report_fmt_us(c, sizeof c, p_us(plot_common_run(&rep->data.servers[hi99]), 99)));
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (r && r->throughput_per_s < 0.9 * r->rate_per_s)
            fprintf(f, " %s did not keep up (%.0f responses/s).", name_of(rep, i),
                    r->throughput_per_s);
    }
}

static void reading_parts(FILE *f, const struct report *rep) {
    size_t most_q = SIZE_MAX, n = 0;
    double best_q = -1;
    fprintf(f, "The course's latency equation, L = queueing delay + service time + the rest "
               "(round trip, kernel, loader), at %.0f req/s: the first two come from the "
               "server's own /metrics, the rest is the measured mean latency minus both.",
            rep->data.common_rate_per_s);
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (!r || isnan(r->queue_mean_us) || isnan(r->service_mean_us))
            continue;
        n++;
        if (r->queue_mean_us > best_q)
            best_q = r->queue_mean_us, most_q = i;
        double mean = hist_mean(&r->latency), inside = r->queue_mean_us + r->service_mean_us;
        if (mean > 0)
            fprintf(f, "%s %s %.*f%%", n == 1 ? " Share of the mean spent inside the server:" : ",",
                    name_of(rep, i), 100 * inside / mean < 10 ? 1 : 0,
                    fmin(100, 100 * inside / mean));
    }
    if (!n) {
        fputs(" No server here has /metrics (peers do not), so there is nothing to split.", f);
        return;
    }
    char q[32];
    fprintf(f, ". The longest queueing delay inside the server is %s's, %s on average. Peers "
               "have no /metrics and are not shown.",
            name_of(rep, most_q), report_fmt_us(q, sizeof q, best_q));
}

static void reading_hist(FILE *f, const struct report *rep) {
    size_t narrow = SIZE_MAX, wide = SIZE_MAX;
    double best = INFINITY, worst = 0;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (!r)
            continue;
        double spread = p_us(r, 90) / fmax(1, p_us(r, 10));
        if (spread < best)
            best = spread, narrow = i;
        if (spread >= worst)
            worst = spread, wide = i;
    }
    if (narrow == SIZE_MAX) {
        fputs("No server has a run at the common load.", f);
        return;
    }
    fprintf(f, "Latency at %.0f req/s, 10 bins a decade. The tightest distribution (p90/p10) "
               "is %s's, %.1f; the widest is %s's, %.1f: its requests do not all wait alike.",
            rep->data.common_rate_per_s, name_of(rep, narrow), best, name_of(rep, wide), worst);
}

static void reading_spectrum(FILE *f, const struct report *rep) {
    size_t lo = SIZE_MAX, hi = SIZE_MAX;
    double lo_r = INFINITY, hi_r = 0;
    uint64_t min_count = UINT64_MAX;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (!r)
            continue;
        double ratio = p_us(r, 99.9) / fmax(1, p_us(r, 50));
        if (ratio < lo_r)
            lo_r = ratio, lo = i;
        if (ratio >= hi_r)
            hi_r = ratio, hi = i;
        if (hist_count(&r->latency) < min_count)
            min_count = hist_count(&r->latency);
    }
    if (lo == SIZE_MAX) {
        fputs("No server has a run at the common load.", f);
        return;
    }
    fprintf(f, "How the tail grows, percentile by percentile. The lightest tail (p99.9 / p50) "
               "is %s's, %.1f; the heaviest is %s's, %.1f. Curves stop where the sample runs "
               "out: ",
            name_of(rep, lo), lo_r, name_of(rep, hi), hi_r);
    if (min_count < 100000)
        fprintf(f, "the smallest run has %llu requests, so its p%s and beyond are the largest "
                   "value seen rather than estimates.",
                (unsigned long long)min_count,
                min_count < 1000 ? "99.9" : min_count < 10000 ? "99.99" : "99.999");
    else
        fputs("every run has at least 100,000 requests.", f);
}

/* ---- Requests per second over time ---- */

static double median_of(const double *v, size_t n) {
    double sorted[256];
    n = n > 256 ? 256 : n;
    memcpy(sorted, v, n * sizeof *v);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    return n ? sorted[n / 2] : 0;
}

/* Seconds (last, partial one excluded) under half the run's median rate. */
static size_t stalls(const struct run *r) {
    if (r->per_s_count < 4) /* the last second is partial: three whole ones at least */
        return 0;
    size_t n = r->per_s_count - 1, low = 0;
    double med = median_of(r->per_s, n);
    for (size_t i = 0; i < n; i++)
        low += r->per_s[i] < med / 2;
    return low;
}

static void reading_rate(FILE *f, const struct report *rep) {
    size_t long_runs = 0, stalled = 0;
    fputs("Responses per second, second by second, for every run of each server. ", f);
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct sweep_server *s = &rep->data.servers[i];
        for (size_t j = 0; j < s->run_count; j++) {
            size_t n = stalls(&s->runs[j]);
            long_runs += s->runs[j].per_s_count >= 3 && rep->data.duration_s >= 3;
            if (n)
                fprintf(f, "%s %s's run %s had %zu second%s under half its median rate",
                        stalled++ ? ";" : "Stalls:", s->name, strrchr(s->runs[j].stem, '/') + 1,
                        n, n == 1 ? "" : "s");
        }
    }
    if (stalled)
        fputs(".", f);
    else if (long_runs)
        fputs("No second fell under half its run's median rate: no stalls seen.", f);
    else
        fprintf(f, "Runs here last %.1f s, too short to show a stall inside a run (use a longer "
                   "--duration); compare whole runs instead.",
                rep->data.duration_s);
}

void readings_write(FILE *f, const struct report *rep, enum plot_kind kind) {
    static void (*const writers[PLOT_KINDS])(FILE *, const struct report *) = {
        reading_latency, reading_throughput, reading_cdf,  reading_parts,
        reading_hist,    reading_spectrum,   reading_rate};
    writers[kind](f, rep);
}
