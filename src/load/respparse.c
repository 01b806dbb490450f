/* Response framing through libhttp-parser callbacks. The parser is paused at the end of each
 * message so the caller sees responses one at a time, which pipelining needs. */
#include "load/respparse.h"

#include <string.h>

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
}

static void next_response(struct respparse *r) {
    if (!r->is_done)
        return;
    r->is_done = false;
    r->status = 0;
    r->body_bytes = 0;
    http_parser_pause(&r->parser, 0);
}

long respparse_feed(struct respparse *r, const char *buf, size_t len) {
    next_response(r);
    if (len == 0)
        return 0;
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
