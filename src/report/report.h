/* The report: DIR/index.html built from a sweep's saved data, its plots (plot.c), the reading
 * under each plot (readings.c) and the summary table (also printed on the terminal). */
#ifndef SRVLAB_REPORT_REPORT_H
#define SRVLAB_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "load/slo.h"
#include "report/data.h"
#include "report/summary.h"

/* What the page is built from: the data, its SLO parsed, a summary per server. */
struct report {
    const char *dir;
    struct sweep_data data;
    struct slo slo;
    struct summary sums[DATA_MAX_SERVERS];
    bool has_plots;          /* gnuplot ran and wrote the SVGs */
    char plot_note[8448];     /* why there are no plots */
};

/* Loads DIR's data, draws the plots, writes DIR/index.html and DIR/summary.csv, and prints the
 * summary table to out (when not NULL). Returns 0, or -errno with a message in err. */
int report_build(const char *dir, FILE *out, char *err, size_t errlen);

/* ---- plot.c ---- */

/* Plot names; per-server plots are written as NAME-SERVER.svg under DIR/plots/. */
enum plot_kind { PLOT_LATENCY, PLOT_THROUGHPUT, PLOT_CDF, PLOT_PARTS, PLOT_HIST, PLOT_SPECTRUM,
                 PLOT_RATE, PLOT_KINDS };

extern const char *const plot_names[PLOT_KINDS];
extern const bool plot_is_per_server[PLOT_KINDS];

/* Writes the data files and one gnuplot script under DIR/plots/ and runs gnuplot. Returns 0;
 * -ENOENT when gnuplot is missing, other -errno on failure (rep->plot_note says why). */
int plot_all(struct report *rep);

/* The common-load run of a server, or NULL. */
const struct run *plot_common_run(const struct sweep_server *s);

/* ---- readings.c: one paragraph per plot, from the data ---- */

void readings_write(FILE *f, const struct report *rep, enum plot_kind kind);

/* ---- html.c ---- */

int html_write(const struct report *rep, char *err, size_t errlen);

/* Formats a value for the summary table ("12345", "1.23 ms", "45.6 KiB"); "-" for NAN. */
char *report_fmt_rate(char *buf, size_t len, double per_s);
char *report_fmt_us(char *buf, size_t len, double us);
char *report_fmt_kib(char *buf, size_t len, double kib);

/* The whole file at path as a NUL-terminated string the caller frees; NULL when it cannot be
 * opened or memory runs out. */
char *report_read_file(const char *path);

#endif
