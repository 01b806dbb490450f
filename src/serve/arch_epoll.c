/* epoll: one thread, one event loop (the redis / node.js model). Every socket has a callback
 * in the loop; /work?io_us waits are timers, so thousands of them overlap, while cpu_us spins
 * on the loop's only thread and holds every other client up: that contrast is the lesson.
 *
 *     epoll_wait --> listener: accept, register EPOLLIN|EPOLLOUT|EPOLLET once
 *         |      --> client:   recv -> conn_process -> send (EPOLLOUT only after a short send)
 *         +----> timers:       /work waits, lingering closes, idle sweep */
#include "serve/arch.h"
#include "serve/evconn.h"

static int run(struct srv *srv) {
    struct evconn_loop el;
    int rc = evconn_loop_init(&el, srv, srv->listen_fd, false);
    if (rc < 0)
        return rc;
    rc = evconn_loop_run(&el);
    el.listen_fd = -1; /* closed by the drain, or left to serve.c on error */
    evconn_loop_free(&el);
    return rc;
}

const struct arch arch_epoll = {
    .name = "epoll",
    .summary = "one thread, an epoll event loop with callbacks and timers (redis, node.js)",
    .run = run,
};
