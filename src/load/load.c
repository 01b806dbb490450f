/* `srvlab load`: options, validation and the order of things (resolve, format the request,
 * run, report). The load itself runs in engine.c; printing lives in output.c. */
#include "load/load.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "load/reqfmt.h"
#include "net/units.h"

#define DEFAULT_CONNECTIONS 64
#define DEFAULT_DURATION_US 10000000ULL
#define DEFAULT_TIMEOUT_US 5000000ULL
#define DEFAULT_SPIN_US 200
#define DEFAULT_SEARCH_RATE 100          /* --search starts here without --rate */
#define DEFAULT_SEARCH_CONNECTIONS 256   /* overload must not run out of connections */
#define DEFAULT_SEARCH_MAX_US 300000000ULL

static const char usage_text[] =
    "Usage: srvlab load [options] <url>\n"
    "\n"
    "Send HTTP/1.1 requests to <url> (http://host[:port]/path) and report latency\n"
    "percentiles, closed loop (-c connections, each waiting for its answer) or open loop\n"
    "(--rate: a schedule of send times; latency runs from each intended send time).\n"
    "\n"
    "Load:\n"
    "  -c, --connections <N>   connections at most (default 64)\n"
    "  -t, --threads <N>       threads, each with its own event loop (default 1)\n"
    "      --procs <N>         spread the threads (at least N) over N processes, each with\n"
    "                          its share of -c, -R and -n; for more connections than one\n"
    "                          process may open (RLIMIT_NOFILE) (default 1)\n"
    "  -R, --rate <R>          open loop at R requests/s in all (default: closed loop)\n"
    "      --arrival <A>       open-loop arrivals: constant or poisson (default constant)\n"
    "      --seed <N>          seed of the poisson schedule (default 1)\n"
    "      --spin <T>          busy-poll when the next send is T away or less, since\n"
    "                          timer wake-ups can be late (default 200us; 0: always sleep)\n"
    "      --closed            closed loop (the default without --rate)\n"
    "      --think <T>         closed loop: pause after each response (default 0)\n"
    "      --pipeline <N>      requests in flight per connection (default 1)\n"
    "      --no-keepalive      a new connection per request (connect time included)\n"
    "  -d, --duration <T>      how long to send (default 10s; unlimited with -n alone)\n"
    "  -n, --requests <N>      stop after N requests (default: none, use -d)\n"
    "      --start-at <TIME>   start at a wall-clock time, so that several loaders line up:\n"
    "                          2026-11-26T05:30:00Z (UTC), +5s (from now) or unix seconds\n"
    "      --warmup <T>        run first for T, excluded from the results (default 0)\n"
    "      --ramp <T>          first raise the rate (open loop) or the connections (closed\n"
    "                          loop) linearly from 0 over T; excluded from the results,\n"
    "                          shown in --csv rows with phase 'ramp' (default 0)\n"
    "      --timeout <T>       per request, from its send: then an error (default 5s)\n"
    "      --interval <T>      sampling mode: one request at a time, pause T after each,\n"
    "                          print each sample (default: off)\n"
    "\n"
    "Request:\n"
    "  -X, --method <M>        request method (default GET)\n"
    "  -H, --header <H>        add a header line \"Name: value\" (repeatable, up to 64)\n"
    "      --body <FILE>       send FILE's bytes as the body (default: no body)\n"
    "      --http1.0           send HTTP/1.0 requests (default HTTP/1.1)\n"
    "\n"
    "Output:\n"
    "      --json <FILE>       results, with full histograms, as JSON (docs/load.md)\n"
    "      --hgrm <FILE>       latency percentile distribution, HdrHistogram format (ms)\n"
    "      --csv <FILE>        one row per second: sent, completed, errors, rate, p50, p99\n"
    "      --raw <FILE>        one line per request (costs CPU at high rates)\n"
    "      --slo <LIST>        objectives, e.g. 'p90<1ms,p99<10ms,errors<0.1%'; prints a\n"
    "                          table with 95% intervals: met, violated or inconclusive\n"
    "      --server-metrics <URL>  scrape srvlab serve's /metrics before and after the run:\n"
    "                          mean latency = RTT + queueing + service + remainder\n"
    "      --search <SLO>      find the highest open-loop rate meeting SLO (e.g. 'p99<10ms'):\n"
    "                          doubling from --rate (default 100/s), then bisection to 2%;\n"
    "                          each step one run of up to -d (default -c 256)\n"
    "      --search-max <T>    --search: stop after T of steps in all (default 5m)\n"
    "  -q, --quiet             no progress line (shown only when stderr is a terminal)\n"
    "  -h, --help              this help\n"
    "\n"
    "N accepts k/M suffixes (20k); T accepts us/ms/s/m/h (250ms, 2m); R accepts /s, /min,\n"
    "/ms (5000/s, 20k). FILE may be - for stdout (the summary then goes to stderr).\n"
    "\n"
    "Every run ends with a validity verdict: VALID, INCONCLUSIVE or INVALID, with reasons.\n"
    "\n"
    "Exit status: 0 done (SLO met), 1 run-time failure, no responses, or SLO violated,\n"
    "2 usage error, 3 SLO inconclusive (not enough samples, or an INVALID run).\n"
    "\n"
    "Examples:\n"
    "  srvlab load -c 100 -d 30s http://127.0.0.1:8080/\n"
    "  srvlab load -R 20k -c 200 -t 2 --arrival poisson -d 30s http://127.0.0.1:8080/\n"
    "  srvlab load -n 100 --interval 1s http://127.0.0.1:8080/\n"
    "  srvlab load --procs 6 -c 100k --think 1s -d 20s http://127.0.0.1:8080/\n"
    "  srvlab load -R 1000 --slo 'p99<10ms,errors<0.1%' --json out.json http://127.0.0.1:8080/\n"
    "  srvlab load --search 'p99<10ms' -R 500 -d 5s http://127.0.0.1:8080/\n";

enum {
    OPT_ARRIVAL = 256, OPT_SEED, OPT_CLOSED, OPT_THINK, OPT_PIPELINE, OPT_NO_KEEPALIVE,
    OPT_WARMUP, OPT_TIMEOUT, OPT_INTERVAL, OPT_BODY, OPT_HTTP10, OPT_JSON, OPT_HGRM, OPT_CSV,
    OPT_RAW, OPT_SLO, OPT_SPIN, OPT_RAMP, OPT_SEARCH, OPT_SEARCH_MAX,
    OPT_START_AT, OPT_SERVER_METRICS, OPT_PROCS
};

static const struct option long_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"procs", required_argument, NULL, OPT_PROCS},
    {"rate", required_argument, NULL, 'R'},
    {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"seed", required_argument, NULL, OPT_SEED},
    {"closed", no_argument, NULL, OPT_CLOSED},
    {"think", required_argument, NULL, OPT_THINK},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"ramp", required_argument, NULL, OPT_RAMP},
    {"start-at", required_argument, NULL, OPT_START_AT},
    {"server-metrics", required_argument, NULL, OPT_SERVER_METRICS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"method", required_argument, NULL, 'X'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, OPT_BODY},
    {"http1.0", no_argument, NULL, OPT_HTTP10},
    {"json", required_argument, NULL, OPT_JSON},
    {"hgrm", required_argument, NULL, OPT_HGRM},
    {"csv", required_argument, NULL, OPT_CSV},
    {"raw", required_argument, NULL, OPT_RAW},
    {"slo", required_argument, NULL, OPT_SLO},
    {"spin", required_argument, NULL, OPT_SPIN},
    {"search", required_argument, NULL, OPT_SEARCH},
    {"search-max", required_argument, NULL, OPT_SEARCH_MAX},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the command line said, before validation fills struct load_opts. */
struct cli {
    bool has_connections, has_threads, has_duration, is_closed;
    const char *slo_text;
};

static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("srvlab load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("; see 'srvlab load --help'\n", stderr);
    va_end(ap);
    return -EINVAL;
}

static void set_defaults(struct load_opts *o) {
    memset(o, 0, sizeof *o);
    o->connections = DEFAULT_CONNECTIONS;
    o->threads = 1;
    o->procs = 1;
    o->arrival = SCHED_CONSTANT;
    o->seed = 1;
    o->duration_us = DEFAULT_DURATION_US;
    o->timeout_us = DEFAULT_TIMEOUT_US;
    o->spin_us = DEFAULT_SPIN_US;
    o->pipeline = 1;
    o->is_keepalive = true;
    o->method = "GET";
    o->search_max_us = DEFAULT_SEARCH_MAX_US;
}

static int parse_duration(const char *opt, const char *arg, uint64_t *out, bool is_zero_ok) {
    if (is_zero_ok && !strcmp(arg, "0")) /* 0 needs no unit */
        return *out = 0, 0;
    if (units_parse_duration_u64(arg, 0, out) < 0 || (!is_zero_ok && *out == 0))
        return usage_error("%s: bad duration '%s' (want e.g. 250ms, 10s, 2m)", opt, arg);
    return 0;
}

static double wall_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "+5s" (from now), "1764135000[.5]" (unix seconds) or "2026-11-26T05:30:00[.5]Z" (UTC). */
static int parse_wall_time(const char *arg, double *out) {
    uint64_t us;
    char *end;
    if (arg[0] == '+')
        return units_parse_duration_u64(arg + 1, 0, &us) < 0 ? -EINVAL
                                                           : (*out = wall_now_s() + us / 1e6, 0);
    if (strchr(arg, 'T')) {
        struct tm tm = {0};
        end = strptime(arg, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
            return -EINVAL;
        double frac = *end == '.' ? strtod(end, &end) : 0;
        if (strcmp(end, "Z") != 0)
            return -EINVAL;
        *out = (double)timegm(&tm) + frac;
        return 0;
    }
    *out = strtod(arg, &end);
    return *end || end == arg || !(*out > 0) ? -EINVAL : 0;
}

static int parse_start_at(const char *arg, struct load_opts *o) {
    if (parse_wall_time(arg, &o->start_at_unix_s) < 0)
        return usage_error("--start-at: bad time '%s' (want 2026-11-26T05:30:00Z, +5s or "
                           "unix seconds)", arg);
    double now = wall_now_s();
    if (o->start_at_unix_s < now - 1)
        return usage_error("--start-at: %s is %.1f s in the past", arg,
                           now - o->start_at_unix_s);
    if (o->start_at_unix_s > now + 86400)
        return usage_error("--start-at: %s is more than a day away", arg);
    return 0;
}

static int parse_count(const char *opt, const char *arg, uint64_t *out, uint64_t max) {
    if (units_parse_count(arg, out) < 0 || *out == 0 || *out > max)
        return usage_error("%s: bad count '%s' (want 1 to %llu, e.g. 100 or 20k)", opt, arg,
                           (unsigned long long)max);
    return 0;
}

/* Options about how many: connections, threads, pipeline depth. */
static int parse_size_opt(int c, const char *arg, struct load_opts *o, struct cli *cli) {
    uint64_t v;
    switch (c) {
    case 'c':
        cli->has_connections = true;
        return parse_count("-c", arg, &o->connections, 1000000);
    case 't':
        cli->has_threads = true;
        if (parse_count("-t", arg, &v, 256) < 0)
            return -EINVAL;
        o->threads = (unsigned)v;
        return 0;
    case OPT_PROCS:
        if (parse_count("--procs", arg, &v, LOAD_MAX_PROCS) < 0)
            return -EINVAL;
        o->procs = (unsigned)v;
        return 0;
    case OPT_PIPELINE:
        if (parse_count("--pipeline", arg, &v, 1024) < 0)
            return -EINVAL;
        o->pipeline = (unsigned)v;
        return 0;
    }
    return 1;
}

static int parse_load_opt(int c, const char *arg, struct load_opts *o, struct cli *cli) {
    switch (c) {
    case 'R':
        if (units_parse_rate(arg, &o->rate_per_s) < 0 || !(o->rate_per_s > 0) ||
            o->rate_per_s > 1e8)
            return usage_error("--rate: bad rate '%s' (want e.g. 5000/s or 20k)", arg);
        return 0;
    case OPT_ARRIVAL:
        if (sched_parse_arrival(arg, &o->arrival) < 0)
            return usage_error("--arrival: '%s' is not constant or poisson", arg);
        return 0;
    case OPT_SEED:
        if (units_parse_count(arg, &o->seed) < 0)
            return usage_error("--seed: bad number '%s'", arg);
        return 0;
    case OPT_CLOSED: cli->is_closed = true; return 0;
    case OPT_THINK: return parse_duration("--think", arg, &o->think_us, true);
    case OPT_NO_KEEPALIVE: o->is_keepalive = false; return 0;
    case 'd':
        cli->has_duration = true;
        return parse_duration("-d", arg, &o->duration_us, false);
    case 'n': return parse_count("-n", arg, &o->requests, UINT64_MAX / 2);
    case OPT_WARMUP: return parse_duration("--warmup", arg, &o->warmup_us, true);
    case OPT_RAMP: return parse_duration("--ramp", arg, &o->ramp_us, true);
    case OPT_START_AT: return parse_start_at(arg, o);
    case OPT_TIMEOUT: return parse_duration("--timeout", arg, &o->timeout_us, false);
    case OPT_INTERVAL: return parse_duration("--interval", arg, &o->interval_us, false);
    case OPT_SPIN: return parse_duration("--spin", arg, &o->spin_us, true);
    }
    return 1; /* not a load option */
}

static int parse_other_opt(int c, const char *arg, struct load_opts *o, struct cli *cli) {
    switch (c) {
    case 'X':
        if (!*arg || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != strlen(arg))
            return usage_error("-X: bad method '%s' (want e.g. GET, POST, HEAD)", arg);
        o->method = arg;
        return 0;
    case 'H':
        if (o->header_count == LOAD_MAX_HEADERS)
            return usage_error("-H: at most %d headers", LOAD_MAX_HEADERS);
        o->headers[o->header_count++] = arg;
        return 0;
    case OPT_BODY: o->body_path = arg; return 0;
    case OPT_HTTP10: o->is_http10 = true; return 0;
    case OPT_JSON: o->json_path = arg; return 0;
    case OPT_HGRM: o->hgrm_path = arg; return 0;
    case OPT_CSV: o->csv_path = arg; return 0;
    case OPT_RAW: o->raw_path = arg; return 0;
    case OPT_SLO: cli->slo_text = arg; return 0;
    case OPT_SEARCH: o->search_text = arg; return 0;
    case OPT_SERVER_METRICS:
        if (url_parse(arg, &o->server_metrics_url) < 0)
            return usage_error("--server-metrics: '%s' is not a URL like "
                               "http://127.0.0.1:8080/metrics", arg);
        o->server_metrics_text = arg;
        return 0;
    case OPT_SEARCH_MAX: return parse_duration("--search-max", arg, &o->search_max_us, false);
    case 'q': o->is_quiet = true; return 0;
    }
    return usage_error("unknown option");
}

/* Returns 0, 1 for --help, or -EINVAL (message printed). */
static int parse_args(int argc, char **argv, struct load_opts *o, struct cli *cli) {
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:t:R:d:n:X:H:qh", long_opts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        int rc = parse_size_opt(c, optarg, o, cli);
        if (rc == 1)
            rc = parse_load_opt(c, optarg, o, cli);
        if (rc == 1)
            rc = parse_other_opt(c, optarg, o, cli);
        if (rc < 0)
            return rc;
    }
    if (optind >= argc)
        return usage_error("no URL given");
    if (optind + 1 < argc)
        return usage_error("one URL only; unexpected '%s'", argv[optind + 1]);
    o->url_text = argv[optind];
    return 0;
}

/* ---- Validation: combinations that make no sense are refused, not guessed at. ---------- */

static int check_sampling(struct load_opts *o, const struct cli *cli) {
    if (!o->interval_us)
        return 0;
    if (o->rate_per_s > 0 || o->think_us || o->ramp_us)
        return usage_error("--interval is its own mode: drop --rate, --think and --ramp");
    if ((cli->has_connections && o->connections != 1) || (cli->has_threads && o->threads != 1))
        return usage_error("--interval sends one request at a time: drop -c and -t");
    o->connections = 1;
    o->threads = 1;
    o->think_us = o->interval_us;
    return 0;
}

/* --search: open loop at rates of its choosing, judged on its own SLO. */
static int check_search(struct load_opts *o, const struct cli *cli) {
    if (!o->search_text)
        return 0;
    if (cli->slo_text || cli->is_closed || o->think_us || o->interval_us || o->requests)
        return usage_error("--search runs its own open-loop steps: drop --slo, --closed, "
                           "--think, --interval and -n");
    char err[160];
    if (slo_parse(o->search_text, &o->slo, err, sizeof err) < 0)
        return usage_error("--search: %s", err);
    o->has_slo = true;
    if (!(o->rate_per_s > 0))
        o->rate_per_s = DEFAULT_SEARCH_RATE;
    if (!cli->has_connections)
        o->connections = DEFAULT_SEARCH_CONNECTIONS;
    return 0;
}

/* --procs N: N processes run max(-t, N) threads in all, process p share_of(threads, N, p) of
 * them; what each thread gets (connections, -n, rate) does not depend on the process. */
static int check_procs(struct load_opts *o) {
    if (o->procs <= 1)
        return 0;
    if (o->interval_us || o->raw_path)
        return usage_error("--procs does not go with --interval or --raw (one process "
                           "prints those)");
    if (o->threads < o->procs)
        o->threads = o->procs;
    return 0;
}

static int check_combinations(struct load_opts *o, const struct cli *cli) {
    if (check_search(o, cli) < 0 || check_procs(o) < 0)
        return -EINVAL;
    if (cli->is_closed && o->rate_per_s > 0)
        return usage_error("--closed and --rate contradict each other");
    if (o->think_us && o->rate_per_s > 0)
        return usage_error("--think is for the closed loop; with --rate the schedule decides");
    if (check_sampling(o, cli) < 0)
        return -EINVAL;
    if (o->threads > o->connections)
        return usage_error("-t %u%s is more than the %llu connections (-c)", o->threads,
                           o->procs > 1 ? " (at least --procs)" : "",
                           (unsigned long long)o->connections);
    if (o->pipeline > 1 && !o->is_keepalive)
        return usage_error("--pipeline needs keep-alive; drop --no-keepalive");
    if (o->requests && !cli->has_duration)
        o->duration_us = 0; /* -n alone: as long as the requests take */
    if (o->rate_per_s > 0 && o->rate_per_s / o->threads < 0.001)
        return usage_error("--rate %g split over %u threads is below 1 request in 1000 s",
                           o->rate_per_s, o->threads);
    o->is_head = !strcmp(o->method, "HEAD");
    return 0;
}

static int read_body(struct load_opts *o) {
    if (!o->body_path)
        return 0;
    FILE *f = fopen(o->body_path, "rb");
    if (!f)
        return usage_error("--body: %s: %s", o->body_path, strerror(errno));
    size_t cap = 0;
    for (;;) {
        if (o->body_bytes == cap) {
            char *b = realloc(o->body, cap = 2 * cap + 4096);
            if (!b)
                break;
            o->body = b;
        }
        size_t n = fread(o->body + o->body_bytes, 1, cap - o->body_bytes, f);
        if (n == 0)
            break;
        o->body_bytes += n;
    }
    bool is_bad = ferror(f) || !o->body;
    fclose(f);
    return is_bad ? usage_error("--body: cannot read %s", o->body_path) : 0;
}

static int parse_slo(struct load_opts *o, const struct cli *cli) {
    if (!cli->slo_text)
        return 0;
    char err[160];
    if (slo_parse(cli->slo_text, &o->slo, err, sizeof err) < 0)
        return usage_error("--slo: %s", err);
    o->has_slo = true;
    return 0;
}

static int build_request(struct load_opts *o) {
    struct reqfmt_opts r = {.method = o->method, .url = &o->url, .headers = o->headers,
                            .header_count = o->header_count, .body = o->body,
                            .body_bytes = o->body_bytes, .is_http10 = o->is_http10,
                            .is_keepalive = o->is_keepalive};
    int rc = reqfmt_build(&r, &o->request, &o->request_bytes);
    if (rc == -EINVAL)
        return usage_error("-H: want \"Name: value\" lines without CR/LF; Connection, "
                           "Content-Length and Transfer-Encoding are srvlab's to set");
    return rc;
}

static int resolve(struct load_opts *o) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(o->url.host, o->url.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "srvlab load: %s: %s\n", o->url.host, gai_strerror(rc));
        return -ENOENT;
    }
    /* "localhost" may list ::1 first while test servers listen on 127.0.0.1: prefer IPv4. */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(&o->addr, pick->ai_addr, pick->ai_addrlen);
    o->addr_len = pick->ai_addrlen;
    freeaddrinfo(res);
    if (o->addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&o->addr;
        o->is_loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    return 0;
}

static bool is_stdout(const char *path) { return path && !strcmp(path, "-"); }

/* Parses and checks everything. Returns 0, 1 (help printed) or -EINVAL (message printed). */
static int configure(int argc, char **argv, struct load_opts *o) {
    struct cli cli = {0};
    set_defaults(o);
    int rc = parse_args(argc, argv, o, &cli);
    if (rc != 0)
        return rc;
    rc = url_parse(o->url_text, &o->url);
    if (rc == -EPROTONOSUPPORT)
        return usage_error("'%s': https is not supported (no TLS); use http://", o->url_text);
    if (rc < 0)
        return usage_error("'%s' is not a URL like http://127.0.0.1:8080/path", o->url_text);
    if (check_combinations(o, &cli) < 0 || parse_slo(o, &cli) < 0 || read_body(o) < 0)
        return -EINVAL;
    o->is_progress = !o->is_quiet && !o->interval_us && isatty(STDERR_FILENO);
    o->is_stdout_taken = is_stdout(o->json_path) || is_stdout(o->hgrm_path) ||
                         is_stdout(o->csv_path) || is_stdout(o->raw_path);
    return build_request(o) < 0 ? -EINVAL : 0;
}

/* ---- Reporting ------------------------------------------------------------------------ */

static int write_file(const char *what, const char *path, int rc) {
    if (rc < 0)
        fprintf(stderr, "srvlab load: %s %s: %s\n", what, path, strerror(-rc));
    return rc < 0 ? 1 : 0;
}

static int report(const struct load_opts *o, struct load_result *r) {
    /* A file written to stdout keeps stdout to itself; the summary goes to stderr then. */
    FILE *out = o->is_stdout_taken ? stderr : stdout;
    if (o->interval_us)
        fputc('\n', out);
    output_evaluate(o, r);
    output_summary(out, o, r);
    verdict_print(out, &r->verdict);
    if (o->has_slo)
        verdict_print_slo(out, &o->slo, &r->verdict);
    int status = verdict_exit_status(&r->verdict);
    fflush(out);
    if (o->json_path)
        status = write_file("--json", o->json_path, output_json(o->json_path, o, r)) ? 1 : status;
    if (o->hgrm_path)
        status = write_file("--hgrm", o->hgrm_path, output_hgrm(o->hgrm_path, &r->total.latency))
                     ? 1 : status;
    if (o->csv_path)
        status = write_file("--csv", o->csv_path, output_csv(o->csv_path, r)) ? 1 : status;
    if (r->total.requests && !r->total.responses && !r->was_interrupted) {
        fprintf(stderr, "srvlab load: no responses from %s\n", o->url_text);
        status = 1;
    }
    return status;
}

static void scrape_after(const struct load_opts *o, const struct srvmetrics_sample *before,
                         struct load_result *r) {
    struct srvmetrics_sample after;
    char err[160];
    if (srvmetrics_scrape(&o->server_metrics_url, &after, err, sizeof err) < 0) {
        snprintf(r->server.error, sizeof r->server.error, "%s", err);
        fprintf(stderr, "srvlab load: --server-metrics %s: %s\n", o->server_metrics_text, err);
        return;
    }
    srvmetrics_decompose(before, &after, &r->total, &r->server);
}

static void free_opts(struct load_opts *o) {
    free(o->body);
    free(o->request);
}

int load_main(int argc, char **argv) {
    struct load_opts o;
    int rc = configure(argc, argv, &o);
    if (rc == 1) {
        fputs(usage_text, stdout);
        free_opts(&o);
        return 0;
    }
    if (rc < 0 || (rc = resolve(&o)) < 0) {
        free_opts(&o);
        return rc == -EINVAL ? 2 : 1;
    }
    if (o.search_text) {
        int status = search_main(&o);
        free_opts(&o);
        return status;
    }
    struct load_result r;
    char err[256] = "";
    struct srvmetrics_sample before;
    if (o.server_metrics_text &&
        srvmetrics_scrape(&o.server_metrics_url, &before, err, sizeof err) < 0) {
        fprintf(stderr, "srvlab load: --server-metrics %s: %s\n", o.server_metrics_text, err);
        free_opts(&o);
        return 1;
    }
    rc = engine_run(&o, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "srvlab load: %s\n", err);
        free_opts(&o);
        return 1;
    }
    if (o.server_metrics_text)
        scrape_after(&o, &before, &r);
    int status = report(&o, &r);
    load_result_free(&r);
    free_opts(&o);
    return status;
}
