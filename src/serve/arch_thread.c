/* thread: a detached thread per connection, with a --stack-size stack. Shutdown waits until
 * the count of live connection threads reaches zero (bounded by the drain alarm). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/arch.h"

#define DEFAULT_STACK (256 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int live;

static struct srv *the_srv; /* written before the first thread starts, read-only after */

/* The fd travels in the argument pointer itself: no shared slot a later connection with the
 * same fd number could overwrite. */
static void *conn_thread(void *arg) {
    srv_serve_blocking(the_srv, (int)(intptr_t)arg);
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
    the_srv = srv;
    while ((fd = srv_accept(srv)) >= 0) {
        pthread_mutex_lock(&lock);
        live++;
        pthread_mutex_unlock(&lock);
        pthread_t t;
        int rc = pthread_create(&t, &attr, conn_thread, (void *)(intptr_t)fd);
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
