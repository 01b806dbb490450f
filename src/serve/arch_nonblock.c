/* nonblock: the "Non-Blocking Server" slide. Every socket is non-blocking and one thread
 * tries accept and then every connection in turn, forever, whether or not anything is ready.
 * It is correct (keep-alive, pipelining, waits, partial writes) but burns a core even when
 * idle: the lesson is that readiness notification (select, poll, epoll) exists for a reason. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <unistd.h>

#include "serve/arch.h"
#include "serve/nbconn.h"

#define ACCEPTS_PER_TURN 16

static void try_accept(struct srv *srv, struct nbset *set, uint64_t now_us,
                       uint64_t *pause_until_us) {
    if (srv->listen_fd < 0 || now_us < *pause_until_us)
        return;
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = nb_accept(srv, now_us, pause_until_us);
        if (fd < 0)
            return;
        if (nbset_add(set, fd, now_us) < 0) {
            nb_close_unserved(fd, false);
            return;
        }
    }
}

static int run(struct srv *srv) {
    struct nbset set = {0};
    uint64_t accept_pause_until_us = 0;
    for (;;) {
        if (nb_check_stop(srv, &set, INT_MAX))
            break;
        uint64_t now_us = conn_now_us();
        try_accept(srv, &set, now_us, &accept_pause_until_us);
        /* The busy loop itself: ask every connection, ready or not. */
        for (size_t i = set.n; i-- > 0;)
            nbset_step(&set, i, srv, now_us);
        sched_yield(); /* be polite to other runnable threads; the CPU is still spent */
    }
    nbset_free(&set);
    return 0;
}

const struct arch arch_nonblock = {
    .name = "nonblock",
    .summary = "one thread tries accept and recv on every socket in turn: busy polling",
    .run = run,
};
