/* Static files: safe resolution of a URL path below the root, and MIME types.
 * Opens files; never reads or sends them (the architecture sends with sendfile). */
#ifndef SRVLAB_HTTP_FILES_H
#define SRVLAB_HTTP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Percent-decodes the raw URL path (without the query) into out (NUL-terminated).
 * Returns the length, or -EINVAL for bad escapes, NUL bytes, a ".." segment or too long. */
int files_decode_path(const char *raw, size_t len, char *out, size_t cap);

/* Opens rel (decoded, relative to root_fd) read-only, refusing anything outside the root
 * (symlinks included), names starting with '.' unless has_dotfiles, and non-regular files.
 * Returns an fd with *st filled, -ENOENT (answer 404) or -EINVAL (answer 400). */
int files_open(int root_fd, const char *rel, bool has_dotfiles, struct stat *st);

/* The Content-Type for a file name, by extension; application/octet-stream by default. */
const char *files_mime(const char *name);

#endif
