/* M/M/1 closed forms (servers.md section 4.3; the course notes' queueing delay 1 / (capacity -
 * load)). No root finding is needed here: both response and wait have closed-form quantiles. */
#include "model/mm1.h"

#include <errno.h>
#include <math.h>

int mm1_check(double arrival_per_s, double service_per_s) {
    if (!isfinite(arrival_per_s) || !isfinite(service_per_s) || arrival_per_s <= 0 ||
        service_per_s <= 0)
        return -EINVAL;
    return arrival_per_s < service_per_s ? 0 : -EDOM;
}

double mm1_utilization(double arrival_per_s, double service_per_s) {
    return arrival_per_s / service_per_s;
}

double mm1_in_system_mean(double arrival_per_s, double service_per_s) {
    double rho = arrival_per_s / service_per_s;
    return rho / (1 - rho);
}

double mm1_in_queue_mean(double arrival_per_s, double service_per_s) {
    double rho = arrival_per_s / service_per_s;
    return rho * rho / (1 - rho);
}

double mm1_response_mean_s(double arrival_per_s, double service_per_s) {
    return 1 / (service_per_s - arrival_per_s);
}

double mm1_wait_mean_s(double arrival_per_s, double service_per_s) {
    return arrival_per_s / service_per_s / (service_per_s - arrival_per_s);
}

double mm1_response_tail(double arrival_per_s, double service_per_s, double t_s) {
    if (t_s <= 0)
        return 1;
    return exp(-(service_per_s - arrival_per_s) * t_s);
}

double mm1_wait_tail(double arrival_per_s, double service_per_s, double t_s) {
    if (t_s < 0)
        return 1;
    return arrival_per_s / service_per_s * exp(-(service_per_s - arrival_per_s) * t_s);
}

/* -log1p(-p) keeps precision for small p, where 1 - p would round. */
double mm1_response_quantile_s(double arrival_per_s, double service_per_s, double p) {
    return -log1p(-p) / (service_per_s - arrival_per_s);
}

double mm1_wait_quantile_s(double arrival_per_s, double service_per_s, double p) {
    double rho = arrival_per_s / service_per_s;
    if (p <= 1 - rho)
        return 0;
    return log(rho / (1 - p)) / (service_per_s - arrival_per_s);
}
