/* Unit tests for src/http/work.c: /work query parsing and the exponential draws. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "http/work.h"

static int parse(const char *q, struct work_params *w) {
    return work_parse_query(q, strlen(q), w);
}

static void test_query_all_keys_parse(void **state) {
    struct work_params w;
    assert_int_equal(parse("cpu_us=200&io_us=5000&dist=exp&seed=42", &w), 0);
    assert_true(w.cpu_us == 200 && w.io_us == 5000 && w.is_exp && w.has_seed && w.seed == 42);
    assert_int_equal(parse("", &w), 0);
    assert_true(w.cpu_us == 0 && w.io_us == 0 && !w.is_exp);
    assert_int_equal(parse("io_us=1.5", &w), 0);
    assert_true(w.io_us == 1.5);
}

static void test_query_bad_values_rejected(void **state) {
    struct work_params w;
    const char *bad[] = {"cpu_us=-1", "cpu_us=abc", "io_us=", "dist=normal", "cpu_us",
                         "bogus=1", "cpu_us=1e300", "io_us=99999999999", "seed=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &w), -22);
}

static void test_exp_mean_within_2pct_over_100k_draws(void **state) {
    uint64_t rng = 12345;
    double sum = 0, sumsq = 0;
    int n = 100000;
    for (int i = 0; i < n; i++) {
        double x = work_exp(&rng, 200.0);
        assert_true(x >= 0);
        sum += x;
        sumsq += x * x;
    }
    double mean = sum / n;
    double sd = sqrt(sumsq / n - mean * mean);
    assert_true(fabs(mean - 200) / 200 < 0.02);
    assert_true(fabs(sd - 200) / 200 < 0.03); /* exponential: sd equals the mean */
}

static void test_fixed_draw_returns_the_mean(void **state) {
    struct work_params w;
    parse("cpu_us=150&io_us=3000", &w);
    uint64_t rng = 1, cpu, io;
    work_draw(&w, &rng, &cpu, &io);
    assert_int_equal(cpu, 150);
    assert_int_equal(io, 3000);
}

static void test_seeded_draws_repeat(void **state) {
    struct work_params w;
    parse("io_us=1000&dist=exp&seed=7", &w);
    uint64_t r1 = 1, r2 = 99, cpu, a, b;
    work_draw(&w, &r1, &cpu, &a);
    work_draw(&w, &r2, &cpu, &b);
    assert_int_equal(a, b);
    parse("io_us=1000&dist=exp", &w);
    work_draw(&w, &r1, &cpu, &a);
    work_draw(&w, &r1, &cpu, &b);
    assert_int_not_equal(a, b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_all_keys_parse),
        cmocka_unit_test(test_query_bad_values_rejected),
        cmocka_unit_test(test_exp_mean_within_2pct_over_100k_draws),
        cmocka_unit_test(test_fixed_draw_returns_the_mean),
        cmocka_unit_test(test_seeded_draws_repeat),
    };
    return cmocka_run_group_tests_name("work", tests, NULL, NULL);
}
