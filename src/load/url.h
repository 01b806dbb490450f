/* Target URLs for the load generator: http://host[:port][/path][?query]. Parsing only; name
 * resolution happens in load.c. */
#ifndef SRVLAB_URL_H
#define SRVLAB_URL_H

#include <stdbool.h>

#define URL_HOST_MAX 256
#define URL_PATH_MAX 4096

struct url {
    char host[URL_HOST_MAX]; /* without brackets for IPv6 literals */
    char port[8];            /* decimal, "80" when absent */
    char path[URL_PATH_MAX]; /* origin-form request target: "/" at least, query included */
    bool has_port;           /* the URL named a port (the Host header then repeats it) */
    bool is_ipv6;
};

/* Parses text into u. Returns 0, -EINVAL for a malformed URL (bad scheme, empty host, port
 * outside 1..65535, spaces or control characters, fragment-only junk) or -EPROTONOSUPPORT
 * for https:// (no TLS support). A fragment ("#x") is dropped, as clients do. */
int url_parse(const char *text, struct url *u);

/* The Host header value: "host" or "host:port" ("[::1]:8080" for IPv6). Returns buf. */
char *url_host_header(const struct url *u, char *buf, unsigned len);

#endif
