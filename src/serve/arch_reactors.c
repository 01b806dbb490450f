/* reactors: one epoll loop per thread (--threads, default one per CPU), the nginx model.
 * Each loop accepts on its own SO_REUSEPORT listener, so the kernel spreads new connections
 * by hash (--listener reuseport, the default), or all loops share one listener registered
 * with EPOLLEXCLUSIVE (--listener exclusive), which wakes one loop per connection but always
 * the same one first, so a loop over its share of connections steps back for a moment (see
 * evconn.c). A connection stays on the loop that accepted it; with one loop per core, loop i
 * is pinned to the i-th CPU the process may use.
 *
 *     listener 0 --> loop 0 (thread 0): recv -> conn_process -> send, timers
 *     listener 1 --> loop 1 (thread 1): ...          (or: one listener -> any idle loop) */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/arch.h"
#include "serve/evconn.h"

struct reactor {
    struct evconn_loop el;
    pthread_t tid;
    int index;
    int nloops;
    int rc;
};

/* With one loop per core, loop i runs on the i-th CPU this process may use (nginx's
 * worker_cpu_affinity auto): no migrations, and the loop's memory stays in that core's caches
 * (about 10 % more requests per CPU-second here). With more loops than cores, pinning would
 * stack several loops on a core that may be busy while another is idle, so they float. */
static void pin_to_cpu(int i, int nloops) {
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
        return;
    int ncpu = CPU_COUNT(&allowed);
    if (ncpu < 2 || nloops > ncpu)
        return;
    for (int cpu = 0, k = i; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || k-- > 0)
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
        return;
    }
}

static void *reactor_main(void *arg) {
    struct reactor *r = arg;
    pin_to_cpu(r->index, r->nloops);
    r->rc = evconn_loop_run(&r->el);
    return NULL;
}

/* Loop i's listener: the server's own socket for loop 0 or when shared, else a new one. */
static int listener_for(struct srv *srv, int i, bool is_shared) {
    if (i == 0 || is_shared)
        return srv->listen_fd;
    return srv_listen_another(srv);
}

static unsigned all_conns; /* --listener exclusive: connections across loops */

static int start_loops(struct srv *srv, struct reactor *rs, int n, bool is_shared) {
    for (int i = 0; i < n; i++) {
        int fd = listener_for(srv, i, is_shared);
        if (fd < 0) {
            snprintf(srv->err, sizeof srv->err, "listener for loop %d: %s", i, strerror(-fd));
            return fd;
        }
        int rc = evconn_loop_init(&rs[i].el, srv, fd, is_shared);
        if (rc < 0) {
            if (fd != srv->listen_fd)
                close(fd);
            return rc;
        }
        if (is_shared) {
            rs[i].el.all_conns = &all_conns;
            rs[i].el.nloops = n;
        }
    }
    return 0;
}

/* Shows how evenly the kernel spread the connections (reuseport hashes, exclusive is LIFO). */
static void log_balance(struct srv *srv, struct reactor *rs, int n) {
    char line[256];
    int len = 0;
    for (int i = 0; i < n && len < (int)sizeof line - 24; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %llu",
                        (unsigned long long)rs[i].el.accepted);
    srv_log(srv, "reactors: connections accepted per loop:%s", line);
}

static int run(struct srv *srv) {
    int n = srv->opts->threads ? srv->opts->threads : srv->ncpu;
    bool is_shared = srv->opts->listener == LISTENER_EXCLUSIVE;
    struct reactor *rs = calloc((size_t)n, sizeof *rs);
    if (!rs)
        return -ENOMEM;
    int rc = start_loops(srv, rs, n, is_shared);
    int started = 0;
    for (; rc == 0 && started < n; started++) {
        rs[started].index = started;
        rs[started].nloops = n;
        rc = -pthread_create(&rs[started].tid, NULL, reactor_main, &rs[started]);
        if (rc < 0)
            break;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(rs[i].tid, NULL);
        if (rs[i].rc < 0 && rc == 0)
            rc = rs[i].rc;
    }
    if (started == n)
        log_balance(srv, rs, n);
    for (int i = 0; i < n; i++) {
        if (rs[i].el.srv) {
            if (rs[i].el.listen_fd == srv->listen_fd)
                rs[i].el.listen_fd = -1; /* serve.c's socket */
            evconn_loop_free(&rs[i].el);
        }
    }
    free(rs);
    return rc;
}

const struct arch arch_reactors = {
    .name = "reactors",
    .summary = "one epoll loop per thread (--threads, default ncpu), SO_REUSEPORT (nginx)",
    .run = run,
};
