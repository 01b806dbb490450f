/* One load thread: its epoll loop, connections, open- or closed-loop sending, timeouts and
 * statistics. Sockets and the clock live here; the only output is sample lines (sampling
 * mode) and raw lines (--raw). The main thread's side is engine.c. */
#include "load/loop.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "load/verdict.h"
#include "net/units.h"

volatile sig_atomic_t loop_stop;

uint64_t loop_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int64_t ns_to_us(uint64_t ns) { return (int64_t)((ns + 500) / 1000); }

/* The hot system calls, made directly: glibc wraps send, recv and epoll_pwait2 as thread
 * cancellation points, which costs two atomic updates per call in a threaded process (5% of
 * the loader's CPU in perf); these threads are never cancelled. */
static ssize_t sys_send(int fd, const void *buf, size_t len) {
    return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
}

static ssize_t sys_recv(int fd, void *buf, size_t len) {
    return syscall(SYS_recvfrom, fd, buf, len, 0, NULL, NULL);
}

static int sys_epoll_wait(int ep, struct epoll_event *evs, int max, const struct timespec *ts) {
    return (int)syscall(SYS_epoll_pwait2, ep, evs, max, ts, NULL, 0);
}

/* ---- Per-second rows: threads flush finished seconds into shared slots, the main thread
 * turns a second into a row once every thread has moved past it. ------------------------ */

static void sec_flush(struct thread *t, int64_t next_index) {
    struct sec_board *b = t->e->board;
    if (t->sec.index >= 0) {
        board_lock(b);
        struct sec_acc *slot = &b->slots[t->sec.index % SECOND_SLOTS];
        if (slot->index == -1)
            slot->index = t->sec.index;
        if (t->sec.index > b->last_sec)
            b->last_sec = t->sec.index;
        if (slot->index == t->sec.index) { /* else the main thread fell 16 s behind: drop */
            slot->sent += t->sec.sent;
            slot->completed += t->sec.completed;
            slot->errors += t->sec.errors;
            hist_merge(&slot->h, &t->sec.h);
        }
        board_unlock(b);
    }
    t->sec.sent = t->sec.completed = t->sec.errors = 0;
    hist_reset(&t->sec.h);
    t->sec.index = next_index;
    __atomic_store_n(&t->flushed_sec, next_index, __ATOMIC_RELEASE);
}

static void sec_roll(struct thread *t, uint64_t now) {
    if (now < t->sec_end_ns)
        return;
    int64_t index = (int64_t)((now - t->sec_base_ns) / NS_PER_S);
    sec_flush(t, index);
    t->sec_end_ns = t->sec_base_ns + (uint64_t)(index + 1) * NS_PER_S;
}

/* ---- Recording ------------------------------------------------------------------------- */

static void raw_line(struct thread *t, const struct req *r, uint64_t now, int status, int kind) {
    struct engine *e = t->e;
    if (!e->raw)
        return;
    if (t->raw_len > 60000) {
        pthread_mutex_lock(&e->lock);
        fwrite(t->raw_buf, 1, t->raw_len, e->raw);
        pthread_mutex_unlock(&e->lock);
        t->raw_len = 0;
    }
    int64_t sent = r->sent_ns ? ns_to_us(r->sent_ns - e->t0_ns) : -1;
    t->raw_len += (size_t)snprintf(t->raw_buf + t->raw_len, 512, "%u,%lld,%lld,%lld,%d,%s\n",
                                   t->index, (long long)ns_to_us(r->intended_ns - e->t0_ns),
                                   (long long)sent, (long long)ns_to_us(now - e->t0_ns), status,
                                   kind < 0 ? "" : load_err_names[kind]);
}

static void print_sample(struct thread *t, struct conn *c, const struct req *r, uint64_t now,
                         int status, int kind) {
    char a[32], b[32], d[32];
    FILE *out = t->o->is_stdout_taken ? stderr : stdout;
    t->samples++;
    if (kind >= 0 && kind != LOAD_ERR_HTTP_4XX && kind != LOAD_ERR_HTTP_5XX) {
        fprintf(out, "%6llu  error: %s after %s\n", (unsigned long long)t->samples,
                load_err_names[kind],
                units_fmt_duration(a, sizeof a, (double)ns_to_us(now - r->intended_ns)));
    } else {
        const char *conn = "reused";
        if (c->connect_us >= 0)
            conn = units_fmt_duration(a, sizeof a, (double)c->connect_us);
        c->connect_us = -1;
        fprintf(out, "%6llu  status %d  connect %-8s  ttfb %-8s  total %-8s  body %llu B\n",
               (unsigned long long)t->samples, status, conn,
               units_fmt_duration(b, sizeof b, (double)ns_to_us(c->first_byte_ns - r->sent_ns)),
               units_fmt_duration(d, sizeof d, (double)ns_to_us(now - r->intended_ns)),
               (unsigned long long)c->rp.body_bytes);
    }
    fflush(out);
}

/* The verdict's sequences (thread 0 only, measured requests only, bounded). */
static void keep_latency(struct thread *t, int64_t us) {
    if (t->lats && t->lat_count < VERDICT_LAG1_MAX)
        t->lats[t->lat_count++] = (double)us;
}

static void count_error(struct thread *t, int kind) {
    t->st.errors[kind]++;
    __atomic_store_n(&t->prog_err, t->prog_err + 1, __ATOMIC_RELAXED);
}

static void record_response(struct thread *t, struct conn *c, const struct req *r, uint64_t now) {
    int status = c->rp.status;
    int kind = status >= 500 ? LOAD_ERR_HTTP_5XX : status >= 400 ? LOAD_ERR_HTTP_4XX : -1;
    if (t->o->interval_us)
        print_sample(t, c, r, now, status, kind);
    raw_line(t, r, now, status, kind);
    int64_t latency = ns_to_us(now - r->intended_ns);
    if (r->intended_ns >= t->sec_base_ns) { /* per-second rows show the ramp too */
        t->sec.completed++;
        t->sec.errors += kind >= 0;
        hist_record(&t->sec.h, latency);
    }
    if (!r->is_measured)
        return;
    struct load_stats *st = &t->st;
    st->requests++;
    st->responses++;
    hist_record(&st->latency, latency);
    keep_latency(t, latency);
    hist_record(&st->service, ns_to_us(now - r->sent_ns));
    hist_record(&st->queue, ns_to_us(r->sent_ns - r->intended_ns));
    if (c->first_byte_ns >= r->sent_ns)
        hist_record(&st->ttfb, ns_to_us(c->first_byte_ns - r->sent_ns));
    __atomic_store_n(&t->prog_done, t->prog_done + 1, __ATOMIC_RELAXED);
    if (kind >= 0)
        count_error(t, kind);
    else
        st->ok++;
}

/* A request that got no complete answer. Timeouts and requests never sent keep their latency
 * (at least the timeout), so the tail is not cut off; other failures have none to record. */
static void record_failure(struct thread *t, struct conn *c, const struct req *r, int kind,
                           uint64_t now) {
    if (t->o->interval_us)
        print_sample(t, c, r, now, 0, kind);
    raw_line(t, r, now, 0, kind);
    bool is_shown = r->intended_ns >= t->sec_base_ns;
    uint64_t waited = now - r->intended_ns;
    if (kind == LOAD_ERR_TIMEOUT && waited < t->timeout_ns)
        waited = t->timeout_ns;
    bool has_latency = kind == LOAD_ERR_TIMEOUT || kind == LOAD_ERR_UNSENT;
    if (is_shown) {
        t->sec.errors++;
        if (has_latency)
            hist_record(&t->sec.h, ns_to_us(waited));
    }
    if (!r->is_measured)
        return;
    t->st.requests++;
    count_error(t, kind);
    if (has_latency) {
        hist_record(&t->st.latency, ns_to_us(waited));
        keep_latency(t, ns_to_us(waited));
    }
}

/* `sent` (for the achieved rate) counts the measured requests (intended inside the window)
 * that were written, late or not: a backlog left over from the warm-up cannot inflate it, and a
 * send a little late at the end of the window still counts (lateness is the send lag's job). */
static void mark_sent(struct thread *t, struct req *r, uint64_t now) {
    r->sent_ns = now;
    if (now >= t->sec_base_ns)
        t->sec.sent++;
    if (r->is_measured)
        t->st.sent++;
    if (t->gaps && r->is_measured) {
        if (t->last_send_ns && t->gap_count < VERDICT_AD_MAX_GAPS)
            t->gaps[t->gap_count++] = (double)(now - t->last_send_ns) / 1000.0;
        t->last_send_ns = now;
    }
}

/* ---- Connections ----------------------------------------------------------------------- */

static void set_out(struct conn *c, bool wants_out) {
    if (c->wants_out == wants_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (wants_out ? EPOLLOUT : 0),
                             .data.u64 = (uint64_t)c->gen << 32 | c->id};
    epoll_ctl(c->t->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->wants_out = wants_out;
}

static void heap_swap(struct thread *t, uint32_t a, uint32_t b) {
    struct conn *x = t->heap[a];
    t->heap[a] = t->heap[b];
    t->heap[b] = x;
    t->heap[a]->heap_index = (int)a;
    t->heap[b]->heap_index = (int)b;
}

static void heap_push(struct thread *t, struct conn *c, uint64_t wake_ns) {
    if (c->heap_index >= 0)
        return;
    c->wake_ns = wake_ns;
    uint32_t i = t->heap_len++;
    t->heap[i] = c;
    c->heap_index = (int)i;
    while (i > 0 && t->heap[(i - 1) / 2]->wake_ns > t->heap[i]->wake_ns) {
        heap_swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct conn *heap_pop(struct thread *t) {
    struct conn *top = t->heap[0];
    heap_swap(t, 0, --t->heap_len);
    top->heap_index = -1;
    for (uint32_t i = 0;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->heap_len && t->heap[l]->wake_ns < t->heap[m]->wake_ns)
            m = l;
        if (r < t->heap_len && t->heap[r]->wake_ns < t->heap[m]->wake_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(t, i, m);
        i = m;
    }
    return top;
}

static void conn_close(struct thread *t, struct conn *c) {
    if (c->state == CONN_CLOSED)
        return;
    close(c->fd);
    c->fd = -1;
    c->state = CONN_CLOSED;
    t->inflight -= c->inflight;
    c->inflight = c->unwritten = c->head = 0;
    c->woff = 0;
    c->first_byte_ns = 0;
    c->wants_out = false;
    t->open_count--;
    if (t->o->rate_per_s > 0) { /* the closed loop reopens its own slots */
        c->next_free = t->free;
        t->free = c;
    }
}

/* Binds to 127.0.0.x before connecting, so that each source address brings its own ephemeral
 * ports; IP_BIND_ADDRESS_NO_PORT leaves the port choice to connect() (Linux 4.2). */
static int bind_source(struct thread *t, struct conn *c) {
    struct engine *e = t->e;
    if (!t->o->is_loopback || e->src_addrs <= 1 || t->o->addr.ss_family != AF_INET)
        return 0;
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    uint32_t k = (c->id * e->o->threads + t->index) % e->src_addrs;
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(0x7f000001u + k)};
    return bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0 ? -errno : 0;
}

/* Starts a non-blocking connect. Returns 0 or -errno (the slot stays closed). */
static int conn_open(struct thread *t, struct conn *c, uint64_t now) {
    const struct load_opts *o = t->o;
    int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    c->fd = fd;
    int one = 1, rc = bind_source(t, c);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rc == 0 && connect(fd, (const struct sockaddr *)&o->addr, o->addr_len) < 0 &&
        errno != EINPROGRESS)
        rc = -errno;
    c->gen++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)c->gen << 32 | c->id};
    if (rc == 0 && epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        c->fd = -1;
        t->st.has_port_exhaustion |= rc == -EADDRNOTAVAIL;
        return rc;
    }
    c->state = CONN_CONNECTING;
    c->wants_out = true;
    c->connect_start_ns = now;
    respparse_init(&c->rp, o->is_head);
    if (++t->open_count > t->peak_open)
        t->peak_open = t->open_count;
    return 0;
}

static void conn_fail(struct thread *t, struct conn *c, int kind, uint64_t now);

static int write_error_kind(int err) {
    return err == ECONNRESET ? LOAD_ERR_RESET : LOAD_ERR_WRITE;
}

/* Writes what is pending; partial writes resume on EPOLLOUT. Returns false when the
 * connection failed. */
static bool conn_flush(struct thread *t, struct conn *c, uint64_t now) {
    size_t len = t->e->req_bytes;
    while (c->unwritten) {
        ssize_t n = sys_send(c->fd, t->e->reqbuf + c->woff, c->unwritten * len - c->woff);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                set_out(c, true);
                return true;
            }
            conn_fail(t, c, write_error_kind(errno), now);
            return false;
        }
        c->woff += (size_t)n;
        while (c->unwritten && c->woff >= len) {
            c->woff -= len;
            c->unwritten--;
        }
    }
    set_out(c, false);
    return true;
}

/* Hands one request to c; written at once when c is open, on connect otherwise. */
static bool conn_assign(struct thread *t, struct conn *c, uint64_t intended_ns, uint64_t now) {
    struct req *r = &c->ring[(c->head + c->inflight) % t->o->pipeline];
    r->intended_ns = intended_ns;
    r->sent_ns = 0;
    r->is_measured = intended_ns >= t->measure_ns;
    if (r->is_measured && t->budget != UINT64_MAX)
        t->budget--;
    c->inflight++;
    c->unwritten++;
    t->inflight++;
    if (c->state != CONN_OPEN)
        return true;
    mark_sent(t, r, now);
    return conn_flush(t, c, now);
}

/* ---- Closed loop ----------------------------------------------------------------------- */

static bool can_issue(const struct thread *t) { return t->is_sending && t->budget > 0; }

static void closed_issue(struct thread *t, struct conn *c, uint64_t now);

static void closed_retry_later(struct thread *t, struct conn *c, uint64_t now) {
    if (can_issue(t))
        heap_push(t, c, now + CONNECT_BACKOFF_NS);
}

/* A failed connect costs a request in closed loop, so that -n runs end against a dead port. */
static void closed_connect_failed(struct thread *t, struct conn *c, uint64_t now) {
    struct req r = {.intended_ns = now, .is_measured = now >= t->measure_ns};
    if (r.is_measured && t->budget == 0)
        return; /* other connections already used up -n */
    if (r.is_measured && t->budget != UINT64_MAX)
        t->budget--;
    record_failure(t, c, &r, LOAD_ERR_CONNECT, now);
    closed_retry_later(t, c, now);
}

/* Next request(s) on c: fill the pipeline, opening the connection first when needed. */
static void closed_issue(struct thread *t, struct conn *c, uint64_t now) {
    if (!can_issue(t))
        return;
    if (c->state == CONN_CLOSED) {
        if (conn_open(t, c, now) < 0)
            return closed_connect_failed(t, c, now);
        if (t->o->is_keepalive)
            return; /* the first request goes out once connected */
    }
    while (c->inflight < t->o->pipeline && can_issue(t) && c->state != CONN_CLOSED)
        if (!conn_assign(t, c, now, now) || !t->o->is_keepalive)
            break;
}

static void closed_after_response(struct thread *t, struct conn *c, uint64_t now) {
    if (t->o->think_us && c->inflight == 0)
        heap_push(t, c, now + t->o->think_us * 1000);
    else
        closed_issue(t, c, now);
}

/* ---- Open loop ------------------------------------------------------------------------- */

/* --ramp: the schedule runs in its own time s at the full rate; real time t stretches its
 * start so that the rate rises linearly from 0 to the full rate over the ramp T. Arrivals by
 * t are R t^2 / 2T during the ramp, so s = t^2 / 2T, t = sqrt(2 T s) for s < T / 2; after it,
 * t = s + T / 2. A Poisson schedule stays Poisson (with a rising rate). */
static uint64_t ramp_warp_ns(uint64_t s, uint64_t ramp_ns) {
    if (!ramp_ns)
        return s;
    if (s >= ramp_ns / 2)
        return s + ramp_ns / 2;
    return (uint64_t)sqrt(2.0 * (double)ramp_ns * (double)s);
}

/* Arrivals up to the end of the sending window stay owed even after it closes: the ones that
 * could not be sent in time are sent late (or counted unsent), never dropped. */
static uint64_t next_arrival(struct thread *t) {
    if (t->budget == 0 || loop_stopping())
        return UINT64_MAX;
    uint64_t at = t->e->t0_ns + ramp_warp_ns(sched_next_ns(&t->sched), t->o->ramp_us * 1000);
    return at < t->send_end_ns ? at : UINT64_MAX;
}

static void idle_push(struct thread *t, struct conn *c) {
    if (c->is_listed || c->state == CONN_CLOSED || c->inflight >= t->o->pipeline ||
        !t->o->is_keepalive)
        return;
    c->is_listed = true;
    c->next_idle = t->idle;
    t->idle = c;
}

static struct conn *idle_pop(struct thread *t) {
    while (t->idle) {
        struct conn *c = t->idle;
        t->idle = c->next_idle;
        c->is_listed = false;
        if (c->state != CONN_CLOSED && c->inflight < t->o->pipeline)
            return c;
    }
    return NULL;
}

/* A closed slot, connecting. NULL with *rc 0 when every slot is in use. */
static struct conn *open_spare(struct thread *t, uint64_t now, int *rc) {
    *rc = 0;
    struct conn *c = t->free;
    if (!c)
        return NULL;
    t->free = c->next_free;
    *rc = conn_open(t, c, now);
    if (*rc == 0)
        return c;
    c->next_free = t->free;
    t->free = c;
    return NULL;
}

/* Sends every request whose intended time has come, to an idle connection or a new one; the
 * rest wait, in order, and their wait is part of their latency. */
static void open_dispatch(struct thread *t, uint64_t now) {
    while (t->next_intended_ns <= now) {
        uint64_t due = t->next_intended_ns;
        if (!t->is_due_noticed) {
            /* The generator's own lateness: from when it could have sent (due, or when the
             * last request that waited for a connection left the queue) to when it noticed.
             * Waiting for a connection is queueing, not lateness; a busy generator is late. */
            uint64_t could = due > t->queue_clear_ns ? due : t->queue_clear_ns;
            if (due >= t->measure_ns)
                hist_record(&t->st.send_lag, ns_to_us(now > could ? now - could : 0));
            t->is_due_noticed = true;
        }
        int rc = 0;
        struct conn *c = idle_pop(t);
        if (!c)
            c = open_spare(t, now, &rc);
        if (!c && rc == 0) {
            if (!t->is_due_blocked && due >= t->measure_ns)
                t->st.waited++;
            t->is_due_blocked = true;
            return;
        }
        if (t->is_due_blocked)
            t->queue_clear_ns = now;
        t->is_due_noticed = t->is_due_blocked = false;
        if (!c) {
            struct req r = {.intended_ns = due, .is_measured = due >= t->measure_ns};
            if (r.is_measured && t->budget != UINT64_MAX)
                t->budget--;
            record_failure(t, NULL, &r, LOAD_ERR_CONNECT, now);
        } else if (conn_assign(t, c, due, now)) {
            idle_push(t, c);
        }
        t->next_intended_ns = next_arrival(t);
    }
}

/* ---- Events ---------------------------------------------------------------------------- */

static void after_close(struct thread *t, struct conn *c, uint64_t now, bool is_connect_error) {
    if (t->o->rate_per_s > 0)
        return; /* open loop: the next due request opens what it needs */
    if (is_connect_error)
        closed_retry_later(t, c, now);
    else
        closed_issue(t, c, now);
}

static void conn_fail(struct thread *t, struct conn *c, int kind, uint64_t now) {
    uint32_t n = c->inflight;
    for (uint32_t i = 0; i < n; i++) {
        struct req *r = &c->ring[(c->head + i) % t->o->pipeline];
        record_failure(t, c, r, kind, now);
    }
    if (n == 0 && kind == LOAD_ERR_CONNECT && t->o->rate_per_s == 0) {
        conn_close(t, c);
        return closed_connect_failed(t, c, now);
    }
    conn_close(t, c);
    after_close(t, c, now, kind == LOAD_ERR_CONNECT);
}

static void on_connected(struct thread *t, struct conn *c, uint64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        t->st.has_port_exhaustion |= err == EADDRNOTAVAIL;
        return conn_fail(t, c, LOAD_ERR_CONNECT, now);
    }
    c->state = CONN_OPEN;
    c->connect_us = ns_to_us(now - c->connect_start_ns);
    if (now >= t->measure_ns) {
        hist_record(&t->st.connect, c->connect_us);
        t->st.connects++;
    }
    for (uint32_t i = 0; i < c->unwritten; i++)
        mark_sent(t, &c->ring[(c->head + c->inflight - c->unwritten + i) % t->o->pipeline], now);
    if (!conn_flush(t, c, now))
        return;
    if (t->o->rate_per_s > 0)
        idle_push(t, c);
    else
        closed_issue(t, c, now);
}

/* One complete response for the oldest request. Returns false when c was closed. */
static bool on_response(struct thread *t, struct conn *c, uint64_t now) {
    bool is_early = c->inflight == c->unwritten; /* no request fully written yet */
    if (is_early && (c->inflight == 0 || c->woff == 0)) { /* an answer to nothing we sent */
        conn_fail(t, c, LOAD_ERR_PARSE, now);
        return false;
    }
    if (is_early) { /* an early answer (413, 400) to the request being written: it is its */
        c->unwritten--;
        c->woff = 0;
    }
    struct req *r = &c->ring[c->head];
    c->head = (c->head + 1) % t->o->pipeline;
    c->inflight--;
    t->inflight--;
    record_response(t, c, r, now);
    if (!c->rp.is_keepalive || !t->o->is_keepalive || is_early) {
        if (c->inflight)
            conn_fail(t, c, LOAD_ERR_CLOSED, now);
        else {
            conn_close(t, c);
            if (t->o->rate_per_s == 0)
                closed_after_response(t, c, now); /* the think time applies here too */
        }
        return false;
    }
    if (t->o->rate_per_s > 0)
        idle_push(t, c);
    else
        closed_after_response(t, c, now);
    return true;
}

static bool parse_input(struct thread *t, struct conn *c, const char *buf, size_t n, uint64_t now) {
    if (!c->first_byte_ns)
        c->first_byte_ns = now;
    size_t off = 0;
    while (off < n) {
        long k = respparse_feed(&c->rp, buf + off, n - off);
        if (k == RESPPARSE_BAD) {
            conn_fail(t, c, LOAD_ERR_PARSE, now);
            return false;
        }
        off += (size_t)k;
        if (!c->rp.is_done)
            continue;
        if (!on_response(t, c, now))
            return false;
        c->first_byte_ns = off < n ? now : 0;
    }
    return true;
}

static void on_eof(struct thread *t, struct conn *c, uint64_t now) {
    int rc = respparse_eof(&c->rp);
    if (rc == 1 && !on_response(t, c, now))
        return;
    if (c->state == CONN_CLOSED)
        return;
    if (c->inflight || rc < 0)
        return conn_fail(t, c, c->inflight ? LOAD_ERR_CLOSED : LOAD_ERR_PARSE, now);
    conn_close(t, c); /* the server ended an idle keep-alive connection */
    after_close(t, c, now, false);
}

/* Reads until the queue is empty: a short read says so, unless the peer has closed (is_hup),
 * when the end of the stream still waits behind the bytes and comes with no further edge. */
static void on_readable(struct thread *t, struct conn *c, bool is_hup) {
    for (;;) {
        ssize_t n = sys_recv(c->fd, t->rbuf, READ_BUF_BYTES);
        uint64_t now = loop_now_ns();
        if (n > 0) {
            t->st.bytes_read += (uint64_t)n;
            if (!parse_input(t, c, t->rbuf, (size_t)n, now) || c->state != CONN_OPEN ||
                (n < READ_BUF_BYTES && !is_hup))
                return;
        } else if (n == 0) {
            return on_eof(t, c, now);
        } else if (errno == EAGAIN) {
            return;
        } else if (errno != EINTR) {
            return conn_fail(t, c, errno == ECONNRESET ? LOAD_ERR_RESET : LOAD_ERR_READ, now);
        }
    }
}

/* Sockets are edge-triggered: an event is reported once, so each is handled in full (reads
 * go on until a short read or EAGAIN, or until the end of the stream after a hang-up).
 * Level-triggered, epoll would keep every reported socket on its ready list and poll it again
 * at the next wait only to drop it. */
static void on_event(struct thread *t, struct conn *c, uint32_t events) {
    if (c->state == CONN_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        on_connected(t, c, loop_now_ns());
        if (c->state != CONN_OPEN || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
            return; /* bytes that came with the connect are this edge's too */
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        on_readable(t, c, (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0);
    if (c->state == CONN_OPEN && (events & EPOLLOUT) && c->unwritten)
        conn_flush(t, c, loop_now_ns());
}

/* ---- Timers ---------------------------------------------------------------------------- */

static void sweep_timeouts(struct thread *t, uint64_t now) {
    for (uint32_t i = 0; i < t->conn_count; i++) {
        struct conn *c = &t->conns[i];
        if (c->state == CONN_CONNECTING && now - c->connect_start_ns >= t->timeout_ns)
            conn_fail(t, c, LOAD_ERR_CONNECT, now);
        else if (c->state == CONN_OPEN && c->inflight && c->ring[c->head].sent_ns &&
                 now - c->ring[c->head].sent_ns >= t->timeout_ns)
            conn_fail(t, c, LOAD_ERR_TIMEOUT, now);
    }
}

static void fire_wakeups(struct thread *t, uint64_t now) {
    while (t->heap_len && t->heap[0]->wake_ns <= now)
        closed_issue(t, heap_pop(t), now);
}

static void stop_sending(struct thread *t, uint64_t now) {
    t->is_sending = false;
    t->stop_ns = now;
    t->heap_len = 0;
    for (uint32_t i = 0; i < t->conn_count; i++)
        t->conns[i].heap_index = -1;
    uint64_t end = loop_stopping() ? now : now + t->timeout_ns;
    t->hard_end_ns = end < t->hard_end_ns ? end : t->hard_end_ns;
}

static bool has_work(const struct thread *t) {
    return t->next_intended_ns != UINT64_MAX || t->inflight > 0;
}

/* The run is over: whatever is still in flight timed out, whatever is still waiting for a
 * connection was never sent. */
static void finish(struct thread *t, uint64_t now) {
    for (uint32_t i = 0; i < t->conn_count; i++) {
        struct conn *c = &t->conns[i];
        if (c->inflight && !loop_stopping())
            conn_fail(t, c, LOAD_ERR_TIMEOUT, now);
        conn_close(t, c);
    }
    while (t->next_intended_ns != UINT64_MAX && !loop_stopping()) {
        struct req r = {.intended_ns = t->next_intended_ns};
        r.is_measured = r.intended_ns >= t->measure_ns;
        if (r.is_measured && t->budget != UINT64_MAX)
            t->budget--;
        record_failure(t, NULL, &r, LOAD_ERR_UNSENT, now);
        t->next_intended_ns = next_arrival(t);
    }
    t->finish_ns = now;
}

static uint64_t next_wake(const struct thread *t, uint64_t now) {
    uint64_t w = now + MAX_SLEEP_NS;
    /* A due request blocked on connections waits for an event, not for the clock. */
    uint64_t cands[] = {t->is_due_blocked ? UINT64_MAX : t->next_intended_ns,
                        t->heap_len ? t->heap[0]->wake_ns : UINT64_MAX, t->next_sweep_ns,
                        t->sec_end_ns, t->is_sending ? t->send_end_ns : t->hard_end_ns};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        w = cands[i] < w ? cands[i] : w;
    return w;
}

static void poll_once(struct thread *t, uint64_t now) {
    struct epoll_event evs[MAX_EVENTS];
    uint64_t wake = next_wake(t, now);
    uint64_t wait = wake > now ? wake - now : 0;
    /* Timer wake-ups can be tens of microseconds late (milliseconds on a busy VM): when the
     * next send is close, poll without sleeping instead. */
    uint64_t spin_ns = t->o->spin_us * 1000;
    if (t->next_intended_ns <= wake && !t->is_due_blocked && spin_ns)
        wait = wait <= spin_ns ? 0 : wait - spin_ns;
    int n = 0;
    if (wait && t->was_busy) {
        /* Answers come in trains: poll a little before sleeping, since a sleep and wake-up
         * costs more CPU than this (and stamps the answer later). */
        struct timespec zero = {0, 0};
        uint64_t until = now + (wait < BUSY_POLL_NS ? wait : BUSY_POLL_NS);
        while ((n = sys_epoll_wait(t->ep, evs, MAX_EVENTS, &zero)) == 0 &&
               loop_now_ns() < until)
            ;
        wait = n ? 0 : wait - (until - now);
    }
    if (n == 0) {
        struct timespec ts = {.tv_sec = (time_t)(wait / NS_PER_S),
                              .tv_nsec = (long)(wait % NS_PER_S)};
        n = sys_epoll_wait(t->ep, evs, MAX_EVENTS, &ts);
    }
    t->was_busy = n > 0;
    for (int i = 0; i < n; i++) {
        struct conn *c = &t->conns[(uint32_t)evs[i].data.u64];
        if (c->gen == (uint32_t)(evs[i].data.u64 >> 32) && c->state != CONN_CLOSED)
            on_event(t, c, evs[i].events);
    }
}

static void loop(struct thread *t) {
    for (;;) {
        uint64_t now = loop_now_ns();
        if (t->is_sending && (now >= t->send_end_ns || loop_stopping() || t->budget == 0 ||
                              (t->o->rate_per_s > 0 && t->next_intended_ns == UINT64_MAX)))
            stop_sending(t, now);
        else if (loop_stopping() && t->hard_end_ns > now)
            t->hard_end_ns = now; /* interrupted while draining */
        if (t->o->rate_per_s > 0)
            open_dispatch(t, now);
        else
            fire_wakeups(t, now);
        if (now >= t->next_sweep_ns) {
            sweep_timeouts(t, now);
            t->next_sweep_ns = now + t->sweep_ns;
        }
        sec_roll(t, now);
        if (!t->is_sending && (now >= t->hard_end_ns || !has_work(t)))
            return finish(t, now);
        poll_once(t, now);
    }
}

/* ---- Threads --------------------------------------------------------------------------- */

int loop_alloc(struct thread *t, uint32_t conns) {
    const struct load_opts *o = t->o;
    t->conn_count = conns;
    t->conns = calloc(conns, sizeof *t->conns);
    t->rings = calloc((size_t)conns * o->pipeline, sizeof *t->rings);
    t->heap = calloc(conns ? conns : 1, sizeof *t->heap);
    t->rbuf = malloc(READ_BUF_BYTES);
    t->raw_buf = o->raw_path ? malloc(65536) : NULL;
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!t->conns || !t->rings || !t->heap || !t->rbuf || (o->raw_path && !t->raw_buf) || t->ep < 0)
        return -ENOMEM;
    if (hist_init(&t->sec.h, 1, HIST_DEFAULT_HIGHEST, LOAD_SECOND_SIGFIGS) < 0)
        return -ENOMEM;
    for (uint32_t i = conns; i-- > 0;) {
        struct conn *c = &t->conns[i];
        c->t = t;
        c->fd = -1;
        c->id = i;
        c->heap_index = -1;
        c->connect_us = -1;
        c->ring = &t->rings[(size_t)i * o->pipeline];
        c->next_free = t->free;
        t->free = c;
    }
    return 0;
}

void loop_free(struct thread *t) {
    free(t->conns);
    free(t->rings);
    free(t->heap);
    free(t->rbuf);
    free(t->raw_buf);
    if (t->ep >= 0)
        close(t->ep);
    hist_free(&t->sec.h);
}

/* Deadlines relative to the common start t0 (set by the main thread between the barriers). */
static void thread_start(struct thread *t) {
    const struct load_opts *o = t->o;
    uint64_t t0 = t->e->t0_ns;
    t->measure_ns = t0 + (o->ramp_us + o->warmup_us) * 1000;
    t->sec_base_ns = o->ramp_us ? t0 : t->measure_ns;
    t->send_end_ns = o->duration_us ? t->measure_ns + o->duration_us * 1000 : UINT64_MAX;
    t->hard_end_ns = UINT64_MAX;
    t->timeout_ns = o->timeout_us * 1000;
    t->sweep_ns = t->timeout_ns / 20;
    if (t->sweep_ns < 1000000) /* timeouts are noticed within 1/20 of them, 1-100 ms */
        t->sweep_ns = 1000000;
    if (t->sweep_ns > 100000000)
        t->sweep_ns = 100000000;
    t->next_sweep_ns = t0 + t->sweep_ns;
    t->sec.index = -1;
    t->sec_end_ns = t->sec_base_ns;
    t->is_sending = true;
    t->next_intended_ns = UINT64_MAX;
    if (o->rate_per_s > 0) {
        t->next_intended_ns = next_arrival(t);
        return;
    }
    /* --ramp, closed loop: connections join one by one, evenly over the ramp (threads
     * interleaved), so the number of active connections rises linearly. */
    uint64_t ramp_ns = o->ramp_us * 1000;
    for (uint32_t i = 0; i < t->conn_count; i++) {
        uint64_t k = (uint64_t)i * o->threads + t->index;
        uint64_t at = ramp_ns ? (uint64_t)((double)ramp_ns * (double)k / (double)o->connections)
                              : 0;
        if (at)
            heap_push(t, &t->conns[i], t0 + at);
        else
            closed_issue(t, &t->conns[i], t0);
    }
}

void *loop_thread_main(void *arg) {
    struct thread *t = arg;
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake on time: default slack is 50 us */
    pthread_barrier_wait(&t->e->ready);
    pthread_barrier_wait(&t->e->go);
    /* Until the common start (--start-at may be far): in steps, so ^C is noticed. */
    for (uint64_t now = loop_now_ns(); now < t->e->t0_ns && !loop_stopping(); now = loop_now_ns()) {
        uint64_t until = t->e->t0_ns - now > MAX_SLEEP_NS ? now + MAX_SLEEP_NS : t->e->t0_ns;
        struct timespec at = {.tv_sec = (time_t)(until / NS_PER_S),
                              .tv_nsec = (long)(until % NS_PER_S)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    }
    thread_start(t);
    loop(t);
    sec_flush(t, INT64_MAX);
    if (t->raw_len) {
        pthread_mutex_lock(&t->e->lock);
        fwrite(t->raw_buf, 1, t->raw_len, t->e->raw);
        pthread_mutex_unlock(&t->e->lock);
    }
    t->st.max_conns = t->peak_open;
    __atomic_store_n(&t->is_finished, 1, __ATOMIC_RELEASE);
    return NULL;
}
