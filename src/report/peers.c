/* Starting peers from the templates kept in peers/ (@PORT@, @WORKERS@, @DIR@ filled in). Each
 * peer gets one worker, like a single-threaded srvlab architecture pinned to one CPU. */
#include "report/peers.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/sweep.h"

struct peer {
    const char *name;
    const char *bin;       /* looked up in PATH, then /usr/sbin */
    const char *tmpl;      /* file under peers/ */
    const char *version_arg;
};

static const struct peer peers[] = {
    {"nginx", "nginx", "nginx.conf", "-v"},
    {"h2o", "h2o", "h2o.conf", "--version"},
    {"lighttpd", "lighttpd", "lighttpd.conf", "-v"},
    {"node", "node", "node.js", "--version"},
};
#define PEER_COUNT (sizeof peers / sizeof peers[0])

static const struct peer *find_peer(const char *name) {
    for (size_t i = 0; i < PEER_COUNT; i++)
        if (!strcmp(peers[i].name, name))
            return &peers[i];
    return NULL;
}

bool peers_is_known(const char *name) { return find_peer(name) != NULL; }

const char *peers_known_list(void) { return "nginx, h2o, lighttpd, node"; }

static bool find_bin(const char *bin, char *out, size_t len) {
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/local/sbin", path ? path : "/usr/bin:/bin");
    for (char *save, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", dir, bin);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* peers/ beside the binary (the source tree), or $SRVLAB_PEERS, or the installed share dir. */
static bool find_template(const struct sweep_opts *o, const char *file, char *out, size_t len) {
    const char *env = getenv("SRVLAB_PEERS");
    char base[4096];
    snprintf(base, sizeof base, "%s", o->self);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    const char *fmts[] = {"%s/%s", "%s/peers/%s", "%s/../share/srvlab/peers/%s"};
    const char *dirs[] = {env, base, base};
    for (size_t i = 0; i < 3; i++) {
        if (!dirs[i])
            continue;
        snprintf(out, len, fmts[i], dirs[i], file);
        if (access(out, R_OK) == 0)
            return true;
    }
    return false;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int port = -EADDRNOTAVAIL;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void put_line(FILE *out, const char *line, int port, const char *dir) {
    for (const char *p = line; *p; p++) {
        if (!strncmp(p, "@PORT@", 6)) {
            fprintf(out, "%d", port);
            p += 5;
        } else if (!strncmp(p, "@WORKERS@", 9)) {
            fputc('1', out);
            p += 8;
        } else if (!strncmp(p, "@DIR@", 5)) {
            fputs(dir, out);
            p += 4;
        } else {
            fputc(*p, out);
        }
    }
}

/* Copies the template to dst with the placeholders filled in. */
static int fill_template(const char *src, const char *dst, int port, const char *dir) {
    FILE *in = fopen(src, "r");
    if (!in)
        return -errno;
    FILE *out = fopen(dst, "w");
    if (!out) {
        int rc = -errno;
        fclose(in);
        return rc;
    }
    char line[4096];
    while (fgets(line, sizeof line, in))
        put_line(out, line, port, dir);
    fclose(in);
    return fclose(out) == 0 ? 0 : -errno;
}

static void set_argv(char *argv[16], const char *const *words) {
    size_t i = 0;
    for (; words[i] && i < 15; i++)
        argv[i] = strdup(words[i]);
    argv[i] = NULL;
}

/* The file servers among the peers (h2o, lighttpd) serve DIR/www/index.txt at GET /. */
static void write_body(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/www", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/www/index.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("Hello, World!", f);
        fclose(f);
    }
}

static int build_argv(const struct peer *p, const char *bin, const char *conf, const char *dir,
                      int port, char *argv[16]) {
    char portbuf[16], errlog[4096];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    snprintf(errlog, sizeof errlog, "%s/logs/error.log", dir);
    if (!strcmp(p->name, "nginx"))
        set_argv(argv, (const char *[]){bin, "-p", dir, "-c", conf, "-e", errlog, NULL});
    else if (!strcmp(p->name, "h2o"))
        set_argv(argv, (const char *[]){bin, "-c", conf, NULL});
    else if (!strcmp(p->name, "lighttpd"))
        set_argv(argv, (const char *[]){bin, "-D", "-f", conf, NULL});
    else
        set_argv(argv, (const char *[]){bin, conf, portbuf, NULL});
    return 0;
}

int peers_prepare(const struct sweep_opts *o, const char *name, const char *dir, char *argv[16],
                  int *port, char *err, size_t errlen) {
    const struct peer *p = find_peer(name);
    char bin[4096], tmpl[4096], conf[4096], logs[4096];
    if (!p || !find_bin(p->bin, bin, sizeof bin)) {
        snprintf(err, errlen, "%s is not installed", name);
        return -ENOENT;
    }
    if (o->workload != SWEEP_HELLO) {
        snprintf(err, errlen, "its config serves only the hello workload");
        return -ENOTSUP;
    }
    if (!find_template(o, p->tmpl, tmpl, sizeof tmpl)) {
        snprintf(err, errlen, "no template peers/%s (set SRVLAB_PEERS to the peers directory)",
                 p->tmpl);
        return -ENOENT;
    }
    *port = free_port();
    if (*port < 0) {
        snprintf(err, errlen, "no free port: %s", strerror(-*port));
        return *port;
    }
    snprintf(logs, sizeof logs, "%s/logs", dir);
    mkdir(logs, 0755);
    write_body(dir);
    snprintf(conf, sizeof conf, "%s/%s", dir, p->tmpl);
    int rc = fill_template(tmpl, conf, *port, dir);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", conf, strerror(-rc));
        return rc;
    }
    return build_argv(p, bin, conf, dir, *port, argv);
}

void peers_free_argv(char *argv[16]) {
    for (size_t i = 0; i < 16 && argv[i]; i++)
        free(argv[i]);
}

void peers_version(const char *name, char *buf, size_t len) {
    buf[0] = '\0';
    const struct peer *p = find_peer(name);
    char bin[4096], cmd[4200], line[256];
    if (!p || !find_bin(p->bin, bin, sizeof bin))
        return;
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, p->version_arg);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *v = strstr(line, "version: ");
        snprintf(buf, len, "%s", v ? v + 9 : line);
    }
    pclose(f);
}
