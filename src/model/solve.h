/* Root finding for quantiles that have no closed form. Pure math, no I/O. */
#ifndef SRVLAB_SOLVE_H
#define SRVLAB_SOLVE_H

/* A tail function: P(X > t) for t in seconds, non-increasing in t. ctx is the caller's. */
typedef double (*solve_tail_cb)(double t_s, const void *ctx);

/* Smallest t >= 0 (to a relative precision of about 1e-12) with tail(t) <= 1 - p, for 0 < p < 1,
 * found by bisection. hint_s > 0 is a first guess for the upper bracket, which is doubled until
 * it brackets the quantile. Returns the quantile in seconds, or NAN when no bracket is found. */
double solve_quantile_s(solve_tail_cb tail, const void *ctx, double p, double hint_s);

#endif
