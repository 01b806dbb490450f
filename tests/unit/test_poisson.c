/* Unit tests for src/model/poisson.c: the course notes' grocery store (3 customers a minute)
 * and large means where k! overflows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/poisson.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

/* Mean 3 (3/min over 1 min): P(5) = e^-3 3^5 / 5! = 0.100819, P(<= 5) = 0.916082. */
static void test_poisson_grocery_store_hand_computed(void **state) {
    assert_close(poisson_pmf(3, 5), exp(-3) * 243 / 120, 1e-12);
    assert_close(poisson_pmf(3, 5), 0.100819, 1e-5);
    assert_close(poisson_pmf(3, 0), exp(-3), 1e-12);
    assert_close(poisson_cdf(3, 5), 0.916082, 1e-5);
}

/* P(next arrival within 30 s) at 3/min = 1 - e^-1.5 = 0.77687. */
static void test_poisson_next_arrival_within_t(void **state) {
    assert_close(poisson_arrival_within(3.0 / 60, 30), 1 - exp(-1.5), 1e-12);
    assert_close(poisson_arrival_within(3.0 / 60, 30), 0.77687, 1e-5);
    assert_close(poisson_kth_arrival_within(3.0 / 60, 30, 1), 1 - exp(-1.5), 1e-12);
    assert_true(poisson_kth_arrival_within(3.0 / 60, 30, 0) == 1);
    /* Two arrivals by t: 1 - e^-m (1 + m) with m = 1.5. */
    assert_close(poisson_kth_arrival_within(3.0 / 60, 30, 2), 1 - exp(-1.5) * 2.5, 1e-12);
    assert_close(poisson_gap_quantile_s(3.0 / 60, 0.5), 20 * log(2), 1e-12);
}

static void test_poisson_quantile_is_smallest_k_reaching_p(void **state) {
    /* cdf(3; 2) = 0.423, cdf(3; 3) = 0.647. */
    assert_int_equal(poisson_quantile(3, 0.5), 3);
    assert_int_equal(poisson_quantile(3, 0.4), 2);
    assert_int_equal(poisson_quantile(0, 0.99), 0);
}

/* Mean 10^6: k! and m^k overflow long before; the pmf at the mean is about
 * 1 / sqrt(2 pi m) and the pmf sums to 1. */
static void test_poisson_large_mean_does_not_overflow(void **state) {
    double m = 1e6;
    assert_close(poisson_pmf(m, 1000000), 1 / sqrt(2 * M_PI * m), 1e-3);
    assert_close(poisson_cdf(m, 1010000), 1, 1e-9);
    unsigned long q = poisson_quantile(m, 0.5);
    assert_true(q >= 999999 && q <= 1000001);
    assert_true(poisson_pmf(m, 0) == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisson_grocery_store_hand_computed),
        cmocka_unit_test(test_poisson_next_arrival_within_t),
        cmocka_unit_test(test_poisson_quantile_is_smallest_k_reaching_p),
        cmocka_unit_test(test_poisson_large_mean_does_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
