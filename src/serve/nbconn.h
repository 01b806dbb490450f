/* One non-blocking connection step shared by nonblock, select and poll: read, conn_process,
 * write with partial writes and sendfile, deadlines for /work waits, idle timeout, lingering
 * close. How readiness is learned (spinning, select, poll) is the caller's business. */
#ifndef SRVLAB_NBCONN_H
#define SRVLAB_NBCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/conn.h"
#include "serve/serve.h"

/* What a connection waits for before the next nbconn_step(). */
enum nb_want {
    NB_READ,  /* the socket to become readable (also while lingering before close) */
    NB_WRITE, /* the socket to become writable: output is pending */
    NB_SLEEP, /* only the deadline: a /work wait or --stall */
    NB_DONE,  /* closed and freed: drop the pointer */
};

struct nbconn {
    struct conn c;
    uint64_t linger_since_us; /* when the lingering close began (CLOCK_MONOTONIC us) */
    int fd;
    uint8_t want;      /* enum nb_want */
    bool is_lingering; /* response sent, our side shut down, draining the client's bytes */
    bool has_ts;       /* reads carry the kernel's receive time (metrics on) */
};

/* A growable array of connections; order is not kept (removal swaps in the last one). */
struct nbset {
    struct nbconn **v;
    size_t n, cap;
};

/* Makes all the progress possible without blocking, and returns what to wait for next. Call
 * it when the socket is ready for nc->want, when nbconn_deadline_us() has passed, or simply
 * whenever (nonblock does: it never blocks, it just finds nothing to do). now_us is
 * CLOCK_MONOTONIC us. On NB_DONE the fd is closed and nc is freed. Single thread only. */
enum nb_want nbconn_step(struct nbconn *nc, const struct srv *srv, uint64_t now_us);

/* When nbconn_step() must be called even without readiness: the wake time of a wait, the
 * core's header/body/idle/send timeout (conn_deadline_us), or the end of a lingering close.
 * CLOCK_MONOTONIC us; UINT64_MAX for none. */
uint64_t nbconn_deadline_us(const struct nbconn *nc);

/* True when the connection waits for a new request with nothing in flight: on shutdown it
 * may simply be closed. */
bool nbconn_is_idle(const struct nbconn *nc);

/* Adds a connection on the accepted non-blocking fd. 0, or -ENOMEM (fd left to the caller). */
int nbset_add(struct nbset *set, int fd, uint64_t now_us);

/* Steps set->v[i] and removes it when it closed. Returns what it now waits for. */
enum nb_want nbset_step(struct nbset *set, size_t i, const struct srv *srv, uint64_t now_us);

/* Shutdown: closes every idle connection (nbconn_is_idle). */
void nbset_close_idle(struct nbset *set);

/* The earliest nbconn_deadline_us() in the set, or UINT64_MAX when it is empty. */
uint64_t nbset_next_deadline_us(const struct nbset *set);

/* Closes every connection and frees the array. */
void nbset_free(struct nbset *set);

/* Closes an accepted fd that will not be served (out of memory; is_refused: turned away, e.g.
 * select's FD_SETSIZE), keeping the connection counters of srv_accept_nb() balanced. */
void nb_close_unserved(int fd, bool is_refused);

/* Accepts one non-blocking connection: fd, or -errno (-EAGAIN: none waiting). After EMFILE
 * and similar errors *pause_until_us is set 100 ms ahead: the caller should not poll the
 * listener before then, or a level-triggered loop would spin on it. */
int nb_accept(struct srv *srv, uint64_t now_us, uint64_t *pause_until_us);

/* On shutdown, once: accepts what waits in the backlog (fds >= fd_limit are closed) and reads
 * its requests, closes srv->listen_fd (sets it to -1), then closes the idle connections.
 * Returns true when the caller may return from run(): stopping and no connection left. */
bool nb_check_stop(struct srv *srv, struct nbset *set, int fd_limit);

#endif
