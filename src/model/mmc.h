/* M/M/c queue: Poisson arrivals, c identical exponential servers sharing one FCFS queue.
 * Pure math (no I/O). Rates are per second, times in seconds, offered load a in Erlangs. */
#ifndef SRVLAB_MMC_H
#define SRVLAB_MMC_H

/* Largest number of servers accepted; the recurrences are O(c). */
#define MMC_MAX_SERVERS 1000000

/* 0 when 1 <= servers <= MMC_MAX_SERVERS, rates are positive and finite and the load is below
 * capacity (lambda < c mu); -EINVAL for bad values; -EDOM when lambda >= c mu. */
int mmc_check(int servers, double arrival_per_s, double service_per_s);

/* Erlang B: probability that all c servers are busy in a system without a queue (the fraction
 * of arrivals lost), for any a >= 0. Stable recurrence; no factorials, fine at c = 10^6. */
double mmc_erlang_b(int servers, double offered_erlangs);

/* Erlang C: probability that an arrival has to wait, for 0 <= a < c. */
double mmc_wait_prob(int servers, double offered_erlangs);

/* Utilization rho = lambda / (c mu). */
double mmc_utilization(int servers, double arrival_per_s, double service_per_s);

/* Mean number waiting Lq = C rho / (1 - rho) and in the system L = Lq + a. */
double mmc_in_queue_mean(int servers, double arrival_per_s, double service_per_s);
double mmc_in_system_mean(int servers, double arrival_per_s, double service_per_s);

/* Mean wait C / (c mu - lambda) and mean response time (mean wait + 1 / mu). */
double mmc_wait_mean_s(int servers, double arrival_per_s, double service_per_s);
double mmc_response_mean_s(int servers, double arrival_per_s, double service_per_s);

/* P(Wq > t) = C exp(-(c mu - lambda) t) for t >= 0. */
double mmc_wait_tail(int servers, double arrival_per_s, double service_per_s, double t_s);

/* P(T > t) for the response time T = Wq + S (closed form; S exponential and independent). */
double mmc_response_tail(int servers, double arrival_per_s, double service_per_s, double t_s);

/* p-quantile of the wait, closed form: 0 if p <= 1 - C, else ln(C / (1 - p)) / (c mu - lambda). */
double mmc_wait_quantile_s(int servers, double arrival_per_s, double service_per_s, double p);

/* p-quantile of the response time, by bisection on mmc_response_tail (no closed form). */
double mmc_response_quantile_s(int servers, double arrival_per_s, double service_per_s, double p);

#endif
