/* DIR/index.html: one self-contained page (inline CSS and SVG, no scripts, no network) that
 * opens from disk in any browser. Numbers come from summary.c, words from readings.c. */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const plot_titles[PLOT_KINDS] = {
    "Latency vs offered load, with the queueing model",
    "Throughput vs connections",
    "Latency CDF at a common load",
    "Where the time goes: queueing, service, the rest",
    "Latency histogram per server",
    "Percentile spectrum",
    "Responses per second over time",
};

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void head(FILE *f, const struct report *rep) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>srvlab "
          "sweep: ", f);
    esc(f, rep->data.workload);
    fputs("</title>\n<style>\n"
          "body{font:15px/1.45 sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;"
          "color:#222}\n"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
          "padding:3px 8px}th{background:#f3f3f3}td.num{text-align:right;"
          "font-variant-numeric:tabular-nums}\n"
          "td.best{background:#e3f6e3;font-weight:bold}.star{color:#2a7a2a}\n"
          ".plots{display:flex;flex-wrap:wrap;gap:8px}.plots figure{margin:0;flex:1 1 460px;"
          "max-width:720px}\nfigure svg{width:100%;height:auto}\n"
          "p.reading{background:#f8f8f4;border-left:4px solid #bba;padding:.5em 1em}\n"
          ".warn{background:#fff3d0;border:1px solid #e0c060;padding:.5em 1em}\n"
          "code,pre{background:#f4f4f4;padding:1px 4px}small{color:#666}\n"
          "</style></head><body>\n",
          f);
}

static void intro(FILE *f, const struct report *rep) {
    const struct sweep_data *d = &rep->data;
    fputs("<h1>srvlab sweep</h1>\n<p>Workload <code>", f);
    esc(f, d->workload);
    fputs("</code> (GET <code>", f);
    esc(f, d->url_path);
    fputs("</code>), SLO <code>", f);
    esc(f, d->slo);
    fprintf(f, "</code>, runs of %.1f s%s, %zu servers. ", d->duration_s,
            d->is_quick ? " (--quick)" : "", d->server_count);
    esc(f, d->pinning);
    fputs(".</p>\n", f);
    if (d->was_interrupted)
        fputs("<p class=\"warn\">This sweep was interrupted: the results below are partial.</p>\n",
              f);
    if (d->loadavg_start > 0.5)
        fprintf(f, "<p class=\"warn\">The load average was %.2f when the sweep started (%d "
                   "cores): other work was running on this machine, so the numbers below are "
                   "noisier and lower than this machine can do.</p>\n",
                d->loadavg_start, d->cores);
    if (!rep->has_plots) {
        fputs("<p class=\"warn\">No plots: ", f);
        esc(f, rep->plot_note);
        fputs(". The tables and the raw data are complete.</p>\n", f);
    }
}

/* ---- Summary table ---- */

enum col { COL_TPUT, COL_SLO, COL_P99, COL_MEM, COL_CPU, COLS };
static const char *const col_keys[COLS] = {"max_tput_per_s", "slo_rate_per_s", "p99_half_load_us",
                                           "mem_per_conn_kib", "cpu_per_req_us"};
static const bool col_is_higher_better[COLS] = {true, true, false, false, false};

static double col_value(const struct summary *s, enum col c) {
    const double v[COLS] = {s->max_tput_per_s, s->slo_rate_per_s, s->p99_half_us,
                            s->mem_per_conn_kib, s->cpu_per_req_us};
    return v[c];
}

static void fmt_col(char *buf, size_t len, enum col c, double v) {
    if (c == COL_TPUT || c == COL_SLO)
        report_fmt_rate(buf, len, v);
    else if (c == COL_MEM)
        report_fmt_kib(buf, len, v);
    else
        report_fmt_us(buf, len, v);
}

static double best_of(const struct report *rep, enum col c) {
    double best = NAN;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        double v = col_value(&rep->sums[i], c);
        if (!isnan(v) && (isnan(best) || (col_is_higher_better[c] ? v > best : v < best)))
            best = v;
    }
    return best;
}

/* Which saved file a summary number was computed from, for the reader and the test. */
static const char *col_src(const struct summary *s, enum col c, char *buf, size_t len) {
    const struct run *r = c == COL_P99 ? s->half_run : c == COL_TPUT || c == COL_CPU ? s->max_run
                                                                                     : NULL;
    if (!r)
        return "sweep.json";
    snprintf(buf, len, "%s.json", r->stem);
    return buf;
}

static void summary_row(FILE *f, const struct report *rep, size_t i, const double *best) {
    const struct sweep_server *s = &rep->data.servers[i];
    fprintf(f, "<tr data-server=\"%s\"><td><a href=\"#runs-%s\">%s</a> <small>%s</small></td>",
            s->name, s->name, s->name, s->kind);
    for (enum col c = 0; c < COLS; c++) {
        double v = col_value(&rep->sums[i], c);
        char text[32], src[300];
        fmt_col(text, sizeof text, c, v);
        bool is_best = !isnan(v) && v == best[c];
        fprintf(f, "<td class=\"num%s\" data-key=\"%s\" data-value=\"%.17g\" data-src=\"%s\">"
                   "%s%s</td>",
                is_best ? " best" : "", col_keys[c], isnan(v) ? 0.0 : v,
                col_src(&rep->sums[i], c, src, sizeof src), text,
                is_best ? " <span class=\"star\">&#9733;</span>" : "");
    }
    fputs("<td>", f);
    esc(f, s->status);
    fputs("</td></tr>\n", f);
}

static void summary_table(FILE *f, const struct report *rep) {
    double best[COLS];
    for (enum col c = 0; c < COLS; c++)
        best[c] = best_of(rep, c);
    fputs("<h2 id=\"summary\">Summary</h2>\n<table id=\"summary-table\">\n<tr><th>Server</th>"
          "<th>Max throughput (req/s)</th><th>Max rate meeting the SLO (req/s)</th>"
          "<th>p99 at 50% load</th><th>Memory per connection</th><th>CPU per request</th>"
          "<th>Status</th></tr>\n",
          f);
    for (size_t i = 0; i < rep->data.server_count; i++)
        summary_row(f, rep, i, best);
    fputs("</table>\n<p><small>&#9733; marks the best of each column. Max throughput: the best "
          "closed-loop run (1 to 1000 connections). Max rate meeting the SLO: the highest "
          "open-loop Poisson rate whose run met every rule and kept up (responses at least 90% "
          "of the rate). p99 at 50% load: open loop at half the max throughput. Memory per "
          "connection: server memory (proportional set size, summed over its processes, so "
          "shared pages count once) at 1000 connections minus at 1, over the extra "
          "connections (none when over 1% of those requests failed: the server did not hold "
          "them); the kernel's socket buffers are not in it. CPU per request: server CPU "
          "time (user + system, all threads and children) over the responses of the "
          "max-throughput run. Full precision in "
          "<a href=\"summary.csv\">summary.csv</a>.</small></p>\n",
          f);
}

/* ---- Plots ---- */

/* Writes svg with every element id (and reference to one) prefixed by `pN-`, since gnuplot
 * names them alike in every file and ids must be unique in a page. */
static void write_prefixed(FILE *f, const char *svg, int n) {
    static const char *const marks[] = {"id='", "id=\"", "#gp"};
    for (const char *p = svg; *p; p++) {
        for (size_t m = 0; m < 3; m++) {
            size_t len = strlen(marks[m]);
            if (strncmp(p, marks[m], len))
                continue;
            bool is_ref = m == 2;
            fwrite(p, 1, is_ref ? 1 : len, f);
            fprintf(f, "p%d-", n);
            p += is_ref ? 1 : len;
            break;
        }
        fputc(*p, f);
    }
}

/* Copies an SVG file into the page from its <svg> element on; false when there is none. */
static bool embed_svg(FILE *f, const char *dir, const char *file) {
    static int count;
    char path[4096];
    snprintf(path, sizeof path, "%s/plots/%s", dir, file);
    char *text = report_read_file(path);
    const char *svg = text ? strstr(text, "<svg") : NULL;
    if (svg) {
        fputs("<figure>", f);
        write_prefixed(f, svg, ++count);
        fprintf(f, "<figcaption><small><a href=\"plots/%s\">%s</a></small></figcaption>"
                   "</figure>\n",
                file, file);
    }
    free(text);
    return svg != NULL;
}

static void plot_section(FILE *f, const struct report *rep, enum plot_kind k) {
    fprintf(f, "<h2 id=\"%s\">%s</h2>\n<div class=\"plots\">\n", plot_names[k], plot_titles[k]);
    char file[128];
    size_t shown = 0;
    if (rep->has_plots && plot_is_per_server[k]) {
        for (size_t i = 0; i < rep->data.server_count; i++) {
            snprintf(file, sizeof file, "%s-%s.svg", plot_names[k], rep->data.servers[i].name);
            shown += embed_svg(f, rep->dir, file);
        }
    } else if (rep->has_plots) {
        snprintf(file, sizeof file, "%s.svg", plot_names[k]);
        shown += embed_svg(f, rep->dir, file);
    }
    fputs("</div>\n", f);
    if (!shown)
        fputs("<p><small>No plot: no data for it, or no gnuplot.</small></p>\n", f);
    fputs("<p class=\"reading\">", f);
    readings_write(f, rep, k);
    fputs("</p>\n", f);
}

/* ---- Raw runs ---- */

static void run_row(FILE *f, const struct run *r) {
    char p50[32] = "-", p99[32] = "-", p999[32] = "-", mx[32] = "-", rss[32], target[32];
    snprintf(target, sizeof target, r->rate_per_s > 0 ? "%.0f/s" : "closed", r->rate_per_s);
    if (r->has_result && hist_count(&r->latency)) {
        report_fmt_us(p50, sizeof p50, (double)hist_percentile(&r->latency, 50));
        report_fmt_us(p99, sizeof p99, (double)hist_percentile(&r->latency, 99));
        report_fmt_us(p999, sizeof p999, (double)hist_percentile(&r->latency, 99.9));
        report_fmt_us(mx, sizeof mx, (double)hist_max(&r->latency));
    }
    fprintf(f, "<tr><td>%s%s</td><td>%s</td><td class=\"num\">%u</td><td class=\"num\">%s</td>"
               "<td class=\"num\">%.0f</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
               "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%llu</td>"
               "<td class=\"num\">%.3f s</td><td class=\"num\">%s</td>"
               "<td><a href=\"%s.json\">json</a> <a href=\"%s.hgrm\">hgrm</a> "
               "<a href=\"%s.csv\">csv</a> <a href=\"%s.log\">log</a></td></tr>\n",
            r->step, r->is_generator_bound ? " <small>(loader behind)</small>" : "",
            r->verdict[0] ? r->verdict : "-", r->connections,
            target, r->throughput_per_s, p50,
            p99, p999, mx, (unsigned long long)r->errors, r->cpu_s,
            report_fmt_kib(rss, sizeof rss, (double)r->rss_peak_kib), r->stem, r->stem, r->stem,
            r->stem);
}

static void runs_tables(FILE *f, const struct report *rep) {
    fputs("<h2 id=\"runs\">Every run</h2>\n", f);
    for (size_t i = 0; i < rep->data.server_count; i++) {
        const struct sweep_server *s = &rep->data.servers[i];
        char idle[32], peak[32];
        fprintf(f, "<details id=\"runs-%s\"><summary>%s: %zu runs, memory %s at start, peak "
                   "resident set %s (VmHWM of the main process); ",
                s->name, s->name, s->run_count,
                report_fmt_kib(idle, sizeof idle, (double)s->idle_rss_kib),
                report_fmt_kib(peak, sizeof peak, (double)s->peak_rss_kib));
        esc(f, s->status);
        fprintf(f, " (<a href=\"runs/%s/server.log\">server log</a>)</summary>\n<table><tr>"
                   "<th>step</th><th>loader's verdict</th><th>conns</th><th>target</th>"
                   "<th>resp/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th>"
                   "<th>errors</th><th>server CPU</th><th>server memory</th><th>data</th></tr>\n",
                s->name);
        for (size_t j = 0; j < s->run_count; j++)
            run_row(f, &s->runs[j]);
        fputs("</table></details>\n", f);
    }
}

static void footer(FILE *f, const struct report *rep) {
    const struct sweep_data *d = &rep->data;
    fputs("<h2 id=\"about\">How this was measured</h2>\n<p>Command: <code>", f);
    esc(f, d->command);
    fputs("</code><br>Machine: ", f);
    esc(f, d->cpu_model);
    fprintf(f, ", %d cores, ", d->cores);
    esc(f, d->kernel);
    fputs("<br>Versions: ", f);
    esc(f, d->versions);
    fputs("<br>Date: ", f);
    esc(f, d->date);
    fprintf(f, " (the sweep took %.0f s; load average %.2f before it)<br>Pinning: ",
            d->elapsed_s, d->loadavg_start);
    esc(f, d->pinning);
    fputs("<br>Model: M/D/1 (M/M/1 for exponential workloads), one server since the server has one "
          "CPU; service time = the server's CPU time per response (1 / max throughput for io "
          "workloads); round trip = one-connection latency minus the service time "
          "(<code>runs/NAME/model.json</code>).", f);
    fputs("<br>Raw data: <a href=\"sweep.json\">sweep.json</a> (what ran), each run's JSON, "
          ".hgrm and CSV under <code>runs/</code>, plot data and the gnuplot script under "
          "<code>plots/</code>. Rebuild this page with <code>srvlab report DIR</code>.</p>\n"
          "</body></html>\n",
          f);
}

int html_write(const struct report *rep, char *err, size_t errlen) {
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.index.html.tmp", rep->dir);
    snprintf(path, sizeof path, "%s/index.html", rep->dir);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -errno;
    }
    head(f, rep);
    intro(f, rep);
    summary_table(f, rep);
    for (enum plot_kind k = 0; k < PLOT_KINDS; k++)
        plot_section(f, rep, k);
    runs_tables(f, rep);
    footer(f, rep);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}
