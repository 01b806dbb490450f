/* Fiber stacks from mmap with a guard page, pooled per thread (LIFO, so the next fiber gets the
 * stack whose pages are still resident and cache-warm). */
#include "fiber/stack.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_STACK (64 * 1024)

#include "fiber/ctx.h"

#ifdef FIB_ASAN
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct free_stack {
    struct free_stack *next;
};

static __thread size_t usable;
static __thread struct free_stack *pool;
static __thread unsigned pooled, mapped;

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define STACK_REGISTER(lo, hi) ((void)VALGRIND_STACK_REGISTER((lo), (hi)))
#endif
#endif
#ifndef STACK_REGISTER
#define STACK_REGISTER(lo, hi) ((void)0)
#endif

static size_t page_size(void) {
    static __thread size_t ps; /* per thread: no shared write to race on */
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

void fib_stack_setup(size_t usable_bytes) {
    size_t ps = page_size();
    if (usable_bytes == 0)
        usable_bytes = DEFAULT_STACK;
    usable_bytes = (usable_bytes + ps - 1) / ps * ps;
    if (usable_bytes != usable)
        fib_stack_drain();
    usable = usable_bytes;
}

size_t fib_stack_size(void) {
    if (!usable)
        fib_stack_setup(0);
    return usable;
}

/* The free-list link sits in the top word of the stack, a page the fiber always touched. */
static struct free_stack *link_of(void *lo) {
    return (struct free_stack *)((char *)lo + usable - sizeof(struct free_stack));
}

static void *lo_of(struct free_stack *s) {
    return (char *)s + sizeof *s - usable;
}

void *fib_stack_get(void) {
    size_t size = fib_stack_size();
    if (pool) {
        struct free_stack *s = pool;
        pool = s->next;
        pooled--;
        return lo_of(s);
    }
    size_t ps = page_size();
    /* MAP_NORESERVE: 64 KiB reserved per fiber is only address space; memory is committed page
     * by page as the fiber's stack grows into it. */
    char *base = mmap(NULL, size + ps, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    /* The guard page: a stack overflow faults here (SIGSEGV) instead of silently overwriting
     * whatever mapping lies below. */
    if (mprotect(base, ps, PROT_NONE) < 0) {
        int err = errno;
        munmap(base, size + ps);
        errno = err;
        return NULL;
    }
    mapped++;
    /* Tell valgrind this is a stack, so switching onto it is not taken for a wild jump of the
     * stack pointer (a no-op outside valgrind). Not deregistered: the range stays a stack for
     * the process's life in practice (pooled), and valgrind tolerates a stale entry. */
    STACK_REGISTER(base + ps, base + ps + size);
    return base + ps;
}

static void unmap(void *lo) {
    size_t ps = page_size();
    munmap((char *)lo - ps, usable + ps);
    mapped--;
}

void fib_stack_put(void *lo) {
    UNPOISON(lo, usable); /* frames that never returned (the exit path) left ASan poison */
    if (pooled >= STACK_POOL_MAX) {
        unmap(lo);
        return;
    }
    struct free_stack *s = link_of(lo);
    s->next = pool;
    pool = s;
    pooled++;
}

void fib_stack_drain(void) {
    while (pool) {
        struct free_stack *s = pool;
        pool = s->next;
        pooled--;
        unmap(lo_of(s));
    }
}

unsigned fib_stack_mapped(void) {
    return mapped;
}

unsigned fib_stack_free(void) {
    return pooled;
}
