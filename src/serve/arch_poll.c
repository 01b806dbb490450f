/* poll: one thread, readiness from poll() (ppoll, for microsecond timeouts). The interest
 * list is rebuilt every turn from what each connection waits for, and the timeout is the
 * nearest deadline (a /work wait, an idle timeout). O(connections) per turn, no fd limit. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "serve/arch.h"
#include "serve/nbconn.h"

#define ACCEPTS_PER_TURN 64
enum { P_STOP, P_LISTEN, P_FIRST_CONN }; /* fixed slots at the front of the pollfd array */

struct poller {
    struct nbset set;
    struct pollfd *pfd;
    size_t pfd_cap;
    uint64_t accept_pause_until_us;
};

static int fill(struct srv *srv, struct poller *p, uint64_t now_us) {
    size_t need = P_FIRST_CONN + p->set.n;
    if (need > p->pfd_cap) {
        struct pollfd *nv = realloc(p->pfd, need * 2 * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        p->pfd = nv;
        p->pfd_cap = need * 2;
    }
    bool is_accepting = srv->listen_fd >= 0 && now_us >= p->accept_pause_until_us;
    p->pfd[P_STOP] = (struct pollfd){.fd = srv->listen_fd >= 0 ? srv->stop_fd : -1,
                                     .events = POLLIN};
    p->pfd[P_LISTEN] = (struct pollfd){.fd = is_accepting ? srv->listen_fd : -1,
                                       .events = POLLIN};
    for (size_t i = 0; i < p->set.n; i++) {
        const struct nbconn *nc = p->set.v[i];
        short ev = nc->want == NB_READ ? POLLIN : nc->want == NB_WRITE ? POLLOUT : 0;
        p->pfd[P_FIRST_CONN + i] = (struct pollfd){.fd = ev ? nc->fd : -1, .events = ev};
    }
    return 0;
}

static void on_listen(struct srv *srv, struct poller *p, uint64_t now_us) {
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = nb_accept(srv, now_us, &p->accept_pause_until_us);
        if (fd < 0)
            return;
        if (nbset_add(&p->set, fd, now_us) < 0) {
            nb_close_unserved(fd, false);
            return;
        }
    }
}

static int wait_ready(struct srv *srv, struct poller *p) {
    uint64_t now_us = conn_now_us();
    uint64_t next_us = nbset_next_deadline_us(&p->set);
    if (srv->listen_fd >= 0 && p->accept_pause_until_us > now_us &&
        p->accept_pause_until_us < next_us)
        next_us = p->accept_pause_until_us;
    struct timespec ts, *tsp = NULL;
    if (next_us != UINT64_MAX) {
        uint64_t d = next_us > now_us ? next_us - now_us : 0;
        ts = (struct timespec){.tv_sec = (time_t)(d / 1000000),
                               .tv_nsec = (long)(d % 1000000) * 1000};
        tsp = &ts;
    }
    int n = ppoll(p->pfd, P_FIRST_CONN + p->set.n, tsp, NULL);
    return n < 0 && errno != EINTR ? -errno : 0;
}

static int run(struct srv *srv) {
    struct poller p = {0};
    int rc = 0;
    while (!nb_check_stop(srv, &p.set, INT_MAX)) {
        if ((rc = fill(srv, &p, conn_now_us())) < 0 || (rc = wait_ready(srv, &p)) < 0)
            break;
        uint64_t now_us = conn_now_us();
        size_t n = p.set.n; /* connections accepted below wait for the next turn */
        if (p.pfd[P_LISTEN].revents)
            on_listen(srv, &p, now_us);
        for (size_t i = n; i-- > 0;) {
            if (p.pfd[P_FIRST_CONN + i].revents ||
                now_us >= nbconn_deadline_us(p.set.v[i]))
                nbset_step(&p.set, i, srv, now_us);
        }
    }
    nbset_free(&p.set);
    free(p.pfd);
    return rc;
}

const struct arch arch_poll = {
    .name = "poll",
    .summary = "one thread, readiness from poll(); no fd limit, O(connections) per wake-up",
    .run = run,
};
