/* uring: completion-based I/O with io_uring (liburing). One ring per thread (--threads,
 * default 1, each with its own SO_REUSEPORT listener): multishot accept, multishot recv into a
 * ring of provided buffers shared by all connections (an idle connection holds no buffer),
 * send from the connection's output, timeouts for /work waits, and one io_uring_enter per
 * loop turn that both submits and waits. Static files go out with sendfile(2) on the
 * non-blocking socket, parked on a POLL_ADD while the socket is full: io_uring has no
 * sendfile opcode and splice would need a pipe per connection. Built only with HAVE_URING. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/conn.h"
#include "http/metrics.h"
#include "net/sock.h"
#include "serve/arch.h"

/* valgrind's client requests (no-ops outside valgrind): the kernel fills our receive buffers
 * behind valgrind's back, so each completion says which bytes are now defined. The rest of
 * what the kernel writes valgrind already takes as defined: the SQ and CQ rings are mmap()ed
 * from the ring fd, the buffer ring is our zeroed mapping the kernel only reads, and accept
 * is given no address to fill. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_VALGRIND 1
#endif
#endif
#ifndef HAVE_VALGRIND
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif

#define SQ_ENTRIES 4096u
#define CQ_ENTRIES (SQ_ENTRIES * 4) /* multishot requests post more completions than SQEs */
#define BUF_COUNT 1024u             /* provided receive buffers, shared by all connections */
#define BUF_BYTES 2048u             /* a typical request fits one; bigger ones take several */
#define BUF_GROUP 1
#define TICK_US 250000ull           /* how often the timeouts are checked */
#define LINGER_US 500000ull         /* a closing connection may keep sending this long */
#define IN_HIGH_WATER 65536u        /* unprocessed input while busy: stop reading (back-pressure) */

/* user_data = connection pointer | op (connections are malloc'ed, so 16-byte aligned). */
enum op { OP_ACCEPT, OP_RECV, OP_SEND, OP_TIMER, OP_POLLOUT, OP_STOP, OP_TICK, OP_IGNORE };
#define OP_MASK 7u

enum {
    U_RECV = 1 << 0,    /* multishot recv armed */
    U_SENDING = 1 << 1, /* send or POLLOUT in flight: do not touch the output */
    U_TIMER = 1 << 2,   /* /work wait timeout armed */
    U_EOF = 1 << 3,     /* the client closed its side */
    U_LINGER = 1 << 4,  /* response sent, our side shut down, dropping what still arrives */
    U_CLOSING = 1 << 5, /* torn down: freed when its last request completes */
    U_PAUSED = 1 << 6,  /* recv cancelled: too much input waits behind a send or a wait */
};

struct uconn {
    struct conn c;
    uint64_t linger_since_us; /* when the lingering close began */
    int fd;
    uint8_t nops;     /* requests in the ring that name this connection */
    uint8_t flags;    /* U_* */
};

struct uloop {
    struct io_uring ring;
    struct srv *srv;
    int listen_fd;
    bool is_accepting, is_accept_armed, has_stopped;
    bool is_wait_polled; /* wait in poll(2), not in io_uring_enter (under valgrind) */
    struct io_uring_buf_ring *br;
    char *bufs;
    struct uconn **by_fd; /* live connections by fd, for the timeout scan */
    int nfd, max_fd;
    size_t nconns;
    size_t nclosing; /* closed, but waiting for their cancelled requests to complete */
    uint64_t now_us;
    struct __kernel_timespec tick_ts;
    struct __kernel_timespec ts[SQ_ENTRIES]; /* timer SQEs point here until submitted */
    unsigned nts;
};

/* ---- submission ------------------------------------------------------------------------ */

static struct io_uring_sqe *sqe_get(struct uloop *l) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    while (!sqe) { /* the queue is full mid-turn: hand it over and go on */
        io_uring_submit(&l->ring);
        l->nts = 0;
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

static void set_op(struct io_uring_sqe *sqe, struct uconn *uc, enum op op) {
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)uc | op);
    if (uc)
        uc->nops++;
}

static void arm_accept(struct uloop *l) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_multishot_accept(sqe, l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    set_op(sqe, NULL, OP_ACCEPT);
    l->is_accept_armed = true;
}

static void arm_recv(struct uloop *l, struct uconn *uc) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_recv_multishot(sqe, uc->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    set_op(sqe, uc, OP_RECV);
    uc->flags |= U_RECV;
}

static void arm_send(struct uloop *l, struct uconn *uc, const char *p, size_t len) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_send(sqe, uc->fd, p, len, MSG_NOSIGNAL);
    set_op(sqe, uc, OP_SEND);
    uc->flags |= U_SENDING;
}

static void arm_pollout(struct uloop *l, struct uconn *uc) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_poll_add(sqe, uc->fd, POLLOUT);
    set_op(sqe, uc, OP_POLLOUT);
    uc->flags |= U_SENDING;
}

static struct __kernel_timespec *ts_of(struct uloop *l, uint64_t us) {
    struct __kernel_timespec *ts = &l->ts[l->nts++];
    ts->tv_sec = (long long)(us / 1000000);
    ts->tv_nsec = (long long)(us % 1000000) * 1000;
    return ts;
}

static void arm_timer(struct uloop *l, struct uconn *uc) {
    struct io_uring_sqe *sqe = sqe_get(l); /* first: it may submit, which resets l->ts */
    io_uring_prep_timeout(sqe, ts_of(l, uc->c.wake_us), 0, IORING_TIMEOUT_ABS);
    set_op(sqe, uc, OP_TIMER);
    uc->flags |= U_TIMER;
}

static void arm_tick(struct uloop *l) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_timeout(sqe, &l->tick_ts, 0, 0);
    set_op(sqe, NULL, OP_TICK);
}

static void arm_stop(struct uloop *l) {
    struct io_uring_sqe *sqe = sqe_get(l);
    io_uring_prep_poll_add(sqe, l->srv->stop_fd, POLLIN);
    set_op(sqe, NULL, OP_STOP);
}

/* Cancels the request user_data names (or, with fd >= 0, every request on fd); the
 * cancelled requests' own completions (-ECANCELED) do the bookkeeping. */
static void cancel(struct uloop *l, uint64_t user_data, int fd) {
    struct io_uring_sqe *sqe = sqe_get(l);
    if (fd >= 0)
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    else
        io_uring_prep_cancel64(sqe, user_data, 0);
    io_uring_sqe_set_data64(sqe, OP_IGNORE);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

static void recycle(struct uloop *l, unsigned bid) {
    io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * BUF_BYTES, BUF_BYTES, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(l->br, 1);
}

/* ---- connections ----------------------------------------------------------------------- */

static void maybe_free(struct uloop *l, struct uconn *uc) {
    if (!(uc->flags & U_CLOSING) || uc->nops > 0)
        return;
    close(uc->fd); /* only now: a request still queued must never meet a reused fd number */
    free(uc);
    l->nclosing--;
}

static void close_conn(struct uloop *l, struct uconn *uc) {
    if (uc->flags & U_CLOSING)
        return;
    uc->flags |= U_CLOSING;
    l->nclosing++;
    l->by_fd[uc->fd] = NULL;
    l->nconns--;
    conn_free(&uc->c);
    if (uc->flags & (U_RECV | U_SENDING)) /* a send to a reader that stopped would never end */
        cancel(l, 0, uc->fd);
    if (uc->flags & U_TIMER)
        cancel(l, (uint64_t)(uintptr_t)uc | OP_TIMER, -1);
    maybe_free(l, uc);
}

/* Our response is out: shut down our side and drop what the client still sends until it
 * closes or LINGER_US pass, so that close() does not become a RST (RFC 9112 9.6). */
static void start_linger(struct uloop *l, struct uconn *uc) {
    conn_free(&uc->c);
    if ((uc->flags & U_EOF) || shutdown(uc->fd, SHUT_WR) < 0) {
        close_conn(l, uc);
        return;
    }
    uc->flags |= U_LINGER;
    uc->flags &= (uint8_t)~U_PAUSED;
    uc->linger_since_us = l->now_us;
    if (!(uc->flags & U_RECV))
        arm_recv(l, uc);
}

/* sendfile()s the pending file. 1: done; 0: the socket is full (POLLOUT armed); -1: failed. */
static int send_file(struct uloop *l, struct uconn *uc) {
    int file_fd;
    off_t off;
    size_t len;
    while (conn_file(&uc->c, &file_fd, &off, &len)) {
        ssize_t n = sendfile(uc->fd, file_fd, &off, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            arm_pollout(l, uc);
            return 0;
        }
        if (n <= 0)
            return -1;
        conn_file_sent(&uc->c, (size_t)n);
    }
    return 1;
}

/* Reading again after a pause; if the cancelled recv has not completed yet, its -ECANCELED
 * completion re-arms it. */
static void resume(struct uloop *l, struct uconn *uc) {
    uc->flags &= (uint8_t)~U_PAUSED;
    if (!(uc->flags & U_RECV))
        arm_recv(l, uc);
}

/* Runs the HTTP core until the connection must wait for something: a send, the socket,
 * a timer or more input. Never called while a send is in flight (the output is the kernel's). */
static void drive(struct uloop *l, struct uconn *uc) {
    for (;;) {
        enum conn_status st = conn_process(&uc->c, l->now_us);
        size_t len;
        const char *p = conn_out(&uc->c, &len);
        if (p) {
            arm_send(l, uc, p, len);
            return;
        }
        int rc = send_file(l, uc);
        if (rc <= 0) {
            if (rc < 0)
                close_conn(l, uc);
            return;
        }
        if (st == CONN_WRITE)
            continue;
        if (st == CONN_CLOSE)
            start_linger(l, uc);
        else if (st == CONN_WAIT)
            arm_timer(l, uc);
        else if (uc->flags & U_PAUSED)
            resume(l, uc);
        else if (uc->flags & U_EOF)
            close_conn(l, uc); /* everything the client sent is answered */
        else if (conn_is_idle(&uc->c))
            conn_shrink(&uc->c); /* idle keep-alive: give the buffers back */
        return;
    }
}

static bool is_busy(const struct uconn *uc) {
    return uc->flags & (U_SENDING | U_TIMER | U_LINGER | U_CLOSING);
}

/* Serves fd, accepted and counted (srv_adopt or srv_accept_nb). */
static void add_conn(struct uloop *l, int fd) {
    struct uconn *uc = fd < l->nfd ? malloc(sizeof *uc) : NULL;
    if (!uc) {
        close(fd); /* conn_free() was never called: count the close by hand */
        metrics_conn(METRICS_CONN_CLOSED);
        return;
    }
    conn_init(&uc->c);
    conn_set_fd(&uc->c, fd);
    uc->fd = fd;
    uc->nops = 0;
    uc->flags = 0;
    uc->linger_since_us = 0;
    l->by_fd[fd] = uc;
    l->nconns++;
    if (fd > l->max_fd)
        l->max_fd = fd;
    arm_recv(l, uc);
}

/* ---- completions ----------------------------------------------------------------------- */

/* Out of fds: srv_accept_nb() answers 503 to one waiting connection per call, with the
 * spare fd it keeps for this (or serves it if an fd came free). Bounded: no spinning. */
static void refuse_excess(struct uloop *l) {
    for (int i = 0; i < 64; i++) {
        int fd = srv_accept_nb(l->srv, l->listen_fd, true);
        if (fd >= 0)
            add_conn(l, fd);
        else if (fd != -EMFILE && fd != -ENFILE)
            return;
    }
}

static void on_accept(struct uloop *l, struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE))
        l->is_accept_armed = false;
    if (cqe->res >= 0 && srv_adopt(l->srv, cqe->res) == 0)
        add_conn(l, cqe->res);
    else if (cqe->res == -EMFILE || cqe->res == -ENFILE)
        refuse_excess(l);
    else if (cqe->res < 0 && cqe->res != -ECANCELED)
        srv_log_limited(l->srv, 0, "accept: %s", strerror(-cqe->res));
    /* After an error the multishot ended: re-arm on the next tick rather than spin on EMFILE. */
    if (!l->is_accept_armed && l->is_accepting && cqe->res >= 0)
        arm_accept(l);
}

static void on_data(struct uloop *l, struct uconn *uc, const char *data, size_t n) {
    if (uc->flags & U_LINGER)
        return;
    if (conn_feed(&uc->c, data, n) < 0) {
        close_conn(l, uc);
        return;
    }
    if (!is_busy(uc)) {
        drive(l, uc);
    } else if (uc->c.in_len - uc->c.in_parsed > IN_HIGH_WATER &&
               (uc->flags & (U_RECV | U_PAUSED)) == U_RECV) {
        /* A client pipelining without reading our answers: let TCP push back on it. */
        uc->flags |= U_PAUSED;
        cancel(l, (uint64_t)(uintptr_t)uc | OP_RECV, -1);
    }
}

static void on_recv(struct uloop *l, struct uconn *uc, struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE))
        uc->flags &= (uint8_t)~U_RECV;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        const char *data = l->bufs + (size_t)bid * BUF_BYTES;
        if (cqe->res > 0)
            VALGRIND_MAKE_MEM_DEFINED(data, (size_t)cqe->res); /* the kernel wrote them */
        if (cqe->res > 0 && !(uc->flags & U_CLOSING))
            on_data(l, uc, data, (size_t)cqe->res); /* copied out: the buffer can go back */
        recycle(l, bid);
    }
    if (uc->flags & U_CLOSING)
        return;
    if (cqe->res == -ECANCELED) { /* a pause; resumed already if U_PAUSED is gone */
        if (!(uc->flags & (U_PAUSED | U_RECV)))
            arm_recv(l, uc);
        return;
    }
    if (cqe->res > 0 || cqe->res == -ENOBUFS) { /* ENOBUFS: the ring ran dry for a moment */
        if (!(uc->flags & (U_RECV | U_CLOSING | U_PAUSED))) /* ended; not re-armed already */
            arm_recv(l, uc);
        return;
    }
    if (cqe->res < 0 || (uc->flags & U_LINGER)) { /* reset, or the lingering client left */
        close_conn(l, uc);
        return;
    }
    uc->flags |= U_EOF; /* answer what was sent before the FIN, then close */
    if (!is_busy(uc))
        drive(l, uc);
}

static void on_send(struct uloop *l, struct uconn *uc, int res) {
    uc->flags &= (uint8_t)~U_SENDING;
    if (uc->flags & U_CLOSING)
        return;
    if (res < 0) {
        close_conn(l, uc);
        return;
    }
    conn_out_sent(&uc->c, (size_t)res);
    drive(l, uc); /* a short send is resubmitted first thing */
}

static void on_conn_cqe(struct uloop *l, struct uconn *uc, enum op op, struct io_uring_cqe *cqe) {
    if (op != OP_RECV || !(cqe->flags & IORING_CQE_F_MORE))
        uc->nops--; /* that request is over */
    uc->nops++;     /* but uc stays pinned while we handle it */
    if (op == OP_RECV)
        on_recv(l, uc, cqe);
    else if (op == OP_SEND)
        on_send(l, uc, cqe->res);
    else if (op == OP_POLLOUT)
        on_send(l, uc, cqe->res < 0 ? cqe->res : 0);
    else if (op == OP_TIMER) {
        uc->flags &= (uint8_t)~U_TIMER;
        if (!(uc->flags & U_CLOSING))
            drive(l, uc);
    }
    uc->nops--;
    maybe_free(l, uc);
}

/* ---- timeouts and shutdown ------------------------------------------------------------- */

static bool is_idle(const struct uconn *uc) {
    return !is_busy(uc) && conn_is_idle(&uc->c);
}

/* A timeout of the core passed (header, body, idle, send): a 408 when a request was being
 * read, then close. A client that stopped reading our output is simply closed. */
static void on_timeout(struct uloop *l, struct uconn *uc) {
    if (uc->flags & U_SENDING) {
        conn_timeout(&uc->c); /* counts it */
        close_conn(l, uc);
        return;
    }
    conn_timeout(&uc->c);
    drive(l, uc);
}

static void on_tick(struct uloop *l) {
    for (int fd = 0; fd <= l->max_fd; fd++) {
        struct uconn *uc = l->by_fd[fd];
        if (!uc)
            continue;
        if (uc->flags & U_LINGER) {
            if (l->now_us >= uc->linger_since_us + LINGER_US)
                close_conn(l, uc);
            continue;
        }
        if (l->has_stopped && is_idle(uc)) {
            close_conn(l, uc);
            continue;
        }
        uint64_t deadline = conn_deadline_us(&uc->c); /* 0 during a /work wait */
        if (deadline && l->now_us >= deadline)
            on_timeout(l, uc);
    }
    if (l->is_accepting && !l->is_accept_armed)
        arm_accept(l); /* after EMFILE and friends */
    arm_tick(l);
}

/* Connections the kernel completed before the signal may carry requests: take them in and
 * read what they already sent, so they are answered (with Connection: close), not reset. */
static void adopt_backlog(struct uloop *l) {
    int fd;
    while ((fd = srv_accept_nb(l->srv, l->listen_fd, true)) >= 0) {
        add_conn(l, fd);
        struct uconn *uc = fd < l->nfd ? l->by_fd[fd] : NULL;
        size_t space;
        char *buf = uc ? conn_rbuf(&uc->c, &space) : NULL;
        ssize_t n = buf ? recv(fd, buf, space, MSG_DONTWAIT) : -1;
        if (n > 0) {
            conn_rdone(&uc->c, (size_t)n);
            drive(l, uc);
        }
    }
}

static void on_stop(struct uloop *l) {
    l->has_stopped = true;
    l->is_accepting = false;
    if (l->is_accept_armed)
        cancel(l, OP_ACCEPT, -1);
    adopt_backlog(l);
    close(l->listen_fd); /* the ring keeps the socket until the cancel is done; no matter */
    l->listen_fd = -1;
    for (int fd = 0; fd <= l->max_fd; fd++)
        if (l->by_fd[fd] && is_idle(l->by_fd[fd]))
            close_conn(l, l->by_fd[fd]);
}

static void on_cqe(struct uloop *l, struct io_uring_cqe *cqe) {
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    enum op op = (enum op)(ud & OP_MASK);
    struct uconn *uc = (struct uconn *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
    if (uc) {
        on_conn_cqe(l, uc, op, cqe);
        return;
    }
    if (op == OP_ACCEPT)
        on_accept(l, cqe);
    else if (op == OP_TICK)
        on_tick(l);
    else if (op == OP_STOP)
        on_stop(l);
}

/* ---- setup and the loop ---------------------------------------------------------------- */

/* Ring flags, best first: DEFER_TASKRUN (6.1) runs completion work only when we wait,
 * COOP_TASKRUN (5.19) at least avoids interrupting us with IPIs. A loop that waits in poll(2)
 * (under valgrind) starts at COOP_TASKRUN: deferred work waits for an io_uring_enter that
 * waits, and with DEFER_TASKRUN such a loop never saw a completion. */
static int ring_init(struct uloop *l) {
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int rc = -EINVAL;
    size_t first = l->is_wait_polled ? 1 : 0;
    for (size_t i = first; i < sizeof tries / sizeof tries[0] && rc == -EINVAL; i++) {
        struct io_uring_params p = {
            .flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE | tries[i],
            .cq_entries = CQ_ENTRIES,
        };
        rc = io_uring_queue_init_params(SQ_ENTRIES, &l->ring, &p);
    }
    if (rc == 0)
        io_uring_register_ring_fd(&l->ring); /* optional: saves an fd lookup per enter */
    return rc;
}

/* Multishot recv (Linux 6.0) has no probe bit; SEND_ZC arrived in the same release. */
static int check_ops(struct uloop *l) {
    static const int ops[] = {IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND,
                              IORING_OP_TIMEOUT, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL,
                              IORING_OP_SEND_ZC};
    struct io_uring_probe *probe = io_uring_get_probe_ring(&l->ring);
    if (!probe)
        return -ENOSYS;
    int rc = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!io_uring_opcode_supported(probe, ops[i]))
            rc = -ENOSYS;
    io_uring_free_probe(probe);
    return rc;
}

/* liburing 2.3 has no io_uring_setup_buf_ring(): map the ring ourselves and register it. */
static int bufs_init(struct uloop *l) {
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED)
        return -errno;
    l->br = br;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    int rc = io_uring_register_buf_ring(&l->ring, &reg, 0);
    if (rc < 0)
        return rc;
    l->bufs = malloc((size_t)BUF_COUNT * BUF_BYTES);
    if (!l->bufs)
        return -ENOMEM;
    io_uring_buf_ring_init(l->br);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(l->br, l->bufs + (size_t)i * BUF_BYTES, BUF_BYTES,
                              (unsigned short)i, io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(l->br, BUF_COUNT);
    return 0;
}

static void loop_free(struct uloop *l) {
    for (int fd = 0; fd <= l->max_fd; fd++)
        if (l->by_fd[fd]) {
            conn_free(&l->by_fd[fd]->c);
            close(fd);
            free(l->by_fd[fd]);
        }
    io_uring_queue_exit(&l->ring); /* frees what cancelled connections still held, too */
    if (l->br)
        munmap(l->br, BUF_COUNT * sizeof(struct io_uring_buf));
    free(l->bufs);
    free(l->by_fd);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    free(l);
}

static void say_unavailable(char *err, const char *what, int rc) {
    snprintf(err, sizeof((struct srv *)0)->err,
             "io_uring is not available: %s: %s (kernel.io_uring_disabled, a seccomp filter, "
             "or Linux < 6.0); use --arch epoll",
             what, strerror(-rc));
}

/* A loop that can run: ring, buffers, table. NULL with err (sizeof srv->err) and *rc set. */
static struct uloop *loop_new(struct srv *srv, int listen_fd, char *err, int *rc) {
    struct uloop *l = calloc(1, sizeof *l);
    if (!l) {
        *rc = -ENOMEM;
        return NULL;
    }
    l->srv = srv;
    l->is_wait_polled = RUNNING_ON_VALGRIND;
    l->listen_fd = listen_fd;
    l->max_fd = -1;
    l->nfd = srv->nofile > 0 ? (int)srv->nofile : 1024;
    if ((*rc = ring_init(l)) < 0) {
        say_unavailable(err, "io_uring_setup", *rc);
        *rc = *rc == -EPERM ? -EPERM : -ENOSYS;
        free(l);
        return NULL;
    }
    l->by_fd = calloc((size_t)l->nfd, sizeof *l->by_fd);
    if (!l->by_fd || (*rc = check_ops(l)) < 0 || (*rc = bufs_init(l)) < 0) {
        say_unavailable(err, l->by_fd ? "multishot recv or buffer rings" : "table", *rc);
        *rc = !l->by_fd || *rc == -ENOMEM ? -ENOMEM : -ENOSYS;
        l->listen_fd = -1;
        loop_free(l);
        return NULL;
    }
    return l;
}

/* Submits what is queued and waits for a completion. valgrind 3.19 runs io_uring_enter as a
 * syscall that cannot block: while it waits, valgrind's lock stays held and every signal
 * blocked, so the other loops' threads and SIGTERM wait with it. There we submit without
 * waiting and sleep in poll(2) on the ring fd instead, which valgrind lets block. */
static int submit_and_wait(struct uloop *l) {
    if (!l->is_wait_polled)
        return io_uring_submit_and_wait(&l->ring, 1);
    int rc = io_uring_submit(&l->ring);
    if (rc < 0 || io_uring_cq_ready(&l->ring) > 0)
        return rc;
    struct pollfd pfd = {.fd = l->ring.ring_fd, .events = POLLIN};
    if (poll(&pfd, 1, -1) < 0)
        return -errno;
    return io_uring_get_events(&l->ring); /* flushes completion work; never waits */
}

static int loop_run(struct uloop *l) {
    l->tick_ts = (struct __kernel_timespec){.tv_nsec = TICK_US * 1000};
    l->is_accepting = true;
    arm_accept(l);
    arm_stop(l);
    arm_tick(l);
    /* After shutdown, closed connections wait for their cancelled requests (at most 1 s) so
     * that each is freed: nothing is left for the leak checker. */
    uint64_t give_up_us = 0;
    while (!(l->has_stopped && l->nconns == 0 &&
             (l->nclosing == 0 || (give_up_us && l->now_us > give_up_us)))) {
        if (l->has_stopped && l->nconns == 0 && !give_up_us)
            give_up_us = l->now_us + 1000000;
        int rc = submit_and_wait(l);
        l->nts = 0;
        if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY)
            return rc;
        l->now_us = conn_now_us();
        unsigned head, n = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&l->ring, head, cqe) {
            on_cqe(l, cqe);
            n++;
        }
        io_uring_cq_advance(&l->ring, n);
    }
    return 0;
}

/* Loops after the first build their ring in their own thread: with SINGLE_ISSUER only the
 * task that created a ring may submit to it. */
static void *thread_main(void *arg) {
    struct srv *srv = arg;
    char err[sizeof srv->err];
    int rc = srv_listen_another(srv);
    struct uloop *l = rc >= 0 ? loop_new(srv, rc, err, &rc) : NULL;
    if (!l) {
        srv_log(srv, "uring: a loop could not start: %s", rc < 0 ? strerror(-rc) : err);
        return NULL;
    }
    if ((rc = loop_run(l)) < 0)
        srv_log(srv, "uring: io_uring_enter: %s", strerror(-rc));
    loop_free(l);
    return NULL;
}

static int run(struct srv *srv) {
    int rc, nthreads = srv->opts->threads > 0 ? srv->opts->threads : 1;
    if (RUNNING_ON_VALGRIND)
        srv_log(srv, "uring: under valgrind: waiting in poll(2), not io_uring_enter, and no "
                     "DEFER_TASKRUN (see docs/reliability.md)");
    struct uloop *l = loop_new(srv, srv->listen_fd, srv->err, &rc);
    if (!l)
        return rc;
    /* The first loop closes srv->listen_fd on shutdown. It stays in srv meanwhile: with
     * --user, srv_listen_another() may share it with the other loops. */
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    int started = 0;
    for (int i = 1; tids && i < nthreads; i++, started++)
        if (pthread_create(&tids[i], NULL, thread_main, srv) != 0)
            break;
    rc = loop_run(l);
    for (int i = 1; i <= started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    loop_free(l);
    if (rc < 0)
        snprintf(srv->err, sizeof srv->err, "io_uring_enter: %s", strerror(-rc));
    return rc;
}

const struct arch arch_uring = {
    .name = "uring",
    .summary = "io_uring: multishot accept and recv into provided buffers, batched submits",
    .run = run,
};
