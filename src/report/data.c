/* The sweep's manifest (write and read) and the reader of `srvlab load` result files. Field
 * names of the loader's JSON are looked up in one place (the tables below), so a schema change
 * in docs/load.md touches only them. */
#include "report/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/histjson.h"
#include "util/json.h"

struct run *data_add_run(struct sweep_server *s) {
    if (s->run_count == s->run_cap) {
        size_t cap = s->run_cap ? s->run_cap * 2 : 16;
        struct run *r = realloc(s->runs, cap * sizeof *r);
        if (!r)
            return NULL;
        s->runs = r;
        s->run_cap = cap;
    }
    struct run *r = &s->runs[s->run_count++];
    memset(r, 0, sizeof *r);
    return r;
}

/* ---- Writing the manifest ---- */

static void write_run(struct json_writer *w, const struct run *r) {
    json_obj_begin_inline(w, NULL);
    json_str(w, "step", r->step);
    json_str(w, "stem", r->stem);
    json_uint(w, "connections", r->connections);
    json_num(w, "rate_per_s", r->rate_per_s);
    json_num(w, "fraction", r->fraction);
    json_num(w, "start_unix_s", r->start_unix_s);
    json_num(w, "server_cpu_s", r->cpu_s);
    json_int(w, "server_rss_peak_kib", r->rss_peak_kib);
    json_num(w, "server_queue_mean_us", r->queue_mean_us);
    json_num(w, "server_service_mean_us", r->service_mean_us);
    json_int(w, "load_status", r->load_status);
    json_obj_end(w);
}

static void write_server(struct json_writer *w, const struct sweep_server *s) {
    json_obj_begin(w, NULL);
    json_str(w, "name", s->name);
    json_str(w, "kind", s->kind);
    json_str(w, "status", s->status);
    json_str(w, "model_stem", s->model_stem[0] ? s->model_stem : NULL);
    json_num(w, "service_us", s->service_us);
    json_num(w, "rtt_us", s->rtt_us);
    json_int(w, "idle_rss_kib", s->idle_rss_kib);
    json_int(w, "peak_rss_kib", s->peak_rss_kib);
    json_arr_begin(w, "runs");
    for (size_t i = 0; i < s->run_count; i++)
        write_run(w, &s->runs[i]);
    json_arr_end(w);
    json_obj_end(w);
}

static void write_manifest(FILE *f, const struct sweep_data *d) {
    struct json_writer w;
    json_writer_init(&w, f);
    json_obj_begin(&w, NULL);
    json_int(&w, "schema_version", DATA_SCHEMA_VERSION);
    json_str(&w, "command", d->command);
    json_str(&w, "date", d->date);
    json_obj_begin(&w, "machine");
    json_str(&w, "cpu_model", d->cpu_model);
    json_int(&w, "cores", d->cores);
    json_str(&w, "kernel", d->kernel);
    json_obj_end(&w);
    json_str(&w, "versions", d->versions);
    json_str(&w, "pinning", d->pinning);
    json_str(&w, "workload", d->workload);
    json_str(&w, "url_path", d->url_path);
    json_str(&w, "slo", d->slo);
    json_num(&w, "duration_s", d->duration_s);
    json_num(&w, "common_rate_per_s", d->common_rate_per_s);
    json_bool(&w, "quick", d->is_quick);
    json_bool(&w, "interrupted", d->was_interrupted);
    json_num(&w, "elapsed_s", d->elapsed_s);
    json_num(&w, "loadavg_start", d->loadavg_start);
    json_arr_begin(&w, "servers");
    for (size_t i = 0; i < d->server_count; i++)
        write_server(&w, &d->servers[i]);
    json_arr_end(&w);
    json_obj_end(&w);
    json_writer_finish(&w);
}

int data_save(const struct sweep_data *d, const char *dir) {
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.sweep.json.tmp", dir);
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    write_manifest(f, d);
    if (fclose(f) != 0)
        return -errno;
    return rename(tmp, path) == 0 ? 0 : -errno;
}

/* ---- Reading the manifest ---- */

static void copy_str(char *dst, size_t len, const struct json *v) {
    snprintf(dst, len, "%s", json_string(v, ""));
}

static int read_runs(struct sweep_server *s, const struct json *runs) {
    for (size_t i = 0; i < json_len(runs); i++) {
        const struct json *v = json_at(runs, i);
        struct run *r = data_add_run(s);
        if (!r)
            return -ENOMEM;
        copy_str(r->step, sizeof r->step, json_get(v, "step"));
        copy_str(r->stem, sizeof r->stem, json_get(v, "stem"));
        r->connections = (unsigned)json_integer(json_get(v, "connections"), 0);
        r->rate_per_s = json_number(json_get(v, "rate_per_s"), 0);
        r->fraction = json_number(json_get(v, "fraction"), 0);
        r->start_unix_s = json_number(json_get(v, "start_unix_s"), 0);
        r->cpu_s = json_number(json_get(v, "server_cpu_s"), 0);
        r->rss_peak_kib = (long)json_integer(json_get(v, "server_rss_peak_kib"), 0);
        r->queue_mean_us = json_number(json_get(v, "server_queue_mean_us"), NAN);
        r->service_mean_us = json_number(json_get(v, "server_service_mean_us"), NAN);
        r->load_status = (int)json_integer(json_get(v, "load_status"), 0);
    }
    return 0;
}

static int read_server(struct sweep_server *s, const struct json *v) {
    copy_str(s->name, sizeof s->name, json_get(v, "name"));
    copy_str(s->kind, sizeof s->kind, json_get(v, "kind"));
    copy_str(s->status, sizeof s->status, json_get(v, "status"));
    copy_str(s->model_stem, sizeof s->model_stem, json_get(v, "model_stem"));
    s->service_us = json_number(json_get(v, "service_us"), 0);
    s->rtt_us = json_number(json_get(v, "rtt_us"), 0);
    s->idle_rss_kib = (long)json_integer(json_get(v, "idle_rss_kib"), 0);
    s->peak_rss_kib = (long)json_integer(json_get(v, "peak_rss_kib"), 0);
    return read_runs(s, json_get(v, "runs"));
}

static int read_manifest(struct sweep_data *d, const struct json *root) {
    copy_str(d->command, sizeof d->command, json_get(root, "command"));
    copy_str(d->date, sizeof d->date, json_get(root, "date"));
    const struct json *m = json_get(root, "machine");
    copy_str(d->cpu_model, sizeof d->cpu_model, json_get(m, "cpu_model"));
    copy_str(d->kernel, sizeof d->kernel, json_get(m, "kernel"));
    d->cores = (int)json_integer(json_get(m, "cores"), 0);
    copy_str(d->versions, sizeof d->versions, json_get(root, "versions"));
    copy_str(d->pinning, sizeof d->pinning, json_get(root, "pinning"));
    copy_str(d->workload, sizeof d->workload, json_get(root, "workload"));
    copy_str(d->url_path, sizeof d->url_path, json_get(root, "url_path"));
    copy_str(d->slo, sizeof d->slo, json_get(root, "slo"));
    d->duration_s = json_number(json_get(root, "duration_s"), 0);
    d->common_rate_per_s = json_number(json_get(root, "common_rate_per_s"), 0);
    d->is_quick = json_bool_value(json_get(root, "quick"), false);
    d->was_interrupted = json_bool_value(json_get(root, "interrupted"), false);
    d->elapsed_s = json_number(json_get(root, "elapsed_s"), 0);
    d->loadavg_start = json_number(json_get(root, "loadavg_start"), 0);
    const struct json *servers = json_get(root, "servers");
    for (size_t i = 0; i < json_len(servers) && i < DATA_MAX_SERVERS; i++) {
        int rc = read_server(&d->servers[d->server_count++], json_at(servers, i));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int data_load(struct sweep_data *d, const char *dir, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    struct json *root = json_parse_file(path, err, errlen);
    if (!root)
        return -EINVAL;
    int rc = read_manifest(d, root);
    json_free(root);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < d->server_count; i++)
        for (size_t j = 0; j < d->servers[i].run_count; j++) {
            char e[256];
            data_read_run(&d->servers[i].runs[j], dir, e, sizeof e);
        }
    return 0;
}

/* ---- Reading a loader result ---- */

/* Where each field may sit in the loader's JSON (docs/load.md), first match wins. */
static const char *const hist_paths[] = {"latency.histogram", "histograms.latency",
                                         "latency", NULL};
static const char *const elapsed_paths[] = {"elapsed_s", "duration_s", "result.elapsed_s",
                                            NULL};
static const char *const responses_paths[] = {"responses", "requests.responses",
                                              "counts.responses", NULL};
static const char *const requests_paths[] = {"requests", "requests.total", "counts.requests",
                                             NULL};
static const char *const throughput_paths[] = {"throughput_per_s", "throughput.requests_per_s",
                                               "result.throughput_per_s", NULL};
static const char *const max_conns_paths[] = {"connections_used_max", "max_conns",
                                              "connections.max_open", NULL};

static const struct json *first_path(const struct json *root, const char *const *paths,
                                     enum json_type type) {
    for (; *paths; paths++) {
        const struct json *v = json_path(root, *paths);
        if (v && v->type == type)
            return v;
    }
    return NULL;
}

static double first_num(const struct json *root, const char *const *paths, double fallback) {
    return json_number(first_path(root, paths, JSON_NUMBER), fallback);
}

/* "errors" as a number, as {"total": N}, or as counts by kind to add up. */
static uint64_t read_errors(const struct json *root) {
    const struct json *e = json_get(root, "errors");
    if (!e)
        return 0;
    if (e->type == JSON_NUMBER)
        return (uint64_t)e->number;
    const struct json *total = json_get(e, "total");
    if (total)
        return (uint64_t)json_number(total, 0);
    uint64_t sum = 0;
    for (size_t i = 0; i < json_len(e); i++)
        if (e->items[i].type == JSON_NUMBER)
            sum += (uint64_t)e->items[i].number;
    return sum;
}

static int read_hist(struct run *r, const struct json *root) {
    for (const char *const *p = hist_paths; *p; p++) {
        const struct json *v = json_path(root, *p);
        if (v && json_get(v, "buckets") && histjson_read(v, &r->latency) == 0)
            return 0;
    }
    return -EINVAL;
}

static int read_result_json(struct run *r, const char *path, char *err, size_t errlen) {
    struct json *root = json_parse_file(path, err, errlen);
    if (!root)
        return -ENOENT;
    int rc = read_hist(r, root);
    if (rc < 0) {
        snprintf(err, errlen, "%s: no latency histogram", path);
        json_free(root);
        return rc;
    }
    r->elapsed_s = first_num(root, elapsed_paths, 0);
    r->responses = (uint64_t)first_num(root, responses_paths, (double)hist_count(&r->latency));
    r->requests = (uint64_t)first_num(root, requests_paths, (double)r->responses);
    r->errors = read_errors(root);
    double fallback = r->elapsed_s > 0 ? (double)r->responses / r->elapsed_s : 0;
    r->throughput_per_s = first_num(root, throughput_paths, fallback);
    r->max_conns = (uint64_t)first_num(root, max_conns_paths, r->connections);
    r->is_generator_bound = !json_bool_value(json_path(root, "self_check.ok"), true);
    snprintf(r->verdict, sizeof r->verdict, "%s",
             json_string(json_path(root, "verdict.level"), ""));
    json_free(root);
    return 0;
}

/* The per-second CSV: the column named "completed" (or "responses") of each row. */
static int find_column(char *header) {
    int i = 0;
    for (char *save, *tok = strtok_r(header, ",\r\n", &save); tok;
         tok = strtok_r(NULL, ",\r\n", &save), i++)
        if (!strcmp(tok, "completed") || !strcmp(tok, "responses"))
            return i;
    return -1;
}

static double column_value(char *line, int col) {
    char *save, *tok = strtok_r(line, ",\r\n", &save);
    for (int i = 0; tok && i < col; i++)
        tok = strtok_r(NULL, ",\r\n", &save);
    return tok ? strtod(tok, NULL) : NAN;
}

static void read_per_second(struct run *r, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    int col = fgets(line, sizeof line, f) ? find_column(line) : -1;
    size_t cap = 0;
    while (col >= 0 && fgets(line, sizeof line, f)) {
        double v = column_value(line, col);
        if (isnan(v))
            continue;
        if (r->per_s_count == cap) {
            cap = cap ? cap * 2 : 64;
            double *p = realloc(r->per_s, cap * sizeof *p);
            if (!p)
                break;
            r->per_s = p;
        }
        r->per_s[r->per_s_count++] = v;
    }
    fclose(f);
}

int data_read_run(struct run *r, const char *dir, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", dir, r->stem);
    if (r->has_result) {
        hist_free(&r->latency);
        free(r->per_s);
        r->per_s = NULL;
        r->per_s_count = 0;
        r->has_result = false;
    }
    int rc = read_result_json(r, path, err, errlen);
    if (rc < 0)
        return rc;
    r->has_result = true;
    snprintf(path, sizeof path, "%s/%s.csv", dir, r->stem);
    read_per_second(r, path);
    return 0;
}

void data_free(struct sweep_data *d) {
    for (size_t i = 0; i < d->server_count; i++) {
        struct sweep_server *s = &d->servers[i];
        for (size_t j = 0; j < s->run_count; j++) {
            if (s->runs[j].has_result)
                hist_free(&s->runs[j].latency);
            free(s->runs[j].per_s);
        }
        free(s->runs);
        s->runs = NULL;
        s->run_count = s->run_cap = 0;
    }
}
