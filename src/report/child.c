/* The sweep's child processes: servers (srvlab architectures and peers), the loader, the model.
 * Each child leads its own process group, so a Ctrl-C on the terminal reaches only the sweep,
 * which then stops them by PID. Also reads their CPU time and memory from /proc. */
#include "report/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/peers.h"

volatile int sweep_interrupted;

int child_pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* In the child: own process group, CPU, stdio, then exec. Never returns. */
static void exec_child(char *const argv[], const char *out_path, const char *err_path, int cpu) {
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (cpu >= 0)
        child_pin(cpu);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644) : out;
    if (in < 0 || out < 0 || err < 0)
        _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

pid_t child_spawn(char *const argv[], const char *out_path, const char *err_path, int cpu) {
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        exec_child(argv, out_path, err_path, cpu);
    setpgid(pid, pid); /* also here, so the group exists before we may signal it */
    return pid;
}

/* ---- Servers ---- */

static int read_port_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int port = -1;
    if (fscanf(f, "%d", &port) != 1)
        port = -1;
    fclose(f);
    return port;
}

static bool accepts(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Waits up to 10 s for the server to accept; learns its port from port_file when given. */
static int wait_ready(struct server_proc *p, const char *port_file, char *err, size_t errlen) {
    for (int i = 0; i < 500 && !sweep_interrupted; i++) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            snprintf(err, errlen, "exited at start (status %d); see %s",
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                     p->log_path);
            return -ECHILD;
        }
        if (port_file && p->port <= 0)
            p->port = read_port_file(port_file);
        if (p->port > 0 && accepts(p->port))
            return 0;
        sleep_ms(20);
    }
    snprintf(err, errlen, "%s", sweep_interrupted ? "interrupted" : "not accepting after 10 s");
    return sweep_interrupted ? -EINTR : -ETIMEDOUT;
}

static int start_arch(const struct sweep_opts *o, const struct sweep_server *s,
                      struct server_proc *p, char *err, size_t errlen) {
    char port_file[4096], root[4096] = "";
    snprintf(port_file, sizeof port_file, "%s/runs/%s/port", o->out_dir, s->name);
    unlink(port_file);
    char *argv[16] = {(char *)o->self, "serve", "--arch", (char *)s->name, "--port", "0",
                      "--port-file", port_file, "--quiet"};
    int n = 9;
    if (o->workload == SWEEP_STATIC) {
        snprintf(root, sizeof root, "%s", o->static_path);
        char *slash = strrchr(root, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(root, sizeof root, ".");
        argv[n++] = "--root";
        argv[n++] = root;
    }
    argv[n] = NULL;
    pid_t pid = child_spawn(argv, p->log_path, NULL, o->is_pinned ? 0 : -1);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(-pid));
        return pid;
    }
    p->pid = pid;
    return wait_ready(p, port_file, err, errlen);
}

int child_start_server(const struct sweep_opts *o, struct sweep_server *s,
                       struct server_proc *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    char dir[3800];
    snprintf(dir, sizeof dir, "%s/runs/%s", o->out_dir, s->name);
    snprintf(p->log_path, sizeof p->log_path, "%s/server.log", dir);
    if (!strcmp(s->kind, "arch"))
        return start_arch(o, s, p, err, errlen);
    char *argv[16];
    int rc = peers_prepare(o, s->name, dir, argv, &p->port, err, errlen);
    if (rc < 0)
        return rc;
    pid_t pid = child_spawn(argv, p->log_path, NULL, o->is_pinned ? 0 : -1);
    peers_free_argv(argv);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(-pid));
        return pid;
    }
    p->pid = pid;
    return wait_ready(p, NULL, err, errlen);
}

/* Waits up to ms for pid to exit; true when it did (and was reaped). */
static bool reap_within(pid_t pid, long ms) {
    for (long t = 0; t <= ms; t += 10) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) /* ECHILD: reaped already */
            return true;
        sleep_ms(10);
    }
    return false;
}

void child_stop_server(struct server_proc *p) {
    if (p->pid <= 0)
        return;
    kill(-p->pid, SIGTERM);
    if (!reap_within(p->pid, 2000)) {
        kill(-p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    kill(-p->pid, SIGKILL); /* workers or connection processes left behind */
    p->pid = 0;
}

/* ---- The server's own metrics ---- */

/* Reads the whole answer to a one-shot HTTP/1.0 request into buf (NUL-terminated). */
static int http_get(int port, const char *path, char *buf, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    size_t got = 0;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                     send(fd, req, (size_t)len, MSG_NOSIGNAL) == len
                 ? 0
                 : -errno;
    for (ssize_t n = 1; rc == 0 && n > 0 && got < cap - 1; got += (size_t)n)
        if ((n = recv(fd, buf + got, cap - 1 - got, 0)) < 0)
            rc = -errno;
    close(fd);
    buf[got] = '\0';
    return rc;
}

static double prom_value(const char *text, const char *name) {
    size_t len = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += len)
        if ((p == text || p[-1] == '\n') && p[len] == ' ')
            return strtod(p + len + 1, NULL);
    return -1;
}

int child_fetch_metrics(int port, struct server_metrics *m) {
    static char buf[65536];
    int rc = http_get(port, "/metrics", buf, sizeof buf);
    if (rc < 0)
        return rc;
    if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4))
        return -EPROTO;
    m->queue_sum_s = prom_value(buf, "srvlab_queueing_delay_seconds_sum");
    m->queue_count = prom_value(buf, "srvlab_queueing_delay_seconds_count");
    m->service_sum_s = prom_value(buf, "srvlab_service_time_seconds_sum");
    m->service_count = prom_value(buf, "srvlab_service_time_seconds_count");
    bool is_ok = m->queue_sum_s >= 0 && m->queue_count >= 0 && m->service_sum_s >= 0 &&
                 m->service_count >= 0;
    return is_ok ? 0 : -EPROTO;
}

/* ---- CPU and memory from /proc ---- */

struct proc_stat {
    pid_t ppid;
    double cpu_s, child_cpu_s;
};

static int read_stat(pid_t pid, struct proc_stat *st) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    int ppid;
    unsigned long ut, st_, cut, cst;
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %lu %lu", &ppid, &ut,
               &st_, &cut, &cst) != 5)
        return -EIO;
    double tick = (double)sysconf(_SC_CLK_TCK);
    st->ppid = ppid;
    st->cpu_s = (double)(ut + st_) / tick;
    st->child_cpu_s = (double)(cut + cst) / tick;
    return 0;
}

static long read_status_kib(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kib = 0;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, flen) && line[flen] == ':') {
            kib = strtol(line + flen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* Proportional set size (shared pages split between the processes sharing them), so a forking
 * server's children do not count their parent's pages again; VmRSS when smaps_rollup is
 * missing. */
static long read_pss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return read_status_kib(pid, "VmRSS");
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Pss:", 4)) {
            kib = strtol(line + 4, NULL, 10);
            break;
        }
    fclose(f);
    return kib >= 0 ? kib : read_status_kib(pid, "VmRSS");
}

static void add_child(pid_t c, struct proc_usage *u) {
    struct proc_stat st;
    if (read_stat(c, &st) < 0)
        return;
    u->cpu_s += st.cpu_s + st.child_cpu_s;
    u->rss_kib += read_pss_kib(c);
}

/* Adds the usage of pid's direct children (fork's connection processes, nginx's worker), as
 * listed by the kernel for the main thread, which is the one that forks them. Without that
 * file (CONFIG_PROC_CHILDREN), every process's parent is checked instead. */
static void add_children(pid_t pid, struct proc_usage *u) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        for (int c; fscanf(f, "%d", &c) == 1;)
            add_child((pid_t)c, u);
        fclose(f);
        return;
    }
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        pid_t c = (pid_t)atoi(e->d_name);
        struct proc_stat st;
        if (c > 0 && c != pid && read_stat(c, &st) == 0 && st.ppid == pid)
            add_child(c, u);
    }
    if (d)
        closedir(d);
}

int child_usage(pid_t pid, struct proc_usage *u) {
    memset(u, 0, sizeof *u);
    struct proc_stat st;
    int rc = read_stat(pid, &st);
    if (rc < 0)
        return rc;
    u->cpu_s = st.cpu_s + st.child_cpu_s; /* children already reaped count here */
    u->rss_kib = read_pss_kib(pid);
    u->hwm_kib = read_status_kib(pid, "VmHWM");
    add_children(pid, u);
    return 0;
}

/* ---- The loader and the model ---- */

static int exit_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void stop_loader(pid_t pid) {
    kill(pid, SIGINT); /* lets it write what it measured so far */
    if (!reap_within(pid, 1500)) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

int child_run_load(const struct sweep_opts *o, char *const args[], const char *logfile,
                   pid_t server_pid, struct proc_usage *peak, void (*tick_cb)(void)) {
    char *argv[64] = {(char *)o->self, "load"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = child_spawn(argv, logfile, NULL, o->is_pinned ? 1 : -1);
    if (pid < 0)
        return pid;
    /* The loader ends by itself after duration + timeout; this bound only catches a hang. */
    long limit_ms = (long)((o->duration_us + o->timeout_us) / 1000) + 15000;
    /* Checked every 10 ms so a run costs no more than its length; sampled every 100 ms. */
    for (long t = 0;; t += 10) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return exit_status(status);
        if (sweep_interrupted || t > limit_ms) {
            stop_loader(pid);
            return sweep_interrupted ? -EINTR : -ETIMEDOUT;
        }
        struct proc_usage u;
        if (t % 100 == 0 && server_pid > 0 && child_usage(server_pid, &u) == 0 &&
            u.rss_kib > peak->rss_kib)
            peak->rss_kib = u.rss_kib;
        if (tick_cb && t % 250 == 0)
            tick_cb();
        sleep_ms(10);
    }
}

int child_run_capture(const struct sweep_opts *o, char *const args[], const char *outfile) {
    char *argv[64] = {(char *)o->self};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = child_spawn(argv, outfile, "/dev/null", -1);
    if (pid < 0)
        return pid;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return exit_status(status);
}
