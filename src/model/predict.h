/* One entry point over all queue models: fills the same result struct for M/M/1, M/M/c, M/G/1,
 * M/G/c and M/D/1, so that the CLI prints one way and `curve` loops over loads. Pure math, no
 * I/O. */
#ifndef SRVLAB_PREDICT_H
#define SRVLAB_PREDICT_H

#include <stdbool.h>

enum predict_model { PREDICT_MM1, PREDICT_MMC, PREDICT_MG1, PREDICT_MD1, PREDICT_MGC };

/* The quantile levels reported: p50, p90, p99, p99.9. */
#define PREDICT_NQ 4
extern const double predict_levels[PREDICT_NQ];

struct predict_params {
    enum predict_model model;
    double arrival_per_s;
    double service_mean_s;
    double service_cv; /* standard deviation / mean of the service time; MG1 and MGC only */
    int servers;       /* MMC and MGC only; the others use 1 */
};

struct predict_result {
    double capacity_per_s; /* servers / service mean */
    double utilization;    /* arrival rate / capacity */
    double wait_prob;      /* P(an arrival waits) */
    double in_system_mean, in_queue_mean; /* requests (Little's law) */
    double response_mean_s, wait_mean_s;
    double response_q_s[PREDICT_NQ], wait_q_s[PREDICT_NQ]; /* at predict_levels; NAN if unknown */
    bool is_approx; /* percentiles are an approximation (M/G/1, M/G/c with cv != 1) */
    bool is_mean_approx; /* the means are too (M/G/c with cv != 1: Allen-Cunneen) */
};

/* Returns the model's short name ("M/M/1", ...). */
const char *predict_model_name(enum predict_model model);

/* Parses "mm1", "mmc", "mg1", "md1", "mgc" into *out. Returns 0 or -EINVAL. */
int predict_model_parse(const char *s, enum predict_model *out);

/* Capacity (requests per second) of the configuration in p; the arrival rate is ignored. */
double predict_capacity_per_s(const struct predict_params *p);

/* Fills *r. Returns 0, -EINVAL for bad parameters, or -EDOM when the load is at or above
 * capacity (no steady state exists). *r is untouched on error. */
int predict(const struct predict_params *p, struct predict_result *r);

/* P(wait > t) and P(response > t) for the configuration in p (approximate for M/G/1 and
 * M/G/c with cv != 1, which sets *is_approx). p must have passed predict(). */
void predict_tails(const struct predict_params *p, double t_s, double *wait_tail,
                   double *response_tail, bool *is_approx);

#endif
