/* M/M/1 queue in closed form: Poisson arrivals, exponential service, one server, FCFS.
 * Pure math (no I/O). Rates are per second and times are in seconds throughout. */
#ifndef SRVLAB_MM1_H
#define SRVLAB_MM1_H

/* 0 when 0 < arrival_per_s < service_per_s (a stable queue), -EINVAL when a rate is not
 * positive and finite, -EDOM when the load is at or above capacity (the queue grows without
 * bound). The other functions assume this check passed. */
int mm1_check(double arrival_per_s, double service_per_s);

/* Utilization rho = lambda / mu, in [0, 1). */
double mm1_utilization(double arrival_per_s, double service_per_s);

/* Mean number in the system L = rho / (1 - rho) and waiting in the queue Lq = rho^2 / (1 - rho). */
double mm1_in_system_mean(double arrival_per_s, double service_per_s);
double mm1_in_queue_mean(double arrival_per_s, double service_per_s);

/* Mean response (sojourn) time 1 / (mu - lambda) and mean wait in the queue rho / (mu - lambda). */
double mm1_response_mean_s(double arrival_per_s, double service_per_s);
double mm1_wait_mean_s(double arrival_per_s, double service_per_s);

/* P(T > t) = exp(-(mu - lambda) t): the response time is exponential with rate mu - lambda. */
double mm1_response_tail(double arrival_per_s, double service_per_s, double t_s);

/* P(Wq > t) = rho exp(-(mu - lambda) t) for t >= 0: an atom of 1 - rho at zero wait. */
double mm1_wait_tail(double arrival_per_s, double service_per_s, double t_s);

/* The p-quantile (0 < p < 1) of the response time: -ln(1 - p) / (mu - lambda). */
double mm1_response_quantile_s(double arrival_per_s, double service_per_s, double p);

/* The p-quantile of the wait: 0 when p <= 1 - rho, else ln(rho / (1 - p)) / (mu - lambda). */
double mm1_wait_quantile_s(double arrival_per_s, double service_per_s, double p);

#endif
