/* The routes of srvlab's server: GET / (hello), /work, POST /echo, GET|HEAD /static/PATH.
 * A table maps paths to handlers; a known path with a wrong method gets 405 with Allow. */
#include "http/route.h"

#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/conn.h"
#include "http/files.h"
#include "http/metrics.h"
#include "http/response.h"
#include "http/work.h"

#define HELLO "Hello, World!"

typedef enum route_result (*handler_fn)(struct conn *c, const struct req *r, uint64_t *wait_us);

static enum route_result on_hello(struct conn *c, const struct req *r, uint64_t *wait_us) {
    if (resp_head(c, 200, "text/plain", sizeof HELLO - 1, NULL, r->resp_flags) < 0)
        return ROUTE_DONE;
    if (!r->is_head)
        resp_body(c, HELLO, sizeof HELLO - 1);
    return ROUTE_DONE;
}

static uint64_t *thread_rng(void) {
    static __thread uint64_t rng;
    static __thread bool is_seeded;
    if (!is_seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)gettid() << 32);
        is_seeded = true;
    }
    return &rng;
}

static enum route_result on_work(struct conn *c, const struct req *r, uint64_t *wait_us) {
    struct work_params w;
    if (work_parse_query(r->query, r->query ? r->query_len : 0, &w) < 0) {
        resp_text(c, 400, "bad /work query: use cpu_us=N&io_us=N&dist=fixed|exp&seed=N\n", NULL,
                  r->resp_flags, r->is_head);
        return ROUTE_DONE;
    }
    uint64_t cpu_us, io_us;
    work_draw(&w, thread_rng(), &cpu_us, &io_us);
    work_spin_us(cpu_us);
    c->work_cpu_us = cpu_us;
    c->work_io_us = io_us;
    if (io_us > 0) {
        *wait_us = io_us;
        return ROUTE_WAIT;
    }
    route_work_finish(c, r->resp_flags, r->is_head);
    return ROUTE_DONE;
}

void route_work_finish(struct conn *c, unsigned resp_flags, bool is_head) {
    char body[96];
    snprintf(body, sizeof body, "cpu_us=%llu io_us=%llu\n", (unsigned long long)c->work_cpu_us,
             (unsigned long long)c->work_io_us);
    resp_text(c, 200, body, NULL, resp_flags, is_head);
}

static enum route_result on_echo(struct conn *c, const struct req *r, uint64_t *wait_us) {
    if (resp_head(c, 200, "application/octet-stream", r->body_len, NULL, r->resp_flags) == 0)
        resp_body(c, r->body, r->body_len);
    return ROUTE_DONE;
}

static enum route_result on_static(struct conn *c, const struct req *r, uint64_t *wait_us) {
    char rel[4096];
    const char *sub = r->path + 8; /* after "/static/" */
    int n = files_decode_path(sub, r->path_len - 8, rel, sizeof rel);
    if (n < 0) {
        route_error(c, 400, r->resp_flags, r->is_head);
        return ROUTE_DONE;
    }
    struct stat st;
    int fd = files_open(http_cfg.root_fd, rel, http_cfg.has_dotfiles, &st);
    if (fd < 0) {
        route_error(c, fd == -EINVAL ? 400 : 404, r->resp_flags, r->is_head);
        return ROUTE_DONE;
    }
    char extra[64] = "Last-Modified: ";
    resp_fmt_date(extra + 15, st.st_mtime);
    strcat(extra, "\r\n");
    if (resp_head(c, 200, files_mime(rel), (uint64_t)st.st_size, extra, r->resp_flags) < 0 ||
        r->is_head || st.st_size == 0) {
        close(fd);
        return ROUTE_DONE;
    }
    conn_set_file(c, fd, st.st_size);
    return ROUTE_DONE;
}

static enum route_result on_metrics(struct conn *c, const struct req *r, uint64_t *wait_us) {
    static __thread char text[16384];
    struct metrics_snapshot s;
    if (!metrics_enabled() || metrics_snapshot(&s) < 0) {
        resp_text(c, 404, "metrics are off (--no-metrics)\n", NULL, r->resp_flags, r->is_head);
        return ROUTE_DONE;
    }
    size_t len = metrics_format_prometheus(&s, text, sizeof text);
    metrics_snapshot_free(&s);
    if (resp_head(c, 200, "text/plain; version=0.0.4", len, NULL, r->resp_flags) == 0 &&
        !r->is_head)
        resp_body(c, text, len);
    return ROUTE_DONE;
}

enum { M_GET_HEAD, M_POST };

struct route {
    const char *path;
    size_t path_len;
    bool is_prefix;
    int methods;
    const char *allow;
    handler_fn handler;
};

static const struct route routes[] = {
    {"/", sizeof "/" - 1, false, M_GET_HEAD, "Allow: GET, HEAD\r\n", on_hello},
    {"/work", sizeof "/work" - 1, false, M_GET_HEAD, "Allow: GET, HEAD\r\n", on_work},
    {"/echo", sizeof "/echo" - 1, false, M_POST, "Allow: POST\r\n", on_echo},
    {"/static/", sizeof "/static/" - 1, true, M_GET_HEAD, "Allow: GET, HEAD\r\n", on_static},
    {"/metrics", sizeof "/metrics" - 1, false, M_GET_HEAD, "Allow: GET, HEAD\r\n", on_metrics},
};

static bool method_allowed(int methods, int method) {
    if (methods == M_POST)
        return method == HTTP_POST;
    return method == HTTP_GET || method == HTTP_HEAD;
}

static bool path_matches(const struct route *rt, const struct req *r) {
    size_t n = rt->path_len;
    if (rt->is_prefix)
        return r->path_len > n && memcmp(r->path, rt->path, n) == 0;
    return r->path_len == n && memcmp(r->path, rt->path, n) == 0;
}

void route_error(struct conn *c, int status, unsigned resp_flags, bool is_head) {
    char body[64];
    snprintf(body, sizeof body, "%d %s\n", status, resp_reason(status));
    resp_text(c, status, body, NULL, resp_flags, is_head);
}

enum route_result route_request(struct conn *c, const struct req *r, uint64_t *wait_us) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *rt = &routes[i];
        if (!path_matches(rt, r))
            continue;
        if (!method_allowed(rt->methods, r->method)) {
            char body[64];
            snprintf(body, sizeof body, "405 %s\n", resp_reason(405));
            resp_text(c, 405, body, rt->allow, r->resp_flags, r->is_head);
            return ROUTE_DONE;
        }
        return rt->handler(c, r, wait_us);
    }
    route_error(c, 404, r->resp_flags, r->is_head);
    return ROUTE_DONE;
}
