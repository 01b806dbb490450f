/* `srvlab model capacity|mm1|mmc|mg1|mgc|md1`: one queue at one load, printed as text, CSV or JSON.
 * The formulas live in predict.c and below; this file only parses, checks and prints. */
#include <math.h>
#include <stdio.h>

#include "model/cli.h"
#include "model/cmds.h"
#include "model/mm1.h"
#include "util/json.h"

static const char capacity_help[] =
    "Usage: srvlab model capacity --service <T> [--servers <N>]\n"
    "\n"
    "Maximum throughput: servers / service time (course notes: max capacity = 1 / service time\n"
    "on one processor). Any load at or above it makes the queue grow without bound.\n"
    "\n"
    "Options:\n"
    "  --service <T>       mean service time of one request (required), e.g. 200us\n"
    "  --servers <N>       requests served in parallel (default 1)\n"
    "  --format <F>        text, csv or json (default text)\n"
    "\n"
    "Example:\n"
    "  srvlab model capacity --service 200us --servers 2     # 10.0k/s\n";

#define QUEUE_OPTIONS                                                                          \
    "  --load <R>          arrival rate (required), e.g. 4000/s, 20k/s, 3/min\n"                 \
    "  --over <T>          also print P(wait > T) and P(response > T), e.g. 1ms\n"             \
    "  --format <F>        text, csv or json (default text)\n"                                   \
    "\n"                                                                                         \
    "T is a time with a unit (ns, us, ms, s, min); R a rate with a unit (/s, /ms, /min, /h).\n" \
    "Times printed are response time (wait + service, excluding the network round trip) and\n"  \
    "wait in the queue; p50/p90/p99/p99.9 are percentiles. Loads at or above capacity are an\n" \
    "error (exit 2).\n"

static const char mm1_help[] =
    "Usage: srvlab model mm1 --service <T> --load <R> [--over <T>]\n"
    "\n"
    "M/M/1: Poisson arrivals, exponential service times, one server. Exact closed forms:\n"
    "the response time is exponential with rate (capacity - load); mean 1 / (capacity - load).\n"
    "\n"
    "Options:\n"
    "  --service <T>       mean service time (required), e.g. 200us\n" QUEUE_OPTIONS
    "\n"
    "Example:\n"
    "  srvlab model mm1 --service 200us --load 4000/s\n";

static const char mmc_help[] =
    "Usage: srvlab model mmc --servers <N> --service <T> --load <R> [--over <T>]\n"
    "\n"
    "M/M/c: Poisson arrivals, exponential service, N servers sharing one queue. Erlang C gives\n"
    "the probability of waiting (stable recurrence, fine for N = 1000 and more); response-time\n"
    "percentiles are found by bisection on the exact distribution. Also prints N separate\n"
    "M/M/1 queues fed load / N each, to show what a shared queue buys.\n"
    "\n"
    "Options:\n"
    "  --servers <N>       number of servers (default 1)\n"
    "  --service <T>       mean service time of one server (required), e.g. 1ms\n" QUEUE_OPTIONS
    "\n"
    "Example:\n"
    "  srvlab model mmc --servers 4 --service 1ms --load 3000/s --over 2ms\n";

static const char mg1_help[] =
    "Usage: srvlab model mg1 --service-mean <T> [--service-cv <X>] --load <R> [--over <T>]\n"
    "\n"
    "M/G/1: Poisson arrivals, any service-time distribution, one server. The means are exact\n"
    "(Pollaczek-Khinchine: mean wait = rho (1 + cv^2) / (2 (1 - rho)) x mean service).\n"
    "Percentiles are an APPROXIMATION unless cv = 1: the wait is taken as an atom at zero plus\n"
    "an exponential tail with the exact mean, the service time as a two-moment fit (see\n"
    "docs/queueing.md). The output says so.\n"
    "\n"
    "Options:\n"
    "  --service-mean <T>  mean service time (required; --service is the same), e.g. 200us\n"
    "  --service-cv <X>    coefficient of variation of the service time, standard deviation /\n"
    "                      mean (default 1 = exponential; 0 = constant)\n" QUEUE_OPTIONS
    "\n"
    "Example:\n"
    "  srvlab model mg1 --service-mean 200us --service-cv 0.5 --load 4000/s\n";

static const char mgc_help[] =
    "Usage: srvlab model mgc --servers <N> --service-mean <T> [--service-cv <X>] --load <R>\n"
    "                        [--over <T>]\n"
    "\n"
    "M/G/c: Poisson arrivals, any service-time distribution, N servers sharing one queue.\n"
    "An APPROXIMATION unless cv = 1 (then it is exactly M/M/c): Allen-Cunneen's mean wait,\n"
    "M/M/c's mean wait x (1 + cv^2) / 2, with M/M/c's probability of waiting (Erlang C); the\n"
    "wait as that probability times an exponential with the matching mean, plus the two-moment\n"
    "service fit of mg1 (see docs/queueing.md). The output says so.\n"
    "\n"
    "Options:\n"
    "  --servers <N>       number of servers (default 1; 1 gives the M/G/1 mean)\n"
    "  --service-mean <T>  mean service time of one server (required; --service is the same)\n"
    "  --service-cv <X>    coefficient of variation of the service time, standard deviation /\n"
    "                      mean (default 1 = exponential; 0 = constant)\n" QUEUE_OPTIONS
    "\n"
    "Example:\n"
    "  srvlab model mgc --servers 4 --service-mean 4.3ms --service-cv 0.85 --load 750/s\n";

static const char md1_help[] =
    "Usage: srvlab model md1 --service <T> --load <R> [--over <T>]\n"
    "\n"
    "M/D/1: Poisson arrivals, constant service time, one server. Mean wait is half of M/M/1's.\n"
    "Percentiles are exact: the waiting-time distribution is evaluated as a sum of positive\n"
    "terms (Crommelin, Franx), accurate at any load below capacity.\n"
    "\n"
    "Options:\n"
    "  --service <T>       the constant service time (required), e.g. 200us\n" QUEUE_OPTIONS
    "\n"
    "Example:\n"
    "  srvlab model md1 --service 200us --load 4000/s\n";

static void print_capacity_json(const struct model_opts *o, double cap_per_s) {
    struct json_writer w;
    json_writer_init(&w, stdout);
    json_obj_begin(&w, NULL);
    json_int(&w, "servers", o->servers);
    json_num(&w, "service_mean_us", o->service_s * 1e6);
    json_num(&w, "capacity_per_s", cap_per_s);
    json_obj_end(&w);
    json_writer_finish(&w);
}

int cmd_queue_capacity(int argc, char **argv) {
    struct model_opts o;
    unsigned allowed = CLI_BIT(CLI_SERVICE) | CLI_BIT(CLI_SERVERS) | CLI_BIT(CLI_FORMAT);
    int rc = cli_parse(argc, argv, allowed, 0, capacity_help, &o);
    if (rc >= 0 || (rc = cli_require(&o, CLI_SERVICE)))
        return rc;
    double cap = o.servers / o.service_s;
    char buf[32], svc[32];
    if (o.format == CLI_JSON)
        print_capacity_json(&o, cap);
    else if (o.format == CLI_CSV)
        printf("servers,service_mean_us,capacity_per_s\n%d,%.9g,%.9g\n", o.servers,
               o.service_s * 1e6, cap);
    else
        printf("capacity %s (%.6g requests/s) = %d server%s / %s service time\n",
               cli_fmt_rate(buf, sizeof buf, cap), cap, o.servers, o.servers == 1 ? "" : "s",
               cli_fmt_s(svc, sizeof svc, o.service_s));
    return 0;
}

/* ---- Printing one prediction ---- */

/* P(wait > t) and P(response > t) for --over. */
struct over {
    bool is_given, is_approx;
    double t_s, wait_tail, response_tail;
};

static const char *const level_names[PREDICT_NQ] = {"p50", "p90", "p99", "p99.9"};

static void print_row_text(const char *label, double mean_s, const double *q_s) {
    char buf[32];
    printf("%-10s %9s", label, cli_fmt_s(buf, sizeof buf, mean_s));
    for (int i = 0; i < PREDICT_NQ; i++)
        printf(" %9s", cli_fmt_s(buf, sizeof buf, q_s[i]));
    printf("\n");
}

static void print_header_text(const struct predict_params *p, const struct predict_result *r) {
    char svc[32], cap[32], load[32];
    printf("%s queue: service %s", predict_model_name(p->model),
           cli_fmt_s(svc, sizeof svc, p->service_mean_s));
    if (p->model == PREDICT_MG1 || p->model == PREDICT_MGC)
        printf(" (cv %.3g)", p->service_cv);
    printf(", %d server%s, capacity %s, load %s\n", p->servers, p->servers == 1 ? "" : "s",
           cli_fmt_rate(cap, sizeof cap, r->capacity_per_s),
           cli_fmt_rate(load, sizeof load, p->arrival_per_s));
}

static void print_over_text(const struct over *ov) {
    char t[32], w[32], resp[32];
    cli_fmt_s(t, sizeof t, ov->t_s);
    printf("\nP(wait > %s)      %s\nP(response > %s)  %s%s\n", t,
           cli_fmt_pct(w, sizeof w, ov->wait_tail), t,
           cli_fmt_pct(resp, sizeof resp, ov->response_tail),
           ov->is_approx ? "   (approximation)" : "");
}

/* The pooling lesson: the same servers as c separate M/M/1 queues, each fed load / c (random
 * or round-robin hand-off to per-worker queues), wait longer than one shared queue. */
static void print_split_text(const struct predict_params *p) {
    double lambda = p->arrival_per_s / p->servers, mu = 1 / p->service_mean_s;
    char w[32], t[32], q[32];
    printf("\n%d separate M/M/1 queues fed load/%d each: mean wait %s, mean response %s, "
           "p99 response %s\n",
           p->servers, p->servers, cli_fmt_s(w, sizeof w, mm1_wait_mean_s(lambda, mu)),
           cli_fmt_s(t, sizeof t, mm1_response_mean_s(lambda, mu)),
           cli_fmt_s(q, sizeof q, mm1_response_quantile_s(lambda, mu, 0.99)));
}

static void print_text(const struct predict_params *p, const struct predict_result *r,
                       const struct over *ov) {
    char buf[32];
    print_header_text(p, r);
    printf("utilization        %s\n", cli_fmt_pct(buf, sizeof buf, r->utilization));
    printf("P(wait > 0)        %s\n", cli_fmt_pct(buf, sizeof buf, r->wait_prob));
    printf("in system (mean)   %.4g requests (Little: load x mean response)\n", r->in_system_mean);
    printf("in queue (mean)    %.4g requests\n\n", r->in_queue_mean);
    printf("%-10s %9s", "", "mean");
    for (int i = 0; i < PREDICT_NQ; i++)
        printf(" %9s", level_names[i]);
    printf("\n");
    print_row_text("response", r->response_mean_s, r->response_q_s);
    print_row_text("wait", r->wait_mean_s, r->wait_q_s);
    if (ov->is_given)
        print_over_text(ov);
    if (p->model == PREDICT_MMC && p->servers > 1)
        print_split_text(p);
    if (r->is_mean_approx)
        printf("\nnote: Allen-Cunneen approximation: means and percentiles are approximate "
               "unless cv = 1 (see docs/queueing.md)\n");
    else if (r->is_approx)
        printf("\nnote: percentiles are an approximation (exponential wait tail with the exact "
               "mean; see docs/queueing.md)\n");
}

static void print_json_quantiles(struct json_writer *w, const char *key, double mean_s,
                                 const double *q_s) {
    json_obj_begin_inline(w, key);
    json_num(w, "mean", mean_s * 1e6);
    for (int i = 0; i < PREDICT_NQ; i++)
        json_num(w, level_names[i], q_s[i] * 1e6);
    json_obj_end(w);
}

static void print_json(const struct predict_params *p, const struct predict_result *r,
                       const struct over *ov) {
    struct json_writer w;
    json_writer_init(&w, stdout);
    json_obj_begin(&w, NULL);
    json_str(&w, "model", predict_model_name(p->model));
    json_int(&w, "servers", p->servers);
    json_num(&w, "service_mean_us", p->service_mean_s * 1e6);
    json_num(&w, "service_cv", p->model == PREDICT_MD1 ? 0 : p->service_cv);
    json_num(&w, "load_per_s", p->arrival_per_s);
    json_num(&w, "capacity_per_s", r->capacity_per_s);
    json_num(&w, "utilization", r->utilization);
    json_num(&w, "wait_prob", r->wait_prob);
    json_num(&w, "in_system_mean", r->in_system_mean);
    json_num(&w, "in_queue_mean", r->in_queue_mean);
    json_bool(&w, "approximate", r->is_approx);
    json_bool(&w, "approximate_mean", r->is_mean_approx);
    print_json_quantiles(&w, "response_us", r->response_mean_s, r->response_q_s);
    print_json_quantiles(&w, "wait_us", r->wait_mean_s, r->wait_q_s);
    if (ov->is_given) {
        json_num(&w, "over_us", ov->t_s * 1e6);
        json_num(&w, "wait_over_prob", ov->wait_tail);
        json_num(&w, "response_over_prob", ov->response_tail);
    }
    json_obj_end(&w);
    json_writer_finish(&w);
}

static void print_csv(const struct predict_params *p, const struct predict_result *r,
                      const struct over *ov) {
    printf("model,servers,service_mean_us,load_per_s,utilization,wait_prob,in_system_mean,"
           "response_mean_us,response_p50_us,response_p90_us,response_p99_us,response_p999_us,"
           "wait_mean_us,wait_p50_us,wait_p90_us,wait_p99_us,wait_p999_us,approximate%s\n",
           ov->is_given ? ",over_us,wait_over_prob,response_over_prob" : "");
    printf("%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", predict_model_name(p->model), p->servers,
           p->service_mean_s * 1e6, p->arrival_per_s, r->utilization, r->wait_prob,
           r->in_system_mean, r->response_mean_s * 1e6);
    for (int i = 0; i < PREDICT_NQ; i++)
        printf(",%.9g", r->response_q_s[i] * 1e6);
    printf(",%.9g", r->wait_mean_s * 1e6);
    for (int i = 0; i < PREDICT_NQ; i++)
        printf(",%.9g", r->wait_q_s[i] * 1e6);
    printf(",%s", r->is_approx ? "true" : "false");
    if (ov->is_given)
        printf(",%.9g,%.9g,%.9g", ov->t_s * 1e6, ov->wait_tail, ov->response_tail);
    printf("\n");
}

/* ---- The subcommands ---- */

static int run_queue(int argc, char **argv, enum predict_model model, unsigned extra,
                     const char *help) {
    struct model_opts o;
    unsigned allowed = CLI_BIT(CLI_SERVICE) | CLI_BIT(CLI_LOAD) | CLI_BIT(CLI_OVER) |
                       CLI_BIT(CLI_FORMAT) | extra;
    int rc = cli_parse(argc, argv, allowed, 0, help, &o);
    if (rc >= 0 || (rc = cli_require(&o, CLI_SERVICE)) || (rc = cli_require(&o, CLI_LOAD)))
        return rc;
    struct predict_params p = {model, o.load_per_s, o.service_s, o.service_cv, o.servers};
    struct predict_result r;
    if ((rc = predict(&p, &r)) < 0)
        return cli_predict_error(&o, &p, rc);
    struct over ov = {.is_given = o.given & CLI_BIT(CLI_OVER), .t_s = o.over_s};
    if (ov.is_given)
        predict_tails(&p, ov.t_s, &ov.wait_tail, &ov.response_tail, &ov.is_approx);
    if (o.format == CLI_JSON)
        print_json(&p, &r, &ov);
    else if (o.format == CLI_CSV)
        print_csv(&p, &r, &ov);
    else
        print_text(&p, &r, &ov);
    return 0;
}

int cmd_queue_mm1(int argc, char **argv) {
    return run_queue(argc, argv, PREDICT_MM1, 0, mm1_help);
}

int cmd_queue_mmc(int argc, char **argv) {
    return run_queue(argc, argv, PREDICT_MMC, CLI_BIT(CLI_SERVERS), mmc_help);
}

int cmd_queue_mg1(int argc, char **argv) {
    return run_queue(argc, argv, PREDICT_MG1, CLI_BIT(CLI_SERVICE_CV), mg1_help);
}

int cmd_queue_mgc(int argc, char **argv) {
    return run_queue(argc, argv, PREDICT_MGC, CLI_BIT(CLI_SERVERS) | CLI_BIT(CLI_SERVICE_CV),
                     mgc_help);
}

int cmd_queue_md1(int argc, char **argv) {
    return run_queue(argc, argv, PREDICT_MD1, 0, md1_help);
}
