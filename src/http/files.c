/* Static file resolution below --root (see files.h). Escapes are refused twice: the decoded
 * path may not contain "..", and openat2(RESOLVE_BENEATH) refuses symlinks leading out. */
#include "http/files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Refuses "." and ".." segments, and empty segments ("a//b"). */
static int check_segments(const char *p, bool has_dotfiles) {
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return -EINVAL;
        if (p[0] == '.' && !has_dotfiles)
            return -ENOENT;
        p += n + (slash ? 1 : 0);
    }
    return 0;
}

int files_decode_path(const char *raw, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = raw[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hexval(raw[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(raw[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -EINVAL;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (ch == '\0' || ch == '\\' || n + 1 >= cap)
            return -EINVAL;
        out[n++] = ch;
    }
    out[n] = '\0';
    if (check_segments(out, true) == -EINVAL)
        return -EINVAL;
    return (int)n;
}

static int open_beneath(int root_fd, const char *rel) {
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return fd >= 0 ? (int)fd : -errno;
    /* Old kernel: no symlinks at all on the way, which is stricter than needed but safe. */
    fd = openat(root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    return fd >= 0 ? (int)fd : -errno;
}

int files_open(int root_fd, const char *rel, bool has_dotfiles, struct stat *st) {
    if (root_fd < 0)
        return -ENOENT;
    int rc = check_segments(rel, has_dotfiles);
    if (rc < 0)
        return rc;
    int fd = open_beneath(root_fd, rel);
    if (fd < 0)
        return -ENOENT;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -ENOENT;
    }
    /* O_NONBLOCK was only there so a FIFO could not block open(); files ignore it. */
    return fd;
}

struct mime {
    const char *ext;
    const char *type;
};

static const struct mime mimes[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css"}, {"js", "text/javascript"}, {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown"}, {"csv", "text/csv"},
    {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
    {"webp", "image/webp"}, {"ico", "image/x-icon"}, {"pdf", "application/pdf"},
    {"wasm", "application/wasm"}, {"woff2", "font/woff2"}, {"mp4", "video/mp4"},
    {"gz", "application/gzip"}, {"zip", "application/zip"},
};

const char *files_mime(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
            if (strcasecmp(dot + 1, mimes[i].ext) == 0)
                return mimes[i].type;
    }
    return "application/octet-stream";
}
