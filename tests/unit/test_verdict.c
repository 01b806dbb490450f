/* Unit tests for src/load/verdict.c: each check passes on a healthy run and fails on purpose
 * (non-Poisson schedule, tiny sample, correlated latencies, lagging generator, errors), the SLO
 * with intervals (met, violated, inconclusive and its exit status), and the JSON round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/verdict.h"
#include "rng.h"

#define N 20000

/* A healthy open-loop Poisson run at 1000/s: exponential gaps, independent latencies (mean
 * 1 ms), a generator on time, no errors. Tests break one thing at a time. */
struct run {
    struct hist latency, send_lag;
    double gaps[N], lat[N];
    struct verdict_input in;
    struct verdict v;
};

static int setup(void **state) {
    struct run *r = calloc(1, sizeof *r);
    if (!r || hist_init(&r->latency, 1, HIST_DEFAULT_HIGHEST, 3) < 0 ||
        hist_init(&r->send_lag, 1, HIST_DEFAULT_HIGHEST, 3) < 0)
        return -1;
    rng_state = 99;
    for (int i = 0; i < N; i++) {
        r->gaps[i] = expo(1000);
        r->lat[i] = 100 + expo(900);
        hist_record(&r->latency, (int64_t)r->lat[i]);
        hist_record(&r->send_lag, (int64_t)expo(20));
    }
    r->in = (struct verdict_input){
        .latency = &r->latency, .is_open_loop = true, .is_poisson = true,
        .target_rate_per_s = 1000, .achieved_rate_per_s = 999.2, .sent = N,
        .send_lag = &r->send_lag, .gaps_us = r->gaps, .gap_count = N,
        .latencies_us = r->lat, .latency_count = N, .requests = N, .throughput_per_s = 999};
    *state = r;
    return 0;
}

static int teardown(void **state) {
    struct run *r = *state;
    hist_free(&r->latency);
    hist_free(&r->send_lag);
    free(r);
    return 0;
}

static struct verdict *judge(struct run *r) {
    assert_int_equal(verdict_evaluate(&r->in, &r->v), 0);
    return &r->v;
}

static void test_verdict_healthy_poisson_run_is_valid(void **state) {
    struct verdict *v = judge(*state);
    assert_int_equal(v->level, VERDICT_VALID);
    /* 20000 samples support every percentile but p99.99 (a note, not a failure). */
    assert_non_null(strstr(v->checks[VERDICT_CHECK_SAMPLES].detail, "p99.99 and above"));
    for (int i = VERDICT_CHECK_SAMPLES + 1; i < VERDICT_CHECKS; i++)
        if (v->checks[i].status != VERDICT_PASS)
            fail_msg("%s: %s", verdict_check_names[i], v->checks[i].detail);
    assert_true(v->has_ad && v->ad.n == VERDICT_AD_MAX_GAPS && !v->ad.rejects_1);
    assert_true(v->has_lag1 && !v->lag1.is_correlated && v->n_eff == N);
    assert_non_null(strstr(v->checks[VERDICT_CHECK_ARRIVALS].detail, "1.341"));
    assert_int_equal(verdict_exit_status(v), 0);
}

static void test_verdict_constant_schedule_fails_the_poisson_test(void **state) {
    struct run *r = *state;
    for (int i = 0; i < N; i++)
        r->gaps[i] = 1000;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_ARRIVALS].status, VERDICT_FAIL);
    assert_true(v->ad.rejects_1);
    assert_int_equal(v->level, VERDICT_INVALID);
    /* A constant-rate run is not tested at all. */
    r->in.is_poisson = false;
    v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_ARRIVALS].status, VERDICT_SKIP);
    assert_int_equal(v->level, VERDICT_VALID);
}

static void test_verdict_tiny_sample_marks_percentiles(void **state) {
    struct run *r = *state;
    struct hist small;
    assert_int_equal(hist_init(&small, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    for (int i = 0; i < 100; i++)
        hist_record(&small, (int64_t)r->lat[i]);
    r->in.latency = &small;
    r->in.latency_count = 100;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_SAMPLES].status, VERDICT_NOTE);
    assert_non_null(strstr(v->checks[VERDICT_CHECK_SAMPLES].detail, "p99 and above"));
    assert_true(v->pcts[0].is_enough && v->pcts[2].is_enough); /* p50, p90 */
    assert_false(v->pcts[3].is_enough);                        /* p99 */
    assert_int_equal(v->pcts[3].need_n, 368);
    assert_false(v->pcts[5].is_enough);                        /* p99.99 */
    assert_int_equal(v->level, VERDICT_VALID); /* marked, not invalid */
    hist_free(&small);
    /* The healthy sample supports p99.9 but not p99.99 (20000 < 36887). */
    r->in.latency = &r->latency;
    r->in.latency_count = N;
    v = judge(r);
    assert_true(v->pcts[4].is_enough && !v->pcts[5].is_enough);
}

static void test_verdict_random_walk_latencies_are_flagged(void **state) {
    struct run *r = *state;
    double level = 1000;
    for (int i = 0; i < N; i++) {
        level = fabs(level + 40 * (uniform() - 0.5));
        r->lat[i] = level;
    }
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_INDEPENDENCE].status, VERDICT_NOTE);
    assert_true(v->lag1.is_correlated && v->lag1.rho > 0.9);
    assert_true(v->n_eff < N / 10.0);
    assert_non_null(strstr(v->checks[VERDICT_CHECK_INDEPENDENCE].detail, "correlated"));
    /* Fewer effective samples: p99.9 loses its support. */
    assert_false(v->pcts[4].is_enough);
}

static void test_verdict_lagging_generator_is_invalid(void **state) {
    struct run *r = *state;
    r->in.achieved_rate_per_s = 900;
    r->in.sent = 18000;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_RATE].status, VERDICT_FAIL);
    assert_int_equal(v->level, VERDICT_INVALID);
    /* Send lag alone. */
    r->in.achieved_rate_per_s = 999.2;
    r->in.sent = N;
    hist_record_n(&r->send_lag, 5000, N / 50);
    v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_RATE].status, VERDICT_PASS);
    assert_int_equal(v->checks[VERDICT_CHECK_SEND_LAG].status, VERDICT_FAIL);
    assert_int_equal(v->level, VERDICT_INVALID);
    /* An INVALID run cannot meet an SLO, whatever the latencies say. */
    struct slo s;
    char err[128];
    assert_int_equal(slo_parse("p99<1s", &s, err, sizeof err), 0);
    r->in.slo = &s;
    v = judge(r);
    assert_int_equal(v->slo[0].outcome, VERDICT_SLO_MET);
    assert_int_equal(v->slo_outcome, VERDICT_SLO_INCONCLUSIVE);
    assert_int_equal(verdict_exit_status(v), 3);
}

static void test_verdict_rate_tolerates_poisson_chance(void **state) {
    struct run *r = *state;
    /* 1,000 Poisson arrivals: a 2% shortfall is within three standard deviations (95). */
    r->in.sent = 980;
    r->in.achieved_rate_per_s = 980;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_RATE].status, VERDICT_PASS);
    r->in.is_poisson = false; /* a constant schedule has no such excuse */
    v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_RATE].status, VERDICT_FAIL);
}

static void test_verdict_errors_make_it_inconclusive(void **state) {
    struct run *r = *state;
    r->in.errors = 500; /* 2.5% */
    r->in.timeouts = 100;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_ERRORS].status, VERDICT_WARN);
    assert_int_equal(v->level, VERDICT_INCONCLUSIVE);
    r->in.max_error_ratio = 0.05;
    v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_ERRORS].status, VERDICT_PASS);
    r->in.errors = 0, r->in.timeouts = 0, r->in.max_error_ratio = 0;
    v = judge(r);
    assert_int_equal(v->level, VERDICT_VALID);
}

static void test_verdict_no_samples_is_invalid(void **state) {
    struct run *r = *state;
    struct hist empty;
    assert_int_equal(hist_init(&empty, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    r->in.latency = &empty;
    r->in.latency_count = 0;
    struct verdict *v = judge(r);
    assert_int_equal(v->checks[VERDICT_CHECK_SAMPLES].status, VERDICT_FAIL);
    assert_int_equal(v->level, VERDICT_INVALID);
    hist_free(&empty);
}

static struct verdict *judge_slo(struct run *r, const char *text, struct slo *s) {
    char err[128];
    assert_int_equal(slo_parse(text, s, err, sizeof err), 0);
    r->in.slo = s;
    return judge(r);
}

static void test_verdict_slo_met_violated_inconclusive(void **state) {
    struct run *r = *state;
    struct slo s;
    /* Latency 100us + exponential(900us): p99 = 100 + 900 ln 100 = 4,245us. */
    struct verdict *v = judge_slo(r, "p99<10ms,mean<2ms,errors<1%,rps>=900", &s);
    assert_int_equal(v->slo_outcome, VERDICT_SLO_MET);
    assert_int_equal(verdict_exit_status(v), 0);
    assert_true(v->slo[0].lo <= 4245 && 4245 <= v->slo[0].hi);
    v = judge_slo(r, "p99<10ms,p90<1ms", &s);
    assert_int_equal(v->slo[1].outcome, VERDICT_SLO_VIOLATED);
    assert_int_equal(verdict_exit_status(v), 1);
    v = judge_slo(r, "p99<4250us", &s);
    assert_int_equal(v->slo_outcome, VERDICT_SLO_INCONCLUSIVE);
    assert_int_equal(verdict_exit_status(v), 3);
    assert_true(v->slo_need_more > 0 && v->slo_need_more < UINT64_MAX);
    v = judge_slo(r, "p99.99<1s", &s); /* 20000 samples cannot bound p99.99 */
    assert_int_equal(v->slo_outcome, VERDICT_SLO_INCONCLUSIVE);
    assert_int_equal(v->slo_need_more, 36887 - N);
    v = judge_slo(r, "mean<1001us", &s); /* mean is 1000us give or take 13 */
    assert_int_equal(v->slo_outcome, VERDICT_SLO_INCONCLUSIVE);
    v = judge_slo(r, "errors<0.01%", &s); /* 0 of 20000: Wilson upper 0.019% */
    assert_int_equal(v->slo_outcome, VERDICT_SLO_INCONCLUSIVE);
    assert_true(v->slo_need_more > 15000 && v->slo_need_more < 25000);
}

static void test_verdict_print_and_json_round_trip(void **state) {
    struct run *r = *state;
    struct slo s;
    struct verdict *v = judge_slo(r, "p99<10ms,p99.99<50ms", &s);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    verdict_print(f, v);
    verdict_print_slo(f, &s, v);
    struct json_writer w;
    json_writer_init(&w, f);
    fputs("\n---\n", f);
    long json_at = ftell(f);
    json_obj_begin(&w, NULL);
    verdict_json_write(&w, "verdict", &s, v);
    json_obj_end(&w);
    json_writer_finish(&w);
    fclose(f);
    assert_non_null(strstr(text, "verdict      VALID"));
    assert_non_null(strstr(text, "not enough samples (need about"));
    assert_non_null(strstr(text, "SLO inconclusive: need about"));
    char err[128];
    struct json *root = json_parse(text + json_at, len - (size_t)json_at, err, sizeof err);
    assert_non_null(root);
    const struct json *jv = json_get(root, "verdict");
    assert_string_equal(json_string(json_get(jv, "level"), ""), "VALID");
    assert_string_equal(json_string(json_path(jv, "slo.outcome"), ""), "inconclusive");
    assert_int_equal(json_integer(json_path(jv, "slo.exit_status"), -1), 3);
    struct verdict_input back = {0};
    verdict_json_read_tests(jv, &back);
    assert_true(back.has_ad && back.ad.n == v->ad.n && back.ad.a2_mod == v->ad.a2_mod);
    assert_true(back.has_lag1 && back.lag1.rho == v->lag1.rho && back.lag1.pairs == N - 1);
    json_free(root);
    free(text);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_verdict_healthy_poisson_run_is_valid),
        T(test_verdict_constant_schedule_fails_the_poisson_test),
        T(test_verdict_tiny_sample_marks_percentiles),
        T(test_verdict_random_walk_latencies_are_flagged),
        T(test_verdict_lagging_generator_is_invalid),
        T(test_verdict_rate_tolerates_poisson_chance),
        T(test_verdict_errors_make_it_inconclusive),
        T(test_verdict_no_samples_is_invalid),
        T(test_verdict_slo_met_violated_inconclusive),
        T(test_verdict_print_and_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
