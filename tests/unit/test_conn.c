/* Unit tests for src/http/conn.c through its public API: split reads, pipelining, keep-alive,
 * bodies, limits, waits. Inputs sit right before a PROT_NONE page so an over-read crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/conn.h"

struct result {
    char out[1 << 21];
    size_t len;
    enum conn_status last;
    int waits;
};
static struct result R;

/* Copies s so that its last byte is the last byte before a PROT_NONE page. */
static const char *guarded(const char *s, size_t len) {
    static char *region;
    static size_t region_len;
    long pg = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1;
    if (region)
        munmap(region, region_len);
    region_len = pages * (size_t)pg;
    region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(region != MAP_FAILED);
    mprotect(region + region_len - (size_t)pg, (size_t)pg, PROT_NONE);
    char *dst = region + region_len - (size_t)pg - len;
    memcpy(dst, s, len);
    return dst;
}

static void drain(struct conn *c) {
    size_t n;
    const char *p = conn_out(c, &n);
    if (p) {
        assert_true(R.len + n < sizeof R.out);
        memcpy(R.out + R.len, p, n);
        R.len += n;
        conn_out_sent(c, n);
    }
}

/* Runs conn_process until it needs input or closes; waits are skipped by passing a clock
 * far in the future. */
static enum conn_status pump(struct conn *c) {
    for (;;) {
        enum conn_status st = conn_process(c, 0);
        drain(c);
        if (st == CONN_WAIT) {
            R.waits++;
            st = conn_process(c, c->wake_us);
            drain(c);
        }
        if (st != CONN_WAIT && st != CONN_WRITE)
            return st;
    }
}

/* Feeds s in pieces of at most `split` bytes (0 = whole). Output accumulates in R. */
static enum conn_status run_split(const char *s, size_t split) {
    R.len = 0;
    R.waits = 0;
    size_t len = strlen(s);
    const char *in = guarded(s, len);
    struct conn c;
    conn_init(&c);
    enum conn_status st = CONN_NEED_READ;
    for (size_t i = 0; i < len && st != CONN_CLOSE;) {
        size_t n = split && split < len - i ? split : len - i;
        assert_int_equal(conn_feed(&c, in + i, n), 0);
        i += n;
        st = pump(&c);
    }
    R.out[R.len] = '\0';
    R.last = st;
    conn_free(&c);
    return st;
}

static enum conn_status run(const char *s) {
    return run_split(s, 0);
}

/* Removes Date lines so outputs taken at different seconds compare equal. */
static void strip_dates(char *s) {
    char *d;
    while ((d = strstr(s, "Date: "))) {
        char *eol = strstr(d, "\r\n");
        memmove(d, eol + 2, strlen(eol + 2) + 1);
    }
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

#define GET_HELLO "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

static void test_hello_whole_is_200_with_13_byte_body(void **state) {
    assert_int_equal(run(GET_HELLO), CONN_NEED_READ);
    assert_non_null(strstr(R.out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(R.out, "Content-Length: 13\r\n"));
    assert_non_null(strstr(R.out, "Content-Type: text/plain\r\n"));
    assert_non_null(strstr(R.out, "Server: srvlab\r\n"));
    assert_non_null(strstr(R.out, "Date: "));
    assert_non_null(strstr(R.out, "\r\n\r\nHello, World!"));
    assert_null(strstr(R.out, "Connection:"));
}

static void test_every_split_point_gives_identical_output(void **state) {
    const char *req = "POST /echo HTTP/1.1\r\nHost: example\r\nContent-Length: 11\r\n"
                      "X-Long: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\nhello world" GET_HELLO;
    char whole[4096];
    run(req);
    strip_dates(R.out);
    assert_true(strlen(R.out) < sizeof whole);
    memcpy(whole, R.out, strlen(R.out) + 1);
    assert_int_equal(count(whole, "HTTP/1.1 200 OK"), 2);
    for (size_t split = 1; split < strlen(req); split++) {
        run_split(req, split);
        strip_dates(R.out);
        assert_string_equal(R.out, whole);
    }
}

static void test_pipelined_requests_answered_in_order(void **state) {
    run(GET_HELLO "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" GET_HELLO);
    char *a = strstr(R.out, "200 OK");
    char *b = strstr(R.out, "404 Not Found");
    char *c = strstr(R.out, "\r\n\r\nabc");
    char *d = strstr(c ? c : R.out, "200 OK");
    assert_true(a && b && c && d && a < b && b < c && c < d);
}

static void test_connection_close_closes(void **state) {
    assert_int_equal(run("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" GET_HELLO),
                     CONN_CLOSE);
    assert_non_null(strstr(R.out, "Connection: close\r\n"));
    assert_int_equal(count(R.out, "HTTP/1.1 200"), 1); /* nothing after close */
}

static void test_http10_closes_unless_keepalive(void **state) {
    assert_int_equal(run("GET / HTTP/1.0\r\n\r\n"), CONN_CLOSE);
    assert_non_null(strstr(R.out, "HTTP/1.0 200 OK\r\n"));
    assert_non_null(strstr(R.out, "Connection: close\r\n"));
    assert_int_equal(run("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), CONN_NEED_READ);
    assert_non_null(strstr(R.out, "Connection: keep-alive\r\n"));
}

static void test_head_has_length_but_no_body(void **state) {
    run("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(R.out, "Content-Length: 13\r\n"));
    assert_null(strstr(R.out, "Hello"));
}

static void test_chunked_body_is_echoed_whole(void **state) {
    run_split("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 4);
    assert_non_null(strstr(R.out, "Content-Length: 11\r\n"));
    assert_non_null(strstr(R.out, "\r\n\r\nhello world"));
}

static void test_bad_requests_get_400_and_close(void **state) {
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", /* no Host */
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n",   /* obs-fold */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                       /* space before colon */
        "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",                  /* bare CR */
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(bad[i]), CONN_CLOSE);
        assert_non_null(strstr(R.out, " 400 Bad Request\r\n"));
        assert_non_null(strstr(R.out, "Connection: close"));
    }
}

static void test_oversized_head_gets_431(void **state) {
    static char big[20000];
    strcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + strlen(big), 'a', 9000);
    strcat(big, "\r\n\r\n");
    assert_int_equal(run_split(big, 1000), CONN_CLOSE);
    assert_non_null(strstr(R.out, " 431 "));
    assert_int_equal(run(big), CONN_CLOSE);
    assert_non_null(strstr(R.out, " 431 "));
}

static void test_too_many_headers_gets_431(void **state) {
    static char req[8192];
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 120; i++)
        strcat(req, "A: b\r\n");
    strcat(req, "\r\n");
    assert_int_equal(run(req), CONN_CLOSE);
    assert_non_null(strstr(R.out, " 431 "));
}

static void test_oversized_body_gets_413(void **state) {
    assert_int_equal(run("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"),
                     CONN_CLOSE);
    assert_non_null(strstr(R.out, " 413 "));
}

static void test_large_body_within_limit_is_echoed(void **state) {
    size_t n = 900000;
    char *req = malloc(n + 200);
    int h = sprintf(req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    for (size_t i = 0; i < n; i++)
        req[h + (int)i] = (char)('a' + i % 26);
    req[h + (int)n] = '\0';
    assert_int_equal(run_split(req, 65536), CONN_NEED_READ);
    char *body = strstr(R.out, "\r\n\r\n") + 4;
    assert_int_equal(R.len - (size_t)(body - R.out), n);
    assert_memory_equal(body, req + h, n);
    free(req);
}

static void test_wrong_method_gets_405_with_allow(void **state) {
    run("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(R.out, " 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(R.out, "Allow: GET, HEAD\r\n"));
    run("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(R.out, "Allow: POST\r\n"));
}

static void test_work_io_wait_is_delegated(void **state) {
    run("GET /work?io_us=5000 HTTP/1.1\r\nHost: x\r\n\r\n" GET_HELLO);
    assert_int_equal(R.waits, 1);
    char *a = strstr(R.out, "cpu_us=0 io_us=5000");
    char *b = strstr(R.out, "Hello, World!");
    assert_true(a && b && a < b);
    run("GET /work?io_us=abc HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(R.out, " 400 "));
}

static void test_expect_continue_sends_100_first(void **state) {
    run("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    assert_true(strncmp(R.out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", 40) == 0);
}

static void test_idle_conn_gives_buffers_back(void **state) {
    struct conn c;
    conn_init(&c);
    conn_feed(&c, GET_HELLO, strlen(GET_HELLO));
    conn_process(&c, 0);
    size_t n;
    conn_out(&c, &n);
    conn_out_sent(&c, n);
    assert_true(conn_is_idle(&c));
    conn_shrink(&c);
    assert_null(c.in);
    assert_null(c.out);
    conn_free(&c);
}

static void test_nul_byte_gets_400(void **state) {
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n";
    struct conn c;
    conn_init(&c);
    conn_feed(&c, req, sizeof req - 1);
    assert_int_equal(conn_process(&c, 0), CONN_CLOSE);
    size_t n;
    const char *out = conn_out(&c, &n);
    assert_non_null(out);
    assert_memory_equal(out, "HTTP/1.1 400", 12);
    conn_free(&c);
}

static void test_deadlines_follow_the_connection_state(void **state) {
    struct conn c;
    conn_init(&c);
    uint64_t t0 = c.t_in_us;
    assert_int_equal(conn_deadline_us(&c), t0 + http_cfg.idle_timeout_us);
    conn_feed(&c, "GET / HTTP/1.1\r\nHo", 18);
    assert_int_equal(conn_process(&c, 0), CONN_NEED_READ);
    assert_true(conn_deadline_us(&c) == c.t_in_us + http_cfg.header_timeout_us);
    assert_int_equal(conn_timeout(&c), CONN_CLOSE);
    size_t n;
    const char *out = conn_out(&c, &n);
    assert_non_null(out);
    assert_memory_equal(out, "HTTP/1.1 408 Request Timeout", 28);
    conn_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_whole_is_200_with_13_byte_body),
        cmocka_unit_test(test_every_split_point_gives_identical_output),
        cmocka_unit_test(test_pipelined_requests_answered_in_order),
        cmocka_unit_test(test_connection_close_closes),
        cmocka_unit_test(test_http10_closes_unless_keepalive),
        cmocka_unit_test(test_head_has_length_but_no_body),
        cmocka_unit_test(test_chunked_body_is_echoed_whole),
        cmocka_unit_test(test_bad_requests_get_400_and_close),
        cmocka_unit_test(test_oversized_head_gets_431),
        cmocka_unit_test(test_too_many_headers_gets_431),
        cmocka_unit_test(test_oversized_body_gets_413),
        cmocka_unit_test(test_large_body_within_limit_is_echoed),
        cmocka_unit_test(test_wrong_method_gets_405_with_allow),
        cmocka_unit_test(test_work_io_wait_is_delegated),
        cmocka_unit_test(test_expect_continue_sends_100_first),
        cmocka_unit_test(test_idle_conn_gives_buffers_back),
        cmocka_unit_test(test_nul_byte_gets_400),
        cmocka_unit_test(test_deadlines_follow_the_connection_state),
    };
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
