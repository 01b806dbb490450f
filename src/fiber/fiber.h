/* Fibers: user-level threads with their own small stacks, run by one scheduler per OS thread,
 * with blocking-style I/O calls that park the fiber on an epoll netpoller instead of blocking the
 * thread. Fibers never migrate between threads and there is no preemption: a fiber runs until
 * it waits (I/O, sleep, yield) or returns. Not thread-safe across schedulers by design: every
 * call below acts on the calling thread's scheduler. */
#ifndef SRVLAB_FIBER_H
#define SRVLAB_FIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct fib; /* opaque: lives at the top of its own stack mapping */

/* Readiness a fiber can wait for (fib_wait_fd). */
enum { FIB_IN = 1, FIB_OUT = 2 };

#define FIB_NO_DEADLINE UINT64_MAX

struct fib_sched_stats {
    uint64_t switches;       /* context switches into fibers */
    uint64_t polls;          /* epoll_wait calls */
    unsigned fibers_live;    /* spawned and not yet returned */
    unsigned stacks_mapped;  /* stack mappings in existence (live + pooled) */
    unsigned stacks_free;    /* pooled, ready for the next spawn */
    size_t stack_bytes;      /* usable bytes per stack (the guard page not counted) */
};

/* Sets up the calling thread's scheduler: an epoll instance, a timer heap and a stack pool of
 * stacks of stack_bytes (rounded up to pages; 0 = 64 KiB) each with a PROT_NONE guard page
 * below. Returns 0 or -errno. */
int fib_sched_init(size_t stack_bytes);

/* Runs fibers until none is left (parking on the netpoller when all wait). Returns 0, or -errno
 * when epoll_wait fails. */
int fib_sched_run(void);

/* Releases the calling thread's scheduler (pooled stacks, epoll fd). Fibers still live (only
 * after fib_sched_run failed) are abandoned: their stacks stay mapped. */
void fib_sched_destroy(void);

/* Counters of the calling thread's scheduler. */
void fib_sched_get_stats(struct fib_sched_stats *st);

/* Creates a runnable fiber that will call fn(arg) on its own stack; its stack goes back to the
 * pool when fn returns. Returns 0, or -ENOMEM when no stack could be mapped. */
int fib_spawn(void (*fn)(void *), void *arg);

/* The running fiber, or NULL on the scheduler's own stack. */
struct fib *fib_self(void);

/* Lets the other runnable fibers run once, then resumes. */
void fib_yield(void);

/* Parks the running fiber until fd is ready for events (FIB_IN, FIB_OUT), deadline_us
 * (CLOCK_MONOTONIC us, FIB_NO_DEADLINE for none) passes, or fib_interrupt(). Call it only when
 * fd is drained for events: an operation on it (non-blocking) returned EAGAIN, or a read was
 * short, or fib_maybe_readable() said false. The wake-up is the next edge-triggered event.
 * Returns 0 (ready, or a spurious wake: retry the operation), -ETIMEDOUT or -ECANCELED. */
int fib_wait_fd(int fd, unsigned events, uint64_t deadline_us);

/* False when fd is known to have nothing to read: since the last readiness event, a read found
 * its queue empty (fib_drained, fib_wait_fd). A recv then would only say EAGAIN: wait instead. */
bool fib_maybe_readable(int fd);

/* Records that an operation found fd drained for events (a short read of a stream socket means
 * its receive queue is empty now; the next data brings a new edge). */
void fib_drained(int fd, unsigned events);

/* Parks the running fiber until deadline_us passes. Returns 0, or -ECANCELED when interrupted. */
int fib_sleep_until(uint64_t deadline_us);

/* Wakes f, parked in fib_wait_fd/fib_sleep_until or one of the calls below, whose call then
 * returns -ECANCELED. Returns false (and does nothing) when f is not parked. Same thread only. */
bool fib_interrupt(struct fib *f);

/* True when f is parked waiting (on an fd or a timer). */
bool fib_is_parked(const struct fib *f);

/* Blocking-style I/O on a non-blocking fd: the system call is tried first; on EAGAIN the fiber
 * parks until the poller reports readiness, then retries. Each returns what the system call
 * returns (bytes or fd), or -errno, -ETIMEDOUT at deadline_us or -ECANCELED (fib_interrupt). */
ssize_t fib_read(int fd, void *buf, size_t len, uint64_t deadline_us);
ssize_t fib_write(int fd, const void *buf, size_t len, uint64_t deadline_us);
int fib_accept(int listen_fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
               uint64_t deadline_us);

/* Sends all len bytes (partial writes continue after a wait). Returns 0 or as above. */
int fib_write_all(int fd, const void *buf, size_t len, uint64_t deadline_us);

/* sendfile()s up to len bytes of file_fd from *off (advanced by what was sent), parking while
 * the socket is full. Returns bytes sent (> 0; 0 only when len is 0 or the file ended), or as
 * above. */
ssize_t fib_sendfile(int fd, int file_fd, off_t *off, size_t len, uint64_t deadline_us);

/* Forgets the netpoller's state for fd and closes it. Fibers must close fds they waited on with
 * this, not close(2), since the fd number may come back for another connection. */
int fib_close(int fd);

#endif
