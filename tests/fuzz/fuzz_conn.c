/* libFuzzer harness for the HTTP connection core (src/http/conn.c and what it calls): arbitrary
 * bytes, fed in arbitrary pieces, driven the way an architecture drives a connection. It does
 * not fuzz sockets or the architectures. Build and run: make fuzz (FUZZ_SECONDS=60).
 *
 * Input layout: byte 0 picks the limits (so 431/413/414 paths are reachable with small inputs),
 * bytes 1..3 give the piece sizes (cycled), the rest is the byte stream from the client.
 * /work waits are skipped (the clock passed in jumps to the wake-up time) and /work CPU spins
 * are stubbed out (work.c is built with work_spin_us renamed), so every input runs fast. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "http/conn.h"
#include "http/metrics.h"

/* Replaces the /work CPU spin: a fuzzer input asking for cpu_us=60000000 must not take 60 s. */
void work_spin_us(uint64_t us) {
    (void)us;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    metrics_init(true);
    return 0;
}

static void set_limits(uint8_t b) {
    static const uint32_t head[4] = {64, 512, 8192, 65536};
    static const uint32_t nheaders[4] = {1, 4, 100, 1000};
    static const uint64_t body[4] = {0, 16, 4096, 1 << 20};
    http_cfg.max_header_bytes = head[b & 3];
    http_cfg.max_headers = nheaders[(b >> 2) & 3];
    http_cfg.max_body_bytes = body[(b >> 4) & 3];
    http_draining = (b >> 6) & 1;
}

/* Takes every pending output byte as sent, the way a writer would. The first bytes a client
 * receives must be a status line (or a 100 Continue, which is one too). */
static void drain(struct conn *c, size_t *total) {
    size_t len;
    const char *p = conn_out(c, &len);
    if (p) {
        if (*total == 0 && (len < 7 || memcmp(p, "HTTP/1.", 7) != 0))
            abort();
        *total += len;
        conn_out_sent(c, len);
    }
    int fd;
    off_t off;
    if (conn_file(c, &fd, &off, &len))
        conn_file_sent(c, len);
}

/* Runs the connection until it needs input (true) or closes (false). */
static bool pump(struct conn *c, size_t *total) {
    uint64_t now = 0;
    for (int rounds = 0; rounds < 100000; rounds++) {
        enum conn_status st = conn_process(c, now);
        drain(c, total);
        if (st == CONN_CLOSE)
            return false;
        if (st == CONN_NEED_READ)
            return true;
        if (st == CONN_WAIT)
            now = c->wake_us; /* skip the wait */
        (void)conn_deadline_us(c);
    }
    abort(); /* the core must never loop without progress */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4)
        return 0;
    set_limits(data[0]);
    uint8_t splits[3] = {data[1], data[2], data[3]};
    data += 4;
    size -= 4;
    struct conn c;
    conn_init(&c);
    size_t total = 0;
    bool is_open = true;
    for (size_t i = 0, k = 0; i < size && is_open; k++) {
        size_t n = 1 + splits[k % 3] % 97u;
        if (n > size - i)
            n = size - i;
        if (conn_feed(&c, (const char *)data + i, n) < 0)
            break;
        i += n;
        is_open = pump(&c, &total);
        if (is_open && conn_is_idle(&c))
            conn_shrink(&c); /* what the event loops do between requests */
    }
    if (is_open && splits[0] & 1) {
        conn_timeout(&c); /* the deadline passed with whatever is half-read */
        drain(&c, &total);
    } else if (is_open) {
        conn_eof(&c);
    }
    conn_free(&c);
    return 0;
}
