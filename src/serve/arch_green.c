/* green: goroutine-style fibers. One scheduler per OS thread (--threads, default the CPU count),
 * each with its own SO_REUSEPORT listener, an acceptor fiber and a fiber per connection whose
 * handler is written in blocking style, like srv_serve_blocking() in common.c, while the fiber
 * library turns each would-block into a park on its epoll netpoller (src/fiber/). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fiber/fiber.h"
#include "http/conn.h"
#include "http/metrics.h"
#include "net/sock.h"
#include "serve/arch.h"

/* One per scheduler thread. */
struct green {
    struct srv *srv;
    int listen_fd;
    struct fib *acceptor;
    struct gconn *conns; /* live connections, so shutdown can close the idle ones */
    pthread_t tid;
    int rc;
};

/* A connection: lives on its fiber's stack, like `struct conn c` in srv_serve_blocking. */
struct gconn {
    struct conn c;
    struct fib *fib;
    struct gconn *prev, *next;
    uint64_t accepted_us;
    bool is_fresh; /* nothing read yet */
};

/* Shutdown closes idle connections, but not one accepted a moment ago: its first request is
 * probably on its way, and closing would race with it (the client would see a reset). */
#define DRAIN_GRACE_US 500000

static __thread struct green *G;

static void track(struct gconn *gc) {
    gc->fib = fib_self();
    gc->prev = NULL;
    gc->next = G->conns;
    if (G->conns)
        G->conns->prev = gc;
    G->conns = gc;
}

static void untrack(struct gconn *gc) {
    if (gc->prev)
        gc->prev->next = gc->next;
    else
        G->conns = gc->next;
    if (gc->next)
        gc->next->prev = gc->prev;
}

/* ---- the connection fiber: srv_serve_blocking with fiber calls ---------------------------- */

/* The core's deadline for the connection's next progress (header, body, idle or send timeout). */
static uint64_t deadline_of(const struct conn *c) {
    uint64_t d = conn_deadline_us(c);
    return d ? d : FIB_NO_DEADLINE;
}

/* Each write gets the send timeout afresh: it counts from the last progress, not the start. */
static int flush(int fd, struct conn *c) {
    size_t len;
    const char *p;
    while ((p = conn_out(c, &len))) {
        ssize_t n = fib_write(fd, p, len, deadline_of(c));
        if (n < 0)
            return (int)n;
        conn_out_sent(c, (size_t)n);
    }
    int file_fd;
    off_t off;
    while (conn_file(c, &file_fd, &off, &len)) {
        off_t start = off;
        ssize_t n = fib_sendfile(fd, file_fd, &off, len, deadline_of(c));
        if (n <= 0)
            return n < 0 ? (int)n : -EIO; /* 0: the file shrank under us */
        conn_file_sent(c, (size_t)(off - start));
    }
    return 0;
}

/* Waits until fd is readable. Returns 1 readable, 0 close now (shutdown with no request in
 * progress), -ETIMEDOUT when the connection's deadline passed, -errno on error. An idle
 * connection first gives its buffers back, so that while parked it holds only its fiber's few
 * touched stack pages. */
static int wait_readable(struct srv *srv, int fd, struct gconn *gc) {
    struct conn *c = &gc->c;
    for (;;) {
        bool is_idle = conn_is_idle(c);
        uint64_t deadline = deadline_of(c);
        if (is_idle && srv_stopping()) {
            uint64_t grace_end = gc->is_fresh ? gc->accepted_us + DRAIN_GRACE_US : 0;
            if (conn_now_us() >= grace_end)
                return 0;
            deadline = grace_end < deadline ? grace_end : deadline;
        }
        if (is_idle)
            conn_shrink(c);
        int rc = fib_wait_fd(fd, FIB_IN, deadline);
        /* Shutdown woke us, or the grace for a fresh connection ended: re-check. */
        if (rc == -ECANCELED || (rc == -ETIMEDOUT && deadline != deadline_of(c)))
            continue;
        return rc < 0 ? rc : 1;
    }
}

/* Like sock_lingering_close, but parking instead of blocking the scheduler thread. */
static void lingering_close(int fd, int timeout_ms) {
    char sink[1024];
    shutdown(fd, SHUT_WR);
    uint64_t deadline = conn_now_us() + (uint64_t)timeout_ms * 1000;
    for (int rounds = 0; rounds < 256; rounds++)
        if (fib_read(fd, sink, sizeof sink, deadline) <= 0)
            break;
    fib_close(fd);
}

/* One recv into the core's buffer (with the kernel's receive time when metrics want it), which
 * the core then owns: bytes, 0 at EOF or -errno. A socket the poller knows is empty gives -EAGAIN
 * without a system call; a short read marks it so. */
static ssize_t read_some(int fd, struct gconn *gc, bool has_ts) {
    size_t space;
    char *buf = conn_rbuf(&gc->c, &space);
    if (!buf)
        return -ENOMEM;
    if (!fib_maybe_readable(fd))
        return -EAGAIN;
    uint64_t arrival_ns = 0;
    ssize_t n = has_ts ? sock_recv_ts(fd, buf, space, MSG_DONTWAIT, &arrival_ns)
                       : recv(fd, buf, space, MSG_DONTWAIT);
    if (n < 0)
        return has_ts ? n : -errno;
    if (n > 0 && (size_t)n < space)
        fib_drained(fd, FIB_IN); /* a short read emptied the receive queue */
    if (n > 0)
        gc->is_fresh = false;
    if (n > 0 && arrival_ns) {
        metrics_set_arrival_source(METRICS_ARRIVAL_KERNEL);
        conn_rdone_ts(&gc->c, (size_t)n, arrival_ns);
    } else if (n > 0) {
        conn_rdone(&gc->c, (size_t)n);
    }
    return n;
}

/* The connection's deadline passed: 408 when a request was being read, then close. */
static void close_timed_out(int fd, struct gconn *gc) {
    conn_timeout(&gc->c);
    bool is_sent = flush(fd, &gc->c) == 0;
    untrack(gc);
    conn_free(&gc->c);
    if (is_sent)
        lingering_close(fd, 200);
    else
        fib_close(fd);
}

static void serve_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct gconn gc = {.accepted_us = conn_now_us(), .is_fresh = true};
    conn_init(&gc.c);
    conn_set_fd(&gc.c, fd);
    track(&gc);
    bool has_ts = metrics_enabled();
    if (has_ts)
        sock_enable_rx_timestamps(fd);
    for (;;) {
        enum conn_status st = conn_process(&gc.c, 0);
        if (flush(fd, &gc.c) < 0)
            break;
        if (st == CONN_CLOSE) {
            untrack(&gc);
            conn_free(&gc.c);
            lingering_close(fd, 200);
            return;
        }
        if (st == CONN_WAIT) {
            fib_sleep_until(gc.c.wake_us);
            continue;
        }
        if (st == CONN_WRITE)
            continue;
        ssize_t n = read_some(fd, &gc, has_ts);
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            int rc = wait_readable(G->srv, fd, &gc);
            if (rc == -ETIMEDOUT) {
                close_timed_out(fd, &gc);
                return;
            }
            if (rc <= 0)
                break;
            continue;
        }
        if (n == -EINTR)
            continue;
        if (n <= 0)
            break;
    }
    untrack(&gc);
    conn_free(&gc.c);
    fib_close(fd);
}

/* ---- per-scheduler fibers: acceptor and shutdown watcher --------------------------------- */

static bool is_resource_error(int rc) {
    return rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM;
}

static void accept_loop(void *arg) {
    struct green *g = arg;
    g->acceptor = fib_self();
    while (!srv_stopping()) {
        int fd = srv_accept_nb(g->srv, g->listen_fd, true);
        if (fd == -EAGAIN || fd == -EWOULDBLOCK) {
            fib_wait_fd(g->listen_fd, FIB_IN, FIB_NO_DEADLINE);
            continue;
        }
        if (is_resource_error(fd)) /* back off: the connection waits in the backlog */
            fib_sleep_until(conn_now_us() + 10000);
        if (fd < 0)
            continue;
        if (fib_spawn(serve_conn, (void *)(intptr_t)fd) < 0) {
            srv_log_limited(g->srv, 3, "green: no memory for a fiber stack (connection dropped)");
            close(fd);
        }
    }
    /* Connections the kernel already completed carry requests in flight: serve them (they
     * get Connection: close), as srv_accept() does for the blocking architectures. */
    int fd;
    while ((fd = srv_accept_nb(g->srv, g->listen_fd, true)) >= 0)
        if (fib_spawn(serve_conn, (void *)(intptr_t)fd) < 0)
            close(fd);
    g->acceptor = NULL;
    fib_close(g->listen_fd);
}

/* On shutdown: stop the acceptor and wake idle connections so they close; busy ones finish
 * their request (answered with Connection: close) and close on their own. */
static void watch_stop(void *arg) {
    struct green *g = arg;
    while (!srv_stopping())
        fib_wait_fd(g->srv->stop_fd, FIB_IN, FIB_NO_DEADLINE);
    if (g->acceptor)
        fib_interrupt(g->acceptor);
    for (struct gconn *gc = g->conns; gc; gc = gc->next)
        if (conn_is_idle(&gc->c))
            fib_interrupt(gc->fib);
}

/* ---- one scheduler per thread ------------------------------------------------------------- */

static void *sched_thread(void *arg) {
    struct green *g = arg;
    G = g;
    g->rc = fib_sched_init(g->srv->opts->stack_bytes);
    if (g->rc < 0)
        return NULL;
    if ((g->rc = fib_spawn(watch_stop, g)) == 0 && (g->rc = fib_spawn(accept_loop, g)) == 0)
        g->rc = fib_sched_run();
    fib_sched_destroy();
    return NULL;
}

/* Closes the extra listeners of schedulers from..n-1 (never srv->listen_fd, scheduler 0's). */
static void close_listeners(struct green *gs, int from, int n) {
    for (int i = from > 0 ? from : 1; i < n; i++)
        if (gs[i].listen_fd >= 0)
            close(gs[i].listen_fd);
}

static int run(struct srv *srv) {
    int n = srv->opts->threads ? srv->opts->threads : srv->ncpu;
    struct green *gs = calloc((size_t)n, sizeof *gs);
    if (!gs)
        return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        gs[i].srv = srv;
        gs[i].listen_fd = i == 0 ? srv->listen_fd : srv_listen_another(srv);
        if (gs[i].listen_fd < 0 && rc == 0)
            rc = gs[i].listen_fd;
    }
    if (rc < 0) {
        snprintf(srv->err, sizeof srv->err, "green: another SO_REUSEPORT listener: %s",
                 strerror(-rc));
        close_listeners(gs, 1, n);
        free(gs);
        return rc;
    }
    int started = 1;
    for (; started < n; started++)
        if (pthread_create(&gs[started].tid, NULL, sched_thread, &gs[started]) != 0)
            break; /* run with the schedulers we have; their listeners stay closed below */
    close_listeners(gs, started, n);
    sched_thread(&gs[0]);
    for (int i = 1; i < started; i++)
        pthread_join(gs[i].tid, NULL);
    for (int i = 0; i < started; i++)
        if (gs[i].rc < 0 && rc == 0)
            rc = gs[i].rc;
    free(gs);
    return rc;
}

const struct arch arch_green = {
    .name = "green",
    .summary = "fibers (user-level threads) on a netpoller per CPU: blocking-style code, "
               "event-loop costs",
    .run = run,
};
