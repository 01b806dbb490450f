/* `srvlab load --procs N`: the run's threads spread over N forked processes, since the
 * descriptor limit (RLIMIT_NOFILE) is per process. The threads' results and the per-second
 * slots are in MAP_SHARED memory mapped before the fork (engine.c), so the parent merges them
 * exactly as it merges its own threads'. This file forks, starts everyone together, watches
 * and reaps; it does not measure. */
#include "load/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "load/share.h"

#define START_POLL_NS 100000L /* how often the handshake looks: 0.1 ms, at start only */

void *procs_shm_alloc(size_t bytes) {
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void procs_shm_free(void *p, size_t bytes) {
    if (p)
        munmap(p, bytes ? bytes : 1);
}

static void nap(void) {
    struct timespec ts = {0, START_POLL_NS};
    nanosleep(&ts, NULL);
}

/* ---- A child: its share of the threads, then _exit (never back into the caller's code). -- */

static int child_alloc(struct engine *e) {
    const struct load_opts *o = e->o;
    for (unsigned i = e->lo; i < e->hi; i++)
        if (loop_alloc(&e->threads[i], (uint32_t)share_of(o->connections, o->threads, i)) < 0)
            return -ENOMEM;
    return 0;
}

static void child_run(struct engine *e, unsigned p, pid_t parent) {
    /* Die with the parent; it may have died before the call took effect. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    const struct load_opts *o = e->o;
    e->lo = (unsigned)share_start(o->threads, o->procs, p);
    e->hi = e->lo + (unsigned)share_of(o->threads, o->procs, p);
    if (child_alloc(e) < 0) {
        fprintf(stderr, "srvlab load: process %u: out of memory for %llu connections\n", p,
                (unsigned long long)share_proc_conns(o->connections, o->threads, o->procs, p));
        _exit(1);
    }
    unsigned started = 0;
    if (engine_spawn(e, &started) < 0) {
        fprintf(stderr, "srvlab load: process %u: cannot start threads\n", p);
        _exit(1);
    }
    pthread_barrier_wait(&e->ready);
    __atomic_add_fetch(&e->sync->ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&e->sync->go, __ATOMIC_ACQUIRE))
        nap();
    e->t0_ns = e->sync->t0_ns;
    pthread_barrier_wait(&e->go);
    for (unsigned i = 0; i < started; i++)
        pthread_join(e->threads[e->lo + i].tid, NULL);
    _exit(0);
}

/* ---- The parent ------------------------------------------------------------------------- */

static void describe_exit(const struct engine *e, unsigned p, int status, char *err,
                          size_t errlen) {
    int n = snprintf(err, errlen, "process %u of %u (pid %d) ", p, e->o->procs, (int)e->pids[p]);
    if (n < 0 || (size_t)n >= errlen)
        return;
    if (WIFSIGNALED(status))
        snprintf(err + n, errlen - (size_t)n, "was killed by signal %d (%s)%s",
                 WTERMSIG(status), strsignal(WTERMSIG(status)),
                 WTERMSIG(status) == SIGKILL ? ", by someone or the out-of-memory killer" : "");
    else
        snprintf(err + n, errlen - (size_t)n, "exited with status %d", WEXITSTATUS(status));
}

/* A child that ended: reaped, forgotten (pid 0). Returns -ECHILD when it failed. */
static int check_child(struct engine *e, unsigned p, int flags, char *err, size_t errlen) {
    int status;
    if (!e->pids[p] || waitpid(e->pids[p], &status, flags) != e->pids[p])
        return 0;
    bool is_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!is_ok && !*err)
        describe_exit(e, p, status, err, errlen);
    e->pids[p] = 0;
    return is_ok ? 0 : -ECHILD;
}

int procs_poll(struct engine *e, char *err, size_t errlen) {
    unsigned n = e->o->procs;
    if (loop_stopping() && !e->is_stop_forwarded) {
        for (unsigned p = 0; p < n; p++)
            if (e->pids[p])
                kill(e->pids[p], SIGINT);
        e->is_stop_forwarded = true;
    }
    int rc = 0;
    for (unsigned p = 0; p < n; p++)
        if (check_child(e, p, WNOHANG, err, errlen) < 0)
            rc = -ECHILD;
    return rc;
}

int procs_reap(struct engine *e, bool is_kill, char *err, size_t errlen) {
    int rc = 0;
    for (unsigned p = 0; e->pids && p < e->o->procs; p++) {
        if (is_kill && e->pids[p])
            kill(e->pids[p], SIGKILL);
        if (check_child(e, p, 0, err, errlen) < 0)
            rc = -ECHILD;
    }
    return rc;
}

/* Waits until every child's threads stand at the start line. */
static int wait_ready(struct engine *e, char *err, size_t errlen) {
    while (__atomic_load_n(&e->sync->ready, __ATOMIC_ACQUIRE) < (int)e->o->procs) {
        nap();
        for (unsigned p = 0; p < e->o->procs; p++)
            if (check_child(e, p, WNOHANG, err, errlen) < 0 || !e->pids[p]) {
                if (!*err)
                    snprintf(err, errlen, "process %u of %u ended before the start", p,
                             e->o->procs);
                return -ECHILD;
            }
    }
    return 0;
}

int procs_start(struct engine *e, char *err, size_t errlen) {
    unsigned n = e->o->procs;
    e->pids = calloc(n, sizeof *e->pids);
    e->sync = procs_shm_alloc(sizeof *e->sync);
    if (!e->pids || !e->sync) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pid_t parent = getpid();
    fflush(stdout); /* a child must not write the parent's buffered output again */
    fflush(stderr);
    for (unsigned p = 0; p < n; p++) {
        pid_t pid = fork();
        if (pid == 0)
            child_run(e, p, parent);
        if (pid < 0) {
            snprintf(err, errlen, "fork for process %u of %u: %s", p, n, strerror(errno));
            return -errno;
        }
        e->pids[p] = pid;
    }
    int rc = wait_ready(e, err, errlen);
    if (rc < 0)
        return rc;
    engine_pick_start(e);
    e->sync->t0_ns = e->t0_ns; /* CLOCK_MONOTONIC is the same in every process */
    __atomic_store_n(&e->sync->go, 1, __ATOMIC_RELEASE);
    return 0;
}
