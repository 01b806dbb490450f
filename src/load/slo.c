/* SLO rules in the spirit of k6 thresholds, over the whole run. An unknown metric is an error,
 * never a silent pass (k6#1526). */
#include "load/slo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/units.h"

static int parse_op(const char **p, enum slo_op *op) {
    static const struct {
        const char *text;
        enum slo_op op;
    } ops[] = {{"<=", SLO_LE}, {">=", SLO_GE}, {"<", SLO_LT}, {">", SLO_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (!strncmp(*p, ops[i].text, n)) {
            *op = ops[i].op;
            *p += n;
            return 0;
        }
    }
    return -EINVAL;
}

/* The metric name at the start of a rule; leaves *p at the operator. */
static int parse_metric(const char **p, struct slo_rule *r) {
    size_t n = strcspn(*p, "<>");
    char name[32];
    if (n == 0 || n >= sizeof name)
        return -EINVAL;
    memcpy(name, *p, n);
    name[n] = '\0';
    *p += n;
    if (name[0] == 'p' && name[1]) {
        char *end;
        r->metric = SLO_PERCENTILE;
        r->percentile = strtod(name + 1, &end);
        return *end || !(r->percentile > 0 && r->percentile <= 100) ? -EINVAL : 0;
    }
    static const struct {
        const char *name;
        enum slo_metric metric;
    } names[] = {{"mean", SLO_MEAN}, {"avg", SLO_MEAN}, {"max", SLO_MAX}, {"errors", SLO_ERRORS},
                 {"throughput", SLO_THROUGHPUT}, {"rps", SLO_THROUGHPUT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name))
            return r->metric = names[i].metric, 0;
    return -EINVAL;
}

static int parse_limit(const char *s, struct slo_rule *r) {
    if (r->metric == SLO_ERRORS) {
        size_t n = strlen(s);
        if (n && s[n - 1] == '%') {
            char *end;
            r->limit = strtod(s, &end) / 100.0;
            return end == s + n - 1 && r->limit >= 0 ? 0 : -EINVAL;
        }
        return units_parse_fraction(s, &r->limit);
    }
    if (r->metric == SLO_THROUGHPUT)
        return units_parse_rate(s, &r->limit);
    return units_parse_duration_us(s, 1, &r->limit);
}

static int parse_rule(const char *text, struct slo_rule *r) {
    memset(r, 0, sizeof *r);
    if (strlen(text) >= sizeof r->text)
        return -EINVAL;
    strcpy(r->text, text);
    const char *p = text;
    if (parse_metric(&p, r) < 0 || parse_op(&p, &r->op) < 0)
        return -EINVAL;
    return parse_limit(p, r);
}

int slo_parse(const char *text, struct slo *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        char rule[64];
        if (n == 0 || n >= sizeof rule || out->count == SLO_MAX_RULES) {
            snprintf(err, errlen, "bad SLO list '%s' (at most %d rules, comma-separated)", text,
                     SLO_MAX_RULES);
            return -EINVAL;
        }
        memcpy(rule, p, n);
        rule[n] = '\0';
        if (parse_rule(rule, &out->rules[out->count]) < 0) {
            snprintf(err, errlen, "bad SLO rule '%s' (want e.g. p99<10ms, mean<=2ms, "
                     "errors<0.1%%, rps>=900/s)", rule);
            return -EINVAL;
        }
        out->count++;
        p += n + (p[n] == ',');
    }
    if (out->count == 0) {
        snprintf(err, errlen, "empty SLO");
        return -EINVAL;
    }
    return 0;
}

static double actual_of(const struct slo_rule *r, const struct slo_input *in) {
    switch (r->metric) {
    case SLO_PERCENTILE: return (double)hist_percentile(in->latency, r->percentile);
    case SLO_MEAN: return hist_mean(in->latency);
    case SLO_MAX: return (double)hist_max(in->latency);
    case SLO_ERRORS: return in->error_ratio;
    case SLO_THROUGHPUT: return in->throughput_per_s;
    }
    return 0;
}

static bool holds(enum slo_op op, double actual, double limit) {
    switch (op) {
    case SLO_LT: return actual < limit;
    case SLO_LE: return actual <= limit;
    case SLO_GT: return actual > limit;
    case SLO_GE: return actual >= limit;
    }
    return false;
}

bool slo_judge(const struct slo *s, const struct slo_input *in, struct slo_verdict *verdicts) {
    bool all_met = true;
    for (size_t i = 0; i < s->count; i++) {
        const struct slo_rule *r = &s->rules[i];
        verdicts[i].actual = actual_of(r, in);
        /* A latency objective is not met by a run that measured nothing. */
        bool has_data = r->metric == SLO_ERRORS || r->metric == SLO_THROUGHPUT ||
                        hist_count(in->latency) > 0;
        verdicts[i].is_met = has_data && holds(r->op, verdicts[i].actual, r->limit);
        all_met &= verdicts[i].is_met;
    }
    return all_met;
}
