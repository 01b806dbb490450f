/* Unit tests for src/load/stats.c: the Anderson-Darling test, lag-1 rank correlation, order-
 * statistic intervals (exact coverage, the "not enough samples" rule), sample sizes, t and
 * normal quantiles, Welch and percentile differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/stats.h"
#include "rng.h"

static double normal(void) {
    return sqrt(-2 * log1p(-uniform())) * cos(2 * M_PI * uniform());
}

/* ---- Anderson-Darling ---- */

static void test_ad_matches_a_hand_computed_value(void **state) {
    double x[] = {0.3, 1.2, 0.05, 2.5, 0.7, 0.9, 4.1, 0.15, 1.6, 0.45};
    struct stats_ad ad;
    assert_int_equal(stats_ad_exponential(x, 10, &ad), 0);
    /* Computed independently from the textbook formula (Python, math.log). */
    assert_true(fabs(ad.a2 - 0.116661546518) < 1e-9);
    assert_true(fabs(ad.a2_mod - 0.123661239309) < 1e-9);
    assert_true(ad.crit_5 == 1.341 && ad.crit_1 == 1.957);
    assert_false(ad.rejects_5);
}

static void test_ad_accepts_exponential_gaps(void **state) {
    enum { N = 5000 };
    static double x[N];
    int rejected = 0;
    for (int run = 0; run < 20; run++) {
        rng_state = 1000 + run;
        for (int i = 0; i < N; i++)
            x[i] = expo(250);
        struct stats_ad ad;
        assert_int_equal(stats_ad_exponential(x, N, &ad), 0);
        assert_true(fabs(ad.mean - 250) < 15);
        rejected += ad.rejects_1;
    }
    /* At the 1% level, 20 honest samples should almost never see two rejections. */
    assert_true(rejected <= 1);
}

static void test_ad_rejects_constant_gaps(void **state) {
    enum { N = 5000 };
    static double x[N];
    for (int i = 0; i < N; i++)
        x[i] = 100;
    struct stats_ad ad;
    assert_int_equal(stats_ad_exponential(x, N, &ad), 0);
    assert_true(ad.rejects_1 && ad.a2_mod > 100);
}

static void test_ad_rejects_uniform_and_batched_gaps(void **state) {
    enum { N = 3000 };
    static double x[N];
    rng_state = 7;
    for (int i = 0; i < N; i++)
        x[i] = 200 * uniform();
    struct stats_ad ad;
    assert_int_equal(stats_ad_exponential(x, N, &ad), 0);
    assert_true(ad.rejects_1);
    /* A generator that fell behind sends in bursts: many zero gaps, then long ones. */
    for (int i = 0; i < N; i++)
        x[i] = i % 4 ? 0 : expo(400);
    assert_int_equal(stats_ad_exponential(x, N, &ad), 0);
    assert_true(ad.rejects_1);
}

static void test_ad_refuses_bad_input(void **state) {
    double x[] = {1, 2, 3, -1, 5, 6};
    struct stats_ad ad;
    assert_int_equal(stats_ad_exponential(x, 6, &ad), -EINVAL);
    double zeros[] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(stats_ad_exponential(zeros, 6, &ad), -EINVAL);
    assert_int_equal(stats_ad_exponential(x, 4, &ad), -EINVAL);
    double nan_x[] = {1, 2, NAN, 4, 5};
    assert_int_equal(stats_ad_exponential(nan_x, 5, &ad), -EINVAL);
}

/* ---- Lag-1 correlation ---- */

static void test_lag1_independent_samples_stay_in_the_band(void **state) {
    enum { N = 20000 };
    static double x[N];
    rng_state = 42;
    for (int i = 0; i < N; i++)
        x[i] = expo(1000);
    struct stats_lag1 l;
    assert_int_equal(stats_lag1_spearman(x, N, &l), 0);
    assert_int_equal(l.pairs, N - 1);
    assert_true(fabs(l.band - 1.96 / sqrt(N - 1)) < 1e-3);
    assert_false(l.is_correlated);
    assert_true(stats_effective_n(N, l.rho) >= 0.9 * N);
}

static void test_lag1_random_walk_is_flagged(void **state) {
    enum { N = 5000 };
    static double x[N];
    rng_state = 43;
    double level = 10000;
    for (int i = 0; i < N; i++) {
        level += 50 * normal();
        x[i] = fabs(level);
    }
    struct stats_lag1 l;
    assert_int_equal(stats_lag1_spearman(x, N, &l), 0);
    assert_true(l.is_correlated && l.rho > 0.9);
    assert_true(stats_effective_n(N, l.rho) < 0.06 * N);
}

static void test_lag1_alternating_is_negative_and_constant_is_zero(void **state) {
    double alt[100], flat[100];
    for (int i = 0; i < 100; i++)
        alt[i] = i % 2 ? 10 : 1, flat[i] = 5;
    struct stats_lag1 l;
    assert_int_equal(stats_lag1_spearman(alt, 100, &l), 0);
    assert_true(l.rho < -0.99 && l.is_correlated);
    assert_true(stats_effective_n(100, l.rho) == 100); /* negative rho does not shrink n */
    assert_int_equal(stats_lag1_spearman(flat, 100, &l), 0);
    assert_true(l.rho == 0 && !l.is_correlated);
    assert_int_equal(stats_lag1_spearman(flat, 2, &l), -EINVAL);
}

/* ---- Order-statistic intervals ---- */

static double binom_pmf(uint64_t n, uint64_t k, double q) {
    return exp(lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1) +
               (double)k * log(q) + (double)(n - k) * log1p(-q));
}

/* Exact P(lo <= B <= hi - 1) for B ~ Binomial(n, q), by direct summation. */
static double coverage(uint64_t n, double q, struct stats_ranks r) {
    uint64_t from = r.has_lo ? r.lo : 0, to = r.has_hi ? r.hi - 1 : n;
    double p = 0;
    for (uint64_t k = from; k <= to; k++)
        p += binom_pmf(n, k, q);
    return p;
}

static void test_ranks_median_of_ten_is_second_to_ninth(void **state) {
    struct stats_ranks r = stats_quantile_ranks(10, 10, 0.5);
    assert_true(r.has_lo && r.has_hi);
    assert_int_equal(r.lo, 2);
    assert_int_equal(r.hi, 9);
    assert_true(fabs(coverage(10, 0.5, r) - (1 - 22.0 / 1024)) < 1e-12);
}

static void test_ranks_cover_at_least_95_percent(void **state) {
    const uint64_t ns[] = {20, 50, 100, 368, 1000, 5000, 40000};
    const double qs[] = {0.1, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (size_t j = 0; j < sizeof qs / sizeof qs[0]; j++) {
            struct stats_ranks r = stats_quantile_ranks(ns[i], (double)ns[i], qs[j]);
            if (!r.has_hi)
                continue;
            double c = coverage(ns[i], qs[j], r);
            if (c < 0.95 - 1e-9)
                fail_msg("n=%llu q=%g ranks %llu..%llu cover %g", (unsigned long long)ns[i], qs[j],
                         (unsigned long long)r.lo, (unsigned long long)r.hi, c);
            /* Not needlessly wide either: the exact interval is the tightest of its kind. */
            assert_true(c < 0.99 || ns[i] < 100 || (qs[j] > 0.99 && ns[i] < 50000));
        }
    }
}

static void test_ranks_normal_and_exact_agree_at_the_switch(void **state) {
    /* Rare-side mean 2000 is where the exact walk hands over to the normal approximation. */
    struct stats_ranks below = stats_quantile_ranks(3999, 3999, 0.5);
    struct stats_ranks above = stats_quantile_ranks(4001, 4001, 0.5);
    assert_true(llabs((long long)below.lo - (long long)above.lo) <= 2);
    assert_true(llabs((long long)below.hi - (long long)above.hi) <= 3);
    struct stats_ranks big = stats_quantile_ranks(1000000, 1e6, 0.99);
    double c = coverage(1000000, 0.99, big);
    assert_true(c > 0.949 && c < 0.96);
}

static void test_min_samples_rule(void **state) {
    assert_int_equal(stats_min_samples(0.99), 368);
    assert_int_equal(stats_min_samples(0.999), 3688);
    assert_int_equal(stats_min_samples(0.9999), 36887);
    assert_int_equal(stats_min_samples(0.5), 6);
    /* The rule is exactly where the upper rank starts to exist. */
    for (double q = 0.9; q < 0.99995; q = 1 - (1 - q) / 3) {
        uint64_t n = stats_min_samples(q);
        assert_true(stats_quantile_ranks(n, (double)n, q).has_hi);
        assert_false(stats_quantile_ranks(n - 1, (double)(n - 1), q).has_hi);
    }
}

static void test_ranks_widen_with_effective_n(void **state) {
    struct stats_ranks full = stats_quantile_ranks(10000, 10000, 0.5);
    struct stats_ranks third = stats_quantile_ranks(10000, 10000 / 3.0, 0.5);
    assert_true(third.lo < full.lo && third.hi > full.hi);
    /* The same p99.9 that 10000 independent samples support, 2000 effective ones do not. */
    assert_true(stats_quantile_ranks(10000, 10000, 0.999).has_hi);
    assert_false(stats_quantile_ranks(10000, 2000, 0.999).has_hi);
}

static void fill_expo(struct hist *h, int n, double mean, uint64_t seed) {
    rng_state = seed;
    for (int i = 0; i < n; i++)
        hist_record(h, (int64_t)expo(mean));
}

static void test_hist_ci_marks_p9999_of_5000_samples(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    fill_expo(&h, 5000, 1000, 5);
    struct stats_pct_ci c;
    stats_hist_pct_ci(&h, 99.99, 5000, 0, &c);
    assert_false(c.is_enough);
    assert_int_equal(c.need_n, 36887);
    stats_hist_pct_ci(&h, 50, 5000, 0, &c);
    assert_true(c.is_enough && c.ranks.has_lo);
    assert_true(c.lo_us <= c.value_us && c.value_us <= c.hi_us);
    /* The true median of the exponential, 1000 ln 2 = 693 us, lies inside. */
    assert_true(c.lo_us <= 693 && 693 <= c.hi_us);
    stats_hist_pct_ci(&h, 99, 5000, 0, &c);
    assert_true(c.is_enough && c.lo_us <= 4605 && 4605 <= c.hi_us * 1.001);
    /* Timeouts: the 60 largest values are only lower bounds, so p99 has no upper bound. */
    stats_hist_pct_ci(&h, 99, 5000, 60, &c);
    assert_true(c.is_censored && !c.is_enough);
    stats_hist_pct_ci(&h, 50, 5000, 6000, &c); /* more timeouts than samples: all censored */
    assert_true(c.is_censored && !c.is_enough);
    hist_free(&h);
}

static void test_hist_ci_covers_the_true_median_95_percent_of_the_time(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    int covered = 0, trials = 400;
    for (int t = 0; t < trials; t++) {
        hist_reset(&h);
        fill_expo(&h, 200, 10000, 100 + t);
        struct stats_pct_ci c;
        stats_hist_pct_ci(&h, 50, 200, 0, &c);
        covered += c.lo_us <= 6931 && 6931 <= c.hi_us;
    }
    assert_true(covered >= 0.93 * trials); /* 95% nominal, >= 95% exact, minus chance */
    hist_free(&h);
}

static void test_hist_rank_value_and_cdf(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int v = 1; v <= 100; v++)
        hist_record(&h, v);
    assert_int_equal(stats_hist_rank_value(&h, 1, false), 1);
    assert_int_equal(stats_hist_rank_value(&h, 37, true), 37);
    assert_int_equal(stats_hist_rank_value(&h, 100, true), 100);
    assert_true(stats_hist_cdf(&h, 25) == 0.25);
    assert_true(stats_hist_cdf(&h, 0) == 0);
    assert_true(stats_hist_cdf(&h, 1000) == 1);
    hist_free(&h);
}

/* ---- Sample sizes ---- */

static void test_need_quantile_and_mean(void **state) {
    /* p99 with 98.9% of samples under the limit: z^2 .99 .01 / .001^2 = 38,032. */
    uint64_t n = stats_need_quantile(0.99, 0.989, 1000, 1000);
    assert_true(n >= 38000 && n <= 38100);
    assert_int_equal(stats_need_quantile(0.99, 0.99, 1000, 1000), UINT64_MAX);
    /* Correlation doubles what is needed when n_eff is half of n. */
    assert_true(stats_need_quantile(0.99, 0.989, 1000, 500) >= 2 * 38000);
    /* Never below the minimum for the upper rank. */
    assert_int_equal(stats_need_quantile(0.9999, 0.5, 100, 100), 36887);
    /* Mean 1000 sd 500, limit 1010: (1.96 * 500 / 10)^2 = 9,604. */
    n = stats_need_mean(1000, 500, 1010, 100, 100);
    assert_true(n >= 9600 && n <= 9610);
}

static void test_wilson_and_need_proportion(void **state) {
    double lo, hi;
    stats_wilson(0, 100, &lo, &hi);
    assert_true(lo < 1e-12 && fabs(hi - 3.8415 / 103.8415) < 1e-4);
    stats_wilson(50, 100, &lo, &hi);
    assert_true(fabs(lo - 0.4038) < 1e-3 && fabs(hi - 0.5962) < 1e-3);
    /* No errors among 100: errors<0.1% needs about 3.84 / 0.001 requests in all. */
    uint64_t n = stats_need_proportion(0, 100, 0.001);
    assert_true(n > 3800 && n < 3850);
}

/* ---- Distributions and differences ---- */

static void test_t_and_normal_quantiles(void **state) {
    assert_true(fabs(stats_normal_quantile(0.975) - 1.959963985) < 1e-8);
    assert_true(fabs(stats_normal_quantile(0.5)) < 1e-12);
    assert_true(fabs(stats_normal_quantile(0.001) + 3.090232306) < 1e-8);
    const struct {
        double df, t;
    } table[] = {{1, 12.7062}, {2, 4.3027}, {3, 3.1824}, {5, 2.5706}, {10, 2.2281},
                 {30, 2.0423}, {120, 1.9799}, {1e9, 1.9600}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double t = stats_t_quantile(0.975, table[i].df);
        if (fabs(t - table[i].t) > 0.005)
            fail_msg("t(0.975, %g) = %g, want %g", table[i].df, t, table[i].t);
    }
}

static void test_welch_interval(void **state) {
    struct stats_diff d;
    stats_welch(10, 2, 30, 12, 2, 30, &d);
    /* se = sqrt(8/30) = 0.5164, df = 58, t = 2.0017: half-width 1.0337. */
    assert_true(fabs(d.df - 58) < 1e-9);
    assert_true(fabs(d.lo - (2 - 1.0337)) < 1e-3 && fabs(d.hi - (2 + 1.0337)) < 1e-3);
    assert_true(d.is_significant && d.is_enough);
    stats_welch(10, 2, 30, 10.5, 2, 30, &d);
    assert_false(d.is_significant);
    stats_welch(10, 2, 1, 10.5, 2, 30, &d);
    assert_false(d.is_enough || d.is_significant);
}

static void test_pct_diff_same_and_shifted(void **state) {
    struct hist a, b, c;
    assert_int_equal(hist_init(&a, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    assert_int_equal(hist_init(&b, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    assert_int_equal(hist_init(&c, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    fill_expo(&a, 5000, 1000, 11);
    fill_expo(&b, 5000, 1000, 12);
    fill_expo(&c, 5000, 1200, 13);
    const double ps[] = {50, 90, 99};
    for (size_t i = 0; i < 3; i++) {
        struct stats_diff d;
        stats_pct_diff(&a, 5000, &b, 5000, ps[i], &d);
        assert_true(d.is_enough && !d.is_significant);
        assert_true(d.lo <= d.diff && d.diff <= d.hi);
        stats_pct_diff(&a, 5000, &c, 5000, ps[i], &d);
        if (ps[i] < 99)
            assert_true(d.is_significant && d.lo > 0);
    }
    struct stats_diff d;
    stats_pct_diff(&a, 5000, &c, 5000, 99.99, &d);
    assert_false(d.is_enough || d.is_significant);
    hist_free(&a), hist_free(&b), hist_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ad_matches_a_hand_computed_value),
        cmocka_unit_test(test_ad_accepts_exponential_gaps),
        cmocka_unit_test(test_ad_rejects_constant_gaps),
        cmocka_unit_test(test_ad_rejects_uniform_and_batched_gaps),
        cmocka_unit_test(test_ad_refuses_bad_input),
        cmocka_unit_test(test_lag1_independent_samples_stay_in_the_band),
        cmocka_unit_test(test_lag1_random_walk_is_flagged),
        cmocka_unit_test(test_lag1_alternating_is_negative_and_constant_is_zero),
        cmocka_unit_test(test_ranks_median_of_ten_is_second_to_ninth),
        cmocka_unit_test(test_ranks_cover_at_least_95_percent),
        cmocka_unit_test(test_ranks_normal_and_exact_agree_at_the_switch),
        cmocka_unit_test(test_min_samples_rule),
        cmocka_unit_test(test_ranks_widen_with_effective_n),
        cmocka_unit_test(test_hist_ci_marks_p9999_of_5000_samples),
        cmocka_unit_test(test_hist_ci_covers_the_true_median_95_percent_of_the_time),
        cmocka_unit_test(test_hist_rank_value_and_cdf),
        cmocka_unit_test(test_need_quantile_and_mean),
        cmocka_unit_test(test_wilson_and_need_proportion),
        cmocka_unit_test(test_t_and_normal_quantiles),
        cmocka_unit_test(test_welch_interval),
        cmocka_unit_test(test_pct_diff_same_and_shifted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
