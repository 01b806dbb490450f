/* Socket helpers, one job each: listen, accept, blocking send loops, options. They handle
 * EINTR, EAGAIN and partial writes so architectures do not. Return 0 / fd / bytes, or -errno. */
#ifndef SRVLAB_SOCK_H
#define SRVLAB_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A non-blocking TCP listening socket on host:port ("127.0.0.1", "::1", "0.0.0.0", "::").
 * port 0 picks a free port (see sock_local_port). With reuseport, SO_REUSEPORT is set so more
 * sockets can listen on the same port. Returns the fd or -errno. */
int sock_listen_tcp(const char *host, int port, int backlog, bool reuseport);

/* The port a socket is bound to, or -errno. */
int sock_local_port(int fd);

/* Sets or clears O_NONBLOCK. */
int sock_set_nonblock(int fd, bool on);

/* TCP_NODELAY: responses leave at once instead of waiting on Nagle's algorithm. */
void sock_set_nodelay(int fd);

/* Sends all len bytes on a blocking socket (MSG_NOSIGNAL). Returns 0 or -errno. */
int sock_send_all(int fd, const void *buf, size_t len);

/* sendfile()s len bytes from file_fd at *off on a blocking socket. Returns 0 or -errno. */
int sock_sendfile_all(int fd, int file_fd, off_t *off, size_t len);

/* Closes after an error response without losing it to a RST: shuts down our side, then reads
 * and drops what the client still sends for at most timeout_ms. */
void sock_lingering_close(int fd, int timeout_ms);

/* Asks the kernel to timestamp received data (SO_TIMESTAMPNS), read back by sock_recv_ts(). */
void sock_enable_rx_timestamps(int fd);

/* recv() that also returns the kernel's receive time of the first byte returned, converted to
 * CLOCK_MONOTONIC nanoseconds in *arrival_ns (0 when the kernel gave none). Returns bytes
 * read, 0 at EOF, or -errno (EAGAIN included). */
ssize_t sock_recv_ts(int fd, void *buf, size_t len, int flags, uint64_t *arrival_ns);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit. */
long sock_raise_nofile(void);

#endif
