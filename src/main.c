/* srvlab's entry point: the table of subcommands and the top-level help. Nothing else. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand commands[] = {
    {"serve", serve_main, "run the HTTP/1.1 server with a chosen concurrency architecture"},
    {"load", load_main, "generate HTTP load (closed or open loop) and report latency"},
    {"model", model_main, "queueing theory: predict capacity and latency from service time"},
    {"sweep", sweep_main, "measure every architecture (and peers) and write an HTML report"},
    {"report", report_main, "rebuild a sweep's HTML report from its saved data"},
    {"merge", merge_main, "merge load results taken at the same time (exact histogram merge)"},
    {"compare", compare_main, "tell whether run B is faster, slower or the same as run A"},
};

static void usage(FILE *out) {
    fprintf(out, "Usage: srvlab <command> [options]\n\n"
                 "How many clients can this server handle at once, and how fast? Measured.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-9s %s\n", "help", "show this help, or a command's: srvlab help serve");
    fprintf(out, "  %-9s %s\n", "version", "print the version");
    fprintf(out, "\nRun 'srvlab <command> --help' for a command's options.\n"
                 "\nExamples:\n"
                 "  srvlab serve --arch epoll --port 8080\n"
                 "  srvlab load -c 100 -R 20k -d 30s http://127.0.0.1:8080/\n"
                 "  srvlab model mm1 --service 200us --load 4000/s\n"
                 "  srvlab sweep --quick --archs all --out report/\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    char *help_args[] = {NULL, "--help", NULL};
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "version") || !strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("srvlab %s\n", SRVLAB_VERSION);
        return 0;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        help_args[0] = argv[2];
        argv = help_args;
        argc = 2;
        name = argv[0];
    } else {
        argv++;
        argc--;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].main(argc, argv);
    fprintf(stderr, "srvlab: unknown command '%s'; see 'srvlab --help'\n", name);
    return 2;
}
