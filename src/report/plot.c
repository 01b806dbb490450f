/* The report's plots: data files and one gnuplot script under DIR/plots/, rendered to SVG by
 * gnuplot (Debian gnuplot-nox). A plot is only scripted when it has data, because gnuplot stops
 * the whole script at the first plot without points. Drawing is gnuplot's; the page embeds. */
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"

const char *const plot_names[PLOT_KINDS] = {"latency", "throughput", "cdf",  "parts",
                                            "hist",    "spectrum",   "rate"};
const bool plot_is_per_server[PLOT_KINDS] = {true, false, false, false, true, false, true};

/* Sixteen colors that stay apart on white, for up to sixteen servers on one chart. */
static const char *const colors[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#3182bd", "#000000"};

const struct run *plot_common_run(const struct sweep_server *s) {
    for (size_t i = 0; i < s->run_count; i++)
        if (!strcmp(s->runs[i].step, "common") && s->runs[i].has_result &&
            hist_count(&s->runs[i].latency) > 0)
            return &s->runs[i];
    return NULL;
}

static FILE *open_dat(const struct report *rep, const char *name, const char *server) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plots/%s%s%s.dat", rep->dir, name, server ? "-" : "",
             server ? server : "");
    return fopen(path, "w");
}

/* ---- Data files; each returns the number of points written ---- */

static int latency_dat(const struct report *rep, const struct sweep_server *s) {
    const struct run *runs[64];
    size_t n = summary_runs(s, "open", runs, 64);
    n += summary_runs(s, "search", runs + n, 64 - n);
    /* Searched points fall between the open ones: one line needs them sorted by rate. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && runs[j]->rate_per_s < runs[j - 1]->rate_per_s; j--) {
            const struct run *t = runs[j];
            runs[j] = runs[j - 1];
            runs[j - 1] = t;
        }
    FILE *f = open_dat(rep, "latency", s->name);
    if (!f)
        return 0;
    int points = 0;
    for (size_t i = 0; i < n; i++)
        if (runs[i]->has_result && hist_count(&runs[i]->latency) > 0) {
            fprintf(f, "%.3f %lld %lld\n", runs[i]->rate_per_s,
                    (long long)hist_percentile(&runs[i]->latency, 50),
                    (long long)hist_percentile(&runs[i]->latency, 99));
            points++;
        }
    fclose(f);
    return points;
}

/* The model's prediction: load, p50, p99 (us). Returns points; model name into name. */
static int model_dat(const struct report *rep, const struct sweep_server *s, char *name,
                     size_t len) {
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/%s.json", rep->dir, s->model_stem);
    if (!s->model_stem[0])
        return 0;
    struct json *root = json_parse_file(path, err, sizeof err);
    if (!root)
        return 0;
    snprintf(name, len, "%s", json_string(json_get(root, "model"), "model"));
    FILE *f = open_dat(rep, "model", s->name);
    int points = 0;
    const struct json *pts = json_get(root, "points");
    for (size_t i = 0; f && i < json_len(pts); i++) {
        const struct json *p = json_at(pts, i);
        fprintf(f, "%.3f %.3f %.3f\n", json_number(json_get(p, "load_per_s"), 0),
                json_number(json_get(p, "p50_us"), 0), json_number(json_get(p, "p99_us"), 0));
        points++;
    }
    if (f)
        fclose(f);
    json_free(root);
    return points;
}

static int throughput_dat(const struct report *rep, const struct sweep_server *s) {
    const struct run *runs[16];
    size_t n = summary_runs(s, "closed", runs, 16);
    FILE *f = open_dat(rep, "throughput", s->name);
    int points = 0;
    for (size_t i = 0; f && i < n; i++)
        if (runs[i]->has_result) {
            fprintf(f, "%u %.3f\n", runs[i]->connections, runs[i]->throughput_per_s);
            points++;
        }
    if (f)
        fclose(f);
    return points;
}

static int cdf_dat(const struct report *rep, const struct sweep_server *s) {
    const struct run *r = plot_common_run(s);
    FILE *f = r ? open_dat(rep, "cdf", s->name) : NULL;
    if (!f)
        return 0;
    int points = 0;
    double total = (double)hist_count(&r->latency);
    struct hist_iter it;
    hist_iter_init(&it);
    while (hist_next(&r->latency, &it)) {
        fprintf(f, "%lld %.6f\n", (long long)(it.hi > 0 ? it.hi : 1),
                (double)it.cumulative / total);
        points++;
    }
    fclose(f);
    return points;
}

/* Latency histogram in 10 bins a decade, as percent of requests: lo hi percent. */
static int hist_dat(const struct report *rep, const struct sweep_server *s) {
    const struct run *r = plot_common_run(s);
    FILE *f = r ? open_dat(rep, "hist", s->name) : NULL;
    if (!f)
        return 0;
    double bins[120] = {0}, total = (double)hist_count(&r->latency);
    struct hist_iter it;
    hist_iter_init(&it);
    while (hist_next(&r->latency, &it)) {
        double mid = fmax(1, (double)(it.lo + it.hi) / 2);
        int b = (int)floor(log10(mid) * 10);
        bins[b < 0 ? 0 : b > 119 ? 119 : b] += (double)it.count;
    }
    int points = 0;
    for (int b = 0; b < 120; b++)
        if (bins[b] > 0) {
            fprintf(f, "%.3f %.3f %.4f\n", pow(10, b / 10.0), pow(10, (b + 1) / 10.0),
                    100 * bins[b] / total);
            points++;
        }
    fclose(f);
    return points;
}

/* Percentile spectrum: x = 1 / (1 - p), as far as the sample count supports. */
static int spectrum_dat(const struct report *rep, const struct sweep_server *s) {
    const struct run *r = plot_common_run(s);
    FILE *f = r ? open_dat(rep, "spectrum", s->name) : NULL;
    if (!f)
        return 0;
    double count = (double)hist_count(&r->latency);
    int points = 0;
    for (int k = 0; k <= 50; k++) {
        double x = pow(10, k / 10.0);
        if (x > count)
            break;
        double p = 100 * (1 - 1 / x);
        fprintf(f, "%.4f %lld\n", x, (long long)fmax(1, (double)hist_percentile(&r->latency, p)));
        points++;
    }
    fclose(f);
    return points;
}

/* Responses per second over time: every run of the server, placed by its start time. */
static int rate_dat(const struct report *rep, const struct sweep_server *s) {
    FILE *f = open_dat(rep, "rate", s->name);
    if (!f)
        return 0;
    int points = 0;
    double t0 = s->run_count ? s->runs[0].start_unix_s : 0;
    for (size_t i = 0; i < s->run_count; i++) {
        const struct run *r = &s->runs[i];
        for (size_t j = 0; j < r->per_s_count; j++, points++)
            fprintf(f, "%.2f %.1f\n", r->start_unix_s - t0 + (double)j + 0.5, r->per_s[j]);
        if (r->per_s_count)
            fputs("\n", f); /* a blank line: gnuplot breaks the line between runs */
    }
    fclose(f);
    return points;
}

/* ---- The script ---- */

static void script_header(FILE *g) {
    fputs("# Written by srvlab report; run `gnuplot plots.gp` here to redraw.\n"
          "set terminal svg size 720,420 noenhanced font 'sans,11' background '#ffffff'\n"
          "set grid lc rgb '#dddddd'\nset key noenhanced\nset datafile missing '-'\n",
          g);
    for (size_t i = 0; i < sizeof colors / sizeof colors[0]; i++)
        fprintf(g, "set linetype %zu lc rgb '%s' lw 2 pt %zu\n", i + 1, colors[i], i % 7 + 1);
    fputs("set linetype cycle 16\n", g);
}

static void script_latency(FILE *g, const struct report *rep, const struct sweep_server *s) {
    char model[64] = "";
    int mp = model_dat(rep, s, model, sizeof model);
    if (latency_dat(rep, s) == 0)
        return;
    fprintf(g, "reset\nset grid lc rgb '#dddddd'\nset output 'latency-%s.svg'\n"
               "set title '%s: latency vs offered load (open loop, Poisson)'\n"
               "set xlabel 'offered load (req/s)'\nset ylabel 'latency (us)'\n"
               "set logscale y\nset key top left\n"
               "plot 'latency-%s.dat' u 1:2 w lp lt 1 t 'p50 measured', "
               "'' u 1:3 w lp lt 2 t 'p99 measured'",
            s->name, s->name, s->name);
    if (mp > 0)
        fprintf(g, ", 'model-%s.dat' u 1:2 w l lt 1 dt 2 t 'p50 %s model', "
                   "'' u 1:3 w l lt 2 dt 2 t 'p99 %s model'",
                s->name, model, model);
    fputs("\n", g);
}

/* A chart with one line per server that has data (has[i]); dat is the file name prefix. */
static void script_all(FILE *g, const struct report *rep, const char *name, const char *style,
                       const bool *has) {
    bool first = true;
    for (size_t i = 0; i < rep->data.server_count; i++) {
        if (!has[i])
            continue;
        fprintf(g, "%s'%s-%s.dat' %s lt %zu t '%s'", first ? "plot " : ", ", name,
                rep->data.servers[i].name, style, i + 1, rep->data.servers[i].name);
        first = false;
    }
    fputs("\n", g);
}

static bool any(const bool *has, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (has[i])
            return true;
    return false;
}

static void script_throughput(FILE *g, const struct report *rep) {
    bool has[DATA_MAX_SERVERS] = {0};
    for (size_t i = 0; i < rep->data.server_count; i++)
        has[i] = throughput_dat(rep, &rep->data.servers[i]) > 0;
    if (!any(has, rep->data.server_count))
        return;
    fputs("reset\nset grid lc rgb '#dddddd'\nset output 'throughput.svg'\n"
          "set title 'Throughput vs connections (closed loop)'\n"
          "set xlabel 'connections'\nset ylabel 'responses/s'\nset logscale x\n"
          "set xrange [0.8:1300]\nset yrange [0:*]\nset key outside right\n",
          g);
    script_all(g, rep, "throughput", "u 1:2 w lp", has);
}

static void script_common(FILE *g, const struct report *rep) {
    bool has[DATA_MAX_SERVERS] = {0}, spec[DATA_MAX_SERVERS] = {0};
    for (size_t i = 0; i < rep->data.server_count; i++) {
        has[i] = cdf_dat(rep, &rep->data.servers[i]) > 0;
        spec[i] = spectrum_dat(rep, &rep->data.servers[i]) > 0;
    }
    if (any(has, rep->data.server_count)) {
        fprintf(g, "reset\nset grid lc rgb '#dddddd'\nset output 'cdf.svg'\n"
                   "set title 'Latency CDF at %.0f req/s (open loop, Poisson), all servers'\n"
                   "set xlabel 'latency (us)'\nset ylabel 'fraction of requests'\n"
                   "set logscale x\nset yrange [0:1]\nset key outside right\n",
                rep->data.common_rate_per_s);
        script_all(g, rep, "cdf", "u 1:2 w steps", has);
    }
    if (any(spec, rep->data.server_count)) {
        fprintf(g, "reset\nset grid lc rgb '#dddddd'\nset output 'spectrum.svg'\n"
                   "set title 'Percentile spectrum at %.0f req/s'\n"
                   "set xlabel 'percentile'\nset ylabel 'latency (us)'\nset logscale xy\n"
                   /* Tic labels are formats to gnuplot: a percent sign is written %%. */
                   "set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, "
                   "'99.99%%%%' 10000, '99.999%%%%' 100000)\nset key outside right\n",
                rep->data.common_rate_per_s);
        script_all(g, rep, "spectrum", "u 1:2 w l", spec);
    }
}

/* Where the time goes at the common load: the server's own queueing delay and service time
 * (its /metrics), and the rest of the measured mean latency (network, kernel, loader), as
 * shares of the mean so servers whose means differ a thousandfold still read side by side. */
static int parts_dat(const struct report *rep) {
    FILE *f = open_dat(rep, "parts", NULL);
    int rows = 0;
    for (size_t i = 0; f && i < rep->data.server_count; i++) {
        const struct run *r = plot_common_run(&rep->data.servers[i]);
        if (!r || isnan(r->queue_mean_us) || isnan(r->service_mean_us))
            continue;
        double mean = hist_mean(&r->latency);
        double q = fmin(mean, r->queue_mean_us), sv = fmin(mean - q, r->service_mean_us);
        char m[32];
        report_fmt_us(m, sizeof m, mean);
        fprintf(f, "\"%s\\n(mean %s)\" %.3f %.3f %.3f\n", rep->data.servers[i].name, m,
                100 * q / mean, 100 * sv / mean, 100 * (mean - q - sv) / mean);
        rows++;
    }
    if (f)
        fclose(f);
    return rows;
}

static void script_parts(FILE *g, const struct report *rep) {
    if (parts_dat(rep) == 0)
        return;
    fprintf(g, "reset\nset grid ytics lc rgb '#dddddd'\nset output 'parts.svg'\n"
               "set title 'Where the time goes at %.0f req/s: shares of the mean latency'\n"
               "set ylabel '%% of the mean latency'\nset yrange [0:100]\nset bmargin 5\n"
               "set style data histograms\nset style histogram rowstacked\n"
               "set style fill solid 0.7 border -1\nset boxwidth 0.6\nset key outside right\n"
               "plot 'parts.dat' u 2:xtic(1) lt 2 t 'queueing delay (server)', "
               "'' u 3 lt 1 t 'service time (server)', "
               "'' u 4 lt 9 t 'network, kernel, loader'\n",
            rep->data.common_rate_per_s);
}

static void script_hist(FILE *g, const struct report *rep, size_t i) {
    const struct sweep_server *s = &rep->data.servers[i];
    if (hist_dat(rep, s) == 0)
        return;
    fprintf(g, "reset\nset grid lc rgb '#dddddd'\nset output 'hist-%s.svg'\n"
               "set title '%s: latency histogram at %.0f req/s'\n"
               "set xlabel 'latency (us)'\nset ylabel '%% of requests'\nset logscale x\n"
               "set yrange [0:*]\nset style fill solid 0.6\nunset key\n"
               "plot 'hist-%s.dat' u (sqrt($1*$2)):($3/2):1:2:(0):3 w boxxyerror lt %zu\n",
            s->name, s->name, rep->data.common_rate_per_s, s->name, i + 1);
}

static void script_rate(FILE *g, const struct report *rep, size_t i) {
    const struct sweep_server *s = &rep->data.servers[i];
    if (rate_dat(rep, s) == 0)
        return;
    fprintf(g, "reset\nset grid lc rgb '#dddddd'\nset output 'rate-%s.svg'\n"
               "set title '%s: responses per second, every run (a gap between runs)'\n"
               "set xlabel 'seconds since the first run'\nset ylabel 'responses/s'\n"
               "set yrange [0:*]\nunset key\n"
               "plot 'rate-%s.dat' u 1:2 w lp lt %zu pt 7 ps 0.5\n",
            s->name, s->name, s->name, i + 1);
}

static bool find_gnuplot(char *out, size_t len) {
    const char *env = getenv("SRVLAB_GNUPLOT");
    if (env) {
        snprintf(out, len, "%s", env);
        return access(out, X_OK) == 0;
    }
    const char *dirs[] = {"/usr/bin", "/usr/local/bin", "/bin"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(out, len, "%s/gnuplot", dirs[i]);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

static int write_script(struct report *rep, const char *path) {
    FILE *g = fopen(path, "w");
    if (!g)
        return -errno;
    script_header(g);
    for (size_t i = 0; i < rep->data.server_count; i++)
        script_latency(g, rep, &rep->data.servers[i]);
    script_throughput(g, rep);
    script_common(g, rep);
    script_parts(g, rep);
    for (size_t i = 0; i < rep->data.server_count; i++) {
        script_hist(g, rep, i);
        script_rate(g, rep, i);
    }
    return fclose(g) == 0 ? 0 : -errno;
}

/* Runs each plot of the script (the header, then one "reset" block) in its own gnuplot, so a
 * plot gnuplot refuses costs only itself. Returns how many failed. */
static int run_blocks(const char *dir, const char *gnuplot, const char *script) {
    char *text = report_read_file(script), cmd[8400];
    if (!text)
        return 1;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' >>gnuplot.log 2>&1", dir, gnuplot);
    char *first = strstr(text, "\nreset\n");
    size_t header_len = first ? (size_t)(first - text) + 1 : strlen(text);
    int failed = 0;
    for (char *b = first ? first + 1 : NULL; b;) {
        char *next = strstr(b, "\nreset\n");
        size_t len = next ? (size_t)(next - b) + 1 : strlen(b);
        FILE *g = popen(cmd, "w");
        if (g) {
            fwrite(text, 1, header_len, g);
            fwrite(b, 1, len, g);
        }
        failed += !g || pclose(g) != 0;
        b = next ? next + 1 : NULL;
    }
    free(text);
    return failed;
}

/* Removes the plots and data of an earlier build, so none of them shows up again. */
static void clear_old(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    char path[4400];
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 4 && (!strcmp(e->d_name + len - 4, ".svg") ||
                        !strcmp(e->d_name + len - 4, ".dat"))) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int plot_all(struct report *rep) {
    char dir[4096], script[4200], gnuplot[4096], log[4300];
    snprintf(dir, sizeof dir, "%s/plots", rep->dir);
    mkdir(dir, 0755);
    clear_old(dir);
    snprintf(script, sizeof script, "%s/plots.gp", dir);
    int rc = write_script(rep, script);
    if (rc < 0) {
        snprintf(rep->plot_note, sizeof rep->plot_note, "%s: %s", script, strerror(-rc));
        return rc;
    }
    if (!find_gnuplot(gnuplot, sizeof gnuplot)) {
        snprintf(rep->plot_note, sizeof rep->plot_note,
                 "gnuplot is not installed (Debian: apt-get install gnuplot-nox); the data and "
                 "the script are in %s", dir);
        return -ENOENT;
    }
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);
    unlink(log);
    int failed = run_blocks(dir, gnuplot, script);
    if (failed) /* the page shows the plots that were drawn and says some are missing */
        fprintf(stderr, "srvlab report: gnuplot could not draw %d plot%s; see %s\n", failed,
                failed == 1 ? "" : "s", log);
    return 0;
}
