/* select: one thread, readiness from select(). The fd sets are rebuilt every turn and the
 * timeout is the nearest deadline. select() can only describe fds below FD_SETSIZE (1024):
 * setting a higher one would write past the fd_set, so such a connection is refused (closed
 * at once, with a log line) and everyone else keeps being served. */
#include <errno.h>
#include <sys/select.h>
#include <unistd.h>

#include "serve/arch.h"
#include "serve/nbconn.h"

#define ACCEPTS_PER_TURN 64
#define LOG_KEY_FD_SETSIZE 7 /* srv_log_limited key for the refusal line */

struct selector {
    struct nbset set;
    fd_set rd, wr;
    int maxfd;
    uint64_t accept_pause_until_us;
    uint64_t refused;
};

static void watch(struct selector *s, int fd, fd_set *fds) {
    FD_SET(fd, fds);
    if (fd > s->maxfd)
        s->maxfd = fd;
}

static void fill(struct srv *srv, struct selector *s, uint64_t now_us) {
    FD_ZERO(&s->rd);
    FD_ZERO(&s->wr);
    s->maxfd = -1;
    if (srv->listen_fd >= 0) {
        watch(s, srv->stop_fd, &s->rd);
        if (now_us >= s->accept_pause_until_us)
            watch(s, srv->listen_fd, &s->rd);
    }
    for (size_t i = 0; i < s->set.n; i++) {
        const struct nbconn *nc = s->set.v[i];
        if (nc->want == NB_READ)
            watch(s, nc->fd, &s->rd);
        else if (nc->want == NB_WRITE)
            watch(s, nc->fd, &s->wr);
    }
}

static void on_listen(struct srv *srv, struct selector *s, uint64_t now_us) {
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = nb_accept(srv, now_us, &s->accept_pause_until_us);
        if (fd < 0)
            return;
        if (fd >= FD_SETSIZE) {
            s->refused++;
            srv_log_limited(srv, LOG_KEY_FD_SETSIZE,
                            "select: connection refused: fd %d >= FD_SETSIZE (%d); %llu refused "
                            "so far (use --arch poll or epoll for more connections)",
                            fd, FD_SETSIZE, (unsigned long long)s->refused);
            nb_close_unserved(fd, true);
            continue;
        }
        if (nbset_add(&s->set, fd, now_us) < 0) {
            nb_close_unserved(fd, false);
            return;
        }
    }
}

static int wait_ready(struct srv *srv, struct selector *s) {
    uint64_t now_us = conn_now_us();
    uint64_t next_us = nbset_next_deadline_us(&s->set);
    if (srv->listen_fd >= 0 && s->accept_pause_until_us > now_us &&
        s->accept_pause_until_us < next_us)
        next_us = s->accept_pause_until_us;
    struct timeval tv, *tvp = NULL;
    if (next_us != UINT64_MAX) {
        uint64_t d = next_us > now_us ? next_us - now_us : 0;
        tv = (struct timeval){.tv_sec = (time_t)(d / 1000000),
                              .tv_usec = (suseconds_t)(d % 1000000)};
        tvp = &tv;
    }
    int n = select(s->maxfd + 1, &s->rd, &s->wr, NULL, tvp);
    if (n < 0) {
        FD_ZERO(&s->rd); /* on EINTR the sets are undefined: only deadlines count this turn */
        FD_ZERO(&s->wr);
    }
    return n < 0 && errno != EINTR ? -errno : 0;
}

static bool is_ready(const struct selector *s, const struct nbconn *nc) {
    return (nc->want == NB_READ && FD_ISSET(nc->fd, &s->rd)) ||
           (nc->want == NB_WRITE && FD_ISSET(nc->fd, &s->wr));
}

static int run(struct srv *srv) {
    struct selector s = {0};
    int rc = 0;
    while (!nb_check_stop(srv, &s.set, FD_SETSIZE)) {
        fill(srv, &s, conn_now_us());
        if ((rc = wait_ready(srv, &s)) < 0)
            break;
        uint64_t now_us = conn_now_us();
        size_t n = s.set.n; /* connections accepted below wait for the next turn */
        if (srv->listen_fd >= 0 && FD_ISSET(srv->listen_fd, &s.rd))
            on_listen(srv, &s, now_us);
        for (size_t i = n; i-- > 0;) {
            if (is_ready(&s, s.set.v[i]) || now_us >= nbconn_deadline_us(s.set.v[i]))
                nbset_step(&s.set, i, srv, now_us);
        }
    }
    nbset_free(&s.set);
    return rc;
}

const struct arch arch_select = {
    .name = "select",
    .summary = "one thread, readiness from select(); connections with fd >= 1024 are refused",
    .run = run,
};
