/* A small event loop in the redis ae style: callbacks per file descriptor and timers, epoll
 * underneath. One loop per thread; nothing here is thread-safe. It knows nothing about HTTP.
 * Handles (struct ev_io, struct ev_timer) live inside their owner's struct, so the loop
 * allocates nothing per connection. */
#ifndef SRVLAB_EVLOOP_H
#define SRVLAB_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct ev_io;
struct ev_timer;

/* Called with the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLHUP, ...). */
typedef void ev_io_cb(struct evloop *lp, struct ev_io *io, uint32_t events);
/* Called once when the timer's time has come; it is no longer armed then. */
typedef void ev_timer_cb(struct evloop *lp, struct ev_timer *t);

struct ev_io {
    ev_io_cb *cb;
    int fd;
    uint32_t events; /* the interest registered with epoll */
};

/* Only the heap position lives in the owner's struct (4 bytes per connection); the deadline
 * and the callback live in the heap entry, paid for only while the timer is armed. */
struct ev_timer {
    uint32_t heap_idx; /* 1-based position in the loop's heap; 0 = not armed */
};

struct ev_heap_entry {
    uint64_t when_us;
    struct ev_timer *t;
    ev_timer_cb *cb;
};

struct evloop {
    int epfd;
    uint64_t now_us;            /* CLOCK_MONOTONIC, refreshed after each wait */
    struct ev_heap_entry *heap; /* min-heap on when_us, 1-based */
    uint32_t heap_len, heap_cap;
    struct epoll_event *ready; /* the batch being dispatched */
    int ready_cap, ready_len, ready_pos;
    bool is_stopped;
    bool is_pwait2_missing; /* fall back to epoll_wait (ms timeouts) */
};

/* Creates the epoll instance; max_events is how many events one wait returns at most.
 * 0 or -errno. */
int evloop_init(struct evloop *lp, int max_events);

/* Closes the epoll fd and frees the heap. Registered fds are not closed. */
void evloop_free(struct evloop *lp);

/* Registers fd with events (EPOLLIN, EPOLLOUT, EPOLLET, EPOLLEXCLUSIVE ...); cb runs on each
 * event. io must stay valid until evloop_del() or evloop_forget(). 0 or -errno. */
int evloop_add(struct evloop *lp, struct ev_io *io, int fd, uint32_t events, ev_io_cb *cb);

/* Changes the interest of a registered fd (no syscall when unchanged). 0 or -errno. */
int evloop_mod(struct evloop *lp, struct ev_io *io, uint32_t events);

/* Unregisters io's fd and forgets its pending events. 0 or -errno. */
int evloop_del(struct evloop *lp, struct ev_io *io);

/* Forgets events already collected for io in the current batch: call it before freeing io
 * (closing the last fd removes it from epoll, so evloop_del is not needed then). */
void evloop_forget(struct evloop *lp, struct ev_io *io);

/* Arms t to fire at when_us (CLOCK_MONOTONIC us); re-arms it if armed. */
void evloop_timer_start(struct evloop *lp, struct ev_timer *t, uint64_t when_us, ev_timer_cb *cb);

/* Disarms t (no-op when not armed). */
void evloop_timer_stop(struct evloop *lp, struct ev_timer *t);

static inline bool evloop_timer_is_armed(const struct ev_timer *t) {
    return t->heap_idx != 0;
}

/* Waits for events at most until the nearest timer (or max_wait_us, -1 = no bound), then
 * dispatches the fd callbacks and the due timers. Returns events dispatched or -errno. */
int evloop_run_once(struct evloop *lp, int64_t max_wait_us);

/* Runs until evloop_stop(). 0 or -errno. */
int evloop_run(struct evloop *lp);

/* Makes evloop_run() return after the current iteration. */
void evloop_stop(struct evloop *lp);

/* Monotonic clock in microseconds (what timers are measured in). */
uint64_t evloop_clock_us(void);

#endif
