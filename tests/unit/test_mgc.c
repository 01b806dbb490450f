/* Unit tests for src/model/mgc.c (M/G/c, Allen-Cunneen): exactly M/M/c at cv = 1, exactly the
 * M/G/1 approximation at c = 1, hand-computed means, self-consistent tails, a simulation. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/mg1.h"
#include "model/mgc.h"
#include "model/mmc.h"
#include "model/predict.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

static const double levels[] = {0.5, 0.9, 0.99, 0.999};

/* cv = 1: the Allen-Cunneen factor is 1 and the service fit is exponential, so every number is
 * M/M/c's (quantiles to the bisection's precision). */
static void test_mgc_cv1_is_mmc(void **state) {
    int cs[] = {1, 2, 4, 64};
    double rhos[] = {0.3, 0.8, 0.95};
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < 3; j++) {
            double es = 4e-3, lambda = rhos[j] * cs[i] / es, mu = 1 / es;
            assert_true(mgc_wait_mean_s(cs[i], lambda, es, 1) ==
                        mmc_wait_mean_s(cs[i], lambda, mu));
            assert_close(mgc_response_mean_s(cs[i], lambda, es, 1),
                         mmc_response_mean_s(cs[i], lambda, mu), 1e-12);
            assert_close(mgc_in_system_mean(cs[i], lambda, es, 1),
                         mmc_in_system_mean(cs[i], lambda, mu), 1e-12);
            for (size_t k = 0; k < 4; k++) {
                assert_close(mgc_response_quantile_s(cs[i], lambda, es, 1, levels[k]),
                             mmc_response_quantile_s(cs[i], lambda, mu, levels[k]), 1e-9);
                double w = mmc_wait_quantile_s(cs[i], lambda, mu, levels[k]);
                assert_true(fabs(mgc_wait_quantile_s(cs[i], lambda, es, 1, levels[k]) - w) <=
                            1e-12 * (w + es));
            }
            assert_close(mgc_response_tail(cs[i], lambda, es, 1, 3 * es),
                         mmc_response_tail(cs[i], lambda, mu, 3 * es), 1e-12);
        }
    }
}

/* c = 1: Erlang C is rho, so the mean wait is Pollaczek-Khinchine's and the distribution is
 * mg1.c's approximation. */
static void test_mgc_one_server_is_pk(void **state) {
    double cvs[] = {0, 0.5, 0.85, 2};
    for (size_t i = 0; i < 4; i++) {
        double es = 200e-6, lambda = 4000;
        assert_close(mgc_wait_mean_s(1, lambda, es, cvs[i]), mg1_wait_mean_s(lambda, es, cvs[i]),
                     1e-12);
        assert_close(mgc_in_queue_mean(1, lambda, es, cvs[i]),
                     mg1_in_queue_mean(lambda, es, cvs[i]), 1e-12);
        for (size_t k = 0; k < 4; k++)
            assert_close(mgc_response_quantile_s(1, lambda, es, cvs[i], levels[k]),
                         mg1_response_quantile_approx_s(lambda, es, cvs[i], levels[k]), 1e-9);
    }
}

/* By hand: c = 2, E[S] = 1 s, lambda = 1/s (a = 1, rho = 0.5): C(2, 1) = 1/3, M/M/2's mean wait
 * C / (c mu - lambda) = 1/3 s. cv = 0.5 scales it by 1.25 / 2: 0.208333 s; cv = 0 halves it;
 * cv = 2 multiplies it by 2.5. Lq = lambda E[Wq]; L = Lq + a. */
static void test_mgc_hand_computed_two_servers(void **state) {
    assert_int_equal(mgc_check(2, 1, 1, 0.5), 0);
    assert_close(mgc_wait_prob(2, 1, 1), 1.0 / 3, 1e-12);
    assert_close(mgc_wait_mean_s(2, 1, 1, 0.5), 0.625 / 3, 1e-12);
    assert_close(mgc_wait_mean_s(2, 1, 1, 0), 1.0 / 6, 1e-12);
    assert_close(mgc_wait_mean_s(2, 1, 1, 2), 2.5 / 3, 1e-12);
    assert_close(mgc_response_mean_s(2, 1, 1, 0.5), 1 + 0.625 / 3, 1e-12);
    assert_close(mgc_in_system_mean(2, 1, 1, 0.5), 1 + 0.625 / 3, 1e-12);
    /* The wait: atom 2/3 at zero, then (1/3) e^{-t / 0.625}; its p90 solves that = 0.1. */
    assert_close(mgc_wait_tail(2, 1, 1, 0.5, 1), exp(-1 / 0.625) / 3, 1e-12);
    assert_close(mgc_wait_quantile_s(2, 1, 1, 0.5, 0.9), 0.625 * log(10.0 / 3), 1e-12);
    assert_true(mgc_wait_quantile_s(2, 1, 1, 0.5, 0.5) == 0);
}

/* Integral of a tail by the trapezoid rule on [0, t_max] with n steps. */
static double tail_integral(int c, double lambda, double es, double cv, double t_max, int n) {
    double h = t_max / n, sum = 0.5 * (1 + mgc_response_tail(c, lambda, es, cv, t_max));
    for (int i = 1; i < n; i++)
        sum += mgc_response_tail(c, lambda, es, cv, i * h);
    return sum * h;
}

/* The response distribution keeps the Allen-Cunneen mean: E[T] = integral of P(T > t). */
static void test_mgc_response_tail_integrates_to_the_mean(void **state) {
    double cvs[] = {0.3, 0.85, 1.5};
    for (size_t i = 0; i < 3; i++) {
        double es = 4e-3, lambda = 0.85 * 4 / es;
        double mean = mgc_response_mean_s(4, lambda, es, cvs[i]);
        assert_close(tail_integral(4, lambda, es, cvs[i], 60 * mean, 200000), mean, 1e-4);
    }
}

/* Against a 2-million-customer FCFS simulation (docs/queueing.md): c = 4, E[S] = 4.3 ms, service
 * 0.15 E[S] constant plus an exponential (cv = 0.85), rho = 0.8 and 0.9. Simulated mean, p50,
 * p90, p99: 7.062, 5.584, 14.55, 25.98 ms and 11.63, 8.946, 24.61, 45.81 ms. */
static void test_mgc_matches_a_simulation_within_3pct(void **state) {
    static const double sim[2][4] = {{7.062e-3, 5.584e-3, 14.55e-3, 25.98e-3},
                                     {11.63e-3, 8.946e-3, 24.61e-3, 45.81e-3}};
    double rhos[] = {0.8, 0.9}, es = 4.3e-3;
    for (int i = 0; i < 2; i++) {
        double lambda = rhos[i] * 4 / es;
        assert_close(mgc_response_mean_s(4, lambda, es, 0.85), sim[i][0], 0.03);
        for (int k = 0; k < 3; k++)
            assert_close(mgc_response_quantile_s(4, lambda, es, 0.85, levels[k]), sim[i][k + 1],
                         0.03);
    }
    /* M/M/4 overestimates this system's mean wait by 16% at rho = 0.8 (3.21 ms against the
     * simulated 2.76 ms): the point of the model. */
    assert_true(mmc_wait_mean_s(4, 0.8 * 4 / es, 1 / es) > 1.1 * (sim[0][0] - es));
}

/* Through predict(): "mgc" parses, uses its servers, flags means and percentiles approximate
 * unless cv = 1, and refuses a load at capacity. */
static void test_mgc_through_predict(void **state) {
    enum predict_model m;
    assert_int_equal(predict_model_parse("mgc", &m), 0);
    assert_int_equal(m, PREDICT_MGC);
    struct predict_params p = {PREDICT_MGC, 750, 4.3e-3, 0.85, 4};
    struct predict_result r;
    assert_int_equal(predict(&p, &r), 0);
    assert_close(r.capacity_per_s, 4 / 4.3e-3, 1e-12);
    assert_close(r.response_mean_s, mgc_response_mean_s(4, 750, 4.3e-3, 0.85), 1e-12);
    assert_true(r.is_approx && r.is_mean_approx);
    p.service_cv = 1;
    assert_int_equal(predict(&p, &r), 0);
    assert_true(!r.is_approx && !r.is_mean_approx);
    double wt, rt;
    bool approx;
    predict_tails(&p, 10e-3, &wt, &rt, &approx);
    assert_close(rt, mmc_response_tail(4, 750, 1 / 4.3e-3, 10e-3), 1e-12);
    p.arrival_per_s = 4 / 4.3e-3;
    assert_int_equal(predict(&p, &r), -EDOM);
}

static void test_mgc_bad_input_is_rejected(void **state) {
    assert_int_equal(mgc_check(0, 100, 1e-3, 1), -EINVAL);
    assert_int_equal(mgc_check(2, 100, 0, 1), -EINVAL);
    assert_int_equal(mgc_check(2, 100, 1e-3, -0.1), -EINVAL);
    assert_int_equal(mgc_check(2, 100, 1e-3, NAN), -EINVAL);
    assert_int_equal(mgc_check(2, -1, 1e-3, 1), -EINVAL);
    assert_int_equal(mgc_check(2, 2000, 1e-3, 0.5), -EDOM);
    assert_int_equal(mgc_check(2, 1999, 1e-3, 0.5), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mgc_cv1_is_mmc),
        cmocka_unit_test(test_mgc_one_server_is_pk),
        cmocka_unit_test(test_mgc_hand_computed_two_servers),
        cmocka_unit_test(test_mgc_response_tail_integrates_to_the_mean),
        cmocka_unit_test(test_mgc_matches_a_simulation_within_3pct),
        cmocka_unit_test(test_mgc_through_predict),
        cmocka_unit_test(test_mgc_bad_input_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
