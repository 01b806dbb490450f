/* Service-time estimation from a low-load measurement: the course notes' L = RTT + queueing
 * delay + service time, solved for the service time when queueing is negligible. Pure math. */
#ifndef SRVLAB_FIT_H
#define SRVLAB_FIT_H

#include <stdbool.h>

/* What fit needs from a `srvlab load --json` result, all in microseconds. */
struct fit_input {
    double service_mean_us, service_stddev_us; /* request sent to response complete */
    double connect_mean_us, connect_p50_us, connect_min_us, connect_stddev_us; /* one round trip */
    double rate_per_s; /* achieved request rate (0 when unknown: no queueing correction) */
};

/* Which connect-time statistic stands for the round trip. */
enum fit_rtt { FIT_RTT_MEAN, FIT_RTT_P50, FIT_RTT_MIN };

/* The round trip in microseconds that rtt_from selects (NAN when the input lacks it). */
double fit_rtt_us(const struct fit_input *in, enum fit_rtt rtt_from);

struct fit_estimate {
    double rtt_s;          /* network round trip taken off */
    double service_mean_s; /* E[S]: see fit_estimate */
    double service_cv;     /* sqrt(max(0, var(service) - var(connect))) / (service mean - rtt) */
    double utilization;    /* rate x service_mean_s; > 0.2 means a less certain estimate */
};

/* Estimates into *out. With m = service mean - round trip (the server's response time), cv as
 * above and lambda the measured rate, E[S] solves the Pollaczek-Khinchine mean
 * m = E[S] + lambda E[S]^2 (1 + cv^2) / (2 (1 - lambda E[S])), which takes off the queueing
 * delay the run itself caused (E[S] = m / (1 + lambda m) for cv = 1). Returns 0, -EINVAL when
 * an input is missing (not finite, or service mean <= 0), or -ERANGE when the service mean is
 * not above the round trip (nothing left to attribute to the server). */
int fit_estimate(const struct fit_input *in, enum fit_rtt rtt_from, struct fit_estimate *out);

#endif
