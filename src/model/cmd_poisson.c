/* `srvlab model poisson`: counts of Poisson arrivals in an interval and the time to the next
 * arrival (course notes' grocery store: 3 customers per minute). Math in poisson.c. */
#include <stdio.h>

#include "model/cli.h"
#include "model/cmds.h"
#include "model/poisson.h"
#include "util/json.h"

static const char poisson_help[] =
    "Usage: srvlab model poisson --rate <R> [--interval <T>] [--k <N>] [--wait <T>]\n"
    "\n"
    "Poisson arrivals at rate R. With mean m = R x interval: P(k events) = e^-m m^k / k!, and a\n"
    "table of P(k) and P(<= k) around the mean. With --wait: P(next arrival within T) =\n"
    "1 - e^(-R T), and the mean and percentiles of the time between arrivals.\n"
    "\n"
    "Options:\n"
    "  --rate <R>          arrival rate (required), e.g. 3/min, 5000/s\n"
    "  --interval <T>      observation interval (default 1s), e.g. 1min\n"
    "  --k <N>             also print P(exactly N) and P(at most N) events in the interval\n"
    "  --wait <T>          print P(next arrival within T); alone, it skips the count table\n"
    "  --format <F>        text, csv (the table, or the wait) or json (default text)\n"
    "\n"
    "The table runs from k = 0 (or the 0.01% quantile) to the 99.99% quantile; when that is\n"
    "more than 100 rows, it shows the 100 rows centred on the mean.\n"
    "The mean R x interval and N must not exceed 10 million.\n"
    "\n"
    "Example:\n"
    "  srvlab model poisson --rate 3/min --interval 1min --k 5 --wait 30s\n";

#define POISSON_MAX_MEAN 1e7
#define POISSON_MAX_ROWS 100

struct table {
    unsigned long first, last; /* k range printed */
};

static struct table table_range(double mean, const struct model_opts *o) {
    struct table t = {poisson_quantile(mean, 1e-4), poisson_quantile(mean, 1 - 1e-4)};
    if (mean < 10)
        t.first = 0;
    if ((o->given & CLI_BIT(CLI_K)) && o->k > t.last && o->k - t.first < POISSON_MAX_ROWS)
        t.last = o->k;
    if (t.last - t.first >= POISSON_MAX_ROWS) {
        /* Too wide: the rows nearest the mean carry the most probability. */
        double first = mean - POISSON_MAX_ROWS / 2;
        t.first = first > 0 ? (unsigned long)first : 0;
        t.last = t.first + POISSON_MAX_ROWS - 1;
    }
    return t;
}

static bool wants_counts(const struct model_opts *o) {
    return !(o->given & CLI_BIT(CLI_WAIT)) || (o->given & (CLI_BIT(CLI_K) | CLI_BIT(CLI_INTERVAL)));
}

static void print_counts_text(const struct model_opts *o, double mean) {
    char rate[32], iv[32], buf[32];
    printf("Poisson arrivals: rate %s over %s: mean %.6g arrivals per interval\n",
           cli_fmt_rate(rate, sizeof rate, o->rate_per_s), cli_fmt_s(iv, sizeof iv, o->interval_s),
           mean);
    if (o->given & CLI_BIT(CLI_K)) {
        unsigned long k = (unsigned long)o->k;
        printf("P(exactly %lu)      %s  (%.6g)\n", k,
               cli_fmt_pct(buf, sizeof buf, poisson_pmf(mean, k)), poisson_pmf(mean, k));
        printf("P(at most %lu)      %s  (%.6g)\n", k,
               cli_fmt_pct(buf, sizeof buf, poisson_cdf(mean, k)), poisson_cdf(mean, k));
    }
    struct table t = table_range(mean, o);
    double cdf = t.first > 0 ? poisson_cdf(mean, t.first - 1) : 0;
    printf("\n%8s %12s %12s\n", "k", "P(k)", "P(<=k)");
    for (unsigned long k = t.first; k <= t.last; k++) {
        cdf += poisson_pmf(mean, k);
        printf("%8lu %12.6g %12.6g\n", k, poisson_pmf(mean, k), cdf > 1 ? 1 : cdf);
    }
}

static void print_wait_text(const struct model_opts *o) {
    char t[32], p[32], m[32], q50[32], q99[32];
    double r = o->rate_per_s;
    printf("%sP(next arrival within %s)  %s  (1 - e^(-rate t))\n",
           wants_counts(o) ? "\n" : "", cli_fmt_s(t, sizeof t, o->wait_s),
           cli_fmt_pct(p, sizeof p, poisson_arrival_within(r, o->wait_s)));
    printf("time between arrivals: mean %s, p50 %s, p99 %s\n", cli_fmt_s(m, sizeof m, 1 / r),
           cli_fmt_s(q50, sizeof q50, poisson_gap_quantile_s(r, 0.5)),
           cli_fmt_s(q99, sizeof q99, poisson_gap_quantile_s(r, 0.99)));
}

static void print_table_json(struct json_writer *w, const struct model_opts *o, double mean) {
    struct table t = table_range(mean, o);
    double cdf = t.first > 0 ? poisson_cdf(mean, t.first - 1) : 0;
    json_arr_begin(w, "table");
    for (unsigned long k = t.first; k <= t.last; k++) {
        cdf += poisson_pmf(mean, k);
        json_obj_begin_inline(w, NULL);
        json_uint(w, "k", k);
        json_num(w, "p", poisson_pmf(mean, k));
        json_num(w, "cdf", cdf > 1 ? 1 : cdf);
        json_obj_end(w);
    }
    json_arr_end(w);
}

static void print_json(const struct model_opts *o, double mean) {
    struct json_writer w;
    json_writer_init(&w, stdout);
    json_obj_begin(&w, NULL);
    json_num(&w, "rate_per_s", o->rate_per_s);
    json_num(&w, "interval_us", o->interval_s * 1e6);
    json_num(&w, "mean", mean);
    if (o->given & CLI_BIT(CLI_K)) {
        json_uint(&w, "k", o->k);
        json_num(&w, "p_exactly_k", poisson_pmf(mean, (unsigned long)o->k));
        json_num(&w, "p_at_most_k", poisson_cdf(mean, (unsigned long)o->k));
    }
    if (o->given & CLI_BIT(CLI_WAIT)) {
        json_num(&w, "wait_us", o->wait_s * 1e6);
        json_num(&w, "p_arrival_within_wait", poisson_arrival_within(o->rate_per_s, o->wait_s));
    }
    print_table_json(&w, o, mean);
    json_obj_end(&w);
    json_writer_finish(&w);
}

static void print_csv(const struct model_opts *o, double mean) {
    if (!wants_counts(o)) {
        printf("rate_per_s,wait_us,p_arrival_within_wait\n%.9g,%.9g,%.9g\n", o->rate_per_s,
               o->wait_s * 1e6, poisson_arrival_within(o->rate_per_s, o->wait_s));
        return;
    }
    struct table t = table_range(mean, o);
    double cdf = t.first > 0 ? poisson_cdf(mean, t.first - 1) : 0;
    printf("k,p,cdf\n");
    for (unsigned long k = t.first; k <= t.last; k++) {
        cdf += poisson_pmf(mean, k);
        printf("%lu,%.9g,%.9g\n", k, poisson_pmf(mean, k), cdf > 1 ? 1 : cdf);
    }
}

int cmd_poisson(int argc, char **argv) {
    struct model_opts o;
    unsigned allowed = CLI_BIT(CLI_RATE) | CLI_BIT(CLI_INTERVAL) | CLI_BIT(CLI_K) |
                       CLI_BIT(CLI_WAIT) | CLI_BIT(CLI_FORMAT);
    int rc = cli_parse(argc, argv, allowed, 0, poisson_help, &o);
    if (rc >= 0 || (rc = cli_require(&o, CLI_RATE)))
        return rc;
    double mean = o.rate_per_s * o.interval_s;
    if (mean > POISSON_MAX_MEAN)
        return cli_usage_error(&o, "rate x interval = %.3g events is above the limit of 1e7",
                               mean);
    if (o.k > POISSON_MAX_MEAN)
        return cli_usage_error(&o, "--k %llu is above the limit of 1e7",
                               (unsigned long long)o.k);
    if (o.format == CLI_JSON) {
        print_json(&o, mean);
    } else if (o.format == CLI_CSV) {
        print_csv(&o, mean);
    } else {
        if (wants_counts(&o))
            print_counts_text(&o, mean);
        if (o.given & CLI_BIT(CLI_WAIT))
            print_wait_text(&o);
    }
    return 0;
}
