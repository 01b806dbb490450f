/* Routing: which handler answers a parsed request, and the handlers themselves
 * (hello, /work, /echo, /static). Writes responses through response.h; no socket I/O. */
#ifndef SRVLAB_HTTP_ROUTE_H
#define SRVLAB_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

struct req {
    int method;            /* enum http_method */
    const char *path;      /* raw path, not decoded, not NUL-terminated */
    size_t path_len;
    const char *query;     /* after '?', or NULL */
    size_t query_len;
    const char *body;
    size_t body_len;
    unsigned resp_flags;   /* RESP_CLOSE, RESP_KEEPALIVE, RESP_HTTP10 */
    bool is_head;
};

enum route_result {
    ROUTE_DONE, /* the response is in the output buffer */
    ROUTE_WAIT, /* /work: wait *wait_us, then call route_work_finish() */
};

/* Answers r into c's output. Never fails: an internal error becomes a 500. */
enum route_result route_request(struct conn *c, const struct req *r, uint64_t *wait_us);

/* Writes the /work response after its wait. */
void route_work_finish(struct conn *c, unsigned resp_flags, bool is_head);

/* Writes an error response (text body naming the status) with the given flags. */
void route_error(struct conn *c, int status, unsigned resp_flags, bool is_head);

#endif
