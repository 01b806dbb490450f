/* The request the load generator sends, formatted once before the run so the hot path only
 * copies bytes. Pure: no I/O. */
#ifndef SRVLAB_REQFMT_H
#define SRVLAB_REQFMT_H

#include <stdbool.h>
#include <stddef.h>

#include "load/url.h"

struct reqfmt_opts {
    const char *method;         /* "GET" */
    const struct url *url;
    const char *const *headers; /* "Name: value" lines, without CRLF */
    size_t header_count;
    const char *body;           /* may be NULL */
    size_t body_bytes;
    bool is_http10;
    bool is_keepalive;          /* false: "Connection: close" */
};

/* Formats the request into a new malloc'ed buffer (*out, *out_bytes; caller frees). Adds Host,
 * User-Agent, Content-Length (when a body is given or the method is POST/PUT/PATCH) and
 * Connection as needed; a user header of the same name replaces Host or User-Agent, and a user
 * Connection or Content-Length header is refused. Returns 0, -EINVAL for a malformed header
 * (no ':', CR/LF inside) or -ENOMEM. */
int reqfmt_build(const struct reqfmt_opts *o, char **out, size_t *out_bytes);

#endif
