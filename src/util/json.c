/* JSON (RFC 8259) writing and reading. The writer streams to a FILE and never allocates; the
 * reader is a recursive-descent parser that builds a tree of malloc'ed nodes. */
#include "util/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- Writer ---------------------------------------------------------------------------- */

void json_writer_init(struct json_writer *w, FILE *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
}

static bool is_inline(const struct json_writer *w) { return w->inline_depth > 0; }

static void put_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

/* Separator, newline and indent before a value, then its key. */
static void begin_value(struct json_writer *w, const char *key) {
    if (w->depth > 0) {
        bool is_first = !w->has_items[w->depth];
        if (!is_first)
            fputc(',', w->out);
        w->has_items[w->depth] = true;
        if (!is_inline(w))
            fprintf(w->out, "\n%*s", 2 * w->depth, "");
        else if (!is_first)
            fputc(' ', w->out);
    }
    if (key) {
        put_string(w->out, key);
        fputs(": ", w->out);
    }
}

static void open_container(struct json_writer *w, const char *key, char bracket, bool inl) {
    begin_value(w, key);
    fputc(bracket, w->out);
    if (w->depth + 1 < JSON_MAX_DEPTH)
        w->depth++;
    w->has_items[w->depth] = false;
    if (inl && !is_inline(w))
        w->inline_depth = w->depth;
}

static void close_container(struct json_writer *w, char bracket) {
    bool had_items = w->has_items[w->depth];
    if (w->inline_depth == w->depth) {
        w->inline_depth = 0;
    } else if (!is_inline(w) && had_items) {
        fprintf(w->out, "\n%*s", 2 * (w->depth - 1), "");
    }
    fputc(bracket, w->out);
    if (w->depth > 0)
        w->depth--;
}

void json_obj_begin(struct json_writer *w, const char *key) { open_container(w, key, '{', false); }
void json_obj_begin_inline(struct json_writer *w, const char *key) {
    open_container(w, key, '{', true);
}
void json_obj_end(struct json_writer *w) { close_container(w, '}'); }
void json_arr_begin(struct json_writer *w, const char *key) { open_container(w, key, '[', false); }
void json_arr_begin_inline(struct json_writer *w, const char *key) {
    open_container(w, key, '[', true);
}
void json_arr_end(struct json_writer *w) { close_container(w, ']'); }

void json_str(struct json_writer *w, const char *key, const char *value) {
    begin_value(w, key);
    if (value)
        put_string(w->out, value);
    else
        fputs("null", w->out);
}

/* The shortest of %.15g and %.17g that reads back as the same double. */
static const char *shortest_double(char *buf, size_t len, double value) {
    snprintf(buf, len, "%.15g", value);
    if (strtod(buf, NULL) != value)
        snprintf(buf, len, "%.17g", value);
    return buf;
}

void json_num(struct json_writer *w, const char *key, double value) {
    char buf[32];
    begin_value(w, key);
    if (!isfinite(value))
        fputs("null", w->out);
    else if (value == floor(value) && fabs(value) < 1e15)
        fprintf(w->out, "%.0f", value);
    else
        fputs(shortest_double(buf, sizeof buf, value), w->out);
}

void json_int(struct json_writer *w, const char *key, int64_t value) {
    begin_value(w, key);
    fprintf(w->out, "%" PRId64, value);
}

void json_uint(struct json_writer *w, const char *key, uint64_t value) {
    begin_value(w, key);
    fprintf(w->out, "%" PRIu64, value);
}

void json_bool(struct json_writer *w, const char *key, bool value) {
    begin_value(w, key);
    fputs(value ? "true" : "false", w->out);
}

void json_null(struct json_writer *w, const char *key) {
    begin_value(w, key);
    fputs("null", w->out);
}

void json_writer_finish(struct json_writer *w) { fputc('\n', w->out); }

/* ---- Reader ---------------------------------------------------------------------------- */

#define JSON_MAX_NESTING 256

struct reader {
    const char *text, *p, *end;
    char *err;
    size_t errlen;
    bool has_failed;
    int nesting;
};

static void fail_at(struct reader *r, const char *fmt, ...) {
    if (r->has_failed)
        return;
    r->has_failed = true;
    if (!r->err || !r->errlen)
        return;
    int line = 1, col = 1;
    for (const char *q = r->text; q < r->p; q++, col++)
        if (*q == '\n')
            line++, col = 0;
    int n = snprintf(r->err, r->errlen, "line %d column %d: ", line, col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->errlen)
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_space(struct reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static bool parse_value(struct reader *r, struct json *v);

static bool take_literal(struct reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static bool is_digit_at(const struct reader *r) {
    return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* One or more digits; false (and an error naming `what`) when there is none. */
static bool take_digits(struct reader *r, const char *what) {
    if (!is_digit_at(r))
        return fail_at(r, "digit expected %s", what), false;
    while (is_digit_at(r))
        r->p++;
    return true;
}

/* Checks the RFC 8259 number grammar; *is_integer when there is no fraction or exponent. */
static bool scan_number(struct reader *r, bool *is_integer) {
    *is_integer = true;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (!is_digit_at(r))
        return fail_at(r, "invalid number"), false;
    if (*r->p == '0')
        r->p++;
    else
        take_digits(r, "");
    if (r->p < r->end && *r->p == '.') {
        *is_integer = false;
        r->p++;
        if (!take_digits(r, "after '.'"))
            return false;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        *is_integer = false;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (!take_digits(r, "in exponent"))
            return false;
    }
    return true;
}

/* strtod/strtoll on a NUL-terminated copy of the scanned text. */
static bool parse_number(struct reader *r, struct json *v) {
    const char *s = r->p;
    bool is_integer;
    if (!scan_number(r, &is_integer))
        return false;
    char buf[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof buf)
        n = sizeof buf - 1; /* longer digit strings lose precision only */
    memcpy(buf, s, n);
    buf[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(buf, NULL);
    if (is_integer) {
        errno = 0;
        long long x = strtoll(buf, NULL, 10);
        v->is_integer = errno == 0;
        v->integer = (int64_t)x;
    }
    return true;
}

static int hex4(const char *p) {
    int x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= c - '0';
        else if (c >= 'a' && c <= 'f')
            x |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            x |= c - 'A' + 10;
        else
            return -1;
    }
    return x;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80)
        return out[0] = (char)cp, 1;
    if (cp < 0x800)
        return out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX, with UTF-16 surrogate pairs joined. r->p points after the 'u'. */
static bool parse_unicode(struct reader *r, char *out, size_t *n) {
    int hi = r->end - r->p >= 4 ? hex4(r->p) : -1;
    if (hi < 0)
        return fail_at(r, "bad \\u escape"), false;
    r->p += 4;
    unsigned cp = (unsigned)hi;
    if (hi >= 0xd800 && hi < 0xdc00) {
        int lo = r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' ? hex4(r->p + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail_at(r, "unpaired surrogate"), false;
        r->p += 6;
        cp = 0x10000 + (((unsigned)hi - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
    }
    if (cp == 0)
        return fail_at(r, "\\u0000 is not supported"), false;
    *n += put_utf8(out + *n, cp);
    return true;
}

static bool parse_escape(struct reader *r, char *out, size_t *n) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (r->p >= r->end)
        return fail_at(r, "unterminated string"), false;
    char c = *r->p++;
    if (c == 'u')
        return parse_unicode(r, out, n);
    const char *k = strchr(from, c);
    if (!k || !c)
        return fail_at(r, "bad escape '\\%c'", c), false;
    out[(*n)++] = to[k - from];
    return true;
}

/* Decoded strings are never longer than their source text, which bounds the allocation. */
static char *parse_string(struct reader *r) {
    r->p++; /* opening quote */
    const char *close = r->p;
    while (close < r->end && *close != '"')
        close += *close == '\\' ? 2 : 1;
    if (close >= r->end)
        return fail_at(r, "unterminated string"), NULL;
    char *out = malloc((size_t)(close - r->p) + 1);
    size_t n = 0;
    while (out && r->p < close) {
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20) {
            r->p--;
            fail_at(r, "control character in string");
        } else if (c != '\\') {
            out[n++] = (char)c;
        } else if (parse_escape(r, out, &n)) {
            continue;
        }
        if (r->has_failed)
            return free(out), NULL;
    }
    if (!out)
        return fail_at(r, "out of memory"), NULL;
    out[n] = '\0';
    r->p = close + 1;
    return out;
}

static bool push_item(struct reader *r, struct json *v, size_t *cap) {
    if (v->len == *cap) {
        size_t ncap = *cap ? 2 * *cap : 4;
        struct json *items = realloc(v->items, ncap * sizeof *items);
        if (!items)
            return fail_at(r, "out of memory"), false;
        v->items = items;
        *cap = ncap;
    }
    memset(&v->items[v->len++], 0, sizeof *v->items);
    return true;
}

/* Shared by arrays and objects: values separated by ',' until `close`. */
static bool parse_container(struct reader *r, struct json *v, char close) {
    size_t cap = 0;
    v->type = close == ']' ? JSON_ARRAY : JSON_OBJECT;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close)
        return r->p++, true;
    for (;;) {
        skip_space(r);
        if (!push_item(r, v, &cap))
            return false;
        struct json *item = &v->items[v->len - 1];
        if (close == '}') {
            if (r->p >= r->end || *r->p != '"')
                return fail_at(r, "member name expected"), false;
            if (!(item->key = parse_string(r)))
                return false;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':')
                return fail_at(r, "expected ':'"), false;
            r->p++;
        }
        if (!parse_value(r, item))
            return false;
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close)
            return r->p++, true;
        return fail_at(r, "expected ',' or '%c'", close), false;
    }
}

static bool parse_value(struct reader *r, struct json *v) {
    skip_space(r);
    if (r->p >= r->end)
        return fail_at(r, "unexpected end of input"), false;
    if (++r->nesting > JSON_MAX_NESTING)
        return fail_at(r, "nested too deeply"), false;
    bool ok = true;
    char c = *r->p;
    if (c == '{' || c == '[')
        ok = parse_container(r, v, c == '{' ? '}' : ']');
    else if (c == '"')
        ok = (v->type = JSON_STRING, v->string = parse_string(r)) != NULL;
    else if (c == '-' || (c >= '0' && c <= '9'))
        ok = parse_number(r, v);
    else if (take_literal(r, "true"))
        v->type = JSON_BOOL, v->boolean = true;
    else if (take_literal(r, "false"))
        v->type = JSON_BOOL, v->boolean = false;
    else if (take_literal(r, "null"))
        v->type = JSON_NULL;
    else
        ok = (fail_at(r, "unexpected character '%c'", c), false);
    r->nesting--;
    return ok;
}

static void free_children(struct json *v) {
    for (size_t i = 0; i < v->len; i++) {
        free_children(&v->items[i]);
        free(v->items[i].key);
    }
    free(v->items);
    free(v->string);
}

void json_free(struct json *root) {
    if (!root)
        return;
    free_children(root);
    free(root->key);
    free(root);
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen) {
    struct reader r = {.text = text, .p = text, .end = text + len, .err = err, .errlen = errlen};
    struct json *root = calloc(1, sizeof *root);
    if (!root) {
        fail_at(&r, "out of memory");
        return NULL;
    }
    if (parse_value(&r, root)) {
        skip_space(&r);
        if (r.p < r.end)
            fail_at(&r, "trailing characters after the value");
    }
    if (r.has_failed) {
        json_free(root);
        return NULL;
    }
    return root;
}

struct json *json_parse_file(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 65536 > cap) {
            char *t = realloc(text, cap = 2 * cap + 65536);
            if (!t)
                break;
            text = t;
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    bool is_read_error = ferror(f) || !text;
    fclose(f);
    if (is_read_error) {
        snprintf(err, errlen, "%s: read error", path);
        free(text);
        return NULL;
    }
    char msg[200];
    struct json *root = json_parse(text, len, msg, sizeof msg);
    free(text);
    if (!root)
        snprintf(err, errlen, "%s: %s", path, msg);
    return root;
}

const struct json *json_get(const struct json *v, const char *key) {
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->len; i++)
        if (!strcmp(v->items[i].key, key))
            return &v->items[i];
    return NULL;
}

const struct json *json_path(const struct json *v, const char *dotted) {
    char name[128];
    while (v && *dotted) {
        size_t n = strcspn(dotted, ".");
        if (n >= sizeof name)
            return NULL;
        memcpy(name, dotted, n);
        name[n] = '\0';
        v = json_get(v, name);
        dotted += n + (dotted[n] == '.');
    }
    return v;
}

const struct json *json_at(const struct json *v, size_t i) {
    if (!v || v->type != JSON_ARRAY || i >= v->len)
        return NULL;
    return &v->items[i];
}

size_t json_len(const struct json *v) {
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

double json_number(const struct json *v, double fallback) {
    return v && v->type == JSON_NUMBER ? v->number : fallback;
}

int64_t json_integer(const struct json *v, int64_t fallback) {
    if (!v || v->type != JSON_NUMBER)
        return fallback;
    return v->is_integer ? v->integer : (int64_t)v->number;
}

const char *json_string(const struct json *v, const char *fallback) {
    return v && v->type == JSON_STRING ? v->string : fallback;
}

bool json_bool_value(const struct json *v, bool fallback) {
    return v && v->type == JSON_BOOL ? v->boolean : fallback;
}
