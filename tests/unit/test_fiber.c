/* Unit tests for src/fiber/: ping-pong over socketpairs, timers in deadline order, stacks back to
 * the pool, interrupts and timeouts, writes that park on a full socket, and a stack overflow that
 * must die on the guard page (in a child process). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fiber/fiber.h"

static uint64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int setup(void **state) {
    return fib_sched_init(0) == 0 ? 0 : -1;
}

static int teardown(void **state) {
    fib_sched_destroy();
    return 0;
}

/* ---- ping-pong ------------------------------------------------------------------------------ */

#define PAIRS 200
#define ROUNDS 50

struct pp {
    int fd;
    uint32_t last; /* the last value seen */
    int err;
};

/* Sends 0, reads n+1, sends n+2, ... Each side adds one to what it reads and sends it back. */
static void pinger(void *arg) {
    struct pp *p = arg;
    uint32_t v = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (fib_write_all(p->fd, &v, sizeof v, FIB_NO_DEADLINE) < 0 ||
            fib_read(p->fd, &v, sizeof v, FIB_NO_DEADLINE) != sizeof v) {
            p->err = 1;
            return;
        }
        v++;
    }
    p->last = v;
}

static void ponger(void *arg) {
    struct pp *p = arg;
    uint32_t v;
    for (int i = 0; i < ROUNDS; i++) {
        if (fib_read(p->fd, &v, sizeof v, FIB_NO_DEADLINE) != sizeof v) {
            p->err = 1;
            return;
        }
        v++;
        if (fib_write_all(p->fd, &v, sizeof v, FIB_NO_DEADLINE) < 0) {
            p->err = 1;
            return;
        }
    }
    p->last = v;
}

static void test_many_fibers_ping_pong_over_socketpairs(void **state) {
    static struct pp a[PAIRS], b[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        a[i] = (struct pp){.fd = sv[0]};
        b[i] = (struct pp){.fd = sv[1]};
        assert_int_equal(fib_spawn(pinger, &a[i]), 0);
        assert_int_equal(fib_spawn(ponger, &b[i]), 0);
    }
    assert_int_equal(fib_sched_run(), 0);
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(a[i].err + b[i].err, 0);
        assert_int_equal(a[i].last, 2 * ROUNDS);
        assert_int_equal(b[i].last, 2 * ROUNDS - 1);
        fib_close(a[i].fd);
        fib_close(b[i].fd);
    }
    struct fib_sched_stats st;
    fib_sched_get_stats(&st);
    assert_true(st.switches >= 2u * PAIRS * ROUNDS); /* every read parked at least once */
    assert_true(st.polls > 0);
    assert_int_equal(st.fibers_live, 0);
}

/* ---- timers ------------------------------------------------------------------------------- */

#define SLEEPERS 40

static int order[SLEEPERS], norder;
static uint64_t base_us;

static void sleeper(void *arg) {
    int slot = (int)(intptr_t)arg;
    int rc = fib_sleep_until(base_us + (uint64_t)slot * 500);
    order[norder++] = rc == 0 && mono_us() >= base_us + (uint64_t)slot * 500 ? slot : -1;
}

static void test_timers_fire_in_deadline_order(void **state) {
    /* Spawned in a scrambled order: slot (i * 7) % SLEEPERS wakes at slot * 500 us. */
    base_us = mono_us() + 2000;
    norder = 0;
    for (int i = 0; i < SLEEPERS; i++)
        assert_int_equal(fib_spawn(sleeper, (void *)(intptr_t)((i * 7) % SLEEPERS)), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_int_equal(norder, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        assert_int_equal(order[i], i);
}

static int wait_rc;

static void reader_with_deadline(void *arg) {
    char c;
    wait_rc = (int)fib_read((int)(intptr_t)arg, &c, 1, mono_us() + 20000);
}

static void test_read_with_deadline_times_out(void **state) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    uint64_t t0 = mono_us();
    assert_int_equal(fib_spawn(reader_with_deadline, (void *)(intptr_t)sv[0]), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_int_equal(wait_rc, -ETIMEDOUT);
    assert_true(mono_us() - t0 >= 20000);
    fib_close(sv[0]);
    fib_close(sv[1]);
}

/* ---- interrupts ------------------------------------------------------------------------- */

static struct fib *victim;

static void parked_forever(void *arg) {
    victim = fib_self();
    char c;
    wait_rc = (int)fib_read((int)(intptr_t)arg, &c, 1, FIB_NO_DEADLINE);
}

static void interrupter(void *arg) {
    assert_true(fib_is_parked(victim));
    assert_true(fib_interrupt(victim));
    assert_false(fib_interrupt(victim)); /* already runnable */
}

static void test_interrupt_wakes_parked_fiber_with_ecanceled(void **state) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    wait_rc = 0;
    assert_int_equal(fib_spawn(parked_forever, (void *)(intptr_t)sv[0]), 0);
    assert_int_equal(fib_spawn(interrupter, NULL), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_int_equal(wait_rc, -ECANCELED);
    fib_close(sv[0]);
    fib_close(sv[1]);
}

/* ---- writes that park on a full socket ----------------------------------------------------- */

#define BULK (1 << 20)

struct bulk {
    int fd;
    size_t got;
    uint32_t sum;
    int rc;
};

static void bulk_writer(void *arg) {
    struct bulk *b = arg;
    char *buf = malloc(BULK);
    for (size_t i = 0; i < BULK; i++)
        buf[i] = (char)(i * 31);
    b->rc = fib_write_all(b->fd, buf, BULK, FIB_NO_DEADLINE);
    free(buf);
}

static void slow_reader(void *arg) {
    struct bulk *b = arg;
    char buf[4096];
    while (b->got < BULK) {
        ssize_t n = fib_read(b->fd, buf, sizeof buf, FIB_NO_DEADLINE);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            b->sum += (unsigned char)buf[i] == (unsigned char)((b->got + (size_t)i) * 31);
        b->got += (size_t)n;
        if (b->got % (256 * 1024) < sizeof buf) /* now and then let the writer fill up */
            fib_sleep_until(mono_us() + 1000);
    }
}

static void test_write_parks_until_peer_reads(void **state) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct bulk w = {.fd = sv[0]}, r = {.fd = sv[1]};
    assert_int_equal(fib_spawn(bulk_writer, &w), 0);
    assert_int_equal(fib_spawn(slow_reader, &r), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_int_equal(w.rc, 0);
    assert_int_equal(r.got, BULK);
    assert_int_equal(r.sum, BULK); /* every byte in order */
    fib_close(sv[0]);
    fib_close(sv[1]);
}

/* ---- accept and connect ------------------------------------------------------------------ */

static int lfd;
static char got[6];

static void accepter(void *arg) {
    int fd = fib_accept(lfd, NULL, NULL, SOCK_NONBLOCK, mono_us() + 2000000);
    if (fd < 0)
        return;
    ssize_t n = fib_read(fd, got, 5, mono_us() + 2000000);
    got[n > 0 ? n : 0] = '\0';
    fib_close(fd);
}

static void connecter(void *arg) {
    struct sockaddr_in *sa = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(fd, (struct sockaddr *)sa, sizeof *sa) < 0 && errno == EINPROGRESS)
        fib_wait_fd(fd, FIB_OUT, mono_us() + 2000000); /* writable: connected */
    fib_write_all(fd, "hello", 5, FIB_NO_DEADLINE);
    fib_close(fd);
}

static void test_accept_and_connect_park_until_ready(void **state) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 8), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    got[0] = '\0';
    assert_int_equal(fib_spawn(accepter, NULL), 0); /* parks in accept first */
    assert_int_equal(fib_spawn(connecter, &sa), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_string_equal(got, "hello");
    fib_close(lfd);
}

static void waiter_on_closed(void *arg) {
    char c;
    wait_rc = (int)fib_read((int)(intptr_t)arg, &c, 1, FIB_NO_DEADLINE);
}

static void closer(void *arg) {
    fib_close((int)(intptr_t)arg);
}

static void test_close_wakes_waiter_with_ebadf(void **state) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    wait_rc = 0;
    assert_int_equal(fib_spawn(waiter_on_closed, (void *)(intptr_t)sv[0]), 0);
    assert_int_equal(fib_spawn(closer, (void *)(intptr_t)sv[0]), 0);
    assert_int_equal(fib_sched_run(), 0);
    assert_int_equal(wait_rc, -EBADF);
    fib_close(sv[1]);
}

/* ---- stacks -------------------------------------------------------------------------------- */

static uintptr_t seen_sp;

static void note_stack(void *arg) {
    char here;
    seen_sp = (uintptr_t)&here;
}

static void test_exited_fiber_returns_stack_to_pool(void **state) {
    struct fib_sched_stats st;
    fib_sched_get_stats(&st);
    unsigned mapped0 = st.stacks_mapped, free0 = st.stacks_free;
    assert_int_equal(mapped0, free0); /* nothing live between tests */

    assert_int_equal(fib_spawn(note_stack, NULL), 0);
    assert_int_equal(fib_sched_run(), 0);
    uintptr_t first = seen_sp;
    fib_sched_get_stats(&st);
    assert_int_equal(st.fibers_live, 0);
    assert_int_equal(st.stacks_free, st.stacks_mapped); /* back in the pool */
    unsigned mapped1 = st.stacks_mapped;

    assert_int_equal(fib_spawn(note_stack, NULL), 0); /* LIFO: the same stack again */
    assert_int_equal(fib_sched_run(), 0);
    assert_true(seen_sp == first);
    fib_sched_get_stats(&st);
    assert_int_equal(st.stacks_mapped, mapped1);
}

/* Recurses with a kilobyte frame until the stack runs out. Not instrumented, so the frames stay
 * on the real stack rather than in ASan's fake stack. */
__attribute__((noinline, no_sanitize_address)) static int deep(volatile char *prev, int depth) {
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = prev ? prev[0] : 0;
    if (depth > 1000000)
        return frame[0];
    return deep(frame, depth + 1) + frame[sizeof frame - 1];
}

static uintptr_t guard_lo, guard_hi; /* the guard page of the overflowing fiber */

static void overflow(void *arg) {
    /* The fiber's first frame lies in the top page of its stack mapping. */
    long page = sysconf(_SC_PAGESIZE);
    char here;
    uintptr_t top = ((uintptr_t)&here + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    struct fib_sched_stats st;
    fib_sched_get_stats(&st);
    guard_hi = top - st.stack_bytes;
    guard_lo = guard_hi - (uintptr_t)page;
    *(int *)arg = deep(NULL, 0);
}

/* In the child: a fault inside the guard page re-faults with the default action (SA_RESETHAND),
 * so the child dies by SIGSEGV; a fault anywhere else exits 3 and fails the test. */
static void on_segv(int sig, siginfo_t *si, void *uc) {
    uintptr_t a = (uintptr_t)si->si_addr;
    if (a < guard_lo || a >= guard_hi)
        _exit(3);
}

static void test_stack_overflow_dies_on_guard_page(void **state) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
        sigaltstack(&ss, NULL);
        struct sigaction sa = {.sa_sigaction = on_segv,
                               .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND};
        sigaction(SIGSEGV, &sa, NULL);
        static int sink;
        fib_spawn(overflow, &sink);
        fib_sched_run();
        _exit(0); /* reaching this means the overflow went unnoticed */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        fail_msg("child exited %d instead of dying on the guard page", WEXITSTATUS(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_fibers_ping_pong_over_socketpairs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timers_fire_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_with_deadline_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_wakes_parked_fiber_with_ecanceled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_parks_until_peer_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_and_connect_park_until_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_wakes_waiter_with_ebadf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exited_fiber_returns_stack_to_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_overflow_dies_on_guard_page, setup, teardown),
    };
    return cmocka_run_group_tests_name("fiber", tests, NULL, NULL);
}
