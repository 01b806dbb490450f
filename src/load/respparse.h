/* Incremental HTTP/1.x response parsing for the load generator, one response at a time, on top
 * of libhttp-parser (HTTP_RESPONSE mode). It frames responses and keeps no body or headers. */
#ifndef SRVLAB_RESPPARSE_H
#define SRVLAB_RESPPARSE_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESPPARSE_BAD (-1L) /* not HTTP, or a protocol error: the connection is unusable */

struct respparse {
    http_parser parser;
    bool is_head;        /* responses answer HEAD requests: no body follows the headers */
    bool is_started;     /* bytes of the current response have been seen */
    bool is_done;        /* a whole response was parsed; the fields below describe it */
    bool is_keepalive;   /* the connection may carry the next response */
    bool is_fast_ok;     /* may frame whole simple responses without the general parser */
    int status;          /* status code, e.g. 200 */
    uint64_t body_bytes; /* decoded body length (chunked framing excluded) */
};

/* Prepares r for the first response on a new connection. */
void respparse_init(struct respparse *r, bool is_head);

/* Parses buf[0..len) and stops right after the end of one response, so pipelined responses
 * come out one per call: call again with the rest of the buffer. Returns the number of bytes
 * consumed (>= 0; then r->is_done says whether a response just completed; an earlier
 * response's fields are cleared on the next call) or RESPPARSE_BAD. Never reads past len. */
long respparse_feed(struct respparse *r, const char *buf, size_t len);

/* The peer closed the connection. Returns 1 when that completes a response whose body runs to
 * the end of the connection (then r->is_done), 0 when no response was in progress, and
 * RESPPARSE_BAD when the close cut a response short. */
int respparse_eof(struct respparse *r);

#endif
