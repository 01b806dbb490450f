/* M/G/1 by Pollaczek-Khinchine (servers.md section 4.5). Means are exact; M/G/1 has no
 * closed-form percentiles, so mg1_*_approx use a labelled two-moment approximation. The exact
 * M/D/1 distribution is in md1.c. */
#include "model/mg1.h"

#include <errno.h>
#include <math.h>

#include "model/expo.h"
#include "model/solve.h"

int mg1_check(double arrival_per_s, double service_mean_s, double service_cv) {
    if (!isfinite(arrival_per_s) || !isfinite(service_mean_s) || !isfinite(service_cv) ||
        arrival_per_s <= 0 || service_mean_s <= 0 || service_cv < 0 || service_cv > 100)
        return -EINVAL;
    return arrival_per_s * service_mean_s < 1 ? 0 : -EDOM;
}

double mg1_wait_mean_s(double arrival_per_s, double service_mean_s, double service_cv) {
    double rho = arrival_per_s * service_mean_s;
    return rho * (1 + service_cv * service_cv) / (2 * (1 - rho)) * service_mean_s;
}

double mg1_response_mean_s(double arrival_per_s, double service_mean_s, double service_cv) {
    return mg1_wait_mean_s(arrival_per_s, service_mean_s, service_cv) + service_mean_s;
}

double mg1_in_queue_mean(double arrival_per_s, double service_mean_s, double service_cv) {
    return arrival_per_s * mg1_wait_mean_s(arrival_per_s, service_mean_s, service_cv);
}

double mg1_in_system_mean(double arrival_per_s, double service_mean_s, double service_cv) {
    return mg1_in_queue_mean(arrival_per_s, service_mean_s, service_cv) +
           arrival_per_s * service_mean_s;
}

/* ---- Approximate percentiles ---- */

/* A service time with the given mean and cv: shift_s plus, with probability prob[i], an
 * Exp(rate[i]) phase. */
struct service_fit {
    double shift_s;
    int phases;
    double prob[2], rate_per_s[2];
};

static struct service_fit fit_service(double mean_s, double cv) {
    struct service_fit f = {0};
    if (cv == 0) {
        f.shift_s = mean_s;
    } else if (cv <= 1) {
        /* Var(d + Exp) = (mean cv)^2 when the exponential part has mean mean * cv. */
        f.shift_s = mean_s * (1 - cv);
        f.phases = 1;
        f.prob[0] = 1;
        f.rate_per_s[0] = 1 / (mean_s * cv);
    } else {
        /* Balanced-means H2: p1 / rate1 = p2 / rate2 = mean / 2. */
        double c2 = cv * cv;
        f.phases = 2;
        f.prob[0] = (1 + sqrt((c2 - 1) / (c2 + 1))) / 2;
        f.prob[1] = 1 - f.prob[0];
        f.rate_per_s[0] = 2 * f.prob[0] / mean_s;
        f.rate_per_s[1] = 2 * f.prob[1] / mean_s;
    }
    return f;
}

/* The approximate wait's tail rate: its exponential part holds rho and has mean E[Wq] / rho. */
static double wait_tail_rate(double arrival_per_s, double service_mean_s, double service_cv) {
    double rho = arrival_per_s * service_mean_s;
    return rho / mg1_wait_mean_s(arrival_per_s, service_mean_s, service_cv);
}

double mg1_wait_tail_approx(double arrival_per_s, double service_mean_s, double service_cv,
                            double t_s) {
    if (t_s < 0)
        return 1;
    double rho = arrival_per_s * service_mean_s;
    return rho * exp(-wait_tail_rate(arrival_per_s, service_mean_s, service_cv) * t_s);
}

double mg1_sum_tail_approx(double wait_prob, double wait_rate_per_s, double service_mean_s,
                           double service_cv, double t_s) {
    struct service_fit f = fit_service(service_mean_s, service_cv);
    double u = t_s - f.shift_s;
    if (f.phases == 0)
        return u < 0 ? 1 : wait_prob * exp(-wait_rate_per_s * u);
    if (u <= 0)
        return 1;
    double tail = 0;
    for (int i = 0; i < f.phases; i++)
        tail += f.prob[i] * ((1 - wait_prob) * expo_tail(f.rate_per_s[i], u) +
                             wait_prob * expo_sum_tail(wait_rate_per_s, f.rate_per_s[i], u));
    return tail;
}

double mg1_response_tail_approx(double arrival_per_s, double service_mean_s, double service_cv,
                                double t_s) {
    return mg1_sum_tail_approx(arrival_per_s * service_mean_s,
                               wait_tail_rate(arrival_per_s, service_mean_s, service_cv),
                               service_mean_s, service_cv, t_s);
}

double mg1_exp_wait_quantile_s(double wait_prob, double wait_rate_per_s, double p) {
    if (p <= 1 - wait_prob)
        return 0;
    return log(wait_prob / (1 - p)) / wait_rate_per_s;
}

double mg1_wait_quantile_approx_s(double arrival_per_s, double service_mean_s, double service_cv,
                                  double p) {
    return mg1_exp_wait_quantile_s(arrival_per_s * service_mean_s,
                                   wait_tail_rate(arrival_per_s, service_mean_s, service_cv), p);
}

struct sum_args {
    double wait_prob, wait_rate_per_s, service_mean_s, service_cv;
};

static double sum_tail_cb(double t_s, const void *ctx) {
    const struct sum_args *a = ctx;
    return mg1_sum_tail_approx(a->wait_prob, a->wait_rate_per_s, a->service_mean_s,
                               a->service_cv, t_s);
}

double mg1_sum_quantile_approx_s(double wait_prob, double wait_rate_per_s, double service_mean_s,
                                 double service_cv, double p) {
    struct sum_args a = {wait_prob, wait_rate_per_s, service_mean_s, service_cv};
    double hint_s = mg1_exp_wait_quantile_s(wait_prob, wait_rate_per_s, p) +
                    service_mean_s * (1 - log1p(-p) * (service_cv + 1));
    return solve_quantile_s(sum_tail_cb, &a, p, hint_s);
}

double mg1_response_quantile_approx_s(double arrival_per_s, double service_mean_s,
                                      double service_cv, double p) {
    return mg1_sum_quantile_approx_s(arrival_per_s * service_mean_s,
                                     wait_tail_rate(arrival_per_s, service_mean_s, service_cv),
                                     service_mean_s, service_cv, p);
}
