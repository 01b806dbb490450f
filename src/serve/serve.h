/* `srvlab serve`: options, the running server's shared state, and helpers that every
 * architecture uses (accepting with shutdown awareness, the blocking connection loop). */
#ifndef SRVLAB_SERVE_H
#define SRVLAB_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { OVERFLOW_BLOCK, OVERFLOW_REJECT };
enum { LISTENER_REUSEPORT, LISTENER_EXCLUSIVE };
#define SERVE_MAX_PROCS 1024 /* --procs: more worker processes than this is a typo */

struct serve_opts {
    const char *arch;
    const char *bind;
    int port;
    const char *port_file;
    int backlog;
    int procs;               /* --procs: worker processes (1 = no master, the default) */
    int threads;             /* 0 = the architecture's default */
    int queue;               /* pool: accepted connections waiting for a worker */
    int overflow;            /* pool: OVERFLOW_BLOCK or OVERFLOW_REJECT */
    int listener;            /* reactors: LISTENER_REUSEPORT or LISTENER_EXCLUSIVE */
    uint64_t stack_bytes;    /* thread, green: stack size (0 = default) */
    const char *root;
    uint64_t max_body_bytes;
    uint64_t max_header_bytes;
    uint64_t max_headers;
    bool has_dotfiles;
    uint64_t stall_us, stall_period_us;
    uint64_t idle_timeout_us;  /* keep-alive connection with no request in progress */
    uint64_t header_timeout_us, body_timeout_us, send_timeout_us;
    uint64_t drain_timeout_us; /* after SIGTERM, how long in-flight requests may take */
    bool is_quiet;
    bool has_metrics;          /* false with --no-metrics */
    uint64_t max_conns;        /* beyond it new connections get 503 and close (0 = no limit) */
    const char *user;          /* --user: drop privileges to this user after binding */
    const char *access_log;    /* --access-log FILE (NULL = off) */
    uint64_t stats_interval_us; /* --stats: one line per interval on stderr (0 = off) */
};

struct srv {
    const struct serve_opts *opts;
    int listen_fd; /* non-blocking, listening */
    int port;      /* the real port (after --port 0) */
    int stop_fd;   /* eventfd that becomes readable (and stays so) when shutdown starts */
    long nofile;   /* RLIMIT_NOFILE after raising it */
    int ncpu;
    char err[160]; /* an architecture's reason for failing to start */
};

/* True once SIGTERM/SIGINT arrived: stop accepting, finish in-flight requests. */
bool srv_stopping(void);

/* Blocking-style accept: waits for a connection or shutdown. Returns the new fd (blocking mode,
 * TCP_NODELAY set), or -ESHUTDOWN once stopping and the backlog is empty. Transient errors (EMFILE, ECONNABORTED) are
 * logged at most once a second and retried after a short back-off. */
int srv_accept(struct srv *srv);

/* Accepts at most one connection without waiting: fd, -EAGAIN when none, -errno otherwise
 * (EMFILE is logged at most once a second). The fd is non-blocking when is_nonblock. */
int srv_accept_nb(struct srv *srv, int listen_fd, bool is_nonblock);

/* For a connection accepted by other means (io_uring's multishot accept): applies --max-conns
 * (answers 503 and closes fd, returning -EBUSY) or counts it as accepted and sets TCP_NODELAY
 * (returns 0), as srv_accept_nb() does. */
int srv_adopt(struct srv *srv, int fd);

/* Serves one connection in blocking style until it closes: read, conn_process, write, sleep
 * through /work waits. Closes fd. The thread, process, pool and iterative architectures all
 * call this, so they differ only in how they get concurrency. */
void srv_serve_blocking(struct srv *srv, int fd);

/* Keeps one descriptor in reserve so that accept() at EMFILE can still answer 503. */
void srv_reserve_spare_fd(void);

/* Another listening socket on the same address and port (SO_REUSEPORT), for per-thread
 * listeners. Returns the fd or -errno. */
int srv_listen_another(struct srv *srv);

/* Logs one line to stderr, prefixed "srvlab serve: ", unless --quiet. Thread-safe. */
void srv_log(const struct srv *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like srv_log, but at most once a second per call site key (rate-limited warnings). */
void srv_log_limited(const struct srv *srv, int key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of online CPUs. */
int srv_ncpu(void);

struct metrics_interval;
/* --stats: takes the next interval (metrics_interval(), one caller at a time) and prints its
 * line on stderr. 0 or -errno. */
int srv_print_stats(struct metrics_interval *iv);

/* --procs (procs.c). Blocks SIGTERM, SIGINT and SIGCHLD in the calling (main, only) thread, so
 * that a signal arriving during start-up waits for the master loop. */
void procs_block_signals(void);

/* --procs N > 1: forks srv->opts->procs workers. Worker i gets listeners[i] as srv->listen_fd
 * (the others closed), the signal mask of procs_block_signals() still set, and exits with
 * run_worker(srv)'s return value: this never returns in a worker. The master holds the
 * listeners, passes SIGTERM/SIGINT on, replaces a worker that crashes, prints --stats, and
 * returns the exit status once every worker has exited. Call from the main thread, with no
 * other thread running. */
int procs_run(struct srv *srv, int *listeners, int (*run_worker)(struct srv *srv));

#endif
