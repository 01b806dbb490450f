/* A histogram as JSON: its configuration, exact statistics and the populated buckets, so that
 * results from several processes or machines can be merged exactly (docs/load.md, "histogram"). */
#ifndef SRVLAB_HISTJSON_H
#define SRVLAB_HISTJSON_H

#include "load/hist.h"
#include "util/json.h"

/* Writes h as member `key` (NULL inside arrays):
 * {"lowest_us", "highest_us", "sigfigs", "count", "min_us", "max_us", "mean_us", "m2_us2",
 *  "clamped", "buckets": [[lowest value of the bucket in us, count], ...]}. */
void histjson_write(struct json_writer *w, const char *key, const struct hist *h);

/* Rebuilds a histogram from that object: hist_init's it (caller hist_free's it) and restores the
 * exact statistics. Returns 0, -EINVAL when v is not such an object or is inconsistent (bucket
 * counts that do not add up to count), or -ENOMEM. */
int histjson_read(const struct json *v, struct hist *out);

#endif
