/* Response writing: the status line and standard headers assembled in one buffer with memcpy,
 * the Date header cached per thread (RFC 9110 5.6.7 IMF-fixdate). */
#include "http/response.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/conn.h"
#include "http/metrics.h"

struct status_text {
    int code;
    const char *line; /* "HTTP/1.1 200 OK\r\n" minus the version */
};

static const struct status_text statuses[] = {
    {100, "100 Continue"}, {200, "200 OK"}, {204, "204 No Content"},
    {304, "304 Not Modified"}, {400, "400 Bad Request"}, {403, "403 Forbidden"},
    {404, "404 Not Found"}, {405, "405 Method Not Allowed"}, {408, "408 Request Timeout"},
    {411, "411 Length Required"}, {413, "413 Content Too Large"}, {414, "414 URI Too Long"},
    {417, "417 Expectation Failed"}, {431, "431 Request Header Fields Too Large"},
    {500, "500 Internal Server Error"}, {501, "501 Not Implemented"},
    {503, "503 Service Unavailable"}, {505, "505 HTTP Version Not Supported"},
};

static const char *status_line(int status) {
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == status)
            return statuses[i].line;
    return "500 Internal Server Error";
}

const char *resp_reason(int status) {
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == status)
            return statuses[i].line + 4;
    return "Unknown";
}

void resp_fmt_date(char *buf, int64_t t) {
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT", days + 3 * tm.tm_wday,
             tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    memcpy(buf, tmp, 30);
    buf[29] = '\0';
}

const char *resp_date(void) {
    static __thread char cached[32];
    static __thread time_t cached_s = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != cached_s) {
        resp_fmt_date(cached, ts.tv_sec);
        cached_s = ts.tv_sec;
    }
    return cached;
}

/* Appends the decimal form of v at p; returns the new end. */
static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}
#define PUT(p, lit) put(p, lit, sizeof(lit) - 1)

static __thread int last_status;
static __thread uint64_t last_length;

void resp_last(int *status, uint64_t *content_length) {
    *status = last_status;
    *content_length = last_length;
}

int resp_head(struct conn *c, int status, const char *content_type, uint64_t content_length,
              const char *extra, unsigned flags) {
    const char *line = status_line(status);
    metrics_status(status);
    last_status = status;
    last_length = content_length;
    size_t ctype_len = content_type ? strlen(content_type) : 0;
    size_t extra_len = extra ? strlen(extra) : 0;
    size_t need = 160 + strlen(line) + ctype_len + extra_len;
    char *start = conn_out_reserve(c, need);
    if (!start)
        return -ENOMEM;
    char *p = (flags & RESP_HTTP10) ? PUT(start, "HTTP/1.0 ") : PUT(start, "HTTP/1.1 ");
    p = put(p, line, strlen(line));
    p = PUT(p, "\r\nServer: srvlab\r\nDate: ");
    p = put(p, resp_date(), 29);
    if (content_type) {
        p = PUT(p, "\r\nContent-Type: ");
        p = put(p, content_type, ctype_len);
    }
    p = PUT(p, "\r\nContent-Length: ");
    p = put_u64(p, content_length);
    if (flags & RESP_CLOSE)
        p = PUT(p, "\r\nConnection: close");
    else if (flags & RESP_KEEPALIVE)
        p = PUT(p, "\r\nConnection: keep-alive");
    p = PUT(p, "\r\n");
    if (extra)
        p = put(p, extra, extra_len);
    p = PUT(p, "\r\n");
    conn_out_commit(c, (size_t)(p - start));
    return 0;
}

int resp_body(struct conn *c, const void *data, size_t len) {
    if (len == 0)
        return 0;
    char *p = conn_out_reserve(c, len);
    if (!p)
        return -ENOMEM;
    memcpy(p, data, len);
    conn_out_commit(c, len);
    return 0;
}

int resp_text(struct conn *c, int status, const char *body, const char *extra, unsigned flags,
              int is_head) {
    size_t len = body ? strlen(body) : 0;
    int rc = resp_head(c, status, "text/plain", len, extra, flags);
    if (rc == 0 && !is_head)
        rc = resp_body(c, body, len);
    return rc;
}
