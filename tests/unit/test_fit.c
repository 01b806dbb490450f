/* Unit tests for src/model/fit.c: the round trip comes off the mean, the connect variance off
 * the variance. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/fit.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

static void test_fit_subtracts_connect_mean_and_variance(void **state) {
    struct fit_input in = {.service_mean_us = 300, .service_stddev_us = 250,
                           .connect_mean_us = 100, .connect_p50_us = 80,
                           .connect_stddev_us = 150, .rate_per_s = 500};
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, false, &f), 0);
    assert_close(f.rtt_s, 100e-6, 1e-12);
    assert_close(f.service_mean_s, 200e-6, 1e-12);
    assert_close(f.service_cv, 1.0, 1e-12); /* sqrt(250^2 - 150^2) = 200 */
    assert_close(f.utilization, 0.1, 1e-12);
    assert_int_equal(fit_estimate(&in, true, &f), 0);
    assert_close(f.service_mean_s, 220e-6, 1e-12);
}

static void test_fit_clamps_negative_variance_to_constant_service(void **state) {
    struct fit_input in = {.service_mean_us = 300, .service_stddev_us = 10,
                           .connect_mean_us = 100, .connect_stddev_us = 50};
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, false, &f), 0);
    assert_true(f.service_cv == 0);
    assert_true(f.utilization == 0);
}

static void test_fit_rejects_round_trip_above_service(void **state) {
    struct fit_input in = {.service_mean_us = 90, .service_stddev_us = 10,
                           .connect_mean_us = 100, .connect_stddev_us = 5};
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, false, &f), -ERANGE);
    in.service_mean_us = NAN;
    assert_int_equal(fit_estimate(&in, false, &f), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_subtracts_connect_mean_and_variance),
        cmocka_unit_test(test_fit_clamps_negative_variance_to_constant_service),
        cmocka_unit_test(test_fit_rejects_round_trip_above_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
