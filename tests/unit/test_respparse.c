/* Unit tests for src/load/respparse.c: whole, byte-by-byte and every-split-point feeding, each
 * input placed right before a PROT_NONE page so an over-read crashes; chunked, pipelined, HEAD,
 * interim 1xx, end-of-connection bodies, and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "load/respparse.h"

struct expect {
    int status;
    uint64_t body_bytes;
    bool is_keepalive;
};

struct vector {
    const char *name;
    const char *text;
    bool is_head;
    int responses; /* complete responses in text */
    struct expect first, last;
};

static const struct vector vectors[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", false, 1,
     {200, 13, true}, {200, 13, true}},
    {"chunked",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, World!\r\n"
     "0\r\nX-Trailer: 1\r\n\r\n",
     false, 1, {200, 13, true}, {200, 13, true}},
    {"pipelined",
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
     "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     false, 3, {200, 2, true}, {503, 3, true}},
    {"head",
     "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
     true, 2, {200, 0, true}, {200, 0, true}},
    {"interim-100",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
     false, 1, {201, 1, true}, {201, 1, true}},
    {"http10-close", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc", false, 1, {200, 3, false},
     {200, 3, false}},
    {"connection-close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\n!",
     false, 1, {500, 1, false}, {500, 1, false}},
};

/* Copies text so it ends exactly at a PROT_NONE page. */
static char *guarded(const char *text, size_t len, void **map) {
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)page - 1) / (size_t)page + 1;
    char *m = mmap(NULL, pages * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + (pages - 1) * (size_t)page, (size_t)page, PROT_NONE), 0);
    char *at = m + (pages - 1) * (size_t)page - len;
    memcpy(at, text, len);
    *map = m;
    return at;
}

static void unguard(void *map, size_t len) {
    long page = sysconf(_SC_PAGESIZE);
    munmap(map, ((len + (size_t)page - 1) / (size_t)page + 1) * (size_t)page);
}

/* Feeds buf[0..len) in pieces whose ends are listed in cuts; counts completed responses. */
static int feed_pieces(const struct vector *v, const char *buf, size_t len, const size_t *cuts,
                       size_t ncuts, struct expect *first, struct expect *last) {
    struct respparse r;
    respparse_init(&r, v->is_head);
    int done = 0;
    size_t off = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        while (off < end) {
            long n = respparse_feed(&r, buf + off, end - off);
            assert_true(n >= 0);
            off += (size_t)n;
            if (r.is_done) {
                struct expect e = {r.status, r.body_bytes, r.is_keepalive};
                if (done++ == 0)
                    *first = e;
                *last = e;
            } else {
                assert_int_equal(off, end); /* an unfinished response consumes everything */
            }
        }
    }
    return done;
}

static void check_expect(const struct vector *v, const struct expect *got,
                         const struct expect *want) {
    if (got->status != want->status || got->body_bytes != want->body_bytes ||
        got->is_keepalive != want->is_keepalive)
        fail_msg("%s: got %d/%lu/%d", v->name, got->status, (unsigned long)got->body_bytes,
                 got->is_keepalive);
}

static void test_respparse_vectors_whole_and_split_everywhere(void **state) {
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        size_t len = strlen(v->text);
        void *map;
        char *buf = guarded(v->text, len, &map);
        struct expect first, last;
        assert_int_equal(feed_pieces(v, buf, len, NULL, 0, &first, &last), v->responses);
        check_expect(v, &first, &v->first);
        check_expect(v, &last, &v->last);
        for (size_t cut = 1; cut < len; cut++) {
            assert_int_equal(feed_pieces(v, buf, len, &cut, 1, &first, &last), v->responses);
            check_expect(v, &last, &v->last);
        }
        unguard(map, len);
    }
}

static void test_respparse_vectors_byte_by_byte(void **state) {
    size_t cuts[512];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        size_t len = strlen(v->text);
        for (size_t k = 0; k < len; k++)
            cuts[k] = k + 1;
        void *map;
        char *buf = guarded(v->text, len, &map);
        struct expect first, last;
        assert_int_equal(feed_pieces(v, buf, len, cuts, len, &first, &last), v->responses);
        check_expect(v, &first, &v->first);
        check_expect(v, &last, &v->last);
        unguard(map, len);
    }
}

static void test_respparse_garbage_is_bad(void **state) {
    const char *bad[] = {"garbage\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct respparse r;
        respparse_init(&r, false);
        long total = 0, n = 0;
        size_t len = strlen(bad[i]);
        while ((size_t)total < len &&
               (n = respparse_feed(&r, bad[i] + total, len - (size_t)total)) > 0)
            total += n;
        assert_int_equal(n, RESPPARSE_BAD);
    }
}

static void test_respparse_body_until_eof_completes_on_close(void **state) {
    const char *t = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
    struct respparse r;
    respparse_init(&r, false);
    assert_int_equal(respparse_feed(&r, t, strlen(t)), (long)strlen(t));
    assert_false(r.is_done);
    assert_int_equal(respparse_eof(&r), 1);
    assert_true(r.is_done);
    assert_int_equal(r.body_bytes, 13);
    assert_false(r.is_keepalive);
}

static void test_respparse_close_mid_response_is_bad(void **state) {
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    struct respparse r;
    respparse_init(&r, false);
    assert_int_equal(respparse_feed(&r, t, strlen(t)), (long)strlen(t));
    assert_int_equal(respparse_eof(&r), RESPPARSE_BAD);
    respparse_init(&r, false);
    assert_int_equal(respparse_feed(&r, "HTTP/1.1 2", 10), 10);
    assert_int_equal(respparse_eof(&r), RESPPARSE_BAD);
}

static void test_respparse_close_between_responses_is_clean(void **state) {
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    struct respparse r;
    respparse_init(&r, false);
    assert_int_equal(respparse_eof(&r), 0);
    assert_int_equal(respparse_feed(&r, t, strlen(t)), (long)strlen(t));
    assert_true(r.is_done);
    assert_int_equal(respparse_eof(&r), 0);
}

/* The fast path (whole simple responses) and libhttp-parser must agree on every input. */
static void test_respparse_fast_path_agrees_with_parser(void **state) {
    static const char *const inputs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\n"
        "Hello, World!",
        "HTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 2 x\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab",
        "HTTP/1.1 999 Odd\r\nContent-Length: 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 500 E\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct respparse fast, slow;
        size_t len = strlen(inputs[i]), off_fast = 0, off_slow = 0;
        respparse_init(&fast, false);
        respparse_init(&slow, false);
        slow.is_fast_ok = false;
        for (int round = 0; round < 2; round++) {
            long a = respparse_feed(&fast, inputs[i] + off_fast, len - off_fast);
            long b = respparse_feed(&slow, inputs[i] + off_slow, len - off_slow);
            if (a != b || fast.is_done != slow.is_done ||
                (fast.is_done &&
                 (fast.status != slow.status || fast.body_bytes != slow.body_bytes ||
                  fast.is_keepalive != slow.is_keepalive)))
                fail_msg("input %zu round %d: fast %ld/%d/%d, parser %ld/%d/%d", i, round, a,
                         fast.is_done, fast.status, b, slow.is_done, slow.status);
            if (a <= 0)
                break;
            off_fast += (size_t)a;
            off_slow += (size_t)b;
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respparse_vectors_whole_and_split_everywhere),
        cmocka_unit_test(test_respparse_vectors_byte_by_byte),
        cmocka_unit_test(test_respparse_garbage_is_bad),
        cmocka_unit_test(test_respparse_body_until_eof_completes_on_close),
        cmocka_unit_test(test_respparse_close_mid_response_is_bad),
        cmocka_unit_test(test_respparse_close_between_responses_is_clean),
        cmocka_unit_test(test_respparse_fast_path_agrees_with_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
