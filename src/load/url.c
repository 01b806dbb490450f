/* URL parsing (RFC 3986 subset: the http scheme, a host, an optional port, a path). */
#include "load/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_bad_chars(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

static int parse_port(const char *s, size_t n, struct url *u) {
    if (n == 0 || n > 5)
        return -EINVAL;
    long port = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    snprintf(u->port, sizeof u->port, "%ld", port);
    u->has_port = true;
    return 0;
}

/* host[:port] or [v6]:port, authority = s[0..n). */
static int parse_authority(const char *s, size_t n, struct url *u) {
    if (memchr(s, '@', n))
        return -EINVAL; /* userinfo is not supported */
    const char *host = s, *colon;
    size_t host_len;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -EINVAL;
        host = s + 1;
        host_len = (size_t)(close - host);
        u->is_ipv6 = true;
        colon = close + 1 < s + n ? close + 1 : NULL;
        if (colon && *colon != ':')
            return -EINVAL;
    } else {
        colon = memchr(s, ':', n);
        host_len = colon ? (size_t)(colon - s) : n;
    }
    if (host_len == 0 || host_len >= sizeof u->host)
        return -EINVAL;
    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';
    if (colon)
        return parse_port(colon + 1, (size_t)(s + n - colon - 1), u);
    return 0;
}

int url_parse(const char *text, struct url *u) {
    memset(u, 0, sizeof *u);
    strcpy(u->port, "80");
    if (!strncasecmp(text, "https://", 8))
        return -EPROTONOSUPPORT;
    if (strncasecmp(text, "http://", 7) || has_bad_chars(text))
        return -EINVAL;
    const char *auth = text + 7;
    size_t auth_len = strcspn(auth, "/?#");
    int rc = parse_authority(auth, auth_len, u);
    if (rc < 0)
        return rc;
    const char *rest = auth + auth_len;
    size_t path_len = strcspn(rest, "#");
    if (path_len + 2 > sizeof u->path)
        return -EINVAL;
    if (rest[0] != '/')
        u->path[0] = '/';
    strncat(u->path, rest, path_len);
    return 0;
}

char *url_host_header(const struct url *u, char *buf, unsigned len) {
    const char *l = u->is_ipv6 ? "[" : "", *r = u->is_ipv6 ? "]" : "";
    if (u->has_port)
        snprintf(buf, len, "%s%s%s:%s", l, u->host, r, u->port);
    else
        snprintf(buf, len, "%s%s%s", l, u->host, r);
    return buf;
}
