/* Unit tests for src/load/hist.c: layout, percentiles against sorted reference arrays, exact
 * statistics, merge and iteration. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "load/hist.h"

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t xorshift(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double uniform01(void) { return (double)(xorshift() >> 11) / 9007199254740992.0; }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t nearest_rank(const int64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)ceil(p / 100.0 * (double)n - 1e-9);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static void test_hist_layout_matches_hdr_worked_example(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 86400000000LL, 3), 0);
    assert_int_equal(h.sub_count, 2048);
    assert_int_equal(h.bucket_count, 27);
    assert_int_equal(h.counts_len, 28 * 1024);
    hist_free(&h);
}

static void test_hist_bad_config_is_rejected(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 0, 100, 3), -22);
    assert_int_equal(hist_init(&h, 10, 15, 3), -22);
    assert_int_equal(hist_init(&h, 1, 100, 0), -22);
    assert_int_equal(hist_init(&h, 1, 100, 6), -22);
}

static void test_hist_small_values_are_exact(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int64_t v = 0; v < 2048; v++) {
        assert_int_equal(hist_lowest_equivalent(&h, v), v);
        assert_int_equal(hist_highest_equivalent(&h, v), v);
        assert_int_equal(hist_index_value(&h, hist_index_of(&h, v)), v);
    }
    hist_free(&h);
}

static void test_hist_bucket_width_within_precision(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)(uniform01() * (double)HIST_DEFAULT_HIGHEST);
        int64_t lo = hist_lowest_equivalent(&h, v), hi = hist_highest_equivalent(&h, v);
        assert_true(lo <= v && v <= hi);
        assert_true((double)(hi - lo) <= (double)v / 1000.0 + 1);
        assert_int_equal(hist_index_of(&h, lo), hist_index_of(&h, hi));
    }
    hist_free(&h);
}

static void check_against_sorted(int64_t *vals, size_t n, int sigfigs) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, sigfigs), 0);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        hist_record(&h, vals[i]);
        sum += (double)vals[i];
    }
    qsort(vals, n, sizeof *vals, cmp_i64);
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += ((double)vals[i] - mean) * ((double)vals[i] - mean);
    assert_int_equal(hist_count(&h), n);
    assert_int_equal(hist_min(&h), vals[0]);
    assert_int_equal(hist_max(&h), vals[n - 1]);
    assert_true(fabs(hist_mean(&h) - mean) <= 1e-9 * mean + 1e-9);
    assert_true(fabs(hist_stddev(&h) - sqrt(ss / (double)n)) <= 1e-6 * sqrt(ss / (double)n) + 1e-9);
    double tol = pow(10, -sigfigs);
    const double ps[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        int64_t want = nearest_rank(vals, n, ps[i]), got = hist_percentile(&h, ps[i]);
        assert_true(got >= want);
        assert_true((double)(got - want) <= tol * (double)want + 1);
    }
    hist_free(&h);
}

static void test_hist_percentiles_of_uniform_within_precision(void **state) {
    size_t n = 200000;
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + (int64_t)(uniform01() * 1e6);
    check_against_sorted(v, n, 3);
    free(v);
}

static void test_hist_percentiles_of_lognormal_tail_within_precision(void **state) {
    size_t n = 100000;
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double u1 = uniform01() + 1e-12, u2 = uniform01();
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        v[i] = (int64_t)exp(6 + 2 * z);
    }
    check_against_sorted(v, n, 3);
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(uniform01() * 5e7);
    check_against_sorted(v, n, 2);
    free(v);
}

static void test_hist_empty_reports_zeros(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3), 0);
    assert_int_equal(hist_count(&h), 0);
    assert_int_equal(hist_min(&h), 0);
    assert_int_equal(hist_percentile(&h, 99), 0);
    assert_true(hist_mean(&h) == 0 && hist_stddev(&h) == 0);
    hist_free(&h);
}

static void test_hist_values_above_highest_are_clamped(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3), 0);
    hist_record(&h, 5000000);
    hist_record(&h, -5);
    assert_int_equal(h.clamped, 1);
    assert_int_equal(hist_max(&h), 1000000);
    assert_int_equal(hist_min(&h), 0);
    hist_free(&h);
}

static void test_hist_merge_equals_recording_all(void **state) {
    struct hist a, b, all;
    assert_int_equal(hist_init(&a, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    assert_int_equal(hist_init(&b, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    assert_int_equal(hist_init(&all, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int i = 0; i < 50000; i++) {
        int64_t v = (int64_t)(uniform01() * 1e5), w = 100000 + (int64_t)(uniform01() * 1e7);
        hist_record(&a, v);
        hist_record(&b, w);
        hist_record(&all, v);
        hist_record(&all, w);
    }
    assert_int_equal(hist_merge(&a, &b), 0);
    assert_int_equal(hist_count(&a), hist_count(&all));
    assert_int_equal(hist_min(&a), hist_min(&all));
    assert_int_equal(hist_max(&a), hist_max(&all));
    assert_true(fabs(hist_mean(&a) - hist_mean(&all)) < 1e-6 * hist_mean(&all));
    assert_true(fabs(hist_stddev(&a) - hist_stddev(&all)) < 1e-6 * hist_stddev(&all));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(hist_percentile(&a, p), hist_percentile(&all, p));
    hist_free(&a);
    hist_free(&b);
    hist_free(&all);
}

static void test_hist_merge_across_layouts_within_precision(void **state) {
    struct hist a, b;
    assert_int_equal(hist_init(&a, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    assert_int_equal(hist_init(&b, 1, 100000000, 2), 0);
    for (int i = 0; i < 10000; i++)
        hist_record(&b, 1000 + (int64_t)(uniform01() * 1e6));
    int64_t p99 = hist_percentile(&b, 99);
    assert_int_equal(hist_merge(&a, &b), 0);
    assert_int_equal(hist_count(&a), 10000);
    assert_true(llabs(hist_percentile(&a, 99) - p99) <= p99 / 50);
    hist_free(&a);
    hist_free(&b);
}

static void test_hist_iteration_visits_every_value_once(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    hist_record_n(&h, 7, 3);
    hist_record(&h, 123456);
    hist_record(&h, 123457);
    hist_record(&h, 999999999);
    struct hist_iter it;
    hist_iter_init(&it);
    int buckets = 0;
    int64_t last = -1;
    while (hist_next(&h, &it)) {
        assert_true(it.lo > last);
        last = it.hi;
        buckets++;
    }
    assert_int_equal(buckets, 3);
    assert_int_equal(it.cumulative, 6);
    hist_reset(&h);
    hist_iter_init(&it);
    assert_false(hist_next(&h, &it));
    hist_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_layout_matches_hdr_worked_example),
        cmocka_unit_test(test_hist_bad_config_is_rejected),
        cmocka_unit_test(test_hist_small_values_are_exact),
        cmocka_unit_test(test_hist_bucket_width_within_precision),
        cmocka_unit_test(test_hist_percentiles_of_uniform_within_precision),
        cmocka_unit_test(test_hist_percentiles_of_lognormal_tail_within_precision),
        cmocka_unit_test(test_hist_empty_reports_zeros),
        cmocka_unit_test(test_hist_values_above_highest_are_clamped),
        cmocka_unit_test(test_hist_merge_equals_recording_all),
        cmocka_unit_test(test_hist_merge_across_layouts_within_precision),
        cmocka_unit_test(test_hist_iteration_visits_every_value_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
