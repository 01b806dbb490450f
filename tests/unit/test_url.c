/* Unit tests for src/load/url.c and src/load/reqfmt.c: accepted and rejected URLs, the Host
 * header, and the formatted request bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/reqfmt.h"
#include "load/url.h"

static void test_url_forms_parse(void **state) {
    static const struct {
        const char *text, *host, *port, *path, *host_header;
    } cases[] = {
        {"http://127.0.0.1:8080/", "127.0.0.1", "8080", "/", "127.0.0.1:8080"},
        {"http://localhost", "localhost", "80", "/", "localhost"},
        {"HTTP://example.com/a/b?x=1&y=2#frag", "example.com", "80", "/a/b?x=1&y=2", "example.com"},
        {"http://h:1?q", "h", "1", "/?q", "h:1"},
        {"http://[::1]:9000/work?cpu_us=5", "::1", "9000", "/work?cpu_us=5", "[::1]:9000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct url u;
        char hh[300];
        assert_int_equal(url_parse(cases[i].text, &u), 0);
        assert_string_equal(u.host, cases[i].host);
        assert_string_equal(u.port, cases[i].port);
        assert_string_equal(u.path, cases[i].path);
        assert_string_equal(url_host_header(&u, hh, sizeof hh), cases[i].host_header);
    }
}

static void test_url_bad_forms_are_rejected(void **state) {
    const char *bad[] = {"", "127.0.0.1:8080", "ftp://x/", "http://", "http:///path",
                         "http://h:0/", "http://h:65536/", "http://h:80x/", "http://h:/",
                         "http://a b/", "http://user@h/", "http://[::1/", "http://[::1]x/",
                         "http://h/\x01"};
    struct url u;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (url_parse(bad[i], &u) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(url_parse("https://h/", &u), -EPROTONOSUPPORT);
}

static char *build(const char *method, const char *const *hdrs, size_t nh, const char *body,
                   bool http10, bool keepalive, int *rc) {
    struct url u;
    assert_int_equal(url_parse("http://127.0.0.1:8080/p?q=1", &u), 0);
    struct reqfmt_opts o = {.method = method, .url = &u, .headers = hdrs, .header_count = nh,
                            .body = body, .body_bytes = body ? strlen(body) : 0,
                            .is_http10 = http10, .is_keepalive = keepalive};
    char *out = NULL;
    size_t n = 0;
    *rc = reqfmt_build(&o, &out, &n);
    if (out)
        assert_int_equal(n, strlen(out));
    return out;
}

static void test_reqfmt_get_keepalive(void **state) {
    int rc;
    char *r = build("GET", NULL, 0, NULL, false, true, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(r, "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                           "User-Agent: srvlab/0.1.0\r\n\r\n");
    free(r);
}

static void test_reqfmt_post_body_headers_close(void **state) {
    int rc;
    const char *h[] = {"X-A: 1", "user-agent: mine"};
    char *r = build("POST", h, 2, "hello", false, false, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(r, "POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A: 1\r\n"
                           "user-agent: mine\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                           "hello");
    free(r);
}

static void test_reqfmt_http10_keepalive_asks_for_it(void **state) {
    int rc;
    char *r = build("HEAD", NULL, 0, NULL, true, true, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(r, "HEAD /p?q=1 HTTP/1.0\r\n"));
    assert_non_null(strstr(r, "Connection: keep-alive\r\n\r\n"));
    free(r);
}

static void test_reqfmt_bad_headers_are_refused(void **state) {
    const char *bad[][1] = {{"NoColon"}, {": empty"}, {"Bad Name: x"}, {"X: a\r\nY: b"},
                            {"Connection: close"}, {"content-length: 3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        char *r = build("GET", bad[i], 1, NULL, false, true, &rc);
        assert_int_equal(rc, -EINVAL);
        assert_null(r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms_parse),
        cmocka_unit_test(test_url_bad_forms_are_rejected),
        cmocka_unit_test(test_reqfmt_get_keepalive),
        cmocka_unit_test(test_reqfmt_post_body_headers_close),
        cmocka_unit_test(test_reqfmt_http10_keepalive_asks_for_it),
        cmocka_unit_test(test_reqfmt_bad_headers_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
