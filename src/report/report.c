/* Building the report from saved data: load, summarize, plot, write the page, print the table.
 * `srvlab report DIR` and the end of `srvlab sweep` both come through here, so a rebuilt page
 * is the page the sweep wrote. */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/units.h"

char *report_fmt_rate(char *buf, size_t len, double per_s) {
    if (isnan(per_s))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f", per_s);
    return buf;
}

/* Three significant digits, in us below 1 ms, ms below 1 s, else s. */
char *report_fmt_us(char *buf, size_t len, double us) {
    if (isnan(us))
        snprintf(buf, len, "-");
    else if (us < 1000)
        snprintf(buf, len, "%.*f us", us < 10 ? 2 : us < 100 ? 1 : 0, us);
    else if (us < 1e6)
        snprintf(buf, len, "%.*f ms", us < 1e4 ? 2 : us < 1e5 ? 1 : 0, us / 1e3);
    else
        snprintf(buf, len, "%.2f s", us / 1e6);
    return buf;
}

char *report_fmt_kib(char *buf, size_t len, double kib) {
    if (isnan(kib))
        snprintf(buf, len, "-");
    else if (fabs(kib) < 1024)
        snprintf(buf, len, "%.1f KiB", kib);
    else
        snprintf(buf, len, "%.2f MiB", kib / 1024);
    return buf;
}

char *report_read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (text)
        text[fread(text, 1, (size_t)len, f)] = '\0';
    fclose(f);
    return text;
}

static void print_table(FILE *out, const struct report *rep) {
    const struct sweep_data *d = &rep->data;
    fprintf(out, "%-12s %12s %12s %12s %12s %12s  %s\n", "server", "max req/s", "SLO req/s",
            "p99 @50%", "mem/conn", "CPU/req", "status");
    for (size_t i = 0; i < d->server_count; i++) {
        const struct summary *s = &rep->sums[i];
        char a[32], b[32], c[32], m[32], u[32];
        fprintf(out, "%-12s %12s %12s %12s %12s %12s  %s\n", d->servers[i].name,
                report_fmt_rate(a, sizeof a, s->max_tput_per_s),
                report_fmt_rate(b, sizeof b, s->slo_rate_per_s),
                report_fmt_us(c, sizeof c, s->p99_half_us),
                report_fmt_kib(m, sizeof m, s->mem_per_conn_kib),
                report_fmt_us(u, sizeof u, s->cpu_per_req_us), d->servers[i].status);
    }
    fprintf(out, "(max: best closed loop, 1 to 1000 connections; SLO: highest open-loop rate "
                 "meeting '%s';\n p99 @50%%: open loop at half the max; mem/conn: memory per "
                 "connection at 1000; CPU/req: server CPU per response)\n",
            d->slo);
}

/* The summary as CSV, full precision, for scripts. */
static int write_csv(const struct report *rep) {
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.csv", rep->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "server,kind,max_tput_per_s,slo_rate_per_s,p99_half_load_us,mem_per_conn_kib,"
               "cpu_per_req_us,status\n");
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct summary *s = &rep->sums[i];
        const struct sweep_server *v = &rep->data.servers[i];
        fprintf(f, "%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,\"%s\"\n", v->name, v->kind, s->max_tput_per_s,
                s->slo_rate_per_s, s->p99_half_us, s->mem_per_conn_kib, s->cpu_per_req_us,
                v->status);
    }
    return fclose(f) == 0 ? 0 : -errno;
}

static struct report rep_storage;

int report_build(const char *dir, FILE *out, char *err, size_t errlen) {
    struct report *rep = &rep_storage;
    memset(rep, 0, sizeof *rep);
    rep->dir = dir;
    int rc = data_load(&rep->data, dir, err, errlen);
    if (rc < 0)
        return rc;
    if (slo_parse(rep->data.slo, &rep->slo, NULL, 0) < 0)
        slo_parse("p99<10ms", &rep->slo, NULL, 0);
    for (size_t i = 0; i < rep->data.server_count; i++)
        summary_server(&rep->data.servers[i], &rep->slo, rep->data.duration_s, &rep->sums[i]);
    rc = plot_all(rep);
    rep->has_plots = rc == 0;
    if (rc < 0 && out)
        fprintf(stderr, "srvlab report: no plots: %s; the page has the tables and data\n",
                rep->plot_note);
    write_csv(rep);
    rc = html_write(rep, err, errlen);
    if (rc == 0 && out) {
        print_table(out, rep);
        fprintf(out, "report: %s/index.html\n", dir);
    }
    data_free(&rep->data);
    return rc;
}
