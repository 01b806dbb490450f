/* Unit tests for src/load/slo.c: rule parsing, rejections and verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "load/slo.h"

static void test_slo_parses_the_course_example(void **state) {
    struct slo s;
    char err[200];
    assert_int_equal(slo_parse("p90<1ms,p99<10ms,p99.9<100ms,errors<0.1%", &s, err, sizeof err), 0);
    assert_int_equal(s.count, 4);
    assert_true(s.rules[0].metric == SLO_PERCENTILE && s.rules[0].percentile == 90);
    assert_true(s.rules[0].limit == 1000 && s.rules[0].op == SLO_LT);
    assert_true(s.rules[2].percentile == 99.9 && s.rules[2].limit == 100000);
    assert_true(s.rules[3].metric == SLO_ERRORS && s.rules[3].limit == 0.001);
    assert_string_equal(s.rules[1].text, "p99<10ms");
    assert_int_equal(slo_parse("mean<=250us,max<2s,rps>=900/s,errors<0.01", &s, err, sizeof err),
                     0);
    assert_true(s.rules[0].metric == SLO_MEAN && s.rules[0].op == SLO_LE);
    assert_true(s.rules[2].metric == SLO_THROUGHPUT && s.rules[2].limit == 900);
}

static void test_slo_bad_rules_are_rejected(void **state) {
    const char *bad[] = {"", "p99", "p99<", "p99<10parsecs", "p0<1ms", "p101<1ms", "q99<1ms",
                         "latency<1ms", "p99=1ms", "p99<1ms,,p90<1ms", "errors<abc%", "p99x<1ms"};
    struct slo s;
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (slo_parse(bad[i], &s, err, sizeof err) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(strlen(err) > 0);
    }
}

static void test_slo_verdicts_follow_the_data(void **state) {
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int i = 1; i <= 1000; i++)
        hist_record(&h, i); /* p90 = 900us, p99 = 990us, max = 1000us */
    struct slo s;
    char err[200];
    assert_int_equal(slo_parse("p90<1ms,p99<900us,errors<1%,rps>100", &s, err, sizeof err), 0);
    struct slo_input in = {.latency = &h, .error_ratio = 0.02, .throughput_per_s = 150};
    struct slo_verdict v[SLO_MAX_RULES];
    assert_false(slo_judge(&s, &in, v));
    assert_true(v[0].is_met);
    assert_true(v[0].actual == 900);
    assert_false(v[1].is_met);
    assert_false(v[2].is_met);
    assert_true(v[3].is_met);
    in.error_ratio = 0;
    assert_int_equal(slo_parse("p90<1ms,errors<1%", &s, err, sizeof err), 0);
    assert_true(slo_judge(&s, &in, v));
    hist_reset(&h);
    assert_false(slo_judge(&s, &in, v)); /* no latency data: not met */
    hist_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_parses_the_course_example),
        cmocka_unit_test(test_slo_bad_rules_are_rejected),
        cmocka_unit_test(test_slo_verdicts_follow_the_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
