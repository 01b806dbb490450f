/* A small JSON writer (streaming, to a FILE) and a small DOM reader (text to a tree), enough for
 * srvlab's result files. No schema knowledge here; no I/O besides the FILE the caller gives. */
#ifndef SRVLAB_JSON_H
#define SRVLAB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Writer ---------------------------------------------------------------------------- */

#define JSON_MAX_DEPTH 32

/* Pretty-printed output, two spaces an indent level; a container opened "inline" (and all
 * inside it) stays on one line. Keys are NULL inside arrays and required inside objects. */
struct json_writer {
    FILE *out;
    int depth;
    int inline_depth;                 /* depth at which inline output began, 0 when none */
    bool has_items[JSON_MAX_DEPTH];   /* the open container already holds a value */
};

void json_writer_init(struct json_writer *w, FILE *out);
void json_obj_begin(struct json_writer *w, const char *key);
void json_obj_begin_inline(struct json_writer *w, const char *key);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w, const char *key);
void json_arr_begin_inline(struct json_writer *w, const char *key);
void json_arr_end(struct json_writer *w);
void json_str(struct json_writer *w, const char *key, const char *value); /* NULL -> null */
void json_num(struct json_writer *w, const char *key, double value);      /* NaN/inf -> null */
void json_int(struct json_writer *w, const char *key, int64_t value);
void json_uint(struct json_writer *w, const char *key, uint64_t value);
void json_bool(struct json_writer *w, const char *key, bool value);
void json_null(struct json_writer *w, const char *key);
/* Ends the document with a newline. */
void json_writer_finish(struct json_writer *w);

/* ---- Reader ---------------------------------------------------------------------------- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/* A parsed value. Arrays and objects hold `len` children in `items` (object members carry
 * their `key`); the tree owns all its strings and is freed with json_free() on the root. */
struct json {
    enum json_type type;
    char *key;         /* member name when this value sits in an object, else NULL */
    bool boolean;
    bool is_integer;   /* a number written without fraction or exponent that fits int64 */
    double number;
    int64_t integer;   /* exact value when is_integer */
    char *string;      /* UTF-8, NUL-terminated (embedded NULs are rejected) */
    struct json *items;
    size_t len;
};

/* Parses text[0..len). Returns the root, or NULL with a message such as
 * "line 3 column 7: expected ':'" in err (errlen bytes; err may be NULL). Nesting is limited
 * to 256 levels. The caller frees the root with json_free(). */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);

/* Reads and parses a whole file; on failure err says which file and why. */
struct json *json_parse_file(const char *path, char *err, size_t errlen);

void json_free(struct json *root);

/* Member `key` of an object, or NULL (also when v is NULL or not an object). */
const struct json *json_get(const struct json *v, const char *key);

/* Follows a dotted path of member names: json_path(root, "latency.percentiles"). */
const struct json *json_path(const struct json *v, const char *dotted);

/* Element i of an array, or NULL when out of range or not an array. */
const struct json *json_at(const struct json *v, size_t i);

/* Number of array elements or object members; 0 for scalars and NULL. */
size_t json_len(const struct json *v);

/* Typed accessors with a fallback for NULL or mismatched types. */
double json_number(const struct json *v, double fallback);
int64_t json_integer(const struct json *v, int64_t fallback); /* numbers are truncated */
const char *json_string(const struct json *v, const char *fallback);
bool json_bool_value(const struct json *v, bool fallback);

#endif
