/* What the parts of `srvlab sweep` share: the options (sweep.c), the child processes (child.c)
 * and the measurement steps (steps.c). The saved data and the page live in data.h/report.h. */
#ifndef SRVLAB_SWEEP_H
#define SRVLAB_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "load/slo.h"
#include "report/data.h"

#define SWEEP_MAX_SERVERS 32

enum sweep_workload { SWEEP_HELLO, SWEEP_CPU, SWEEP_IO, SWEEP_STATIC };

struct sweep_opts {
    const char *names[SWEEP_MAX_SERVERS]; /* srvlab architectures, in order */
    size_t name_count;
    const char *peers[SWEEP_MAX_SERVERS]; /* nginx, h2o, lighttpd, node */
    size_t peer_count;
    enum sweep_workload workload;
    const char *workload_text;  /* as given, e.g. "cpu:200us" */
    double work_us;             /* cpu or io time per request */
    bool is_exp;                /* exponential service times (":exp") */
    const char *static_path;    /* static:FILE */
    char url_path[512];         /* what the loader requests, e.g. /work?cpu_us=200 */
    const char *slo_text;
    struct slo slo;
    uint64_t duration_us;       /* per run, warm-up included */
    uint64_t warmup_us;
    uint64_t timeout_us;        /* per request */
    double common_rate_per_s;   /* the load every server gets for the CDF; 0: derived */
    int search_steps;           /* bisection steps of the SLO search */
    bool is_quick;
    bool is_pinned;             /* server on CPU 0, loader and sweep on CPU 1 */
    bool is_progress;           /* stderr is a terminal */
    const char *out_dir;
    char self[4096];            /* this binary, to start `srvlab serve/load/model` */
};

/* ---- child.c: processes started by the sweep, killed by PID ---- */

struct server_proc {
    pid_t pid;       /* leader of its own process group */
    int port;
    char log_path[4096];
};

/* CPU time (s) of a process and its children, and their memory (KiB). */
struct proc_usage {
    double cpu_s;    /* user + system, all threads, children alive or reaped */
    long rss_kib;    /* proportional set size (Pss), summed: shared pages counted once */
    long hwm_kib;    /* VmHWM (peak resident set) of the leader */
};

/* Starts server `s` (an architecture or a peer) pinned to CPU 0 when o->is_pinned, waits until
 * it accepts. Returns 0 or -errno with a message in err. */
int child_start_server(const struct sweep_opts *o, struct sweep_server *s,
                       struct server_proc *p, char *err, size_t errlen);

/* SIGTERM to the server's process group, then SIGKILL after 2 s; reaps it. */
void child_stop_server(struct server_proc *p);

/* Runs `srvlab load` with args (NULL-terminated, without the program name), output to logfile,
 * pinned to CPU 1 when pinned. While it runs, samples the server's usage into *peak every 100 ms
 * and calls tick_cb. Returns the loader's exit status, or -EINTR when interrupted (the loader
 * was killed), or -errno when it could not start. */
int child_run_load(const struct sweep_opts *o, char *const args[], const char *logfile,
                   pid_t server_pid, struct proc_usage *peak, void (*tick_cb)(void));

/* Runs `srvlab ARGS...` with stdout to outfile; returns its exit status or -errno. */
int child_run_capture(const struct sweep_opts *o, char *const args[], const char *outfile);

/* Usage of pid and its descendants now. */
int child_usage(pid_t pid, struct proc_usage *u);

/* Forks and execs argv (PATH searched) in its own process group, stdout to out_path (or
 * /dev/null), stderr to err_path (or with stdout), pinned to cpu unless cpu < 0. Returns the
 * pid or -errno. */
pid_t child_spawn(char *const argv[], const char *out_path, const char *err_path, int cpu);

/* Totals from the server's GET /metrics (srvlab architectures only). */
struct server_metrics {
    double queue_sum_s, queue_count;     /* srvlab_queueing_delay_seconds_{sum,count} */
    double service_sum_s, service_count; /* srvlab_service_time_seconds_{sum,count} */
};

/* Fetches and parses http://127.0.0.1:port/metrics (1 s timeout). Returns 0, or -errno / -EPROTO
 * when the server has no such endpoint. */
int child_fetch_metrics(int port, struct server_metrics *m);

/* Pins the calling process to one CPU; returns 0 or -errno. */
int child_pin(int cpu);

/* Set by the SIGINT/SIGTERM handler. */
extern volatile int sweep_interrupted;

/* ---- steps.c ---- */

/* Runs every step for one started server, appending runs to s and saving the manifest after
 * each. Returns 0, or -EINTR when interrupted. */
int steps_run_server(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s,
                     struct server_proc *p);

/* Number of load runs steps_run_server makes, for the progress estimate. */
int steps_count(const struct sweep_opts *o);

/* Progress display (sweep.c): which server, which step, time left. */
void sweep_progress_step(const char *server, const char *step);
void sweep_progress_tick(void);

#endif
