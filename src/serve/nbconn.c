/* The non-blocking connection step behind nonblock, select and poll (see nbconn.h). Keeping it
 * once means those three differ only in how they learn that a socket is ready. */
#include "serve/nbconn.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/metrics.h"
#include "net/sock.h"

#define MAX_READS_PER_STEP 8   /* fairness: a client flooding us yields to the others */
#define LINGER_US 500000       /* how long a closing connection may keep sending to us */
#define ACCEPT_PAUSE_US 100000 /* after EMFILE: let the listener rest instead of spinning */

static enum nb_want finish(struct nbconn *nc) {
    conn_free(&nc->c);
    close(nc->fd);
    free(nc);
    return NB_DONE;
}

/* Sends pending output, then the pending file. 1: all sent; 0: the socket is full; -errno. */
static int flush(struct nbconn *nc) {
    size_t len;
    const char *p;
    while ((p = conn_out(&nc->c, &len))) {
        ssize_t n = send(nc->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -errno;
        conn_out_sent(&nc->c, (size_t)n);
    }
    int file_fd;
    off_t off;
    while (conn_file(&nc->c, &file_fd, &off, &len)) {
        ssize_t n = sendfile(nc->fd, file_fd, &off, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -errno;
        if (n == 0)
            return -EIO; /* the file shrank under us: the response cannot be completed */
        conn_file_sent(&nc->c, (size_t)n);
    }
    return 1;
}

uint64_t nbconn_deadline_us(const struct nbconn *nc) {
    if (nc->is_lingering)
        return nc->linger_since_us + LINGER_US;
    if (nc->want == NB_SLEEP)
        return nc->c.wake_us;
    uint64_t d = conn_deadline_us(&nc->c); /* header, body, idle or send timeout */
    return d ? d : UINT64_MAX;
}

static enum nb_want start_linger(struct nbconn *nc, const struct srv *srv, uint64_t now_us);

/* A timeout of the core passed: a 408 when a request was being read (if it can be sent at
 * once), then close. A reader that stopped reading is simply closed. */
static enum nb_want timed_out(struct nbconn *nc, const struct srv *srv, uint64_t now_us) {
    if (nc->is_lingering)
        return finish(nc);
    conn_timeout(&nc->c);
    if (flush(nc) <= 0)
        return finish(nc);
    return start_linger(nc, srv, now_us);
}

/* Nothing to do until the socket is ready, unless the connection's deadline has passed. */
static enum nb_want wait_for(struct nbconn *nc, const struct srv *srv, enum nb_want want,
                             uint64_t now_us) {
    nc->want = (uint8_t)want;
    if (now_us >= nbconn_deadline_us(nc))
        return timed_out(nc, srv, now_us);
    if (want == NB_READ && !nc->is_lingering && conn_is_idle(&nc->c))
        conn_shrink(&nc->c); /* an idle keep-alive connection holds no buffer */
    return want;
}

/* Reads and drops what the client still sends until it closes or LINGER_US pass, so that
 * closing does not turn into a RST that destroys our last response (RFC 9112 9.6). */
static enum nb_want linger(struct nbconn *nc, const struct srv *srv, uint64_t now_us) {
    char sink[4096];
    for (int i = 0; i < MAX_READS_PER_STEP; i++) {
        ssize_t n = recv(nc->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return wait_for(nc, srv, NB_READ, now_us);
        if (n <= 0)
            return finish(nc);
    }
    return wait_for(nc, srv, NB_READ, now_us);
}

static enum nb_want start_linger(struct nbconn *nc, const struct srv *srv, uint64_t now_us) {
    conn_free(&nc->c);
    if (shutdown(nc->fd, SHUT_WR) < 0)
        return finish(nc);
    nc->is_lingering = true;
    nc->linger_since_us = now_us;
    return linger(nc, srv, now_us);
}

/* Reads once into the connection (with the kernel's receive time when metrics are on).
 * 1: bytes arrived; 0: nothing there; -1: closed or failed. */
static int read_some(struct nbconn *nc) {
    for (;;) {
        size_t space;
        char *buf = conn_rbuf(&nc->c, &space);
        if (!buf)
            return -1;
        uint64_t arrival_ns = 0;
        ssize_t n = nc->has_ts ? sock_recv_ts(nc->fd, buf, space, MSG_DONTWAIT, &arrival_ns)
                               : recv(nc->fd, buf, space, MSG_DONTWAIT);
        if (n < 0 && !nc->has_ts)
            n = -errno;
        if (n > 0 && arrival_ns) {
            metrics_set_arrival_source(METRICS_ARRIVAL_KERNEL);
            conn_rdone_ts(&nc->c, (size_t)n, arrival_ns);
        } else if (n > 0) {
            conn_rdone(&nc->c, (size_t)n);
        }
        if (n > 0)
            return 1;
        if (n == -EINTR)
            continue;
        return n == -EAGAIN ? 0 : -1;
    }
}

enum nb_want nbconn_step(struct nbconn *nc, const struct srv *srv, uint64_t now_us) {
    if (nc->is_lingering)
        return linger(nc, srv, now_us);
    if (nc->want == NB_SLEEP && now_us < nc->c.wake_us)
        return NB_SLEEP;
    for (int reads = 0;;) {
        enum conn_status st = conn_process(&nc->c, now_us);
        int rc = flush(nc);
        if (rc < 0)
            return finish(nc);
        if (rc == 0)
            return wait_for(nc, srv, NB_WRITE, now_us);
        if (st == CONN_CLOSE)
            return start_linger(nc, srv, now_us);
        if (st == CONN_WAIT) {
            nc->want = NB_SLEEP;
            return NB_SLEEP;
        }
        if (st == CONN_WRITE)
            continue;
        if (reads++ == MAX_READS_PER_STEP)
            return wait_for(nc, srv, NB_READ, now_us); /* more may be there: level-triggered */
        rc = read_some(nc);
        if (rc < 0)
            return finish(nc);
        if (rc == 0)
            return wait_for(nc, srv, NB_READ, now_us);
    }
}

bool nbconn_is_idle(const struct nbconn *nc) {
    return !nc->is_lingering && nc->want == NB_READ && conn_is_idle(&nc->c);
}

/* ---- the set -------------------------------------------------------------------------- */

int nbset_add(struct nbset *set, int fd, uint64_t now_us) {
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 64;
        struct nbconn **nv = realloc(set->v, ncap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        set->v = nv;
        set->cap = ncap;
    }
    struct nbconn *nc = malloc(sizeof *nc);
    if (!nc)
        return -ENOMEM;
    conn_init(&nc->c);
    conn_set_fd(&nc->c, fd);
    nc->fd = fd;
    nc->linger_since_us = 0;
    nc->want = NB_READ;
    nc->is_lingering = false;
    nc->has_ts = metrics_enabled();
    if (nc->has_ts)
        sock_enable_rx_timestamps(fd);
    set->v[set->n++] = nc;
    return 0;
}

enum nb_want nbset_step(struct nbset *set, size_t i, const struct srv *srv, uint64_t now_us) {
    enum nb_want w = nbconn_step(set->v[i], srv, now_us);
    if (w == NB_DONE)
        set->v[i] = set->v[--set->n];
    return w;
}

void nbset_close_idle(struct nbset *set) {
    for (size_t i = set->n; i-- > 0;) {
        if (!nbconn_is_idle(set->v[i]))
            continue;
        finish(set->v[i]);
        set->v[i] = set->v[--set->n];
    }
}

uint64_t nbset_next_deadline_us(const struct nbset *set) {
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < set->n; i++) {
        uint64_t d = nbconn_deadline_us(set->v[i]);
        if (d < next)
            next = d;
    }
    return next;
}

void nbset_free(struct nbset *set) {
    for (size_t i = 0; i < set->n; i++)
        finish(set->v[i]);
    free(set->v);
    *set = (struct nbset){0};
}

void nb_close_unserved(int fd, bool is_refused) {
    close(fd);
    metrics_conn(METRICS_CONN_CLOSED); /* srv_accept_nb() counted it accepted */
    if (is_refused)
        metrics_conn(METRICS_CONN_REFUSED);
}

int nb_accept(struct srv *srv, uint64_t now_us, uint64_t *pause_until_us) {
    int fd = srv_accept_nb(srv, srv->listen_fd, true);
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM)
        *pause_until_us = now_us + ACCEPT_PAUSE_US;
    return fd;
}

/* Connections the kernel completed before the signal may carry requests: take them in and
 * read what they sent, so they are answered (with Connection: close) rather than reset. */
static void accept_backlog(struct srv *srv, struct nbset *set, int fd_limit) {
    uint64_t now_us = conn_now_us(), pause_us = 0;
    int fd;
    while ((fd = nb_accept(srv, now_us, &pause_us)) >= 0) {
        if (fd >= fd_limit || nbset_add(set, fd, now_us) < 0) {
            nb_close_unserved(fd, fd >= fd_limit);
            continue;
        }
        nbset_step(set, set->n - 1, srv, now_us);
    }
}

bool nb_check_stop(struct srv *srv, struct nbset *set, int fd_limit) {
    if (!srv_stopping())
        return false;
    if (srv->listen_fd >= 0) {
        accept_backlog(srv, set, fd_limit);
        close(srv->listen_fd);
        srv->listen_fd = -1;
        nbset_close_idle(set);
    }
    return set->n == 0;
}
