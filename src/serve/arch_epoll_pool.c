/* epoll+pool: one event loop does all the socket I/O; requests that burn CPU (/work with
 * cpu_us) run on a pool of --threads workers, so the loop keeps serving everyone else (the
 * Apache event MPM / libuv thread-pool model). A handed-off connection belongs to its worker
 * for one conn_process call; the loop does not touch it meanwhile. The worker queues the result
 * and wakes the loop through an eventfd; the loop then writes the response.
 *
 *     loop: recv -> cheap request? conn_process here : queue to workers --> worker:
 *       ^                                                           conn_process (spins)
 *       +-------- eventfd <-- completion queue <--------------------------+ */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "serve/arch.h"
#include "serve/evconn.h"

struct done {
    struct evconn *e;
    enum conn_status st;
};

struct pool {
    struct evconn_loop el; /* first: the offload hook gets &el */
    pthread_mutex_t lock;
    pthread_cond_t has_job;
    struct evconn **jobs; /* ring */
    size_t jobs_head, jobs_len, jobs_cap;
    struct done *done; /* finished, waiting for the loop */
    size_t done_len, done_cap;
    struct done *spare; /* the loop's batch array, reused */
    size_t spare_cap;
    bool is_closing;
    int wake_fd;
    struct ev_io wake_io;
};

/* ---- worker side -------------------------------------------------------------------------- */

static struct evconn *take_job(struct pool *p) {
    pthread_mutex_lock(&p->lock);
    while (p->jobs_len == 0 && !p->is_closing)
        pthread_cond_wait(&p->has_job, &p->lock);
    struct evconn *e = NULL;
    if (p->jobs_len > 0) {
        e = p->jobs[p->jobs_head];
        p->jobs_head = (p->jobs_head + 1) % p->jobs_cap;
        p->jobs_len--;
    }
    pthread_mutex_unlock(&p->lock);
    return e;
}

static int grow_array(void **arr, size_t *cap, size_t elem) {
    size_t ncap = *cap ? *cap * 2 : 64;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return -ENOMEM;
    *arr = n;
    *cap = ncap;
    return 0;
}

/* Doubles the job ring, unwrapping it so the oldest job is at 0. Called with the lock held. */
static int grow_jobs(struct pool *p) {
    size_t ncap = p->jobs_cap ? p->jobs_cap * 2 : 64;
    struct evconn **n = malloc(ncap * sizeof *n);
    if (!n)
        return -ENOMEM;
    for (size_t i = 0; i < p->jobs_len; i++)
        n[i] = p->jobs[(p->jobs_head + i) % p->jobs_cap];
    free(p->jobs);
    p->jobs = n;
    p->jobs_cap = ncap;
    p->jobs_head = 0;
    return 0;
}

static void finish_job(struct pool *p, struct evconn *e, enum conn_status st) {
    pthread_mutex_lock(&p->lock);
    while (p->done_len == p->done_cap && grow_array((void **)&p->done, &p->done_cap,
                                                    sizeof *p->done) < 0) {
        pthread_mutex_unlock(&p->lock); /* out of memory: let the loop drain the queue */
        usleep(1000);
        pthread_mutex_lock(&p->lock);
    }
    bool was_empty = p->done_len == 0;
    p->done[p->done_len++] = (struct done){e, st};
    pthread_mutex_unlock(&p->lock);
    uint64_t one = 1;
    if (was_empty && write(p->wake_fd, &one, sizeof one) < 0) {
        /* cannot overflow: the loop reads it before the counter gets anywhere near */
    }
}

static void *worker_main(void *arg) {
    struct pool *p = arg;
    struct evconn *e;
    while ((e = take_job(p)) != NULL)
        finish_job(p, e, conn_process(&e->c, 0));
    return NULL;
}

/* ---- loop side ---------------------------------------------------------------------------- */

/* Queues conns whose new bytes ask for CPU work. The check is a cheap scan of the bytes not
 * yet answered; a false positive only costs a hand-off. */
static bool offload(struct evconn_loop *el, struct evconn *e) {
    struct pool *p = (struct pool *)el;
    struct conn *c = &e->c;
    if (c->in_parsed >= c->in_len)
        return false;
    if (!memmem(c->in + c->req_start, c->in_len - c->req_start, "cpu_us=", 7))
        return false;
    /* Take the output buffer here, so buffers keep cycling through the loop's pool. */
    if (!conn_out_reserve(c, 1))
        return false;
    pthread_mutex_lock(&p->lock);
    if (p->jobs_len == p->jobs_cap && grow_jobs(p) < 0) {
        pthread_mutex_unlock(&p->lock);
        return false; /* no memory for the queue: run it on the loop */
    }
    evconn_set_busy(e); /* before a worker can have it */
    p->jobs[(p->jobs_head + p->jobs_len) % p->jobs_cap] = e;
    p->jobs_len++;
    pthread_cond_signal(&p->has_job);
    pthread_mutex_unlock(&p->lock);
    return true;
}

/* Takes the finished jobs under the lock (swapping arrays, no copy) and resumes them. */
static void on_wake(struct evloop *lp, struct ev_io *io, uint32_t events) {
    struct pool *p = (struct pool *)lp;
    uint64_t n;
    if (read(p->wake_fd, &n, sizeof n) < 0) {
        /* EAGAIN: an earlier wake-up took the count; the queue is checked anyway */
    }
    pthread_mutex_lock(&p->lock);
    struct done *batch = p->done;
    size_t len = p->done_len, cap = p->done_cap;
    p->done = p->spare;
    p->done_cap = p->spare_cap;
    p->done_len = 0;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < len; i++)
        evconn_resume(&p->el, batch[i].e, batch[i].st);
    p->spare = batch; /* only the loop thread touches spare */
    p->spare_cap = cap;
}

static void stop_workers(struct pool *p, pthread_t *tids, int n) {
    pthread_mutex_lock(&p->lock);
    p->is_closing = true;
    pthread_cond_broadcast(&p->has_job);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}

static int start_workers(struct srv *srv, struct pool *p, pthread_t *tids, int n, int *started) {
    for (*started = 0; *started < n; (*started)++) {
        int rc = pthread_create(&tids[*started], NULL, worker_main, p);
        if (rc != 0) {
            snprintf(srv->err, sizeof srv->err, "starting worker %d: %s", *started, strerror(rc));
            return -rc;
        }
    }
    return 0;
}

static int run(struct srv *srv) {
    int n = srv->opts->threads ? srv->opts->threads : srv->ncpu;
    struct pool *p = calloc(1, sizeof *p);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    int rc = -ENOMEM, started = 0;
    if (!p || !tids)
        goto out;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->has_job, NULL);
    p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wake_fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = evconn_loop_init(&p->el, srv, srv->listen_fd, false)) < 0)
        goto out_fd;
    p->el.offload = offload;
    if ((rc = evloop_add(&p->el.lp, &p->wake_io, p->wake_fd, EPOLLIN, on_wake)) == 0 &&
        (rc = start_workers(srv, p, tids, n, &started)) == 0)
        rc = evconn_loop_run(&p->el);
    stop_workers(p, tids, started);
    p->el.listen_fd = -1; /* closed by the drain, or serve.c's to close */
    evconn_loop_free(&p->el);
out_fd:
    close(p->wake_fd);
out:
    if (p) {
        free(p->jobs);
        free(p->done);
        free(p->spare);
    }
    free(p);
    free(tids);
    return rc;
}

const struct arch arch_epoll_pool = {
    .name = "epoll+pool",
    .summary = "an epoll loop for I/O, cpu_us work on --threads workers (Apache event, libuv)",
    .run = run,
};
