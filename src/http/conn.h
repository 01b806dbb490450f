/* The HTTP/1.1 connection core shared by every architecture: bytes in, response bytes out.
 * It never touches a socket. An architecture reads into conn_rbuf(), calls conn_process(),
 * writes what conn_out()/conn_file() hold, and waits when asked to (CONN_WAIT). */
#ifndef SRVLAB_HTTP_CONN_H
#define SRVLAB_HTTP_CONN_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/accesslog.h"

/* Process-wide HTTP settings, set once by `srvlab serve` before any connection exists. */
struct http_cfg {
    int root_fd;               /* directory served under /static/, or -1 (then 404) */
    uint64_t max_body_bytes;   /* larger request bodies get 413 */
    uint32_t max_header_bytes; /* request line + headers; larger gets 431 */
    uint32_t max_headers;      /* header count limit; more gets 431 */
    bool has_dotfiles;         /* serve names starting with '.' */
    uint64_t stall_us;         /* --stall: pause processing for stall_us ... */
    uint64_t stall_period_us;  /* ... every stall_period_us (0 = off) */
    uint64_t start_us;         /* monotonic time the server started (stall phase origin) */
    uint64_t header_timeout_us; /* first byte of a request to the end of its head */
    uint64_t body_timeout_us;   /* between two reads of a request body */
    uint64_t idle_timeout_us;   /* keep-alive: between requests */
    uint64_t send_timeout_us;   /* between two writes of a response (client not reading) */
};
extern struct http_cfg http_cfg;

/* Set (from a signal handler) when the server drains: responses then carry Connection: close. */
extern volatile int http_draining;

/* What the architecture must do next. Output (conn_out, conn_file) is always flushed first. */
enum conn_status {
    CONN_NEED_READ, /* read more bytes, then call conn_process again */
    CONN_WRITE,     /* output is full or a file is pending: send it all, then conn_process */
    CONN_WAIT,      /* sleep until conn.wake_us (CLOCK_MONOTONIC us), then conn_process */
    CONN_CLOSE,     /* send what is pending, then close the connection */
};

struct conn {
    http_parser parser;
    char *in;            /* input buffer (from the buffer pool while bytes are in flight) */
    uint32_t in_cap;
    uint32_t in_len;     /* bytes held */
    uint32_t in_parsed;  /* bytes fed to the parser */
    uint32_t req_start;  /* first byte of the request being parsed */
    char *out;           /* output buffer */
    uint32_t out_cap;
    uint32_t out_len;
    uint32_t out_sent;
    int file_fd;         /* static file still to send after out, or -1 */
    off_t file_off;
    off_t file_end;
    uint64_t wake_us;    /* for CONN_WAIT */
    /* The request being parsed; offsets are relative to req_start. */
    uint32_t url_off, url_len;
    uint32_t field_off, field_len;
    uint32_t body_off, body_len;
    uint16_t nheaders;
    uint8_t state;       /* enum in conn.c */
    uint8_t flags;       /* CONN_F_* in conn.c */
    uint16_t err_status; /* response status decided while parsing (400, 413, 431) */
    uint8_t header_kind; /* which header the current value belongs to */
    uint8_t waiting;     /* a /work wait is in progress for the parsed request */
    uint32_t work_io_us; /* the wait's length, kept to print in the response */
    uint32_t work_cpu_us;
    uint16_t n_unsent;   /* answered requests whose responses are not fully sent yet */
    int32_t fd;          /* the socket, when the architecture says (conn_set_fd), else -1 */
    uint64_t t_arrival_ns; /* metrics: first bytes of the current request (CLOCK_MONOTONIC) */
    uint64_t t_unsent_ns;  /* metrics: handler start of the oldest response not yet sent */
    uint64_t t_in_us;      /* timeouts: idle since / request head began / last body read */
    uint64_t t_out_us;     /* timeouts: output pending since / last write progress */
};

/* Prepares c for a new connection. Allocates nothing. */
void conn_init(struct conn *c);

/* Tells the core which socket c is, for the access log's client address: call it once per
 * connection, right after accept, from the thread that serves the connection or hands it to
 * its server through a lock, before the first conn_process(). With --access-log it records
 * the peer address by fd (accesslog_set_peer), so requests do not ask the kernel. Optional:
 * without it the log shows "-". */
static inline void conn_set_fd(struct conn *c, int fd) {
    c->fd = fd;
    accesslog_set_peer(fd);
}

/* Releases buffers and any open file, and counts the connection as closed (once; the accept
 * was counted by srv_accept_nb()). c may be conn_init()ed again. */
void conn_free(struct conn *c);

/* Free space to read into: *space bytes at the returned pointer (never 0 unless NULL is returned,
 * which means the request is too large for memory; conn_process then answers 413/431). */
char *conn_rbuf(struct conn *c, size_t *space);

/* Records that n bytes were read into the space conn_rbuf() returned. */
void conn_rdone(struct conn *c, size_t n);

/* Like conn_rdone, with the kernel's receive time of those bytes (CLOCK_MONOTONIC ns, from
 * sock_recv_ts()), used as the request's arrival time for the queueing-delay metric. */
void conn_rdone_ts(struct conn *c, size_t n, uint64_t arrival_ns);

/* Copies len bytes in (for architectures that read into buffers of their own). 0 or -ENOMEM. */
int conn_feed(struct conn *c, const char *data, size_t len);

/* Parses and answers as many buffered requests as possible, in order. now_us is
 * CLOCK_MONOTONIC microseconds (0 = read the clock). See enum conn_status. */
enum conn_status conn_process(struct conn *c, uint64_t now_us);

/* The client closed its side. Returns true when nothing was in flight (a clean close). */
bool conn_eof(struct conn *c);

/* Unsent response bytes: *len bytes at the returned pointer (NULL when none). */
const char *conn_out(const struct conn *c, size_t *len);

/* Marks n output bytes as sent. Drops the output buffer once all are sent. */
void conn_out_sent(struct conn *c, size_t n);

/* A file to send after conn_out(): fd, *off and *len (false when none). */
bool conn_file(const struct conn *c, int *fd, off_t *off, size_t *len);

/* Marks n file bytes as sent; closes the file when done. */
void conn_file_sent(struct conn *c, size_t n);

/* True when no request is in progress and nothing is left to send (safe to close on shutdown). */
bool conn_is_idle(const struct conn *c);

/* The time (CLOCK_MONOTONIC us) by which the connection must make progress, from the timeouts
 * in http_cfg: header, body, idle or send; 0 when none applies (a /work wait in progress). */
uint64_t conn_deadline_us(const struct conn *c);

/* The deadline passed: answers 408 when a request was being read and nothing else is queued
 * for sending, and returns CONN_CLOSE (send what is pending, then close). Counts a timeout. */
enum conn_status conn_timeout(struct conn *c);

/* Gives idle buffers back to the per-thread pool so an idle keep-alive connection holds none. */
void conn_shrink(struct conn *c);

/* For response.c: room for n more output bytes (the buffer grows), or NULL when out of memory. */
char *conn_out_reserve(struct conn *c, size_t n);

/* For response.c: n bytes written at conn_out_reserve()'s pointer are now output. */
void conn_out_commit(struct conn *c, size_t n);

/* For route.c: hands the file fd (owned from now on by c) to be sent after the headers. */
void conn_set_file(struct conn *c, int fd, off_t len);

/* Monotonic clock in microseconds. */
uint64_t conn_now_us(void);

#endif
