/* `srvlab sweep` and `srvlab report`: options, the loop over servers, the live progress line,
 * Ctrl-C. The measuring is in steps.c, processes in child.c, the page in report.c. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "net/units.h"
#include "report/peers.h"
#include "report/report.h"
#include "report/sweep.h"

static const char usage_text[] =
    "Usage: srvlab sweep [options] --out <DIR>\n"
    "\n"
    "Measure every architecture (and peer servers) the same way, then write DIR/index.html:\n"
    "one connection, closed loop at 10/100/1000 connections, open-loop Poisson at 10%..95%\n"
    "of each server's measured maximum, a common load for all, a search for the highest rate\n"
    "meeting the SLO; server CPU time and memory throughout.\n"
    "\n"
    "Options:\n"
    "  -a, --archs <LIST|all>  srvlab architectures, comma-separated (default all)\n"
    "  -p, --peers <LIST|none> peer servers: nginx, h2o, lighttpd, node; those not installed\n"
    "                          are skipped with a message (default nginx)\n"
    "  -w, --workload <W>      hello, cpu:200us, io:5ms, io:5ms:exp, cpu:200us:exp or\n"
    "                          static:FILE (default hello); peers serve only hello\n"
    "  -s, --slo <RULES>       objective for the capacity search (default 'p99<10ms')\n"
    "  -d, --duration <T>      length of each run, warm-up included (default 5s; --quick 1s)\n"
    "      --common-rate <R>   the load every server gets for the CDF chart (default 1000/s,\n"
    "                          or half the workload's capacity when that is lower)\n"
    "  -q, --quick             4 open-loop points and 3 search steps instead of 11 and 6,\n"
    "                          1 s runs: about 13 s per server\n"
    "      --no-pin            do not pin servers to CPU 0 and the loader to CPU 1\n"
    "  -o, --out <DIR>         where the data and index.html go (required)\n"
    "  -h, --help              show this help\n"
    "\n"
    "T accepts us/ms/s/m (250ms, 2m); R accepts k (2k/s). Exit status: 0 done, 1 no server\n"
    "could be measured, 2 usage error, 130 interrupted (partial report written).\n"
    "\n"
    "Examples:\n"
    "  srvlab sweep --quick --archs all --peers nginx --out report/\n"
    "  srvlab sweep --archs epoll,thread --workload cpu:200us:exp --slo 'p99<5ms' --out r/\n"
    "  srvlab report r/          # rebuild r/index.html from the saved data\n";

static const char report_usage_text[] =
    "Usage: srvlab report <DIR>\n"
    "\n"
    "Rebuild DIR/index.html (and its SVG plots, with gnuplot) from the data `srvlab sweep`\n"
    "saved in DIR, without running anything. Prints the summary table.\n"
    "\n"
    "Exit status: 0 done, 1 DIR holds no sweep data, 2 usage error.\n";

static int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "srvlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'srvlab %s --help'\n", cmd);
    return 2;
}

/* ---- Options ---- */

static void opts_defaults(struct sweep_opts *o) {
    memset(o, 0, sizeof *o);
    o->workload = SWEEP_HELLO;
    o->workload_text = "hello";
    o->slo_text = "p99<10ms";
    o->is_pinned = true;
    o->search_steps = 6;
    o->timeout_us = 2000000;
    ssize_t n = readlink("/proc/self/exe", o->self, sizeof o->self - 1);
    if (n > 0)
        o->self[n] = '\0';
}

/* Splits a comma-separated list in place into out (at most SWEEP_MAX_SERVERS). */
static int split_list(char *s, const char **out, size_t *count) {
    *count = 0;
    for (char *save, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == SWEEP_MAX_SERVERS)
            return -E2BIG;
        out[(*count)++] = tok;
    }
    return 0;
}

/* hello | cpu:T[:exp] | io:T[:exp] | static:FILE */
static int parse_workload(struct sweep_opts *o, char *text) {
    o->workload_text = strdup(text);
    if (!strcmp(text, "hello"))
        return 0;
    if (!strncmp(text, "static:", 7) && text[7]) {
        o->workload = SWEEP_STATIC;
        o->static_path = text + 7;
        return access(o->static_path, R_OK) == 0 ? 0 : -ENOENT;
    }
    char *colon = strchr(text, ':');
    if (!colon)
        return -EINVAL;
    *colon = '\0';
    char *dist = strchr(colon + 1, ':');
    if (dist) {
        *dist++ = '\0';
        if (strcmp(dist, "exp") && strcmp(dist, "fixed"))
            return -EINVAL;
        o->is_exp = !strcmp(dist, "exp");
    }
    if (!strcmp(text, "cpu"))
        o->workload = SWEEP_CPU;
    else if (!strcmp(text, "io"))
        o->workload = SWEEP_IO;
    else
        return -EINVAL;
    if (units_parse_duration_us(colon + 1, 0, &o->work_us) < 0 || o->work_us <= 0)
        return -EINVAL;
    return 0;
}

static void set_url_path(struct sweep_opts *o) {
    const char *dist = o->is_exp ? "&dist=exp" : "";
    if (o->workload == SWEEP_CPU)
        snprintf(o->url_path, sizeof o->url_path, "/work?cpu_us=%.0f%s", o->work_us, dist);
    else if (o->workload == SWEEP_IO)
        snprintf(o->url_path, sizeof o->url_path, "/work?io_us=%.0f%s", o->work_us, dist);
    else if (o->workload == SWEEP_STATIC) {
        const char *base = strrchr(o->static_path, '/');
        snprintf(o->url_path, sizeof o->url_path, "/static/%s", base ? base + 1 : o->static_path);
    } else
        snprintf(o->url_path, sizeof o->url_path, "/");
}

static const struct option long_opts[] = {
    {"archs", required_argument, NULL, 'a'},    {"peers", required_argument, NULL, 'p'},
    {"workload", required_argument, NULL, 'w'}, {"slo", required_argument, NULL, 's'},
    {"duration", required_argument, NULL, 'd'}, {"common-rate", required_argument, NULL, 'R'},
    {"quick", no_argument, NULL, 'q'},          {"no-pin", no_argument, NULL, 'P'},
    {"out", required_argument, NULL, 'o'},      {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Applies one option; returns 0, or 2 after printing the usage error. */
static int apply_opt(struct sweep_opts *o, int c, char *arg, char **archs, char **peers) {
    char err[160];
    switch (c) {
    case 'a': *archs = arg; return 0;
    case 'p': *peers = arg; return 0;
    case 'w': {
        int rc = parse_workload(o, arg);
        if (rc == -ENOENT)
            return usage_error("sweep", "--workload %s: cannot read %s", o->workload_text,
                               o->static_path);
        return rc < 0 ? usage_error("sweep", "--workload '%s': expected hello, cpu:T, "
                                             "io:T[:exp] or static:FILE", o->workload_text)
                      : 0;
    }
    case 's':
        o->slo_text = arg;
        return slo_parse(arg, &o->slo, err, sizeof err) < 0 ? usage_error("sweep", "%s", err) : 0;
    case 'd':
        return units_parse_duration_u64(arg, 0, &o->duration_us) < 0 || o->duration_us < 100000
                   ? usage_error("sweep", "--duration '%s': expected a time of at least 100ms "
                                          "with a unit (5s, 500ms)", arg)
                   : 0;
    case 'R':
        return units_parse_rate(arg, &o->common_rate_per_s) < 0 || o->common_rate_per_s <= 0
                   ? usage_error("sweep", "--common-rate '%s': expected a rate (1000/s, 2k)", arg)
                   : 0;
    case 'q': o->is_quick = true; return 0;
    case 'P': o->is_pinned = false; return 0;
    case 'o': o->out_dir = arg; return 0;
    default: return usage_error("sweep", "unknown option");
    }
}

static int parse_opts(struct sweep_opts *o, int argc, char **argv, char **archs, char **peers) {
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:p:w:s:d:qo:h", long_opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return -1;
        }
        if (c == '?')
            return usage_error("sweep", "unknown or incomplete option '%s'", argv[optind - 1]);
        int rc = apply_opt(o, c, optarg, archs, peers);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return usage_error("sweep", "unexpected argument '%s'", argv[optind]);
    if (!o->out_dir)
        return usage_error("sweep", "--out DIR is required");
    return 0;
}

/* ---- Which servers ---- */

/* The architectures this binary has, from `srvlab serve --list-archs`, one per line in buf. */
static int list_archs(const struct sweep_opts *o, char *buf, size_t len) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' serve --list-archs", o->self);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    return pclose(f) == 0 ? 0 : -EIO;
}

static bool has_line(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += len)
        if ((p == list || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
            return true;
    return false;
}

static int choose_archs(struct sweep_opts *o, char *archs) {
    static char known[4096];
    if (list_archs(o, known, sizeof known) < 0) {
        fprintf(stderr, "srvlab sweep: cannot list the architectures (%s serve --list-archs)\n",
                o->self);
        return 1;
    }
    if (!strcmp(archs, "all")) {
        o->name_count = 0;
        for (char *save, *t = strtok_r(known, "\n", &save); t && o->name_count < SWEEP_MAX_SERVERS;
             t = strtok_r(NULL, "\n", &save))
            o->names[o->name_count++] = t;
        return 0;
    }
    if (!strcmp(archs, "none"))
        return 0;
    if (split_list(archs, o->names, &o->name_count) < 0)
        return usage_error("sweep", "--archs: too many names");
    for (size_t i = 0; i < o->name_count; i++)
        if (!has_line(known, o->names[i]))
            return usage_error("sweep", "--archs: unknown architecture '%s' (built in: %s)",
                               o->names[i], "see 'srvlab serve --list-archs'");
    return 0;
}

static int choose_peers(struct sweep_opts *o, char *peers) {
    if (!strcmp(peers, "none"))
        return 0;
    if (split_list(peers, o->peers, &o->peer_count) < 0)
        return usage_error("sweep", "--peers: too many names");
    for (size_t i = 0; i < o->peer_count; i++)
        if (!peers_is_known(o->peers[i]))
            return usage_error("sweep", "--peers: unknown peer '%s' (known: %s)", o->peers[i],
                               peers_known_list());
    return 0;
}

static void finish_opts(struct sweep_opts *o) {
    if (!o->duration_us)
        o->duration_us = o->is_quick ? 1000000 : 5000000;
    if (o->is_quick)
        o->search_steps = 3;
    /* A fifth of the run warms up (connections opened, caches warm), at most 1 s. */
    o->warmup_us = o->duration_us / 5 < 1000000 ? o->duration_us / 5 : 1000000;
    o->timeout_us = o->duration_us / 2 < 2000000 ? o->duration_us / 2 : 2000000;
    if (!o->common_rate_per_s) {
        o->common_rate_per_s = 1000;
        if (o->workload == SWEEP_CPU && o->work_us > 0 && 0.5e6 / o->work_us < 1000)
            o->common_rate_per_s = 0.5e6 / o->work_us;
    }
    set_url_path(o);
    o->is_progress = isatty(STDERR_FILENO);
}

/* ---- Progress ---- */

static struct {
    int done, total;
    double start_s, step_start_s;
    const char *server;
    char step[48];
} prog;

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_secs(char *buf, size_t len, double s) {
    if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, len, "%ds", (int)s);
}

void sweep_progress_step(const char *server, const char *step) {
    if (prog.server)
        prog.done++;
    prog.server = server;
    snprintf(prog.step, sizeof prog.step, "%s", step);
    prog.step_start_s = mono_s();
    sweep_progress_tick();
}

void sweep_progress_tick(void) {
    if (!prog.total)
        return;
    double now = mono_s(), elapsed = now - prog.start_s;
    double per_run = prog.done ? elapsed / prog.done : 0;
    char el[16], left[16];
    fmt_secs(el, sizeof el, elapsed);
    fmt_secs(left, sizeof left, per_run * (prog.total - prog.done) - (now - prog.step_start_s));
    fprintf(stderr, "\r\033[K[%s] %-14s run %d/%d  %s elapsed%s%s", prog.server, prog.step,
            prog.done + 1, prog.total, el, per_run > 0 ? ", ~" : "", per_run > 0 ? left : "");
    if (per_run > 0)
        fputs(" left", stderr);
    fflush(stderr);
}

/* ---- The run ---- */

static void on_signal(int sig) {
    (void)sig;
    sweep_interrupted = 1;
}

static void install_signals(void) {
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void pin_self(struct sweep_opts *o, struct sweep_data *d) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (o->is_pinned && (ncpu < 2 || child_pin(1) < 0))
        o->is_pinned = false;
    if (o->is_pinned)
        snprintf(d->pinning, sizeof d->pinning, "servers pinned to CPU 0, the loader (and the "
                                                "sweep) to CPU 1 (sched_setaffinity)");
    else
        snprintf(d->pinning, sizeof d->pinning, "not pinned (%s)",
                 ncpu < 2 ? "fewer than 2 CPUs" : "--no-pin");
    fprintf(stderr, "sweep: %s\n", d->pinning);
}

static void read_cpu_model(char *buf, size_t len) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, len, "unknown");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(buf, len, "%s", strchr(line, ':') + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
}

static void describe_machine(const struct sweep_opts *o, struct sweep_data *d, int argc,
                             char **argv) {
    size_t n = 0;
    for (int i = 0; i < argc && n < sizeof d->command - 1; i++)
        n += (size_t)snprintf(d->command + n, sizeof d->command - n, "%s%s", i ? " " : "srvlab ",
                              argv[i]);
    time_t t = time(NULL);
    strftime(d->date, sizeof d->date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    read_cpu_model(d->cpu_model, sizeof d->cpu_model);
    d->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(d->kernel, sizeof d->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    n = (size_t)snprintf(d->versions, sizeof d->versions, "srvlab %s (%s)", SRVLAB_VERSION,
                         "cc " __VERSION__);
    for (size_t i = 0; i < o->peer_count; i++) {
        char v[128];
        peers_version(o->peers[i], v, sizeof v);
        if (v[0] && n < sizeof d->versions)
            n += (size_t)snprintf(d->versions + n, sizeof d->versions - n, "; %s", v);
    }
    snprintf(d->workload, sizeof d->workload, "%s", o->workload_text);
    snprintf(d->url_path, sizeof d->url_path, "%s", o->url_path);
    snprintf(d->slo, sizeof d->slo, "%s", o->slo_text);
    d->duration_s = (double)o->duration_us / 1e6;
    d->common_rate_per_s = o->common_rate_per_s;
    d->is_quick = o->is_quick;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &d->loadavg_start) != 1)
            d->loadavg_start = 0;
        fclose(f);
    }
    if (d->loadavg_start > 0.5)
        fprintf(stderr, "sweep: warning: load average %.2f before starting: other work is "
                        "running on this machine and will disturb the numbers\n",
                d->loadavg_start);
}

static int make_dirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static void add_server(struct sweep_data *d, const char *name, const char *kind) {
    struct sweep_server *s = &d->servers[d->server_count++];
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    snprintf(s->status, sizeof s->status, "not run");
}

/* Starts, measures and stops one server; true when it was measured. */
static bool sweep_server(const struct sweep_opts *o, struct sweep_data *d, struct sweep_server *s) {
    char dir[4096], err[160];
    snprintf(dir, sizeof dir, "%s/runs/%s", o->out_dir, s->name);
    make_dirs(dir);
    struct server_proc p;
    int rc = child_start_server(o, s, &p, err, sizeof err);
    if (rc < 0) {
        bool is_skip = rc == -ENOENT || rc == -ENOTSUP;
        snprintf(s->status, sizeof s->status, "%s: %s", is_skip ? "skipped" : "failed", err);
        if (rc != -EINTR)
            fprintf(stderr, "%ssweep: %s %s\n", o->is_progress ? "\r\033[K" : "", s->name,
                    s->status);
        prog.done += steps_count(o);
        child_stop_server(&p);
        return false;
    }
    snprintf(s->status, sizeof s->status, "ok");
    rc = steps_run_server(o, d, s, &p);
    child_stop_server(&p);
    if (rc == -EINTR)
        snprintf(s->status, sizeof s->status, "interrupted");
    data_save(d, o->out_dir);
    return rc == 0 && !strcmp(s->status, "ok");
}

static int run_all(const struct sweep_opts *o, struct sweep_data *d) {
    for (size_t i = 0; i < o->name_count; i++)
        add_server(d, o->names[i], "arch");
    for (size_t i = 0; i < o->peer_count; i++)
        add_server(d, o->peers[i], "peer");
    prog.total = (int)d->server_count * steps_count(o);
    prog.start_s = mono_s();
    if (!o->is_progress)
        prog.total = 0;
    int measured = 0;
    for (size_t i = 0; i < d->server_count && !sweep_interrupted; i++) {
        if (!o->is_progress)
            fprintf(stderr, "sweep: %s (%zu/%zu)\n", d->servers[i].name, i + 1, d->server_count);
        measured += sweep_server(o, d, &d->servers[i]);
    }
    if (o->is_progress)
        fputs("\r\033[K", stderr);
    d->elapsed_s = mono_s() - prog.start_s;
    d->was_interrupted = sweep_interrupted != 0;
    data_save(d, o->out_dir);
    return measured;
}

static int prepare(struct sweep_opts *o, int argc, char **argv) {
    char *archs = "all", *peers = "nginx";
    opts_defaults(o);
    slo_parse(o->slo_text, &o->slo, NULL, 0);
    int rc = parse_opts(o, argc, argv, &archs, &peers);
    if (rc)
        return rc;
    if ((rc = choose_archs(o, archs)) || (rc = choose_peers(o, peers)))
        return rc;
    if (o->name_count + o->peer_count == 0)
        return usage_error("sweep", "no servers to measure (--archs and --peers are empty)");
    finish_opts(o);
    if (make_dirs(o->out_dir) < 0) {
        fprintf(stderr, "srvlab sweep: mkdir %s: %s\n", o->out_dir, strerror(errno));
        return 1;
    }
    /* Absolute from here on: peers (nginx -p) resolve paths against their own prefix. */
    static char abs_dir[4096];
    if (realpath(o->out_dir, abs_dir))
        o->out_dir = abs_dir;
    return 0;
}

int sweep_main(int argc, char **argv) {
    static struct sweep_opts o;
    static struct sweep_data d;
    int rc = prepare(&o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    install_signals();
    pin_self(&o, &d);
    describe_machine(&o, &d, argc, argv);
    size_t servers = o.name_count + o.peer_count;
    fprintf(stderr, "sweep: %zu servers x %d runs of %.1fs, about %.0f s in all, into %s\n",
            servers, steps_count(&o), (double)o.duration_us / 1e6,
            (double)servers * steps_count(&o) * ((double)o.duration_us / 1e6 + 0.1) + 1,
            o.out_dir);
    int measured = run_all(&o, &d);
    data_free(&d);
    if (d.was_interrupted)
        fprintf(stderr, "sweep: interrupted; every server stopped, partial results kept\n");
    char err[512];
    if (report_build(o.out_dir, stdout, err, sizeof err) < 0)
        fprintf(stderr, "srvlab sweep: report: %s\n", err);
    if (d.was_interrupted)
        return 130;
    return measured > 0 ? 0 : 1;
}

int report_main(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(report_usage_text, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-')
        return usage_error("report", argc < 2 ? "missing DIR" : "expected exactly one DIR");
    char err[512];
    if (report_build(argv[1], stdout, err, sizeof err) < 0) {
        fprintf(stderr, "srvlab report: %s\n", err);
        return 1;
    }
    return 0;
}
