/* The validity verdict and the SLO judged with confidence intervals. Computation first (pure),
 * then formatting (summary text and JSON); no measurement happens here. */
#include "load/verdict.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "net/units.h"

const double verdict_pcts[VERDICT_PCT_COUNT] = {50, 75, 90, 99, 99.9, 99.99};

const char *const verdict_check_names[VERDICT_CHECKS] = {
    [VERDICT_CHECK_SAMPLES] = "samples",   [VERDICT_CHECK_RATE] = "rate",
    [VERDICT_CHECK_SEND_LAG] = "send_lag", [VERDICT_CHECK_ARRIVALS] = "arrivals",
    [VERDICT_CHECK_INDEPENDENCE] = "independence", [VERDICT_CHECK_ERRORS] = "errors",
};

const char *verdict_level_name(enum verdict_level level) {
    static const char *const names[] = {"VALID", "INCONCLUSIVE", "INVALID"};
    return names[level];
}

const char *verdict_slo_name(enum verdict_slo_outcome outcome) {
    static const char *const names[] = {"met", "violated", "inconclusive"};
    return names[outcome];
}

const char *verdict_status_name(enum verdict_status status) {
    static const char *const names[] = {"skip", "pass", "note", "WARN", "FAIL"};
    return names[status];
}

static void set_check(struct verdict *v, enum verdict_check_id id, enum verdict_status status,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_check(struct verdict *v, enum verdict_check_id id, enum verdict_status status,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    v->checks[id].status = status;
    vsnprintf(v->checks[id].detail, sizeof v->checks[id].detail, fmt, ap);
    va_end(ap);
}

static char *dur(char *buf, size_t len, double us) { return units_fmt_duration(buf, len, us); }

/* ---- Checks ------------------------------------------------------------------------------ */

static void check_rate(const struct verdict_input *in, struct verdict *v) {
    if (!in->is_open_loop || !(in->target_rate_per_s > 0))
        return;
    double achieved = in->achieved_rate_per_s, target = in->target_rate_per_s;
    /* The shortfall allowed: 1% of the expected count, but never less than chance explains:
     * three standard deviations of a Poisson count, or two sends at the window's edges. */
    double expected = achieved > 0 ? target * (double)in->sent / achieved : 0;
    double slack = fmax(VERDICT_RATE_SHORT * expected,
                        in->is_poisson ? 3 * sqrt(expected) : 2.0);
    bool is_short = achieved <= 0 || (double)in->sent < expected - slack;
    set_check(v, VERDICT_CHECK_RATE, is_short ? VERDICT_FAIL : VERDICT_PASS,
              "sent %.1f/s of the %.1f/s target (%.2f%%)%s", achieved, target,
              100 * achieved / target,
              is_short ? ": the generator fell behind, the numbers describe it, not the server"
                       : "");
}

static void check_send_lag(const struct verdict_input *in, struct verdict *v) {
    if (!in->is_open_loop || !in->send_lag || !hist_count(in->send_lag))
        return;
    char a[32], b[32];
    int64_t p99 = hist_percentile(in->send_lag, 99);
    bool is_late = p99 > VERDICT_SEND_LAG_P99_US;
    set_check(v, VERDICT_CHECK_SEND_LAG, is_late ? VERDICT_FAIL : VERDICT_PASS,
              "p99 send lag %s (limit %s)%s", dur(a, sizeof a, (double)p99),
              dur(b, sizeof b, VERDICT_SEND_LAG_P99_US),
              is_late ? ": the generator could not send on time" : "");
}

static int check_arrivals(const struct verdict_input *in, struct verdict *v) {
    if (!in->is_open_loop || !in->is_poisson)
        return 0;
    if (in->gap_count >= 5) {
        size_t n = in->gap_count < VERDICT_AD_MAX_GAPS ? in->gap_count : VERDICT_AD_MAX_GAPS;
        double *copy = malloc(n * sizeof *copy);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, in->gaps_us, n * sizeof *copy);
        v->has_ad = stats_ad_exponential(copy, n, &v->ad) == 0;
        free(copy);
    } else if (in->has_ad) {
        v->has_ad = true;
        v->ad = in->ad;
    }
    if (!v->has_ad)
        return 0;
    const struct stats_ad *ad = &v->ad;
    enum verdict_status st = ad->rejects_1 ? VERDICT_FAIL : ad->rejects_5 ? VERDICT_NOTE
                                                                          : VERDICT_PASS;
    set_check(v, VERDICT_CHECK_ARRIVALS, st,
              "Anderson-Darling A*=%.3f on %zu gaps (critical 5%%: %.3f, 1%%: %.3f): %s",
              ad->a2_mod, ad->n, ad->crit_5, ad->crit_1,
              ad->rejects_1   ? "not exponential, the arrivals sent were not Poisson"
              : ad->rejects_5 ? "borderline (rejected at 5%, not at 1%)"
                              : "consistent with Poisson arrivals");
    return 0;
}

static int check_independence(const struct verdict_input *in, struct verdict *v) {
    if (in->latency_count >= 3) {
        size_t n = in->latency_count < VERDICT_LAG1_MAX ? in->latency_count : VERDICT_LAG1_MAX;
        int rc = stats_lag1_spearman(in->latencies_us, n, &v->lag1);
        if (rc == -ENOMEM)
            return rc;
        v->has_lag1 = rc == 0;
    } else if (in->has_lag1) {
        v->has_lag1 = true;
        v->lag1 = in->lag1;
    }
    v->n_eff = v->n;
    if (!v->has_lag1)
        return 0;
    const struct stats_lag1 *l = &v->lag1;
    /* Correlation does not make the numbers wrong; it makes them worth fewer samples, so the
     * intervals below use n_eff and widen instead of changing the level. */
    if (l->is_correlated)
        v->n_eff = stats_effective_n(v->n, l->rho);
    set_check(v, VERDICT_CHECK_INDEPENDENCE, l->is_correlated ? VERDICT_NOTE : VERDICT_PASS,
              "lag-1 rank correlation of latencies %.3f (95%% band +-%.3f, %zu pairs)%s%.0f",
              l->rho, l->band, l->pairs,
              l->is_correlated ? ": correlated; intervals use effective samples "
                               : ": independent; effective samples ",
              v->n_eff);
    return 0;
}

static void check_errors(const struct verdict_input *in, struct verdict *v) {
    if (!in->requests)
        return;
    double limit = in->max_error_ratio > 0 ? in->max_error_ratio : VERDICT_ERROR_RATIO;
    double ratio = (double)in->errors / (double)in->requests;
    bool is_high = ratio > limit;
    set_check(v, VERDICT_CHECK_ERRORS, is_high ? VERDICT_WARN : VERDICT_PASS,
              "%.3g%% errors (%llu, of which %llu timeouts; limit %.3g%%)%s", 100 * ratio,
              (unsigned long long)in->errors, (unsigned long long)in->timeouts, 100 * limit,
              is_high ? ": latencies describe only the requests that succeeded" : "");
}

static void check_samples(const struct verdict_input *in, struct verdict *v) {
    if (v->n == 0) {
        set_check(v, VERDICT_CHECK_SAMPLES, VERDICT_FAIL, "no latency samples");
        return;
    }
    size_t first_short = VERDICT_PCT_COUNT;
    for (size_t i = 0; i < VERDICT_PCT_COUNT; i++) {
        stats_hist_pct_ci(in->latency, verdict_pcts[i], v->n_eff, in->timeouts, &v->pcts[i]);
        if (!v->pcts[i].is_enough && first_short == VERDICT_PCT_COUNT)
            first_short = i;
    }
    if (first_short == VERDICT_PCT_COUNT) {
        set_check(v, VERDICT_CHECK_SAMPLES, VERDICT_PASS, "%.0f samples support every percentile",
                  v->n);
        return;
    }
    const struct stats_pct_ci *c = &v->pcts[first_short];
    if (c->is_censored)
        set_check(v, VERDICT_CHECK_SAMPLES, VERDICT_NOTE,
                  "p%g and above: hidden by timeouts (only lower bounds)", c->p);
    else
        set_check(v, VERDICT_CHECK_SAMPLES, VERDICT_NOTE,
                  "p%g and above: not enough samples (%.0f; need about %llu)", c->p, v->n,
                  (unsigned long long)c->need_n);
}

static enum verdict_level level_of(const struct verdict *v) {
    enum verdict_level level = VERDICT_VALID;
    for (int i = 0; i < VERDICT_CHECKS; i++) {
        if (v->checks[i].status == VERDICT_FAIL)
            return VERDICT_INVALID;
        if (v->checks[i].status == VERDICT_WARN)
            level = VERDICT_INCONCLUSIVE;
    }
    return level;
}

/* ---- SLO with intervals ------------------------------------------------------------------ */

static enum verdict_slo_outcome decide(enum slo_op op, double lo, double hi, double limit) {
    switch (op) {
    case SLO_LT: return hi < limit ? VERDICT_SLO_MET : lo >= limit ? VERDICT_SLO_VIOLATED
                                                                   : VERDICT_SLO_INCONCLUSIVE;
    case SLO_LE: return hi <= limit ? VERDICT_SLO_MET : lo > limit ? VERDICT_SLO_VIOLATED
                                                                   : VERDICT_SLO_INCONCLUSIVE;
    case SLO_GT: return lo > limit ? VERDICT_SLO_MET : hi <= limit ? VERDICT_SLO_VIOLATED
                                                                   : VERDICT_SLO_INCONCLUSIVE;
    case SLO_GE: return lo >= limit ? VERDICT_SLO_MET : hi < limit ? VERDICT_SLO_VIOLATED
                                                                   : VERDICT_SLO_INCONCLUSIVE;
    }
    return VERDICT_SLO_INCONCLUSIVE;
}

static uint64_t more(uint64_t need, double have) {
    if (need == UINT64_MAX)
        return UINT64_MAX;
    return (double)need > have ? need - (uint64_t)have : 1;
}

static void judge_percentile(const struct verdict_input *in, const struct verdict *v,
                             const struct slo_rule *r, struct verdict_slo_rule *out) {
    struct stats_pct_ci c;
    stats_hist_pct_ci(in->latency, r->percentile, v->n_eff, in->timeouts, &c);
    out->actual = (double)c.value_us;
    out->lo = c.ranks.has_lo ? (double)c.lo_us : -INFINITY;
    out->hi = c.is_enough ? (double)c.hi_us : INFINITY;
    out->outcome = decide(r->op, out->lo, out->hi, r->limit);
    if (out->outcome != VERDICT_SLO_INCONCLUSIVE)
        return;
    double q = r->percentile / 100;
    if (c.ranks.has_hi && !c.is_censored) {
        /* Below the limit: values strictly under it for < and >=, up to it for <= and >. */
        int64_t at = r->op == SLO_LT || r->op == SLO_GE ? (int64_t)ceil(r->limit) - 1
                                                         : (int64_t)floor(r->limit);
        double cdf = stats_hist_cdf(in->latency, at);
        out->need_more = more(stats_need_quantile(q, cdf, v->n, v->n_eff), v->n);
    } else if (!c.ranks.has_hi) {
        out->need_more = more(c.need_n, v->n);
    } else {
        out->need_more = UINT64_MAX; /* censored by timeouts: more of the same will not help */
    }
}

static void judge_mean(const struct verdict_input *in, const struct verdict *v,
                       const struct slo_rule *r, struct verdict_slo_rule *out) {
    double mean = hist_mean(in->latency), sd = hist_stddev(in->latency);
    out->actual = mean;
    out->lo = -INFINITY, out->hi = INFINITY;
    if (v->n_eff >= 2) {
        double half = stats_t_quantile(0.975, v->n_eff - 1) * sd / sqrt(v->n_eff);
        out->lo = mean - half, out->hi = mean + half;
    }
    out->outcome = decide(r->op, out->lo, out->hi, r->limit);
    if (out->outcome == VERDICT_SLO_INCONCLUSIVE)
        out->need_more = more(stats_need_mean(mean, sd, r->limit, v->n, v->n_eff), v->n);
}

static void judge_errors(const struct verdict_input *in, const struct slo_rule *r,
                         struct verdict_slo_rule *out) {
    out->actual = in->requests ? (double)in->errors / (double)in->requests : 0;
    stats_wilson(in->errors, in->requests, &out->lo, &out->hi);
    out->outcome = decide(r->op, out->lo, out->hi, r->limit);
    if (out->outcome == VERDICT_SLO_INCONCLUSIVE)
        out->need_more =
            more(stats_need_proportion(in->errors, in->requests, r->limit), (double)in->requests);
}

/* Rules measured exactly (the maximum seen, the throughput achieved) compare as they are. */
static void judge_point(double actual, const struct slo_rule *r, struct verdict_slo_rule *out) {
    out->actual = out->lo = out->hi = actual;
    out->outcome = decide(r->op, actual, actual, r->limit);
}

static void judge_rule(const struct verdict_input *in, const struct verdict *v,
                       const struct slo_rule *r, struct verdict_slo_rule *out) {
    memset(out, 0, sizeof *out);
    bool has_latency = v->n > 0;
    switch (r->metric) {
    case SLO_PERCENTILE: has_latency ? judge_percentile(in, v, r, out) : (void)0; break;
    case SLO_MEAN: has_latency ? judge_mean(in, v, r, out) : (void)0; break;
    case SLO_MAX: judge_point((double)hist_max(in->latency), r, out); break;
    case SLO_ERRORS: judge_errors(in, r, out); break;
    case SLO_THROUGHPUT: judge_point(in->throughput_per_s, r, out); break;
    }
    if (!has_latency && r->metric != SLO_ERRORS && r->metric != SLO_THROUGHPUT) {
        out->outcome = VERDICT_SLO_VIOLATED; /* nothing measured meets no latency objective */
        out->lo = -INFINITY, out->hi = INFINITY;
    }
}

static void judge_slo(const struct verdict_input *in, struct verdict *v) {
    if (!in->slo)
        return;
    v->has_slo = true;
    v->slo_count = in->slo->count;
    bool is_violated = false, is_open = false;
    for (size_t i = 0; i < in->slo->count; i++) {
        struct verdict_slo_rule *r = &v->slo[i];
        judge_rule(in, v, &in->slo->rules[i], r);
        is_violated |= r->outcome == VERDICT_SLO_VIOLATED;
        if (r->outcome == VERDICT_SLO_INCONCLUSIVE) {
            is_open = true;
            if (r->need_more > v->slo_need_more)
                v->slo_need_more = r->need_more;
        }
    }
    v->slo_outcome = is_violated ? VERDICT_SLO_VIOLATED
                     : is_open   ? VERDICT_SLO_INCONCLUSIVE
                                 : VERDICT_SLO_MET;
    if (v->level == VERDICT_INVALID)
        v->slo_outcome = VERDICT_SLO_INCONCLUSIVE;
}

int verdict_evaluate(const struct verdict_input *in, struct verdict *out) {
    memset(out, 0, sizeof *out);
    out->n = out->n_eff = (double)hist_count(in->latency);
    int rc = check_independence(in, out);
    int rc2 = check_arrivals(in, out);
    check_samples(in, out);
    check_rate(in, out);
    check_send_lag(in, out);
    check_errors(in, out);
    out->level = level_of(out);
    judge_slo(in, out);
    return rc < 0 ? rc : rc2;
}

int verdict_exit_status(const struct verdict *v) {
    if (!v->has_slo)
        return 0;
    static const int status[] = {[VERDICT_SLO_MET] = 0, [VERDICT_SLO_VIOLATED] = 1,
                                 [VERDICT_SLO_INCONCLUSIVE] = 3};
    return status[v->slo_outcome];
}

/* ---- Text ------------------------------------------------------------------------------- */

static char *count_str(char *buf, size_t len, uint64_t n) {
    if (n == UINT64_MAX)
        snprintf(buf, len, "unbounded");
    else
        units_fmt_count(buf, len, (double)n);
    return buf;
}

static void print_pct(FILE *out, const struct stats_pct_ci *c) {
    char a[32], b[32], d[32];
    fprintf(out, "    p%-7g %9s  ", c->p, dur(a, sizeof a, (double)c->value_us));
    if (c->is_censored)
        fprintf(out, "at least %s: hidden by timeouts\n", a);
    else if (!c->is_enough)
        fprintf(out, "not enough samples (need about %s)\n", count_str(d, sizeof d, c->need_n));
    else
        fprintf(out, "[%s, %s]\n", c->ranks.has_lo ? dur(a, sizeof a, (double)c->lo_us) : "-inf",
                dur(b, sizeof b, (double)c->hi_us));
}

void verdict_print(FILE *out, const struct verdict *v) {
    fprintf(out, "\n  verdict      %s\n", verdict_level_name(v->level));
    for (int i = 0; i < VERDICT_CHECKS; i++) {
        const struct verdict_check *c = &v->checks[i];
        if (c->status != VERDICT_SKIP)
            fprintf(out, "    %-13s %-5s %s\n", verdict_check_names[i],
                    verdict_status_name(c->status), c->detail);
    }
    if (v->n == 0)
        return;
    fprintf(out, "  percentiles with 95%% confidence intervals (distribution-free, from %.0f "
                 "%ssamples):\n",
            v->n_eff, v->n_eff < v->n ? "effective " : "");
    for (size_t i = 0; i < VERDICT_PCT_COUNT; i++)
        print_pct(out, &v->pcts[i]);
}

static void fmt_value(char *buf, size_t len, const struct slo_rule *r, double x) {
    if (isinf(x))
        snprintf(buf, len, "%s", x < 0 ? "-inf" : "+inf");
    else if (r->metric == SLO_ERRORS)
        snprintf(buf, len, "%.4g%%", 100 * x);
    else if (r->metric == SLO_THROUGHPUT)
        snprintf(buf, len, "%.1f/s", x);
    else
        units_fmt_duration(buf, len, x);
}

void verdict_print_slo(FILE *out, const struct slo *s, const struct verdict *v) {
    fprintf(out, "\n  %-20s %10s %10s  %-23s %s\n", "SLO", "limit", "measured", "95% interval",
            "verdict");
    for (size_t i = 0; i < s->count && i < v->slo_count; i++) {
        const struct slo_rule *r = &s->rules[i];
        const struct verdict_slo_rule *x = &v->slo[i];
        char lim[32], act[32], lo[32], hi[32], iv[72], more_buf[32];
        fmt_value(lim, sizeof lim, r, r->limit);
        fmt_value(act, sizeof act, r, x->actual);
        fmt_value(lo, sizeof lo, r, x->lo);
        fmt_value(hi, sizeof hi, r, x->hi);
        snprintf(iv, sizeof iv, "[%s, %s]", lo, hi);
        fprintf(out, "  %-20s %10s %10s  %-23s %s", r->text, lim, act, iv,
                verdict_slo_name(x->outcome));
        if (x->outcome == VERDICT_SLO_INCONCLUSIVE)
            fprintf(out, ": need about %s more samples", count_str(more_buf, sizeof more_buf,
                                                                  x->need_more));
        fputc('\n', out);
    }
    char more_buf[32];
    fprintf(out, "  SLO %s", verdict_slo_name(v->slo_outcome));
    if (v->level == VERDICT_INVALID)
        fputs(" (the run is INVALID)", out);
    else if (v->slo_outcome == VERDICT_SLO_INCONCLUSIVE)
        fprintf(out, ": need about %s more samples",
                count_str(more_buf, sizeof more_buf, v->slo_need_more));
    fputc('\n', out);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_bound(struct json_writer *w, const char *key, double x) {
    if (isinf(x))
        json_null(w, key);
    else
        json_num(w, key, x);
}

static void json_count(struct json_writer *w, const char *key, uint64_t n) {
    if (n == UINT64_MAX)
        json_null(w, key);
    else
        json_uint(w, key, n);
}

static void json_tests(struct json_writer *w, const struct verdict *v) {
    if (v->has_ad) {
        json_obj_begin_inline(w, "arrivals_ad");
        json_uint(w, "n", v->ad.n);
        json_num(w, "mean_us", v->ad.mean);
        json_num(w, "a2", v->ad.a2);
        json_num(w, "a2_mod", v->ad.a2_mod);
        json_num(w, "crit_5", v->ad.crit_5);
        json_num(w, "crit_1", v->ad.crit_1);
        json_obj_end(w);
    } else {
        json_null(w, "arrivals_ad");
    }
    if (v->has_lag1) {
        json_obj_begin_inline(w, "lag1");
        json_uint(w, "pairs", v->lag1.pairs);
        json_num(w, "rho", v->lag1.rho);
        json_num(w, "band", v->lag1.band);
        json_bool(w, "correlated", v->lag1.is_correlated);
        json_obj_end(w);
    } else {
        json_null(w, "lag1");
    }
}

static void json_pcts(struct json_writer *w, const struct verdict *v) {
    json_arr_begin(w, "percentiles");
    for (size_t i = 0; i < VERDICT_PCT_COUNT && v->n > 0; i++) {
        const struct stats_pct_ci *c = &v->pcts[i];
        json_obj_begin_inline(w, NULL);
        json_num(w, "p", c->p);
        json_int(w, "value_us", c->value_us);
        json_bound(w, "lo_us", c->ranks.has_lo ? (double)c->lo_us : -INFINITY);
        json_bound(w, "hi_us", c->is_enough ? (double)c->hi_us : INFINITY);
        json_bool(w, "enough_samples", c->is_enough);
        json_bool(w, "censored", c->is_censored);
        if (!c->ranks.has_hi)
            json_count(w, "need_samples", c->need_n);
        json_obj_end(w);
    }
    json_arr_end(w);
}

static void json_slo(struct json_writer *w, const struct slo *s, const struct verdict *v) {
    json_obj_begin(w, "slo");
    json_str(w, "outcome", verdict_slo_name(v->slo_outcome));
    json_int(w, "exit_status", verdict_exit_status(v));
    if (v->slo_outcome == VERDICT_SLO_INCONCLUSIVE)
        json_count(w, "need_more_samples", v->slo_need_more);
    json_arr_begin(w, "rules");
    for (size_t i = 0; i < s->count && i < v->slo_count; i++) {
        const struct verdict_slo_rule *x = &v->slo[i];
        json_obj_begin_inline(w, NULL);
        json_str(w, "rule", s->rules[i].text);
        json_num(w, "limit", s->rules[i].limit);
        json_num(w, "actual", x->actual);
        json_bound(w, "lo", x->lo);
        json_bound(w, "hi", x->hi);
        json_str(w, "outcome", verdict_slo_name(x->outcome));
        if (x->outcome == VERDICT_SLO_INCONCLUSIVE)
            json_count(w, "need_more_samples", x->need_more);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
}

void verdict_json_write(struct json_writer *w, const char *key, const struct slo *s,
                        const struct verdict *v) {
    json_obj_begin(w, key);
    json_str(w, "level", verdict_level_name(v->level));
    json_arr_begin(w, "reasons");
    for (int i = 0; i < VERDICT_CHECKS; i++)
        if (v->checks[i].status >= VERDICT_NOTE)
            json_str(w, NULL, v->checks[i].detail);
    json_arr_end(w);
    json_obj_begin(w, "checks");
    for (int i = 0; i < VERDICT_CHECKS; i++) {
        if (v->checks[i].status == VERDICT_SKIP)
            continue;
        json_obj_begin_inline(w, verdict_check_names[i]);
        json_str(w, "status", verdict_status_name(v->checks[i].status));
        json_str(w, "detail", v->checks[i].detail);
        json_obj_end(w);
    }
    json_obj_end(w);
    json_tests(w, v);
    json_num(w, "samples", v->n);
    json_num(w, "effective_samples", v->n_eff);
    json_pcts(w, v);
    if (s && v->has_slo)
        json_slo(w, s, v);
    json_obj_end(w);
}

void verdict_json_read_tests(const struct json *verdict, struct verdict_input *in) {
    const struct json *ad = json_get(verdict, "arrivals_ad");
    if (ad && ad->type == JSON_OBJECT) {
        struct stats_ad *a = &in->ad;
        memset(a, 0, sizeof *a);
        a->n = (size_t)json_integer(json_get(ad, "n"), 0);
        a->mean = json_number(json_get(ad, "mean_us"), 0);
        a->a2 = json_number(json_get(ad, "a2"), 0);
        a->a2_mod = json_number(json_get(ad, "a2_mod"), 0);
        a->crit_5 = json_number(json_get(ad, "crit_5"), 0);
        a->crit_1 = json_number(json_get(ad, "crit_1"), 0);
        a->rejects_5 = a->a2_mod > a->crit_5;
        a->rejects_1 = a->a2_mod > a->crit_1;
        in->has_ad = a->n > 0;
    }
    const struct json *l = json_get(verdict, "lag1");
    if (l && l->type == JSON_OBJECT) {
        in->lag1.pairs = (size_t)json_integer(json_get(l, "pairs"), 0);
        in->lag1.rho = json_number(json_get(l, "rho"), 0);
        in->lag1.band = json_number(json_get(l, "band"), 0);
        in->lag1.is_correlated = json_bool_value(json_get(l, "correlated"), false);
        in->has_lag1 = in->lag1.pairs > 0;
    }
}
