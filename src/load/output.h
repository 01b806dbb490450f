/* Pieces of output.c for other writers of srvlab load JSON (merge.c), so the schema is written
 * in one place. The rest of output.c's API (summary, files, SLO) is declared in load.h. */
#ifndef SRVLAB_OUTPUT_H
#define SRVLAB_OUTPUT_H

#include <stdbool.h>

#include "load/load.h"
#include "util/json.h"

/* What the JSON's counts carry besides the counters of struct load_stats. */
struct output_counts {
    double start_unix_s;
    double duration_s;          /* measured, warm-up and ramp excluded */
    bool was_interrupted;
    double throughput_per_s;    /* responses per second */
    double achieved_rate_per_s; /* sends per second; NAN in closed loop */
    double bytes_per_s;         /* bytes read per second */
};

/* Writes the counts members of the srvlab load JSON (start_unix_s through waited, in that order,
 * docs/load.md) from s and c into w's open object. */
void output_json_counts(struct json_writer *w, const struct load_stats *s,
                        const struct output_counts *c);

/* Judges o->slo on r's point estimates alone (no intervals): fills v[0 .. o->slo.count - 1]
 * (room for SLO_MAX_RULES) and returns true when every objective is met. */
bool output_slo_judge(const struct load_opts *o, const struct load_result *r,
                      struct slo_verdict *v);

#endif
