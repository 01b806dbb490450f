/* Unit tests for the request-smuggling and framing defences of src/http/conn.c: each attack,
 * fed whole and at every split point, gets its status and closes; a valid request after the
 * same framing headers still works. The end-to-end versions are in tests/e2e/test_hostile.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/conn.h"

/* Undefined behaviour fails this binary instead of printing a line nobody reads. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
    return "halt_on_error=1:print_stacktrace=1";
}

static char out[65536];
static size_t out_len;

static void drain(struct conn *c) {
    size_t n;
    const char *p = conn_out(c, &n);
    if (p) {
        size_t room = sizeof out - 1 - out_len;
        memcpy(out + out_len, p, n < room ? n : room);
        out_len += n < room ? n : room;
        conn_out_sent(c, n);
    }
}

/* Feeds len bytes of s in pieces of split bytes; waits are skipped. Output lands in out. */
static enum conn_status feed(const char *s, size_t len, size_t split) {
    struct conn c;
    conn_init(&c);
    out_len = 0;
    enum conn_status st = CONN_NEED_READ;
    for (size_t i = 0; i < len && st != CONN_CLOSE;) {
        size_t n = split < len - i ? split : len - i;
        assert_int_equal(conn_feed(&c, s + i, n), 0);
        i += n;
        do {
            st = conn_process(&c, UINT64_MAX / 2);
            drain(&c);
        } while (st == CONN_WAIT || st == CONN_WRITE);
    }
    out[out_len] = '\0';
    conn_free(&c);
    return st;
}

struct attack {
    const char *name;
    const char *req;
    size_t len; /* 0: strlen(req) */
    const char *status;
};

#define NUL_REQ "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"

static const struct attack attacks[] = {
    {"CL and TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, " 400 "},
    {"two CLs", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
                "\r\nhello!", 0, " 400 "},
    {"CL list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!", 0, " 400 "},
    {"TE gzip", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 0, " 400 "},
    {"TE chunked not last", "POST /echo HTTP/1.1\r\nHost: x\r\n"
                            "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 0, " 400 "},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 0, " 400 "},
    {"space before colon, CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n"
                               "hello", 0, " 400 "},
    {"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 0, " 400 "},
    {"bare CR", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 0, " 400 "},
    {"NUL", NUL_REQ, sizeof NUL_REQ - 1, " 400 "},
    {"chunk size zz", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "zz\r\nhello\r\n0\r\n\r\n", 0, " 400 "},
    {"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            "\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 0, " 400 "},
};

static void test_each_attack_gets_its_status_and_closes_at_every_split(void **state) {
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        const struct attack *a = &attacks[i];
        size_t len = a->len ? a->len : strlen(a->req);
        for (size_t split = 1; split <= len; split++) {
            enum conn_status st = feed(a->req, len, split);
            bool is_first = out_len > 8 && strncmp(out + 8, a->status, 5) == 0;
            if (st != CONN_CLOSE || !is_first || !strstr(out, "Connection: close"))
                fail_msg("%s (split %zu): %s", a->name, split, out);
        }
    }
}

static void test_chunked_with_extension_and_trailer_is_echoed(void **state) {
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (size_t split = 1; split <= strlen(req); split++) {
        assert_int_equal(feed(req, strlen(req), split), CONN_NEED_READ);
        assert_non_null(strstr(out, "\r\n\r\nhelloabc"));
    }
}

/* Chunk sizes are not checked against --max-body up front; the body is, as it arrives. */
static void test_chunked_body_over_max_body_gets_413(void **state) {
    static char req[1300000];
    size_t n = (size_t)sprintf(req, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        n += (size_t)sprintf(req + n, "%x\r\n", 600000);
        memset(req + n, 'a', 600000);
        n += 600000;
        n += (size_t)sprintf(req + n, "\r\n");
    }
    n += (size_t)sprintf(req + n, "0\r\n\r\n");
    assert_int_equal(feed(req, n, 65536), CONN_CLOSE);
    assert_non_null(strstr(out, " 413 "));
}

/* Found by tests/fuzz: /work without a query string did NULL + 0 in work_parse_query. */
static void test_work_without_query_is_200(void **state) {
    const char *req = "GET /work HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(feed(req, strlen(req), strlen(req)), CONN_NEED_READ);
    assert_memory_equal(out, "HTTP/1.1 200 OK\r\n", 17);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_attack_gets_its_status_and_closes_at_every_split),
        cmocka_unit_test(test_chunked_with_extension_and_trailer_is_echoed),
        cmocka_unit_test(test_chunked_body_over_max_body_gets_413),
        cmocka_unit_test(test_work_without_query_is_200),
    };
    return cmocka_run_group_tests_name("conn_hostile", tests, NULL, NULL);
}
