/* Unit tests for src/load/share.c: how -c, -n, -R and -t are split over threads and --procs
 * processes (shares differ by at most one, add up exactly, and the process count suggested for
 * a descriptor limit is the smallest that fits), and the shared histograms they merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "load/hist.h"
#include "load/share.h"

static void test_share_of_adds_up_and_differs_by_at_most_one(void **state) {
    const uint64_t totals[] = {0, 1, 5, 7, 100, 1500, 100000, 1000003};
    for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++)
        for (uint64_t parts = 1; parts <= 13; parts++) {
            uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
            for (uint64_t i = 0; i < parts; i++) {
                uint64_t s = share_of(totals[k], parts, i);
                assert_int_equal(share_start(totals[k], parts, i), sum);
                sum += s;
                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
            }
            assert_int_equal(sum, totals[k]);
            assert_int_equal(share_start(totals[k], parts, parts), totals[k]);
            assert_true(hi - lo <= 1);
        }
}

static void test_share_of_gives_the_remainder_to_the_first_parts(void **state) {
    assert_int_equal(share_of(10, 4, 0), 3);
    assert_int_equal(share_of(10, 4, 1), 3);
    assert_int_equal(share_of(10, 4, 2), 2);
    assert_int_equal(share_of(10, 4, 3), 2);
    assert_int_equal(share_sum(10, 4, 1, 3), 5);
    assert_int_equal(share_sum(10, 4, 2, 2), 0);
}

/* -c 1500 -t 4 --procs 4: one thread each, 375 connections each. -c 1000 -t 5 --procs 3:
 * threads 2, 2, 1 with 200 connections each, so processes hold 400, 400, 200. */
static void test_share_proc_conns_follows_the_threads(void **state) {
    for (unsigned p = 0; p < 4; p++)
        assert_int_equal(share_proc_conns(1500, 4, 4, p), 375);
    assert_int_equal(share_proc_conns(1000, 5, 3, 0), 400);
    assert_int_equal(share_proc_conns(1000, 5, 3, 1), 400);
    assert_int_equal(share_proc_conns(1000, 5, 3, 2), 200);
    /* 7 connections on 3 threads (3, 2, 2) in 2 processes (threads 0-1, thread 2). */
    assert_int_equal(share_proc_conns(7, 3, 2, 0), 5);
    assert_int_equal(share_proc_conns(7, 3, 2, 1), 2);
    uint64_t sum = 0;
    for (unsigned p = 0; p < 6; p++)
        sum += share_proc_conns(100000, 6, 6, p);
    assert_int_equal(sum, 100000);
}

static void test_share_procs_needed_is_the_smallest_that_fits(void **state) {
    /* 100,000 connections, 19,936 per process (20,000 descriptors less 64 spare): 6. */
    assert_int_equal(share_procs_needed(100000, 1, 19936, 256), 6);
    assert_int_equal(share_procs_needed(100000, 1, 100000, 256), 1);
    assert_int_equal(share_procs_needed(100000, 1, 99999, 256), 2);
    /* -t 5: with 2 processes thread shares are 3 and 2, so process 0 holds 3/5 of them. */
    assert_int_equal(share_procs_needed(1000, 5, 500, 256), 3);
    assert_int_equal(share_procs_needed(1000, 1, 448, 256), 3);
    assert_int_equal(share_procs_needed(1000000, 1, 100, 256), 0); /* needs 10,000 */
    assert_int_equal(share_procs_needed(3, 1, 0, 256), 0);
}

/* --procs relies on it: a histogram whose struct and counts are in shared memory gets what a
 * forked child records, and merges exactly. */
static void test_hist_shared_sees_what_a_forked_child_records(void **state) {
    struct hist *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    assert_true(h != MAP_FAILED);
    assert_int_equal(hist_init_shared(h, 1, 3600000000LL, 3), 0);
    hist_record(h, 5);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 1; i <= 1000; i++)
            hist_record(h, i * 100);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(hist_count(h), 1001);
    assert_int_equal(hist_min(h), 5);
    assert_int_equal(hist_max(h), 100000);
    struct hist total;
    assert_int_equal(hist_init(&total, 1, 3600000000LL, 3), 0);
    hist_merge(&total, h);
    assert_int_equal(hist_percentile(&total, 50), hist_percentile(h, 50));
    assert_true(llabs(hist_percentile(&total, 50) - 50000) <= 50);
    hist_free(&total);
    hist_free(h);
    munmap(h, sizeof *h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_of_adds_up_and_differs_by_at_most_one),
        cmocka_unit_test(test_share_of_gives_the_remainder_to_the_first_parts),
        cmocka_unit_test(test_share_proc_conns_follows_the_threads),
        cmocka_unit_test(test_share_procs_needed_is_the_smallest_that_fits),
        cmocka_unit_test(test_hist_shared_sees_what_a_forked_child_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
