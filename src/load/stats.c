/* Statistics for verdicts and comparisons (see stats.h for the contracts). Every formula names
 * its source; the 95% level is fixed so that results read the same everywhere. */
#include "load/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA_HALF 0.025       /* two-sided 95% */
#define EXACT_BINOMIAL_MEAN 2000.0 /* below this rare-side mean, binomial sums are exact */
#define AD_MIN_Z 1e-9          /* a zero gap would make ln F(0) infinite: floor it */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- Anderson-Darling, exponential with estimated mean ---------------------------------- */

/* Critical values of the modified statistic A* = A^2 (1 + 0.6/n) for the exponential law whose
 * mean is estimated from the sample (Stephens' "case 3"): Stephens, "EDF statistics for
 * goodness of fit and some comparisons", JASA 69 (1974), table 1A; the same values appear in
 * D'Agostino & Stephens, "Goodness-of-Fit Techniques" (1986), and in scipy.stats.anderson. The
 * modification makes one table serve every n from about 5 up. */
#define AD_EXP_CRIT_5 1.341
#define AD_EXP_CRIT_1 1.957

int stats_ad_exponential(double *x, size_t n, struct stats_ad *out) {
    memset(out, 0, sizeof *out);
    if (n < 5)
        return -EINVAL;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= 0) || !isfinite(x[i]))
            return -EINVAL;
        sum += x[i];
    }
    double mean = sum / (double)n;
    if (!(mean > 0))
        return -EINVAL;
    qsort(x, n, sizeof *x, cmp_double);
    /* A^2 = -n - (1/n) sum_i (2i - 1) [ln F(x_(i)) + ln(1 - F(x_(n+1-i)))], with
     * ln F(x) = ln(1 - e^-z) computed as log(-expm1(-z)) and ln(1 - F(x)) = -z. */
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double z_lo = fmax(x[i] / mean, AD_MIN_Z), z_hi = x[n - 1 - i] / mean;
        s += (2.0 * (double)(i + 1) - 1.0) * (log(-expm1(-z_lo)) - z_hi);
    }
    out->n = n;
    out->mean = mean;
    out->a2 = -(double)n - s / (double)n;
    out->a2_mod = out->a2 * (1.0 + 0.6 / (double)n);
    out->crit_5 = AD_EXP_CRIT_5;
    out->crit_1 = AD_EXP_CRIT_1;
    out->rejects_5 = out->a2_mod > AD_EXP_CRIT_5;
    out->rejects_1 = out->a2_mod > AD_EXP_CRIT_1;
    return 0;
}

/* ---- Lag-1 Spearman correlation ---------------------------------------------------------- */

struct ranked {
    double v;
    size_t i;
};

static int cmp_ranked(const void *a, const void *b) {
    return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

/* Average ranks (1-based) of x[0..n) into rank[], using scratch. */
static void rank_values(const double *x, size_t n, struct ranked *scratch, double *rank) {
    for (size_t i = 0; i < n; i++)
        scratch[i] = (struct ranked){x[i], i};
    qsort(scratch, n, sizeof *scratch, cmp_ranked);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && scratch[j + 1].v == scratch[i].v)
            j++;
        double avg = (double)(i + j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++)
            rank[scratch[k].i] = avg;
        i = j + 1;
    }
}

/* Pearson correlation of two equally long series (here: ranks, which makes it Spearman's). */
static double pearson(const double *a, const double *b, size_t n) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

int stats_lag1_spearman(const double *x, size_t n, struct stats_lag1 *out) {
    memset(out, 0, sizeof *out);
    if (n < 3)
        return -EINVAL;
    size_t m = n - 1;
    struct ranked *scratch = malloc(m * sizeof *scratch);
    double *ra = malloc(m * sizeof *ra), *rb = malloc(m * sizeof *rb);
    if (!scratch || !ra || !rb) {
        free(scratch), free(ra), free(rb);
        return -ENOMEM;
    }
    /* Rank each side of the pairs separately, as Spearman's definition asks. */
    rank_values(x, m, scratch, ra);
    rank_values(x + 1, m, scratch, rb);
    out->pairs = m;
    out->rho = pearson(ra, rb, m);
    out->band = STATS_Z95 / sqrt((double)m);
    out->is_correlated = fabs(out->rho) > out->band;
    free(scratch), free(ra), free(rb);
    return 0;
}

double stats_effective_n(double n, double rho) {
    if (n < 1)
        return n;
    if (!(rho > 0))
        return n;
    /* AR(1): the variance of a mean of n samples is that of n (1 - rho) / (1 + rho)
     * independent ones (e.g. Box, Jenkins & Reinsel); we apply it to quantiles as well. */
    double eff = rho >= 1 ? 1 : n * (1 - rho) / (1 + rho);
    return eff < 1 ? 1 : eff;
}

/* ---- Order-statistic intervals ------------------------------------------------------------ */

/* For B ~ Binomial(m, r), r <= 1/2: a = the largest k with P(B <= k) <= 2.5% (-1 if none),
 * b = the smallest k with P(B >= k) <= 2.5% (m + 1 if none). */
static void count_bounds(uint64_t m, double r, int64_t *a, int64_t *b) {
    double mu = (double)m * r;
    if (mu >= EXACT_BINOMIAL_MEAN) {
        double sd = sqrt(mu * (1 - r));
        *a = (int64_t)floor(mu - STATS_Z95 * sd - 0.5);
        *b = (int64_t)ceil(mu + STATS_Z95 * sd + 0.5);
    } else {
        /* Walk the probability mass function up from 0 in log space (no underflow trouble:
         * terms too small for exp() are also too small to matter). */
        double log_ratio = log(r) - log1p(-r), log_pmf = (double)m * log1p(-r), cdf = 0;
        *a = -1;
        *b = (int64_t)m + 1;
        for (uint64_t k = 0; k <= m; k++) {
            if (1 - cdf <= ALPHA_HALF) {
                *b = (int64_t)k;
                break;
            }
            cdf += exp(log_pmf);
            if (cdf <= ALPHA_HALF)
                *a = (int64_t)k;
            log_pmf += log((double)(m - k) / (double)(k + 1)) + log_ratio;
        }
    }
    if (*a < -1)
        *a = -1;
    if (*b > (int64_t)m + 1)
        *b = (int64_t)m + 1;
}

struct stats_ranks stats_quantile_ranks(uint64_t n, double n_eff, double q) {
    struct stats_ranks out = {0};
    if (n == 0 || !(q > 0 && q < 1))
        return out;
    if (!(n_eff >= 1) || n_eff > (double)n)
        n_eff = (double)n;
    uint64_t m = (uint64_t)n_eff;
    int64_t a, b;
    if (q <= 0.5) {
        count_bounds(m, q, &a, &b);
    } else {
        /* Count above instead: B' = m - B ~ Binomial(m, 1 - q). */
        int64_t a2, b2;
        count_bounds(m, 1 - q, &a2, &b2);
        a = (int64_t)m - b2;
        b = (int64_t)m - a2;
    }
    /* Rank lo = a + 1 satisfies P(B < lo) <= 2.5%; rank hi = b satisfies P(B >= hi) <= 2.5%. */
    out.has_lo = a >= 0;
    out.has_hi = b <= (int64_t)m;
    double scale = (double)n / (double)m;
    if (out.has_lo) {
        double lo = floor((double)(a + 1) * scale);
        out.lo = lo < 1 ? 1 : (uint64_t)lo;
    }
    if (out.has_hi) {
        double hi = ceil((double)b * scale);
        out.hi = hi > (double)n ? n : (uint64_t)hi;
        if (out.hi < 1)
            out.hi = 1;
    }
    return out;
}

uint64_t stats_min_samples(double q) {
    if (!(q > 0))
        return 1;
    if (!(q < 1))
        return UINT64_MAX;
    double n = ceil(log(ALPHA_HALF) / log(q) - 1e-9);
    return n < 1 ? 1 : (uint64_t)n;
}

int64_t stats_hist_rank_value(const struct hist *h, uint64_t rank, bool is_upper) {
    if (hist_count(h) == 0)
        return 0;
    struct hist_iter it;
    hist_iter_init(&it);
    int64_t v = hist_max(h);
    while (hist_next(h, &it)) {
        if (it.cumulative >= rank) {
            v = is_upper ? it.hi : it.lo;
            break;
        }
    }
    if (v > hist_max(h))
        v = hist_max(h);
    return v < hist_min(h) ? hist_min(h) : v;
}

/* Samples (in all, at this correlation) before the upper rank of q exists. */
static uint64_t need_for_upper(double q, double n, double n_eff) {
    double scale = n_eff > 0 && n > 0 ? n / n_eff : 1;
    return (uint64_t)ceil((double)stats_min_samples(q) * scale);
}

void stats_hist_pct_ci(const struct hist *h, double p, double n_eff, uint64_t censored,
                       struct stats_pct_ci *out) {
    memset(out, 0, sizeof *out);
    out->p = p;
    uint64_t n = hist_count(h);
    double q = p / 100.0;
    out->value_us = hist_percentile(h, p);
    out->ranks = stats_quantile_ranks(n, n_eff, q);
    if (out->ranks.has_lo)
        out->lo_us = stats_hist_rank_value(h, out->ranks.lo, false);
    if (out->ranks.has_hi)
        out->hi_us = stats_hist_rank_value(h, out->ranks.hi, true);
    uint64_t uncensored = censored < n ? n - censored : 0;
    out->is_censored = out->ranks.has_hi && censored > 0 && out->ranks.hi > uncensored;
    out->is_enough = out->ranks.has_hi && !out->is_censored;
    if (!out->ranks.has_hi)
        out->need_n = need_for_upper(q, (double)n, n_eff);
}

double stats_hist_cdf(const struct hist *h, int64_t value) {
    uint64_t n = hist_count(h);
    if (n == 0)
        return 0;
    struct hist_iter it;
    hist_iter_init(&it);
    uint64_t below = 0;
    while (hist_next(h, &it) && it.lo <= value)
        below = it.cumulative;
    return (double)below / (double)n;
}

/* ---- Sample sizes ------------------------------------------------------------------------ */

static uint64_t to_count(double x) {
    if (!(x < 1.8e19))
        return UINT64_MAX;
    return x < 0 ? 0 : (uint64_t)ceil(x);
}

uint64_t stats_need_quantile(double q, double cdf_at_limit, double n, double n_eff) {
    double gap = cdf_at_limit - q;
    if (gap == 0)
        return UINT64_MAX;
    double scale = n_eff > 0 && n > 0 ? n / n_eff : 1;
    double need = STATS_Z95 * STATS_Z95 * q * (1 - q) / (gap * gap) * scale;
    uint64_t floor_n = need_for_upper(q, n, n_eff);
    uint64_t c = to_count(need);
    return c > floor_n ? c : floor_n;
}

uint64_t stats_need_mean(double mean, double sd, double limit, double n, double n_eff) {
    if (mean == limit)
        return UINT64_MAX;
    double scale = n_eff > 0 && n > 0 ? n / n_eff : 1;
    double k = STATS_Z95 * sd / (mean - limit);
    uint64_t c = to_count(k * k * scale);
    return c < 2 ? 2 : c;
}

static void wilson_at(double phat, double n, double *lo, double *hi) {
    double z2 = STATS_Z95 * STATS_Z95;
    double centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
    double half = STATS_Z95 / (1 + z2 / n) * sqrt(phat * (1 - phat) / n + z2 / (4 * n * n));
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}

void stats_wilson(uint64_t k, uint64_t n, double *lo, double *hi) {
    if (n == 0) {
        *lo = 0, *hi = 1;
        return;
    }
    wilson_at((double)k / (double)n, (double)n, lo, hi);
}

static bool wilson_excludes(double phat, double n, double limit) {
    double lo, hi;
    wilson_at(phat, n, &lo, &hi);
    return hi < limit || lo >= limit;
}

uint64_t stats_need_proportion(uint64_t k, uint64_t n, double limit) {
    double phat = n ? (double)k / (double)n : 0;
    if (phat == limit)
        return UINT64_MAX;
    /* The interval shrinks as n grows at a fixed ratio: double, then bisect. */
    double lo = n ? (double)n : 1, hi = lo;
    while (!wilson_excludes(phat, hi, limit)) {
        lo = hi;
        hi *= 2;
        if (hi > 1e18)
            return UINT64_MAX;
    }
    while (hi - lo > 1) {
        double mid = floor((lo + hi) / 2);
        if (wilson_excludes(phat, mid, limit))
            hi = mid;
        else
            lo = mid;
    }
    return to_count(hi);
}

/* ---- Distributions ------------------------------------------------------------------------ */

double stats_normal_quantile(double prob) {
    if (!(prob > 0 && prob < 1))
        return prob <= 0 ? -INFINITY : INFINITY;
    /* Bisection on Phi(x) = erfc(-x / sqrt 2) / 2: slow by textbook standards, exact to the
     * last bits, and called a handful of times a run. */
    double lo = -40, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / M_SQRT2) < prob)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

double stats_t_quantile(double prob, double df) {
    if (!(prob > 0 && prob < 1))
        return prob <= 0 ? -INFINITY : INFINITY;
    if (!(df >= 3)) {
        /* Closed forms for 1 and 2 degrees of freedom; a fractional df rounds down (wider). */
        if (!(df >= 2))
            return tan(M_PI * (prob - 0.5));
        return (2 * prob - 1) / sqrt(2 * prob * (1 - prob));
    }
    double z = stats_normal_quantile(prob), z2 = z * z;
    double g1 = (z2 + 1) * z / 4;
    double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
    double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
    double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

/* ---- Comparisons ------------------------------------------------------------------------- */

void stats_welch(double mean_a, double sd_a, double n_a, double mean_b, double sd_b, double n_b,
                 struct stats_diff *out) {
    memset(out, 0, sizeof *out);
    out->a = mean_a, out->b = mean_b;
    out->diff = mean_b - mean_a;
    out->lo = out->hi = out->diff;
    out->is_enough = n_a >= 2 && n_b >= 2;
    if (!out->is_enough)
        return;
    double va = sd_a * sd_a / n_a, vb = sd_b * sd_b / n_b, se2 = va + vb;
    if (se2 > 0) {
        /* Welch-Satterthwaite degrees of freedom. */
        out->df = se2 * se2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1));
        double half = stats_t_quantile(1 - ALPHA_HALF, out->df) * sqrt(se2);
        out->lo = out->diff - half;
        out->hi = out->diff + half;
    } else {
        out->df = n_a + n_b - 2;
    }
    out->is_significant = out->lo > 0 || out->hi < 0;
}

void stats_pct_diff(const struct hist *a, double n_eff_a, const struct hist *b, double n_eff_b,
                    double p, struct stats_diff *out) {
    memset(out, 0, sizeof *out);
    struct stats_pct_ci ca, cb;
    stats_hist_pct_ci(a, p, n_eff_a, 0, &ca);
    stats_hist_pct_ci(b, p, n_eff_b, 0, &cb);
    out->a = (double)ca.value_us, out->b = (double)cb.value_us;
    out->diff = out->b - out->a;
    out->lo = out->hi = out->diff;
    out->is_enough = ca.is_enough && cb.is_enough && ca.ranks.has_lo && cb.ranks.has_lo;
    if (!out->is_enough)
        return;
    /* Price & Bonett (2002): a distribution-free interval of width w behaves like a normal
     * one of standard error w / (2 z); the difference's standard error adds in quadrature. */
    double se_a = (double)(ca.hi_us - ca.lo_us) / (2 * STATS_Z95);
    double se_b = (double)(cb.hi_us - cb.lo_us) / (2 * STATS_Z95);
    double half = STATS_Z95 * sqrt(se_a * se_a + se_b * se_b);
    out->lo = out->diff - half;
    out->hi = out->diff + half;
    out->is_significant = out->lo > 0 || out->hi < 0;
}
