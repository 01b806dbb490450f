/* M/G/c queue (Poisson arrivals, general service time, c servers sharing one FCFS queue) by the
 * Allen-Cunneen approximation. Pure math (no I/O); rates per second, times in seconds.
 * Everything here is an APPROXIMATION unless cv = 1, where it is exactly M/M/c (mmc.h). */
#ifndef SRVLAB_MGC_H
#define SRVLAB_MGC_H

/* 0 when 1 <= servers <= MMC_MAX_SERVERS, 0 < lambda, 0 < service_mean_s, 0 <= cv <= 100 (all
 * finite) and lambda E[S] < c; -EINVAL for bad values; -EDOM when lambda E[S] >= c. */
int mgc_check(int servers, double arrival_per_s, double service_mean_s, double service_cv);

/* P(an arrival waits): Erlang C of M/M/c with the same mean service time, a = lambda E[S]. */
double mgc_wait_prob(int servers, double arrival_per_s, double service_mean_s);

/* Allen-Cunneen: E[Wq] = E[Wq of M/M/c] (1 + cv^2) / 2 (Poisson arrivals, so ca^2 = 1). Exact
 * for cv = 1, and for c = 1 it is the Pollaczek-Khinchine mean. The response mean adds E[S]. */
double mgc_wait_mean_s(int servers, double arrival_per_s, double service_mean_s,
                       double service_cv);
double mgc_response_mean_s(int servers, double arrival_per_s, double service_mean_s,
                           double service_cv);

/* Little's law on that mean: Lq = lambda E[Wq] and L = Lq + lambda E[S]. */
double mgc_in_queue_mean(int servers, double arrival_per_s, double service_mean_s,
                         double service_cv);
double mgc_in_system_mean(int servers, double arrival_per_s, double service_mean_s,
                          double service_cv);

/* Tails and p-quantiles (0 < p < 1). The wait is an atom of 1 - C at zero plus an exponential
 * tail holding C (Erlang C) with conditional mean E[Wq] / C, so that its mean is Allen-Cunneen's;
 * the response adds the two-moment service fit of mg1.h, convolved exactly. */
double mgc_wait_tail(int servers, double arrival_per_s, double service_mean_s, double service_cv,
                     double t_s);
double mgc_response_tail(int servers, double arrival_per_s, double service_mean_s,
                         double service_cv, double t_s);
double mgc_wait_quantile_s(int servers, double arrival_per_s, double service_mean_s,
                           double service_cv, double p);
double mgc_response_quantile_s(int servers, double arrival_per_s, double service_mean_s,
                               double service_cv, double p);

#endif
