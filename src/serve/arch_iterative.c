/* iterative: one thread, one client at a time. Blocking accept, then the whole connection,
 * then the next accept; everyone else waits in the TCP backlog (--backlog). The baseline. */
#include "serve/arch.h"

static int run(struct srv *srv) {
    int fd;
    while ((fd = srv_accept(srv)) >= 0)
        srv_serve_blocking(srv, fd);
    return 0;
}

const struct arch arch_iterative = {
    .name = "iterative",
    .summary = "one thread, one connection at a time; others wait in the TCP backlog",
    .run = run,
};
