/* Poisson arrivals: counts in an interval and times between arrivals (course notes: P(k events)
 * = e^-L L^k / k! with L = rate x interval; P(T <= t) = 1 - e^(-rate t)). Pure math, no I/O. */
#ifndef SRVLAB_POISSON_H
#define SRVLAB_POISSON_H

/* P(N = k) for a Poisson count with the given mean (rate x interval, >= 0). Computed in log
 * space, so it does not overflow for large means or k. */
double poisson_pmf(double mean, unsigned long k);

/* P(N <= k). */
double poisson_cdf(double mean, unsigned long k);

/* Smallest k with P(N <= k) >= p, for 0 < p < 1. */
unsigned long poisson_quantile(double mean, double p);

/* P(next arrival within t) = P(T <= t) = 1 - e^{-rate t}, for rate >= 0 and t >= 0. */
double poisson_arrival_within(double rate_per_s, double t_s);

/* P(at least k arrivals within t) = P(the k-th arrival comes by t), the Erlang(k, rate) CDF;
 * 1 for k = 0. */
double poisson_kth_arrival_within(double rate_per_s, double t_s, unsigned long k);

/* The p-quantile of the time between arrivals (exponential, mean 1 / rate): -ln(1 - p) / rate. */
double poisson_gap_quantile_s(double rate_per_s, double p);

#endif
