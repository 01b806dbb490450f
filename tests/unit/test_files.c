/* Unit tests for src/http/files.c: percent-decoding, every escape attempt, dotfiles, MIME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/files.h"

static char dir[64];
static int root_fd = -1;

static void put_file(const char *rel, const char *content) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int setup(void **state) {
    strcpy(dir, "/tmp/srvlab-files-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char path[256];
    snprintf(path, sizeof path, "%s/www", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/www/sub", dir);
    mkdir(path, 0755);
    put_file("secret.txt", "outside");
    put_file("www/index.html", "<p>hi</p>");
    put_file("www/sub/a b.txt", "space");
    put_file("www/.hidden", "dot");
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    char link[256];
    snprintf(link, sizeof link, "%s/www/escape", dir);
    if (symlink(path, link) < 0 || symlink("/etc", (snprintf(link, sizeof link, "%s/www/etc", dir), link)) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/www", dir);
    root_fd = open(path, O_RDONLY | O_DIRECTORY);
    return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    close(root_fd);
    return system(cmd) == 0 ? 0 : -1;
}

/* Decodes and opens like the /static/ route does: fd >= 0, -ENOENT or -EINVAL. */
static int open_url(const char *raw) {
    char rel[1024];
    int n = files_decode_path(raw, strlen(raw), rel, sizeof rel);
    if (n < 0)
        return n;
    struct stat st;
    int fd = files_open(root_fd, rel, false, &st);
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? 0 : fd;
}

static void test_regular_files_open(void **state) {
    assert_int_equal(open_url("index.html"), 0);
    assert_int_equal(open_url("sub/a%20b.txt"), 0);
}

static void test_escape_attempts_are_refused(void **state) {
    const char *attacks[] = {
        "../secret.txt", "%2e%2e/secret.txt", "%2E%2E/secret.txt", "sub/../../secret.txt",
        "sub/%2e%2e/%2e%2e/secret.txt", "..%2fsecret.txt", "escape", "etc/passwd",
        "/etc/passwd", "%2fetc%2fpasswd", "index.html%00.txt", "sub//a%20b.txt", "./index.html",
        "sub\\..\\..\\secret.txt", "%",  "%zz",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        int rc = open_url(attacks[i]);
        if (rc == 0)
            fail_msg("escaped the root with '%s'", attacks[i]);
        assert_true(rc == -ENOENT || rc == -EINVAL);
    }
}

static void test_dotfiles_and_directories_are_404(void **state) {
    assert_int_equal(open_url(".hidden"), -ENOENT);
    assert_int_equal(open_url("sub"), -ENOENT);
    assert_int_equal(open_url("missing.txt"), -ENOENT);
    struct stat st;
    int fd = files_open(root_fd, ".hidden", true, &st);
    assert_true(fd >= 0);
    close(fd);
}

static void test_mime_by_extension(void **state) {
    assert_string_equal(files_mime("a/b.HTML"), "text/html; charset=utf-8");
    assert_string_equal(files_mime("x.png"), "image/png");
    assert_string_equal(files_mime("noext"), "application/octet-stream");
    assert_string_equal(files_mime("dir.d/noext"), "application/octet-stream");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_files_open),
        cmocka_unit_test(test_escape_attempts_are_refused),
        cmocka_unit_test(test_dotfiles_and_directories_are_404),
        cmocka_unit_test(test_mime_by_extension),
    };
    return cmocka_run_group_tests_name("files", tests, setup, teardown);
}
