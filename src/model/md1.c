/* M/D/1 waiting times without Erlang's alternating sum. Erlang (1909) gives P(Wq <= t) as a sum
 * whose terms alternate in sign and grow like e^{lambda t}, which cancels to noise at high load
 * or far in the tail (servers.md 4.6). Here, following Crommelin's argument for M/D/c as
 * presented by Franx (2001): write t = kD - u with k = floor(t/D) + 1 and 0 < u <= D. A customer
 * waits at most t exactly when the customers waiting (not in service) u before its arrival, plus
 * those arriving in between, number at most k - 1. Hence, with A ~ Poisson(lambda u) and N the
 * number in system at an arbitrary time,
 *     P(Wq > t) = sum_{j<k} P(A = j) P(N > k - j) + P(A >= k),
 * a sum of positive terms. P(N = n) comes from the departure-epoch chain (equal to the
 * arbitrary-time distribution by PASTA); that recursion is itself unstable for large n, so it
 * runs only until the ratio P(N = n + 1) / P(N = n) has converged to its limit 1 / z0, where
 * z0 > 1 solves z = e^{rho (z - 1)}, and the tail is geometric from there. */
#include "model/md1.h"

#include <math.h>

#include "model/poisson.h"
#include "model/solve.h"

/* z0 > 1 with rho (z - 1) = ln z, as x = z - 1 > 0 with rho x = log1p(x), by bisection. */
static double decay_root(double rho) {
    double lo = 0, hi = 2 * (1 - rho) / rho + 1;
    while (rho * hi <= log1p(hi))
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = lo + (hi - lo) / 2;
        if (rho * mid < log1p(mid))
            lo = mid;
        else
            hi = mid;
    }
    return 1 + hi;
}

/* Departure chain: pi_{j+1} = (pi_j - pi_0 a_j - sum_{i=1..j} pi_i a_{j-i+1}) / a_0 with
 * a_k = P(k arrivals in one service) = e^{-rho} rho^k / k!. Fills pi[0..n) and returns n. */
static int state_probs(double rho, double ratio_limit, long double *pi) {
    long double a[MD1_MAX_STATES + 1];
    a[0] = expl(-(long double)rho);
    for (int k = 1; k <= MD1_MAX_STATES; k++)
        a[k] = a[k - 1] * rho / k;
    pi[0] = 1 - (long double)rho;
    long double cum = pi[0], best = INFINITY;
    int n = 1;
    for (; n < MD1_MAX_STATES; n++) {
        long double s = pi[n - 1] - pi[0] * a[n - 1];
        for (int i = 1; i < n; i++)
            s -= pi[i] * a[n - i];
        pi[n] = s / a[0];
        cum += pi[n];
        long double miss = fabsl(pi[n] / pi[n - 1] / ratio_limit - 1);
        if (!(pi[n] > 0) || 1 - cum < 1e-18L || (miss > best && best < 1e-6L))
            break; /* underflow, negligible tail, or the recursion's error now dominates */
        best = miss;
        if (miss < 1e-12L)
            return n + 1;
    }
    return n;
}

void md1_init(struct md1 *m, double arrival_per_s, double service_s) {
    long double pi[MD1_MAX_STATES];
    m->arrival_per_s = arrival_per_s;
    m->service_s = service_s;
    m->rho = arrival_per_s * service_s;
    m->ratio = 1 / (long double)decay_root(m->rho);
    m->states = state_probs(m->rho, m->ratio, pi);
    m->last_prob = pi[m->states - 1];
    /* R[m] = sum of the geometric tail beyond the last explicit state, plus explicit terms. */
    long double r = m->last_prob * m->ratio / (1 - m->ratio);
    for (int i = m->states - 1; i >= 0; i--) {
        m->tail[i] = r;
        r += pi[i];
    }
}

/* P(N > n) for any n >= 0. */
static long double states_above(const struct md1 *m, long n) {
    if (n < m->states)
        return m->tail[n];
    return m->tail[m->states - 1] * powl(m->ratio, (long double)(n - m->states + 1));
}

/* The sum in the header comment; j runs to 40 because P(A = j) <= rho^j / j! < 1e-47 beyond. */
double md1_wait_tail(const struct md1 *m, double t_s) {
    if (t_s < 0)
        return 1;
    double k = floor(t_s / m->service_s) + 1;
    double lambda_u = m->arrival_per_s * (k * m->service_s - t_s);
    long double tail = 0;
    for (long j = 0; j <= 40; j++) {
        long double pa = poisson_pmf(lambda_u, (unsigned long)j);
        tail += j < k ? pa * states_above(m, (long)k - j) : pa;
    }
    return (double)fminl(1, tail);
}

static double wait_tail_cb(double t_s, const void *ctx) {
    return md1_wait_tail(ctx, t_s);
}

double md1_wait_quantile_s(const struct md1 *m, double p) {
    /* The tail decays like ratio^(t / D): a first bracket from that rate. */
    double hint_s = m->service_s * (1 + log(1 - p) / log((double)m->ratio));
    return solve_quantile_s(wait_tail_cb, m, p, hint_s);
}

double md1_response_quantile_s(const struct md1 *m, double p) {
    return md1_wait_quantile_s(m, p) + m->service_s;
}
