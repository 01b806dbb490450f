/* The floor: what any HTTP/1.1 server on this kernel must spend per keep-alive request, measured.
 * One thread, level-triggered epoll, per readable connection one recv() and one send() of a
 * canned response (the same bytes srvlab sends for GET /), one per request head found ("\r\n\r\n"
 * counted across reads). No parsing, routing, date, metrics or timeouts: it is not a server and
 * answers anything with 200. bench/server_vs_nginx.sh runs it beside the real servers, so their
 * requests per CPU-second can be read against the most this system-call pattern allows.
 *
 * With LOOPS > 1, that many threads, each with its own SO_REUSEPORT listener and epoll set, loop i
 * pinned to the i-th allowed CPU (srvlab's reactors model), for the two-core comparison.
 *
 *   cc -O2 -pthread -o floor bench/floor.c && ./floor PORT [LOOPS]  (127.0.0.1; until killed) */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
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

/* Bytes of "\r\n\r\n" matched at the end of the last read, by fd (one loop owns an fd). */
static unsigned char tail_state[MAX_FDS];
static char out[MAX_BATCH * RESPONSE_LEN];
static uint16_t port;

static _Noreturn void die(const char *what) {
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

static void *loop(void *arg) {
    int cpu = (int)(intptr_t)arg;
    if (cpu >= 0) { /* pinned like srvlab's reactors: loop i on the i-th allowed CPU */
        cpu_set_t allowed, one_cpu;
        CPU_ZERO(&one_cpu);
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
            for (int c = 0, seen = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &allowed) && seen++ == cpu % CPU_COUNT(&allowed))
                    CPU_SET(c, &one_cpu);
            pthread_setaffinity_np(pthread_self(), sizeof one_cpu, &one_cpu);
        }
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
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
    return NULL;
}

int main(int argc, char **argv) {
    int loops = argc == 3 ? atoi(argv[2]) : 1;
    if (argc < 2 || argc > 3 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535 || loops < 1 ||
        loops > 64) {
        fprintf(stderr, "usage: floor PORT [LOOPS]\n");
        return 2;
    }
    port = (uint16_t)atoi(argv[1]);
    for (int i = 0; i < MAX_BATCH; i++)
        memcpy(out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
    /* Pinned only with several loops (more loops than CPUs wrap around); one loop is left to
     * taskset, as the servers are. */
    pthread_t t;
    for (int i = 1; i < loops; i++)
        if (pthread_create(&t, NULL, loop, (void *)(intptr_t)i) != 0)
            die("pthread_create");
    loop((void *)(intptr_t)(loops > 1 ? 0 : -1));
    return 0;
}
