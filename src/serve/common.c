/* What every architecture shares: accepting with shutdown awareness and EMFILE back-off,
 * rate-limited logging, and the blocking connection loop used by iterative, fork, thread and
 * pool (so those four differ only in how a connection gets a thread of control). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http/conn.h"
#include "http/metrics.h"
#include "net/sock.h"
#include "net/units.h"
#include "serve/serve.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void vlog(const struct srv *srv, const char *fmt, va_list ap) {
    if (srv->opts->is_quiet)
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "srvlab serve: %s\n", line);
    pthread_mutex_unlock(&log_lock);
}

void srv_log(const struct srv *srv, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(srv, fmt, ap);
    va_end(ap);
}

#define LOG_KEYS 16
static time_t last_logged[LOG_KEYS];

void srv_log_limited(const struct srv *srv, int key, const char *fmt, ...) {
    time_t now = time(NULL);
    key &= LOG_KEYS - 1;
    if (__atomic_exchange_n(&last_logged[key], now, __ATOMIC_RELAXED) == now)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(srv, fmt, ap);
    va_end(ap);
}

int srv_ncpu(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int srv_print_stats(struct metrics_interval *iv) {
    int rc = metrics_interval(iv);
    if (rc < 0)
        return rc;
    char q[32], sv[32];
    fprintf(stderr, "srvlab serve: stats: %.0f req/s, p99 queueing %s, p99 service %s, %lld open\n",
            iv->rate_per_s, units_fmt_duration(q, sizeof q, (double)iv->queue_p99_ns / 1e3),
            units_fmt_duration(sv, sizeof sv, (double)iv->service_p99_ns / 1e3),
            (long long)iv->open);
    return 0;
}

int srv_listen_another(struct srv *srv) {
    int fd = sock_listen_tcp(srv->opts->bind, srv->port, srv->opts->backlog, true);
    /* After --user, the kernel refuses to join a SO_REUSEPORT group that root's socket
     * started (the owners differ): share the first listener instead. */
    if (fd == -EADDRINUSE && srv->opts->user) {
        srv_log_limited(srv, 5, "--user: one shared listener (SO_REUSEPORT needs one owner)");
        fd = fcntl(srv->listen_fd, F_DUPFD_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
    }
    return fd;
}

/* Answers 503 on a connection we will not serve and closes it, without blocking: the
 * response is small enough for an empty socket buffer. */
static void refuse(int fd) {
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: srvlab\r\n"
                               "Retry-After: 1\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 20\r\nConnection: close\r\n\r\n"
                               "503 server is full\r\n";
    if (send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* the client is gone already; nothing to tell it */
    }
    close(fd);
    metrics_conn(METRICS_CONN_REFUSED);
}

/* Out of file descriptors: a spare one, kept open for this moment, is closed so that the
 * pending connection can be accepted and told 503 instead of waiting forever (the EMFILE
 * answer from libev and nginx's discussion). Then the spare is taken back. */
static int spare_fd = -1;

static void refuse_with_spare(int listen_fd) {
    if (spare_fd < 0)
        return;
    close(spare_fd);
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        refuse(fd);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void srv_reserve_spare_fd(void) {
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int srv_adopt(struct srv *srv, int fd) {
    uint64_t max = srv->opts->max_conns;
    if (max && (uint64_t)metrics_open_conns() >= max) {
        srv_log_limited(srv, 4, "--max-conns %llu reached: answering 503", (unsigned long long)max);
        refuse(fd);
        return -EBUSY;
    }
    sock_set_nodelay(fd);
    metrics_conn(METRICS_CONN_ACCEPTED); /* conn_free() counts the close */
    return 0;
}

int srv_accept_nb(struct srv *srv, int listen_fd, bool is_nonblock) {
    int flags = SOCK_CLOEXEC | (is_nonblock ? SOCK_NONBLOCK : 0);
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, flags);
        if (fd >= 0 && srv_adopt(srv, fd) < 0)
            continue; /* refused; keep draining: edge-triggered callers expect EAGAIN */
        if (fd >= 0)
            return fd;
        int err = errno;
        if (err == EINTR || err == ECONNABORTED)
            continue;
        if (err == EMFILE || err == ENFILE) {
            srv_log_limited(srv, 0, "accept: %s: answering 503", strerror(err));
            refuse_with_spare(listen_fd);
        } else if (err == ENOBUFS || err == ENOMEM) {
            srv_log_limited(srv, 0, "accept: %s", strerror(err));
        }
        return -err;
    }
}

int srv_accept(struct srv *srv) {
    struct pollfd p[2] = {{.fd = srv->listen_fd, .events = POLLIN},
                          {.fd = srv->stop_fd, .events = POLLIN}};
    for (;;) {
        if (srv_stopping()) {
            /* Connections the kernel already completed carry requests in flight: serve
             * them (they get Connection: close), then stop. */
            int fd = srv_accept_nb(srv, srv->listen_fd, false);
            return fd >= 0 ? fd : -ESHUTDOWN;
        }
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return -errno;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = srv_accept_nb(srv, srv->listen_fd, false);
        if (fd >= 0)
            return fd;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM)
            usleep(10000); /* neither spin nor stall: try again shortly */
    }
}

/* ---- the blocking connection loop --------------------------------------------------------- */

static int flush(int fd, struct conn *c) {
    size_t len;
    const char *p = conn_out(c, &len);
    if (p) {
        int rc = sock_send_all(fd, p, len);
        if (rc < 0)
            return rc;
        conn_out_sent(c, len);
    }
    int file_fd;
    off_t off;
    if (conn_file(c, &file_fd, &off, &len)) {
        off_t start = off;
        int rc = sock_sendfile_all(fd, file_fd, &off, len);
        conn_file_sent(c, (size_t)(off - start));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void sleep_until_us(uint64_t wake_us) {
    struct timespec ts = {.tv_sec = (time_t)(wake_us / 1000000),
                          .tv_nsec = (long)(wake_us % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Waits until fd is readable. Returns 1 readable, 0 close now (shutdown with no request in
 * progress), -ETIMEDOUT when the connection's deadline passed, -errno on error. */
static int wait_readable(struct srv *srv, int fd, struct conn *c) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = srv->stop_fd, .events = POLLIN}};
    for (;;) {
        bool is_idle = conn_is_idle(c);
        if (is_idle && srv_stopping())
            return 0;
        uint64_t deadline = conn_deadline_us(c), now = conn_now_us();
        if (deadline && now >= deadline)
            return -ETIMEDOUT;
        int timeout_ms = deadline ? (int)((deadline - now + 999) / 1000) : -1;
        int n = poll(p, is_idle ? 2 : 1, timeout_ms);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && p[0].revents)
            return 1;
        /* stop_fd is readable but srv_stopping() is false: a fork child, whose copy of the
         * signal state did not change. Close as the parent would (and do not spin). */
        if (n > 0 && (p[1].revents & POLLIN)) {
            __atomic_store_n(&http_draining, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
}

/* A blocking send gives up after --send-timeout without progress (EAGAIN). */
static void set_send_timeout(int fd) {
    struct timeval tv = {.tv_sec = (time_t)(http_cfg.send_timeout_us / 1000000),
                         .tv_usec = (suseconds_t)(http_cfg.send_timeout_us % 1000000)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void srv_serve_blocking(struct srv *srv, int fd) {
    struct conn c;
    conn_init(&c);
    conn_set_fd(&c, fd);
    set_send_timeout(fd);
    bool has_ts = metrics_enabled();
    if (has_ts)
        sock_enable_rx_timestamps(fd);
    for (;;) {
        enum conn_status st = conn_process(&c, 0);
        if (flush(fd, &c) < 0)
            break;
        if (st == CONN_CLOSE) {
            conn_free(&c);
            sock_lingering_close(fd, 200);
            return;
        }
        if (st == CONN_WAIT) {
            sleep_until_us(c.wake_us);
            continue;
        }
        if (st == CONN_WRITE)
            continue;
        size_t space;
        char *buf = conn_rbuf(&c, &space);
        if (!buf)
            break;
        uint64_t arrival_ns = 0;
        ssize_t n = has_ts ? sock_recv_ts(fd, buf, space, MSG_DONTWAIT, &arrival_ns)
                           : recv(fd, buf, space, MSG_DONTWAIT);
        if (n < 0 && !has_ts)
            n = -errno;
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            int rc = wait_readable(srv, fd, &c);
            if (rc == -ETIMEDOUT) {
                conn_timeout(&c);
                if (flush(fd, &c) == 0)
                    sock_lingering_close(fd, 200);
                else
                    close(fd);
                conn_free(&c);
                return;
            }
            if (rc <= 0)
                break;
            continue;
        }
        if (n == -EINTR)
            continue;
        if (n <= 0)
            break;
        if (arrival_ns) {
            metrics_set_arrival_source(METRICS_ARRIVAL_KERNEL);
            conn_rdone_ts(&c, (size_t)n, arrival_ns);
        } else {
            conn_rdone(&c, (size_t)n);
        }
    }
    conn_free(&c);
    close(fd);
}
