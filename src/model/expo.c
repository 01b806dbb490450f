/* Exponential tails. The two-rate formula divides by a - b, so it is rewritten with expm1 to
 * avoid cancelling to noise when the rates are nearly equal (M/M/c at some loads, M/G/1 fits). */
#include "model/expo.h"

#include <math.h>

double expo_tail(double rate_per_s, double t_s) {
    return t_s <= 0 ? 1 : exp(-rate_per_s * t_s);
}

/* (e^{-bt} - e^{-at}) / (a - b): tends to t e^{-bt} as a approaches b. */
static double exp_diff_ratio(double a, double b, double t_s) {
    double delta = a - b;
    if (delta == 0)
        return t_s * exp(-b * t_s);
    if (fabs(delta * t_s) < 1)
        return exp(-b * t_s) * -expm1(-delta * t_s) / delta;
    return (exp(-b * t_s) - exp(-a * t_s)) / delta;
}

/* (a e^{-bt} - b e^{-at}) / (a - b) = e^{-bt} + b (e^{-bt} - e^{-at}) / (a - b). */
double expo_sum_tail(double a_per_s, double b_per_s, double t_s) {
    if (t_s <= 0)
        return 1;
    return exp(-b_per_s * t_s) + b_per_s * exp_diff_ratio(a_per_s, b_per_s, t_s);
}
