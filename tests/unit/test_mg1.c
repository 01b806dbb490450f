/* Unit tests for src/model/mg1.c: Pollaczek-Khinchine means, the labelled percentile
 * approximation (exact at cv = 1), and Erlang's exact M/D/1 waiting-time distribution. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/mg1.h"
#include "model/mm1.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

/* E[S] = 200 us, cv = 0.5, lambda = 4000/s: rho = 0.8, E[Wq] = 0.8 x 1.25 / 0.4 x 200 us. */
static void test_mg1_pk_mean_hand_computed(void **state) {
    assert_int_equal(mg1_check(4000, 200e-6, 0.5), 0);
    assert_close(mg1_wait_mean_s(4000, 200e-6, 0.5), 500e-6, 1e-12);
    assert_close(mg1_response_mean_s(4000, 200e-6, 0.5), 700e-6, 1e-12);
    assert_close(mg1_in_queue_mean(4000, 200e-6, 0.5), 2, 1e-12);
    assert_close(mg1_in_system_mean(4000, 200e-6, 0.5), 2.8, 1e-12);
}

/* cv = 1 is M/M/1; cv = 0 (M/D/1) waits half as long on average. */
static void test_mg1_cv1_is_mm1_and_cv0_halves_the_wait(void **state) {
    assert_close(mg1_response_mean_s(500, 1e-3, 1), mm1_response_mean_s(500, 1000), 1e-12);
    assert_close(mg1_wait_mean_s(500, 1e-3, 0), mm1_wait_mean_s(500, 1000) / 2, 1e-12);
}

static void test_mg1_approx_is_exact_for_exponential_service(void **state) {
    double ps[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < 4; i++) {
        assert_close(mg1_response_quantile_approx_s(4000, 200e-6, 1, ps[i]),
                     mm1_response_quantile_s(4000, 5000, ps[i]), 1e-9);
        assert_close(mg1_wait_quantile_approx_s(4000, 200e-6, 1, ps[i]),
                     mm1_wait_quantile_s(4000, 5000, ps[i]), 1e-9);
    }
}

/* The approximation keeps the exact P-K mean: the integral of its response tail. */
static double integrate_response_tail(double lambda, double es, double cv) {
    double end = 80 * mg1_response_mean_s(lambda, es, cv), h = end / 400000, sum = 0.5;
    for (int i = 1; i < 400000; i++)
        sum += mg1_response_tail_approx(lambda, es, cv, i * h);
    return sum * h;
}

static void test_mg1_approx_keeps_the_pk_mean(void **state) {
    double cvs[] = {0, 0.5, 1, 2, 4};
    for (size_t i = 0; i < 5; i++)
        assert_close(integrate_response_tail(4000, 200e-6, cvs[i]),
                     mg1_response_mean_s(4000, 200e-6, cvs[i]), 1e-3);
}

/* Below one service time only the k = 0 term exists: P(Wq <= t) = (1 - rho) e^{lambda t}. */
static void test_md1_cdf_first_interval_closed_form(void **state) {
    double cdf;
    assert_int_equal(md1_wait_cdf(4000, 200e-6, 0, &cdf), 0);
    assert_close(cdf, 0.2, 1e-12);
    assert_int_equal(md1_wait_cdf(4000, 200e-6, 100e-6, &cdf), 0);
    assert_close(cdf, 0.2 * exp(0.4), 1e-12);
}

/* The exact distribution's mean must be the P-K mean rho D / (2 (1 - rho)). */
static void test_md1_exact_cdf_has_pk_mean(void **state) {
    double lambda = 2500, d = 200e-6, end = 25 * d, h = end / 20000, sum = 0;
    for (int i = 0; i <= 20000; i++) {
        double cdf;
        assert_int_equal(md1_wait_cdf(lambda, d, i * h, &cdf), 0);
        sum += (i == 0 || i == 20000 ? 0.5 : 1) * (1 - cdf);
    }
    assert_close(sum * h, mg1_wait_mean_s(lambda, d, 0), 1e-4);
}

/* Values from a 2-million-customer Lindley-recursion simulation at rho = 0.8, D = 200 us:
 * p50 255 us, p90 1001 us, p99 2034 us (sampling error about 2% at p99). */
static void test_md1_quantiles_match_simulation(void **state) {
    double q;
    assert_int_equal(md1_wait_quantile_s(4000, 200e-6, 0.5, &q), 0);
    assert_close(q, 255e-6, 0.02);
    assert_int_equal(md1_wait_quantile_s(4000, 200e-6, 0.9, &q), 0);
    assert_close(q, 1001e-6, 0.02);
    assert_int_equal(md1_wait_quantile_s(4000, 200e-6, 0.99, &q), 0);
    assert_close(q, 2034e-6, 0.03);
    assert_int_equal(md1_response_quantile_s(4000, 200e-6, 0.1, &q), 0);
    assert_close(q, 200e-6, 1e-9);
}

/* High load and a far tail: the alternating sum would be noise, so it is refused. */
static void test_md1_unstable_sum_is_refused(void **state) {
    double cdf = -1;
    assert_int_equal(md1_wait_cdf(4950, 200e-6, 2000 * 200e-6, &cdf), -ERANGE);
    assert_true(cdf == -1);
}

static void test_mg1_bad_input_is_rejected(void **state) {
    assert_int_equal(mg1_check(5000, 200e-6, 1), -EDOM);
    assert_int_equal(mg1_check(4000, 0, 1), -EINVAL);
    assert_int_equal(mg1_check(4000, 200e-6, -0.1), -EINVAL);
    assert_int_equal(mg1_check(0, 200e-6, 1), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mg1_pk_mean_hand_computed),
        cmocka_unit_test(test_mg1_cv1_is_mm1_and_cv0_halves_the_wait),
        cmocka_unit_test(test_mg1_approx_is_exact_for_exponential_service),
        cmocka_unit_test(test_mg1_approx_keeps_the_pk_mean),
        cmocka_unit_test(test_md1_cdf_first_interval_closed_form),
        cmocka_unit_test(test_md1_exact_cdf_has_pk_mean),
        cmocka_unit_test(test_md1_quantiles_match_simulation),
        cmocka_unit_test(test_md1_unstable_sum_is_refused),
        cmocka_unit_test(test_mg1_bad_input_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
