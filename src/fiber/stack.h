/* Fiber stacks: mmap'd regions with a PROT_NONE guard page below, recycled through a per-thread
 * pool so spawning a fiber costs no system call once the pool is warm. No fiber logic here. */
#ifndef SRVLAB_FIBER_STACK_H
#define SRVLAB_FIBER_STACK_H

#include <stddef.h>

/* At most this many free stacks are kept per thread; more are unmapped. */
#define STACK_POOL_MAX 1024u

/* Sets the calling thread's stack size (usable bytes, rounded up to pages; 0 = 64 KiB).
 * Frees pooled stacks of another size. */
void fib_stack_setup(size_t usable_bytes);

/* Usable bytes per stack on this thread. */
size_t fib_stack_size(void);

/* A stack: returns its lowest usable address (the guard page is just below), or NULL with errno
 * set. Reserved with MAP_NORESERVE: only pages the fiber touches become resident. */
void *fib_stack_get(void);

/* Returns a stack from fib_stack_get() to the pool (or unmaps it when the pool is full). */
void fib_stack_put(void *lo);

/* Unmaps every pooled stack of the calling thread. */
void fib_stack_drain(void);

/* Mapped (live + pooled) and pooled stack counts of the calling thread. */
unsigned fib_stack_mapped(void);
unsigned fib_stack_free(void);

#endif
