/* Formats the one request a run repeats (RFC 9112 section 3: request line, fields, body). */
#include "load/reqfmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

/* Length of the field name of "Name: value", or 0 when the line is malformed. */
static size_t field_name_len(const char *h) {
    const char *colon = strchr(h, ':');
    if (!colon || colon == h || strpbrk(h, "\r\n"))
        return 0;
    for (const char *p = h; p < colon; p++)
        if (*p == ' ' || *p == '\t')
            return 0;
    return (size_t)(colon - h);
}

static bool user_has(const struct reqfmt_opts *o, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < o->header_count; i++)
        if (field_name_len(o->headers[i]) == n && !strncasecmp(o->headers[i], name, n))
            return true;
    return false;
}

static int check_headers(const struct reqfmt_opts *o) {
    for (size_t i = 0; i < o->header_count; i++)
        if (!field_name_len(o->headers[i]))
            return -EINVAL;
    if (user_has(o, "Connection") || user_has(o, "Content-Length") ||
        user_has(o, "Transfer-Encoding"))
        return -EINVAL;
    return 0;
}

static bool wants_length(const struct reqfmt_opts *o) {
    return o->body || !strcmp(o->method, "POST") || !strcmp(o->method, "PUT") ||
           !strcmp(o->method, "PATCH");
}

int reqfmt_build(const struct reqfmt_opts *o, char **out, size_t *out_bytes) {
    int rc = check_headers(o);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    char host[URL_HOST_MAX + 16];
    fprintf(f, "%s %s HTTP/1.%d\r\n", o->method, o->url->path, o->is_http10 ? 0 : 1);
    if (!user_has(o, "Host"))
        fprintf(f, "Host: %s\r\n", url_host_header(o->url, host, sizeof host));
    if (!user_has(o, "User-Agent"))
        fprintf(f, "User-Agent: srvlab/%s\r\n", SRVLAB_VERSION);
    for (size_t i = 0; i < o->header_count; i++)
        fprintf(f, "%s\r\n", o->headers[i]);
    if (wants_length(o))
        fprintf(f, "Content-Length: %zu\r\n", o->body ? o->body_bytes : 0);
    if (!o->is_keepalive && !o->is_http10)
        fputs("Connection: close\r\n", f);
    if (o->is_keepalive && o->is_http10)
        fputs("Connection: keep-alive\r\n", f);
    fputs("\r\n", f);
    if (o->body && o->body_bytes)
        fwrite(o->body, 1, o->body_bytes, f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_bytes = len;
    return 0;
}
