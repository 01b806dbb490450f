/* Unit tests for src/model/predict.c: one parameter struct in, the right model's numbers out. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/predict.h"

#define assert_close(a, b, rel) assert_true(fabs((double)(a) - (b)) <= (rel) * fabs((double)(b)))

static void test_predict_model_names_parse(void **state) {
    enum predict_model m;
    assert_int_equal(predict_model_parse("mmc", &m), 0);
    assert_int_equal(m, PREDICT_MMC);
    assert_int_equal(predict_model_parse("md1", &m), 0);
    assert_int_equal(m, PREDICT_MD1);
    assert_int_equal(predict_model_parse("mm2", &m), -EINVAL);
    assert_string_equal(predict_model_name(PREDICT_MG1), "M/G/1");
}

/* Course notes: service 10 ms is a capacity of 100 r/s; at 10 r/s the mean is 1/90 s. */
static void test_predict_mm1_course_notes(void **state) {
    struct predict_params p = {PREDICT_MM1, 10, 10e-3, 1, 1};
    struct predict_result r;
    assert_int_equal(predict(&p, &r), 0);
    assert_close(r.capacity_per_s, 100, 1e-12);
    assert_close(r.response_mean_s, 1.0 / 90, 1e-12);
    assert_close(r.utilization, 0.1, 1e-12);
    assert_false(r.is_approx);
    p.arrival_per_s = 100;
    assert_int_equal(predict(&p, &r), -EDOM);
}

static void test_predict_mmc_one_server_equals_mm1(void **state) {
    struct predict_params a = {PREDICT_MM1, 4000, 200e-6, 1, 1};
    struct predict_params b = {PREDICT_MMC, 4000, 200e-6, 1, 1};
    struct predict_result ra, rb;
    assert_int_equal(predict(&a, &ra), 0);
    assert_int_equal(predict(&b, &rb), 0);
    assert_close(rb.response_mean_s, ra.response_mean_s, 1e-12);
    for (int i = 0; i < PREDICT_NQ; i++)
        assert_close(rb.response_q_s[i], ra.response_q_s[i], 1e-9);
}

/* Servers only count for M/M/c; M/G/1 is approximate unless cv = 1; M/D/1 is exact at 80%. */
static void test_predict_flags_and_servers(void **state) {
    struct predict_params p = {PREDICT_MMC, 3000, 1e-3, 1, 4};
    struct predict_result r;
    assert_int_equal(predict(&p, &r), 0);
    assert_close(r.capacity_per_s, 4000, 1e-12);
    assert_close(r.wait_prob, 0.509434, 1e-5);
    p = (struct predict_params){PREDICT_MG1, 4000, 200e-6, 0.5, 4};
    assert_int_equal(predict(&p, &r), 0);
    assert_close(r.capacity_per_s, 5000, 1e-12);
    assert_true(r.is_approx);
    p.model = PREDICT_MD1;
    assert_int_equal(predict(&p, &r), 0);
    assert_false(r.is_approx);
    assert_close(r.wait_mean_s, 400e-6, 1e-12);
}

static void test_predict_tails_match_quantiles(void **state) {
    struct predict_params p = {PREDICT_MMC, 3000, 1e-3, 1, 4};
    struct predict_result r;
    double w, t;
    bool is_approx;
    assert_int_equal(predict(&p, &r), 0);
    predict_tails(&p, r.response_q_s[2], &w, &t, &is_approx);
    assert_close(t, 0.01, 1e-6);
    assert_false(is_approx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_model_names_parse),
        cmocka_unit_test(test_predict_mm1_course_notes),
        cmocka_unit_test(test_predict_mmc_one_server_equals_mm1),
        cmocka_unit_test(test_predict_flags_and_servers),
        cmocka_unit_test(test_predict_tails_match_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
