/* Unit tests for src/serve/evloop.c: timers fire in deadline order and can be re-armed or
 * stopped; fd callbacks see their events; a handle forgotten mid-batch gets no callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/evloop.h"

#define NTIMERS 64

struct rec_timer {
    struct ev_timer t;
    int id;
};

static int fired[NTIMERS * 2];
static int nfired;

static void record_cb(struct evloop *lp, struct ev_timer *t) {
    fired[nfired++] = ((struct rec_timer *)t)->id;
}

/* Runs the loop until no timer is armed (bounded, so a bug cannot hang the test). */
static void run_all_timers(struct evloop *lp) {
    for (int i = 0; i < 1000 && lp->heap_len > 0; i++)
        assert_true(evloop_run_once(lp, 1000) >= 0);
    assert_int_equal(lp->heap_len, 0);
}

static void test_timers_fire_in_deadline_order(void **state) {
    struct evloop lp;
    assert_int_equal(evloop_init(&lp, 16), 0);
    struct rec_timer ts[NTIMERS];
    uint64_t base = evloop_clock_us();
    nfired = 0;
    for (int i = 0; i < NTIMERS; i++) { /* a scrambled order: 37 is coprime with 64 */
        int id = (i * 37) % NTIMERS;
        ts[i] = (struct rec_timer){.id = id};
        evloop_timer_start(&lp, &ts[i].t, base + 100 + (uint64_t)id * 50, record_cb);
    }
    run_all_timers(&lp);
    assert_int_equal(nfired, NTIMERS);
    for (int i = 0; i < NTIMERS; i++)
        assert_int_equal(fired[i], i);
    evloop_free(&lp);
}

static void test_timer_restart_and_stop_change_what_fires(void **state) {
    struct evloop lp;
    assert_int_equal(evloop_init(&lp, 16), 0);
    struct rec_timer a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    uint64_t base = evloop_clock_us();
    nfired = 0;
    evloop_timer_start(&lp, &a.t, base + 1000, record_cb);
    evloop_timer_start(&lp, &b.t, base + 2000, record_cb);
    evloop_timer_start(&lp, &c.t, base + 3000, record_cb);
    evloop_timer_start(&lp, &c.t, base + 500, record_cb); /* re-armed earlier */
    evloop_timer_stop(&lp, &b.t);
    assert_false(evloop_timer_is_armed(&b.t));
    evloop_timer_stop(&lp, &b.t); /* stopping twice is harmless */
    run_all_timers(&lp);
    assert_int_equal(nfired, 2);
    assert_int_equal(fired[0], 3);
    assert_int_equal(fired[1], 1);
    evloop_free(&lp);
}

static void test_timer_waits_at_least_its_delay(void **state) {
    struct evloop lp;
    assert_int_equal(evloop_init(&lp, 16), 0);
    struct rec_timer a = {.id = 7};
    nfired = 0;
    uint64_t start = evloop_clock_us();
    evloop_timer_start(&lp, &a.t, start + 20000, record_cb);
    run_all_timers(&lp);
    assert_int_equal(nfired, 1);
    assert_true(evloop_clock_us() - start >= 20000);
    evloop_free(&lp);
}

struct rec_io {
    struct ev_io io;
    int calls;
    uint32_t events;
    struct rec_io *victim; /* forgotten by this callback */
};

static void io_cb(struct evloop *lp, struct ev_io *io, uint32_t events) {
    struct rec_io *r = (struct rec_io *)io;
    r->calls++;
    r->events |= events;
    char buf[16];
    while (read(io->fd, buf, sizeof buf) > 0)
        ;
    if (r->victim)
        evloop_forget(lp, &r->victim->io);
}

static void test_fd_callback_sees_readable(void **state) {
    struct evloop lp;
    assert_int_equal(evloop_init(&lp, 16), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct rec_io r = {0};
    assert_int_equal(evloop_add(&lp, &r.io, sv[0], EPOLLIN, io_cb), 0);
    assert_int_equal(evloop_run_once(&lp, 0), 0); /* nothing yet */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(evloop_run_once(&lp, 1000000), 1);
    assert_int_equal(r.calls, 1);
    assert_true(r.events & EPOLLIN);
    assert_int_equal(evloop_mod(&lp, &r.io, EPOLLOUT), 0);
    assert_int_equal(evloop_run_once(&lp, 1000000), 1);
    assert_true(r.events & EPOLLOUT);
    assert_int_equal(evloop_del(&lp, &r.io), 0);
    assert_int_equal(evloop_run_once(&lp, 0), 0);
    assert_int_equal(r.calls, 2);
    close(sv[0]);
    close(sv[1]);
    evloop_free(&lp);
}

static void test_forgotten_handle_gets_no_callback(void **state) {
    struct evloop lp;
    assert_int_equal(evloop_init(&lp, 16), 0);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    struct rec_io ra = {0}, rb = {0};
    ra.victim = &rb;
    rb.victim = &ra;
    assert_int_equal(evloop_add(&lp, &ra.io, a[0], EPOLLIN, io_cb), 0);
    assert_int_equal(evloop_add(&lp, &rb.io, b[0], EPOLLIN, io_cb), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    evloop_run_once(&lp, 1000000);
    /* Both were ready in one batch; whichever ran first forgot the other. */
    assert_int_equal(ra.calls + rb.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    evloop_free(&lp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_deadline_order),
        cmocka_unit_test(test_timer_restart_and_stop_change_what_fires),
        cmocka_unit_test(test_timer_waits_at_least_its_delay),
        cmocka_unit_test(test_fd_callback_sees_readable),
        cmocka_unit_test(test_forgotten_handle_gets_no_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
