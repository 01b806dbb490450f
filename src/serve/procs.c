/* --procs: a master process and N worker processes sharing the port, nginx's worker_processes.
 * The master passes signals on, reaps and replaces workers, and prints --stats; it serves no
 * connection. What a worker runs (an architecture, see serve.c) is not this file's business.
 *
 * Each worker has its own SO_REUSEPORT listener, so the kernel hashes each new connection to
 * one worker: the load, and the file descriptors, spread evenly, which is what lets N
 * processes hold N times one process's RLIMIT_NOFILE of connections. (One listener shared by
 * every worker would let whichever worker wakes first take a burst of connections.)
 *
 * Like nginx's master: a worker that dies by a signal, or exits 0 without being asked, is
 * logged and replaced, and the others keep serving; a worker that exits non-zero failed to
 * start (a configuration the machine cannot run), which a replacement would only repeat, so the
 * master stops the others and exits with that status. A replacement that dies again within a
 * second of its start is treated the same way (no crash loop). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http/metrics.h"
#include "serve/serve.h"

#define CRASH_LOOP_US 1000000 /* a replacement dying sooner than this is not replaced again */
#define KILL_GRACE_US 2000000 /* after --drain-timeout, workers get this long before SIGKILL */

struct worker {
    pid_t pid;           /* 0 when not running */
    uint64_t started_us;
    bool is_replacement;
};

struct master {
    struct srv *srv;
    int *listeners;
    int (*run_worker)(struct srv *srv);
    struct worker *w;
    int n, nlive;
    int nsignals;       /* SIGTERM/SIGINT received */
    bool is_stopping;
    int rc;             /* exit status so far */
    uint64_t kill_at_us; /* stopping: workers still alive then get SIGKILL (0 = done) */
    uint64_t next_stats_us;
    struct metrics_interval iv;
};

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void master_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGCHLD);
}

void procs_block_signals(void) {
    sigset_t set;
    master_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* In the child: keep only worker i's listener, die with the master, and serve. */
static void become_worker(struct master *m, int i, pid_t parent) {
    for (int j = 0; j < m->n; j++)
        if (j != i)
            close(m->listeners[j]);
    m->srv->listen_fd = m->listeners[i];
    /* A master killed by SIGKILL cannot pass anything on: the kernel tells its workers, which
     * then drain as after SIGTERM instead of serving on as orphans. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(0); /* the master died before prctl: nobody to serve for */
    exit(m->run_worker(m->srv));
}

static int spawn(struct master *m, int i, bool is_replacement) {
    pid_t parent = getpid();
    fflush(NULL); /* or the child would write the parent's buffered output again */
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        become_worker(m, i, parent);
    m->w[i] = (struct worker){.pid = pid, .started_us = now_us(), .is_replacement = is_replacement};
    m->nlive++;
    return 0;
}

static void signal_all(struct master *m, int sig) {
    for (int i = 0; i < m->n; i++)
        if (m->w[i].pid > 0)
            kill(m->w[i].pid, sig);
}

/* Stop accepting (the workers close their copies of the listeners as they drain) and pass
 * SIGTERM on; workers still alive after --drain-timeout and a grace period are killed. */
static void start_stopping(struct master *m) {
    if (m->is_stopping)
        return;
    m->is_stopping = true;
    for (int i = 0; i < m->n; i++)
        close(m->listeners[i]);
    signal_all(m, SIGTERM);
    m->kill_at_us = now_us() + m->srv->opts->drain_timeout_us + KILL_GRACE_US;
}

static void on_stop_signal(struct master *m) {
    if (m->nsignals++ > 0) {
        /* A second signal: at once, and leave no worker behind, not even as a zombie that
         * init may be slow to reap (SIGKILL takes milliseconds). */
        signal_all(m, SIGKILL);
        for (int i = 0; i < m->n; i++)
            if (m->w[i].pid > 0)
                waitpid(m->w[i].pid, NULL, 0);
        _exit(1);
    }
    start_stopping(m);
}

/* "exited with status 1", "killed by signal 9 (Killed)". */
static void describe(int status, char *buf, size_t cap) {
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(buf, cap, "ended with wait status %#x", status);
}

static void fail(struct master *m, int rc) {
    if (rc > m->rc)
        m->rc = rc;
    start_stopping(m);
}

/* Worker i (pid) ended with status: decide like nginx (see the top of the file). */
static void on_worker_exit(struct master *m, int i, pid_t pid, int status) {
    bool is_clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char what[96];
    describe(status, what, sizeof what);
    if (m->is_stopping) {
        if (!is_clean) {
            fprintf(stderr, "srvlab serve: worker %d %s while draining\n", (int)pid, what);
            fail(m, 1);
        }
        return;
    }
    /* Always on stderr, even with --quiet: a crash is an error, not chatter. */
    fprintf(stderr, "srvlab serve: worker %d %s\n", (int)pid, what);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        fprintf(stderr, "srvlab serve: stopping: a worker that cannot start is not replaced\n");
        fail(m, WEXITSTATUS(status));
        return;
    }
    if (m->w[i].is_replacement && now_us() - m->w[i].started_us < CRASH_LOOP_US) {
        fprintf(stderr, "srvlab serve: stopping: worker %d, a replacement, died within a second\n",
                (int)pid);
        fail(m, 1);
        return;
    }
    int rc = spawn(m, i, true);
    if (rc < 0) {
        fprintf(stderr, "srvlab serve: fork for worker %d: %s\n", i, strerror(-rc));
        fail(m, 1);
        return;
    }
    srv_log(m->srv, "worker %d replaced by worker %d", (int)pid, (int)m->w[i].pid);
}

static void reap(struct master *m) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < m->n; i++) {
            if (m->w[i].pid != pid)
                continue;
            m->w[i].pid = 0;
            m->nlive--;
            on_worker_exit(m, i, pid, status);
            break;
        }
    }
}

/* Timers: --stats lines, and the drain deadline. */
static void on_tick(struct master *m) {
    uint64_t now = now_us();
    if (m->next_stats_us && now >= m->next_stats_us) {
        srv_print_stats(&m->iv);
        m->next_stats_us += m->srv->opts->stats_interval_us;
        if (m->next_stats_us <= now)
            m->next_stats_us = now + m->srv->opts->stats_interval_us;
    }
    if (m->kill_at_us && now >= m->kill_at_us) {
        fprintf(stderr, "srvlab serve: %d worker(s) still running after the drain timeout: "
                        "killing them\n", m->nlive);
        signal_all(m, SIGKILL);
        m->kill_at_us = 0;
        m->rc = 1;
    }
}

/* How long sigtimedwait may sleep: until the next timer, at most a second. */
static struct timespec wait_time(const struct master *m) {
    uint64_t now = now_us(), until = now + 1000000;
    if (m->next_stats_us && m->next_stats_us < until)
        until = m->next_stats_us;
    if (m->kill_at_us && m->kill_at_us < until)
        until = m->kill_at_us;
    uint64_t us = until > now ? until - now : 0;
    return (struct timespec){.tv_sec = (time_t)(us / 1000000),
                             .tv_nsec = (long)(us % 1000000) * 1000};
}

static int master_loop(struct master *m) {
    sigset_t set;
    master_signals(&set);
    while (m->nlive > 0) {
        struct timespec ts = wait_time(m);
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGCHLD)
            reap(m);
        else if (sig == SIGTERM || sig == SIGINT)
            on_stop_signal(m);
        else
            on_tick(m);
    }
    return m->rc;
}

int procs_run(struct srv *srv, int *listeners, int (*run_worker)(struct srv *srv)) {
    const struct serve_opts *o = srv->opts;
    struct master m = {.srv = srv, .listeners = listeners, .run_worker = run_worker, .n = o->procs};
    m.w = calloc((size_t)m.n, sizeof *m.w);
    if (!m.w) {
        fprintf(stderr, "srvlab serve: --procs %d: out of memory\n", m.n);
        return 1;
    }
    if (o->stats_interval_us && o->has_metrics) {
        metrics_interval(&m.iv); /* the first interval starts now */
        m.next_stats_us = now_us() + o->stats_interval_us;
    }
    for (int i = 0; i < m.n; i++) {
        int rc = spawn(&m, i, false);
        if (rc < 0) {
            fprintf(stderr, "srvlab serve: fork for worker %d: %s\n", i, strerror(-rc));
            fail(&m, 1);
            break;
        }
    }
    int rc = master_loop(&m);
    free(m.w);
    return rc;
}
