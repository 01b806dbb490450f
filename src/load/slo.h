/* Service level objectives: parsing 'p90<1ms,p99<10ms,errors<0.1%' and judging a run against
 * them. Pure: the caller passes the measured values in. */
#ifndef SRVLAB_SLO_H
#define SRVLAB_SLO_H

#include <stdbool.h>
#include <stddef.h>

#include "load/hist.h"

#define SLO_MAX_RULES 16

enum slo_metric { SLO_PERCENTILE, SLO_MEAN, SLO_MAX, SLO_ERRORS, SLO_THROUGHPUT };
enum slo_op { SLO_LT, SLO_LE, SLO_GT, SLO_GE };

struct slo_rule {
    enum slo_metric metric;
    double percentile; /* SLO_PERCENTILE: 0 < p <= 100 */
    enum slo_op op;
    double limit;      /* microseconds; a fraction for errors; req/s for throughput */
    char text[48];     /* the rule as written, for the verdict table */
};

struct slo {
    struct slo_rule rules[SLO_MAX_RULES];
    size_t count;
};

/* What a run measured. */
struct slo_input {
    const struct hist *latency; /* microseconds */
    double error_ratio;         /* errors / requests, 0..1 */
    double throughput_per_s;
};

struct slo_verdict {
    double actual; /* same unit as the rule's limit */
    bool is_met;
};

/* Parses a comma-separated list of rules: pN (latency percentile), mean or max, then one of
 * < <= > >=, then a duration ("10ms"; a bare number is microseconds); errors with a fraction
 * or percentage ("errors<0.1%"); throughput or rps with a rate ("rps>=900/s"). Returns 0, or
 * -EINVAL with the offending rule named in err. */
int slo_parse(const char *text, struct slo *out, char *err, size_t errlen);

/* Judges each rule; returns true when every rule is met. verdicts has out->count entries. */
bool slo_judge(const struct slo *s, const struct slo_input *in, struct slo_verdict *verdicts);

#endif
