/* What the load engine's two halves share: engine.c (the main thread: set-up, progress,
 * per-second rows, the result) and loop.c (one event loop per thread). Internal to src/load. */
#ifndef SRVLAB_LOOP_H
#define SRVLAB_LOOP_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "load/load.h"
#include "load/respparse.h"

#define READ_BUF_BYTES 65536            /* one recv; answers are parsed in place */
#define MAX_EVENTS 256
#define SECOND_SLOTS 16                 /* per-second rows the main thread may lag behind */
#define CONNECT_BACKOFF_NS 10000000ULL  /* closed loop: retry a failed connect after 10 ms */
#define MAX_SLEEP_NS 100000000ULL       /* wake at least every 100 ms to notice ^C */
#define BUSY_POLL_NS 5000ULL            /* poll this long after a busy poll before sleeping */
/* Connections per 127.0.0.x source address: the default port range has 28,232 ports, and the
 * TIME_WAIT sockets of earlier runs (60 s) hold some of them. */
#define CONNS_PER_SOURCE_ADDR 4000
#define NS_PER_S 1000000000ULL

struct req {
    uint64_t intended_ns, sent_ns; /* sent_ns 0: not written yet */
    bool is_measured;
};

enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_OPEN };

struct thread;

struct conn {
    struct thread *t;
    int fd;
    enum conn_state state;
    uint32_t id;
    uint32_t gen;       /* bumped on every connect: events for an earlier socket are stale */
    uint32_t inflight;  /* requests assigned and not answered, oldest at ring[head] */
    uint32_t unwritten; /* the newest `unwritten` of them are not fully written */
    uint32_t head;
    size_t woff;        /* bytes of the first unwritten request already written */
    struct req *ring;   /* --pipeline entries */
    uint64_t connect_start_ns, first_byte_ns, wake_ns;
    int64_t connect_us; /* last connect time, -1 once reported (sampling mode) */
    bool is_listed;     /* on the thread's idle stack (open loop) */
    bool wants_out;     /* EPOLLOUT is registered */
    int heap_index;     /* position in the wake-up heap, -1 when absent */
    struct conn *next_idle; /* idle stack link (open loop) */
    struct conn *next_free; /* free stack link: closed slots */
    struct respparse rp;
};

struct sec_acc {
    int64_t index; /* seconds after warm-up; -1: slot free */
    uint64_t sent, completed, errors;
    struct hist h;
};

/* The per-second slots threads flush into; in MAP_SHARED memory under --procs. */
struct sec_board {
    pthread_mutex_t lock; /* process-shared and robust under --procs */
    struct sec_acc slots[SECOND_SLOTS];
    int64_t last_sec; /* the latest second any thread flushed */
};

struct engine;

struct thread {
    struct engine *e;
    const struct load_opts *o;
    unsigned index;
    pthread_t tid;
    int ep;
    struct conn *conns;
    uint32_t conn_count, open_count, peak_open;
    uint64_t inflight; /* requests assigned to connections and not answered, all connections */
    struct req *rings;
    struct conn *idle, *free;
    struct conn **heap;
    uint32_t heap_len;
    struct sched sched;
    uint64_t next_intended_ns; /* UINT64_MAX when the schedule is exhausted */
    bool is_due_noticed, is_due_blocked;
    uint64_t queue_clear_ns; /* when the last request that waited for a connection was sent */
    uint64_t budget;           /* measured requests left to issue */
    uint64_t stop_ns, finish_ns;
    uint64_t sec_base_ns; /* per-second rows count from here: t0 with a ramp, else measure_ns */
    uint64_t measure_ns, send_end_ns, hard_end_ns, next_sweep_ns, sweep_ns, timeout_ns;
    bool is_sending;
    bool was_busy; /* the last poll returned events */
    struct load_stats st;
    struct sec_acc sec;
    uint64_t sec_end_ns;
    uint64_t prog_done, prog_err;   /* read by the main thread (atomics) */
    int64_t flushed_sec;            /* seconds below this one are flushed (atomic) */
    int is_finished;                /* atomic */
    uint64_t samples;
    /* Thread 0, after the warm-up, for the verdict: gaps between actual sends (Poisson runs)
     * and latencies in completion order, bounded (NULL when not kept). */
    double *gaps, *lats;
    size_t gap_count, lat_count;
    uint64_t last_send_ns;
    char *rbuf;
    char *raw_buf;
    size_t raw_len;
};

/* --procs: the start handshake, in MAP_SHARED memory. */
struct procs_sync {
    int ready;     /* processes whose threads wait for the start (atomic) */
    int go;        /* set by the parent once t0_ns is set (atomic) */
    uint64_t t0_ns;
};

struct engine {
    const struct load_opts *o;
    struct thread *threads; /* all o->threads; in MAP_SHARED memory under --procs */
    char *reqbuf; /* --pipeline copies of the request, so a batch is one write */
    size_t req_bytes;
    uint64_t t0_ns;
    unsigned src_addrs;
    unsigned lo, hi; /* the threads this process runs: all, or a --procs child's share */
    pthread_barrier_t ready, go;
    pthread_mutex_t lock; /* guards the raw file */
    struct sec_board *board;
    struct hist so_far; /* every finished second merged: the progress line's p99 */
    struct load_result *r;
    int64_t next_row;
    FILE *raw;
    /* --procs (o->procs > 1): the children, the handshake, whether SIGINT was passed on. */
    pid_t *pids;
    struct procs_sync *sync;
    bool is_stop_forwarded;
};

/* Locks the board; a --procs child that died holding the lock leaves it to the next owner
 * (the run fails anyway, but the parent must not hang). */
static inline void board_lock(struct sec_board *b) {
    if (pthread_mutex_lock(&b->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&b->lock);
}

/* Unlocks what board_lock() locked. After a recovery (EOWNERDEAD) board_lock() already marked
 * the mutex consistent, so this plain unlock leaves it usable for the next owner. */
static inline void board_unlock(struct sec_board *b) {
    pthread_mutex_unlock(&b->lock);
}

/* Set by SIGINT/SIGTERM (engine.c); every loop stops sending and ends at once. Written by a
 * signal handler, read by every thread: only through these two, atomically. */
extern volatile sig_atomic_t loop_stop;

static inline bool loop_stopping(void) {
    return __atomic_load_n(&loop_stop, __ATOMIC_RELAXED) != 0;
}

static inline void loop_set_stop(int v) {
    __atomic_store_n(&loop_stop, v, __ATOMIC_RELAXED);
}

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t loop_now_ns(void);

/* Allocates a thread's connections, rings, buffers, epoll instance and per-second histogram
 * (t->e, t->o and t->index set by the caller; its results, t->st and thread 0's verdict
 * sequences, are engine.c's). Returns 0 or -ENOMEM; loop_free() releases what was made. */
int loop_alloc(struct thread *t, uint32_t conns);
void loop_free(struct thread *t);

/* pthread entry: waits at the engine's barriers, runs until the run is over, flushes its last
 * second and raw lines, and sets t->is_finished. */
void *loop_thread_main(void *arg);

/* engine.c, for procs.c. Creates the threads [e->lo, e->hi) (their barriers counting one more,
 * the caller); *started says how many were made. 0 or -EAGAIN. */
int engine_spawn(struct engine *e, unsigned *started);
/* Sets e->t0_ns and e->r->start_unix_s: 1 ms from now, or --start-at. */
void engine_pick_start(struct engine *e);

/* procs.c: --procs. Memory shared with processes forked later (zeroed), and its release. */
void *procs_shm_alloc(size_t bytes);
void procs_shm_free(void *p, size_t bytes);
/* Forks o->procs children, each running its share of the threads (loop_alloc'ed there); waits
 * until all are ready, sets the common start and lets them go. 0, or -errno with err set (the
 * children made are killed and reaped). */
int procs_start(struct engine *e, char *err, size_t errlen);
/* While the run goes on: passes a SIGINT/SIGTERM on to the children, and notices a child that
 * died. 0, or -ECHILD with err set. */
int procs_poll(struct engine *e, char *err, size_t errlen);
/* Waits for every child (killing them first when is_kill); 0 when all exited 0, else -ECHILD
 * with err set (unless err already holds a message). */
int procs_reap(struct engine *e, bool is_kill, char *err, size_t errlen);

#endif
