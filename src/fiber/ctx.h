/* The machine-level context switch under the fibers: save the callee-saved registers and the
 * stack pointer of one context, load another's. No scheduling, no stacks' memory (fiber.h). */
#ifndef SRVLAB_FIBER_CTX_H
#define SRVLAB_FIBER_CTX_H

#include <stddef.h>

/* A hand-written switch exists for x86-64 and arm64; elsewhere (or with -DFIB_UCONTEXT, which
 * bench/fiber.sh uses to compare) swapcontext(3) does the job, at the price of a sigprocmask
 * system call per switch. */
#if !defined(FIB_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define FIB_UCONTEXT 1
#endif

#ifdef FIB_UCONTEXT
#include <ucontext.h>
#endif

/* Built with AddressSanitizer or ThreadSanitizer (gcc or clang)? Stack switches must then be
 * announced to it. */
#if defined(__SANITIZE_ADDRESS__)
#define FIB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FIB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIB_TSAN 1
#endif
#endif

struct fib_ctx {
    void *sp; /* saved stack pointer while switched out (hand-written switch) */
    void (*fn)(void *);
    void *arg;
    const void *lo; /* stack bounds (AddressSanitizer is told about each switch) */
    size_t size;
    void *asan_fake;
    void *tsan_fiber; /* ThreadSanitizer's state for this context */
#ifdef FIB_UCONTEXT
    ucontext_t uc;
#endif
};

/* Name of the switch in use: "asm-x86_64", "asm-arm64" or "ucontext". */
extern const char *const fib_ctx_kind;

/* Prepares ctx to run fn(arg) on the stack [lo, lo + size) the first time it is switched to.
 * fn must never return (it switches away for good instead). */
void fib_ctx_init(struct fib_ctx *ctx, void *lo, size_t size, void (*fn)(void *), void *arg);

/* Saves the running context into from and resumes to. Returns when something switches back to
 * from. Only the thread that owns both contexts may call it. */
void fib_ctx_switch(struct fib_ctx *from, struct fib_ctx *to);

/* Like fib_ctx_switch, for a context that will never run again (its stack may then be reused). */
void fib_ctx_switch_last(struct fib_ctx *from, struct fib_ctx *to);

/* Releases what ctx_init set up for a context that ended (after fib_ctx_switch_last from it). */
void fib_ctx_destroy(struct fib_ctx *ctx);

#endif
