/* Subtracting the round trip: a connect() costs one round trip (SYN, SYN-ACK), so its time is
 * the network part of each request's latency; what remains is the server's service time. The
 * variances subtract too when the two parts are independent. */
#include "model/fit.h"

#include <errno.h>
#include <math.h>

double fit_rtt_us(const struct fit_input *in, enum fit_rtt rtt_from) {
    switch (rtt_from) {
    case FIT_RTT_P50: return in->connect_p50_us;
    case FIT_RTT_MIN: return in->connect_min_us;
    case FIT_RTT_MEAN: break;
    }
    return in->connect_mean_us;
}

/* k S^2 + b S - m = 0 with k = lambda (cv^2 - 1) / 2 and b = 1 + lambda m (the P-K mean times
 * 1 - lambda S), solved as 2m / (b + sqrt(b^2 + 4 k m)), which has no cancellation and gives
 * m / b at k = 0. b^2 + 4 k m >= 1 since k >= -lambda / 2. */
static double service_from_response(double m_s, double cv, double rate_per_s) {
    double k = rate_per_s * (cv * cv - 1) / 2, b = 1 + rate_per_s * m_s;
    return 2 * m_s / (b + sqrt(b * b + 4 * k * m_s));
}

int fit_estimate(const struct fit_input *in, enum fit_rtt rtt_from, struct fit_estimate *out) {
    double rtt_us = fit_rtt_us(in, rtt_from);
    if (!isfinite(in->service_mean_us) || !isfinite(in->service_stddev_us) || !isfinite(rtt_us) ||
        in->service_mean_us <= 0 || in->service_stddev_us < 0 || rtt_us < 0)
        return -EINVAL;
    double m_us = in->service_mean_us - rtt_us;
    if (m_us <= 0)
        return -ERANGE;
    double conn_sd = isfinite(in->connect_stddev_us) ? in->connect_stddev_us : 0;
    double var = in->service_stddev_us * in->service_stddev_us - conn_sd * conn_sd;
    double rate = isfinite(in->rate_per_s) && in->rate_per_s > 0 ? in->rate_per_s : 0;
    out->rtt_s = rtt_us / 1e6;
    out->service_cv = sqrt(var > 0 ? var : 0) / m_us;
    out->service_mean_s = service_from_response(m_us / 1e6, out->service_cv, rate);
    out->utilization = rate * out->service_mean_s;
    return 0;
}
