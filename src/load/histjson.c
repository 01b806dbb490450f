/* Histogram <-> JSON. Buckets are listed by their lowest equivalent value, which maps back to
 * the same bucket in any histogram of the same configuration (exact merge) and to within the
 * source precision in any other. */
#include "load/histjson.h"

#include <errno.h>

void histjson_write(struct json_writer *w, const char *key, const struct hist *h) {
    json_obj_begin(w, key);
    json_int(w, "lowest_us", h->lowest);
    json_int(w, "highest_us", h->highest);
    json_int(w, "sigfigs", h->sigfigs);
    json_uint(w, "count", hist_count(h));
    json_int(w, "min_us", hist_min(h));
    json_int(w, "max_us", hist_max(h));
    json_num(w, "mean_us", hist_mean(h));
    json_num(w, "m2_us2", h->m2);
    json_uint(w, "clamped", h->clamped);
    json_arr_begin_inline(w, "buckets");
    struct hist_iter it;
    hist_iter_init(&it);
    while (hist_next(h, &it)) {
        json_arr_begin_inline(w, NULL);
        json_int(w, NULL, it.lo);
        json_uint(w, NULL, it.count);
        json_arr_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
}

static int read_buckets(const struct json *buckets, struct hist *h) {
    for (size_t i = 0; i < json_len(buckets); i++) {
        const struct json *b = json_at(buckets, i);
        int64_t value = json_integer(json_at(b, 0), -1), count = json_integer(json_at(b, 1), -1);
        if (json_len(b) != 2 || value < 0 || count < 0)
            return -EINVAL;
        hist_record_n(h, value, (uint64_t)count);
    }
    return 0;
}

int histjson_read(const struct json *v, struct hist *out) {
    const struct json *buckets = json_get(v, "buckets");
    int64_t lowest = json_integer(json_get(v, "lowest_us"), -1);
    int64_t highest = json_integer(json_get(v, "highest_us"), -1);
    int64_t sigfigs = json_integer(json_get(v, "sigfigs"), -1);
    int64_t count = json_integer(json_get(v, "count"), -1);
    if (!buckets || buckets->type != JSON_ARRAY || count < 0 || sigfigs < 0 || sigfigs > 9)
        return -EINVAL;
    int rc = hist_init(out, lowest, highest, (int)sigfigs);
    if (rc < 0)
        return rc;
    if (read_buckets(buckets, out) < 0 || hist_count(out) != (uint64_t)count) {
        hist_free(out);
        return -EINVAL;
    }
    if (count > 0) {
        out->min = json_integer(json_get(v, "min_us"), out->min);
        out->max = json_integer(json_get(v, "max_us"), out->max);
        out->mean = json_number(json_get(v, "mean_us"), out->mean);
        out->m2 = json_number(json_get(v, "m2_us2"), out->m2);
    }
    out->clamped = (uint64_t)json_integer(json_get(v, "clamped"), 0);
    return 0;
}
