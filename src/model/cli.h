/* Option parsing and output helpers shared by the `srvlab model` subcommands. This is the only
 * layer of src/model/ that prints; the math files never do. */
#ifndef SRVLAB_MODEL_CLI_H
#define SRVLAB_MODEL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/predict.h"

/* Every option of every model subcommand; a subcommand accepts the subset in its mask. */
enum cli_opt {
    CLI_SERVICE,    /* --service / --service-mean T */
    CLI_SERVICE_CV, /* --service-cv X */
    CLI_SERVERS,    /* --servers N */
    CLI_LOAD,       /* --load R */
    CLI_OVER,       /* --over T */
    CLI_RATE,       /* --rate R */
    CLI_INTERVAL,   /* --interval T */
    CLI_K,          /* --k N */
    CLI_WAIT,       /* --wait T */
    CLI_MODEL,      /* --model mm1|mmc|mg1|mgc|md1 */
    CLI_FROM,       /* --from F */
    CLI_TO,         /* --to F */
    CLI_STEP,       /* --step F */
    CLI_RTT,        /* --rtt T */
    CLI_RTT_FROM,   /* --rtt-from mean|p50|min */
    CLI_FORMAT,     /* --format text|csv|json */
    CLI_NOPTS
};
#define CLI_BIT(o) (1u << (o))

enum cli_format { CLI_TEXT, CLI_CSV, CLI_JSON };

struct model_opts {
    const char *cmd;     /* subcommand name, for messages */
    unsigned given;      /* CLI_BIT of each option present on the command line */
    double service_s;    /* mean service time */
    double service_cv;   /* standard deviation / mean (default 1, exponential) */
    int servers;         /* default 1 */
    double load_per_s;   /* arrival rate */
    double over_s;       /* threshold for P(wait > t) */
    double rate_per_s;   /* poisson: event rate */
    double interval_s;   /* poisson: observation interval (default 1 s) */
    uint64_t k;          /* poisson: number of events */
    double wait_s;       /* poisson: P(next arrival within this) */
    enum predict_model model;
    double from, to, step; /* curve: utilizations (defaults 10%, 95%, 5%) */
    double rtt_s;          /* curve: network round trip added to every latency (default 0) */
    const char *rtt_from;  /* fit: "min" (default), "p50" or "mean" of the connect time */
    enum cli_format format;
    const char *path;      /* fit: the positional RESULT.json */
};

/* Sets the defaults and parses argv (argv[0] is the subcommand) into *o, accepting only the
 * options in allowed_mask and at most max_positional operands. Returns -1 to go on, or the exit
 * status to return now: 0 after printing help_text to stdout for --help, 2 after printing one
 * usage error line to stderr. */
int cli_parse(int argc, char **argv, unsigned allowed_mask, int max_positional,
              const char *help_text, struct model_opts *o);

/* Prints "srvlab model CMD: <message>; see 'srvlab model --help'" to stderr; returns 2. */
int cli_usage_error(const struct model_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns 2 after a usage error naming the missing option when opt is absent, else 0. */
int cli_require(const struct model_opts *o, enum cli_opt opt);

/* Usage error for predict()'s -EINVAL/-EDOM, with the capacity in the message. Returns 2. */
int cli_predict_error(const struct model_opts *o, const struct predict_params *p, int rc);

/* Formatting into caller buffers (at least 32 bytes): "1.23ms", "5.00k/s", "80.0%". */
char *cli_fmt_s(char *buf, size_t len, double seconds);
char *cli_fmt_rate(char *buf, size_t len, double per_s);
char *cli_fmt_pct(char *buf, size_t len, double fraction);

#endif
