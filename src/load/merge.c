/* `srvlab merge` and `srvlab compare`: reading `srvlab load --json` results back, adding runs
 * made at the same time (histograms added bucket by bucket, never percentiles averaged), and
 * telling whether run B differs from run A with confidence intervals. The statistics live in
 * stats.c and verdict.c; the load summary is printed by output.c. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "load/histjson.h"
#include "load/load.h"
#include "load/output.h"
#include "load/stats.h"
#include "load/verdict.h"
#include "net/units.h"
#include "util/json.h"

#define MERGE_MAX_RUNS 256
#define DEFAULT_THRESHOLD 0.05 /* compare: smallest change called faster or slower */
#define START_SPREAD_S 1.0     /* merge: runs starting further apart did not run together */

/* ---- Reading a result ------------------------------------------------------------------ */

/* One `srvlab load --json` file (or a merged one), with what merge and compare need. */
struct run {
    const char *path;
    struct json *root;
    struct load_stats st;
    struct load_opts o;       /* descriptive options; strings point into root */
    double duration_s, start_unix_s, achieved_rate_per_s, throughput_per_s;
    struct verdict_input tests; /* has_ad/has_lag1 from the file's verdict, if any */
    struct load_second *seconds;
    size_t second_count;
};

static const char *const metric_keys[] = {"latency", "service", "queue", "connect", "ttfb",
                                          "send_lag"};
#define METRICS (sizeof metric_keys / sizeof metric_keys[0])

static struct hist *metric_hist(struct load_stats *s, size_t i) {
    struct hist *hs[] = {&s->latency, &s->service, &s->queue, &s->connect, &s->ttfb, &s->send_lag};
    return hs[i];
}

static uint64_t get_u64(const struct json *v, const char *key) {
    int64_t x = json_integer(json_get(v, key), 0);
    return x < 0 ? 0 : (uint64_t)x;
}

static int read_histograms(struct run *r, char *err, size_t errlen) {
    for (size_t i = 0; i < METRICS; i++) {
        const struct json *m = json_get(r->root, metric_keys[i]);
        if (!m) /* older files may lack a metric; the headline one is required */
            continue;
        struct hist h;
        if (histjson_read(json_get(m, "histogram"), &h) < 0) {
            snprintf(err, errlen, "%s: %s.histogram is missing or inconsistent", r->path,
                     metric_keys[i]);
            return -EINVAL;
        }
        hist_merge(metric_hist(&r->st, i), &h);
        hist_free(&h);
    }
    if (!json_get(r->root, "latency")) {
        snprintf(err, errlen, "%s: no latency histogram: not a 'srvlab load --json' result",
                 r->path);
        return -EINVAL;
    }
    return 0;
}

static void read_counts(struct run *r) {
    const struct json *v = r->root;
    struct load_stats *s = &r->st;
    s->requests = get_u64(v, "requests");
    s->responses = get_u64(v, "responses");
    s->ok = get_u64(v, "ok");
    s->sent = get_u64(v, "sent");
    s->waited = get_u64(v, "waited");
    s->bytes_read = get_u64(v, "bytes_read");
    s->connects = get_u64(v, "connects");
    s->max_conns = get_u64(v, "connections_used_max");
    for (int k = 0; k < LOAD_ERR_KINDS; k++)
        s->errors[k] = get_u64(json_get(v, "errors"), load_err_names[k]);
    r->duration_s = json_number(json_get(v, "duration_s"), 0);
    r->start_unix_s = json_number(json_get(v, "start_unix_s"), 0);
    r->achieved_rate_per_s = json_number(json_get(v, "achieved_rate_per_s"), 0);
    r->throughput_per_s = json_number(json_get(v, "throughput_per_s"), 0);
}

static void read_options(struct run *r) {
    const struct json *v = r->root;
    struct load_opts *o = &r->o;
    o->url_text = json_string(json_get(v, "url"), "?");
    o->method = json_string(json_get(v, "method"), "GET");
    o->rate_per_s = json_number(json_get(v, "target_rate_per_s"), 0);
    o->arrival = !strcmp(json_string(json_get(v, "arrival"), ""), "poisson") ? SCHED_POISSON
                                                                              : SCHED_CONSTANT;
    o->seed = get_u64(v, "seed");
    o->connections = get_u64(v, "connections");
    o->threads = (unsigned)get_u64(v, "threads");
    o->pipeline = (unsigned)get_u64(v, "pipeline");
    o->is_keepalive = json_bool_value(json_get(v, "keepalive"), true);
    o->is_http10 = !strcmp(json_string(json_get(v, "http_version"), "1.1"), "1.0");
    o->warmup_us = (uint64_t)(json_number(json_get(v, "warmup_s"), 0) * 1e6);
    o->timeout_us = (uint64_t)(json_number(json_get(v, "timeout_s"), 0) * 1e6);
    bool is_sampling = !strcmp(json_string(json_get(v, "mode"), ""), "sampling");
    uint64_t think_us = (uint64_t)(json_number(json_get(v, "think_s"), 0) * 1e6);
    if (is_sampling)
        o->interval_us = think_us;
    else
        o->think_us = think_us;
}

static int read_seconds(struct run *r) {
    const struct json *a = json_get(r->root, "seconds");
    r->second_count = json_len(a);
    if (!r->second_count)
        return 0;
    r->seconds = calloc(r->second_count, sizeof *r->seconds);
    if (!r->seconds)
        return -ENOMEM;
    for (size_t i = 0; i < r->second_count; i++) {
        const struct json *s = json_at(a, i);
        r->seconds[i] = (struct load_second){get_u64(s, "sent"), get_u64(s, "completed"),
                                             get_u64(s, "errors"),
                                             json_integer(json_get(s, "p50_us"), -1),
                                             json_integer(json_get(s, "p99_us"), -1), NULL};
    }
    return 0;
}

static void run_free(struct run *r) {
    load_stats_free(&r->st);
    free(r->seconds);
    json_free(r->root);
    memset(r, 0, sizeof *r);
}

/* Reads path into r. Returns 0, or -errno with the reason in err. */
static int run_read(const char *path, struct run *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->root = json_parse_file(path, err, errlen);
    if (!r->root)
        return -EINVAL;
    if (json_integer(json_get(r->root, "srvlab_load"), 0) < 1) {
        snprintf(err, errlen, "%s: not a 'srvlab load --json' result (no \"srvlab_load\")", path);
        return -EINVAL;
    }
    if (load_stats_init(&r->st) < 0 || read_seconds(r) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    int rc = read_histograms(r, err, errlen);
    if (rc < 0)
        return rc;
    read_counts(r);
    read_options(r);
    verdict_json_read_tests(json_get(r->root, "verdict"), &r->tests);
    return 0;
}

/* ---- Verdict of a (merged) run ----------------------------------------------------------- */

static uint64_t run_errors(const struct run *r) { return load_stats_errors(&r->st); }

static int run_verdict(struct run *r, const struct slo *slo, struct verdict *v) {
    struct verdict_input in = r->tests;
    in.latency = &r->st.latency;
    in.is_open_loop = r->o.rate_per_s > 0;
    in.is_poisson = r->o.arrival == SCHED_POISSON;
    in.target_rate_per_s = r->o.rate_per_s;
    in.achieved_rate_per_s = r->achieved_rate_per_s;
    in.sent = r->st.sent;
    in.send_lag = &r->st.send_lag;
    in.requests = r->st.requests;
    in.errors = run_errors(r);
    in.timeouts = r->st.errors[LOAD_ERR_TIMEOUT];
    in.slo = slo;
    in.throughput_per_s = r->throughput_per_s;
    return verdict_evaluate(&in, v);
}

/* ---- Merging ---------------------------------------------------------------------------- */

/* The arrival test cannot be redone without the gaps: the merged run keeps the worst one
 * (a single non-Poisson stream makes the union non-Poisson). */
static void merge_ad(struct verdict_input *d, const struct verdict_input *s) {
    if (s->has_ad && (!d->has_ad || s->ad.a2_mod > d->ad.a2_mod)) {
        d->has_ad = true;
        d->ad = s->ad;
    }
}

/* Lag-1 correlations combine as a pair-weighted mean, judged against the band of all pairs. */
static void merge_lag1(struct verdict_input *d, const struct verdict_input *s) {
    if (!s->has_lag1)
        return;
    size_t pairs = d->lag1.pairs + s->lag1.pairs;
    d->lag1.rho = (d->lag1.rho * (double)d->lag1.pairs + s->lag1.rho * (double)s->lag1.pairs) /
                  (double)pairs;
    d->lag1.pairs = pairs;
    d->lag1.band = STATS_Z95 / sqrt((double)pairs);
    d->lag1.is_correlated = fabs(d->lag1.rho) > d->lag1.band;
    d->has_lag1 = true;
}

static int merge_seconds(struct run *d, const struct run *s) {
    if (s->second_count > d->second_count) {
        struct load_second *p = realloc(d->seconds, s->second_count * sizeof *p);
        if (!p)
            return -ENOMEM;
        memset(p + d->second_count, 0, (s->second_count - d->second_count) * sizeof *p);
        d->seconds = p;
        d->second_count = s->second_count;
    }
    for (size_t i = 0; i < s->second_count; i++) {
        d->seconds[i].sent += s->seconds[i].sent;
        d->seconds[i].completed += s->seconds[i].completed;
        d->seconds[i].errors += s->seconds[i].errors;
        d->seconds[i].p50_us = d->seconds[i].p99_us = -1; /* not mergeable without histograms */
    }
    return 0;
}

/* Adds s into d (d holds the first run on entry). Rates and counts add; the window is the
 * longest run's; the options describe the union (connections and threads add). */
static int merge_into(struct run *d, const struct run *s) {
    load_stats_merge(&d->st, &s->st); /* max_conns too: each run's peak, summed */
    d->o.rate_per_s += s->o.rate_per_s;
    d->o.connections += s->o.connections;
    d->o.threads += s->o.threads;
    d->achieved_rate_per_s += s->achieved_rate_per_s;
    d->throughput_per_s += s->throughput_per_s;
    if (s->duration_s > d->duration_s)
        d->duration_s = s->duration_s;
    if (s->start_unix_s < d->start_unix_s)
        d->start_unix_s = s->start_unix_s;
    merge_ad(&d->tests, &s->tests);
    merge_lag1(&d->tests, &s->tests);
    return merge_seconds(d, s);
}

/* Refuses runs that cannot be added: different targets or load models. */
static int check_mergeable(const struct run *a, const struct run *b, char *err, size_t errlen) {
    const char *ma = json_string(json_get(a->root, "mode"), "?");
    const char *mb = json_string(json_get(b->root, "mode"), "?");
    if (strcmp(ma, mb)) {
        snprintf(err, errlen, "%s is %s loop but %s is %s loop: results of different load "
                 "models do not add", b->path, mb, a->path, ma);
        return -EINVAL;
    }
    if (strcmp(a->o.url_text, b->o.url_text))
        fprintf(stderr, "srvlab merge: note: %s loaded %s, %s loaded %s\n", a->path,
                a->o.url_text, b->path, b->o.url_text);
    return 0;
}

/* ---- Merged result as JSON (the `srvlab load --json` schema, docs/load.md) ------------ */

static void json_options(struct json_writer *w, const struct run *m) {
    const struct json *first = m->root;
    json_int(w, "srvlab_load", LOAD_SCHEMA_VERSION);
    json_str(w, "version", SRVLAB_VERSION);
    json_str(w, "url", m->o.url_text);
    json_str(w, "method", m->o.method);
    json_str(w, "mode", json_string(json_get(first, "mode"), "closed"));
    if (m->o.rate_per_s > 0) {
        json_num(w, "target_rate_per_s", m->o.rate_per_s);
        json_str(w, "arrival", sched_arrival_name(m->o.arrival));
    } else {
        json_null(w, "target_rate_per_s");
    }
    json_uint(w, "connections", m->o.connections);
    json_uint(w, "threads", m->o.threads);
    json_uint(w, "pipeline", m->o.pipeline);
    json_bool(w, "keepalive", m->o.is_keepalive);
    json_str(w, "http_version", m->o.is_http10 ? "1.0" : "1.1");
    json_num(w, "warmup_s", (double)m->o.warmup_us / 1e6);
    json_num(w, "timeout_s", (double)m->o.timeout_us / 1e6);
    json_num(w, "think_s", (double)(m->o.interval_us ? m->o.interval_us : m->o.think_us) / 1e6);
}

static void json_counts(struct json_writer *w, const struct run *m) {
    struct output_counts c = {
        .start_unix_s = m->start_unix_s, .duration_s = m->duration_s, .was_interrupted = false,
        .throughput_per_s = m->throughput_per_s,
        .achieved_rate_per_s = m->o.rate_per_s > 0 ? m->achieved_rate_per_s : NAN,
        .bytes_per_s = m->duration_s > 0 ? (double)m->st.bytes_read / m->duration_s : 0};
    output_json_counts(w, &m->st, &c);
}

static void json_seconds(struct json_writer *w, const struct run *m) {
    json_arr_begin(w, "seconds");
    for (size_t i = 0; i < m->second_count; i++) {
        const struct load_second *s = &m->seconds[i];
        json_obj_begin_inline(w, NULL);
        json_uint(w, "second", i);
        json_uint(w, "sent", s->sent);
        json_uint(w, "completed", s->completed);
        json_uint(w, "errors", s->errors);
        json_null(w, "p50_us");
        json_null(w, "p99_us");
        json_obj_end(w);
    }
    json_arr_end(w);
}

static int write_merged(const char *path, const struct run *m, char *const *inputs, int count,
                        const struct slo *slo, const struct verdict *v) {
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f)
        return -errno;
    struct json_writer w;
    json_writer_init(&w, f);
    json_obj_begin(&w, NULL);
    json_options(&w, m);
    json_arr_begin(&w, "merged_from");
    for (int i = 0; i < count; i++)
        json_str(&w, NULL, inputs[i]);
    json_arr_end(&w);
    json_counts(&w, m);
    verdict_json_write(&w, "verdict", slo, v);
    for (size_t i = 0; i < METRICS; i++)
        output_json_metric(&w, metric_keys[i], metric_hist((struct load_stats *)&m->st, i));
    json_seconds(&w, m);
    json_obj_end(&w);
    json_writer_finish(&w);
    if (f == stdout)
        return fflush(f) ? -errno : 0;
    return fclose(f) ? -errno : 0;
}

/* ---- srvlab merge ----------------------------------------------------------------------- */

static const char merge_usage[] =
    "Usage: srvlab merge [options] <A.json> <B.json> [...]\n"
    "\n"
    "Add up 'srvlab load --json' results of runs made at the same time against one server\n"
    "(several processes or machines, each with its share of the rate, e.g. started with the\n"
    "same --start-at): histograms are added bucket by bucket (percentiles are recomputed, never\n"
    "averaged), counts and rates add, and the validity verdict is recomputed.\n"
    "\n"
    "Options:\n"
    "  -o, --output <FILE>   write the merged result as JSON, same schema, - for stdout\n"
    "                        (--json <FILE> is the same; default: none)\n"
    "      --slo <LIST>      judge the merged run, e.g. 'p99<10ms,errors<0.1%'\n"
    "  -q, --quiet           no summary on stdout\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 merged (SLO met), 1 an input cannot be read or is not srvlab load JSON,\n"
    "or the SLO is violated, 2 usage error, 3 SLO inconclusive.\n"
    "\n"
    "Example:\n"
    "  srvlab merge -o all.json host1.json host2.json\n";

static int cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "srvlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see 'srvlab %s --help'\n", cmd);
    va_end(ap);
    return 2;
}

struct merge_opts {
    const char *out_path;
    bool has_slo, is_quiet;
    struct slo slo;
};

/* Returns 0, 1 for help, or 2 (usage message printed). */
static int merge_parse(int argc, char **argv, struct merge_opts *mo) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"json", required_argument, NULL, 'o'},
        {"slo", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    char err[160];
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return 1;
        case 'o': mo->out_path = optarg; break;
        case 'q': mo->is_quiet = true; break;
        case 's':
            if (slo_parse(optarg, &mo->slo, err, sizeof err) < 0)
                return cli_error("merge", "--slo: %s", err);
            mo->has_slo = true;
            break;
        case ':': return cli_error("merge", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_error("merge", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind < 2)
        return cli_error("merge", "want at least two result files");
    if (argc - optind > MERGE_MAX_RUNS)
        return cli_error("merge", "at most %d files", MERGE_MAX_RUNS);
    return 0;
}

static void print_merged(const struct run *m, int count, double spread_s,
                         const struct merge_opts *mo, const struct verdict *v) {
    struct load_result r = {.total = m->st, .elapsed_s = m->duration_s,
                            .start_unix_s = m->start_unix_s,
                            .achieved_rate_per_s = m->achieved_rate_per_s};
    r.is_rate_short = m->o.rate_per_s > 0 && r.achieved_rate_per_s < 0.99 * m->o.rate_per_s;
    r.is_lagging = hist_percentile(&m->st.send_lag, 99) > VERDICT_SEND_LAG_P99_US;
    printf("srvlab merge: %d runs, starts %.3fs apart\n", count, spread_s);
    output_summary(stdout, &m->o, &r);
    verdict_print(stdout, v);
    if (mo->has_slo)
        verdict_print_slo(stdout, &mo->slo, v);
}

/* Reads and adds every input into *m; the spread of start times goes to *spread_s. */
static int merge_runs(char **paths, int count, struct run *m, double *spread_s) {
    char err[320];
    double first_start = 0, last_start = 0;
    for (int i = 0; i < count; i++) {
        struct run r;
        int rc = run_read(paths[i], i == 0 ? m : &r, err, sizeof err);
        struct run *cur = i == 0 ? m : &r;
        if (rc == 0 && i > 0 && (rc = check_mergeable(m, &r, err, sizeof err)) == 0)
            rc = merge_into(m, &r);
        double start = cur->start_unix_s;
        if (i == 0 || start < first_start)
            first_start = start;
        if (i == 0 || start > last_start)
            last_start = start;
        if (i > 0)
            run_free(&r);
        if (rc < 0) {
            fprintf(stderr, "srvlab merge: %s\n", rc == -ENOMEM ? "out of memory" : err);
            return rc;
        }
    }
    *spread_s = last_start - first_start;
    return 0;
}

int merge_main(int argc, char **argv) {
    struct merge_opts mo = {0};
    int rc = merge_parse(argc, argv, &mo);
    if (rc)
        return rc == 1 ? (fputs(merge_usage, stdout), 0) : 2;
    struct run m;
    double spread_s;
    int count = argc - optind;
    if (merge_runs(argv + optind, count, &m, &spread_s) < 0) {
        run_free(&m);
        return 1;
    }
    if (spread_s > START_SPREAD_S)
        fprintf(stderr, "srvlab merge: warning: runs started %.1fs apart; merge adds runs made at"
                " the same time (use --start-at)\n", spread_s);
    struct verdict v;
    run_verdict(&m, mo.has_slo ? &mo.slo : NULL, &v);
    if (!mo.is_quiet)
        print_merged(&m, count, spread_s, &mo, &v);
    int status = verdict_exit_status(&v);
    if (mo.out_path) {
        rc = write_merged(mo.out_path, &m, argv + optind, count, mo.has_slo ? &mo.slo : NULL, &v);
        if (rc < 0) {
            fprintf(stderr, "srvlab merge: %s: %s\n", mo.out_path, strerror(-rc));
            status = 1;
        }
    }
    run_free(&m);
    return status;
}

/* ---- srvlab compare --------------------------------------------------------------------- */

static const char compare_usage[] =
    "Usage: srvlab compare [options] <A.json> <B.json>\n"
    "\n"
    "Is run B slower or faster than run A? For the latency mean (Welch's t interval) and p50,\n"
    "p90, p99 (distribution-free intervals, Price-Bonett difference): B - A, its 95% confidence\n"
    "interval and a verdict. A metric is 'slower' when the whole interval is above 0 and the\n"
    "change is at least the threshold; 'faster' likewise below; otherwise 'no significant\n"
    "difference'.\n"
    "\n"
    "Options:\n"
    "      --threshold <PCT>  smallest change worth a verdict, in % of A (default 5%; 0: any\n"
    "                         statistically significant change)\n"
    "      --json             print the comparison as JSON instead of a table\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 no significant difference, or B faster; 1 B slower on at least one metric\n"
    "(a regression); 2 usage error or unreadable input; 3 inconclusive (a run is INVALID, or\n"
    "no metric has enough samples to compare).\n"
    "\n"
    "Example:\n"
    "  srvlab compare baseline.json candidate.json || echo 'performance regression'\n";

enum cmp_verdict { CMP_SAME, CMP_SLOWER, CMP_FASTER, CMP_UNKNOWN };
static const char *const cmp_names[] = {"no significant difference", "slower", "faster",
                                        "not enough samples"};
static const char *const cmp_keys[] = {"same", "slower", "faster", "not_enough_samples"};

#define CMP_METRICS 4
static const char *const cmp_metric_names[CMP_METRICS] = {"mean", "p50", "p90", "p99"};
static const double cmp_pcts[CMP_METRICS] = {0, 50, 90, 99};

struct cmp_row {
    struct stats_diff d;
    enum cmp_verdict verdict;
    bool is_below_threshold; /* significant, but smaller than the threshold */
};

static double run_n_eff(const struct run *r) {
    double n = (double)hist_count(&r->st.latency);
    bool is_correlated = r->tests.has_lag1 && r->tests.lag1.is_correlated;
    return is_correlated ? stats_effective_n(n, r->tests.lag1.rho) : n;
}

static void compare_metric(const struct run *a, const struct run *b, size_t i, double threshold,
                           struct cmp_row *row) {
    const struct hist *ha = &a->st.latency, *hb = &b->st.latency;
    if (i == 0)
        stats_welch(hist_mean(ha), hist_stddev(ha), run_n_eff(a), hist_mean(hb), hist_stddev(hb),
                    run_n_eff(b), &row->d);
    else
        stats_pct_diff(ha, run_n_eff(a), hb, run_n_eff(b), cmp_pcts[i], &row->d);
    const struct stats_diff *d = &row->d;
    bool is_big = fabs(d->diff) >= threshold * fabs(d->a);
    row->verdict = !d->is_enough              ? CMP_UNKNOWN
                   : !d->is_significant || !is_big ? CMP_SAME
                   : d->diff > 0                   ? CMP_SLOWER
                                                   : CMP_FASTER;
    row->is_below_threshold = d->is_enough && d->is_significant && !is_big;
}

struct cmp_result {
    struct cmp_row rows[CMP_METRICS];
    struct verdict va, vb;
    enum cmp_verdict overall;
    bool is_inconclusive;
    int status;
};

static void compare_runs(struct run *a, struct run *b, double threshold, struct cmp_result *c) {
    run_verdict(a, NULL, &c->va);
    run_verdict(b, NULL, &c->vb);
    bool any_slower = false, any_faster = false, any_known = false;
    for (size_t i = 0; i < CMP_METRICS; i++) {
        compare_metric(a, b, i, threshold, &c->rows[i]);
        any_slower |= c->rows[i].verdict == CMP_SLOWER;
        any_faster |= c->rows[i].verdict == CMP_FASTER;
        any_known |= c->rows[i].verdict != CMP_UNKNOWN;
    }
    c->overall = any_slower ? CMP_SLOWER : any_faster ? CMP_FASTER : CMP_SAME;
    c->is_inconclusive = !any_known || c->va.level == VERDICT_INVALID ||
                         c->vb.level == VERDICT_INVALID;
    c->status = c->is_inconclusive ? 3 : c->overall == CMP_SLOWER ? 1 : 0;
}

static void fmt_signed_us(char *buf, size_t len, double us) {
    char tmp[32];
    units_fmt_duration(tmp, sizeof tmp, fabs(us));
    snprintf(buf, len, "%s%s", us < 0 ? "-" : "+", tmp);
}

static void print_row(const char *name, const struct cmp_row *row) {
    const struct stats_diff *d = &row->d;
    char a[32], b[32], diff[40], lo[40], hi[40], iv[96], pct[16] = "";
    units_fmt_duration(a, sizeof a, d->a);
    units_fmt_duration(b, sizeof b, d->b);
    fmt_signed_us(diff, sizeof diff, d->diff);
    if (d->a > 0)
        snprintf(pct, sizeof pct, "%+.1f%%", 100 * d->diff / d->a);
    if (d->is_enough) {
        fmt_signed_us(lo, sizeof lo, d->lo);
        fmt_signed_us(hi, sizeof hi, d->hi);
        snprintf(iv, sizeof iv, "[%s, %s]", lo, hi);
    } else {
        snprintf(iv, sizeof iv, "-");
    }
    printf("  %-6s %9s %9s %10s  %-24s %8s  %s%s\n", name, a, b, diff, iv, pct,
           cmp_names[row->verdict],
           row->is_below_threshold ? " (significant, under the threshold)" : "");
}

static void print_compare(const struct run *a, const struct run *b, const struct cmp_result *c,
                          double threshold) {
    printf("srvlab compare: A %s (%llu samples, %s), B %s (%llu samples, %s)\n", a->path,
           (unsigned long long)hist_count(&a->st.latency), verdict_level_name(c->va.level),
           b->path, (unsigned long long)hist_count(&b->st.latency),
           verdict_level_name(c->vb.level));
    printf("\n  %-6s %9s %9s %10s  %-24s %8s  %s\n", "", "A", "B", "B - A", "95% interval",
           "change", "verdict");
    for (size_t i = 0; i < CMP_METRICS; i++)
        print_row(cmp_metric_names[i], &c->rows[i]);
    printf("\n  threshold %.3g%% of A; ", 100 * threshold);
    if (c->is_inconclusive)
        printf("verdict: inconclusive (%s)\n",
               c->va.level == VERDICT_INVALID || c->vb.level == VERDICT_INVALID
                   ? "a run is INVALID: its numbers describe the generator"
                   : "not enough samples");
    else
        printf("verdict: %s%s\n", c->overall == CMP_SAME ? "" : "B is ", cmp_names[c->overall]);
}

static void json_compare(const struct run *a, const struct run *b, const struct cmp_result *c,
                         double threshold) {
    struct json_writer w;
    json_writer_init(&w, stdout);
    json_obj_begin(&w, NULL);
    json_str(&w, "a", a->path);
    json_str(&w, "b", b->path);
    json_str(&w, "a_validity", verdict_level_name(c->va.level));
    json_str(&w, "b_validity", verdict_level_name(c->vb.level));
    json_num(&w, "threshold", threshold);
    json_obj_begin(&w, "metrics");
    for (size_t i = 0; i < CMP_METRICS; i++) {
        const struct stats_diff *d = &c->rows[i].d;
        json_obj_begin_inline(&w, cmp_metric_names[i]);
        json_num(&w, "a_us", d->a);
        json_num(&w, "b_us", d->b);
        json_num(&w, "diff_us", d->diff);
        json_num(&w, "lo_us", d->is_enough ? d->lo : NAN);
        json_num(&w, "hi_us", d->is_enough ? d->hi : NAN);
        json_num(&w, "change", d->a > 0 ? d->diff / d->a : NAN);
        json_str(&w, "verdict", cmp_keys[c->rows[i].verdict]);
        json_obj_end(&w);
    }
    json_obj_end(&w);
    json_str(&w, "verdict", c->is_inconclusive ? "inconclusive" : cmp_keys[c->overall]);
    json_int(&w, "exit_status", c->status);
    json_obj_end(&w);
    json_writer_finish(&w);
}

/* Returns 0, 1 for help, or 2 (usage message printed). */
static int compare_parse(int argc, char **argv, double *threshold, bool *is_json) {
    static const struct option opts[] = {{"threshold", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return 1;
        case 'j': *is_json = true; break;
        case 't': {
            char *end;
            double pct = strtod(optarg, &end);
            if (end == optarg || (*end && strcmp(end, "%")) || !(pct >= 0 && pct < 1000))
                return cli_error("compare", "--threshold: bad percentage '%s' (e.g. 5%%)",
                                 optarg);
            *threshold = pct / 100;
            break;
        }
        case ':': return cli_error("compare", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_error("compare", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_error("compare", "want exactly two result files, A and B");
    return 0;
}

int compare_main(int argc, char **argv) {
    double threshold = DEFAULT_THRESHOLD;
    bool is_json = false;
    int rc = compare_parse(argc, argv, &threshold, &is_json);
    if (rc)
        return rc == 1 ? (fputs(compare_usage, stdout), 0) : 2;
    struct run a, b;
    char err[320];
    memset(&b, 0, sizeof b);
    if (run_read(argv[optind], &a, err, sizeof err) < 0 ||
        run_read(argv[optind + 1], &b, err, sizeof err) < 0) {
        fprintf(stderr, "srvlab compare: %s\n", err);
        run_free(&a), run_free(&b);
        return 2;
    }
    const char *ma = json_string(json_get(a.root, "mode"), "?");
    const char *mb = json_string(json_get(b.root, "mode"), "?");
    if (strcmp(ma, mb))
        fprintf(stderr, "srvlab compare: note: A is %s loop, B is %s loop\n", ma, mb);
    struct cmp_result c;
    compare_runs(&a, &b, threshold, &c);
    if (is_json)
        json_compare(&a, &b, &c, threshold);
    else
        print_compare(&a, &b, &c, threshold);
    run_free(&a), run_free(&b);
    return c.status;
}
