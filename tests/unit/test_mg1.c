/* Unit tests for src/model/mg1.c: Pollaczek-Khinchine means and the labelled percentile
 * approximation (exact at cv = 1). */
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
        cmocka_unit_test(test_mg1_bad_input_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
