/* pool: --threads workers created at start (the course's object pool for threads). The
 * acceptor puts connections in a bounded ring (--queue); idle workers sleep on a condition
 * variable and take them under the lock. A full queue either stops the acceptor
 * (--overflow block: back-pressure into the TCP backlog) or is answered 503 (reject). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/metrics.h"
#include "net/sock.h"
#include "serve/arch.h"

#define DEFAULT_WORKERS 16

struct pool {
    struct srv *srv;
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    int *ring;
    int cap, head, len;
    bool is_closed; /* the acceptor stopped: workers drain the ring, then exit */
};

static void *worker(void *arg) {
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->len == 0 && !p->is_closed)
            pthread_cond_wait(&p->not_empty, &p->lock);
        if (p->len == 0) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        int fd = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        metrics_set_queue_len(p->len);
        pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->lock);
        srv_serve_blocking(p->srv, fd);
    }
}

static void reject(int fd) {
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: srvlab\r\n"
                               "Retry-After: 1\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 20\r\nConnection: close\r\n\r\n"
                               "503 queue is full\r\n\r\n";
    sock_send_all(fd, busy, sizeof busy - 1);
    sock_lingering_close(fd, 50);
}

/* Queues fd; false when the queue is full and --overflow reject. */
static bool enqueue(struct pool *p, int fd) {
    pthread_mutex_lock(&p->lock);
    while (p->len == p->cap && p->srv->opts->overflow == OVERFLOW_BLOCK)
        pthread_cond_wait(&p->not_full, &p->lock);
    bool has_room = p->len < p->cap;
    if (has_room) {
        p->ring[(p->head + p->len) % p->cap] = fd;
        p->len++;
        metrics_set_queue_len(p->len);
        pthread_cond_signal(&p->not_empty);
    }
    pthread_mutex_unlock(&p->lock);
    return has_room;
}

static int run(struct srv *srv) {
    int nworkers = srv->opts->threads ? srv->opts->threads : DEFAULT_WORKERS;
    struct pool p = {.srv = srv, .cap = srv->opts->queue};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.not_empty, NULL);
    pthread_cond_init(&p.not_full, NULL);
    p.ring = calloc((size_t)p.cap, sizeof(int));
    pthread_t *tids = calloc((size_t)nworkers, sizeof(pthread_t));
    if (!p.ring || !tids)
        return -ENOMEM;
    for (int i = 0; i < nworkers; i++) {
        int rc = pthread_create(&tids[i], NULL, worker, &p);
        if (rc != 0) {
            snprintf(srv->err, sizeof srv->err, "starting worker %d: %s", i, strerror(rc));
            return -rc;
        }
    }
    int fd;
    while ((fd = srv_accept(srv)) >= 0)
        if (!enqueue(&p, fd)) {
            srv_log_limited(srv, 3, "queue full (%d): answering 503", p.cap);
            metrics_conn(METRICS_CONN_REFUSED);
            reject(fd);
        }
    pthread_mutex_lock(&p.lock);
    p.is_closed = true;
    pthread_cond_broadcast(&p.not_empty);
    pthread_mutex_unlock(&p.lock);
    for (int i = 0; i < nworkers; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    free(p.ring);
    return 0;
}

const struct arch arch_pool = {
    .name = "pool",
    .summary = "fixed worker threads take connections from a bounded queue (block or 503)",
    .run = run,
};
