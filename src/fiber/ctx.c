/* Context switches: hand-written for x86-64 and arm64 (callee-saved registers + stack pointer,
 * no system call), swapcontext(3) elsewhere. Also tells AddressSanitizer about stack switches,
 * since the unit tests run under it. Nothing here knows about fibers or scheduling. */
#include "fiber/ctx.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef FIB_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef FIB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef FIB_UCONTEXT
/* ---- hand-written switch ---------------------------------------------------------------- */

void fib_ctx_switch_asm(void **save_sp, void *load_sp);
void fib_ctx_start_asm(void);

#if defined(__x86_64__)
const char *const fib_ctx_kind = "asm-x86_64";
/* System V: rbx, rbp, r12-r15 are callee-saved; everything else the caller already assumes
 * clobbered by a call. The x87 control word and MXCSR are callee-saved too but nothing in srvlab
 * changes them, so they are not switched (Boost.Context does switch them). */
__asm__(".text\n"
        ".globl fib_ctx_switch_asm\n"
        ".hidden fib_ctx_switch_asm\n"
        ".type fib_ctx_switch_asm,@function\n"
        "fib_ctx_switch_asm:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size fib_ctx_switch_asm, .-fib_ctx_switch_asm\n"
        /* First entry into a context: fib_ctx_init left fn in r12 and arg in r13. */
        ".globl fib_ctx_start_asm\n"
        ".hidden fib_ctx_start_asm\n"
        ".type fib_ctx_start_asm,@function\n"
        "fib_ctx_start_asm:\n"
        "    movq %r13, %rdi\n"
        "    andq $-16, %rsp\n"
        "    callq *%r12\n"
        "    ud2\n"
        ".size fib_ctx_start_asm, .-fib_ctx_start_asm\n");

enum { SAVED_WORDS = 7 }; /* r15 r14 r13 r12 rbx rbp, return address */

static void *initial_sp(uintptr_t top, void (*fn)(void *), void *arg) {
    uintptr_t *sp = (uintptr_t *)(top - 16) - (SAVED_WORDS - 1);
    for (int i = 0; i < SAVED_WORDS; i++)
        sp[i] = 0;
    sp[2] = (uintptr_t)arg;          /* r13 */
    sp[3] = (uintptr_t)fn;           /* r12 */
    sp[6] = (uintptr_t)fib_ctx_start_asm; /* where the first switch "returns" to */
    return sp;
}

#elif defined(__aarch64__)
const char *const fib_ctx_kind = "asm-arm64";
/* AAPCS64: x19-x28, the frame pointer x29, the link register x30 and the low halves of v8-v15
 * (d8-d15) are callee-saved. The frame is 176 bytes, a multiple of 16 as sp requires. */
__asm__(".text\n"
        ".globl fib_ctx_switch_asm\n"
        ".hidden fib_ctx_switch_asm\n"
        ".type fib_ctx_switch_asm,%function\n"
        "fib_ctx_switch_asm:\n"
        "    sub sp, sp, #176\n"
        "    stp x19, x20, [sp, #0]\n"
        "    stp x21, x22, [sp, #16]\n"
        "    stp x23, x24, [sp, #32]\n"
        "    stp x25, x26, [sp, #48]\n"
        "    stp x27, x28, [sp, #64]\n"
        "    stp x29, x30, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    mov x2, sp\n"
        "    str x2, [x0]\n"
        "    mov sp, x1\n"
        "    ldp x19, x20, [sp, #0]\n"
        "    ldp x21, x22, [sp, #16]\n"
        "    ldp x23, x24, [sp, #32]\n"
        "    ldp x25, x26, [sp, #48]\n"
        "    ldp x27, x28, [sp, #64]\n"
        "    ldp x29, x30, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    add sp, sp, #176\n"
        "    ret\n"
        ".size fib_ctx_switch_asm, .-fib_ctx_switch_asm\n"
        /* First entry: fib_ctx_init left fn in x19 and arg in x20. */
        ".globl fib_ctx_start_asm\n"
        ".hidden fib_ctx_start_asm\n"
        ".type fib_ctx_start_asm,%function\n"
        "fib_ctx_start_asm:\n"
        "    mov x0, x20\n"
        "    blr x19\n"
        "    brk #0\n"
        ".size fib_ctx_start_asm, .-fib_ctx_start_asm\n");

enum { FRAME_WORDS = 22 }; /* 176 bytes */

static void *initial_sp(uintptr_t top, void (*fn)(void *), void *arg) {
    uintptr_t *sp = (uintptr_t *)(top & ~(uintptr_t)15) - FRAME_WORDS;
    for (int i = 0; i < FRAME_WORDS; i++)
        sp[i] = 0;
    sp[0] = (uintptr_t)fn;             /* x19 */
    sp[1] = (uintptr_t)arg;            /* x20 */
    sp[11] = (uintptr_t)fib_ctx_start_asm; /* x30: where the first switch "returns" to */
    return sp;
}
#endif

static void raw_init(struct fib_ctx *ctx, void *lo, size_t size, void (*fn)(void *), void *arg) {
    ctx->sp = initial_sp((uintptr_t)lo + size, fn, arg);
}

static void raw_switch(struct fib_ctx *from, struct fib_ctx *to) {
    fib_ctx_switch_asm(&from->sp, to->sp);
}

#else
/* ---- ucontext fallback ------------------------------------------------------------------ */

const char *const fib_ctx_kind = "ucontext";

/* makecontext passes only int arguments: the two pointers travel as 32-bit halves. */
static void uc_entry(unsigned fn_hi, unsigned fn_lo, unsigned arg_hi, unsigned arg_lo) {
    void (*fn)(void *) = (void (*)(void *))(((uintptr_t)fn_hi << 16 << 16) | fn_lo);
    void *arg = (void *)(((uintptr_t)arg_hi << 16 << 16) | arg_lo);
    fn(arg);
}

static void raw_init(struct fib_ctx *ctx, void *lo, size_t size, void (*fn)(void *), void *arg) {
    uintptr_t f = (uintptr_t)fn, a = (uintptr_t)arg;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))uc_entry, 4, (unsigned)(f >> 16 >> 16), (unsigned)f,
                (unsigned)(a >> 16 >> 16), (unsigned)a);
}

static void raw_switch(struct fib_ctx *from, struct fib_ctx *to) {
    swapcontext(&from->uc, &to->uc);
}
#endif

/* ---- entry and AddressSanitizer annotations --------------------------------------------- */

/* ASan must be told which stack is current, or it reports false errors on fiber stacks. The
 * thread's own stack learns its bounds when a fiber first reports where it came from. */
#ifdef FIB_ASAN
static __thread struct fib_ctx *asan_from;
#endif

static void ctx_entry(void *p) {
    struct fib_ctx *ctx = p;
#ifdef FIB_ASAN
    __sanitizer_finish_switch_fiber(NULL, &asan_from->lo, &asan_from->size);
#endif
    ctx->fn(ctx->arg);
    abort(); /* fn must switch away for good, never return */
}

void fib_ctx_init(struct fib_ctx *ctx, void *lo, size_t size, void (*fn)(void *), void *arg) {
    ctx->fn = fn;
    ctx->arg = arg;
    ctx->lo = lo;
    ctx->size = size;
    ctx->asan_fake = NULL;
#ifdef FIB_TSAN
    ctx->tsan_fiber = __tsan_create_fiber(0);
#else
    ctx->tsan_fiber = NULL;
#endif
    raw_init(ctx, lo, size, ctx_entry, ctx);
}

void fib_ctx_destroy(struct fib_ctx *ctx) {
#ifdef FIB_TSAN
    if (ctx->tsan_fiber)
        __tsan_destroy_fiber(ctx->tsan_fiber);
#endif
    ctx->tsan_fiber = NULL;
}

static inline void do_switch(struct fib_ctx *from, struct fib_ctx *to, bool is_last) {
#ifdef FIB_TSAN
    /* The thread's own context (never fib_ctx_init'ed) is TSan's current fiber. */
    if (!from->tsan_fiber)
        from->tsan_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#ifdef FIB_ASAN
    __sanitizer_start_switch_fiber(is_last ? NULL : &from->asan_fake, to->lo, to->size);
    asan_from = from;
    raw_switch(from, to);
    __sanitizer_finish_switch_fiber(from->asan_fake, &asan_from->lo, &asan_from->size);
#else
    (void)is_last;
    raw_switch(from, to);
#endif
}

void fib_ctx_switch(struct fib_ctx *from, struct fib_ctx *to) {
    do_switch(from, to, false);
}

void fib_ctx_switch_last(struct fib_ctx *from, struct fib_ctx *to) {
    do_switch(from, to, true);
}
