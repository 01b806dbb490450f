/* Unit tests for src/load/sched.c: constant spacing without drift, Poisson mean, a
 * Kolmogorov-Smirnov fit of the gaps to the exponential, counts per window, seeding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "load/sched.h"

static void test_sched_constant_is_evenly_spaced(void **state) {
    struct sched s;
    sched_init(&s, SCHED_CONSTANT, 10000, 0, 1);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(sched_next_ns(&s), i * 100000);
}

static void test_sched_constant_has_no_drift_after_a_billion(void **state) {
    struct sched s;
    sched_init(&s, SCHED_CONSTANT, 3, 0, 1); /* gap 333333333.33 ns, not a whole number */
    s.n = 3000000000ULL;                     /* 1e9 seconds in */
    uint64_t t = sched_next_ns(&s);
    assert_true(llabs((long long)(t - 1000000000ULL * 1000000000ULL)) < 200000);
}

static void test_sched_phase_interleaves_threads(void **state) {
    struct sched a, b;
    sched_init(&a, SCHED_CONSTANT, 1000, 0, 1);
    sched_init(&b, SCHED_CONSTANT, 1000, 0.5, 1);
    assert_int_equal(sched_next_ns(&a), 0);
    assert_int_equal(sched_next_ns(&b), 500000);
    assert_int_equal(sched_next_ns(&a), 1000000);
    assert_int_equal(sched_next_ns(&b), 1500000);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_sched_poisson_mean_gap_within_1pct(void **state) {
    struct sched s;
    sched_init(&s, SCHED_POISSON, 5000, 0, 42);
    uint64_t n = 200000, last = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = sched_next_ns(&s);
        assert_true(t >= last);
        last = t;
    }
    double mean_gap = (double)last / (double)n;
    assert_true(fabs(mean_gap - 200000.0) < 2000.0);
}

/* Kolmogorov-Smirnov: the largest gap between the empirical CDF of the interarrival times and
 * 1 - exp(-x/mean); 1.95/sqrt(n) is the 0.1% critical value. */
static double ks_exponential(const double *sorted, size_t n, double mean) {
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = 1 - exp(-sorted[i] / mean);
        double hi = (double)(i + 1) / (double)n - f, lo = f - (double)i / (double)n;
        d = fmax(d, fmax(hi, lo));
    }
    return d;
}

static void gaps_of(struct sched *s, double *gaps, size_t n) {
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = sched_next_ns(s);
        gaps[i] = (double)(t - last);
        last = t;
    }
    qsort(gaps, n, sizeof *gaps, cmp_double);
}

static void test_sched_poisson_gaps_fit_exponential(void **state) {
    size_t n = 50000;
    double *gaps = malloc(n * sizeof *gaps);
    struct sched s;
    sched_init(&s, SCHED_POISSON, 1000, 0, 7);
    gaps_of(&s, gaps, n);
    assert_true(ks_exponential(gaps, n, 1e6) < 1.95 / sqrt((double)n));
    /* The same test rejects a constant schedule, so it can fail. */
    sched_init(&s, SCHED_CONSTANT, 1000, 0, 7);
    gaps_of(&s, gaps, n);
    assert_true(ks_exponential(gaps, n, 1e6) > 1.95 / sqrt((double)n));
    free(gaps);
}

static void test_sched_poisson_counts_per_window_have_unit_dispersion(void **state) {
    struct sched s;
    sched_init(&s, SCHED_POISSON, 10000, 0, 3);
    enum { WINDOWS = 2000 };
    static double counts[WINDOWS];
    uint64_t t;
    while ((t = sched_next_ns(&s)) < (uint64_t)WINDOWS * 10000000ULL)
        counts[t / 10000000ULL] += 1; /* 10 ms windows: mean 100 arrivals */
    double mean = 0, var = 0;
    for (int i = 0; i < WINDOWS; i++)
        mean += counts[i] / WINDOWS;
    for (int i = 0; i < WINDOWS; i++)
        var += (counts[i] - mean) * (counts[i] - mean) / (WINDOWS - 1);
    assert_true(fabs(mean - 100) < 1.5);
    assert_true(var / mean > 0.85 && var / mean < 1.15);
}

static void test_sched_same_seed_same_schedule(void **state) {
    struct sched a, b, c;
    sched_init(&a, SCHED_POISSON, 100, 0, 9);
    sched_init(&b, SCHED_POISSON, 100, 0, 9);
    sched_init(&c, SCHED_POISSON, 100, 0, 10);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sched_next_ns(&a);
        assert_int_equal(x, sched_next_ns(&b));
        differs |= x != sched_next_ns(&c);
    }
    assert_true(differs);
}

static void test_sched_parse_arrival_names(void **state) {
    enum sched_arrival a;
    assert_int_equal(sched_parse_arrival("poisson", &a), 0);
    assert_int_equal(a, SCHED_POISSON);
    assert_int_equal(sched_parse_arrival("constant", &a), 0);
    assert_int_equal(a, SCHED_CONSTANT);
    assert_int_equal(sched_parse_arrival("bursty", &a), -22);
    assert_string_equal(sched_arrival_name(SCHED_POISSON), "poisson");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_constant_is_evenly_spaced),
        cmocka_unit_test(test_sched_constant_has_no_drift_after_a_billion),
        cmocka_unit_test(test_sched_phase_interleaves_threads),
        cmocka_unit_test(test_sched_poisson_mean_gap_within_1pct),
        cmocka_unit_test(test_sched_poisson_gaps_fit_exponential),
        cmocka_unit_test(test_sched_poisson_counts_per_window_have_unit_dispersion),
        cmocka_unit_test(test_sched_same_seed_same_schedule),
        cmocka_unit_test(test_sched_parse_arrival_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
