/* Unit tests for src/net/units.c: every parser's accepted forms and rejections. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/units.h"

static void test_duration_suffixes_scale_to_us(void **state) {
    double us;
    assert_int_equal(units_parse_duration_us("250us", 0, &us), 0);
    assert_true(us == 250);
    assert_int_equal(units_parse_duration_us("1.5ms", 0, &us), 0);
    assert_true(us == 1500);
    assert_int_equal(units_parse_duration_us("2s", 0, &us), 0);
    assert_true(us == 2e6);
    assert_int_equal(units_parse_duration_us("3m", 0, &us), 0);
    assert_true(us == 180e6);
    assert_int_equal(units_parse_duration_us("1min", 0, &us), 0);
    assert_true(us == 60e6);
    assert_int_equal(units_parse_duration_us("10", 1e6, &us), 0);
    assert_true(us == 10e6);
}

static void test_duration_bad_input_is_rejected(void **state) {
    double us;
    const char *bad[] = {"", "ms", "-1s", "10", "1 s", "5parsecs", "nan", "inf", "1e999s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(units_parse_duration_us(bad[i], 0, &us), -EINVAL);
}

static void test_count_and_size_suffixes(void **state) {
    uint64_t v;
    assert_int_equal(units_parse_count("20k", &v), 0);
    assert_int_equal(v, 20000);
    assert_int_equal(units_parse_count("1.5M", &v), 0);
    assert_int_equal(v, 1500000);
    assert_int_equal(units_parse_count("1.5", &v), -EINVAL);
    assert_int_equal(units_parse_count("12x", &v), -EINVAL);
    assert_int_equal(units_parse_size("64KiB", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(units_parse_size("1M", &v), 0);
    assert_int_equal(v, 1048576);
}

static void test_rate_forms(void **state) {
    double r;
    assert_int_equal(units_parse_rate("5000/s", &r), 0);
    assert_true(r == 5000);
    assert_int_equal(units_parse_rate("3/min", &r), 0);
    assert_true(r == 0.05);
    assert_int_equal(units_parse_rate("20k", &r), 0);
    assert_true(r == 20000);
    assert_int_equal(units_parse_rate("2/ms", &r), 0);
    assert_true(r == 2000);
    assert_int_equal(units_parse_rate("5/fortnight", &r), -EINVAL);
}

static void test_fraction_percent_and_plain(void **state) {
    double f;
    assert_int_equal(units_parse_fraction("95%", &f), 0);
    assert_true(f > 0.9499 && f < 0.9501);
    assert_int_equal(units_parse_fraction("0.5", &f), 0);
    assert_true(f == 0.5);
    assert_int_equal(units_parse_fraction("5x", &f), -EINVAL);
}

static void test_format_three_significant_digits(void **state) {
    char b[32];
    assert_string_equal(units_fmt_duration(b, sizeof b, 1234), "1.23ms");
    assert_string_equal(units_fmt_duration(b, sizeof b, 812), "812us");
    assert_string_equal(units_fmt_duration(b, sizeof b, 4.5e6), "4.50s");
    assert_string_equal(units_fmt_count(b, sizeof b, 45600), "45.6k");
    assert_string_equal(units_fmt_bytes(b, sizeof b, 1048576), "1.00MiB");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_suffixes_scale_to_us),
        cmocka_unit_test(test_duration_bad_input_is_rejected),
        cmocka_unit_test(test_count_and_size_suffixes),
        cmocka_unit_test(test_rate_forms),
        cmocka_unit_test(test_fraction_percent_and_plain),
        cmocka_unit_test(test_format_three_significant_digits),
    };
    return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
