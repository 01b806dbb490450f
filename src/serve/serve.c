/* `srvlab serve`: option parsing, the table of architectures, listening socket, signals and
 * shutdown. How connections get concurrency is each architecture's business (arch.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "http/accesslog.h"
#include "http/conn.h"
#include "http/metrics.h"
#include "net/sock.h"
#include "net/units.h"
#include "serve/arch.h"

/* Weak so that an architecture whose file is not built (no liburing) is simply absent. */
extern const struct arch arch_nonblock __attribute__((weak));
extern const struct arch arch_select __attribute__((weak));
extern const struct arch arch_poll __attribute__((weak));
extern const struct arch arch_epoll __attribute__((weak));
extern const struct arch arch_reactors __attribute__((weak));
extern const struct arch arch_epoll_pool __attribute__((weak));
extern const struct arch arch_uring __attribute__((weak));
extern const struct arch arch_green __attribute__((weak));

static const struct arch *const archs[] = {
    &arch_iterative, &arch_fork, &arch_thread, &arch_pool, &arch_nonblock, &arch_select,
    &arch_poll, &arch_epoll, &arch_reactors, &arch_epoll_pool, &arch_green, &arch_uring,
};
#define NARCHS (sizeof archs / sizeof archs[0])

static const struct arch *find_arch(const char *name) {
    for (size_t i = 0; i < NARCHS; i++)
        if (archs[i] && archs[i]->name && strcmp(archs[i]->name, name) == 0)
            return archs[i];
    return NULL;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: srvlab serve [options]\n\n"
            "Serve HTTP/1.1 with the concurrency architecture chosen by --arch. Every architecture\n"
            "runs the same request code, so they compare fairly.\n\n"
            "Routes:\n"
            "  GET /                     Hello, World! (13 bytes, text/plain)\n"
            "  GET /work?cpu_us=N&io_us=M&dist=fixed|exp&seed=S\n"
            "                            spin N us on the CPU, then wait M us without CPU\n"
            "  GET|HEAD /static/PATH     files under --root, sent with sendfile\n"
            "  GET /metrics              Prometheus text: requests, connections, queueing delay\n"
            "                            and service time histograms\n"
            "  POST /echo                the request body, echoed\n\n"
            "Options:\n"
            "  -a, --arch <NAME>          concurrency architecture (default epoll; see below)\n"
            "  -p, --port <N>             TCP port; 0 picks a free one (default 8080)\n"
            "  -b, --bind <ADDR>          address to listen on, IPv4 or IPv6 (default 127.0.0.1)\n"
            "      --port-file <FILE>     write the port number to FILE once listening\n"
            "      --backlog <N>          listen backlog: connections waiting in the kernel (default 511)\n"
            "      --procs <N>            worker processes, each running --arch on its own\n"
            "                             SO_REUSEPORT listener, under a master that passes on\n"
            "                             signals and replaces crashed workers (default 1: one\n"
            "                             process, no master; at most 1024)\n"
            "  -t, --threads <N>          pool: workers (default 16); reactors, green, epoll+pool:\n"
            "                             loops or workers (default: number of CPUs)\n"
            "      --queue <N>            pool: accepted connections waiting for a worker (default 1024)\n"
            "      --overflow <MODE>      pool, queue full: block (stop accepting) or reject (503)\n"
            "                             (default block)\n"
            "      --listener <MODE>      reactors: reuseport (a listener per loop) or exclusive\n"
            "                             (one shared listener, EPOLLEXCLUSIVE) (default reuseport)\n"
            "      --stack-size <SIZE>    thread: stack per thread (default 256k); green: per fiber\n"
            "                             (default 64k)\n"
            "      --root <DIR>           directory served under /static/ (default: none, 404)\n"
            "      --dotfiles             serve names starting with '.' (default: 404)\n"
            "      --user <NAME>          started as root: switch to this user after binding\n"
            "      --max-conns <N>        open connections allowed; beyond, new ones are accepted,\n"
            "                             answered 503 and closed (default: no limit but the fd limit)\n"
            "      --max-body <SIZE>      largest request body; larger gets 413 (default 1M)\n"
            "      --max-header-bytes <SIZE> request line + headers; larger gets 431 (default 8k)\n"
            "      --max-headers <N>      most header fields; more gets 431 (default 100)\n"
            "      --header-timeout <T>   a request's head must arrive within T of its first byte,\n"
            "                             else 408 and close (slowloris) (default 10s)\n"
            "      --body-timeout <T>     longest pause between two reads of a body (default 10s)\n"
            "      --idle-timeout <T>     close keep-alive connections idle this long (default 60s)\n"
            "      --send-timeout <T>     close when a client reads nothing of a response for T\n"
            "                             (default 10s)\n"
            "      --drain-timeout <T>    after SIGTERM, time allowed to finish requests (default 10s)\n"
            "      --stall <T/PERIOD>     pause all request processing for T every PERIOD, e.g.\n"
            "                             500ms/5s, to demonstrate coordinated omission (default off)\n"
            "      --no-metrics           do not measure queueing delay and service time (and no\n"
            "                             GET /metrics), to measure what measuring costs\n"
            "      --access-log <FILE>    append one line per request: common log format plus\n"
            "                             queueing delay and handler time (default off)\n"
            "      --stats <T>            print one line per interval T on stderr: request rate,\n"
            "                             p99 queueing delay, p99 service time, open connections\n"
            "  -q, --quiet                no start-up line or warnings on stderr\n"
            "      --list-archs           print the names of the architectures built in, one a line\n"
            "  -h, --help                 show this help\n\n"
            "SIZE accepts k/M (64k, 1M); T accepts us/ms/s/m (250ms, 2m).\n\n"
            "Architectures:\n");
    for (size_t i = 0; i < NARCHS; i++)
        if (archs[i] && archs[i]->name)
            fprintf(out, "  %-11s %s\n", archs[i]->name, archs[i]->summary);
    fprintf(out, "\nSIGINT/SIGTERM: stop accepting, finish requests in flight, exit 0; a second\n"
                 "signal exits at once with status 1. With --procs, the master passes the signal\n"
                 "to every worker and exits when they have drained.\n\n"
                 "Examples:\n"
                 "  srvlab serve --arch epoll --port 8080\n"
                 "  srvlab serve --arch pool --threads 8 --overflow reject --root ./www\n"
                 "  srvlab serve --arch green --procs 6    # 6 processes: 6 times the fd limit\n");
}

static void set_defaults(struct serve_opts *o) {
    memset(o, 0, sizeof *o);
    o->arch = "epoll";
    o->bind = "127.0.0.1";
    o->port = 8080;
    o->backlog = 511;
    o->procs = 1;
    o->queue = 1024;
    o->max_body_bytes = 1 << 20;
    o->max_header_bytes = 8192;
    o->max_headers = 100;
    o->idle_timeout_us = 60000000;
    o->header_timeout_us = o->body_timeout_us = o->send_timeout_us = 10000000;
    o->drain_timeout_us = 10000000;
    o->has_metrics = true;
}

static int bad(const char *what, const char *value) {
    fprintf(stderr, "srvlab serve: invalid %s '%s'; see 'srvlab serve --help'\n", what, value);
    return -1;
}

static int parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_stall(const char *s, struct serve_opts *o) {
    char buf[64];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (units_parse_duration_u64(buf, 0, &o->stall_us) < 0 ||
        units_parse_duration_u64(slash + 1, 0, &o->stall_period_us) < 0)
        return -1;
    return (o->stall_us > 0 && o->stall_us < o->stall_period_us) ? 0 : -1;
}

enum {
    OPT_PORT_FILE = 256, OPT_BACKLOG, OPT_QUEUE, OPT_OVERFLOW, OPT_LISTENER, OPT_STACK,
    OPT_ROOT, OPT_DOTFILES, OPT_MAX_BODY, OPT_MAX_HDR_BYTES, OPT_MAX_HDRS, OPT_IDLE,
    OPT_DRAIN, OPT_STALL, OPT_NO_METRICS, OPT_STATS, OPT_HDR_TO, OPT_BODY_TO, OPT_SEND_TO,
    OPT_MAX_CONNS, OPT_USER, OPT_ACCESS_LOG, OPT_PROCS,
};

static const struct option long_opts[] = {
    {"arch", required_argument, 0, 'a'}, {"port", required_argument, 0, 'p'},
    {"bind", required_argument, 0, 'b'}, {"port-file", required_argument, 0, OPT_PORT_FILE},
    {"backlog", required_argument, 0, OPT_BACKLOG}, {"threads", required_argument, 0, 't'},
    {"procs", required_argument, 0, OPT_PROCS},
    {"queue", required_argument, 0, OPT_QUEUE}, {"overflow", required_argument, 0, OPT_OVERFLOW},
    {"listener", required_argument, 0, OPT_LISTENER},
    {"stack-size", required_argument, 0, OPT_STACK}, {"root", required_argument, 0, OPT_ROOT},
    {"dotfiles", no_argument, 0, OPT_DOTFILES}, {"max-body", required_argument, 0, OPT_MAX_BODY},
    {"max-header-bytes", required_argument, 0, OPT_MAX_HDR_BYTES},
    {"max-headers", required_argument, 0, OPT_MAX_HDRS},
    {"idle-timeout", required_argument, 0, OPT_IDLE},
    {"header-timeout", required_argument, 0, OPT_HDR_TO},
    {"max-conns", required_argument, 0, OPT_MAX_CONNS},
    {"access-log", required_argument, 0, OPT_ACCESS_LOG}, {"user", required_argument, 0, OPT_USER},
    {"body-timeout", required_argument, 0, OPT_BODY_TO},
    {"send-timeout", required_argument, 0, OPT_SEND_TO},
    {"drain-timeout", required_argument, 0, OPT_DRAIN}, {"stall", required_argument, 0, OPT_STALL},
    {"no-metrics", no_argument, 0, OPT_NO_METRICS}, {"stats", required_argument, 0, OPT_STATS},
    {"quiet", no_argument, 0, 'q'}, {"list-archs", no_argument, 0, 'L'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
};

/* Applies one option; -1 on a bad value (already reported). */
static int apply(struct serve_opts *o, int ch, const char *v) {
    long n;
    switch (ch) {
    case 'a': o->arch = v; return find_arch(v) ? 0 : bad("architecture", v);
    case 'p': if (parse_int(v, 0, 65535, &n) < 0) return bad("port", v); o->port = (int)n; return 0;
    case 'b': o->bind = v; return 0;
    case OPT_PORT_FILE: o->port_file = v; return 0;
    case OPT_BACKLOG: if (parse_int(v, 1, 1 << 20, &n) < 0) return bad("backlog", v); o->backlog = (int)n; return 0;
    case OPT_PROCS:
        if (parse_int(v, 1, SERVE_MAX_PROCS, &n) < 0) return bad("process count (1..1024)", v);
        o->procs = (int)n;
        return 0;
    case 't': if (parse_int(v, 1, 100000, &n) < 0) return bad("thread count", v); o->threads = (int)n; return 0;
    case OPT_QUEUE: if (parse_int(v, 1, 1 << 24, &n) < 0) return bad("queue length", v); o->queue = (int)n; return 0;
    case OPT_OVERFLOW:
        if (!strcmp(v, "block")) o->overflow = OVERFLOW_BLOCK;
        else if (!strcmp(v, "reject")) o->overflow = OVERFLOW_REJECT;
        else return bad("overflow mode (block or reject)", v);
        return 0;
    case OPT_LISTENER:
        if (!strcmp(v, "reuseport")) o->listener = LISTENER_REUSEPORT;
        else if (!strcmp(v, "exclusive")) o->listener = LISTENER_EXCLUSIVE;
        else return bad("listener mode (reuseport or exclusive)", v);
        return 0;
    case OPT_STACK:
        if (units_parse_size(v, &o->stack_bytes) < 0 || o->stack_bytes < 16384 || o->stack_bytes > (1ull << 30))
            return bad("stack size (16k..1G)", v);
        return 0;
    case OPT_ROOT: o->root = v; return 0;
    case OPT_DOTFILES: o->has_dotfiles = true; return 0;
    case OPT_MAX_BODY: return units_parse_size(v, &o->max_body_bytes) < 0 || o->max_body_bytes > (1ull << 30) ? bad("body size", v) : 0;
    case OPT_MAX_HDR_BYTES:
        return units_parse_size(v, &o->max_header_bytes) < 0 || o->max_header_bytes < 256 || o->max_header_bytes > (1 << 20) ? bad("header size (256..1M)", v) : 0;
    case OPT_MAX_HDRS: return units_parse_count(v, &o->max_headers) < 0 || o->max_headers < 1 || o->max_headers > 10000 ? bad("header count", v) : 0;
    case OPT_IDLE: return units_parse_duration_u64(v, 1e6, &o->idle_timeout_us) < 0 || !o->idle_timeout_us ? bad("idle timeout", v) : 0;
    case OPT_HDR_TO: return units_parse_duration_u64(v, 1e6, &o->header_timeout_us) < 0 || !o->header_timeout_us ? bad("header timeout", v) : 0;
    case OPT_BODY_TO: return units_parse_duration_u64(v, 1e6, &o->body_timeout_us) < 0 || !o->body_timeout_us ? bad("body timeout", v) : 0;
    case OPT_SEND_TO: return units_parse_duration_u64(v, 1e6, &o->send_timeout_us) < 0 || !o->send_timeout_us ? bad("send timeout", v) : 0;
    case OPT_MAX_CONNS: return units_parse_count(v, &o->max_conns) < 0 || !o->max_conns ? bad("connection limit", v) : 0;
    case OPT_USER: o->user = v; return 0;
    case OPT_ACCESS_LOG: o->access_log = v; return 0;
    case OPT_DRAIN: return units_parse_duration_u64(v, 1e6, &o->drain_timeout_us) < 0 ? bad("drain timeout", v) : 0;
    case OPT_STALL: return parse_stall(v, o) < 0 ? bad("stall (T/PERIOD with T < PERIOD, e.g. 500ms/5s)", v) : 0;
    case 'q': o->is_quiet = true; return 0;
    case OPT_NO_METRICS: o->has_metrics = false; return 0;
    case OPT_STATS:
        return units_parse_duration_u64(v, 1e6, &o->stats_interval_us) < 0 || o->stats_interval_us < 10000 ? bad("stats interval (>= 10ms)", v) : 0;
    }
    return -1;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error (reported). */
static int parse_args(int argc, char **argv, struct serve_opts *o) {
    set_defaults(o);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":a:p:b:t:qh", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return 1;
        }
        if (ch == 'L') {
            for (size_t i = 0; i < NARCHS; i++)
                if (archs[i] && archs[i]->name)
                    printf("%s\n", archs[i]->name);
            return 1;
        }
        if (ch == '?' || ch == ':') {
            const char *what = ch == '?' ? "unknown option" : "missing value for";
            fprintf(stderr, "srvlab serve: %s '%s'; see 'srvlab serve --help'\n", what,
                    argv[optind - 1]);
            return -1;
        }
        if (apply(o, ch, optarg) < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "srvlab serve: unexpected argument '%s'; see 'srvlab serve --help'\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

/* ---- signals ------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_count;
static int stop_efd = -1;
static unsigned drain_s = 10;
static pid_t master_pid; /* --procs: this worker's master (0 in a single process) */

bool srv_stopping(void) {
    return __atomic_load_n(&stop_count, __ATOMIC_RELAXED) > 0; /* other threads read it */
}

static void on_stop_signal(int sig, siginfo_t *si, void *uc) {
    /* A worker may get the same stop twice: once from the terminal or `kill -- -PGID` (the
     * whole process group) and once passed on by the master. Only the master's copy is
     * ignored, so a second Ctrl-C still exits at once. */
    if (master_pid && si->si_pid == master_pid && srv_stopping())
        return;
    if (__atomic_fetch_add(&stop_count, 1, __ATOMIC_RELAXED) > 0)
        _exit(1);
    __atomic_store_n(&http_draining, 1, __ATOMIC_RELAXED); /* read by every worker thread */
    alarm(drain_s); /* in-flight requests get --drain-timeout, then we exit anyway */
    uint64_t one = 1;
    if (write(stop_efd, &one, sizeof one) < 0) {
        /* eventfd cannot overflow at 1; nothing to do */
    }
}

static void on_drain_alarm(int sig) {
    static const char msg[] = "srvlab serve: drain timeout, exiting with requests in flight\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(0);
}

/* The stop eventfd and the handlers of a process that serves (the only one, or a worker: each
 * has its own eventfd, since a read by one would consume another's signal). 0 or -errno. */
static int install_signals(struct srv *srv) {
    stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_efd < 0)
        return -errno;
    srv->stop_fd = stop_efd;
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_drain_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_sigaction = on_stop_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return 0;
}

/* ---- setup -------------------------------------------------------------------------------- */

static int write_port_file(const char *path, int port) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return -errno;
    return 0;
}

/* --stats: one line per interval; runs on its own thread until the process exits. */
static void *stats_thread(void *arg) {
    const struct serve_opts *o = arg;
    struct metrics_interval iv;
    metrics_interval(&iv); /* start the first interval now */
    for (;;) {
        struct timespec ts = {(time_t)(o->stats_interval_us / 1000000),
                              (long)(o->stats_interval_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        if (srv_print_stats(&iv) < 0)
            return NULL;
    }
}

static void start_stats(const struct serve_opts *o) {
    if (!o->stats_interval_us || !o->has_metrics)
        return;
    pthread_t t;
    if (pthread_create(&t, NULL, stats_thread, (void *)o) == 0)
        pthread_detach(t);
}

static int setup_http(const struct serve_opts *o) {
    if (metrics_init(o->has_metrics) < 0) {
        fprintf(stderr, "srvlab serve: metrics: out of memory\n");
        return -1;
    }
    http_cfg.max_body_bytes = o->max_body_bytes;
    http_cfg.max_header_bytes = (uint32_t)o->max_header_bytes;
    http_cfg.max_headers = (uint32_t)o->max_headers;
    http_cfg.has_dotfiles = o->has_dotfiles;
    http_cfg.stall_us = o->stall_us;
    http_cfg.stall_period_us = o->stall_period_us;
    http_cfg.start_us = conn_now_us();
    http_cfg.header_timeout_us = o->header_timeout_us;
    http_cfg.body_timeout_us = o->body_timeout_us;
    http_cfg.idle_timeout_us = o->idle_timeout_us;
    http_cfg.send_timeout_us = o->send_timeout_us;
    if (o->access_log && accesslog_open(o->access_log) < 0) {
        fprintf(stderr, "srvlab serve: --access-log %s: %s\n", o->access_log, strerror(errno));
        return -1;
    }
    if (o->root) {
        http_cfg.root_fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (http_cfg.root_fd < 0) {
            fprintf(stderr, "srvlab serve: --root %s: %s\n", o->root, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* --user: after binding (which may need root for ports < 1024), become NAME for good. */
static int drop_privileges(const char *name) {
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        fprintf(stderr, "srvlab serve: --user %s: no such user\n", name);
        return -1;
    }
    if (getuid() != 0) {
        fprintf(stderr, "srvlab serve: --user %s: only root can switch users\n", name);
        return -1;
    }
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
        setuid(0) == 0) {
        fprintf(stderr, "srvlab serve: --user %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_banner(const struct srv *srv, const struct serve_opts *o) {
    if (o->is_quiet)
        return;
    const char *fmt = strchr(o->bind, ':') ? "http://[%s]:%d/" : "http://%s:%d/";
    char url[128];
    snprintf(url, sizeof url, fmt, o->bind, srv->port);
    if (o->procs > 1)
        printf("srvlab serve: listening on %s arch=%s procs=%d threads=%d backlog=%d "
               "nofile=%ld per process, pid=%d (master)\n",
               url, o->arch, o->procs, o->threads, o->backlog, srv->nofile, (int)getpid());
    else
        printf("srvlab serve: listening on %s arch=%s threads=%d backlog=%d nofile=%ld pid=%d\n",
               url, o->arch, o->threads, o->backlog, srv->nofile, (int)getpid());
    fflush(stdout);
}

/* Runs the architecture in this process (the only one, or a worker) until it has drained.
 * Returns the exit status. */
static int run_arch(struct srv *srv) {
    const struct serve_opts *o = srv->opts;
    srv_reserve_spare_fd();
    int rc = find_arch(o->arch)->run(srv);
    accesslog_flush_all();
    if (rc < 0) {
        fprintf(stderr, "srvlab serve: --arch %s: %s\n", o->arch, srv->err[0] ? srv->err : strerror(-rc));
        return rc == -ENOSYS || rc == -EPERM ? 2 : 1;
    }
    return 0;
}

/* A --procs worker, just forked with TERM, INT and CHLD blocked (see procs.c). */
static int run_worker(struct srv *srv) {
    master_pid = getppid();
    int rc = install_signals(srv);
    if (rc < 0) {
        fprintf(stderr, "srvlab serve: worker %d: eventfd: %s\n", (int)getpid(), strerror(-rc));
        return 1;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    return run_arch(srv);
}

/* --procs: the other workers' listeners, joining the first one's SO_REUSEPORT group. Made
 * before fork (and before --user) so that the master holds every worker's socket: a worker
 * that dies leaves its queue of connections to its replacement instead of resetting them.
 * 0 or -errno (reported). */
static int open_listeners(struct srv *srv, int *fds, int n) {
    fds[0] = srv->listen_fd;
    for (int i = 1; i < n; i++) {
        fds[i] = sock_listen_tcp(srv->opts->bind, srv->port, srv->opts->backlog, true);
        if (fds[i] < 0) {
            fprintf(stderr, "srvlab serve: listener for worker %d: %s\n", i, strerror(-fds[i]));
            return fds[i];
        }
    }
    return 0;
}

int serve_main(int argc, char **argv) {
    struct serve_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    prctl(PR_SET_TIMERSLACK, 1UL); /* short /work waits stay accurate */
    struct srv srv = {.opts = &o, .ncpu = srv_ncpu()};
    srv.nofile = sock_raise_nofile();
    if (setup_http(&o) < 0)
        return 1;
    drain_s = (unsigned)((o.drain_timeout_us + 999999) / 1000000);
    if (drain_s == 0)
        drain_s = 1;
    if (o.procs > 1)
        procs_block_signals(); /* until the master waits for them; workers unblock */
    else if ((rc = install_signals(&srv)) < 0) {
        fprintf(stderr, "srvlab serve: eventfd: %s\n", strerror(-rc));
        return 1;
    }
    srv.listen_fd = sock_listen_tcp(o.bind, o.port, o.backlog, true);
    if (srv.listen_fd < 0) {
        fprintf(stderr, "srvlab serve: listen on %s port %d: %s\n", o.bind, o.port,
                strerror(-srv.listen_fd));
        return srv.listen_fd == -EINVAL ? 2 : 1;
    }
    srv.port = sock_local_port(srv.listen_fd);
    int listeners[SERVE_MAX_PROCS];
    if (o.procs > 1 && open_listeners(&srv, listeners, o.procs) < 0)
        return 1;
    if (o.port_file && (rc = write_port_file(o.port_file, srv.port)) < 0) {
        fprintf(stderr, "srvlab serve: --port-file %s: %s\n", o.port_file, strerror(-rc));
        return 1;
    }
    if (o.user && drop_privileges(o.user) < 0)
        return 1;
    print_banner(&srv, &o);
    if (o.procs > 1)
        return procs_run(&srv, listeners, run_worker);
    start_stats(&o);
    return run_arch(&srv);
}
