/* Context-switch cost: the switch fibers use (fib_ctx_switch: hand-written asm, or swapcontext
 * when built with -DFIB_UCONTEXT) against plain swapcontext(3), and a full fib_yield round
 * through the scheduler with 2 and with 1000 fibers (more fibers: colder caches).
 * Built and run by bench/fiber.sh; prints one "name ns_per_op" line per measurement. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include "fiber/ctx.h"
#include "fiber/fiber.h"

#define STACK (64 * 1024)

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- fib_ctx_switch ping-pong ------------------------------------------------------------- */

static struct fib_ctx main_ctx, peer_ctx;

static void ctx_peer(void *arg) {
    for (;;)
        fib_ctx_switch(&peer_ctx, &main_ctx);
}

static double bench_ctx(long rounds) {
    void *stack = malloc(STACK);
    fib_ctx_init(&peer_ctx, stack, STACK, ctx_peer, NULL);
    fib_ctx_switch(&main_ctx, &peer_ctx); /* warm up */
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        fib_ctx_switch(&main_ctx, &peer_ctx);
    return (now_ns() - t0) / (2.0 * (double)rounds); /* two switches per round */
}

/* ---- swapcontext ping-pong ---------------------------------------------------------------- */

static ucontext_t main_uc, peer_uc;

static void uc_peer(void) {
    for (;;)
        swapcontext(&peer_uc, &main_uc);
}

static double bench_swapcontext(long rounds) {
    getcontext(&peer_uc);
    peer_uc.uc_stack.ss_sp = malloc(STACK);
    peer_uc.uc_stack.ss_size = STACK;
    makecontext(&peer_uc, uc_peer, 0);
    swapcontext(&main_uc, &peer_uc);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        swapcontext(&main_uc, &peer_uc);
    return (now_ns() - t0) / (2.0 * (double)rounds);
}

/* ---- fib_yield through the scheduler ------------------------------------------------------ */

static long yields_each;

static void yielder(void *arg) {
    for (long i = 0; i < yields_each; i++)
        fib_yield();
}

static double bench_yield(int fibers, long total) {
    yields_each = total / fibers;
    fib_sched_init(0);
    for (int i = 0; i < fibers; i++)
        fib_spawn(yielder, NULL);
    double t0 = now_ns();
    fib_sched_run();
    double per = (now_ns() - t0) / ((double)yields_each * fibers);
    fib_sched_destroy();
    return per;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    printf("switch_%s %.1f\n", fib_ctx_kind, bench_ctx(n));
    printf("switch_swapcontext %.1f\n", bench_swapcontext(n / 10));
    printf("yield_%s_2_fibers %.1f\n", fib_ctx_kind, bench_yield(2, n));
    printf("yield_%s_1000_fibers %.1f\n", fib_ctx_kind, bench_yield(1000, n));
    return 0;
}
