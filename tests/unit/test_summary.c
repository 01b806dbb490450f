/* Unit tests for src/report/summary.c (the summary numbers) and src/report/data.c (the
 * manifest written and read back, a loader result read from its JSON). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/data.h"
#include "report/summary.h"

/* A run whose latency histogram holds `count` values spread evenly over 1..max_us. */
static struct run *add(struct sweep_server *s, const char *step, unsigned conns, double rate,
                       double tput, int64_t max_us, uint64_t count) {
    struct run *r = data_add_run(s);
    assert_non_null(r);
    snprintf(r->step, sizeof r->step, "%s", step);
    snprintf(r->stem, sizeof r->stem, "runs/x/%zu-%s", s->run_count, step);
    r->connections = conns;
    r->rate_per_s = rate;
    r->throughput_per_s = tput;
    r->requests = r->responses = count;
    r->max_conns = conns;
    r->has_result = true;
    assert_int_equal(hist_init(&r->latency, 1, 3600000000LL, 3), 0);
    for (uint64_t i = 1; i <= count; i++)
        hist_record(&r->latency, (int64_t)(i * (uint64_t)max_us / count));
    return r;
}

static void free_server(struct sweep_server *s) {
    struct sweep_data d = {.server_count = 1};
    d.servers[0] = *s;
    data_free(&d);
}

static struct slo p99_under(const char *text) {
    struct slo slo;
    assert_int_equal(slo_parse(text, &slo, NULL, 0), 0);
    return slo;
}

static void test_max_throughput_is_best_closed_run(void **state) {
    struct sweep_server s = {0};
    add(&s, "low", 1, 0, 1000, 100, 100);
    add(&s, "closed", 10, 0, 9000, 100, 100);
    add(&s, "closed", 1000, 0, 4000, 100, 100);
    add(&s, "open", 100, 20000, 20000, 100, 100); /* open loop never counts as the max */
    struct summary sum;
    summary_server(&s, NULL, 1, &sum);
    assert_true(sum.max_tput_per_s == 9000);
    assert_int_equal(sum.max_run->connections, 10);
    free_server(&s);
}

static void test_slo_rate_is_highest_open_rate_that_met_it(void **state) {
    struct sweep_server s = {0};
    struct slo slo = p99_under("p99<10ms");
    add(&s, "closed", 10, 0, 10000, 100, 100);
    add(&s, "open", 100, 1000, 1000, 2000, 1000);    /* met */
    add(&s, "open", 100, 5000, 5000, 9000, 1000);    /* met */
    add(&s, "open", 100, 8000, 8000, 50000, 1000);   /* p99 too high */
    add(&s, "search", 100, 6500, 6500, 9500, 1000);  /* met: the answer */
    add(&s, "search", 100, 7000, 5000, 1000, 1000);  /* low latency but did not keep up */
    struct summary sum;
    summary_server(&s, &slo, 1, &sum);
    assert_true(sum.slo_rate_per_s == 6500);
    assert_false(summary_run_meets(&s.runs[5], &slo));
    free_server(&s);
}

static void test_p99_half_load_comes_from_the_50pct_run(void **state) {
    struct sweep_server s = {0};
    add(&s, "closed", 10, 0, 10000, 100, 100);
    add(&s, "open", 100, 1000, 1000, 1000, 1000)->fraction = 0.1;
    add(&s, "open", 100, 5000, 5000, 3000, 1000)->fraction = 0.5;
    add(&s, "open", 100, 8000, 8000, 9000, 1000)->fraction = 0.8;
    struct summary sum;
    summary_server(&s, NULL, 1, &sum);
    assert_ptr_equal(sum.half_run, &s.runs[2]);
    assert_true(fabs(sum.p99_half_us - 2970) <= 3); /* 99% of 3000, 3 significant digits */
    free_server(&s);
}

static void test_memory_and_cpu_per_unit(void **state) {
    struct sweep_server s = {0};
    add(&s, "low", 1, 0, 1000, 100, 100)->rss_peak_kib = 2000;
    struct run *many = add(&s, "closed", 1000, 0, 5000, 100, 100);
    many->rss_peak_kib = 2000 + 999 * 8;
    many->cpu_s = 0.5;
    struct summary sum;
    summary_server(&s, NULL, 2.0, &sum);
    assert_true(fabs(sum.mem_per_conn_kib - 8) < 1e-9);
    /* 0.5 s of CPU over 5000/s x 2 s = 10000 responses: 50 us each. */
    assert_true(fabs(sum.cpu_per_req_us - 50) < 1e-9);
    free_server(&s);
}

static void test_missing_runs_give_nan(void **state) {
    struct sweep_server s = {0};
    struct summary sum;
    summary_server(&s, NULL, 1, &sum);
    assert_true(isnan(sum.max_tput_per_s) && isnan(sum.slo_rate_per_s) &&
                isnan(sum.p99_half_us) && isnan(sum.mem_per_conn_kib) &&
                isnan(sum.cpu_per_req_us));
}

static void test_closed_runs_sorted_by_connections_with_low_first(void **state) {
    struct sweep_server s = {0};
    add(&s, "closed", 1000, 0, 1, 10, 10);
    add(&s, "low", 1, 0, 1, 10, 10);
    add(&s, "closed", 10, 0, 1, 10, 10);
    const struct run *runs[8];
    assert_int_equal(summary_runs(&s, "closed", runs, 8), 3);
    assert_int_equal(runs[0]->connections, 1);
    assert_int_equal(runs[1]->connections, 10);
    assert_int_equal(runs[2]->connections, 1000);
    free_server(&s);
}

/* ---- data.c ---- */

static char *make_dir(void) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/srvlab-test-summary.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A loader result in the shape docs/load.md gives, cut down to what the report reads. */
static const char sample_json[] =
    "{\"srvlab_load\": 1, \"duration_s\": 2, \"requests\": 10, \"responses\": 9,\n"
    " \"errors\": {\"total\": 1, \"timeout\": 1}, \"throughput_per_s\": 4.5,\n"
    " \"connections_used_max\": 3, \"self_check\": {\"ok\": false},\n"
    " \"latency\": {\"count\": 9, \"percentiles\": {\"99\": 900},\n"
    "   \"histogram\": {\"lowest_us\": 1, \"highest_us\": 3600000000, \"sigfigs\": 3,\n"
    "     \"count\": 9, \"min_us\": 100, \"max_us\": 900, \"mean_us\": 500, \"m2_us2\": 600000,\n"
    "     \"clamped\": 0, \"buckets\": [[100, 1], [200, 1], [300, 1], [400, 1], [500, 1],\n"
    "       [600, 1], [700, 1], [800, 1], [900, 1]]}}}\n";

static void test_run_is_read_from_loader_json_and_csv(void **state) {
    char *dir = make_dir();
    write_file(dir, "r.json", sample_json);
    write_file(dir, "r.csv", "second,sent,completed,errors,rate_per_s,p50_us,p99_us\n"
                             "0,5,4,0,4,500,900\n1,5,5,1,5,500,900\n");
    struct run r = {0};
    snprintf(r.stem, sizeof r.stem, "r");
    char err[256];
    assert_int_equal(data_read_run(&r, dir, err, sizeof err), 0);
    assert_true(r.has_result && r.is_generator_bound);
    assert_int_equal(r.responses, 9);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.max_conns, 3);
    assert_true(r.throughput_per_s == 4.5 && r.elapsed_s == 2);
    assert_int_equal(hist_count(&r.latency), 9);
    assert_int_equal(hist_percentile(&r.latency, 100), 900);
    assert_int_equal(r.per_s_count, 2);
    assert_true(r.per_s[0] == 4 && r.per_s[1] == 5);
    snprintf(r.stem, sizeof r.stem, "missing"); /* frees what the first read kept */
    assert_int_equal(data_read_run(&r, dir, err, sizeof err), -ENOENT);
    char path[128];
    snprintf(path, sizeof path, "%s/r.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/r.csv", dir);
    unlink(path);
    rmdir(dir);
}

static void test_manifest_round_trips(void **state) {
    char *dir = make_dir();
    static struct sweep_data d, back;
    snprintf(d.command, sizeof d.command, "srvlab sweep --slo 'p99<1ms' --out x");
    snprintf(d.slo, sizeof d.slo, "p99<1ms");
    d.cores = 2;
    d.duration_s = 1.5;
    d.was_interrupted = true;
    d.server_count = 1;
    snprintf(d.servers[0].name, sizeof d.servers[0].name, "epoll");
    struct run *r = data_add_run(&d.servers[0]);
    snprintf(r->step, sizeof r->step, "open");
    snprintf(r->stem, sizeof r->stem, "runs/epoll/05-open-100");
    r->rate_per_s = 100;
    r->cpu_s = 0.25;
    r->rss_peak_kib = 1234;
    assert_int_equal(data_save(&d, dir), 0);
    char err[256];
    assert_int_equal(data_load(&back, dir, err, sizeof err), 0);
    assert_string_equal(back.command, d.command);
    assert_string_equal(back.slo, "p99<1ms");
    assert_true(back.was_interrupted && back.cores == 2 && back.duration_s == 1.5);
    assert_int_equal(back.server_count, 1);
    assert_int_equal(back.servers[0].run_count, 1);
    const struct run *b = &back.servers[0].runs[0];
    assert_string_equal(b->stem, r->stem);
    assert_true(b->rate_per_s == 100 && b->cpu_s == 0.25 && b->rss_peak_kib == 1234);
    assert_false(b->has_result); /* its loader files do not exist */
    data_free(&d);
    data_free(&back);
    char path[128];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_throughput_is_best_closed_run),
        cmocka_unit_test(test_slo_rate_is_highest_open_rate_that_met_it),
        cmocka_unit_test(test_p99_half_load_comes_from_the_50pct_run),
        cmocka_unit_test(test_memory_and_cpu_per_unit),
        cmocka_unit_test(test_missing_runs_give_nan),
        cmocka_unit_test(test_closed_runs_sorted_by_connections_with_low_first),
        cmocka_unit_test(test_run_is_read_from_loader_json_and_csv),
        cmocka_unit_test(test_manifest_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
