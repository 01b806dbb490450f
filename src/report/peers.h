/* Peer servers (nginx, h2o, lighttpd, node) measured beside srvlab's architectures: where
 * their binaries and the config templates in peers/ are, and the command that starts each. */
#ifndef SRVLAB_REPORT_PEERS_H
#define SRVLAB_REPORT_PEERS_H

#include <stdbool.h>
#include <stddef.h>

struct sweep_opts;

/* True when name is a peer we know how to start. */
bool peers_is_known(const char *name);

/* The comma-separated names of known peers, for messages. */
const char *peers_known_list(void);

/* Prepares peer `name` in dir (its config from the template, one worker, a free port in *port)
 * and fills argv (NULL-terminated, strdup'ed: free with peers_free_argv) with the command that
 * runs it in the foreground. Returns 0; -ENOENT when the peer is not installed; -ENOTSUP when it
 * cannot serve the workload; other -errno. err says why. */
int peers_prepare(const struct sweep_opts *o, const char *name, const char *dir, char *argv[16],
                  int *port, char *err, size_t errlen);

void peers_free_argv(char *argv[16]);

/* "nginx/1.22.1" style version of an installed peer, or "" (into buf). */
void peers_version(const char *name, char *buf, size_t len);

#endif
