/* Table-driven option parsing for `srvlab model`: one table of options with their kinds, one
 * mask per subcommand, getopt_long underneath. Values are validated here, with units required. */
#include "model/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "net/units.h"

enum kind { K_TIME_POS, K_TIME, K_RATE, K_SERVERS, K_CV, K_FRACTION, K_COUNT, K_WORD };

struct spec {
    const char *name;
    enum kind kind;
    size_t offset; /* field of struct model_opts */
};

static const struct spec specs[CLI_NOPTS] = {
    [CLI_SERVICE] = {"service", K_TIME_POS, offsetof(struct model_opts, service_s)},
    [CLI_SERVICE_CV] = {"service-cv", K_CV, offsetof(struct model_opts, service_cv)},
    [CLI_SERVERS] = {"servers", K_SERVERS, offsetof(struct model_opts, servers)},
    [CLI_LOAD] = {"load", K_RATE, offsetof(struct model_opts, load_per_s)},
    [CLI_OVER] = {"over", K_TIME, offsetof(struct model_opts, over_s)},
    [CLI_RATE] = {"rate", K_RATE, offsetof(struct model_opts, rate_per_s)},
    [CLI_INTERVAL] = {"interval", K_TIME_POS, offsetof(struct model_opts, interval_s)},
    [CLI_K] = {"k", K_COUNT, offsetof(struct model_opts, k)},
    [CLI_WAIT] = {"wait", K_TIME_POS, offsetof(struct model_opts, wait_s)},
    [CLI_MODEL] = {"model", K_WORD, 0},
    [CLI_FROM] = {"from", K_FRACTION, offsetof(struct model_opts, from)},
    [CLI_TO] = {"to", K_FRACTION, offsetof(struct model_opts, to)},
    [CLI_STEP] = {"step", K_FRACTION, offsetof(struct model_opts, step)},
    [CLI_RTT] = {"rtt", K_TIME, offsetof(struct model_opts, rtt_s)},
    [CLI_RTT_FROM] = {"rtt-from", K_WORD, offsetof(struct model_opts, rtt_from)},
    [CLI_FORMAT] = {"format", K_WORD, 0},
};

#define OPT_HELP 1000
#define OPT_SERVICE_MEAN 1001

int cli_usage_error(const struct model_opts *o, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "srvlab model %s: ", o->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'srvlab model --help'\n");
    return 2;
}

static void set_defaults(struct model_opts *o, const char *cmd) {
    *o = (struct model_opts){0};
    o->cmd = cmd;
    o->service_cv = 1;
    o->servers = 1;
    o->interval_s = 1;
    o->from = 0.10;
    o->to = 0.95;
    o->step = 0.05;
    o->rtt_from = "min";
    o->model = PREDICT_MM1;
    o->format = CLI_TEXT;
}

/* Times need a unit ("200us"); a bare number is refused (units.h default_unit_us = 0). */
static int parse_time(const char *arg, bool must_be_positive, double *out_s) {
    double us;
    if (units_parse_duration_us(arg, 0, &us) < 0)
        return -EINVAL;
    if (must_be_positive && us <= 0)
        return -ERANGE;
    *out_s = us / 1e6;
    return 0;
}

/* Rates need a unit too ("5000/s"): units_parse_rate takes a bare number as per second, which
 * is fine for the load generator but hides mistakes in a model where every input has units. */
static int parse_rate(const char *arg, double *out_per_s) {
    if (!strchr(arg, '/') || units_parse_rate(arg, out_per_s) < 0)
        return -EINVAL;
    return *out_per_s > 0 ? 0 : -ERANGE;
}

static int parse_servers(const char *arg, int *out) {
    uint64_t n;
    if (units_parse_count(arg, &n) < 0)
        return -EINVAL;
    if (n < 1 || n > 1000000)
        return -ERANGE;
    *out = (int)n;
    return 0;
}

static int parse_cv(const char *arg, double *out) {
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v))
        return -EINVAL;
    if (v < 0 || v > 100)
        return -ERANGE;
    *out = v;
    return 0;
}

static const char *kind_hint(enum kind kind) {
    switch (kind) {
    case K_TIME_POS: return "a time with a unit greater than zero, e.g. 200us, 3ms, 1min";
    case K_TIME: return "a time with a unit, e.g. 0us, 50us, 1ms";
    case K_RATE: return "a rate with a unit greater than zero, e.g. 5000/s, 20k/s, 3/min";
    case K_SERVERS: return "a whole number from 1 to 1000000";
    case K_CV: return "a number from 0 to 100 (standard deviation / mean)";
    case K_FRACTION: return "a utilization such as 50% or 0.5";
    case K_COUNT: return "a whole number such as 5";
    case K_WORD: break;
    }
    return "";
}

static int parse_word(struct model_opts *o, enum cli_opt id, const char *arg) {
    if (id == CLI_MODEL)
        return predict_model_parse(arg, &o->model);
    if (id == CLI_FORMAT) {
        static const char *const names[] = {"text", "csv", "json"};
        for (int i = 0; i < 3; i++) {
            if (!strcmp(arg, names[i])) {
                o->format = (enum cli_format)i;
                return 0;
            }
        }
        return -EINVAL;
    }
    if (strcmp(arg, "mean") && strcmp(arg, "p50") && strcmp(arg, "min"))
        return -EINVAL;
    o->rtt_from = arg;
    return 0;
}

static int parse_value(struct model_opts *o, enum cli_opt id, const char *arg) {
    void *field = (char *)o + specs[id].offset;
    switch (specs[id].kind) {
    case K_TIME_POS: return parse_time(arg, true, field);
    case K_TIME: return parse_time(arg, false, field);
    case K_RATE: return parse_rate(arg, field);
    case K_SERVERS: return parse_servers(arg, field);
    case K_CV: return parse_cv(arg, field);
    case K_FRACTION: return units_parse_fraction(arg, field);
    case K_COUNT: return units_parse_count(arg, field);
    case K_WORD: return parse_word(o, id, arg);
    }
    return -EINVAL;
}

static int value_error(const struct model_opts *o, enum cli_opt id, const char *arg, int rc) {
    static const char *const words[CLI_NOPTS] = {
        [CLI_MODEL] = "mm1, mmc, mg1, mgc or md1",
        [CLI_FORMAT] = "text, csv or json",
        [CLI_RTT_FROM] = "mean, p50 or min",
    };
    const char *hint = specs[id].kind == K_WORD ? words[id] : kind_hint(specs[id].kind);
    return cli_usage_error(o, "--%s '%s' is %s: expected %s", specs[id].name, arg,
                           rc == -ERANGE ? "out of range" : "not understood", hint);
}

static void build_longopts(struct option *lo) {
    int n = 0;
    for (int i = 0; i < CLI_NOPTS; i++)
        lo[n++] = (struct option){specs[i].name, required_argument, NULL, i};
    lo[n++] = (struct option){"service-mean", required_argument, NULL, OPT_SERVICE_MEAN};
    lo[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[n] = (struct option){0};
}

/* One getopt_long result: -1 to go on, else the exit status. */
static int handle_opt(struct model_opts *o, int c, unsigned allowed, const char *help,
                      char **argv) {
    if (c == OPT_HELP) {
        fputs(help, stdout);
        return 0;
    }
    if (c == OPT_SERVICE_MEAN)
        c = CLI_SERVICE;
    if (c < 0 || c >= CLI_NOPTS)
        return cli_usage_error(o, "unknown option or missing value '%s'", argv[optind - 1]);
    if (!(allowed & CLI_BIT(c)))
        return cli_usage_error(o, "option --%s does not apply here", specs[c].name);
    int rc = parse_value(o, (enum cli_opt)c, optarg);
    if (rc < 0)
        return value_error(o, (enum cli_opt)c, optarg, rc);
    o->given |= CLI_BIT(c);
    return -1;
}

int cli_parse(int argc, char **argv, unsigned allowed_mask, int max_positional,
              const char *help_text, struct model_opts *o) {
    struct option lo[CLI_NOPTS + 3];
    set_defaults(o, argv[0]);
    build_longopts(lo);
    optind = 0; /* glibc: full reset, since main may have run getopt before */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int rc = handle_opt(o, c == 'h' ? OPT_HELP : c, allowed_mask, help_text, argv);
        if (rc >= 0)
            return rc;
    }
    int npos = argc - optind;
    if (npos > max_positional)
        return cli_usage_error(o, "unexpected argument '%s'", argv[optind + max_positional]);
    if (npos > 0)
        o->path = argv[optind];
    return -1;
}

int cli_require(const struct model_opts *o, enum cli_opt opt) {
    if (o->given & CLI_BIT(opt))
        return 0;
    return cli_usage_error(o, "--%s is required", specs[opt].name);
}

int cli_predict_error(const struct model_opts *o, const struct predict_params *p, int rc) {
    char cap[32], load[32];
    if (rc != -EDOM)
        return cli_usage_error(o, "invalid parameters for %s", predict_model_name(p->model));
    return cli_usage_error(o, "load %s is at or above capacity %s (utilization %.1f%%): "
                              "the queue grows without bound",
                           cli_fmt_rate(load, sizeof load, p->arrival_per_s),
                           cli_fmt_rate(cap, sizeof cap, predict_capacity_per_s(p)),
                           100 * p->arrival_per_s / predict_capacity_per_s(p));
}

char *cli_fmt_s(char *buf, size_t len, double seconds) {
    if (isnan(seconds)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (seconds == 0) {
        snprintf(buf, len, "0");
        return buf;
    }
    return units_fmt_duration(buf, len, seconds * 1e6);
}

/* Slow rates read better per minute or per hour: 0.05/s is the course notes' 3/min. */
char *cli_fmt_rate(char *buf, size_t len, double per_s) {
    char n[24];
    if (per_s >= 1)
        snprintf(buf, len, "%s/s", units_fmt_count(n, sizeof n, per_s));
    else if (per_s * 60 >= 1)
        snprintf(buf, len, "%.3g/min", per_s * 60);
    else
        snprintf(buf, len, "%.3g/h", per_s * 3600);
    return buf;
}

char *cli_fmt_pct(char *buf, size_t len, double fraction) {
    double pct = 100 * fraction;
    if (pct != 0 && pct < 0.1)
        snprintf(buf, len, "%.2g%%", pct);
    else
        snprintf(buf, len, "%.1f%%", pct);
    return buf;
}
