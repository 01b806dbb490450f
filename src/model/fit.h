/* Service-time estimation from a low-load measurement: the course notes' L = RTT + queueing
 * delay + service time, solved for the service time when queueing is negligible. Pure math. */
#ifndef SRVLAB_FIT_H
#define SRVLAB_FIT_H

#include <stdbool.h>

/* What fit needs from a `srvlab load --json` result, all in microseconds. */
struct fit_input {
    double service_mean_us, service_stddev_us; /* request sent to response complete */
    double connect_mean_us, connect_p50_us, connect_stddev_us; /* TCP connect: one round trip */
    double rate_per_s; /* achieved request rate (0 when unknown) */
};

struct fit_estimate {
    double rtt_s;          /* network round trip taken off */
    double service_mean_s; /* measured service mean minus rtt_s */
    double service_cv;     /* sqrt(max(0, var(service) - var(connect))) / service_mean_s */
    double utilization;    /* rate x service_mean_s; > 0.2 means the estimate holds queueing */
};

/* Estimates into *out, the round trip being the connect-time mean or (rtt_from_p50) its median.
 * Returns 0, -EINVAL when an input is missing (not finite, or service mean <= 0), or -ERANGE
 * when the service mean is not above the round trip (nothing left to attribute to service). */
int fit_estimate(const struct fit_input *in, bool rtt_from_p50, struct fit_estimate *out);

#endif
