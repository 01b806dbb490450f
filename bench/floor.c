/* The floor: what any HTTP/1.1 server on this kernel must spend per keep-alive request, measured.
 * One thread, level-triggered epoll, per readable connection one recv() and one send() of a
 * canned response (the same bytes srvlab sends for GET /), one per request head found ("\r\n\r\n"
 * counted across reads). No parsing, routing, date, metrics or timeouts: it is not a server and
 * answers anything with 200. bench/server_vs_nginx.sh runs it beside the real servers, so their
 * requests per CPU-second can be read against the most this system-call pattern allows.
 *
 *   cc -O2 -o floor bench/floor.c && ./floor PORT     (127.0.0.1; runs until killed) */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define MAX_FDS 65536

/* srvlab's bytes for GET / (a fixed Date of the same length). */
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nServer: srvlab\r\n"
                               "Date: Thu, 26 Nov 2026 09:47:47 GMT\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
                               "Hello, World!";
#define RESPONSE_LEN (sizeof RESPONSE - 1)
#define MAX_BATCH 64 /* responses per send when requests arrive pipelined */

static unsigned char tail_state[MAX_FDS]; /* bytes of "\r\n\r\n" matched at the end of the last read */

static int die(const char *what) {
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Request heads completed in buf[0..n), continuing the match state *st. */
static int heads(const char *buf, ssize_t n, unsigned char *st) {
    static const char end[] = "\r\n\r\n";
    int count = 0;
    unsigned char s = *st;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == end[s])
            s++;
        else
            s = buf[i] == '\r';
        if (s == 4) {
            count++;
            s = 0;
        }
    }
    *st = s;
    return count;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor PORT\n");
        return 2;
    }
    static char out[MAX_BATCH * RESPONSE_LEN];
    for (int i = 0; i < MAX_BATCH; i++)
        memcpy(out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 511) < 0)
        die("bind/listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    struct epoll_event evs[MAX_EVENTS];
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_FDS) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    tail_state[c] = 0;
                    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(fd); /* closing removes it from the epoll set */
                continue;
            }
            int k = heads(buf, r, &tail_state[fd]);
            while (k > 0) {
                int b = k < MAX_BATCH ? k : MAX_BATCH;
                /* A loopback peer that reads keeps up; a short send is not this tool's case. */
                if (send(fd, out, (size_t)b * RESPONSE_LEN, MSG_NOSIGNAL) < 0)
                    break;
                k -= b;
            }
        }
    }
}
