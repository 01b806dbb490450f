/* Unit tests for src/load/histjson.c: a histogram survives the round trip through JSON exactly,
 * and malformed objects are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/histjson.h"

static struct json *round_trip(const struct hist *h) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json_writer w;
    json_writer_init(&w, f);
    histjson_write(&w, NULL, h);
    json_writer_finish(&w);
    fclose(f);
    struct json *root = json_parse(buf, len, NULL, 0);
    free(buf);
    assert_non_null(root);
    return root;
}

static void test_histjson_round_trip_is_exact(void **state) {
    struct hist h, back;
    assert_int_equal(hist_init(&h, 1, HIST_DEFAULT_HIGHEST, 3), 0);
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        hist_record(&h, (int64_t)(x >> 40) % 5000000);
    }
    hist_record(&h, HIST_DEFAULT_HIGHEST * 2);
    struct json *root = round_trip(&h);
    assert_int_equal(histjson_read(root, &back), 0);
    assert_true(hist_same_layout(&h, &back));
    assert_int_equal(hist_count(&back), hist_count(&h));
    assert_int_equal(hist_min(&back), hist_min(&h));
    assert_int_equal(hist_max(&back), hist_max(&h));
    assert_int_equal(back.clamped, 1);
    assert_true(hist_mean(&back) == hist_mean(&h));
    assert_true(hist_stddev(&back) == hist_stddev(&h));
    for (int i = 0; i < h.counts_len; i++)
        assert_int_equal(back.counts[i], h.counts[i]);
    json_free(root);
    hist_free(&back);
    hist_free(&h);
}

static void test_histjson_empty_histogram_round_trips(void **state) {
    struct hist h, back;
    assert_int_equal(hist_init(&h, 1, 1000000, 2), 0);
    struct json *root = round_trip(&h);
    assert_int_equal(histjson_read(root, &back), 0);
    assert_int_equal(hist_count(&back), 0);
    assert_int_equal(back.sigfigs, 2);
    json_free(root);
    hist_free(&back);
    hist_free(&h);
}

static void test_histjson_inconsistent_objects_are_refused(void **state) {
    const char *bad[] = {
        "{}",
        "{\"lowest_us\":1,\"highest_us\":1000,\"sigfigs\":3,\"count\":2,\"buckets\":[[5,1]]}",
        "{\"lowest_us\":0,\"highest_us\":1000,\"sigfigs\":3,\"count\":0,\"buckets\":[]}",
        "{\"lowest_us\":1,\"highest_us\":1000,\"sigfigs\":3,\"count\":1,\"buckets\":[[5]]}",
        "{\"lowest_us\":1,\"highest_us\":1000,\"sigfigs\":3,\"count\":1,\"buckets\":[[-5,1]]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json *root = json_parse(bad[i], strlen(bad[i]), NULL, 0);
        struct hist h;
        assert_non_null(root);
        assert_int_equal(histjson_read(root, &h), -22);
        json_free(root);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histjson_round_trip_is_exact),
        cmocka_unit_test(test_histjson_empty_histogram_round_trips),
        cmocka_unit_test(test_histjson_inconsistent_objects_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
