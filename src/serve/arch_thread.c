/* thread: a detached thread per connection, with a --stack-size stack. Shutdown waits until
 * the count of live connection threads reaches zero (bounded by the drain alarm). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/arch.h"

#define DEFAULT_STACK (256 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int live;

struct job {
    struct srv *srv;
    int fd;
};

static struct job *calloc_jobs(const struct srv *srv) {
    return calloc((size_t)srv->nofile, sizeof(struct job));
}

static void *conn_thread(void *arg) {
    struct job *j = arg;
    srv_serve_blocking(j->srv, j->fd);
    pthread_mutex_lock(&lock);
    if (--live == 0)
        pthread_cond_signal(&all_done);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int run(struct srv *srv) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    size_t stack = srv->opts->stack_bytes ? srv->opts->stack_bytes : DEFAULT_STACK;
    pthread_attr_setstacksize(&attr, stack);
    int fd;
    /* One job slot per possible fd: the fd is unique while its connection lives. */
    static struct job *jobs;
    if (!jobs && !(jobs = calloc_jobs(srv)))
        return -ENOMEM;
    while ((fd = srv_accept(srv)) >= 0) {
        jobs[fd] = (struct job){srv, fd};
        pthread_mutex_lock(&lock);
        live++;
        pthread_mutex_unlock(&lock);
        pthread_t t;
        int rc = pthread_create(&t, &attr, conn_thread, &jobs[fd]);
        if (rc != 0) {
            srv_log_limited(srv, 2, "pthread_create: %s (connection dropped)", strerror(rc));
            close(fd);
            pthread_mutex_lock(&lock);
            live--;
            pthread_mutex_unlock(&lock);
        }
    }
    pthread_mutex_lock(&lock);
    while (live > 0)
        pthread_cond_wait(&all_done, &lock);
    pthread_mutex_unlock(&lock);
    return 0;
}

const struct arch arch_thread = {
    .name = "thread",
    .summary = "a thread per connection; simple, but a stack per client and kernel scheduling",
    .run = run,
};
