/* Unit tests for src/http/accesslog.c: the exact line format, client addresses recorded per
 * connection (a reused fd gets the new client's), the getpeername fallback, the date cache.
 * Real loopback sockets from 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to lo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/accesslog.h"

#define TABLE_FDS 64 /* the soft limit while the log is opened: fds from 64 up are not in it */

static char log_path[] = "/tmp/srvlab-test-accesslog.XXXXXX";
static int listen_fd = -1;
static off_t log_read_off; /* lines before this offset were checked already */

static int setup(void **state) {
    int fd = mkstemp(log_path);
    if (fd < 0)
        return -1;
    close(fd);
    struct rlimit saved, small;
    if (getrlimit(RLIMIT_NOFILE, &saved) < 0)
        return -1;
    small = saved;
    small.rlim_cur = TABLE_FDS;
    if (setrlimit(RLIMIT_NOFILE, &small) < 0 || accesslog_open(log_path) < 0)
        return -1;
    setrlimit(RLIMIT_NOFILE, &saved);
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(listen_fd, 8) < 0)
        return -1;
    return 0;
}

static int teardown(void **state) {
    close(listen_fd);
    unlink(log_path);
    return 0;
}

/* Connects from src (a 127.0.0.x address) to the listener; returns the server's end and sets
 * *client to the client's. */
static int connect_from(const char *src, int *client) {
    struct sockaddr_in to;
    socklen_t len = sizeof to;
    assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&to, &len), 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(*client, (struct sockaddr *)&from, sizeof from), 0);
    assert_int_equal(connect(*client, (struct sockaddr *)&to, sizeof to), 0);
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void log_get(int fd, const char *url) {
    accesslog_write(fd, HTTP_GET, url, strlen(url), 1, 200, 13, 1500, 2500);
}

/* The lines logged since the last call (flushed), in out. */
static void new_lines(char *out, size_t cap) {
    accesslog_flush_all();
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = pread(fd, out, cap - 1, log_read_off);
    close(fd);
    assert_true(n >= 0);
    out[n] = '\0';
    log_read_off += n;
}

static void assert_matches(const char *line, const char *pattern) {
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    int rc = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("'%s' does not match '%s'", line, pattern);
}

static void test_accesslog_line_format_is_common_log_plus_times(void **state) {
    int client, fd = connect_from("127.0.0.2", &client);
    accesslog_set_peer(fd);
    log_get(fd, "/work?cpu_us=10");
    char out[4096];
    new_lines(out, sizeof out);
    assert_matches(out, "^127\\.0\\.0\\.2 - - \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:"
                        "[0-9]{2} \\+0000\\] \"GET /work\\?cpu_us=10 HTTP/1\\.1\" 200 13 "
                        "queue_us=1\\.5 handler_us=2\\.5\n$");
    close(fd);
    close(client);
}

static void test_accesslog_reused_fd_logs_the_new_client(void **state) {
    int c2, fd2 = connect_from("127.0.0.2", &c2);
    accesslog_set_peer(fd2);
    log_get(fd2, "/first");
    close(fd2);
    close(c2);
    int c3, fd3 = connect_from("127.0.0.3", &c3);
    assert_int_equal(fd3, fd2); /* the lowest free number: the case under test */
    accesslog_set_peer(fd3);
    log_get(fd3, "/second");
    char out[4096];
    new_lines(out, sizeof out);
    assert_matches(out, "^127\\.0\\.0\\.2 - - [^\n]*\"GET /first HTTP/1\\.1\"");
    assert_matches(out, "^127\\.0\\.0\\.3 - - [^\n]*\"GET /second HTTP/1\\.1\"");
    close(fd3);
    close(c3);
}

static void test_accesslog_unrecorded_or_large_fd_asks_getpeername(void **state) {
    int client, fd = connect_from("127.0.0.3", &client);
    int fresh = dup2(fd, TABLE_FDS - 1); /* in the table, never recorded */
    int large = dup2(fd, TABLE_FDS + 10); /* beyond the table */
    assert_int_equal(fresh, TABLE_FDS - 1);
    assert_int_equal(large, TABLE_FDS + 10);
    accesslog_set_peer(large); /* a no-op, not an out-of-bounds write */
    log_get(fresh, "/fresh");
    log_get(large, "/large");
    log_get(-1, "/unknown");
    char out[4096];
    new_lines(out, sizeof out);
    assert_matches(out, "^127\\.0\\.0\\.3 - - [^\n]*\"GET /fresh HTTP/1\\.1\"");
    assert_matches(out, "^127\\.0\\.0\\.3 - - [^\n]*\"GET /large HTTP/1\\.1\"");
    assert_matches(out, "^- - - [^\n]*\"GET /unknown HTTP/1\\.1\"");
    close(large);
    close(fresh);
    close(fd);
    close(client);
}

static void format_date(time_t t, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
}

/* The date is cached per thread: a line in a later second must carry that second. */
static void test_accesslog_date_follows_the_clock(void **state) {
    for (int i = 0; i < 2; i++) {
        time_t before = time(NULL);
        log_get(-1, "/date");
        time_t after = time(NULL);
        char out[4096], d0[40], d1[40];
        new_lines(out, sizeof out);
        format_date(before, d0, sizeof d0);
        format_date(after, d1, sizeof d1);
        assert_true(strstr(out, d0) || strstr(out, d1));
        while (time(NULL) == after) /* at most a second */
            usleep(10000);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accesslog_line_format_is_common_log_plus_times),
        cmocka_unit_test(test_accesslog_reused_fd_logs_the_new_client),
        cmocka_unit_test(test_accesslog_unrecorded_or_large_fd_asks_getpeername),
        cmocka_unit_test(test_accesslog_date_follows_the_clock),
    };
    return cmocka_run_group_tests_name("accesslog", tests, setup, teardown);
}
