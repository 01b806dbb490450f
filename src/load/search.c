/* `srvlab load --search SLO`: the highest open-loop rate that meets an SLO, by doubling then
 * bisection, each step a whole load run judged with confidence intervals. No sockets here:
 * every step is engine_run(); this file only picks rates, step lengths and reports. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "load/output.h"
#include "load/stats.h"
#include "net/units.h"
#include "util/json.h"

#define SEARCH_PRECISION 0.02        /* stop when (violated - met) <= 2% of met */
#define SEARCH_SAMPLE_FACTOR 4       /* a step aims at 4x the percentile's minimum samples */
#define SEARCH_MIN_STEP_US 1000000ULL
#define SEARCH_MAX_STEPS 64

enum search_outcome { SEARCH_MET, SEARCH_VIOLATED, SEARCH_UNDECIDED };

struct search_step {
    double rate, duration_s, achieved_rate_per_s;
    uint64_t requests, errors;
    enum verdict_level level;
    enum verdict_slo_outcome slo;
    enum search_outcome outcome;
    bool is_point;                 /* the intervals could not decide: the point estimates did */
    bool is_point_met;             /* the SLO judged on point estimates alone */
    struct verdict_slo_rule rule0; /* the first rule, for the table */
};

struct search {
    struct search_step steps[SEARCH_MAX_STEPS];
    size_t count;
    double met, violated;  /* highest met, lowest violated rate; 0 / +inf when none yet */
    size_t met_step;       /* index of the step that set `met` */
    double spent_s;
    bool is_out_of_time, was_interrupted;
};

static const char *const outcome_names[] = {"met", "violated", "undecided"};

/* Samples a step needs: enough for every percentile rule's upper bound, several times over. */
static uint64_t samples_wanted(const struct slo *s) {
    uint64_t n = 100;
    for (size_t i = 0; i < s->count; i++)
        if (s->rules[i].metric == SLO_PERCENTILE && s->rules[i].percentile < 100) {
            uint64_t m = stats_min_samples(s->rules[i].percentile / 100) * SEARCH_SAMPLE_FACTOR;
            n = m > n ? m : n;
        }
    return n;
}

static uint64_t step_duration_us(const struct load_opts *o, double rate, uint64_t samples) {
    double us = (double)samples / rate * 1e6;
    if (us < SEARCH_MIN_STEP_US)
        us = SEARCH_MIN_STEP_US;
    return us > (double)o->duration_us ? o->duration_us : (uint64_t)us;
}

/* The SLO judged on point estimates alone (no intervals). */
static bool point_met(const struct load_opts *o, const struct load_result *r) {
    struct slo_verdict v[SLO_MAX_RULES];
    return output_slo_judge(o, r, v);
}

/* One load run at `rate` for `duration_us`, judged. Returns 0 or -errno (message in err). */
static int run_step(const struct load_opts *base, double rate, uint64_t duration_us,
                    struct search_step *st, char *err, size_t errlen) {
    struct load_opts o = *base;
    o.rate_per_s = rate;
    o.duration_us = duration_us;
    struct load_result r;
    int rc = engine_run(&o, &r, err, errlen);
    if (rc < 0)
        return rc;
    output_evaluate(&o, &r);
    *st = (struct search_step){.rate = rate, .duration_s = r.elapsed_s,
                               .achieved_rate_per_s = r.achieved_rate_per_s,
                               .requests = r.total.requests,
                               .errors = load_stats_errors(&r.total), .level = r.verdict.level,
                               .slo = r.verdict.slo_outcome, .rule0 = r.verdict.slo[0]};
    st->outcome = st->slo == VERDICT_SLO_MET ? SEARCH_MET
                  : st->slo == VERDICT_SLO_VIOLATED ? SEARCH_VIOLATED : SEARCH_UNDECIDED;
    /* A generator that fell behind at this rate cannot show the server meets it either. */
    if (st->level == VERDICT_INVALID && r.achieved_rate_per_s < 0.99 * rate)
        st->outcome = SEARCH_VIOLATED;
    st->is_point_met = point_met(&o, &r);
    bool was_interrupted = r.was_interrupted;
    load_result_free(&r);
    return was_interrupted ? -EINTR : 0;
}

/* A step at `rate`; an undecided one is run once more, long enough for the samples it lacked
 * (within --duration); still undecided, the point estimates decide (marked in the table). */
static int search_try(struct search *s, const struct load_opts *o, double rate, uint64_t samples,
                      char *err, size_t errlen) {
    uint64_t dur = step_duration_us(o, rate, samples);
    for (int attempt = 0; attempt < 2 && s->count < SEARCH_MAX_STEPS; attempt++) {
        struct search_step *st = &s->steps[s->count];
        int rc = run_step(o, rate, dur, st, err, errlen);
        if (rc < 0)
            return rc;
        s->count++;
        s->spent_s += st->duration_s;
        if (st->outcome != SEARCH_UNDECIDED)
            break;
        uint64_t more = st->rule0.need_more == UINT64_MAX ? samples : st->rule0.need_more;
        uint64_t longer = step_duration_us(o, rate, samples + more);
        if (longer <= dur)
            break;
        dur = longer;
    }
    struct search_step *last = &s->steps[s->count - 1];
    if (last->outcome == SEARCH_UNDECIDED) {
        last->is_point = true;
        last->outcome = last->is_point_met ? SEARCH_MET : SEARCH_VIOLATED;
    }
    if (last->outcome == SEARCH_MET && rate > s->met) {
        s->met = rate;
        s->met_step = s->count - 1;
    } else if (last->outcome != SEARCH_MET && rate < s->violated) {
        s->violated = rate;
    }
    return 0;
}

static bool search_done(struct search *s, const struct load_opts *o) {
    if (s->spent_s * 1e6 >= (double)o->search_max_us) {
        s->is_out_of_time = true;
        return true;
    }
    if (s->count >= SEARCH_MAX_STEPS - 1)
        return true;
    return s->met > 0 && isfinite(s->violated) && s->violated - s->met <= SEARCH_PRECISION * s->met;
}

/* Doubling from the start rate until a step is not met (halving while the start itself is not
 * met), then bisection. */
static int search_run_steps(struct search *s, const struct load_opts *o, char *err,
                            size_t errlen) {
    uint64_t samples = samples_wanted(&o->slo);
    double rate = o->rate_per_s;
    s->violated = INFINITY;
    while (!search_done(s, o)) {
        int rc = search_try(s, o, rate, samples, err, errlen);
        if (rc < 0)
            return rc;
        if (!isfinite(s->violated))
            rate *= 2;
        else if (s->met == 0)
            rate /= 2;
        else
            rate = (s->met + s->violated) / 2;
        if (rate < o->rate_per_s / 1024)
            break; /* nothing near the start rate meets it */
    }
    return 0;
}

/* ---- Reporting ------------------------------------------------------------------------- */

static void fmt_rule_value(char *buf, size_t len, const struct slo_rule *r, double x) {
    if (isinf(x))
        snprintf(buf, len, "%s", x < 0 ? "-inf" : "+inf");
    else if (r->metric == SLO_ERRORS)
        snprintf(buf, len, "%.3g%%", 100 * x);
    else if (r->metric == SLO_THROUGHPUT)
        snprintf(buf, len, "%.1f/s", x);
    else
        units_fmt_duration(buf, len, x);
}

static void print_steps(FILE *out, const struct load_opts *o, const struct search *s) {
    const struct slo_rule *r = &o->slo.rules[0];
    fprintf(out, "srvlab load --search '%s' %s\n\n", o->search_text, o->url_text);
    fprintf(out, "  %4s %10s %10s %9s %8s  %-10s %-24s %-12s %s\n", "step", "rate/s", "sent/s",
            "duration", "requests", r->text, "95% interval", "run", "SLO");
    for (size_t i = 0; i < s->count; i++) {
        const struct search_step *st = &s->steps[i];
        char act[32], lo[32], hi[32], iv[72], d[32];
        fmt_rule_value(act, sizeof act, r, st->rule0.actual);
        fmt_rule_value(lo, sizeof lo, r, st->rule0.lo);
        fmt_rule_value(hi, sizeof hi, r, st->rule0.hi);
        snprintf(iv, sizeof iv, "[%s, %s]", lo, hi);
        fprintf(out, "  %4zu %10.1f %10.1f %9s %8llu  %-10s %-24s %-12s %s%s\n", i + 1,
                st->rate, st->achieved_rate_per_s,
                units_fmt_duration(d, sizeof d, st->duration_s * 1e6),
                (unsigned long long)st->requests, act, iv, verdict_level_name(st->level),
                outcome_names[st->outcome], st->is_point ? "*" : "");
    }
    for (size_t i = 0; i < s->count; i++)
        if (s->steps[i].is_point) {
            fputs("  *: the 95% intervals could not decide (too few samples, correlated latencies or\n"
                  "     an INVALID run); the point estimates did. A longer -d decides more steps.\n",
                  out);
            break;
        }
}

static void print_answer(FILE *out, const struct search *s) {
    fputc('\n', out);
    if (s->was_interrupted)
        fputs("  interrupted: the answer below is what the steps so far showed\n", out);
    if (s->is_out_of_time)
        fputs("  the search ran out of time (--search-max) before the 2% precision\n", out);
    if (s->met == 0) {
        fprintf(out, "  capacity: no rate tried meets the SLO (lowest tried %.1f/s)\n",
                s->violated);
        return;
    }
    if (!isfinite(s->violated)) {
        fprintf(out, "  capacity: at least %.1f/s (every rate tried meets the SLO)\n", s->met);
        return;
    }
    fprintf(out, "  capacity: %.1f req/s meets the SLO; %.1f req/s does not: the highest rate "
                 "that meets it\n  lies in [%.1f, %.1f] req/s (%.1f%% wide)\n", s->met,
            s->violated, s->met, s->violated, 100 * (s->violated - s->met) / s->met);
    const struct search_step *m = &s->steps[s->met_step];
    char a[32], lo[32], hi[32];
    fprintf(out, "  at %.1f req/s: %s %s, 95%% interval [%s, %s], from %llu requests\n", s->met,
            "measured", units_fmt_duration(a, sizeof a, m->rule0.actual),
            units_fmt_duration(lo, sizeof lo, m->rule0.lo),
            isinf(m->rule0.hi) ? "+inf" : units_fmt_duration(hi, sizeof hi, m->rule0.hi),
            (unsigned long long)m->requests);
}

static void json_step(struct json_writer *w, const struct slo *slo, const struct search_step *st) {
    json_obj_begin_inline(w, NULL);
    json_num(w, "rate_per_s", st->rate);
    json_num(w, "achieved_rate_per_s", st->achieved_rate_per_s);
    json_num(w, "duration_s", st->duration_s);
    json_uint(w, "requests", st->requests);
    json_uint(w, "errors", st->errors);
    json_str(w, "level", verdict_level_name(st->level));
    json_str(w, "slo", verdict_slo_name(st->slo));
    json_str(w, "outcome", outcome_names[st->outcome]);
    json_bool(w, "point_estimate", st->is_point);
    json_str(w, "rule", slo->rules[0].text);
    json_num(w, "actual", st->rule0.actual);
    json_num(w, "lo", st->rule0.lo);
    json_num(w, "hi", st->rule0.hi);
    json_obj_end(w);
}

static int write_json(const struct load_opts *o, const struct search *s) {
    FILE *f = strcmp(o->json_path, "-") ? fopen(o->json_path, "w") : stdout;
    if (!f)
        return -errno;
    struct json_writer w;
    json_writer_init(&w, f);
    json_obj_begin(&w, NULL);
    json_str(&w, "srvlab_load_search", o->search_text);
    json_str(&w, "url", o->url_text);
    json_str(&w, "arrival", sched_arrival_name(o->arrival));
    json_num(&w, "precision", SEARCH_PRECISION);
    json_num(&w, "capacity_per_s", s->met > 0 ? s->met : NAN);
    json_num(&w, "met_per_s", s->met > 0 ? s->met : NAN);
    json_num(&w, "violated_per_s", s->violated);
    json_bool(&w, "out_of_time", s->is_out_of_time);
    json_bool(&w, "interrupted", s->was_interrupted);
    json_arr_begin(&w, "steps");
    for (size_t i = 0; i < s->count; i++)
        json_step(&w, &o->slo, &s->steps[i]);
    json_arr_end(&w);
    json_obj_end(&w);
    json_writer_finish(&w);
    if (f == stdout)
        return fflush(f) ? -errno : 0;
    return fclose(f) ? -errno : 0;
}

int search_main(const struct load_opts *o) {
    struct search *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    char err[256] = "";
    int rc = search_run_steps(s, o, err, sizeof err);
    s->was_interrupted = rc == -EINTR;
    if (rc < 0 && rc != -EINTR) {
        fprintf(stderr, "srvlab load: %s\n", err);
        free(s);
        return 1;
    }
    FILE *out = o->is_stdout_taken ? stderr : stdout;
    print_steps(out, o, s);
    print_answer(out, s);
    fflush(out);
    int status = s->met > 0 ? 0 : 1;
    if (o->json_path && (rc = write_json(o, s)) < 0) {
        fprintf(stderr, "srvlab load: --json %s: %s\n", o->json_path, strerror(-rc));
        status = 1;
    }
    free(s);
    return status;
}
