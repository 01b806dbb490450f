/* The connection core: incremental parsing with libhttp-parser (one request at a time, so
 * pipelined requests are answered in order), keep-alive rules (RFC 9112 9.3), limits, and the
 * input/output buffers. Buffers come from a per-thread pool and go back to it when idle, so an
 * idle keep-alive connection holds only this struct. No socket I/O here (see conn.h). */
#include "http/conn.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http/accesslog.h"
#include "http/metrics.h"
#include "http/response.h"
#include "http/route.h"

struct http_cfg http_cfg = {
    .root_fd = -1,
    .max_body_bytes = 1 << 20,
    .max_header_bytes = 8192,
    .max_headers = 100,
    .header_timeout_us = 10000000,
    .body_timeout_us = 10000000,
    .idle_timeout_us = 60000000,
    .send_timeout_us = 10000000,
};
volatile int http_draining;

/* ---- buffer pool ------------------------------------------------------------------------ */

#define BUF_SIZE 16384u       /* one pooled buffer: a request head fits with room to spare */
#define POOL_MAX_FREE 4096u   /* per thread; beyond this buffers go back to malloc */
#define OUT_HIGH_WATER 65536u /* stop answering pipelined requests until this much is sent */

struct free_buf {
    struct free_buf *next;
};
static __thread struct free_buf *pool_head;
static __thread unsigned pool_count;
static __thread bool has_pool_key;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* A thread's pool dies with it (thread per connection, pool workers): without this destructor
 * every exiting thread would leak the buffers it last used. */
static void pool_drain(void *unused) {
    (void)unused;
    while (pool_head) {
        struct free_buf *b = pool_head;
        pool_head = b->next;
        free(b);
    }
    pool_count = 0;
}

static void pool_key_create(void) {
    pthread_key_create(&pool_key, pool_drain);
}

static char *buf_get(void) {
    struct free_buf *b = pool_head;
    if (b) {
        pool_head = b->next;
        pool_count--;
        return (char *)b;
    }
    return malloc(BUF_SIZE);
}

static void buf_put(char *p, uint32_t cap) {
    if (!p)
        return;
    if (cap != BUF_SIZE || pool_count >= POOL_MAX_FREE) {
        free(p);
        return;
    }
    if (!has_pool_key) {
        pthread_once(&pool_once, pool_key_create);
        pthread_setspecific(pool_key, &pool_head); /* non-NULL: run pool_drain at exit */
        has_pool_key = true;
    }
    struct free_buf *b = (struct free_buf *)p;
    b->next = pool_head;
    pool_head = b;
    pool_count++;
}

/* ---- parser callbacks -------------------------------------------------------------------- */

enum { ST_HEAD, ST_BODY, ST_DONE, ST_CLOSING };
enum {
    F_KEEPALIVE = 1 << 0,  /* the finished request allows keep-alive */
    F_HAS_HOST = 1 << 1,   /* Host header seen */
    F_EXPECT = 1 << 2,     /* Expect: 100-continue */
    F_EXPECT_BAD = 1 << 3, /* Expect with another value */
    F_IS_HEAD = 1 << 4,    /* HEAD request waiting on /work */
};
enum { H_OTHER, H_HOST, H_EXPECT, H_NEW = 0xfe, H_FIELD = 0xff };

static struct conn *of(http_parser *p) {
    return (struct conn *)p; /* parser is the first member of struct conn */
}

static uint32_t off_of(struct conn *c, const char *at) {
    return (uint32_t)(at - (c->in + c->req_start));
}

/* Fails the request with status (431/413/400): the parser stops with a callback error.
 * -1, not 1: on_headers_complete reads 1 as "no body" rather than as an error. */
static int fail(struct conn *c, int status) {
    c->err_status = (uint16_t)status;
    return -1;
}

static int over_head_limit(struct conn *c, const char *end) {
    return off_of(c, end) > http_cfg.max_header_bytes;
}

static int on_message_begin(http_parser *p) {
    struct conn *c = of(p);
    c->url_len = c->field_len = c->body_len = 0;
    c->nheaders = 0;
    c->flags = 0;
    c->header_kind = H_NEW;
    c->state = ST_HEAD;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    struct conn *c = of(p);
    if (c->url_len == 0)
        c->url_off = off_of(c, at);
    c->url_len += (uint32_t)len;
    if (over_head_limit(c, at + len))
        return fail(c, c->url_len > http_cfg.max_header_bytes / 2 ? 414 : 431);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    struct conn *c = of(p);
    if (c->header_kind != H_FIELD) { /* a value (or nothing) came before: a new field */
        if (++c->nheaders > http_cfg.max_headers)
            return fail(c, 431);
        c->field_off = off_of(c, at);
        c->field_len = 0;
        c->header_kind = H_FIELD;
    }
    c->field_len += (uint32_t)len;
    /* The parser (built lenient) lets a space into a field name, so "Content-Length : 5" would
     * be an unknown header here but a length to a proxy in front: RFC 9112 5.1 says reject. */
    if (memchr(at, ' ', len))
        return fail(c, 400);
    return over_head_limit(c, at + len) ? fail(c, 431) : 0;
}

static bool field_is(struct conn *c, const char *name) {
    size_t n = strlen(name);
    return c->field_len == n && strncasecmp(c->in + c->req_start + c->field_off, name, n) == 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    struct conn *c = of(p);
    /* obs-fold (a value continued on the next line) is how smuggling starts: RFC 9112 5.2
     * lets a server reject it with 400, and we do. The parser reports the continuation as a
     * second value piece starting right after a line break (the bytes are contiguous here). */
    if (c->header_kind != H_FIELD && at[-1] == '\n')
        return fail(c, 400);
    if (c->header_kind == H_FIELD) {
        c->header_kind = field_is(c, "host") ? H_HOST : field_is(c, "expect") ? H_EXPECT : H_OTHER;
        if (c->header_kind == H_HOST)
            c->flags |= F_HAS_HOST;
        if (c->header_kind == H_EXPECT)
            c->flags |= (len == 12 && strncasecmp(at, "100-continue", 12) == 0) ? F_EXPECT
                                                                             : F_EXPECT_BAD;
    }
    return over_head_limit(c, at + len) ? fail(c, 431) : 0;
}

static int on_headers_complete(http_parser *p) {
    struct conn *c = of(p);
    c->state = ST_BODY;
    if (p->http_major != 1)
        return fail(c, 505);
    if (p->http_minor >= 1 && !(c->flags & F_HAS_HOST))
        return fail(c, 400); /* RFC 9112 3.2: a 1.1 request without Host is invalid */
    if (c->flags & F_EXPECT_BAD)
        return fail(c, 417);
    bool has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
    if (has_body && p->content_length != ULLONG_MAX &&
        p->content_length > http_cfg.max_body_bytes)
        return fail(c, 413);
    if (has_body && (c->flags & F_EXPECT) && p->http_minor >= 1)
        resp_body(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    struct conn *c = of(p);
    uint32_t off = off_of(c, at);
    if (c->body_len == 0)
        c->body_off = off;
    else if (off != c->body_off + c->body_len) /* chunked: make the body contiguous */
        memmove(c->in + c->req_start + c->body_off + c->body_len, at, len);
    c->body_len += (uint32_t)len;
    return c->body_len > http_cfg.max_body_bytes ? fail(c, 413) : 0;
}

static int on_message_complete(http_parser *p) {
    struct conn *c = of(p);
    c->state = ST_DONE;
    if (http_should_keep_alive(p))
        c->flags |= F_KEEPALIVE;
    http_parser_pause(p, 1); /* answer this request before parsing the next one */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- lifecycle and buffers --------------------------------------------------------------- */

uint64_t conn_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The bases of the timeouts (seconds long) need no microseconds: the coarse clock is the
 * monotonic clock as of the last tick (at most a few ms behind, never ahead) and costs a
 * quarter of a precise read, which matters at four reads per request. */
static uint64_t coarse_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void conn_init(struct conn *c) {
    memset(c, 0, sizeof *c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->file_fd = -1;
    c->fd = -1;
    c->header_kind = H_NEW;
    c->t_in_us = coarse_us();
}

void conn_free(struct conn *c) {
    if (c->parser.data != (void *)c) { /* count the close once, even if freed twice */
        metrics_conn(METRICS_CONN_CLOSED);
        c->parser.data = (void *)c;
    }
    buf_put(c->in, c->in_cap);
    buf_put(c->out, c->out_cap);
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->in = c->out = NULL;
    c->in_cap = c->out_cap = 0;
    c->file_fd = -1;
}

/* The most a request may need in memory: its head, its body, and slack for chunk framing. */
static uint64_t in_limit(void) {
    return (uint64_t)http_cfg.max_header_bytes + http_cfg.max_body_bytes * 2 + BUF_SIZE;
}

static int grow(char **buf, uint32_t *cap, uint32_t used, uint64_t need) {
    uint64_t ncap = *cap ? *cap : BUF_SIZE;
    while (ncap < need)
        ncap *= 2;
    if (ncap > UINT32_MAX)
        return -ENOMEM;
    char *nb = ncap == BUF_SIZE ? buf_get() : malloc(ncap);
    if (!nb)
        return -ENOMEM;
    if (*buf)
        memcpy(nb, *buf, used);
    buf_put(*buf, *cap);
    *buf = nb;
    *cap = (uint32_t)ncap;
    return 0;
}

char *conn_rbuf(struct conn *c, size_t *space) {
    if (c->req_start > 0 && c->in_cap - c->in_len < BUF_SIZE / 4) {
        uint32_t keep = c->in_len - c->req_start;
        memmove(c->in, c->in + c->req_start, keep);
        c->in_len = keep;
        c->in_parsed -= c->req_start;
        c->req_start = 0;
    }
    if (c->in_cap - c->in_len < 1024) {
        uint64_t need = (uint64_t)c->in_cap + 1;
        if (need > in_limit() || grow(&c->in, &c->in_cap, c->in_len, need) < 0)
            return NULL;
    }
    *space = c->in_cap - c->in_len;
    return c->in + c->in_len;
}

void conn_rdone_ts(struct conn *c, size_t n, uint64_t arrival_ns) {
    bool is_new_request = c->in_len == c->req_start && n > 0;
    if (is_new_request)
        c->t_arrival_ns = arrival_ns;
    if (is_new_request || c->state == ST_BODY)
        c->t_in_us = coarse_us(); /* header timeout runs from here; body from each read */
    c->in_len += (uint32_t)n;
}

void conn_rdone(struct conn *c, size_t n) {
    conn_rdone_ts(c, n, c->in_len == c->req_start && metrics_enabled() ? metrics_now_ns() : 0);
}

int conn_feed(struct conn *c, const char *data, size_t len) {
    while (len > 0) {
        size_t space;
        char *p = conn_rbuf(c, &space);
        if (!p)
            return -ENOMEM;
        size_t n = len < space ? len : space;
        memcpy(p, data, n);
        conn_rdone(c, n);
        data += n;
        len -= n;
    }
    return 0;
}

char *conn_out_reserve(struct conn *c, size_t n) {
    if (c->out_sent > 0 && c->out_sent == c->out_len)
        c->out_len = c->out_sent = 0;
    if (c->out_len == 0 && c->file_fd < 0)
        c->t_out_us = 0; /* no write yet: the send timeout counts from the last input */
    if ((uint64_t)c->out_len + n > c->out_cap &&
        grow(&c->out, &c->out_cap, c->out_len, (uint64_t)c->out_len + n) < 0)
        return NULL;
    return c->out + c->out_len;
}

void conn_out_commit(struct conn *c, size_t n) {
    c->out_len += (uint32_t)n;
}

const char *conn_out(const struct conn *c, size_t *len) {
    *len = c->out_len - c->out_sent;
    return *len ? c->out + c->out_sent : NULL;
}

/* Every answered response is now with the kernel: their service times end here. */
static void responses_sent(struct conn *c) {
    if (c->n_unsent && metrics_enabled())
        metrics_service(metrics_now_ns() - c->t_unsent_ns, c->n_unsent);
    c->n_unsent = 0;
    c->t_out_us = 0;
    if (c->in_len == c->req_start)
        c->t_in_us = coarse_us(); /* idle from now */
}

void conn_out_sent(struct conn *c, size_t n) {
    c->out_sent += (uint32_t)n;
    c->t_out_us = n ? coarse_us() : c->t_out_us;
    metrics_bytes_out(n);
    if (c->out_sent == c->out_len) {
        c->out_sent = c->out_len = 0;
        if (c->file_fd < 0)
            responses_sent(c);
    }
}

void conn_set_file(struct conn *c, int fd, off_t len) {
    c->file_fd = fd;
    c->file_off = 0;
    c->file_end = len;
}

bool conn_file(const struct conn *c, int *fd, off_t *off, size_t *len) {
    if (c->file_fd < 0)
        return false;
    *fd = c->file_fd;
    *off = c->file_off;
    *len = (size_t)(c->file_end - c->file_off);
    return true;
}

void conn_file_sent(struct conn *c, size_t n) {
    c->file_off += (off_t)n;
    c->t_out_us = n ? coarse_us() : c->t_out_us;
    metrics_bytes_out(n);
    if (c->file_off >= c->file_end) {
        close(c->file_fd);
        c->file_fd = -1;
        if (c->out_len == c->out_sent)
            responses_sent(c);
    }
}

bool conn_is_idle(const struct conn *c) {
    return c->in_len == c->req_start && c->out_len == c->out_sent && c->file_fd < 0 &&
           !c->waiting && c->state != ST_CLOSING;
}

bool conn_eof(struct conn *c) {
    return conn_is_idle(c);
}

void conn_shrink(struct conn *c) {
    if (c->in && c->in_len == c->req_start) {
        buf_put(c->in, c->in_cap);
        c->in = NULL;
        c->in_cap = c->in_len = c->in_parsed = c->req_start = 0;
    }
    if (c->out && c->out_len == c->out_sent) {
        buf_put(c->out, c->out_cap);
        c->out = NULL;
        c->out_cap = c->out_len = c->out_sent = 0;
    }
}

uint64_t conn_deadline_us(const struct conn *c) {
    if (c->waiting)
        return 0;
    bool has_output = c->out_len > c->out_sent || c->file_fd >= 0;
    if (has_output) /* t_out_us is 0 until the first write: count from the last input then */
        return (c->t_out_us ? c->t_out_us : c->t_in_us) + http_cfg.send_timeout_us;
    if (c->in_len == c->req_start && c->state != ST_BODY)
        return c->t_in_us + http_cfg.idle_timeout_us;
    if (c->state == ST_BODY)
        return c->t_in_us + http_cfg.body_timeout_us;
    return c->t_in_us + http_cfg.header_timeout_us;
}

enum conn_status conn_timeout(struct conn *c) {
    bool has_output = c->out_len > c->out_sent || c->file_fd >= 0;
    bool is_reading = c->in_len > c->req_start || c->state == ST_BODY;
    metrics_conn(METRICS_CONN_TIMED_OUT);
    if (is_reading && !has_output && c->state != ST_CLOSING) {
        route_error(c, 408, RESP_CLOSE | (c->parser.http_minor == 0 ? RESP_HTTP10 : 0), false);
        c->in_parsed = c->in_len; /* what was half-read is dropped */
    }
    c->state = ST_CLOSING;
    return CONN_CLOSE;
}

/* ---- request handling -------------------------------------------------------------------- */

static unsigned resp_flags_for(struct conn *c) {
    unsigned f = 0;
    bool is_10 = c->parser.http_minor == 0;
    if (is_10)
        f |= RESP_HTTP10;
    if (!(c->flags & F_KEEPALIVE) || __atomic_load_n(&http_draining, __ATOMIC_RELAXED))
        f |= RESP_CLOSE;
    else if (is_10)
        f |= RESP_KEEPALIVE;
    return f;
}

/* The request is answered: drop its bytes and get ready for the next. */
static void request_done(struct conn *c, unsigned resp_flags) {
    c->req_start = c->in_parsed;
    c->state = (resp_flags & RESP_CLOSE) ? ST_CLOSING : ST_HEAD;
    c->header_kind = H_NEW;
    if (c->req_start == c->in_len) /* nothing pipelined behind: reuse the buffer from 0 */
        c->in_len = c->in_parsed = c->req_start = 0;
    else
        c->t_in_us = coarse_us(); /* the next request's head timeout starts now */
}

/* Metrics: the handler starts now; the request waited since its bytes arrived. Returns the
 * time (ns) when metrics or the access log need it, else 0. */
static uint64_t handler_starts(struct conn *c) {
    if (!metrics_enabled())
        return accesslog_enabled() ? metrics_now_ns() : 0;
    uint64_t now = metrics_now_ns();
    if (c->t_arrival_ns && now > c->t_arrival_ns)
        metrics_queue_delay(now - c->t_arrival_ns);
    if (c->n_unsent++ == 0)
        c->t_unsent_ns = now;
    return now;
}

/* --access-log: one line for the request just answered (handler time, not send time). */
static void log_request(struct conn *c, uint64_t t_start_ns) {
    if (!accesslog_enabled())
        return;
    int status;
    uint64_t len;
    resp_last(&status, &len);
    uint64_t queue = c->t_arrival_ns && t_start_ns > c->t_arrival_ns ? t_start_ns - c->t_arrival_ns : 0;
    accesslog_write(c->fd, c->parser.method, c->in + c->req_start + c->url_off, c->url_len,
                    c->parser.http_minor, status, len, queue, metrics_now_ns() - t_start_ns);
}

static void answer(struct conn *c) {
    uint64_t t_start_ns = handler_starts(c);
    const char *base = c->in + c->req_start;
    const char *url = base + c->url_off;
    const char *q = memchr(url, '?', c->url_len);
    struct req r = {
        .method = c->parser.method,
        .path = url,
        .path_len = q ? (size_t)(q - url) : c->url_len,
        .query = q ? q + 1 : NULL,
        .query_len = q ? (size_t)(url + c->url_len - q - 1) : 0,
        .body = base + c->body_off,
        .body_len = c->body_len,
        .resp_flags = resp_flags_for(c),
        .is_head = c->parser.method == HTTP_HEAD,
    };
    uint64_t wait_us = 0;
    enum route_result rr = route_request(c, &r, &wait_us);
    if (rr == ROUTE_DONE)
        log_request(c, t_start_ns);
    if (rr == ROUTE_WAIT) {
        c->waiting = 1;
        c->wake_us = conn_now_us() + wait_us;
        if (r.is_head)
            c->flags |= F_IS_HEAD;
        return;
    }
    request_done(c, r.resp_flags);
}

static void finish_wait(struct conn *c) {
    unsigned f = resp_flags_for(c);
    c->waiting = 0;
    route_work_finish(c, f, (c->flags & F_IS_HEAD) != 0);
    if (accesslog_enabled())
        log_request(c, c->t_unsent_ns ? c->t_unsent_ns : metrics_now_ns());
    request_done(c, f);
}

static void answer_error(struct conn *c, int status) {
    uint64_t t_start_ns = handler_starts(c);
    unsigned f = RESP_CLOSE | (c->parser.http_minor == 0 ? RESP_HTTP10 : 0);
    route_error(c, status, f, c->parser.method == HTTP_HEAD && c->state != ST_HEAD);
    log_request(c, t_start_ns);
    c->state = ST_CLOSING;
}

/* --stall: true while inside a stall window; *until_us is where the window ends. */
static bool is_stalled(uint64_t now, uint64_t *until_us) {
    if (http_cfg.stall_period_us == 0 || now < http_cfg.start_us)
        return false;
    uint64_t phase = (now - http_cfg.start_us) % http_cfg.stall_period_us;
    uint64_t begin = http_cfg.stall_period_us - http_cfg.stall_us;
    if (phase < begin)
        return false;
    *until_us = now + (http_cfg.stall_period_us - phase);
    return true;
}

/* Feeds unparsed bytes to the parser; true when a whole request is ready or failed. */
static bool parse_some(struct conn *c) {
    size_t avail = c->in_len - c->in_parsed;
    size_t n = http_parser_execute(&c->parser, &settings, c->in + c->in_parsed, avail);
    c->in_parsed += (uint32_t)n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        return true;
    }
    if (e != HPE_OK) {
        answer_error(c, c->err_status ? c->err_status : 400);
        return true;
    }
    if (c->state == ST_HEAD && c->in_len - c->req_start > http_cfg.max_header_bytes) {
        answer_error(c, 431);
        return true;
    }
    return false;
}

enum conn_status conn_process(struct conn *c, uint64_t now_us) {
    for (;;) {
        if (c->waiting) {
            if (!now_us)
                now_us = conn_now_us();
            if (now_us < c->wake_us)
                return CONN_WAIT;
            finish_wait(c);
        }
        if (c->file_fd >= 0 || c->out_len - c->out_sent > OUT_HIGH_WATER)
            return CONN_WRITE;
        if (c->state == ST_CLOSING)
            return CONN_CLOSE;
        if (c->in_parsed == c->in_len)
            return CONN_NEED_READ;
        if (http_cfg.stall_period_us) {
            uint64_t until;
            if (!now_us)
                now_us = conn_now_us();
            if (is_stalled(now_us, &until)) {
                c->wake_us = until;
                return CONN_WAIT;
            }
        }
        if (!parse_some(c))
            return CONN_NEED_READ;
        if (c->state == ST_DONE)
            answer(c);
    }
}
