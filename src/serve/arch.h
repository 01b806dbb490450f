/* THE interface every architecture implements (our ae.h): a name, a one-line summary for
 * --help, and run(). An architecture owns only how connections get concurrency: accepting,
 * dispatching, waiting. Parsing, routing and keep-alive live in src/http/conn.c. */
#ifndef SRVLAB_ARCH_H
#define SRVLAB_ARCH_H

#include "serve/serve.h"

struct arch {
    const char *name;
    const char *summary;
    /* Serves srv->listen_fd until srv_stopping() and in-flight requests are done.
     * Returns 0, or -errno when it could not start (the reason is printed by serve.c, using
     * srv->err when the architecture filled it). */
    int (*run)(struct srv *srv);
};

extern const struct arch arch_iterative, arch_fork, arch_thread, arch_pool;
extern const struct arch arch_nonblock, arch_select, arch_poll, arch_epoll, arch_reactors,
    arch_epoll_pool, arch_uring, arch_green;

#endif
