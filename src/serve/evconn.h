/* The non-blocking connection driver shared by epoll, reactors and epoll+pool: one evloop per
 * thread accepts, reads into the HTTP core, writes (send, sendfile) with partial writes parked
 * on EPOLLOUT, turns CONN_WAIT into timers, closes idle connections and drains on shutdown.
 * It does not create threads; the architectures decide how many loops run and where. */
#ifndef SRVLAB_EVCONN_H
#define SRVLAB_EVCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "http/conn.h"
#include "serve/evloop.h"
#include "serve/serve.h"

/* One connection. Kept small: an idle keep-alive connection costs this struct (its buffers
 * go back to the pool) plus a pointer in the loop's fd table. */
struct evconn {
    struct conn c;
    struct ev_io io;
    struct ev_timer tm; /* CONN_WAIT wake-up, or the lingering-close deadline */
    uint16_t flags;     /* F_* (evconn.c); only the owning loop thread writes them */
};

struct evconn_loop;

/* epoll+pool: asked before each conn_process; returns true when it took the connection
 * (then it must give it back with evconn_resume on the loop thread). */
typedef bool evconn_offload_fn(struct evconn_loop *el, struct evconn *e);

struct evconn_loop {
    struct evloop lp; /* first: callbacks get &lp */
    struct srv *srv;
    int listen_fd;
    bool is_listener_shared; /* reactors --listener exclusive: do not close it here */
    bool is_listening;
    bool is_draining;
    bool has_ts; /* metrics on: receive with the kernel's timestamps */
    struct ev_io listen_io;
    struct ev_io stop_io;
    struct ev_timer accept_tm; /* re-enables accepting after EMFILE */
    struct ev_timer sweep_tm;  /* idle timeout sweep */
    struct evconn **by_fd;     /* connections by fd, for the idle sweep and draining */
    int by_fd_cap;
    int max_fd;
    unsigned nconns;
    uint64_t accepted;
    struct slab *slabs;            /* connection memory (evconn.c) */
    union free_conn *free_conns;
    /* reactors --listener exclusive: connections of all loops (atomic) and the loop count, so
     * a loop holding more than its share steps back from the shared listener for a moment. */
    unsigned *all_conns;
    int nloops;
    evconn_offload_fn *offload;
    void *user; /* the architecture's own data (epoll+pool: the worker pool) */
};

/* Prepares a loop serving listen_fd (registered with EPOLLEXCLUSIVE when is_shared; such a
 * listener is left open at shutdown for the owner to close). 0 or -errno. */
int evconn_loop_init(struct evconn_loop *el, struct srv *srv, int listen_fd, bool is_shared);

/* Serves until shutdown has drained every connection. 0 or -errno. */
int evconn_loop_run(struct evconn_loop *el);

/* Frees the loop (connections are gone by then). */
void evconn_loop_free(struct evconn_loop *el);

/* Loop thread only: e comes back from elsewhere (a worker) with conn_process's status st;
 * the driver sends the output and carries on. */
void evconn_resume(struct evconn_loop *el, struct evconn *e, enum conn_status st);

/* Loop thread only: marks e as handed over (the loop will not touch e->c meanwhile). */
void evconn_set_busy(struct evconn *e);

#endif
