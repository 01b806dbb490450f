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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUF 65536
#define LINE_MAX_BYTES 1024

struct logbuf {
    char data[LOG_BUF];
    size_t len;
    time_t first_s; /* when the oldest buffered line was written */
    struct logbuf *next;
};

static int log_fd = -1;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct logbuf *all_bufs;
static __thread struct logbuf *my_buf;

int accesslog_open(const char *path) {
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return log_fd < 0 ? -errno : 0;
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

/* "127.0.0.1" for the peer of fd, or "-". */
static void peer_name(int fd, char *out, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    strcpy(out, "-");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
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
    char host[64], date[40];
    struct tm tm;
    peer_name(fd, host, sizeof host);
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    int n = snprintf(b->data + b->len, LINE_MAX_BYTES,
                     "%s - - [%s] \"%s %.*s HTTP/1.%d\" %d %llu queue_us=%.1f handler_us=%.1f\n",
                     host, date, http_method_str((enum http_method)method),
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
