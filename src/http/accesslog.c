/* Access log (see accesslog.h). Each thread fills its own 64 KiB buffer and writes it with one
 * write() on an O_APPEND descriptor when full, when a line finds it older than a second, and
 * at shutdown; whole lines per write, so threads and processes never interleave mid-line. */
#include "http/accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUF 65536
#define LINE_MAX_BYTES 1024
#define PEER_WORDS 6            /* 48 bytes: INET6_ADDRSTRLEN (46), rounded up to words */
#define PEER_BYTES (PEER_WORDS * 8)
#define PEER_MAX_FDS (1 << 20)  /* table entries at most; higher fds use getpeername() */

struct logbuf {
    char data[LOG_BUF];
    size_t len;
    time_t first_s; /* when the oldest buffered line was written */
    time_t date_s;  /* the second date holds */
    char date[32];  /* "26/Nov/2026:09:46:02 +0000" for date_s; "" before the first line */
    struct logbuf *next;
};

static int log_fd = -1;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct logbuf *all_bufs;
static __thread struct logbuf *my_buf;

/* The client address of each connection, by fd, formatted once when the connection starts
 * instead of a getpeername() and inet_ntop() per request; "" means unknown (ask getpeername).
 * No lock. An entry is written by the thread about to serve the connection, before its first
 * request (conn_set_fd), and read only while that connection is served, by that thread or by
 * one it hands the connection to through a mutex (epoll+pool's workers). The fd number cannot
 * name another connection until close(fd), and every architecture closes only after the
 * connection's last request is logged; accept() hands the number out again only after that
 * close returned, so the next connection's write never overlaps a read for the previous one.
 * That ordering is the kernel's, which neither the C memory model nor ThreadSanitizer sees, so
 * entries are written and read as relaxed atomic words: race-free in their terms, plain moves
 * on x86-64 and arm64. Fork and --procs children write their own copy-on-write copies. A
 * connection served without conn_set_fd has fd -1 and logs "-", as before. The table is
 * calloc()ed, so only the pages of fds in use become resident: 48 bytes per connection, and
 * none in struct conn. */
static uint64_t (*peers)[PEER_WORDS];
static size_t npeers;

/* Sized from the soft limit serve has already raised: every fd the process can get. */
static void alloc_peers(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    size_t n = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > PEER_MAX_FDS ? PEER_MAX_FDS
                                                                          : (size_t)rl.rlim_cur;
    peers = calloc(n, sizeof *peers);
    npeers = peers ? n : 0; /* out of memory: every request asks getpeername() */
}

int accesslog_open(const char *path) {
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return -errno;
    alloc_peers();
    return 0;
}

int accesslog_enabled(void) {
    return log_fd >= 0;
}

static void flush(struct logbuf *b) {
    if (b->len && write(log_fd, b->data, b->len) < 0) {
        /* a full disk must not stop serving; the lines are dropped */
    }
    b->len = 0;
}

static struct logbuf *thread_buf(void) {
    if (my_buf)
        return my_buf;
    struct logbuf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_lock(&list_lock);
    b->next = all_bufs;
    all_bufs = b;
    pthread_mutex_unlock(&list_lock);
    return my_buf = b;
}

/* "127.0.0.1" for the peer of fd, or "-" (and -1) when it has none. */
static int peer_name(int fd, char *out, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    strcpy(out, "-");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    const void *a;
    if (ss.ss_family == AF_INET)
        a = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (ss.ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    else
        return 0; /* a Unix socket: "-" is its answer */
    if (inet_ntop(ss.ss_family, a, out, (socklen_t)cap))
        return 0;
    strcpy(out, "-");
    return -1;
}

void accesslog_set_peer(int fd) {
    if (log_fd < 0 || fd < 0 || (size_t)fd >= npeers)
        return;
    uint64_t w[PEER_WORDS] = {0};
    char name[PEER_BYTES];
    if (peer_name(fd, name, sizeof name) == 0) /* else "": not connected yet or already reset */
        memcpy(w, name, strlen(name) + 1);     /* ask again per request */
    for (int i = 0; i < PEER_WORDS; i++)
        __atomic_store_n(&peers[fd][i], w[i], __ATOMIC_RELAXED);
}

/* The address recorded for fd, or a fresh lookup, in out (PEER_BYTES). */
static void peer_of(int fd, char *out) {
    if (fd >= 0 && (size_t)fd < npeers) {
        uint64_t w[PEER_WORDS];
        for (int i = 0; i < PEER_WORDS; i++)
            w[i] = __atomic_load_n(&peers[fd][i], __ATOMIC_RELAXED);
        memcpy(out, w, PEER_BYTES);
        if (out[0])
            return;
    }
    peer_name(fd, out, PEER_BYTES);
}

/* The date for now, formatted again only when the second changes (per thread). */
static const char *date_of(struct logbuf *b, time_t now) {
    if (b->date[0] && b->date_s == now)
        return b->date;
    struct tm tm;
    gmtime_r(&now, &tm);
    if (strftime(b->date, sizeof b->date, "%d/%b/%Y:%H:%M:%S +0000", &tm) == 0)
        b->date[0] = '\0';
    b->date_s = now;
    return b->date;
}

void accesslog_write(int fd, int method, const char *url, size_t url_len, int http_minor,
                     int status, uint64_t body_bytes, uint64_t queue_ns, uint64_t handler_ns) {
    struct logbuf *b = log_fd >= 0 ? thread_buf() : NULL;
    if (!b)
        return;
    time_t now = time(NULL);
    if (b->len + LINE_MAX_BYTES > LOG_BUF || (b->len && now - b->first_s >= 1))
        flush(b);
    if (b->len == 0)
        b->first_s = now;
    char host[PEER_BYTES];
    peer_of(fd, host);
    int n = snprintf(b->data + b->len, LINE_MAX_BYTES,
                     "%s - - [%s] \"%s %.*s HTTP/1.%d\" %d %llu queue_us=%.1f handler_us=%.1f\n",
                     host, date_of(b, now), http_method_str((enum http_method)method),
                     (int)(url_len > 512 ? 512 : url_len), url, http_minor, status,
                     (unsigned long long)body_bytes, (double)queue_ns / 1e3,
                     (double)handler_ns / 1e3);
    if (n > 0)
        b->len += (size_t)n < LINE_MAX_BYTES ? (size_t)n : LINE_MAX_BYTES - 1;
}

void accesslog_flush_all(void) {
    if (log_fd < 0)
        return;
    pthread_mutex_lock(&list_lock);
    for (struct logbuf *b = all_bufs; b; b = b->next)
        flush(b);
    pthread_mutex_unlock(&list_lock);
}
