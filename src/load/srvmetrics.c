/* `srvlab load --server-metrics URL`: scrapes srvlab serve's Prometheus /metrics before and
 * after a run and decomposes the mean latency into RTT + queueing delay + service time +
 * remainder. One blocking HTTP/1.1 GET each time (off the measured path); parsing is a plain
 * line scan of the few series used. */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "load/load.h"

#define SCRAPE_TIMEOUT_S 5
#define SCRAPE_MAX_BYTES (1 << 20)

static int connect_to(const struct url *u, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", u->host, gai_strerror(rc));
        return -ENOENT;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = SCRAPE_TIMEOUT_S};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        rc = -errno;
        snprintf(err, errlen, "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return rc;
    }
    freeaddrinfo(res);
    return fd;
}

/* GET the URL with Connection: close; *body points into the returned buffer (free it). */
static char *http_get(const struct url *u, char **body, char *err, size_t errlen) {
    int fd = connect_to(u, err, errlen);
    if (fd < 0)
        return NULL;
    char req[URL_PATH_MAX + URL_HOST_MAX + 128], host[URL_HOST_MAX + 16];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     u->path, url_host_header(u, host, sizeof host));
    char *buf = malloc(SCRAPE_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t got = 1;
    if (buf && send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
        while (len < SCRAPE_MAX_BYTES && (got = recv(fd, buf + len, SCRAPE_MAX_BYTES - len, 0)) > 0)
            len += (size_t)got;
    close(fd);
    char *sep = buf ? (buf[len] = 0, strstr(buf, "\r\n\r\n")) : NULL;
    if (!sep || got < 0 || strncmp(buf, "HTTP/1.1 200", 12)) {
        snprintf(err, errlen, "no 200 answer with a body (%s)", got < 0 ? strerror(errno)
                                                                   : "bad response");
        free(buf);
        return NULL;
    }
    *body = sep + 4;
    return buf;
}

/* Index of a bucket bound in s->le, added when new (buckets come in increasing order). */
static int bucket_index(struct srvmetrics_sample *s, double le) {
    for (size_t i = 0; i < s->bucket_count; i++)
        if (s->le[i] == le)
            return (int)i;
    if (s->bucket_count == SRVMETRICS_MAX_BUCKETS)
        return -1;
    s->le[s->bucket_count] = le;
    return (int)s->bucket_count++;
}

static void parse_histogram_line(struct srvmetrics_sample *s, struct srvmetrics_hist *h,
                                 const char *rest) {
    double v;
    if (sscanf(rest, "_sum %lf", &v) == 1)
        h->sum_s = v;
    else if (sscanf(rest, "_count %lf", &v) == 1)
        h->count = v;
    else if (!strncmp(rest, "_bucket{le=\"", 12)) {
        const char *q = rest + 12;
        double le = !strncmp(q, "+Inf", 4) ? INFINITY : strtod(q, NULL);
        const char *val = strchr(q, '}');
        int i = bucket_index(s, le);
        if (val && i >= 0)
            h->cum[i] = strtod(val + 1, NULL);
    }
}

static void parse_line(struct srvmetrics_sample *s, const char *line) {
    static const char q[] = "srvlab_queueing_delay_seconds", sv[] = "srvlab_service_time_seconds",
                      rq[] = "srvlab_requests_total{";
    if (!strncmp(line, q, sizeof q - 1))
        parse_histogram_line(s, &s->queueing, line + sizeof q - 1);
    else if (!strncmp(line, sv, sizeof sv - 1))
        parse_histogram_line(s, &s->service, line + sizeof sv - 1);
    else if (!strncmp(line, rq, sizeof rq - 1)) {
        const char *val = strchr(line, '}');
        s->requests += val ? strtod(val + 1, NULL) : 0;
    }
}

int srvmetrics_scrape(const struct url *u, struct srvmetrics_sample *out, char *err,
                      size_t errlen) {
    memset(out, 0, sizeof *out);
    char *body, *buf = http_get(u, &body, err, errlen);
    if (!buf)
        return -EIO;
    for (char *save, *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (line[0] != '#')
            parse_line(out, line);
    free(buf);
    if (!out->queueing.count && !out->service.count && !out->requests && !out->bucket_count) {
        snprintf(err, errlen, "no srvlab_* series in the answer (is it srvlab serve /metrics?)");
        return -EPROTO;
    }
    return 0;
}

/* Mean and p99 bucket of the requests between two scrapes. p99 is known only to a bucket:
 * (lo, hi] in microseconds. */
static void part(const struct srvmetrics_sample *a, const struct srvmetrics_sample *b,
                 const struct srvmetrics_hist *ha, const struct srvmetrics_hist *hb,
                 struct load_server_part *out) {
    double n = hb->count - ha->count;
    out->count = n > 0 ? (uint64_t)n : 0;
    out->mean_us = n > 0 ? (hb->sum_s - ha->sum_s) / n * 1e6 : NAN;
    out->p99_lo_us = out->p99_hi_us = NAN;
    for (size_t i = 0; n > 0 && i < b->bucket_count; i++) {
        int j = -1; /* the same bound in the earlier scrape */
        for (size_t k = 0; k < a->bucket_count; k++)
            if (a->le[k] == b->le[i])
                j = (int)k;
        double cum = hb->cum[i] - (j >= 0 ? ha->cum[j] : 0);
        if (cum >= 0.99 * n) {
            out->p99_lo_us = i ? b->le[i - 1] * 1e6 : 0;
            out->p99_hi_us = b->le[i] * 1e6;
            return;
        }
    }
}

void srvmetrics_decompose(const struct srvmetrics_sample *before,
                          const struct srvmetrics_sample *after, const struct load_stats *st,
                          struct load_server *out) {
    out->has = true;
    out->requests = after->requests > before->requests + 1
                        ? (uint64_t)(after->requests - before->requests - 1) : 0;
    part(before, after, &before->queueing, &after->queueing, &out->queueing);
    part(before, after, &before->service, &after->service, &out->service);
    /* RTT: a TCP handshake is one round trip, so the loader's connect time measures it. */
    out->rtt_count = hist_count(&st->connect);
    out->rtt_mean_us = out->rtt_count ? hist_mean(&st->connect) : NAN;
    out->rtt_p99_us = out->rtt_count ? (double)hist_percentile(&st->connect, 99) : NAN;
    out->latency_mean_us = hist_count(&st->latency) ? hist_mean(&st->latency) : NAN;
    double rtt = isnan(out->rtt_mean_us) ? 0 : out->rtt_mean_us;
    out->remainder_us = out->latency_mean_us - (rtt + out->queueing.mean_us +
                                                out->service.mean_us);
}
