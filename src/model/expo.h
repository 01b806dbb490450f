/* Tails of exponential random variables and of their sums, written to stay accurate when the
 * two rates are close or equal. Pure math (no I/O); rates per second, times in seconds. */
#ifndef SRVLAB_EXPO_H
#define SRVLAB_EXPO_H

/* P(X > t) for X ~ Exponential(rate): exp(-rate t), and 1 for t <= 0. */
double expo_tail(double rate_per_s, double t_s);

/* P(X + Y > t) for independent X ~ Exp(a), Y ~ Exp(b) (hypoexponential), a, b > 0:
 * (a e^{-bt} - b e^{-at}) / (a - b), and (1 + a t) e^{-at} when a = b. 1 for t <= 0. */
double expo_sum_tail(double a_per_s, double b_per_s, double t_s);

#endif
