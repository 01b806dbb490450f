/* M/D/1 queue: Poisson arrivals, a constant service time D, one server, FCFS. Exact waiting-time
 * distribution, evaluated stably (all terms positive). Pure math, no I/O; seconds and per second.
 * The means are in mg1.h (Pollaczek-Khinchine with cv = 0). */
#ifndef SRVLAB_MD1_H
#define SRVLAB_MD1_H

/* Explicit state probabilities kept; beyond them the tail is geometric. */
#define MD1_MAX_STATES 1024

/* The number-in-system distribution, as complementary sums R[m] = P(N > m). */
struct md1 {
    double arrival_per_s, service_s, rho;
    int states;                        /* explicit R[0..states) */
    long double tail[MD1_MAX_STATES];  /* R[m] = P(N > m) at an arbitrary time */
    long double last_prob, ratio;      /* P(N = states - 1), and P(N = i + 1) / P(N = i) after */
};

/* Prepares *m for 0 < lambda D < 1 (mg1_check(lambda, D, 0) == 0; the result is undefined
 * otherwise). O(states^2) work, states being at most MD1_MAX_STATES and usually under 50. */
void md1_init(struct md1 *m, double arrival_per_s, double service_s);

/* P(Wq > t) for t >= 0 (1 for t < 0): an atom of 1 - rho at zero, then continuous. */
double md1_wait_tail(const struct md1 *m, double t_s);

/* p-quantiles (0 < p < 1) of the wait and of the response (= wait + D), by bisection. */
double md1_wait_quantile_s(const struct md1 *m, double p);
double md1_response_quantile_s(const struct md1 *m, double p);

#endif
