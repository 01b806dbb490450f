/* The measurement steps for one server, in order: one connection (service time and round
 * trip), closed loop at 10..1000 connections (throughput vs concurrency), open-loop Poisson at
 * fractions of the measured maximum (latency vs load), the common load every server gets, then
 * a bisection for the highest rate meeting the SLO. Each run is one `srvlab load` child. */
#include "report/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "report/summary.h"

static const unsigned closed_conns[] = {10, 100, 1000};
static const double open_full[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95};
static const double open_quick[] = {0.1, 0.5, 0.8, 0.95};
#define OPEN_CONNS 100
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void open_fractions(const struct sweep_opts *o, const double **f, size_t *n) {
    *f = o->is_quick ? open_quick : open_full;
    *n = o->is_quick ? COUNT(open_quick) : COUNT(open_full);
}

int steps_count(const struct sweep_opts *o) {
    const double *f;
    size_t n;
    open_fractions(o, &f, &n);
    return (int)(1 + COUNT(closed_conns) + n + 1 + (size_t)o->search_steps);
}

static double now_unix_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run_spec {
    const char *step;
    char label[32];
    unsigned connections;
    double rate_per_s;
    double fraction;
};

/* The loader's command line for spec; strings live in bufs. */
static void load_args(const struct sweep_opts *o, const struct server_proc *p,
                      const struct run_spec *sp, const char *base, char bufs[10][4200],
                      char *args[32]) {
    int n = 0, b = 0;
#define ARG(...) (snprintf(bufs[b], sizeof bufs[b], __VA_ARGS__), args[n++] = bufs[b++])
    ARG("http://127.0.0.1:%d%s", p->port, o->url_path);
    args[n++] = "-c";
    ARG("%u", sp->connections);
    args[n++] = "-d"; /* the loader's duration is what it measures, after the warm-up */
    ARG("%lluus", (unsigned long long)(o->duration_us - o->warmup_us));
    args[n++] = "--warmup";
    ARG("%lluus", (unsigned long long)o->warmup_us);
    args[n++] = "--timeout";
    ARG("%lluus", (unsigned long long)o->timeout_us);
    args[n++] = "-t";
    args[n++] = "1";
    args[n++] = "--quiet";
    args[n++] = "--json";
    ARG("%s.json", base);
    args[n++] = "--hgrm";
    ARG("%s.hgrm", base);
    args[n++] = "--csv";
    ARG("%s.csv", base);
    if (sp->rate_per_s > 0) {
        args[n++] = "--rate";
        ARG("%.0f", sp->rate_per_s);
        args[n++] = "--arrival";
        args[n++] = "poisson";
    }
#undef ARG
    args[n] = NULL;
}

/* True (and the status says why) when the server died during a run: the steps stop there. */
static bool server_exited(struct sweep_server *s, const struct server_proc *p) {
    int status;
    if (waitpid(p->pid, &status, WNOHANG) != p->pid)
        return false;
    snprintf(s->status, sizeof s->status, "failed: the server exited during the runs (%s %d)",
             WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return true;
}

/* The server's own split of the run's latency: mean queueing delay and service time from the
 * difference of its /metrics totals before and after (the /metrics requests themselves are
 * two among thousands). */
static void set_parts(struct run *r, const struct server_metrics *m0,
                      const struct server_metrics *m1) {
    r->queue_mean_us = r->service_mean_us = NAN;
    if (!m0)
        return;
    double qn = m1->queue_count - m0->queue_count, sn = m1->service_count - m0->service_count;
    if (qn > 0)
        r->queue_mean_us = (m1->queue_sum_s - m0->queue_sum_s) * 1e6 / qn;
    if (sn > 0)
        r->service_mean_us = (m1->service_sum_s - m0->service_sum_s) * 1e6 / sn;
}

/* Runs one load against the server and records it; returns the run index or -errno. */
static int run_one(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                   const struct server_proc *p, const struct run_spec *sp) {
    char base[4096], logfile[4200], bufs[10][4200], *args[32], err[256], name[64];
    /* The run's number first: names stay unique and list in the order they ran. */
    snprintf(name, sizeof name, "%02zu-%s", s->run_count + 1, sp->label);
    snprintf(base, sizeof base, "%s/runs/%s/%s", o->out_dir, s->name, name);
    snprintf(logfile, sizeof logfile, "%s.log", base);
    load_args(o, p, sp, base, bufs, args);
    sweep_progress_step(s->name, sp->label);
    struct proc_usage before = {0}, after = {0}, peak = {0};
    struct server_metrics m0, m1;
    bool has_metrics = child_fetch_metrics(p->port, &m0) == 0;
    child_usage(p->pid, &before);
    double start = now_unix_s();
    int status = child_run_load(o, args, logfile, p->pid, &peak, sweep_progress_tick);
    /* Connection processes (fork) exit when the loader closes, and stay zombies, whose CPU
     * time /proc does not always show, until the server reaps them, which fork does when it
     * accepts. So: let them exit, then make one connection (the /metrics request, as before
     * the run) so they are reaped into the server's children total, then sample. */
    struct timespec settle = {0, 50 * 1000000L};
    nanosleep(&settle, NULL);
    has_metrics = has_metrics && child_fetch_metrics(p->port, &m1) == 0;
    child_usage(p->pid, &after);
    struct run *r = data_add_run(s);
    if (!r)
        return -ENOMEM;
    set_parts(r, has_metrics ? &m0 : NULL, &m1);
    snprintf(r->step, sizeof r->step, "%s", sp->step);
    snprintf(r->stem, sizeof r->stem, "runs/%s/%s", s->name, name);
    r->connections = sp->connections;
    r->rate_per_s = sp->rate_per_s;
    r->fraction = sp->fraction;
    r->start_unix_s = start;
    r->cpu_s = after.cpu_s > before.cpu_s ? after.cpu_s - before.cpu_s : 0;
    r->rss_peak_kib = peak.rss_kib > after.rss_kib ? peak.rss_kib : after.rss_kib;
    r->load_status = status;
    data_read_run(r, o->out_dir, err, sizeof err);
    data_save(d, o->out_dir);
    if (status == -EINTR)
        return -EINTR;
    return server_exited(s, p) ? -ECHILD : (int)(r - s->runs);
}

static int closed_steps(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                        const struct server_proc *p) {
    struct run_spec sp = {.step = "low", .label = "low", .connections = 1};
    int rc = run_one(o, d, s, p, &sp);
    for (size_t i = 0; rc >= 0 && i < COUNT(closed_conns); i++) {
        sp = (struct run_spec){.step = "closed", .connections = closed_conns[i]};
        snprintf(sp.label, sizeof sp.label, "closed-%u", closed_conns[i]);
        rc = run_one(o, d, s, p, &sp);
    }
    return rc < 0 ? rc : 0;
}

static int open_run(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                    const struct server_proc *p, const char *step, double rate, double max) {
    struct run_spec sp = {.step = step, .connections = OPEN_CONNS, .rate_per_s = rate};
    sp.fraction = max > 0 ? rate / max : 0;
    snprintf(sp.label, sizeof sp.label, "%s-%.0f", step, rate);
    return run_one(o, d, s, p, &sp);
}

/* Bisection between the highest rate that met the SLO and the lowest that did not. */
static int search_steps(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                        const struct server_proc *p, double max) {
    double lo = 0, hi = max * 1.05;
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        if (strcmp(r->step, "open"))
            continue;
        if (summary_run_meets(r, &o->slo))
            lo = fmax(lo, r->rate_per_s);
        else if (r->rate_per_s > lo && r->rate_per_s < hi)
            hi = r->rate_per_s;
    }
    for (int i = 0; i < o->search_steps; i++) {
        double mid = (lo + hi) / 2;
        int idx = open_run(o, d, s, p, "search", mid, max);
        if (idx < 0)
            return idx;
        if (summary_run_meets(&s->runs[idx], &o->slo))
            lo = mid;
        else
            hi = mid;
    }
    return 0;
}

/* The queueing model's prediction for this server, saved beside its runs. One pinned CPU is
 * one server. The service time is the server's CPU time per response (the service demand law,
 * D = busy time / completions), which does not depend on how fast the loader is; for io
 * workloads, where the time is a wait and not CPU, and when CPU is unknown, 1 / max throughput.
 * The round trip is what the one-connection latency has beyond that. The curve stops near the
 * highest measured rate so both share the x axis. */
static void model_curve(const struct sweep_opts *o, struct sweep_server *s,
                        const struct summary *sum) {
    const struct run *runs[4];
    double max = sum->max_tput_per_s;
    if (!(max > 0) || summary_runs(s, "low", runs, 4) == 0 || !runs[0]->has_result)
        return;
    bool is_cpu_known = sum->cpu_per_req_us > 0 && sum->cpu_per_req_us < 1e6 / max;
    s->service_us = o->workload != SWEEP_IO && is_cpu_known ? sum->cpu_per_req_us : 1e6 / max;
    s->rtt_us = fmax(0, hist_mean(&runs[0]->latency) - s->service_us);
    double to = fmin(0.95, 1.05 * max * s->service_us / 1e6);
    char svc[32], rtt[32], from_s[32], to_s[32], step_s[32], out[4200];
    snprintf(svc, sizeof svc, "%.3fus", s->service_us);
    snprintf(rtt, sizeof rtt, "%.3fus", s->rtt_us);
    snprintf(from_s, sizeof from_s, "%.6f", to / 20);
    snprintf(to_s, sizeof to_s, "%.6f", to);
    snprintf(step_s, sizeof step_s, "%.6f", to / 20);
    snprintf(s->model_stem, sizeof s->model_stem, "runs/%s/model", s->name);
    snprintf(out, sizeof out, "%s/%s.json", o->out_dir, s->model_stem);
    const char *model = o->is_exp ? "mm1" : "md1";
    char *args[] = {"model", "curve", "--service", svc, "--rtt", rtt, "--model", (char *)model,
                    "--from", from_s, "--to", to_s, "--step", step_s, "--format", "json", NULL};
    if (child_run_capture(o, args, out) != 0)
        s->model_stem[0] = '\0';
}

static int all_steps(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                     struct server_proc *p) {
    int rc = closed_steps(o, d, s, p);
    if (rc < 0)
        return rc;
    struct summary sum;
    summary_server(s, &o->slo, (double)o->duration_us / 1e6, &sum);
    double max = isnan(sum.max_tput_per_s) ? 0 : sum.max_tput_per_s;
    if (max < 1) {
        snprintf(s->status, sizeof s->status, "failed: no throughput in the closed-loop runs "
                                              "(see the loader's logs, runs/%s/*.log)", s->name);
        return 0;
    }
    model_curve(o, s, &sum);
    const double *f;
    size_t n;
    open_fractions(o, &f, &n);
    for (size_t i = 0; i < n; i++)
        if ((rc = open_run(o, d, s, p, "open", f[i] * max, max)) < 0)
            return rc;
    if ((rc = open_run(o, d, s, p, "common", d->common_rate_per_s, max)) < 0)
        return rc;
    return search_steps(o, d, s, p, max);
}

int steps_run_server(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                     struct server_proc *p) {
    struct proc_usage u;
    if (child_usage(p->pid, &u) == 0)
        s->idle_rss_kib = u.rss_kib;
    int rc = all_steps(o, d, s, p);
    if (child_usage(p->pid, &u) == 0)
        s->peak_rss_kib = u.hwm_kib;
    return rc;
}
