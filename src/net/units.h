/* Parsing and printing of quantities with units: durations, counts, sizes, rates, percentages.
 * Pure functions: no I/O, no globals. Every parser returns 0 or -EINVAL and never prints. */
#ifndef SRVLAB_UNITS_H
#define SRVLAB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250us", "1.5ms", "2s", "3m", "1h" (also "min"). A bare number is taken in default_unit_us,
 * or rejected when default_unit_us is 0 (unit required). Negative values are rejected. */
int units_parse_duration_us(const char *s, double default_unit_us, double *out_us);

/* Like units_parse_duration_us but rounded to whole microseconds. */
int units_parse_duration_u64(const char *s, double default_unit_us, uint64_t *out_us);

/* "100", "20k", "1.5M", "2G" (decimal). Must be a non-negative integer after scaling. */
int units_parse_count(const char *s, uint64_t *out);

/* Bytes: "512", "64k"/"64K"/"64KiB" (1024), "1M"/"1MiB", "1G". */
int units_parse_size(const char *s, uint64_t *out_bytes);

/* Rates: "5000/s", "3/min", "2/h", "200/ms", "20k" or "20k/s"; bare number = per second. */
int units_parse_rate(const char *s, double *out_per_s);

/* "95%" or "0.95" -> 0.95. Range [0, 10] (over 100% allowed for loads past capacity). */
int units_parse_fraction(const char *s, double *out);

/* Human-readable duration with 3 significant digits: "812us", "1.23ms", "4.50s". Returns buf. */
char *units_fmt_duration(char *buf, size_t len, double us);

/* "1.23k", "45.6M": decimal count with 3 significant digits. Returns buf. */
char *units_fmt_count(char *buf, size_t len, double n);

/* "12.3KiB", "1.00MiB". Returns buf. */
char *units_fmt_bytes(char *buf, size_t len, double bytes);

#endif
