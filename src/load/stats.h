/* The statistics behind srvlab's verdicts: a goodness-of-fit test for Poisson arrivals, serial
 * correlation, distribution-free percentile confidence intervals, sample sizes and two-run
 * comparisons. Pure functions over plain values: no I/O, no clock; allocation only where said. */
#ifndef SRVLAB_STATS_H
#define SRVLAB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/hist.h"

#define STATS_Z95 1.959963984540054 /* two-sided 95%: Phi^-1(0.975) */

/* ---- Anderson-Darling test against the exponential distribution ------------------------- */

/* Stephens' case 3 (mean estimated from the sample): the statistic, its small-sample
 * modification A*, and the critical values of A* at 5% and 1%. */
struct stats_ad {
    size_t n;
    double mean;    /* estimated mean of the sample, in the sample's unit */
    double a2;      /* A^2 with F(x) = 1 - exp(-x / mean) */
    double a2_mod;  /* A* = A^2 (1 + 0.6 / n), compared with the critical values */
    double crit_5;  /* 1.341 */
    double crit_1;  /* 1.957 */
    bool rejects_5; /* A* > crit_5: not exponential at the 5% level */
    bool rejects_1; /* A* > crit_1: not exponential at the 1% level */
};

/* Tests x[0..n) (non-negative, e.g. the gaps between consecutive sends) against an exponential
 * distribution whose mean is estimated from x. Sorts x in place. Returns 0, or -EINVAL when
 * n < 5, a value is negative or not finite, or the mean is 0 (out is then zeroed). */
int stats_ad_exponential(double *x, size_t n, struct stats_ad *out);

/* ---- Serial correlation ----------------------------------------------------------------- */

/* Lag-1 Spearman rank correlation of a sequence: rho of the pairs (x[i], x[i+1]). Under
 * independence rho falls within +-band (band = 1.96 / sqrt(pairs)) 95% of the time. */
struct stats_lag1 {
    size_t pairs;
    double rho;   /* in [-1, 1]; 0 when a side is constant */
    double band;  /* half-width of the 95% band around 0 under independence */
    bool is_correlated; /* |rho| > band */
};

/* Computes the lag-1 rank correlation of x[0..n) in order (ties get their average rank).
 * Allocates scratch memory and frees it. Returns 0, -EINVAL when n < 3, or -ENOMEM. */
int stats_lag1_spearman(const double *x, size_t n, struct stats_lag1 *out);

/* Effective number of independent samples among n whose lag-1 correlation is rho, under a
 * first-order autoregressive approximation: n (1 - rho) / (1 + rho) for rho > 0, n otherwise;
 * at least 1 when n >= 1. Variances of means and quantiles scale with 1 / n_eff. */
double stats_effective_n(double n, double rho);

/* ---- Percentile confidence intervals from order statistics ------------------------------ */

/* Ranks (1-based order statistics) bracketing the q-quantile with >= 95% confidence:
 * P(x_(lo) <= quantile < x_(hi)) >= 0.95. */
struct stats_ranks {
    uint64_t lo, hi;
    bool has_lo; /* false: no order statistic is low enough (the bound is -infinity) */
    bool has_hi; /* false: no order statistic is high enough: "not enough samples" */
};

/* Ranks for quantile q in (0, 1) of n samples. The count of samples below the quantile is
 * Binomial(n, q); lo is the largest rank with P(B < lo) <= 2.5%, hi the smallest with
 * P(B >= hi) <= 2.5%. Exact binomial sums while the rarer side's mean n min(q, 1-q) is under
 * 2000, a normal approximation with continuity correction above. n_eff <= n (serially
 * correlated samples, see stats_effective_n) widens the interval: ranks are computed for
 * n_eff samples and scaled to n. */
struct stats_ranks stats_quantile_ranks(uint64_t n, double n_eff, double q);

/* Fewest samples for which the q-quantile's upper rank exists: the smallest n with
 * q^n <= 2.5%, i.e. about 3.7 / (1 - q) (p99: 368, p99.9: 3,688, p99.99: 36,887). */
uint64_t stats_min_samples(double q);

/* A percentile of a histogram with its 95% interval. */
struct stats_pct_ci {
    double p;           /* percentile in (0, 100] */
    int64_t value_us;   /* hist_percentile(h, p) */
    int64_t lo_us;      /* lower bound: lowest value of the bucket of rank lo; 0 without it */
    int64_t hi_us;      /* upper bound: highest value of the bucket of rank hi (capped at max) */
    struct stats_ranks ranks;
    bool is_enough;     /* the upper bound exists and is not hidden by timeouts */
    bool is_censored;   /* the upper rank falls among timed-out samples (lower bounds only) */
    uint64_t need_n;    /* when !is_enough: samples needed for the upper bound to exist */
};

/* Value of the rank-th smallest sample (1-based) of h, as the lowest (is_upper false) or
 * highest (true) value of its bucket, clamped to [min, max]. 0 for an empty histogram. */
int64_t stats_hist_rank_value(const struct hist *h, uint64_t rank, bool is_upper);

/* Interval for percentile p of h. `censored` samples are known only as lower bounds (timeouts,
 * recorded at the timeout): a rank among the top `censored` has no upper bound. n_eff as for
 * stats_quantile_ranks (pass hist_count(h) when samples are independent). */
void stats_hist_pct_ci(const struct hist *h, double p, double n_eff, uint64_t censored,
                       struct stats_pct_ci *out);

/* Fraction of h's samples at or below `value` (whole buckets: values sharing value's bucket
 * count as below). 0 for an empty histogram. */
double stats_hist_cdf(const struct hist *h, int64_t value);

/* ---- Sample sizes ----------------------------------------------------------------------- */

/* Samples needed (in all) before the 95% interval of the q-quantile excludes a limit at which
 * the empirical distribution function is `cdf_at_limit`, assuming it stays there:
 * z^2 q (1-q) / (cdf - q)^2, scaled by n / n_eff for correlated samples, and at least
 * stats_min_samples(q). UINT64_MAX when cdf_at_limit == q (no amount of data decides). */
uint64_t stats_need_quantile(double q, double cdf_at_limit, double n, double n_eff);

/* Samples needed before the 95% interval of a mean excludes `limit`: (z sd / (mean - limit))^2,
 * scaled by n / n_eff. UINT64_MAX when mean == limit. */
uint64_t stats_need_mean(double mean, double sd, double limit, double n, double n_eff);

/* Wilson 95% interval of a proportion k / n (errors among requests); [0, 1] when n is 0. */
void stats_wilson(uint64_t k, uint64_t n, double *lo, double *hi);

/* Requests needed before the Wilson interval of the observed ratio k / n excludes limit,
 * assuming the ratio stays. UINT64_MAX when the ratio equals the limit. */
uint64_t stats_need_proportion(uint64_t k, uint64_t n, double limit);

/* ---- Comparing two runs ----------------------------------------------------------------- */

/* Student's t quantile: P(T <= t) = prob for df > 0 degrees of freedom (prob in (0, 1)). Exact
 * for df 1 and 2, a Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5) from df 3 on. */
double stats_t_quantile(double prob, double df);

/* Inverse of the standard normal distribution function, prob in (0, 1) (bisection on erfc,
 * to about 1e-15). */
double stats_normal_quantile(double prob);

/* A difference B - A with its 95% interval. */
struct stats_diff {
    double a, b;       /* the two estimates */
    double diff;       /* b - a */
    double lo, hi;     /* 95% interval of b - a */
    double df;         /* Welch degrees of freedom (means only) */
    bool is_enough;    /* both sides had enough samples to say anything */
    bool is_significant; /* the interval excludes 0 */
};

/* Welch's t interval for the difference of two means, each given by mean, standard deviation
 * and effective sample size (>= 2 each, or is_enough is false). */
void stats_welch(double mean_a, double sd_a, double n_a, double mean_b, double sd_b, double n_b,
                 struct stats_diff *out);

/* Interval for the difference of the p-th percentiles of two histograms, after Price and
 * Bonett: each side's standard error is its distribution-free 95% interval's width / (2 z),
 * combined in quadrature. n_eff_a/b as for stats_hist_pct_ci. is_enough is false when either
 * side lacks an upper bound. */
void stats_pct_diff(const struct hist *a, double n_eff_a, const struct hist *b, double n_eff_b,
                    double p, struct stats_diff *out);

#endif
