/* Dispatch from one parameter struct to the per-model formulas in mm1.c, mmc.c, mg1.c, mgc.c
 * and md1.c. */
#include "model/predict.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "model/md1.h"
#include "model/mg1.h"
#include "model/mgc.h"
#include "model/mm1.h"
#include "model/mmc.h"

const double predict_levels[PREDICT_NQ] = {0.50, 0.90, 0.99, 0.999};

static const struct {
    const char *key, *name;
} models[] = {
    [PREDICT_MM1] = {"mm1", "M/M/1"},
    [PREDICT_MMC] = {"mmc", "M/M/c"},
    [PREDICT_MG1] = {"mg1", "M/G/1"},
    [PREDICT_MD1] = {"md1", "M/D/1"},
    [PREDICT_MGC] = {"mgc", "M/G/c"},
};

const char *predict_model_name(enum predict_model model) {
    return models[model].name;
}

int predict_model_parse(const char *s, enum predict_model *out) {
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (strcmp(s, models[i].key) == 0) {
            *out = (enum predict_model)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int servers_of(const struct predict_params *p) {
    return p->model == PREDICT_MMC || p->model == PREDICT_MGC ? p->servers : 1;
}

double predict_capacity_per_s(const struct predict_params *p) {
    return servers_of(p) / p->service_mean_s;
}

static int check(const struct predict_params *p) {
    double mu = 1 / p->service_mean_s;
    switch (p->model) {
    case PREDICT_MM1: return mm1_check(p->arrival_per_s, mu);
    case PREDICT_MMC: return mmc_check(p->servers, p->arrival_per_s, mu);
    case PREDICT_MG1: return mg1_check(p->arrival_per_s, p->service_mean_s, p->service_cv);
    case PREDICT_MD1: return mg1_check(p->arrival_per_s, p->service_mean_s, 0);
    case PREDICT_MGC:
        return mgc_check(p->servers, p->arrival_per_s, p->service_mean_s, p->service_cv);
    }
    return -EINVAL;
}

static void fill_mmc(const struct predict_params *p, struct predict_result *r) {
    int c = servers_of(p);
    double lambda = p->arrival_per_s, mu = 1 / p->service_mean_s;
    r->wait_prob = mmc_wait_prob(c, lambda / mu);
    r->in_queue_mean = mmc_in_queue_mean(c, lambda, mu);
    r->in_system_mean = mmc_in_system_mean(c, lambda, mu);
    r->wait_mean_s = mmc_wait_mean_s(c, lambda, mu);
    r->response_mean_s = mmc_response_mean_s(c, lambda, mu);
    for (int i = 0; i < PREDICT_NQ; i++) {
        r->wait_q_s[i] = mmc_wait_quantile_s(c, lambda, mu, predict_levels[i]);
        r->response_q_s[i] = mmc_response_quantile_s(c, lambda, mu, predict_levels[i]);
    }
}

/* M/M/1 through its own closed forms, which are also the check on the M/M/c code at c = 1. */
static void fill_mm1(const struct predict_params *p, struct predict_result *r) {
    double lambda = p->arrival_per_s, mu = 1 / p->service_mean_s;
    r->wait_prob = mm1_utilization(lambda, mu);
    r->in_queue_mean = mm1_in_queue_mean(lambda, mu);
    r->in_system_mean = mm1_in_system_mean(lambda, mu);
    r->wait_mean_s = mm1_wait_mean_s(lambda, mu);
    r->response_mean_s = mm1_response_mean_s(lambda, mu);
    for (int i = 0; i < PREDICT_NQ; i++) {
        r->wait_q_s[i] = mm1_wait_quantile_s(lambda, mu, predict_levels[i]);
        r->response_q_s[i] = mm1_response_quantile_s(lambda, mu, predict_levels[i]);
    }
}

static void fill_mg1(const struct predict_params *p, double cv, struct predict_result *r) {
    double lambda = p->arrival_per_s, es = p->service_mean_s;
    r->wait_prob = lambda * es; /* PASTA: an arrival waits when the server is busy */
    r->in_queue_mean = mg1_in_queue_mean(lambda, es, cv);
    r->in_system_mean = mg1_in_system_mean(lambda, es, cv);
    r->wait_mean_s = mg1_wait_mean_s(lambda, es, cv);
    r->response_mean_s = mg1_response_mean_s(lambda, es, cv);
    r->is_approx = cv != 1;
    for (int i = 0; i < PREDICT_NQ; i++) {
        r->wait_q_s[i] = mg1_wait_quantile_approx_s(lambda, es, cv, predict_levels[i]);
        r->response_q_s[i] = mg1_response_quantile_approx_s(lambda, es, cv, predict_levels[i]);
    }
}

/* M/G/c by Allen-Cunneen: exact (M/M/c) for cv = 1, else means and percentiles approximate. */
static void fill_mgc(const struct predict_params *p, struct predict_result *r) {
    int c = p->servers;
    double lambda = p->arrival_per_s, es = p->service_mean_s, cv = p->service_cv;
    r->wait_prob = mgc_wait_prob(c, lambda, es);
    r->in_queue_mean = mgc_in_queue_mean(c, lambda, es, cv);
    r->in_system_mean = mgc_in_system_mean(c, lambda, es, cv);
    r->wait_mean_s = mgc_wait_mean_s(c, lambda, es, cv);
    r->response_mean_s = mgc_response_mean_s(c, lambda, es, cv);
    r->is_approx = r->is_mean_approx = cv != 1;
    for (int i = 0; i < PREDICT_NQ; i++) {
        r->wait_q_s[i] = mgc_wait_quantile_s(c, lambda, es, cv, predict_levels[i]);
        r->response_q_s[i] = mgc_response_quantile_s(c, lambda, es, cv, predict_levels[i]);
    }
}

/* M/D/1: exact percentiles from md1.c. */
static void fill_md1(const struct predict_params *p, struct predict_result *r) {
    struct md1 m;
    fill_mg1(p, 0, r);
    r->is_approx = false;
    md1_init(&m, p->arrival_per_s, p->service_mean_s);
    for (int i = 0; i < PREDICT_NQ; i++) {
        r->wait_q_s[i] = md1_wait_quantile_s(&m, predict_levels[i]);
        r->response_q_s[i] = md1_response_quantile_s(&m, predict_levels[i]);
    }
}

int predict(const struct predict_params *p, struct predict_result *r) {
    int rc = check(p);
    if (rc < 0)
        return rc;
    struct predict_result out = {0};
    out.capacity_per_s = predict_capacity_per_s(p);
    out.utilization = p->arrival_per_s / out.capacity_per_s;
    switch (p->model) {
    case PREDICT_MM1: fill_mm1(p, &out); break;
    case PREDICT_MMC: fill_mmc(p, &out); break;
    case PREDICT_MG1: fill_mg1(p, p->service_cv, &out); break;
    case PREDICT_MD1: fill_md1(p, &out); break;
    case PREDICT_MGC: fill_mgc(p, &out); break;
    }
    *r = out;
    return 0;
}

void predict_tails(const struct predict_params *p, double t_s, double *wait_tail,
                   double *response_tail, bool *is_approx) {
    double lambda = p->arrival_per_s, es = p->service_mean_s;
    *is_approx = false;
    switch (p->model) {
    case PREDICT_MM1:
    case PREDICT_MMC:
        *wait_tail = mmc_wait_tail(servers_of(p), lambda, 1 / es, t_s);
        *response_tail = mmc_response_tail(servers_of(p), lambda, 1 / es, t_s);
        break;
    case PREDICT_MG1:
        *wait_tail = mg1_wait_tail_approx(lambda, es, p->service_cv, t_s);
        *response_tail = mg1_response_tail_approx(lambda, es, p->service_cv, t_s);
        *is_approx = p->service_cv != 1;
        break;
    case PREDICT_MGC:
        *wait_tail = mgc_wait_tail(p->servers, lambda, es, p->service_cv, t_s);
        *response_tail = mgc_response_tail(p->servers, lambda, es, p->service_cv, t_s);
        *is_approx = p->service_cv != 1;
        break;
    case PREDICT_MD1: {
        struct md1 m;
        md1_init(&m, lambda, es);
        *wait_tail = md1_wait_tail(&m, t_s);
        *response_tail = md1_wait_tail(&m, t_s - es); /* the response is the wait plus D */
        break;
    }
    }
}
