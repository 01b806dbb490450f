/* Subtracting the round trip: a connect() costs one round trip (SYN, SYN-ACK), so its time is
 * the network part of each request's latency; what remains is the server's service time. The
 * variances subtract too when the two parts are independent. */
#include "model/fit.h"

#include <errno.h>
#include <math.h>

int fit_estimate(const struct fit_input *in, bool rtt_from_p50, struct fit_estimate *out) {
    double rtt_us = rtt_from_p50 ? in->connect_p50_us : in->connect_mean_us;
    if (!isfinite(in->service_mean_us) || !isfinite(in->service_stddev_us) || !isfinite(rtt_us) ||
        in->service_mean_us <= 0 || in->service_stddev_us < 0 || rtt_us < 0)
        return -EINVAL;
    double mean_us = in->service_mean_us - rtt_us;
    if (mean_us <= 0)
        return -ERANGE;
    double conn_sd = isfinite(in->connect_stddev_us) ? in->connect_stddev_us : 0;
    double var = in->service_stddev_us * in->service_stddev_us - conn_sd * conn_sd;
    out->rtt_s = rtt_us / 1e6;
    out->service_mean_s = mean_us / 1e6;
    out->service_cv = sqrt(var > 0 ? var : 0) / mean_us;
    out->utilization = in->rate_per_s > 0 ? in->rate_per_s * out->service_mean_s : 0;
    return 0;
}
