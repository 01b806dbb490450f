/* The per-thread scheduler: a FIFO run queue, a netpoller on epoll (edge-triggered, each fd
 * registered once), and a min-heap of deadlines. The blocking-style wrappers try the system
 * call first and park only on EAGAIN, as Go's netpoller does. No preemption, no migration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "fiber/ctx.h"
#include "fiber/fiber.h"
#include "fiber/stack.h"

enum fib_state { FIB_RUNNABLE, FIB_RUNNING, FIB_PARKED_FD, FIB_PARKED_TIMER, FIB_DEAD };

struct fib {
    struct fib_ctx ctx;
    struct fib *next; /* run queue link */
    void (*fn)(void *);
    void *arg;
    void *stack_lo;
    uint64_t deadline_us; /* while in the heap */
    uint64_t seq;         /* ties between equal deadlines fire in order of arming */
    uint32_t heap_idx;    /* position in the heap + 1; 0 when not in it */
    int wait_fd;          /* while FIB_PARKED_FD */
    int wake_rc;          /* what the parked call returns: 0, -ETIMEDOUT, -ECANCELED */
    uint8_t state;
};

/* Who waits on an fd, per direction (one waiter each, as in Go's pollDesc), and which
 * directions are known drained: an operation found the socket empty (EAGAIN, or a short read)
 * and no edge came since. Edge-triggered epoll reports the next data, so a drained fd can be
 * waited on without first trying a system call that would say EAGAIN. */
struct fd_waiters {
    struct fib *in, *out;
    uint8_t drained; /* FIB_IN, FIB_OUT bits */
    bool is_registered;
};

struct sched {
    struct fib_ctx ctx; /* the thread's own stack, where the loop runs */
    struct fib *running;
    struct fib *rq_head, *rq_tail;
    int epfd;
    struct fd_waiters *fds;
    size_t nfds;
    struct fib **heap;
    uint32_t heap_len, heap_cap;
    uint64_t seq;
    uint64_t switches, polls;
    unsigned live;
    unsigned parked_on_fd; /* none: a poll could not wake anyone, skip it while others run */
};

static __thread struct sched *S;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- run queue ---------------------------------------------------------------------------- */

static void enqueue(struct fib *f) {
    f->state = FIB_RUNNABLE;
    f->next = NULL;
    if (S->rq_tail)
        S->rq_tail->next = f;
    else
        S->rq_head = f;
    S->rq_tail = f;
}

static struct fib *dequeue(void) {
    struct fib *f = S->rq_head;
    S->rq_head = f->next;
    if (!S->rq_head)
        S->rq_tail = NULL;
    return f;
}

/* ---- timer heap (min-heap on deadline, then arming order) --------------------------------- */

static bool earlier(const struct fib *a, const struct fib *b) {
    return a->deadline_us < b->deadline_us || (a->deadline_us == b->deadline_us && a->seq < b->seq);
}

static void heap_set(uint32_t i, struct fib *f) {
    S->heap[i] = f;
    f->heap_idx = i + 1;
}

static void sift_up(uint32_t i) {
    struct fib *f = S->heap[i];
    while (i > 0 && earlier(f, S->heap[(i - 1) / 2])) {
        heap_set(i, S->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, f);
}

static void sift_down(uint32_t i) {
    struct fib *f = S->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= S->heap_len)
            break;
        if (c + 1 < S->heap_len && earlier(S->heap[c + 1], S->heap[c]))
            c++;
        if (!earlier(S->heap[c], f))
            break;
        heap_set(i, S->heap[c]);
        i = c;
    }
    heap_set(i, f);
}

static int heap_push(struct fib *f, uint64_t deadline_us) {
    if (S->heap_len == S->heap_cap) {
        uint32_t cap = S->heap_cap ? S->heap_cap * 2 : 256;
        struct fib **h = realloc(S->heap, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        S->heap = h;
        S->heap_cap = cap;
    }
    f->deadline_us = deadline_us;
    f->seq = S->seq++;
    S->heap[S->heap_len++] = f;
    sift_up(S->heap_len - 1);
    return 0;
}

static void heap_remove(struct fib *f) {
    uint32_t i = f->heap_idx - 1;
    f->heap_idx = 0;
    struct fib *last = S->heap[--S->heap_len];
    if (last == f)
        return;
    heap_set(i, last);
    if (i > 0 && earlier(last, S->heap[(i - 1) / 2]))
        sift_up(i);
    else
        sift_down(i);
}

/* ---- parking and waking --------------------------------------------------------------------- */

static bool is_parked(const struct fib *f) {
    return f->state == FIB_PARKED_FD || f->state == FIB_PARKED_TIMER;
}

static void wake(struct fib *f, int rc) {
    if (!is_parked(f))
        return;
    if (f->heap_idx)
        heap_remove(f);
    if (f->state == FIB_PARKED_FD) {
        S->parked_on_fd--;
        struct fd_waiters *w = &S->fds[f->wait_fd];
        if (w->in == f)
            w->in = NULL;
        if (w->out == f)
            w->out = NULL;
    }
    f->wake_rc = rc;
    enqueue(f);
}

/* Switches to the scheduler until something wakes f (its deadline armed beforehand); returns
 * the reason. */
static int park(struct fib *f, enum fib_state state) {
    f->state = (uint8_t)state;
    f->wake_rc = 0;
    fib_ctx_switch(&f->ctx, &S->ctx);
    return f->wake_rc;
}

static int arm(struct fib *f, uint64_t deadline_us) {
    return deadline_us == FIB_NO_DEADLINE ? 0 : heap_push(f, deadline_us);
}

/* ---- the netpoller ------------------------------------------------------------------------ */

/* The fd's slot, growing the table as needed. NULL (errno set) for a bad fd or no memory. */
static struct fd_waiters *slot_of(int fd) {
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    if ((size_t)fd >= S->nfds) {
        size_t n = S->nfds ? S->nfds : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        struct fd_waiters *t = realloc(S->fds, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + S->nfds, 0, (n - S->nfds) * sizeof *t);
        S->fds = t;
        S->nfds = n;
    }
    return &S->fds[fd];
}

/* The fd's slot, registering fd with epoll the first time it is waited on: once, for both
 * directions, edge-triggered, so a busy connection costs no further epoll_ctl calls. Adding
 * reports readiness that is already there, so data that came before is not missed. */
static int fd_slot(int fd, struct fd_waiters **out) {
    struct fd_waiters *w = slot_of(fd);
    if (!w)
        return -errno;
    if (!w->is_registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (epoll_ctl(S->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST)
            return -errno;
        w->is_registered = true;
    }
    *out = w;
    return 0;
}

static void on_event(const struct epoll_event *ev) {
    int fd = ev->data.fd;
    if ((size_t)fd >= S->nfds)
        return;
    struct fd_waiters *w = &S->fds[fd];
    uint32_t e = ev->events;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        w->drained &= (uint8_t)~FIB_IN;
        if (w->in)
            wake(w->in, 0);
    }
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        w->drained &= (uint8_t)~FIB_OUT;
        if (w->out)
            wake(w->out, 0);
    }
}

/* Waits at most until the earliest deadline (not at all when fibers are runnable). */
static int poll_once(void) {
    struct epoll_event evs[256];
    int timeout_ms = -1;
    uint64_t wait_us = 0;
    if (S->rq_head) {
        timeout_ms = 0;
    } else if (S->heap_len) {
        uint64_t now = now_us(), at = S->heap[0]->deadline_us;
        wait_us = at > now ? at - now : 0;
        timeout_ms = (int)((wait_us + 999) / 1000);
    }
    S->polls++;
    int n;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35) && !defined(FIB_TSAN)
    /* epoll_pwait2 takes a timespec: /work?io_us=200 must not round up to a millisecond.
     * Not under ThreadSanitizer: it does not intercept epoll_pwait2, so a signal that arrives
     * while we sleep in it would be held back until the next intercepted call (forever). */
    struct timespec ts = {.tv_sec = (time_t)(wait_us / 1000000),
                          .tv_nsec = (long)(wait_us % 1000000) * 1000};
    n = epoll_pwait2(S->epfd, evs, 256, timeout_ms < 0 ? NULL : &ts, NULL);
    if (n < 0 && errno == ENOSYS)
        n = epoll_wait(S->epfd, evs, 256, timeout_ms);
#else
    n = epoll_wait(S->epfd, evs, 256, timeout_ms);
#endif
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++)
        on_event(&evs[i]);
    return 0;
}

static void expire_timers(void) {
    if (!S->heap_len)
        return;
    uint64_t now = now_us();
    while (S->heap_len && S->heap[0]->deadline_us <= now) {
        struct fib *f = S->heap[0];
        wake(f, f->state == FIB_PARKED_TIMER ? 0 : -ETIMEDOUT);
    }
}

/* ---- scheduler ---------------------------------------------------------------------------- */

int fib_sched_init(size_t stack_bytes) {
    if (S)
        return -EBUSY;
    S = calloc(1, sizeof *S);
    if (!S)
        return -ENOMEM;
    S->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (S->epfd < 0) {
        int err = errno;
        free(S);
        S = NULL;
        return -err;
    }
    fib_stack_setup(stack_bytes);
    return 0;
}

void fib_sched_destroy(void) {
    if (!S)
        return;
    fib_stack_drain(); /* after a failed fib_sched_run, live fibers' stacks stay mapped */
    close(S->epfd);
    free(S->fds);
    free(S->heap);
    free(S);
    S = NULL;
}

void fib_sched_get_stats(struct fib_sched_stats *st) {
    *st = (struct fib_sched_stats){
        .switches = S->switches,
        .polls = S->polls,
        .fibers_live = S->live,
        .stacks_mapped = fib_stack_mapped(),
        .stacks_free = fib_stack_free(),
        .stack_bytes = fib_stack_size(),
    };
}

static void resume(struct fib *f) {
    S->running = f;
    f->state = FIB_RUNNING;
    S->switches++;
    fib_ctx_switch(&S->ctx, &f->ctx);
    S->running = NULL;
    if (f->state == FIB_DEAD) {
        fib_ctx_destroy(&f->ctx);
        fib_stack_put(f->stack_lo); /* safe now: we are off that stack */
    }
}

/* Runs the fibers that were runnable on entry, once each: those they wake wait for the next
 * round, after a poll, so I/O readiness is never starved by a busy run queue. */
static void run_round(void) {
    struct fib *last = S->rq_tail;
    while (S->rq_head) {
        struct fib *f = dequeue();
        resume(f);
        if (f == last)
            break;
    }
}

int fib_sched_run(void) {
    while (S->live > 0) {
        run_round();
        if (S->live == 0)
            break;
        if (S->rq_head && S->parked_on_fd == 0) {
            expire_timers();
            continue;
        }
        int rc = poll_once();
        if (rc < 0)
            return rc;
        expire_timers();
    }
    return 0;
}

/* ---- fibers ------------------------------------------------------------------------------- */

static void fib_main(void *p) {
    struct fib *f = p;
    f->fn(f->arg);
    f->state = FIB_DEAD;
    S->live--;
    fib_ctx_switch_last(&f->ctx, &S->ctx);
}

int fib_spawn(void (*fn)(void *), void *arg) {
    void *lo = fib_stack_get();
    if (!lo)
        return -ENOMEM;
    size_t size = fib_stack_size();
    /* The fiber's bookkeeping sits at the top of its own stack: no allocation besides it. */
    uintptr_t top = ((uintptr_t)lo + size - sizeof(struct fib)) & ~(uintptr_t)63;
    struct fib *f = (struct fib *)top;
    memset(f, 0, sizeof *f);
    f->fn = fn;
    f->arg = arg;
    f->stack_lo = lo;
    f->wait_fd = -1;
    fib_ctx_init(&f->ctx, lo, top - (uintptr_t)lo, fib_main, f);
    S->live++;
    enqueue(f);
    return 0;
}

struct fib *fib_self(void) {
    return S ? S->running : NULL;
}

void fib_yield(void) {
    struct fib *f = S->running;
    enqueue(f);
    fib_ctx_switch(&f->ctx, &S->ctx);
}

bool fib_is_parked(const struct fib *f) {
    return is_parked(f);
}

bool fib_interrupt(struct fib *f) {
    if (!is_parked(f))
        return false;
    wake(f, -ECANCELED);
    return true;
}

int fib_sleep_until(uint64_t deadline_us) {
    int rc = arm(S->running, deadline_us);
    return rc < 0 ? rc : park(S->running, FIB_PARKED_TIMER);
}

int fib_wait_fd(int fd, unsigned events, uint64_t deadline_us) {
    struct fib *f = S->running;
    struct fd_waiters *w = NULL;
    int rc = fd_slot(fd, &w);
    if (rc < 0)
        return rc;
    if (((events & FIB_IN) && w->in) || ((events & FIB_OUT) && w->out))
        return -EBUSY; /* one waiter per direction */
    if ((rc = arm(f, deadline_us)) < 0)
        return rc;
    w->drained |= (uint8_t)events; /* the caller found fd drained; the next edge clears it */
    if (events & FIB_IN)
        w->in = f;
    if (events & FIB_OUT)
        w->out = f;
    f->wait_fd = fd;
    S->parked_on_fd++;
    return park(f, FIB_PARKED_FD);
}

/* ---- blocking-style I/O ------------------------------------------------------------------- */

/* After a system call failed with errno: 0 to retry (EINTR, or readiness after EAGAIN), or the
 * error to return. */
static int wait_or_fail(int fd, unsigned events, uint64_t deadline_us) {
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
    return fib_wait_fd(fd, events, deadline_us);
}

bool fib_maybe_readable(int fd) {
    return fd < 0 || (size_t)fd >= S->nfds || !(S->fds[fd].drained & FIB_IN);
}

void fib_drained(int fd, unsigned events) {
    struct fd_waiters *w = slot_of(fd);
    if (w)
        w->drained |= (uint8_t)events;
}

ssize_t fib_read(int fd, void *buf, size_t len, uint64_t deadline_us) {
    for (;;) {
        if (!fib_maybe_readable(fd)) {
            int rc = fib_wait_fd(fd, FIB_IN, deadline_us);
            if (rc < 0)
                return rc;
        }
        ssize_t n = read(fd, buf, len);
        if (n > 0 && (size_t)n < len)
            fib_drained(fd, FIB_IN); /* a short read emptied the queue */
        if (n >= 0)
            return n;
        int rc = wait_or_fail(fd, FIB_IN, deadline_us);
        if (rc < 0)
            return rc;
    }
}

ssize_t fib_write(int fd, const void *buf, size_t len, uint64_t deadline_us) {
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, buf, len);
        if (n >= 0)
            return n;
        int rc = wait_or_fail(fd, FIB_OUT, deadline_us);
        if (rc < 0)
            return rc;
    }
}

int fib_write_all(int fd, const void *buf, size_t len, uint64_t deadline_us) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = fib_write(fd, p, len, deadline_us);
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fib_accept(int listen_fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
               uint64_t deadline_us) {
    for (;;) {
        int fd = accept4(listen_fd, addr, addrlen, flags);
        if (fd >= 0)
            return fd;
        int rc = wait_or_fail(listen_fd, FIB_IN, deadline_us);
        if (rc < 0)
            return rc;
    }
}

ssize_t fib_sendfile(int fd, int file_fd, off_t *off, size_t len, uint64_t deadline_us) {
    for (;;) {
        ssize_t n = sendfile(fd, file_fd, off, len);
        if (n >= 0)
            return n;
        int rc = wait_or_fail(fd, FIB_OUT, deadline_us);
        if (rc < 0)
            return rc;
    }
}

int fib_close(int fd) {
    if (S && fd >= 0 && (size_t)fd < S->nfds) {
        struct fd_waiters *w = &S->fds[fd];
        if (w->in)
            wake(w->in, -EBADF);
        if (w->out)
            wake(w->out, -EBADF);
        w->is_registered = false;
        w->drained = 0;
    }
    return close(fd) < 0 ? -errno : 0;
}
