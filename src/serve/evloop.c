/* The event loop (see evloop.h): epoll for file descriptors, a binary min-heap for timers.
 * Deliberately no thread safety, no signal handling and no HTTP: owners wire those in. */
#include "serve/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t evloop_clock_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int evloop_init(struct evloop *lp, int max_events) {
    *lp = (struct evloop){.epfd = -1};
    lp->ready = calloc((size_t)max_events, sizeof *lp->ready);
    if (!lp->ready)
        return -ENOMEM;
    lp->ready_cap = max_events;
    lp->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lp->epfd < 0) {
        int err = errno;
        free(lp->ready);
        return -err;
    }
    lp->now_us = evloop_clock_us();
    return 0;
}

void evloop_free(struct evloop *lp) {
    if (lp->epfd >= 0)
        close(lp->epfd);
    free(lp->ready);
    free(lp->heap);
    *lp = (struct evloop){.epfd = -1};
}

/* ---- file descriptors --------------------------------------------------------------------- */

int evloop_add(struct evloop *lp, struct ev_io *io, int fd, uint32_t events, ev_io_cb *cb) {
    io->cb = cb;
    io->fd = fd;
    io->events = events;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_mod(struct evloop *lp, struct ev_io *io, uint32_t events) {
    if (io->events == events)
        return 0;
    io->events = events;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return epoll_ctl(lp->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *lp, struct ev_io *io) {
    evloop_forget(lp, io);
    return epoll_ctl(lp->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0 ? -errno : 0;
}

void evloop_forget(struct evloop *lp, struct ev_io *io) {
    /* A callback may free another handle whose event waits later in this batch (libuv
     * invalidates the same way); the scan is short and happens once per close. */
    for (int i = lp->ready_pos; i < lp->ready_len; i++)
        if (lp->ready[i].data.ptr == io)
            lp->ready[i].data.ptr = NULL;
}

/* ---- timers: a 1-based binary min-heap; each timer knows its index for O(log n) removal ---- */

static void heap_set(struct evloop *lp, uint32_t i, struct ev_heap_entry e) {
    lp->heap[i] = e;
    e.t->heap_idx = i;
}

static void sift_up(struct evloop *lp, uint32_t i) {
    struct ev_heap_entry e = lp->heap[i];
    while (i > 1 && lp->heap[i / 2].when_us > e.when_us) {
        heap_set(lp, i, lp->heap[i / 2]);
        i /= 2;
    }
    heap_set(lp, i, e);
}

static void sift_down(struct evloop *lp, uint32_t i) {
    struct ev_heap_entry e = lp->heap[i];
    for (;;) {
        uint32_t child = 2 * i;
        if (child > lp->heap_len)
            break;
        if (child < lp->heap_len && lp->heap[child + 1].when_us < lp->heap[child].when_us)
            child++;
        if (lp->heap[child].when_us >= e.when_us)
            break;
        heap_set(lp, i, lp->heap[child]);
        i = child;
    }
    heap_set(lp, i, e);
}

static int heap_reserve(struct evloop *lp) {
    if (lp->heap_len + 1 < lp->heap_cap)
        return 0;
    uint32_t ncap = lp->heap_cap ? lp->heap_cap * 2 : 64;
    struct ev_heap_entry *nh = realloc(lp->heap, ncap * sizeof *nh);
    if (!nh)
        return -ENOMEM;
    lp->heap = nh;
    lp->heap_cap = ncap;
    return 0;
}

void evloop_timer_stop(struct evloop *lp, struct ev_timer *t) {
    uint32_t i = t->heap_idx;
    if (i == 0)
        return;
    t->heap_idx = 0;
    struct ev_heap_entry last = lp->heap[lp->heap_len--];
    if (i > lp->heap_len)
        return; /* t was the last entry */
    uint64_t old_us = lp->heap[i].when_us;
    heap_set(lp, i, last);
    if (last.when_us < old_us)
        sift_up(lp, i);
    else
        sift_down(lp, i);
}

void evloop_timer_start(struct evloop *lp, struct ev_timer *t, uint64_t when_us, ev_timer_cb *cb) {
    if (t->heap_idx) {
        uint32_t i = t->heap_idx;
        uint64_t old_us = lp->heap[i].when_us;
        lp->heap[i].when_us = when_us;
        lp->heap[i].cb = cb;
        if (when_us < old_us)
            sift_up(lp, i);
        else
            sift_down(lp, i);
        return;
    }
    if (heap_reserve(lp) < 0)
        abort(); /* a few bytes per armed timer; out of memory here leaves no sane way on */
    lp->heap[++lp->heap_len] = (struct ev_heap_entry){.when_us = when_us, .t = t, .cb = cb};
    sift_up(lp, lp->heap_len);
}

static int run_timers(struct evloop *lp) {
    int n = 0;
    while (lp->heap_len > 0 && lp->heap[1].when_us <= lp->now_us) {
        struct ev_timer *t = lp->heap[1].t;
        ev_timer_cb *cb = lp->heap[1].cb;
        evloop_timer_stop(lp, t);
        cb(lp, t);
        n++;
    }
    return n;
}

/* ---- waiting and dispatching -------------------------------------------------------------- */

/* epoll_pwait2 (Linux 5.11, glibc 2.35) takes a timespec, so /work?io_us waits are not rounded
 * up to whole ms. Not under ThreadSanitizer: it does not intercept epoll_pwait2, and a signal
 * arriving while we sleep there would be held back until the next intercepted call. */
#if defined(__SANITIZE_THREAD__)
#define EV_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EV_TSAN 1
#endif
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35) && !defined(EV_TSAN)
#define EV_HAS_PWAIT2 1
#endif

static int wait_events(struct evloop *lp, int64_t timeout_us) {
#ifdef EV_HAS_PWAIT2
    if (!lp->is_pwait2_missing) {
        struct timespec ts = {.tv_sec = timeout_us / 1000000,
                              .tv_nsec = timeout_us % 1000000 * 1000};
        int n = epoll_pwait2(lp->epfd, lp->ready, lp->ready_cap, timeout_us < 0 ? NULL : &ts,
                             NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        lp->is_pwait2_missing = true; /* kernel before 5.11 */
    }
#endif
    int timeout_ms = timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000);
    return epoll_wait(lp->epfd, lp->ready, lp->ready_cap, timeout_ms);
}

int evloop_run_once(struct evloop *lp, int64_t max_wait_us) {
    int64_t timeout_us = max_wait_us;
    if (lp->heap_len > 0) {
        uint64_t now = evloop_clock_us();
        uint64_t when = lp->heap[1].when_us;
        int64_t until = when > now ? (int64_t)(when - now) : 0;
        if (timeout_us < 0 || until < timeout_us)
            timeout_us = until;
    }
    int n = wait_events(lp, timeout_us);
    if (n < 0 && errno != EINTR)
        return -errno;
    lp->now_us = evloop_clock_us();
    lp->ready_len = n > 0 ? n : 0;
    for (lp->ready_pos = 0; lp->ready_pos < lp->ready_len;) {
        struct epoll_event *ev = &lp->ready[lp->ready_pos++];
        struct ev_io *io = ev->data.ptr;
        if (io)
            io->cb(lp, io, ev->events);
    }
    int dispatched = lp->ready_len;
    lp->ready_len = lp->ready_pos = 0;
    return dispatched + run_timers(lp);
}

int evloop_run(struct evloop *lp) {
    lp->is_stopped = false;
    while (!lp->is_stopped) {
        int rc = evloop_run_once(lp, -1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void evloop_stop(struct evloop *lp) {
    lp->is_stopped = true;
}
