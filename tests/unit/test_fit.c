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

static const struct fit_input low_load = {
    .service_mean_us = 300, .service_stddev_us = 250, .connect_mean_us = 100,
    .connect_p50_us = 80, .connect_min_us = 40, .connect_stddev_us = 150, .rate_per_s = 500};

/* Round trip 100 us: response 200 us, cv sqrt(250^2 - 150^2) / 200 = 1, and for cv = 1 the
 * run's own M/M/1 queueing comes off as S = m / (1 + lambda m) = 200 / 1.1 us. */
static void test_fit_takes_off_round_trip_variance_and_queueing(void **state) {
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&low_load, FIT_RTT_MEAN, &f), 0);
    assert_close(f.rtt_s, 100e-6, 1e-12);
    assert_close(f.service_cv, 1.0, 1e-12);
    assert_close(f.service_mean_s, 200e-6 / 1.1, 1e-12);
    assert_close(f.utilization, 500 * 200e-6 / 1.1, 1e-12);
}

/* For cv != 1 the estimate must reproduce the measured response through the P-K mean. */
static void test_fit_service_time_satisfies_pk_mean(void **state) {
    enum fit_rtt from[] = {FIT_RTT_P50, FIT_RTT_MIN};
    double rtt_us[] = {80, 40};
    for (int i = 0; i < 2; i++) {
        struct fit_estimate f;
        assert_int_equal(fit_estimate(&low_load, from[i], &f), 0);
        double s = f.service_mean_s, lambda = 500, cv = f.service_cv;
        double m = s + lambda * s * s * (1 + cv * cv) / (2 * (1 - lambda * s));
        assert_close(m, (300 - rtt_us[i]) * 1e-6, 1e-12);
        assert_close(f.service_cv, 200 / (300 - rtt_us[i]), 1e-12);
    }
}

static void test_fit_without_rate_only_subtracts(void **state) {
    struct fit_input in = low_load;
    in.rate_per_s = 0;
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, FIT_RTT_MIN, &f), 0);
    assert_close(f.service_mean_s, 260e-6, 1e-12);
    assert_true(f.utilization == 0);
}

static void test_fit_clamps_negative_variance_to_constant_service(void **state) {
    struct fit_input in = {.service_mean_us = 300, .service_stddev_us = 10,
                           .connect_mean_us = 100, .connect_stddev_us = 50};
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, FIT_RTT_MEAN, &f), 0);
    assert_true(f.service_cv == 0);
    assert_close(f.service_mean_s, 200e-6, 1e-12);
}

static void test_fit_rejects_round_trip_above_service(void **state) {
    struct fit_input in = {.service_mean_us = 90, .service_stddev_us = 10,
                           .connect_mean_us = 100, .connect_stddev_us = 5};
    struct fit_estimate f;
    assert_int_equal(fit_estimate(&in, FIT_RTT_MEAN, &f), -ERANGE);
    in.service_mean_us = NAN;
    assert_int_equal(fit_estimate(&in, FIT_RTT_MEAN, &f), -EINVAL);
    in.service_mean_us = 300;
    in.connect_min_us = NAN; /* the result had no connect minimum */
    assert_int_equal(fit_estimate(&in, FIT_RTT_MIN, &f), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_takes_off_round_trip_variance_and_queueing),
        cmocka_unit_test(test_fit_service_time_satisfies_pk_mean),
        cmocka_unit_test(test_fit_without_rate_only_subtracts),
        cmocka_unit_test(test_fit_clamps_negative_variance_to_constant_service),
        cmocka_unit_test(test_fit_rejects_round_trip_above_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
