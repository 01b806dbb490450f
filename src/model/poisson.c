/* Poisson counts and exponential gaps (servers.md section 4.2). The pmf is evaluated as
 * exp(k ln L - L - ln k!), never as L^k / k!, which overflows past k = 170. */
#include "model/poisson.h"

#include <math.h>

double poisson_pmf(double mean, unsigned long k) {
    if (mean == 0)
        return k == 0 ? 1 : 0;
    return exp((double)k * log(mean) - mean - lgamma((double)k + 1));
}

/* Summed from the top term down, so that the small terms are added first. */
double poisson_cdf(double mean, unsigned long k) {
    double sum = 0;
    for (unsigned long i = k + 1; i-- > 0;)
        sum += poisson_pmf(mean, i);
    return sum > 1 ? 1 : sum;
}

/* Walks k upward from 0; each term comes from the log-space pmf rather than the ratio
 * P(k) / P(k-1) = L / k, because for large means P(0) underflows to a denormal and the ratio
 * walk would carry its lost precision into every later term. */
unsigned long poisson_quantile(double mean, double p) {
    double cdf = poisson_pmf(mean, 0);
    unsigned long k = 0;
    while (cdf < p && k < 1000000000UL)
        cdf += poisson_pmf(mean, ++k);
    return k;
}

double poisson_arrival_within(double rate_per_s, double t_s) {
    return -expm1(-rate_per_s * t_s);
}

double poisson_kth_arrival_within(double rate_per_s, double t_s, unsigned long k) {
    if (k == 0)
        return 1;
    double p = 1 - poisson_cdf(rate_per_s * t_s, k - 1);
    return p < 0 ? 0 : p;
}

double poisson_gap_quantile_s(double rate_per_s, double p) {
    return -log1p(-p) / rate_per_s;
}
