/* M/M/c through Erlang B and C (servers.md section 4.4). The textbook Erlang C has a^c / c!,
 * which overflows a double near c = 170; the Erlang B recurrence below never forms it. */
#include "model/mmc.h"

#include <errno.h>
#include <math.h>

#include "model/expo.h"
#include "model/solve.h"

int mmc_check(int servers, double arrival_per_s, double service_per_s) {
    if (servers < 1 || servers > MMC_MAX_SERVERS || !isfinite(arrival_per_s) ||
        !isfinite(service_per_s) || arrival_per_s <= 0 || service_per_s <= 0)
        return -EINVAL;
    return arrival_per_s < servers * service_per_s ? 0 : -EDOM;
}

/* B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)): every step stays in [0, 1]. */
double mmc_erlang_b(int servers, double offered_erlangs) {
    double b = 1;
    for (int k = 1; k <= servers; k++)
        b = offered_erlangs * b / (k + offered_erlangs * b);
    return b;
}

/* C = c B / (c - a (1 - B)), from the identity between the two Erlang formulas. */
double mmc_wait_prob(int servers, double offered_erlangs) {
    double b = mmc_erlang_b(servers, offered_erlangs);
    return servers * b / (servers - offered_erlangs * (1 - b));
}

double mmc_utilization(int servers, double arrival_per_s, double service_per_s) {
    return arrival_per_s / (servers * service_per_s);
}

double mmc_in_queue_mean(int servers, double arrival_per_s, double service_per_s) {
    double rho = mmc_utilization(servers, arrival_per_s, service_per_s);
    return mmc_wait_prob(servers, arrival_per_s / service_per_s) * rho / (1 - rho);
}

double mmc_in_system_mean(int servers, double arrival_per_s, double service_per_s) {
    return mmc_in_queue_mean(servers, arrival_per_s, service_per_s) +
           arrival_per_s / service_per_s;
}

double mmc_wait_mean_s(int servers, double arrival_per_s, double service_per_s) {
    double c_wait = mmc_wait_prob(servers, arrival_per_s / service_per_s);
    return c_wait / (servers * service_per_s - arrival_per_s);
}

double mmc_response_mean_s(int servers, double arrival_per_s, double service_per_s) {
    return mmc_wait_mean_s(servers, arrival_per_s, service_per_s) + 1 / service_per_s;
}

double mmc_wait_tail(int servers, double arrival_per_s, double service_per_s, double t_s) {
    if (t_s < 0)
        return 1;
    double c_wait = mmc_wait_prob(servers, arrival_per_s / service_per_s);
    return c_wait * exp(-(servers * service_per_s - arrival_per_s) * t_s);
}

/* With theta = c mu - lambda, T is Wq (an atom 1 - C at zero plus an Exp(theta) tail) plus an
 * independent Exp(mu) service: P(T > t) = (1 - C) e^{-mu t} + C P(Exp(theta) + Exp(mu) > t). */
static double response_tail(double c_wait, double mu, double theta, double t_s) {
    if (t_s <= 0)
        return 1;
    return (1 - c_wait) * expo_tail(mu, t_s) + c_wait * expo_sum_tail(theta, mu, t_s);
}

double mmc_response_tail(int servers, double arrival_per_s, double service_per_s, double t_s) {
    double c_wait = mmc_wait_prob(servers, arrival_per_s / service_per_s);
    return response_tail(c_wait, service_per_s, servers * service_per_s - arrival_per_s, t_s);
}

double mmc_wait_quantile_s(int servers, double arrival_per_s, double service_per_s, double p) {
    double c_wait = mmc_wait_prob(servers, arrival_per_s / service_per_s);
    if (p <= 1 - c_wait)
        return 0;
    return log(c_wait / (1 - p)) / (servers * service_per_s - arrival_per_s);
}

/* Erlang C once per quantile, not once per bisection step: it costs O(c). */
struct response_args {
    double c_wait, mu, theta;
};

static double response_tail_cb(double t_s, const void *ctx) {
    const struct response_args *a = ctx;
    return response_tail(a->c_wait, a->mu, a->theta, t_s);
}

double mmc_response_quantile_s(int servers, double arrival_per_s, double service_per_s, double p) {
    struct response_args a = {mmc_wait_prob(servers, arrival_per_s / service_per_s),
                              service_per_s, servers * service_per_s - arrival_per_s};
    double hint_s = mmc_wait_quantile_s(servers, arrival_per_s, service_per_s, p) -
                    log1p(-p) / service_per_s;
    return solve_quantile_s(response_tail_cb, &a, p, hint_s);
}
