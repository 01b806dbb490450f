/* Unit tests for src/model/mmc.c: Erlang B/C table values, stability at large c, and the
 * response-time distribution checked against M/M/1 and against its own mean. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/mm1.h"
#include "model/mmc.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

/* Textbook values: C(2, 1) = 1/3; C(4, 3) = 0.5094; B(1, 1) = 1/2; B(2, 1) = 1/5;
 * B(10, 5) = 0.018385 (Erlang B tables). */
static void test_mmc_erlang_table_values(void **state) {
    assert_close(mmc_wait_prob(2, 1), 1.0 / 3, 1e-12);
    assert_close(mmc_wait_prob(4, 3), 0.509434, 1e-5);
    assert_close(mmc_erlang_b(1, 1), 0.5, 1e-12);
    assert_close(mmc_erlang_b(2, 1), 0.2, 1e-12);
    assert_close(mmc_erlang_b(10, 5), 0.018385, 1e-4);
}

/* Reference Erlang C in log space (log-sum-exp over a^k / k!), independent of the recurrence. */
static double erlang_c_logspace(int c, double a) {
    double log_top = c * log(a) - lgamma(c + 1.0) + log(c / (c - a));
    double max = log_top;
    for (int k = 0; k < c; k++)
        max = fmax(max, k * log(a) - lgamma(k + 1.0));
    double sum = exp(log_top - max);
    for (int k = 0; k < c; k++)
        sum += exp(k * log(a) - lgamma(k + 1.0) - max);
    return exp(log_top - max) / sum;
}

/* a^c / c! overflows a double from c = 171; the recurrence must not care. */
static void test_mmc_erlang_c_is_stable_at_1000_servers(void **state) {
    int cs[] = {171, 500, 1000, 5000};
    double rhos[] = {0.5, 0.9, 0.95, 0.99};
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < 4; j++) {
            double a = cs[i] * rhos[j], got = mmc_wait_prob(cs[i], a);
            assert_true(isfinite(got) && got >= 0 && got <= 1);
            assert_close(got, erlang_c_logspace(cs[i], a), 1e-9);
        }
    }
    double big = mmc_wait_prob(1000000, 999000);
    assert_true(isfinite(big) && big > 0 && big < 1);
}

/* c = 1 is M/M/1: C = rho, and every quantity matches mm1.c's closed forms. */
static void test_mmc_one_server_matches_mm1(void **state) {
    double lambda = 4000, mu = 5000;
    assert_close(mmc_wait_prob(1, lambda / mu), 0.8, 1e-12);
    assert_close(mmc_response_mean_s(1, lambda, mu), mm1_response_mean_s(lambda, mu), 1e-12);
    assert_close(mmc_in_system_mean(1, lambda, mu), mm1_in_system_mean(lambda, mu), 1e-12);
    double ps[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < 4; i++) {
        assert_close(mmc_response_quantile_s(1, lambda, mu, ps[i]),
                     mm1_response_quantile_s(lambda, mu, ps[i]), 1e-9);
        assert_close(mmc_wait_quantile_s(1, lambda, mu, ps[i]),
                     mm1_wait_quantile_s(lambda, mu, ps[i]), 1e-12);
    }
}

/* E[T] = integral of P(T > t) dt: ties the tail formula to the Erlang C mean. */
static double integrate_tail(int c, double lambda, double mu) {
    double mean = mmc_response_mean_s(c, lambda, mu), end = 60 * mean, h = end / 200000;
    double sum = 0.5 * (1 + mmc_response_tail(c, lambda, mu, end));
    for (int i = 1; i < 200000; i++)
        sum += mmc_response_tail(c, lambda, mu, i * h);
    return sum * h;
}

static void test_mmc_response_tail_integrates_to_mean(void **state) {
    /* The last case has c mu - lambda = mu, the removable singularity of the formula. */
    struct { int c; double lambda, mu; } cases[] = {{4, 3000, 1000}, {2, 1500, 1000},
                                                    {16, 15000, 1000}, {2, 1000, 1000}};
    for (size_t i = 0; i < 4; i++) {
        double want = mmc_response_mean_s(cases[i].c, cases[i].lambda, cases[i].mu);
        assert_close(integrate_tail(cases[i].c, cases[i].lambda, cases[i].mu), want, 1e-4);
    }
}

static void test_mmc_response_tail_continuous_where_rates_meet(void **state) {
    double at = mmc_response_tail(2, 1000, 1000, 2e-3);
    assert_close(mmc_response_tail(2, 1000 * (1 + 1e-9), 1000, 2e-3), at, 1e-6);
    assert_close(mmc_response_tail(2, 1000 * (1 - 1e-9), 1000, 2e-3), at, 1e-6);
}

static void test_mmc_quantiles_invert_the_tails(void **state) {
    double ps[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < 4; i++) {
        double t = mmc_response_quantile_s(4, 3000, 1000, ps[i]);
        assert_close(mmc_response_tail(4, 3000, 1000, t), 1 - ps[i], 1e-6);
        double w = mmc_wait_quantile_s(4, 3000, 1000, ps[i]);
        if (w > 0)
            assert_close(mmc_wait_tail(4, 3000, 1000, w), 1 - ps[i], 1e-9);
    }
    /* P(wait) = 0.509 at a = 3, c = 4: the median wait is zero, p90 is not. */
    assert_true(mmc_wait_quantile_s(4, 3000, 1000, 0.45) == 0);
    assert_true(mmc_wait_quantile_s(4, 3000, 1000, 0.9) > 0);
}

static void test_mmc_bad_input_is_rejected(void **state) {
    assert_int_equal(mmc_check(0, 1, 1), -EINVAL);
    assert_int_equal(mmc_check(-3, 1, 1), -EINVAL);
    assert_int_equal(mmc_check(2, 0, 1), -EINVAL);
    assert_int_equal(mmc_check(2, 2000, 1000), -EDOM);
    assert_int_equal(mmc_check(2, 1999, 1000), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mmc_erlang_table_values),
        cmocka_unit_test(test_mmc_erlang_c_is_stable_at_1000_servers),
        cmocka_unit_test(test_mmc_one_server_matches_mm1),
        cmocka_unit_test(test_mmc_response_tail_integrates_to_mean),
        cmocka_unit_test(test_mmc_response_tail_continuous_where_rates_meet),
        cmocka_unit_test(test_mmc_quantiles_invert_the_tails),
        cmocka_unit_test(test_mmc_bad_input_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
