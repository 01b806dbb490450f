/* `srvlab model curve` and `srvlab model fit`: the predicted latency-vs-load table, from a given
 * service time or from one estimated out of a `srvlab load --json` result. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/cli.h"
#include "model/cmds.h"
#include "model/fit.h"
#include "util/json.h"

static const char curve_help[] =
    "Usage: srvlab model curve --service <T> [--servers <N>] [--model <M>] [--from <F>]\n"
    "                          [--to <F>] [--step <F>] [--rtt <T>] [--format <F>]\n"
    "\n"
    "Predicted latency versus load: one row per utilization from --from to --to, with the load\n"
    "(utilization x capacity) and the response time's mean, p50, p90, p99 and p99.9.\n"
    "\n"
    "Options:\n"
    "  --service <T>       mean service time (required), e.g. 200us\n"
    "  --servers <N>       servers sharing one queue (default 1)\n"
    "  --model <M>         mm1, mmc, mg1, mgc or md1 (default mm1, or mmc when --servers > 1)\n"
    "  --service-cv <X>    mg1 and mgc only: standard deviation / mean of the service\n"
    "                      (default 1)\n"
    "  --from <F>          first utilization (default 10%)\n"
    "  --to <F>            last utilization, below 100% (default 95%)\n"
    "  --step <F>          utilization step (default 5%)\n"
    "  --rtt <T>           network round trip added to every latency (default 0us), so that\n"
    "                      rows compare with what `srvlab load` measures\n"
    "  --format <F>        text, csv or json (default text)\n"
    "\n"
    "CSV columns: utilization,load_per_s,mean_us,p50_us,p90_us,p99_us,p999_us.\n"
    "\n"
    "Examples:\n"
    "  srvlab model curve --service 200us --from 10% --to 95% --step 5%\n"
    "  srvlab model curve --service 1ms --servers 4 --format csv\n"
    "  srvlab model curve --service-mean 200us --service-cv 0.5 --model mg1 --format json\n"
    "  srvlab model curve --service 4.3ms --servers 4 --model mgc --service-cv 0.85\n";

static const char fit_help[] =
    "Usage: srvlab model fit <RESULT.json> [--rtt-from min|p50|mean] [--model <M>]\n"
    "                        [--servers <N>] [--from <F>] [--to <F>] [--step <F>] [--format <F>]\n"
    "\n"
    "Estimates the service time from a low-load `srvlab load --json` result and prints the\n"
    "predicted curve. Course notes: latency = RTT + queueing delay + service time.\n"
    "  round trip     the TCP connect time (one SYN / SYN-ACK exchange); its minimum by default,\n"
    "                 since a connect's mean also holds the loader's and kernel's delays\n"
    "  response       measured service mean - round trip\n"
    "  cv             sqrt(service variance - connect variance) / response\n"
    "  service time   the response minus the queueing the run itself caused at its measured\n"
    "                 rate (Pollaczek-Khinchine mean solved for the service time)\n"
    "The curve's latencies include the round trip, like the measurements.\n"
    "\n"
    "Options:\n"
    "  --rtt-from <W>      round trip from the connect time's min, p50 or mean (default min)\n"
    "  --model <M>         mg1 (default, with the fitted cv), mm1, mmc, mgc (fitted cv) or md1\n"
    "  --servers <N>       servers, for --model mmc or mgc (default 1)\n"
    "  --from, --to, --step, --format   as for `srvlab model curve`\n"
    "\n"
    "Warns on stderr when the run's utilization was above 20%: measure at lower load for a\n"
    "surer estimate. Exit 1 when the file cannot be read or lacks the fields.\n"
    "\n"
    "Example:\n"
    "  srvlab load -R 100 --arrival poisson -d 10s --json low.json \\\n"
    "      'http://127.0.0.1:8080/work?cpu_us=500&dist=exp'\n"
    "  srvlab model fit low.json --format csv\n";

/* One curve: a model, the utilizations to visit and the constant round trip to add. */
struct curve {
    struct predict_params base; /* arrival rate filled per row */
    double from, to, step, rtt_s;
    enum cli_format format;
    const struct fit_estimate *fit; /* NULL unless from `fit` */
};

struct curve_row {
    double utilization, load_per_s, mean_s, q_s[PREDICT_NQ];
};

static int row_at(const struct curve *c, int i, struct curve_row *row, bool *is_approx) {
    struct predict_params p = c->base;
    struct predict_result r;
    row->utilization = c->from + i * c->step;
    p.arrival_per_s = row->utilization * predict_capacity_per_s(&p);
    int rc = predict(&p, &r);
    if (rc < 0)
        return rc;
    row->load_per_s = p.arrival_per_s;
    row->mean_s = r.response_mean_s + c->rtt_s;
    for (int q = 0; q < PREDICT_NQ; q++)
        row->q_s[q] = r.response_q_s[q] + c->rtt_s;
    *is_approx |= r.is_approx;
    return 0;
}

/* Rows are counted, not accumulated, so that 10% + 17 x 5% lands on 95% exactly. */
static int row_count(const struct curve *c) {
    return (int)floor((c->to - c->from) / c->step + 1e-9) + 1;
}

#define CURVE_MAX_ROWS 10000

static void print_text_header(const struct curve *c) {
    char svc[32], cap[32], rtt[32];
    const struct predict_params *p = &c->base;
    printf("%s predicted response time: service %s", predict_model_name(p->model),
           cli_fmt_s(svc, sizeof svc, p->service_mean_s));
    if (p->model == PREDICT_MG1 || p->model == PREDICT_MGC)
        printf(" (cv %.3g)", p->service_cv);
    printf(", %d server%s, capacity %s", p->servers, p->servers == 1 ? "" : "s",
           cli_fmt_rate(cap, sizeof cap, predict_capacity_per_s(p)));
    if (c->rtt_s > 0)
        printf(", round trip %s included", cli_fmt_s(rtt, sizeof rtt, c->rtt_s));
    printf("\n%7s %10s %9s %9s %9s %9s %9s\n", "util", "load", "mean", "p50", "p90", "p99",
           "p99.9");
}

static void print_text(const struct curve *c, const struct curve_row *rows, int n,
                       bool is_approx) {
    print_text_header(c);
    for (int i = 0; i < n; i++) {
        char u[32], l[32], t[PREDICT_NQ + 1][32];
        printf("%7s %10s %9s", cli_fmt_pct(u, sizeof u, rows[i].utilization),
               cli_fmt_rate(l, sizeof l, rows[i].load_per_s),
               cli_fmt_s(t[0], sizeof t[0], rows[i].mean_s));
        for (int q = 0; q < PREDICT_NQ; q++)
            printf(" %9s", cli_fmt_s(t[q + 1], sizeof t[q + 1], rows[i].q_s[q]));
        printf("\n");
    }
    if (is_approx && c->base.model == PREDICT_MGC)
        printf("note: Allen-Cunneen approximation: means and percentiles are approximate unless "
               "cv = 1 (see docs/queueing.md)\n");
    else if (is_approx)
        printf("note: percentiles are an approximation (see docs/queueing.md); means are exact\n");
}

static void print_csv(const struct curve_row *rows, int n) {
    printf("utilization,load_per_s,mean_us,p50_us,p90_us,p99_us,p999_us\n");
    for (int i = 0; i < n; i++) {
        printf("%.6g,%.9g,%.9g", rows[i].utilization, rows[i].load_per_s, rows[i].mean_s * 1e6);
        for (int q = 0; q < PREDICT_NQ; q++)
            printf(",%.9g", rows[i].q_s[q] * 1e6);
        printf("\n");
    }
}

static void print_json_fit(struct json_writer *w, const struct fit_estimate *f) {
    json_obj_begin(w, "fit");
    json_num(w, "rtt_us", f->rtt_s * 1e6);
    json_num(w, "service_mean_us", f->service_mean_s * 1e6);
    json_num(w, "service_cv", f->service_cv);
    json_num(w, "measured_utilization", f->utilization);
    json_obj_end(w);
}

static void print_json(const struct curve *c, const struct curve_row *rows, int n,
                       bool is_approx) {
    static const char *const keys[PREDICT_NQ] = {"p50_us", "p90_us", "p99_us", "p999_us"};
    struct json_writer w;
    json_writer_init(&w, stdout);
    json_obj_begin(&w, NULL);
    json_str(&w, "model", predict_model_name(c->base.model));
    json_int(&w, "servers", c->base.servers);
    json_num(&w, "service_mean_us", c->base.service_mean_s * 1e6);
    json_num(&w, "service_cv", c->base.model == PREDICT_MD1 ? 0 : c->base.service_cv);
    json_num(&w, "capacity_per_s", predict_capacity_per_s(&c->base));
    json_num(&w, "rtt_us", c->rtt_s * 1e6);
    json_bool(&w, "approximate", is_approx);
    if (c->fit)
        print_json_fit(&w, c->fit);
    json_arr_begin(&w, "points");
    for (int i = 0; i < n; i++) {
        json_obj_begin_inline(&w, NULL);
        json_num(&w, "utilization", rows[i].utilization);
        json_num(&w, "load_per_s", rows[i].load_per_s);
        json_num(&w, "mean_us", rows[i].mean_s * 1e6);
        for (int q = 0; q < PREDICT_NQ; q++)
            json_num(&w, keys[q], rows[i].q_s[q] * 1e6);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    json_writer_finish(&w);
}

/* Computes every row, then prints; returns 0 or predict()'s error. */
static int print_curve(const struct curve *c) {
    static struct curve_row rows[CURVE_MAX_ROWS];
    int n = row_count(c);
    bool is_approx = false;
    for (int i = 0; i < n; i++) {
        int rc = row_at(c, i, &rows[i], &is_approx);
        if (rc < 0)
            return rc;
    }
    if (c->format == CLI_JSON)
        print_json(c, rows, n, is_approx);
    else if (c->format == CLI_CSV)
        print_csv(rows, n);
    else
        print_text(c, rows, n, is_approx);
    return 0;
}

/* ---- Options shared by curve and fit ---- */

#define CURVE_OPTIONS                                                                         \
    (CLI_BIT(CLI_SERVERS) | CLI_BIT(CLI_MODEL) | CLI_BIT(CLI_FROM) | CLI_BIT(CLI_TO) |         \
     CLI_BIT(CLI_STEP) | CLI_BIT(CLI_FORMAT))

static int check_model(const struct model_opts *o, enum predict_model model) {
    if (o->servers > 1 && model != PREDICT_MMC && model != PREDICT_MGC)
        return cli_usage_error(o, "--servers %d needs --model mmc or mgc (%s has one server)",
                               o->servers, predict_model_name(model));
    if ((o->given & CLI_BIT(CLI_SERVICE_CV)) && model != PREDICT_MG1 && model != PREDICT_MGC)
        return cli_usage_error(o, "--service-cv needs --model mg1 or mgc");
    return 0;
}

static int check_range(const struct model_opts *o) {
    if (o->from <= 0 || o->from >= 1 || o->to <= 0 || o->to >= 1)
        return cli_usage_error(o, "--from and --to must be utilizations above 0%% and below "
                                  "100%% (at or above capacity the queue grows without bound)");
    if (o->from > o->to)
        return cli_usage_error(o, "--from %.3g%% is above --to %.3g%%", 100 * o->from,
                               100 * o->to);
    if (o->step <= 0 || (o->to - o->from) / o->step >= CURVE_MAX_ROWS)
        return cli_usage_error(o, "--step must be above 0%% and give at most %d rows",
                               CURVE_MAX_ROWS);
    return 0;
}

/* Fills *c from the options; the model defaults to mmc with --servers > 1, else to fallback. */
static int curve_from_opts(const struct model_opts *o, enum predict_model fallback,
                           struct curve *c) {
    enum predict_model model = o->given & CLI_BIT(CLI_MODEL) ? o->model
                               : o->servers > 1            ? PREDICT_MMC
                                                           : fallback;
    int rc = check_model(o, model);
    if (rc || (rc = check_range(o)))
        return rc;
    *c = (struct curve){
        .base = {model, 0, o->service_s, o->service_cv, o->servers},
        .from = o->from, .to = o->to, .step = o->step, .rtt_s = o->rtt_s, .format = o->format,
    };
    return 0;
}

int cmd_curve(int argc, char **argv) {
    struct model_opts o;
    unsigned allowed = CURVE_OPTIONS | CLI_BIT(CLI_SERVICE) | CLI_BIT(CLI_SERVICE_CV) |
                       CLI_BIT(CLI_RTT);
    int rc = cli_parse(argc, argv, allowed, 0, curve_help, &o);
    if (rc >= 0 || (rc = cli_require(&o, CLI_SERVICE)))
        return rc;
    struct curve c;
    if ((rc = curve_from_opts(&o, PREDICT_MM1, &c)))
        return rc;
    rc = print_curve(&c);
    return rc < 0 ? cli_usage_error(&o, "invalid parameters for %s",
                                    predict_model_name(c.base.model))
                  : 0;
}

/* ---- fit ---- */

/* Reads the fields fit needs from a `srvlab load --json` result (schema in docs/load.md). */
static int read_result(const char *path, struct fit_input *in, char *err, size_t errlen) {
    struct json *root = json_parse_file(path, err, errlen);
    if (!root)
        return -EINVAL;
    const struct json *svc = json_get(root, "service"), *con = json_get(root, "connect");
    in->service_mean_us = json_number(json_get(svc, "mean_us"), NAN);
    in->service_stddev_us = json_number(json_get(svc, "stddev_us"), NAN);
    in->connect_mean_us = json_number(json_get(con, "mean_us"), NAN);
    in->connect_stddev_us = json_number(json_get(con, "stddev_us"), NAN);
    in->connect_p50_us = json_number(json_get(json_get(con, "percentiles"), "50"), NAN);
    in->connect_min_us = json_number(json_get(con, "min_us"), NAN);
    /* achieved_rate_per_s is null in closed loop; the throughput then stands in for it. */
    in->rate_per_s = json_number(json_get(root, "achieved_rate_per_s"),
                                 json_number(json_get(root, "throughput_per_s"), 0));
    int rc = 0;
    if (!svc || !con || isnan(in->service_mean_us) || isnan(in->connect_mean_us)) {
        snprintf(err, errlen, "%s: no \"service\" and \"connect\" statistics (mean_us); "
                              "is it a `srvlab load --json` result?", path);
        rc = -EINVAL;
    } else if (json_number(json_get(con, "count"), 0) < 1 ||
               json_number(json_get(svc, "count"), 0) < 1) {
        snprintf(err, errlen, "%s: no requests or no connects measured, so no round trip "
                              "to take off (connects during --warmup do not count)", path);
        rc = -EINVAL;
    }
    json_free(root);
    return rc;
}

static void print_fit_text(const char *path, const struct fit_input *in,
                           const struct fit_estimate *f, const char *rtt_from) {
    char m[32], sd[32], rtt[32], svc[32], rate[32];
    printf("fit from %s: measured service %s (stddev %s), round trip %s (connect %s)\n", path,
           cli_fmt_s(m, sizeof m, in->service_mean_us / 1e6),
           cli_fmt_s(sd, sizeof sd, in->service_stddev_us / 1e6),
           cli_fmt_s(rtt, sizeof rtt, f->rtt_s), rtt_from);
    printf("  service time %s, cv %.3g", cli_fmt_s(svc, sizeof svc, f->service_mean_s),
           f->service_cv);
    if (in->rate_per_s > 0)
        printf(" (the run's own queueing at %s taken off: utilization %.1f%%)",
               cli_fmt_rate(rate, sizeof rate, in->rate_per_s), 100 * f->utilization);
    printf("\n\n");
}

static int fit_error(const struct model_opts *o, int rc, const struct fit_input *in,
                     double rtt_us) {
    char m[32], rtt[32];
    if (rc == -ERANGE)
        fprintf(stderr, "srvlab model fit: %s: service mean %s is not above the round trip %s; "
                        "nothing is left for the server\n",
                o->path, cli_fmt_s(m, sizeof m, in->service_mean_us / 1e6),
                cli_fmt_s(rtt, sizeof rtt, rtt_us / 1e6));
    else
        fprintf(stderr, "srvlab model fit: %s: missing or invalid service/connect statistics\n",
                o->path);
    return 1;
}

int cmd_curve_fit(int argc, char **argv) {
    struct model_opts o;
    int rc = cli_parse(argc, argv, CURVE_OPTIONS | CLI_BIT(CLI_RTT_FROM), 1, fit_help, &o);
    if (rc >= 0)
        return rc;
    if (!o.path)
        return cli_usage_error(&o, "missing RESULT.json (a `srvlab load --json` result)");
    struct fit_input in;
    struct fit_estimate f;
    char err[512];
    enum fit_rtt rtt_from = !strcmp(o.rtt_from, "p50")   ? FIT_RTT_P50
                            : !strcmp(o.rtt_from, "min") ? FIT_RTT_MIN
                                                         : FIT_RTT_MEAN;
    if (read_result(o.path, &in, err, sizeof err) < 0) {
        fprintf(stderr, "srvlab model fit: %s\n", err);
        return 1;
    }
    if ((rc = fit_estimate(&in, rtt_from, &f)) < 0)
        return fit_error(&o, rc, &in, fit_rtt_us(&in, rtt_from));
    if (f.utilization > 0.2)
        fprintf(stderr, "srvlab model fit: warning: the run's utilization was %.0f%%; measure "
                        "at lower load for a surer estimate\n",
                100 * f.utilization);
    o.service_s = f.service_mean_s;
    o.service_cv = f.service_cv;
    o.rtt_s = f.rtt_s;
    struct curve c;
    if ((rc = curve_from_opts(&o, PREDICT_MG1, &c)))
        return rc;
    c.fit = &f;
    if (o.format == CLI_TEXT)
        print_fit_text(o.path, &in, &f, o.rtt_from);
    return print_curve(&c) < 0 ? 1 : 0;
}
