/* Unit tests for src/util/json.c: the writer's output parses back to the same values; the
 * reader's accessors, escapes, numbers and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/json.h"

static char *write_sample(size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    struct json_writer w;
    json_writer_init(&w, f);
    json_obj_begin(&w, NULL);
    json_int(&w, "schema", 1);
    json_str(&w, "url", "http://127.0.0.1:8080/a\"b\\c\n");
    json_num(&w, "rate", 1234.5);
    json_num(&w, "nan", 0.0 / 0.0);
    json_uint(&w, "big", 18446744073709551615ULL);
    json_bool(&w, "ok", true);
    json_null(&w, "nothing");
    json_obj_begin(&w, "latency");
    json_obj_begin_inline(&w, "percentiles");
    json_num(&w, "50", 120);
    json_num(&w, "99.9", 4500);
    json_obj_end(&w);
    json_arr_begin_inline(&w, "buckets");
    for (int i = 0; i < 3; i++) {
        json_arr_begin_inline(&w, NULL);
        json_int(&w, NULL, i * 10);
        json_int(&w, NULL, i + 1);
        json_arr_end(&w);
    }
    json_arr_end(&w);
    json_arr_begin(&w, "empty");
    json_arr_end(&w);
    json_obj_end(&w);
    json_obj_end(&w);
    json_writer_finish(&w);
    fclose(f);
    return buf;
}

static void test_json_writer_output_reads_back(void **state) {
    size_t len;
    char *text = write_sample(&len);
    char err[200] = "";
    struct json *root = json_parse(text, len, err, sizeof err);
    if (!root)
        fail_msg("%s\n%s", err, text);
    assert_int_equal(json_integer(json_get(root, "schema"), -1), 1);
    assert_string_equal(json_string(json_get(root, "url"), ""), "http://127.0.0.1:8080/a\"b\\c\n");
    assert_true(json_number(json_get(root, "rate"), 0) == 1234.5);
    assert_int_equal(json_get(root, "nan")->type, JSON_NULL);
    assert_true(json_bool_value(json_get(root, "ok"), false));
    assert_true(json_number(json_path(root, "latency.percentiles.99.9"), 0) == 0); /* dotted key */
    const struct json *pct = json_path(root, "latency.percentiles");
    assert_true(json_number(json_get(pct, "99.9"), 0) == 4500);
    const struct json *b = json_path(root, "latency.buckets");
    assert_int_equal(json_len(b), 3);
    assert_int_equal(json_integer(json_at(json_at(b, 2), 0), 0), 20);
    assert_int_equal(json_integer(json_at(json_at(b, 2), 1), 0), 3);
    assert_null(json_at(b, 3));
    assert_int_equal(json_len(json_path(root, "latency.empty")), 0);
    assert_non_null(strstr(text, "\"buckets\": [[0, 1], [10, 2], [20, 3]]"));
    json_free(root);
    free(text);
}

static void test_json_numbers_keep_integers_exact(void **state) {
    const char *t = "[9007199254740993, -0, 1.5e3, 2E-2, -12]";
    struct json *root = json_parse(t, strlen(t), NULL, 0);
    assert_non_null(root);
    assert_true(json_at(root, 0)->is_integer);
    assert_int_equal(json_at(root, 0)->integer, 9007199254740993LL);
    assert_true(json_number(json_at(root, 2), 0) == 1500);
    assert_false(json_at(root, 2)->is_integer);
    assert_true(json_number(json_at(root, 3), 0) == 0.02);
    assert_int_equal(json_integer(json_at(root, 4), 0), -12);
    json_free(root);
}

static void test_json_escapes_decode_to_utf8(void **state) {
    const char *t = "{\"s\": \"a\\u00e9\\ud83d\\ude00\\/\\t\"}";
    struct json *root = json_parse(t, strlen(t), NULL, 0);
    assert_non_null(root);
    assert_string_equal(json_string(json_get(root, "s"), ""), "a\xc3\xa9\xf0\x9f\x98\x80/\t");
    json_free(root);
}

static void test_json_bad_input_says_where(void **state) {
    struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"a\" 1}", "line 1 column 6: expected ':'"},
        {"[1,\n2,,]", "line 2 column 3: unexpected character ','"},
        {"[01]", "expected ',' or ']'"},
        {"\"abc", "unterminated string"},
        {"{} x", "trailing characters"},
        {"", "unexpected end of input"},
        {"[1.]", "digit expected after '.'"},
        {"\"\\ud800\"", "unpaired surrogate"},
        {"tru", "unexpected character 't'"},
        {"\"a\nb\"", "control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        struct json *root = json_parse(bad[i].text, strlen(bad[i].text), err, sizeof err);
        assert_null(root);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, err, bad[i].msg);
    }
}

static void test_json_deep_nesting_is_refused(void **state) {
    char t[2001];
    memset(t, '[', 2000);
    t[2000] = '\0';
    char err[200] = "";
    assert_null(json_parse(t, 2000, err, sizeof err));
    assert_non_null(strstr(err, "nested too deeply"));
}

static void test_json_accessors_tolerate_null_and_wrong_types(void **state) {
    const char *t = "{\"n\": 1, \"s\": \"x\"}";
    struct json *root = json_parse(t, strlen(t), NULL, 0);
    assert_null(json_get(NULL, "n"));
    assert_null(json_get(json_get(root, "n"), "x"));
    assert_true(json_number(json_get(root, "s"), -1) == -1);
    assert_string_equal(json_string(json_get(root, "n"), "dflt"), "dflt");
    assert_null(json_path(root, "n.deeper"));
    assert_int_equal(json_len(json_get(root, "n")), 0);
    json_free(root);
}

static void test_json_parse_file_names_the_file(void **state) {
    char err[300] = "";
    assert_null(json_parse_file("/nonexistent/x.json", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.json: "));
    char path[] = "/tmp/test_json.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"a\": [true, false, null]}", f);
    fclose(f);
    struct json *root = json_parse_file(path, err, sizeof err);
    assert_non_null(root);
    assert_int_equal(json_len(json_get(root, "a")), 3);
    json_free(root);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writer_output_reads_back),
        cmocka_unit_test(test_json_numbers_keep_integers_exact),
        cmocka_unit_test(test_json_escapes_decode_to_utf8),
        cmocka_unit_test(test_json_bad_input_says_where),
        cmocka_unit_test(test_json_deep_nesting_is_refused),
        cmocka_unit_test(test_json_accessors_tolerate_null_and_wrong_types),
        cmocka_unit_test(test_json_parse_file_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
