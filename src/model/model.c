/* `srvlab model`: the table of queueing subcommands and the top-level help. The subcommands
 * live in cmd_*.c and the math in mm1.c, mmc.c, mg1.c, mgc.c, poisson.c; nothing here computes. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "model/cmds.h"

struct model_cmd {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct model_cmd cmds[] = {
    {"capacity", cmd_queue_capacity, "maximum throughput: servers / service time"},
    {"mm1", cmd_queue_mm1, "M/M/1: one server, exponential service (exact)"},
    {"mmc", cmd_queue_mmc, "M/M/c: c servers sharing one queue (Erlang C)"},
    {"mg1", cmd_queue_mg1, "M/G/1: one server, any service time (Pollaczek-Khinchine)"},
    {"mgc", cmd_queue_mgc, "M/G/c: c servers, any service time (Allen-Cunneen, approximate)"},
    {"md1", cmd_queue_md1, "M/D/1: one server, constant service time"},
    {"poisson", cmd_poisson, "Poisson arrivals: P(k events in an interval), P(next within t)"},
    {"curve", cmd_curve, "predicted latency vs load table (text, CSV or JSON)"},
    {"fit", cmd_curve_fit, "estimate service time from a `srvlab load --json` result, then curve"},
};

static void usage(FILE *out) {
    fprintf(out, "Usage: srvlab model <command> [options]\n\n"
                 "Queueing theory: predict capacity and latency from the service time.\n"
                 "Every input takes a unit: times 200us, 3ms, 1min; rates 5000/s, 20k/s, 3/min.\n"
                 "\nCommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
    fputs("\nRun 'srvlab model <command> --help' for its options and defaults.\n"
          "Loads at or above capacity, times <= 0, missing units and servers < 1 are\n"
          "usage errors (exit 2). Formulas and their limits: docs/queueing.md.\n"
          "\nExamples:\n"
          "  srvlab model capacity --service 200us --servers 2\n"
          "  srvlab model mm1 --service 200us --load 4000/s\n"
          "  srvlab model mmc --servers 4 --service 1ms --load 3000/s --over 2ms\n"
          "  srvlab model mg1 --service-mean 200us --service-cv 0.5 --load 4000/s\n"
          "  srvlab model mgc --servers 4 --service-mean 4.3ms --service-cv 0.85 "
          "--load 750/s\n"
          "  srvlab model poisson --rate 3/min --interval 1min --k 5 --wait 30s\n"
          "  srvlab model curve --service 200us --from 10% --to 95% --step 5% "
          "--format csv\n"
          "  srvlab model fit result.json\n",
          out);
}

int model_main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(name, cmds[i].name))
            return cmds[i].main(argc - 1, argv + 1);
    fprintf(stderr, "srvlab model: unknown command '%s'; see 'srvlab model --help'\n", name);
    return 2;
}
