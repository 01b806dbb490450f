/* Unit tests for src/model/mm1.c against hand-computed textbook values. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/mm1.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

static void test_mm1_half_load_mean_response_is_2_over_mu(void **state) {
    double mu = 1000, lambda = 500;
    assert_int_equal(mm1_check(lambda, mu), 0);
    assert_close(mm1_utilization(lambda, mu), 0.5, 1e-15);
    assert_close(mm1_response_mean_s(lambda, mu), 2 / mu, 1e-12);
    assert_close(mm1_wait_mean_s(lambda, mu), 1 / mu, 1e-12);
    assert_close(mm1_in_system_mean(lambda, mu), 1, 1e-12);
    assert_close(mm1_in_queue_mean(lambda, mu), 0.5, 1e-12);
}

/* Course notes: capacity 100 r/s; at 10 r/s 1 / (100 - 10) = 0.0111 s, at 99 r/s 1 s. */
static void test_mm1_course_notes_capacity_100(void **state) {
    assert_close(mm1_response_mean_s(10, 100), 1.0 / 90, 1e-12);
    assert_close(mm1_response_mean_s(10, 100), 0.0111, 1e-2);
    assert_close(mm1_response_mean_s(99, 100), 1, 1e-12);
}

static void test_mm1_littles_law_holds(void **state) {
    double mu = 5000, lambda = 4000;
    assert_close(mm1_in_system_mean(lambda, mu), lambda * mm1_response_mean_s(lambda, mu), 1e-12);
    assert_close(mm1_in_queue_mean(lambda, mu), lambda * mm1_wait_mean_s(lambda, mu), 1e-12);
}

/* p99 of an exponential is ln(100) = 4.605 means; at rho = 0.8, mu = 5000 the mean is 1 ms. */
static void test_mm1_response_p99_is_4_605_means(void **state) {
    assert_close(mm1_response_quantile_s(4000, 5000, 0.99), 4.60517e-3, 1e-5);
    assert_close(mm1_response_quantile_s(4000, 5000, 0.5), 0.693147e-3, 1e-5);
    assert_close(mm1_response_tail(4000, 5000, 4.60517e-3), 0.01, 1e-5);
    assert_true(mm1_response_tail(4000, 5000, 0) == 1);
}

/* The wait has an atom of 1 - rho at zero: at rho = 0.8, p10 and p20 are 0, p50 is
 * ln(0.8 / 0.5) / 1000 = 0.470 ms. */
static void test_mm1_wait_quantile_has_atom_at_zero(void **state) {
    assert_true(mm1_wait_quantile_s(4000, 5000, 0.1) == 0);
    assert_true(mm1_wait_quantile_s(4000, 5000, 0.2) == 0);
    assert_close(mm1_wait_quantile_s(4000, 5000, 0.5), log(1.6) / 1000, 1e-12);
    assert_close(mm1_wait_tail(4000, 5000, 0), 0.8, 1e-12);
    assert_close(mm1_wait_tail(4000, 5000, log(1.6) / 1000), 0.5, 1e-12);
}

static void test_mm1_unstable_or_bad_rates_are_rejected(void **state) {
    assert_int_equal(mm1_check(100, 100), -EDOM);
    assert_int_equal(mm1_check(101, 100), -EDOM);
    assert_int_equal(mm1_check(0, 100), -EINVAL);
    assert_int_equal(mm1_check(-1, 100), -EINVAL);
    assert_int_equal(mm1_check(10, 0), -EINVAL);
    assert_int_equal(mm1_check(NAN, 100), -EINVAL);
    assert_int_equal(mm1_check(10, INFINITY), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mm1_half_load_mean_response_is_2_over_mu),
        cmocka_unit_test(test_mm1_course_notes_capacity_100),
        cmocka_unit_test(test_mm1_littles_law_holds),
        cmocka_unit_test(test_mm1_response_p99_is_4_605_means),
        cmocka_unit_test(test_mm1_wait_quantile_has_atom_at_zero),
        cmocka_unit_test(test_mm1_unstable_or_bad_rates_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
