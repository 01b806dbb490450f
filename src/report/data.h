/* A sweep's saved data: the manifest DIR/sweep.json (what ran, on what, with which server
 * usage) and, per load run, the loader's own JSON and per-second CSV. Reading and writing only;
 * what the numbers mean is in summary.c, how they look in html.c and plot.c. */
#ifndef SRVLAB_REPORT_DATA_H
#define SRVLAB_REPORT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/hist.h"

#define DATA_SCHEMA_VERSION 1
#define DATA_MAX_SERVERS 32

/* One `srvlab load` run. */
struct run {
    char step[16];            /* low, closed, open, common, search */
    char stem[256];           /* DIR-relative path without extension: runs/epoll/open-50 */
    unsigned connections;
    double rate_per_s;        /* open-loop target; 0 for closed loop */
    double fraction;          /* open and search: target / the server's max throughput */
    double start_unix_s;
    double cpu_s;             /* server CPU time spent during the run */
    long rss_peak_kib;        /* server memory (Pss), highest sample during the run */
    double queue_mean_us;     /* server's own mean queueing delay in the run (/metrics), */
    double service_mean_us;   /* and mean service time; NAN when the server has no /metrics */
    int load_status;          /* the loader's exit status */
    /* From the loader's files (data_read_run); has_result false when they are missing. */
    bool has_result;
    double elapsed_s;         /* measured window */
    double throughput_per_s;  /* complete responses per second */
    uint64_t requests, responses, errors, max_conns;
    bool is_generator_bound;  /* the loader's self-check failed: it fell behind its schedule */
    char verdict[16];         /* the loader's validity verdict (VALID...), "" when absent */
    struct hist latency;      /* microseconds, from the intended send time */
    double *per_s;            /* completed responses in each second of the run */
    size_t per_s_count;
};

struct sweep_server {
    char name[32];
    char kind[8];             /* "arch" or "peer" */
    char status[192];         /* "ok", "skipped: why", "failed: why", "interrupted" */
    char model_stem[256];     /* runs/NAME/model: the queueing prediction (JSON) */
    double service_us;        /* estimated for the model: 1 / max throughput */
    double rtt_us;            /* low-load latency minus service_us */
    long idle_rss_kib;        /* Pss right after start */
    long peak_rss_kib;        /* VmHWM of the server's main process at the end */
    struct run *runs;
    size_t run_count, run_cap;
};

struct sweep_data {
    char command[2048];
    char date[40];            /* start, ISO 8601 UTC */
    char cpu_model[128], kernel[256], versions[512], pinning[160];
    int cores;
    char workload[128], url_path[512], slo[160];
    double duration_s, common_rate_per_s, elapsed_s;
    double loadavg_start;     /* 1-minute load average before the sweep: other work running */
    bool is_quick, was_interrupted;
    struct sweep_server servers[DATA_MAX_SERVERS];
    size_t server_count;
};

/* Appends a zeroed run to s; returns it, or NULL when out of memory. */
struct run *data_add_run(struct sweep_server *s);

/* Writes DIR/sweep.json (through a temporary file and rename, so a reader never sees half of
 * it). Returns 0 or -errno. */
int data_save(const struct sweep_data *d, const char *dir);

/* Reads DIR/sweep.json and every run's files into d (zeroed first). Missing run files leave
 * has_result false. Returns 0, or -errno/-EINVAL with a message in err. */
int data_load(struct sweep_data *d, const char *dir, char *err, size_t errlen);

/* Reads a run's loader output, DIR/STEM.json and DIR/STEM.csv. Returns 0 or -EINVAL/-ENOENT
 * with a message in err. */
int data_read_run(struct run *r, const char *dir, char *err, size_t errlen);

/* Frees every run's histogram and per-second array, and the run arrays. */
void data_free(struct sweep_data *d);

#endif
