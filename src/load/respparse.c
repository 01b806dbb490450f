/* Response framing through libhttp-parser callbacks. The parser is paused at the end of each
 * message so the caller sees responses one at a time, which pipelining needs. */
#include "load/respparse.h"

#include <string.h>
#include <strings.h>

static int on_message_begin_cb(http_parser *p) {
    struct respparse *r = p->data;
    r->is_started = true;
    return 0;
}

/* Returning 1 tells the parser that no body follows (RFC 9112 section 6.3: a HEAD response). */
static int on_headers_complete_cb(http_parser *p) {
    struct respparse *r = p->data;
    return r->is_head ? 1 : 0;
}

static int on_body_cb(http_parser *p, const char *at, size_t len) {
    struct respparse *r = p->data;
    r->body_bytes += len;
    return 0;
}

/* Interim 1xx responses (100 Continue) are not answers: keep parsing for the final one. */
static int on_message_complete_cb(http_parser *p) {
    struct respparse *r = p->data;
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
        r->body_bytes = 0;
        return 0;
    }
    r->is_done = true;
    r->is_started = false;
    r->status = p->status_code;
    r->is_keepalive = http_should_keep_alive(p);
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin_cb,
    .on_headers_complete = on_headers_complete_cb,
    .on_body = on_body_cb,
    .on_message_complete = on_message_complete_cb,
};

void respparse_init(struct respparse *r, bool is_head) {
    memset(r, 0, sizeof *r);
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
    r->is_head = is_head;
    r->is_fast_ok = true;
}

static void next_response(struct respparse *r) {
    if (!r->is_done)
        return;
    r->is_done = false;
    r->status = 0;
    r->body_bytes = 0;
    if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED)
        http_parser_pause(&r->parser, 0);
}

/* ---- Fast path: most load-test answers are one whole HTTP/1.1 response with a Content-Length
 * in a single read. Those are framed here without the general parser; anything else (chunked,
 * 1xx/204/304, HTTP/1.0, a partial response, an odd header) goes to libhttp-parser from the
 * same first byte, so the fast path can only decline, never decide differently. ----------- */

/* name is lower case; line's n bytes start with "Name:" in any case. */
static bool is_name(const char *line, size_t n, const char *name, size_t k) {
    return n > k && line[k] == ':' && !strncasecmp(line, name, k);
}

#define IS_NAME(line, n, lit) is_name(line, n, lit, sizeof lit - 1)

static const char *skip_ows(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* One header line [line, end): returns false to decline the fast path. */
static bool fast_header(const char *line, const char *end, long *length, bool *is_close) {
    size_t n = (size_t)(end - line);
    for (const char *p = line; p < end; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return false;
    char first = (char)(line[0] | 0x20); /* only names starting with c or t matter here */
    if (line[0] == ' ' || line[0] == '\t' || (first == 't' && IS_NAME(line, n, "transfer-encoding")))
        return false;
    if (first != 'c')
        return true;
    if (IS_NAME(line, n, "content-length")) {
        const char *p = skip_ows(line + 15, end);
        long v = 0;
        if (*length >= 0 || p == end)
            return false;
        for (; p < end && *p >= '0' && *p <= '9' && v < 1000000000L; p++)
            v = v * 10 + (*p - '0');
        if (skip_ows(p, end) != end)
            return false;
        *length = v;
    } else if (IS_NAME(line, n, "connection")) {
        const char *p = skip_ows(line + 11, end);
        if ((size_t)(end - p) >= 5 && !strncasecmp(p, "close", 5))
            *is_close = true;
        else if ((size_t)(end - p) < 10 || strncasecmp(p, "keep-alive", 10))
            return false;
    }
    return true;
}

/* The CRLF CRLF that ends the header section, or NULL. */
static const char *find_blank_line(const char *p, const char *end) {
    while (end - p >= 4) {
        p = memchr(p, '\r', (size_t)(end - p - 3));
        if (!p)
            return NULL;
        if (p[1] == '\n' && p[2] == '\r' && p[3] == '\n')
            return p;
        p++;
    }
    return NULL;
}

static long fast_frame(struct respparse *r, const char *buf, size_t len) {
    if (len < 19 || memcmp(buf, "HTTP/1.1 ", 9) || buf[12] != ' ')
        return 0;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return 0;
        status = status * 10 + (buf[i] - '0');
    }
    if (status < 200 || status == 204 || status == 304)
        return 0;
    const char *end = find_blank_line(buf + 12, buf + len);
    if (!end)
        return 0;
    long length = -1;
    bool is_close = false;
    const char *line = (const char *)memchr(buf, '\n', (size_t)(end + 2 - buf)) + 1;
    while (line < end + 2) {
        const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (!eol || eol[1] != '\n' || !fast_header(line, eol, &length, &is_close))
            return 0;
        line = eol + 2;
    }
    size_t body = r->is_head ? 0 : (size_t)length;
    size_t total = (size_t)(end + 4 - buf) + body;
    if (length < 0 || total > len)
        return 0;
    r->is_done = true;
    r->status = status;
    r->is_keepalive = !is_close;
    r->body_bytes = body;
    return (long)total;
}

long respparse_feed(struct respparse *r, const char *buf, size_t len) {
    next_response(r);
    if (len == 0)
        return 0;
    if (!r->is_started && r->is_fast_ok) {
        long n = fast_frame(r, buf, len);
        if (n > 0)
            return n;
    }
    size_t n = http_parser_execute(&r->parser, &settings, buf, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);
    if (err == HPE_OK || (err == HPE_PAUSED && r->is_done))
        return (long)n;
    return RESPPARSE_BAD;
}

int respparse_eof(struct respparse *r) {
    next_response(r);
    if (!r->is_started)
        return 0;
    http_parser_execute(&r->parser, &settings, NULL, 0);
    return r->is_done ? 1 : (int)RESPPARSE_BAD;
}
