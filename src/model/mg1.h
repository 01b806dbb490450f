/* M/G/1 queue (Poisson arrivals, general service time, one server, FCFS) and its special case
 * M/D/1 (constant service time). Pure math (no I/O); rates per second, times in seconds.
 * Means are exact (Pollaczek-Khinchine). M/G/1 percentiles are an APPROXIMATION (see below);
 * exact M/D/1 percentiles are in md1.h. */
#ifndef SRVLAB_MG1_H
#define SRVLAB_MG1_H

/* 0 when 0 < lambda, 0 < service_mean_s, 0 <= service_cv <= 100 (all finite) and
 * rho = lambda E[S] < 1; -EINVAL for bad values; -EDOM when rho >= 1. */
int mg1_check(double arrival_per_s, double service_mean_s, double service_cv);

/* Pollaczek-Khinchine: E[Wq] = rho (1 + cv^2) / (2 (1 - rho)) E[S]. cv = 1 gives M/M/1 and
 * cv = 0 gives M/D/1. The response mean adds E[S]. */
double mg1_wait_mean_s(double arrival_per_s, double service_mean_s, double service_cv);
double mg1_response_mean_s(double arrival_per_s, double service_mean_s, double service_cv);

/* Little's law on the P-K mean: Lq = lambda E[Wq] and L = Lq + rho. */
double mg1_in_queue_mean(double arrival_per_s, double service_mean_s, double service_cv);
double mg1_in_system_mean(double arrival_per_s, double service_mean_s, double service_cv);

/* APPROXIMATE tails and quantiles (0 < p < 1). The wait is taken as an atom of 1 - rho at zero
 * plus an exponential tail holding rho, with the P-K mean (conditional mean E[Wq] / rho). The
 * service time is a two-moment fit: constant (cv = 0), constant plus exponential (cv < 1),
 * exponential (cv = 1) or a balanced two-phase hyperexponential (cv > 1). The response time is
 * the exact convolution of the two. Exact for M/M/1 (cv = 1); the wait is exact in mean always. */
double mg1_wait_tail_approx(double arrival_per_s, double service_mean_s, double service_cv,
                            double t_s);
double mg1_response_tail_approx(double arrival_per_s, double service_mean_s, double service_cv,
                                double t_s);
double mg1_wait_quantile_approx_s(double arrival_per_s, double service_mean_s, double service_cv,
                                  double p);
double mg1_response_quantile_approx_s(double arrival_per_s, double service_mean_s,
                                      double service_cv, double p);

/* Building blocks of the approximation above, shared with mgc.c (M/G/c). The wait W is 0 with
 * probability 1 - wait_prob and else Exp(wait_rate_per_s); S is the two-moment fit of a service
 * time with the given mean and cv, independent of W. P(W + S > t) (exact convolution), its
 * p-quantile by bisection, and W's p-quantile in closed form (0 when p <= 1 - wait_prob). */
double mg1_sum_tail_approx(double wait_prob, double wait_rate_per_s, double service_mean_s,
                           double service_cv, double t_s);
double mg1_sum_quantile_approx_s(double wait_prob, double wait_rate_per_s, double service_mean_s,
                                 double service_cv, double p);
double mg1_exp_wait_quantile_s(double wait_prob, double wait_rate_per_s, double p);

#endif
