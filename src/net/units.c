/* Quantities with units, parsed and printed. Pure: no sockets, no clock (see units.h). */
#include "net/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *suffix;
    double scale;
};

/* Parses a finite, non-negative number and returns where its suffix starts. */
static int parse_number(const char *s, double *out, const char **rest) {
    if (!s || !*s || *s == '-' || *s == ' ')
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v) || v < 0)
        return -EINVAL;
    *out = v;
    *rest = end;
    return 0;
}

static int scale_by(const char *rest, const struct unit *units, double *scale) {
    for (const struct unit *u = units; u->suffix; u++) {
        if (strcmp(rest, u->suffix) == 0) {
            *scale = u->scale;
            return 0;
        }
    }
    return -EINVAL;
}

static const struct unit duration_units[] = {
    {"ns", 1e-3}, {"us", 1}, {"µs", 1}, {"ms", 1e3}, {"s", 1e6}, {"sec", 1e6},
    {"m", 60e6}, {"min", 60e6}, {"h", 3600e6}, {NULL, 0},
};

int units_parse_duration_us(const char *s, double default_unit_us, double *out_us) {
    double v, scale;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0)
        return -EINVAL;
    if (*rest == '\0') {
        if (default_unit_us <= 0)
            return -EINVAL;
        scale = default_unit_us;
    } else if (scale_by(rest, duration_units, &scale) < 0) {
        return -EINVAL;
    }
    *out_us = v * scale;
    return 0;
}

int units_parse_duration_u64(const char *s, double default_unit_us, uint64_t *out_us) {
    double us;
    if (units_parse_duration_us(s, default_unit_us, &us) < 0 || us > 1e15)
        return -EINVAL;
    *out_us = (uint64_t)llround(us);
    return 0;
}

static const struct unit count_units[] = {
    {"", 1}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {NULL, 0},
};

int units_parse_count(const char *s, uint64_t *out) {
    double v, scale;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0 || scale_by(rest, count_units, &scale) < 0)
        return -EINVAL;
    v *= scale;
    if (v > 1e18 || v != floor(v))
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

static const struct unit size_units[] = {
    {"", 1}, {"b", 1}, {"B", 1}, {"k", 1024}, {"K", 1024}, {"KB", 1024}, {"KiB", 1024},
    {"m", 1 << 20}, {"M", 1 << 20}, {"MB", 1 << 20}, {"MiB", 1 << 20},
    {"g", 1 << 30}, {"G", 1 << 30}, {"GB", 1 << 30}, {"GiB", 1 << 30}, {NULL, 0},
};

int units_parse_size(const char *s, uint64_t *out_bytes) {
    double v, scale;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0 || scale_by(rest, size_units, &scale) < 0)
        return -EINVAL;
    v *= scale;
    if (v > 1e18)
        return -EINVAL;
    *out_bytes = (uint64_t)v;
    return 0;
}

static const struct unit per_units[] = {
    {"", 1}, {"s", 1}, {"sec", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"m", 60}, {"min", 60},
    {"h", 3600}, {NULL, 0},
};

int units_parse_rate(const char *s, double *out_per_s) {
    double v, mult = 1, per = 1;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0)
        return -EINVAL;
    if (*rest == 'k' || *rest == 'K' || *rest == 'M') {
        mult = *rest == 'M' ? 1e6 : 1e3;
        rest++;
    }
    if (*rest == '/')
        rest++;
    else if (*rest != '\0')
        return -EINVAL;
    if (scale_by(rest, per_units, &per) < 0)
        return -EINVAL;
    *out_per_s = v * mult / per;
    return 0;
}

int units_parse_fraction(const char *s, double *out) {
    double v;
    const char *rest;
    if (parse_number(s, &v, &rest) < 0)
        return -EINVAL;
    if (strcmp(rest, "%") == 0)
        v /= 100;
    else if (*rest != '\0')
        return -EINVAL;
    if (v > 10)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Prints v with 3 significant digits followed by suffix. */
static char *fmt3(char *buf, size_t len, double v, const char *suffix) {
    int prec = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    snprintf(buf, len, "%.*f%s", prec, v, suffix);
    return buf;
}

char *units_fmt_duration(char *buf, size_t len, double us) {
    if (us < 1)
        return fmt3(buf, len, us * 1e3, "ns");
    if (us < 1e3)
        return fmt3(buf, len, us, "us");
    if (us < 1e6)
        return fmt3(buf, len, us / 1e3, "ms");
    if (us < 600e6)
        return fmt3(buf, len, us / 1e6, "s");
    return fmt3(buf, len, us / 60e6, "m");
}

char *units_fmt_count(char *buf, size_t len, double n) {
    if (n < 1e3)
        return fmt3(buf, len, n, "");
    if (n < 1e6)
        return fmt3(buf, len, n / 1e3, "k");
    if (n < 1e9)
        return fmt3(buf, len, n / 1e6, "M");
    return fmt3(buf, len, n / 1e9, "G");
}

char *units_fmt_bytes(char *buf, size_t len, double b) {
    if (b < 1024)
        return fmt3(buf, len, b, "B");
    if (b < 1024.0 * 1024)
        return fmt3(buf, len, b / 1024, "KiB");
    if (b < 1024.0 * 1024 * 1024)
        return fmt3(buf, len, b / (1024.0 * 1024), "MiB");
    return fmt3(buf, len, b / (1024.0 * 1024 * 1024), "GiB");
}
