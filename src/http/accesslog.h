/* --access-log: one line per request in the common log format plus the two server-side times,
 * buffered per thread so logging costs a memcpy per request and a write() per 64 KiB. */
#ifndef SRVLAB_HTTP_ACCESSLOG_H
#define SRVLAB_HTTP_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

/* Opens (appends to) path. Call once before serving, after RLIMIT_NOFILE is raised: it sizes
 * the table of client addresses by fd from the soft limit. 0 or -errno. */
int accesslog_open(const char *path);

/* Records the client address of fd, a connection just accepted, for accesslog_write(). The
 * thread that will serve fd calls it (through conn_set_fd) before the connection's first
 * request, once per connection. No-op when no log is open. */
void accesslog_set_peer(int fd);

/* True when a log is open. */
int accesslog_enabled(void);

/* Logs one request: client fd (-1 = unknown), request line pieces, status, body bytes,
 * queueing delay and handler time in nanoseconds. The address is the one accesslog_set_peer()
 * recorded for fd, else getpeername()'s. Any thread; never blocks on other threads. */
void accesslog_write(int fd, int method, const char *url, size_t url_len, int http_minor,
                     int status, uint64_t body_bytes, uint64_t queue_ns, uint64_t handler_ns);

/* Writes out every thread's buffered lines (at shutdown). */
void accesslog_flush_all(void);

#endif
