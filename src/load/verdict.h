/* A run's validity verdict (VALID, INCONCLUSIVE, INVALID, with reasons) and its SLO evaluation
 * with confidence intervals (met, violated, inconclusive). verdict_evaluate() is pure: it takes
 * plain measured values and fills a struct; the print and JSON helpers only format that struct. */
#ifndef SRVLAB_VERDICT_H
#define SRVLAB_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "load/hist.h"
#include "load/slo.h"
#include "load/stats.h"
#include "util/json.h"

/* Thresholds (docs/load.md, "Validity verdict"). */
#define VERDICT_RATE_SHORT 0.01       /* achieved rate more than 1% under target: INVALID */
#define VERDICT_SEND_LAG_P99_US 1000  /* p99 send lag over 1 ms: INVALID */
#define VERDICT_ERROR_RATIO 0.01      /* default: errors over 1% of requests: INCONCLUSIVE */
/* Interarrival gaps tested (the first ones after the warm-up). Not more: the test is there to
 * catch arrivals that are not Poisson at all (constant, batched), and with thousands of gaps it
 * also "detects" the microseconds of wake-up jitter every real sender adds, which would mark
 * every healthy run INVALID. */
#define VERDICT_AD_MAX_GAPS 1000
#define VERDICT_LAG1_MAX 100000       /* consecutive latencies used for the correlation */

/* Percentiles the verdict gives intervals for (the summary's columns). */
#define VERDICT_PCT_COUNT 6
extern const double verdict_pcts[VERDICT_PCT_COUNT];

enum verdict_level { VERDICT_VALID, VERDICT_INCONCLUSIVE, VERDICT_INVALID };

/* One check's result. NOTE is reported but leaves the level alone; WARN makes the run
 * INCONCLUSIVE and FAIL makes it INVALID. SKIP: not applicable or not measured. */
enum verdict_status { VERDICT_SKIP, VERDICT_PASS, VERDICT_NOTE, VERDICT_WARN, VERDICT_FAIL };

enum verdict_check_id {
    VERDICT_CHECK_SAMPLES,      /* any latency samples at all; percentiles without support */
    VERDICT_CHECK_RATE,         /* open loop: achieved vs target rate */
    VERDICT_CHECK_SEND_LAG,     /* open loop: p99 of the generator's send lag */
    VERDICT_CHECK_ARRIVALS,     /* Poisson: Anderson-Darling on the gaps actually sent */
    VERDICT_CHECK_INDEPENDENCE, /* lag-1 rank correlation of consecutive latencies */
    VERDICT_CHECK_ERRORS,       /* errors and timeouts over the threshold */
    VERDICT_CHECKS
};

extern const char *const verdict_check_names[VERDICT_CHECKS];

/* What a run measured. Pointers may be NULL where said; nothing is modified or kept. */
struct verdict_input {
    const struct hist *latency;  /* headline latency, microseconds (required) */
    bool is_open_loop;
    bool is_poisson;
    double target_rate_per_s;    /* open loop: the asked rate, all threads together */
    double achieved_rate_per_s;  /* open loop: requests actually sent per second */
    uint64_t sent;               /* open loop: requests sent in the measured window */
    const struct hist *send_lag; /* open loop: generator send lag, us; NULL: not measured */
    /* Poisson runs: gaps between consecutive actual sends of one arrival stream (one thread),
     * in us, after the warm-up; only the first VERDICT_AD_MAX_GAPS are tested. */
    const double *gaps_us;
    size_t gap_count;
    /* Consecutive latencies in completion order (one thread is enough), us; only the first
     * VERDICT_LAG1_MAX are used. */
    const double *latencies_us;
    size_t latency_count;
    /* Results computed elsewhere (srvlab merge reads them from JSON), used when the
     * corresponding sequence above is empty. */
    bool has_ad;
    struct stats_ad ad;
    bool has_lag1;
    struct stats_lag1 lag1;
    uint64_t requests;           /* requests that ended one way or another */
    uint64_t errors;             /* all kinds, timeouts included */
    uint64_t timeouts;           /* their latencies are lower bounds (censored) */
    double max_error_ratio;      /* 0: VERDICT_ERROR_RATIO */
    const struct slo *slo;       /* NULL: no SLO */
    double throughput_per_s;     /* responses per second, for throughput rules */
};

enum verdict_slo_outcome { VERDICT_SLO_MET, VERDICT_SLO_VIOLATED, VERDICT_SLO_INCONCLUSIVE };

struct verdict_slo_rule {
    enum verdict_slo_outcome outcome;
    double actual;         /* point estimate, in the rule's unit */
    double lo, hi;         /* 95% interval; -inf / +inf when a bound does not exist */
    uint64_t need_more;    /* inconclusive: about this many more samples (requests) may decide;
                            * UINT64_MAX when no amount of data would (estimate on the limit) */
};

struct verdict_check {
    enum verdict_status status;
    char detail[200];
};

struct verdict {
    enum verdict_level level;
    struct verdict_check checks[VERDICT_CHECKS];
    bool has_ad;
    struct stats_ad ad;
    bool has_lag1;
    struct stats_lag1 lag1;
    double n;              /* latency samples */
    double n_eff;          /* effective independent samples (lag-1 correlation) */
    struct stats_pct_ci pcts[VERDICT_PCT_COUNT];
    bool has_slo;
    enum verdict_slo_outcome slo_outcome;
    uint64_t slo_need_more; /* the largest need_more among inconclusive rules */
    size_t slo_count;
    struct verdict_slo_rule slo[SLO_MAX_RULES];
};

/* Judges a run. Typical use after a load run (the engine keeps, for thread 0 after the warm-up,
 * the gaps between its actual sends and its latencies in completion order, in fixed arrays of
 * VERDICT_AD_MAX_GAPS and VERDICT_LAG1_MAX doubles):
 *     struct verdict_input in = {.latency = &r->total.latency, .is_open_loop = o->rate_per_s > 0,
 *         .is_poisson = o->arrival == SCHED_POISSON, .target_rate_per_s = o->rate_per_s,
 *         .achieved_rate_per_s = r->achieved_rate_per_s, .sent = r->total.sent,
 *         .send_lag = &r->total.send_lag, .gaps_us = gaps, .gap_count = ngaps,
 *         .latencies_us = lats, .latency_count = nlats, .requests = r->total.requests,
 *         .errors = load_stats_errors(&r->total), .timeouts = r->total.errors[LOAD_ERR_TIMEOUT],
 *         .slo = o->has_slo ? &o->slo : NULL, .throughput_per_s = responses / elapsed_s};
 *     verdict_evaluate(&in, &v); verdict_print(out, &v); verdict_print_slo(out, &o->slo, &v);
 *     verdict_json_write(&w, "verdict", &o->slo, &v); return verdict_exit_status(&v);
 * Returns 0, or -ENOMEM (the tests that need scratch memory are then skipped,
 * out is still complete). Thresholds, rules and exit statuses: docs/load.md. An INVALID run's
 * SLO is inconclusive whatever the numbers say: they describe the generator, not the server. */
int verdict_evaluate(const struct verdict_input *in, struct verdict *out);

/* Exit status for `srvlab load --slo`: 0 met (or no SLO), 1 violated, 3 inconclusive. */
int verdict_exit_status(const struct verdict *v);

/* "VALID", "INCONCLUSIVE", "INVALID"; "met", "violated", "inconclusive"; "pass", "note"... */
const char *verdict_level_name(enum verdict_level level);
const char *verdict_slo_name(enum verdict_slo_outcome outcome);
const char *verdict_status_name(enum verdict_status status);

/* Prints the verdict block (level, each applicable check, percentile intervals), two-space
 * indented, for the summary. */
void verdict_print(FILE *out, const struct verdict *v);

/* Prints the SLO table with intervals and the overall outcome. s must be the SLO judged. */
void verdict_print_slo(FILE *out, const struct slo *s, const struct verdict *v);

/* Writes the verdict as member `key` of the open object (docs/load.md, "verdict" in JSON);
 * s may be NULL (no "slo" member then). */
void verdict_json_write(struct json_writer *w, const char *key, const struct slo *s,
                        const struct verdict *v);

/* Reads back what cannot be recomputed from histograms (the arrival test and the lag-1
 * correlation) from a "verdict" object into in->has_ad/ad and in->has_lag1/lag1. Missing
 * members leave them false. */
void verdict_json_read_tests(const struct json *verdict, struct verdict_input *in);

#endif
