/* fork: a process per connection. The parent only accepts and reaps; the child serves the
 * connection and exits. Children inherit the stop eventfd, so a SIGTERM to the parent reaches
 * every child's loop (idle connections close, in-flight requests finish). */
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/accesslog.h"
#include "serve/arch.h"

static int reap(int options) {
    int n = 0;
    while (waitpid(-1, NULL, options) > 0)
        n++;
    return n;
}

static int run(struct srv *srv) {
    int fd;
    while ((fd = srv_accept(srv)) >= 0) {
        reap(WNOHANG);
        pid_t pid = fork();
        if (pid == 0) {
            close(srv->listen_fd);
            signal(SIGTERM, SIG_DFL); /* the stop eventfd tells the child; a 2nd TERM kills */
            srv_serve_blocking(srv, fd);
            accesslog_flush_all(); /* _exit skips run_arch's flush: the lines are this child's */
            _exit(0);
        }
        if (pid < 0)
            srv_log_limited(srv, 1, "fork: %s (connection dropped)", strerror(errno));
        close(fd);
    }
    close(srv->listen_fd);
    reap(0); /* children finish their in-flight requests; the drain alarm bounds this */
    return 0;
}

const struct arch arch_fork = {
    .name = "fork",
    .summary = "a process per connection (fork); isolated, but costly to create",
    .run = run,
};
