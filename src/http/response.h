/* Response writing into a connection's output buffer: status line, the standard headers
 * (Server, Date, Content-Type, Content-Length, Connection), bodies. No parsing here. */
#ifndef SRVLAB_HTTP_RESPONSE_H
#define SRVLAB_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Flags for resp_head(). */
enum {
    RESP_CLOSE = 1 << 0,      /* Connection: close (the connection ends after this response) */
    RESP_KEEPALIVE = 1 << 1,  /* Connection: keep-alive (HTTP/1.0 client that asked for it) */
    RESP_HTTP10 = 1 << 2,     /* answer with HTTP/1.0 in the status line */
};

/* Writes the status line and standard headers, then extra (already CRLF-terminated lines, or
 * NULL), then the blank line. content_length is the body size to announce. 0 or -ENOMEM. */
int resp_head(struct conn *c, int status, const char *content_type, uint64_t content_length,
              const char *extra, unsigned flags);

/* Appends body bytes. 0 or -ENOMEM. */
int resp_body(struct conn *c, const void *data, size_t len);

/* A complete response with a short text body (errors, /work). Body omitted when is_head. */
int resp_text(struct conn *c, int status, const char *body, const char *extra, unsigned flags,
              int is_head);

/* The status and Content-Length of the calling thread's last resp_head() (for the access log). */
void resp_last(int *status, uint64_t *content_length);

/* The reason phrase for a status code ("Not Found"); "Unknown" for codes we never send. */
const char *resp_reason(int status);

/* The current time as an IMF-fixdate (29 chars + NUL), cached per thread and refreshed once a
 * second. The pointer stays valid for the calling thread. */
const char *resp_date(void);

/* Formats t (seconds since the epoch) as an IMF-fixdate into buf (at least 30 bytes). */
void resp_fmt_date(char *buf, int64_t t);

#endif
