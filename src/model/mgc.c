/* M/G/c by the Allen-Cunneen approximation (servers.md section 4.7: G/G/c with Poisson arrivals,
 * so ca^2 = 1): M/M/c's Erlang C and mean wait, scaled by (1 + cv^2) / 2. The distribution is
 * built from mmc.c's Erlang C and mg1.c's service fit and convolution, not re-derived here. */
#include "model/mgc.h"

#include <errno.h>
#include <math.h>

#include "model/mg1.h"
#include "model/mmc.h"

int mgc_check(int servers, double arrival_per_s, double service_mean_s, double service_cv) {
    if (!isfinite(service_mean_s) || service_mean_s <= 0 || !isfinite(service_cv) ||
        service_cv < 0 || service_cv > 100)
        return -EINVAL;
    return mmc_check(servers, arrival_per_s, 1 / service_mean_s);
}

double mgc_wait_prob(int servers, double arrival_per_s, double service_mean_s) {
    return mmc_wait_prob(servers, arrival_per_s * service_mean_s);
}

/* (1 + cv^2) / 2: the Allen-Cunneen factor with Poisson arrivals. 1 for cv = 1, exactly. */
static double variability(double service_cv) {
    return (1 + service_cv * service_cv) / 2;
}

double mgc_wait_mean_s(int servers, double arrival_per_s, double service_mean_s,
                       double service_cv) {
    return mmc_wait_mean_s(servers, arrival_per_s, 1 / service_mean_s) * variability(service_cv);
}

double mgc_response_mean_s(int servers, double arrival_per_s, double service_mean_s,
                           double service_cv) {
    return mgc_wait_mean_s(servers, arrival_per_s, service_mean_s, service_cv) + service_mean_s;
}

double mgc_in_queue_mean(int servers, double arrival_per_s, double service_mean_s,
                         double service_cv) {
    return arrival_per_s * mgc_wait_mean_s(servers, arrival_per_s, service_mean_s, service_cv);
}

double mgc_in_system_mean(int servers, double arrival_per_s, double service_mean_s,
                          double service_cv) {
    return mgc_in_queue_mean(servers, arrival_per_s, service_mean_s, service_cv) +
           arrival_per_s * service_mean_s;
}

/* The wait's tail rate: M/M/c's c mu - lambda divided by the Allen-Cunneen factor, so that the
 * tail's conditional mean is E[Wq] / C. Written this way (not C / E[Wq]) it is bit-for-bit
 * M/M/c's rate when cv = 1. */
static double wait_rate(int servers, double arrival_per_s, double service_mean_s,
                        double service_cv) {
    return (servers / service_mean_s - arrival_per_s) / variability(service_cv);
}

double mgc_wait_tail(int servers, double arrival_per_s, double service_mean_s, double service_cv,
                     double t_s) {
    if (t_s < 0)
        return 1;
    return mgc_wait_prob(servers, arrival_per_s, service_mean_s) *
           exp(-wait_rate(servers, arrival_per_s, service_mean_s, service_cv) * t_s);
}

double mgc_response_tail(int servers, double arrival_per_s, double service_mean_s,
                         double service_cv, double t_s) {
    return mg1_sum_tail_approx(mgc_wait_prob(servers, arrival_per_s, service_mean_s),
                               wait_rate(servers, arrival_per_s, service_mean_s, service_cv),
                               service_mean_s, service_cv, t_s);
}

double mgc_wait_quantile_s(int servers, double arrival_per_s, double service_mean_s,
                           double service_cv, double p) {
    return mg1_exp_wait_quantile_s(mgc_wait_prob(servers, arrival_per_s, service_mean_s),
                                   wait_rate(servers, arrival_per_s, service_mean_s, service_cv),
                                   p);
}

double mgc_response_quantile_s(int servers, double arrival_per_s, double service_mean_s,
                               double service_cv, double p) {
    return mg1_sum_quantile_approx_s(mgc_wait_prob(servers, arrival_per_s, service_mean_s),
                                     wait_rate(servers, arrival_per_s, service_mean_s, service_cv),
                                     service_mean_s, service_cv, p);
}
