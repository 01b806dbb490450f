/* Bisection on a monotone tail function. Slow but sure: quantiles are computed a handful of times
 * per command, and bisection cannot diverge the way Newton's method can on a tail with an atom. */
#include "model/solve.h"

#include <math.h>

double solve_quantile_s(solve_tail_cb tail, const void *ctx, double p, double hint_s) {
    double target = 1 - p;
    if (tail(0, ctx) <= target)
        return 0;
    double lo = 0, hi = hint_s > 0 ? hint_s : 1e-6;
    for (int i = 0; tail(hi, ctx) > target; i++) {
        if (i == 200)
            return NAN;
        lo = hi;
        hi *= 2;
    }
    /* 200 halvings reach the resolution of a double from any bracket. */
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = lo + (hi - lo) / 2;
        if (tail(mid, ctx) > target)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}
