/* The non-blocking connection driver (see evconn.h). The hot path is the nginx one: each
 * socket is registered once, edge-triggered for EPOLLIN|EPOLLOUT|EPOLLRDHUP, so a keep-alive
 * request costs one recv and one send and no epoll_ctl. Responses are written at once (write
 * first); EPOLLOUT only matters after a short write. No threads here. */
#include "serve/evconn.h"

#include "http/metrics.h"
#include "net/sock.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    F_READABLE = 1 << 0,   /* an EPOLLIN edge came and recv has not seen the queue empty */
    F_RDHUP = 1 << 1,      /* the peer closed or the socket failed: read until recv says so */
    F_WANT_WRITE = 1 << 2, /* output is blocked until EPOLLOUT */
    F_BUSY = 1 << 3,       /* handed to a worker (epoll+pool): hands off */
    F_LINGER = 1 << 4,     /* closing: our FIN is sent, discard input until EOF or timeout */
    F_FRESH = 1 << 5,      /* accepted, no byte received yet */
};

#define ACCEPT_BATCH 64       /* accepts per listener event: do not starve open conns */
#define ACCEPT_PAUSE_US 10000 /* EMFILE: stop polling the listener this long */
#define SHARE_PAUSE_US 1000   /* --listener exclusive: a loop over its share steps back */
#define DRIVE_BUDGET 64       /* conn_process rounds per event before yielding */
#define DRAIN_GRACE_US 500000 /* shutdown: a fresh connection's first request may be on its way */
#define DRAIN_SWEEP_US 100000 /* shutdown: look for connections that became closable */
#define LINGER_US 1000000     /* lingering close: wait this long for the client's FIN */
#define SWEEP_MIN_US 10000    /* timeout sweep period: a quarter of the shortest timeout, */
#define SWEEP_MAX_US 1000000  /* within these bounds */
#define EV_CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

static struct evconn_loop *loop_of(struct evloop *lp) {
    return (struct evconn_loop *)lp; /* lp is the first member */
}

static struct evconn *of_io(struct ev_io *io) {
    return (struct evconn *)((char *)io - offsetof(struct evconn, io));
}

static struct evconn *of_timer(struct ev_timer *t) {
    return (struct evconn *)((char *)t - offsetof(struct evconn, tm));
}

/* ---- connection memory: slabs of SLAB_CONNS structs and a free list, which saves malloc's
 * per-chunk header and rounding (16 of about 200 bytes per idle connection). Slabs are kept
 * until the loop ends and reused; nginx preallocates its connection array the same way. ---- */

#define SLAB_CONNS 64

struct slab {
    struct slab *next;
    struct evconn conns[SLAB_CONNS];
};

union free_conn {
    struct evconn e;
    union free_conn *next;
};

static struct evconn *conn_alloc(struct evconn_loop *el) {
    if (!el->free_conns) {
        struct slab *sl = malloc(sizeof *sl);
        if (!sl)
            return NULL;
        sl->next = el->slabs;
        el->slabs = sl;
        for (int i = SLAB_CONNS - 1; i >= 0; i--) {
            union free_conn *f = (union free_conn *)&sl->conns[i];
            f->next = el->free_conns;
            el->free_conns = f;
        }
    }
    union free_conn *f = el->free_conns;
    el->free_conns = f->next;
    return &f->e;
}

static void conn_release(struct evconn_loop *el, struct evconn *e) {
    union free_conn *f = (union free_conn *)e;
    f->next = el->free_conns;
    el->free_conns = f;
}

static void slabs_free(struct evconn_loop *el) {
    while (el->slabs) {
        struct slab *next = el->slabs->next;
        free(el->slabs);
        el->slabs = next;
    }
    el->free_conns = NULL;
}

static void drive(struct evconn_loop *el, struct evconn *e);

/* ---- closing ------------------------------------------------------------------------------ */

static void maybe_finish_drain(struct evconn_loop *el) {
    if (el->is_draining && el->nconns == 0)
        evloop_stop(&el->lp);
}

static void close_conn(struct evconn_loop *el, struct evconn *e) {
    evloop_forget(&el->lp, &e->io);
    evloop_timer_stop(&el->lp, &e->tm);
    el->by_fd[e->io.fd] = NULL;
    close(e->io.fd); /* also removes it from epoll: no EPOLL_CTL_DEL needed */
    conn_free(&e->c);
    conn_release(el, e);
    el->nconns--;
    if (el->all_conns)
        __atomic_sub_fetch(el->all_conns, 1, __ATOMIC_RELAXED);
    maybe_finish_drain(el);
}

/* Reads and drops input; closes at EOF or error. */
static void linger_read(struct evconn_loop *el, struct evconn *e) {
    char sink[4096];
    for (;;) {
        ssize_t n = recv(e->io.fd, sink, sizeof sink, 0);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close_conn(el, e);
        return;
    }
}

static void on_linger_timeout(struct evloop *lp, struct ev_timer *t) {
    close_conn(loop_of(lp), of_timer(t));
}

/* RFC 9112 9.6: half-close and read until the client's FIN, so that requests it still sends
 * (a rejected body, pipelined requests) do not make the kernel reset our response away. */
static void start_linger(struct evconn_loop *el, struct evconn *e) {
    conn_free(&e->c);
    shutdown(e->io.fd, SHUT_WR);
    e->flags |= F_LINGER;
    evloop_timer_start(&el->lp, &e->tm, el->lp.now_us + LINGER_US, on_linger_timeout);
    linger_read(el, e);
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Sends pending output, then the pending file. 1 all sent, 0 blocked (wait for EPOLLOUT),
 * -1 the connection failed. A short count means the socket buffer is full, and the kernel
 * then raises EPOLLOUT once it drains, so we stop without a try that would say EAGAIN. */
static int flush(struct evconn_loop *el, struct evconn *e) {
    int fd = e->io.fd, file_fd;
    off_t off;
    size_t len;
    bool has_file = conn_file(&e->c, &file_fd, &off, &len);
    const char *p;
    while ((p = conn_out(&e->c, &len)) != NULL) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | (has_file ? MSG_MORE : 0));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        conn_out_sent(&e->c, (size_t)n);
        if ((size_t)n < len)
            return 0;
    }
    while (conn_file(&e->c, &file_fd, &off, &len)) {
        ssize_t n = sendfile(fd, file_fd, &off, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (n == 0)
            return -1; /* the file shrank under us: the promised length cannot be kept */
        conn_file_sent(&e->c, (size_t)n);
        if ((size_t)n < len)
            return 0;
    }
    return 1;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Shutdown closes idle keep-alive connections, but not one accepted a moment ago: its first
 * request is probably in flight, and closing would race with it (the client sees a reset). */
static bool is_closable_when_draining(struct evconn_loop *el, struct evconn *e) {
    if (!conn_is_idle(&e->c))
        return false;
    /* t_in_us is the accept time until the first byte arrives */
    return !(e->flags & F_FRESH) || el->lp.now_us >= e->c.t_in_us + DRAIN_GRACE_US;
}

/* Nothing more to do until the next event: give the buffers back while idle. */
static void park(struct evconn_loop *el, struct evconn *e) {
    conn_shrink(&e->c);
    if (el->is_draining && is_closable_when_draining(el, e))
        close_conn(el, e);
}

/* recv into the core; with metrics on, the kernel's receive time comes along (recvmsg with
 * SO_TIMESTAMPNS) as the request's arrival time. Bytes, 0 at EOF, or -errno. */
static ssize_t receive(struct evconn_loop *el, struct evconn *e, char *buf, size_t space) {
    for (;;) {
        uint64_t arrival_ns = 0;
        ssize_t n = el->has_ts ? sock_recv_ts(e->io.fd, buf, space, 0, &arrival_ns)
                               : recv(e->io.fd, buf, space, 0);
        if (n < 0 && !el->has_ts)
            n = -errno;
        if (n == -EINTR)
            continue;
        if (n > 0 && arrival_ns) {
            metrics_set_arrival_source(METRICS_ARRIVAL_KERNEL);
            conn_rdone_ts(&e->c, (size_t)n, arrival_ns);
        } else if (n > 0) {
            conn_rdone(&e->c, (size_t)n);
        }
        return n;
    }
}

/* Reads once. true: bytes arrived, process them; false: the connection waits or is closed. */
static bool read_more(struct evconn_loop *el, struct evconn *e) {
    if (!(e->flags & F_READABLE)) {
        park(el, e);
        return false;
    }
    size_t space;
    char *buf = conn_rbuf(&e->c, &space);
    if (!buf) {
        close_conn(el, e);
        return false;
    }
    ssize_t n = receive(el, e, buf, space);
    if (n > 0) {
        e->flags &= (uint16_t)~F_FRESH;
        /* A short read emptied the receive queue: the next bytes bring a new edge. */
        if ((size_t)n < space && !(e->flags & F_RDHUP))
            e->flags &= (uint16_t)~F_READABLE;
        return true;
    }
    if (n == -EAGAIN || n == -EWOULDBLOCK) {
        e->flags &= (uint16_t)~F_READABLE;
        park(el, e);
        return false;
    }
    /* EOF or a reset: every complete request was answered already (conn_process asked for
     * more bytes), so there is nothing left to do for this client. */
    close_conn(el, e);
    return false;
}

/* ---- the state machine -------------------------------------------------------------------- */

static void on_wake(struct evloop *lp, struct ev_timer *t) {
    drive(loop_of(lp), of_timer(t));
}

/* Acts on conn_process's answer. true: call conn_process again. */
static bool after_process(struct evconn_loop *el, struct evconn *e, enum conn_status st) {
    int w = flush(el, e);
    if (w < 0) {
        close_conn(el, e);
        return false;
    }
    if (w == 0) {
        e->flags |= F_WANT_WRITE;
        return false;
    }
    switch (st) {
    case CONN_WRITE:
        return true;
    case CONN_WAIT:
        evloop_timer_start(&el->lp, &e->tm, e->c.wake_us, on_wake);
        return false;
    case CONN_CLOSE:
        start_linger(el, e);
        return false;
    case CONN_NEED_READ:
        return read_more(el, e);
    }
    return false;
}

/* A client that keeps a full pipeline going could hold the loop forever: after DRIVE_BUDGET
 * rounds the connection yields through a timer that is already due, so the others get their
 * events first. */
static void drive(struct evconn_loop *el, struct evconn *e) {
    for (int round = 0; round < DRIVE_BUDGET; round++) {
        if (el->offload && el->offload(el, e))
            return;
        enum conn_status st = conn_process(&e->c, el->lp.now_us);
        if (!after_process(el, e, st))
            return;
    }
    evloop_timer_start(&el->lp, &e->tm, el->lp.now_us, on_wake);
}

void evconn_set_busy(struct evconn *e) {
    e->flags |= F_BUSY;
}

void evconn_resume(struct evconn_loop *el, struct evconn *e, enum conn_status st) {
    e->flags &= (uint16_t)~F_BUSY;
    if (after_process(el, e, st))
        drive(el, e);
}

static void on_conn_event(struct evloop *lp, struct ev_io *io, uint32_t events) {
    struct evconn_loop *el = loop_of(lp);
    struct evconn *e = of_io(io);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        e->flags |= F_READABLE;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        e->flags |= F_RDHUP;
    if (e->flags & F_BUSY)
        return; /* the worker owns the conn; the flags above wait for it */
    if (e->flags & F_LINGER) {
        linger_read(el, e);
        return;
    }
    if (evloop_timer_is_armed(&e->tm))
        return; /* a /work wait: the timer resumes it */
    if (e->flags & F_WANT_WRITE) {
        if (!(events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
            return; /* back-pressure: no reading while our output is stuck */
        e->flags &= (uint16_t)~F_WANT_WRITE;
    } else if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        return; /* EPOLLOUT with nothing to send */
    }
    drive(el, e);
}

/* ---- accepting ---------------------------------------------------------------------------- */

static void on_listen(struct evloop *lp, struct ev_io *io, uint32_t events);

static int listen_on(struct evconn_loop *el) {
    uint32_t ev = EPOLLIN | (el->is_listener_shared ? EPOLLEXCLUSIVE : 0);
    int rc = evloop_add(&el->lp, &el->listen_io, el->listen_fd, ev, on_listen);
    el->is_listening = rc == 0;
    return rc;
}

static void listen_off(struct evconn_loop *el) {
    if (el->is_listening)
        evloop_del(&el->lp, &el->listen_io);
    el->is_listening = false;
}

static void on_accept_pause_end(struct evloop *lp, struct ev_timer *t) {
    struct evconn_loop *el = loop_of(lp);
    if (!el->is_draining)
        listen_on(el);
}

static int add_conn(struct evconn_loop *el, int fd) {
    if (fd >= el->by_fd_cap)
        return -EMFILE; /* cannot happen: the table covers RLIMIT_NOFILE */
    struct evconn *e = conn_alloc(el);
    if (!e)
        return -ENOMEM;
    conn_init(&e->c);
    conn_set_fd(&e->c, fd);
    if (el->has_ts)
        sock_enable_rx_timestamps(fd);
    e->tm.heap_idx = 0;
    e->flags = F_FRESH;
    int rc = evloop_add(&el->lp, &e->io, fd, EV_CONN_EVENTS, on_conn_event);
    if (rc < 0) {
        conn_release(el, e);
        return rc;
    }
    el->by_fd[fd] = e;
    if (fd > el->max_fd)
        el->max_fd = fd;
    el->nconns++;
    el->accepted++;
    if (el->all_conns)
        __atomic_add_fetch(el->all_conns, 1, __ATOMIC_RELAXED);
    return 0;
}

/* EPOLLEXCLUSIVE wakes waiters in a fixed order, so one loop would take nearly every
 * connection. A loop over its fair share leaves the listener briefly; re-adding it puts the
 * loop at the back of the wake-up queue (nginx re-adds its listeners for the same reason). */
static bool over_share(const struct evconn_loop *el) {
    if (!el->all_conns || el->nloops < 2)
        return false;
    unsigned all = __atomic_load_n(el->all_conns, __ATOMIC_RELAXED);
    return (uint64_t)el->nconns * (unsigned)el->nloops > (uint64_t)all + (unsigned)el->nloops;
}

static void pause_accepting(struct evconn_loop *el, uint64_t pause_us) {
    listen_off(el);
    evloop_timer_start(&el->lp, &el->accept_tm, el->lp.now_us + pause_us, on_accept_pause_end);
}

static void on_listen(struct evloop *lp, struct ev_io *io, uint32_t events) {
    struct evconn_loop *el = loop_of(lp);
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (over_share(el)) {
            pause_accepting(el, SHARE_PAUSE_US);
            return;
        }
        int fd = srv_accept_nb(el->srv, el->listen_fd, true);
        if (fd == -EAGAIN || fd == -EWOULDBLOCK)
            return;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
            /* The connection stays in the backlog and the listener stays readable: polling
             * it now would spin, so look again in a little while. */
            pause_accepting(el, ACCEPT_PAUSE_US);
            return;
        }
        if (fd < 0)
            continue; /* ECONNABORTED and friends: that client is gone, take the next */
        if (add_conn(el, fd) < 0) {
            srv_log_limited(el->srv, 1, "out of memory for a connection; closing it");
            close(fd);
        }
    }
}

/* ---- idle timeout and shutdown ------------------------------------------------------------ */

static uint64_t sweep_period_us(const struct evconn_loop *el) {
    if (el->is_draining)
        return DRAIN_SWEEP_US;
    const struct serve_opts *o = el->srv->opts;
    uint64_t p = o->idle_timeout_us;
    uint64_t t[] = {o->header_timeout_us, o->body_timeout_us, o->send_timeout_us};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] && t[i] < p)
            p = t[i];
    p /= 4; /* a timeout fires at most a quarter late */
    return p < SWEEP_MIN_US ? SWEEP_MIN_US : p > SWEEP_MAX_US ? SWEEP_MAX_US : p;
}

/* A timeout of the core passed (header, body, idle or send): a 408 when a request was being
 * read and it can be sent at once, then a lingering close; a reader that stopped reading is
 * simply closed. */
static void time_out(struct evconn_loop *el, struct evconn *e) {
    conn_timeout(&e->c);
    if (flush(el, e) <= 0)
        close_conn(el, e);
    else
        start_linger(el, e);
}

/* Busy, waiting and lingering connections have their own clocks; for the rest the core says
 * by when they must make progress (conn_deadline_us). One pass over the table costs about a
 * nanosecond per connection, far less than a heap update per request would. */
static void on_sweep(struct evloop *lp, struct ev_timer *t) {
    struct evconn_loop *el = loop_of(lp);
    for (int fd = 0; fd <= el->max_fd && fd < el->by_fd_cap; fd++) {
        struct evconn *e = el->by_fd[fd];
        if (!e || (e->flags & (F_BUSY | F_LINGER)) || evloop_timer_is_armed(&e->tm))
            continue;
        uint64_t deadline = conn_deadline_us(&e->c);
        if (deadline && lp->now_us >= deadline)
            time_out(el, e);
        else if (el->is_draining && !(e->flags & F_WANT_WRITE) && is_closable_when_draining(el, e))
            close_conn(el, e);
    }
    evloop_timer_start(lp, &el->sweep_tm, lp->now_us + sweep_period_us(el), on_sweep);
}

/* Stop accepting, close idle keep-alive connections, let the others finish (their responses
 * say Connection: close since http_draining is set). */
static void start_drain(struct evconn_loop *el) {
    el->is_draining = true;
    listen_off(el);
    evloop_timer_stop(&el->lp, &el->accept_tm);
    if (!el->is_listener_shared && el->listen_fd >= 0) {
        close(el->listen_fd);
        el->listen_fd = -1;
    }
    for (int fd = 0; fd <= el->max_fd && fd < el->by_fd_cap; fd++) {
        struct evconn *e = el->by_fd[fd];
        if (!e || (e->flags & (F_BUSY | F_LINGER | F_WANT_WRITE)) ||
            evloop_timer_is_armed(&e->tm))
            continue;
        if (is_closable_when_draining(el, e))
            close_conn(el, e);
    }
    evloop_timer_start(&el->lp, &el->sweep_tm, el->lp.now_us + DRAIN_SWEEP_US, on_sweep);
    maybe_finish_drain(el);
}

static void on_stop(struct evloop *lp, struct ev_io *io, uint32_t events) {
    struct evconn_loop *el = loop_of(lp);
    evloop_del(lp, io); /* the eventfd stays readable; once is enough */
    start_drain(el);
}

/* ---- setup -------------------------------------------------------------------------------- */

int evconn_loop_init(struct evconn_loop *el, struct srv *srv, int listen_fd, bool is_shared) {
    memset(el, 0, sizeof *el);
    int rc = evloop_init(&el->lp, 256);
    if (rc < 0)
        return rc;
    el->srv = srv;
    el->listen_fd = listen_fd;
    el->is_listener_shared = is_shared;
    el->max_fd = -1;
    el->has_ts = metrics_enabled();
    /* Sized for every fd the process may have; calloc of this size maps fresh zero pages, so
     * only pages holding live connections become resident (8 bytes per connection). */
    el->by_fd_cap = srv->nofile > 0 ? (int)srv->nofile : 1024;
    el->by_fd = calloc((size_t)el->by_fd_cap, sizeof *el->by_fd);
    if (!el->by_fd) {
        evloop_free(&el->lp);
        return -ENOMEM;
    }
    if ((rc = listen_on(el)) < 0 ||
        (rc = evloop_add(&el->lp, &el->stop_io, srv->stop_fd, EPOLLIN, on_stop)) < 0) {
        free(el->by_fd);
        evloop_free(&el->lp);
        return rc;
    }
    evloop_timer_start(&el->lp, &el->sweep_tm, el->lp.now_us + sweep_period_us(el), on_sweep);
    return 0;
}

int evconn_loop_run(struct evconn_loop *el) {
    if (srv_stopping())
        start_drain(el);
    if (el->is_draining && el->nconns == 0)
        return 0;
    return evloop_run(&el->lp);
}

void evconn_loop_free(struct evconn_loop *el) {
    for (int fd = 0; fd <= el->max_fd && fd < el->by_fd_cap; fd++)
        if (el->by_fd[fd])
            close_conn(el, el->by_fd[fd]);
    if (!el->is_listener_shared && el->listen_fd >= 0)
        close(el->listen_fd);
    free(el->by_fd);
    slabs_free(el);
    evloop_free(&el->lp);
}
