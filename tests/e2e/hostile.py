#!/usr/bin/env python3
"""Hostile clients for tests/e2e/test_hostile.sh. Every mode is bounded in time.

  hostile.py timeouts NAME:PORT... --header S --body S --idle S --send S --big PATH --size N
      Four probes per server, all at once: a head that never ends, a body that never ends, an
      idle keep-alive connection, and a large response never read (receive buffer 4 KiB).
      Prints 'NAME KIND ok DETAIL' or 'NAME KIND fail DETAIL' per probe. --serial NAME runs
      that server's probes one after another (for a server that serves one client at a time).
  hostile.py slowloris NAME:PORT... [--conns 500] [--interval 5] [--duration 15] [--settle 2]
      Opens --conns connections per server; each sends a request line and Host header, then
      one more header byte every --interval seconds (reconnecting when the server closes it).
      Meanwhile a normal client sends GET / on a new connection to each server every 0.25 s
      and times the whole answer. Prints per server:
      'NAME p50_ms=.. max_ms=.. probes=N failed=N open=N closed=N got408=N'.
  hostile.py hold PORT N [--request] [--seconds S] [--until FILE]
      Opens N connections (sending one keep-alive GET / on each with --request, reading for
      up to 3 s), prints 'held ok=<200s> refused=<503s> closed=<closed without an answer>
      waiting=<no answer yet>', keeps them open for S seconds (default 30) or until FILE
      exists, then closes them all."""
import argparse, os, resource, selectors, socket, statistics, sys, threading, time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HELLO = b"\r\n\r\nHello, World!"


def targets(specs):
    return [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in specs]


def read_until_closed(s, limit_s):
    """Reads until EOF, reset or limit_s; returns (bytes, how it ended, seconds)."""
    t0 = time.monotonic()
    out = b""
    while True:
        left = limit_s - (time.monotonic() - t0)
        if left <= 0:
            return out, "open", time.monotonic() - t0
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return out, "reset", time.monotonic() - t0
        if not b:
            return out, "eof", time.monotonic() - t0
        out += b


def connect(port, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def expect_408(port, data, limit_s, want_s):
    s = connect(port)
    s.sendall(data)
    out, how, secs = read_until_closed(s, limit_s)
    s.close()
    status = out.split(b"\r\n", 1)[0].decode(errors="replace")
    ok = status.endswith(" 408 Request Timeout") and how != "open" and secs >= want_s * 0.8
    return ok, "%r then %s after %.1fs" % (status, how, secs)


def probe_idle(port, limit_s, want_s):
    s = connect(port)
    s.sendall(GET)
    out = b""
    while not out.endswith(HELLO):
        b = s.recv(4096)
        if not b:
            break
        out += b
    more, how, secs = read_until_closed(s, limit_s)
    s.close()
    ok = out.endswith(HELLO) and not more and how != "open" and secs >= want_s * 0.8
    return ok, "%d bytes then %s after %.1fs" % (len(more), how, secs)


def probe_send(port, path, size, send_s):
    s = connect(port, rcvbuf=4096)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    # Read nothing: the server's writes stall. A blocking sendfile() with SO_SNDTIMEO may wait
    # the timeout once per internal chunk before it fails (about 3x here), hence the margin.
    time.sleep(send_s * 4 + 2.5)
    got, how, secs = 0, "open", 0.0
    t0 = time.monotonic()
    s.settimeout(0.5)
    while time.monotonic() - t0 < 4:
        try:
            b = s.recv(1 << 20)
        except socket.timeout:
            continue
        except OSError:
            how = "reset"
            break
        if not b:
            how = "eof"
            break
        got += len(b)
    s.close()
    ok = how != "open" and got < size
    return ok, "read %d of %d response bytes, then %s" % (got, size, how)


def cmd_timeouts(a):
    lim = max(a.header, a.body, a.idle, a.send) + 4
    probes = {
        "header": lambda p: expect_408(p, b"GET / HTTP/1.1\r\nHost: x\r\n", lim, a.header),
        "body": lambda p: expect_408(
            p, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", lim, a.body),
        "idle": lambda p: probe_idle(p, lim, a.idle),
        "send": lambda p: probe_send(p, a.big, a.size, a.send),
    }
    results, threads = [], []

    def run(name, kinds, port):
        for kind in kinds:
            try:
                ok, detail = probes[kind](port)
            except OSError as e:
                ok, detail = False, "error: %s" % e
            results.append("%s %s %s %s" % (name, kind, "ok" if ok else "fail", detail))

    # A server that handles one connection at a time (iterative) gets its probes in turn.
    for name, port in targets(a.servers):
        groups = [list(probes)] if name in a.serial else [[k] for k in probes]
        for kinds in groups:
            t = threading.Thread(target=run, args=(name, kinds, port))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    print("\n".join(sorted(results)))


class Loris:
    """One slow client: the request head, one byte at a time."""
    HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"

    def __init__(self, srv, sel):
        self.srv, self.sel = srv, sel
        self.open()

    def open(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setblocking(False)
        self.s.connect_ex(("127.0.0.1", self.srv["port"]))
        self.sent_head = False
        self.reply = b""
        self.sel.register(self.s, selectors.EVENT_READ, self)
        self.srv["open"] += 1

    def drip(self):
        try:
            self.s.send(b"X" if self.sent_head else self.HEAD)
            self.sent_head = True
        except (BlockingIOError, InterruptedError):
            pass  # still connecting: next time
        except OSError:
            self.closed()

    def readable(self):
        try:
            b = self.s.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            b = b""
        self.reply += b
        if not b:
            self.closed()

    def closed(self):
        self.srv["closed"] += 1
        self.srv["open"] -= 1
        self.srv["got408"] += b" 408 " in self.reply[:16]
        self.sel.unregister(self.s)
        self.s.close()
        if self.srv["closed"] < 50 * len(Loris.HEAD) * 100:  # not a server that is gone
            self.open()


def probe_loop(srv, start_at, end_at):
    time.sleep(max(0.0, start_at - time.monotonic()))
    while time.monotonic() < end_at:
        t0 = time.monotonic()
        try:
            s = connect(srv["port"])
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            out, _, _ = read_until_closed(s, 5)
            s.close()
            ok = out.startswith(b"HTTP/1.1 200") and out.endswith(HELLO)
        except OSError:
            ok = False
        ms = (time.monotonic() - t0) * 1000
        if ok:
            srv["ms"].append(ms)
        else:
            srv["failed"] += 1
        time.sleep(max(0.0, 0.25 - ms / 1000))


def cmd_slowloris(a):
    sel = selectors.DefaultSelector()
    srvs = [dict(name=n, port=p, open=0, closed=0, got408=0, failed=0, ms=[])
            for n, p in targets(a.servers)]
    t0 = time.monotonic()
    end = t0 + a.duration
    loris = [Loris(srv, sel) for _ in range(a.conns) for srv in srvs]
    probes = [threading.Thread(target=probe_loop, args=(srv, t0 + a.settle, end)) for srv in srvs]
    for t in probes:
        t.start()
    # The drips are spread over the interval so the servers see a steady trickle.
    step = a.interval / max(1, len(loris))
    next_drip, i = time.monotonic(), 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=min(0.05, max(0.0, next_drip - time.monotonic()))):
            key.data.readable()
        while time.monotonic() >= next_drip:
            loris[i % len(loris)].drip()
            i += 1
            next_drip += step
    for t in probes:
        t.join()
    for srv in srvs:
        ms = srv["ms"]
        print("%s p50_ms=%.1f max_ms=%.1f probes=%d failed=%d open=%d closed=%d got408=%d" % (
            srv["name"], statistics.median(ms) if ms else -1, max(ms) if ms else -1,
            len(ms) + srv["failed"], srv["failed"], srv["open"], srv["closed"], srv["got408"]))
    sys.stdout.flush()


def cmd_hold(a):
    socks, ok, refused, closed = [], 0, 0, 0
    for _ in range(a.n):
        try:
            socks.append(connect(a.port))
        except OSError:
            closed += 1
    if a.request:
        sel = selectors.DefaultSelector()
        for s in socks:
            try:
                s.sendall(GET)
            except OSError:
                pass
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, [b""])
        deadline = time.monotonic() + 3
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.1):
                try:
                    b = key.fileobj.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    b = b""
                key.data[0] += b
                out = key.data[0]
                if out.endswith(HELLO) or not b:
                    sel.unregister(key.fileobj)
                    ok += out.endswith(HELLO)
                    refused += out.startswith(b"HTTP/1.1 503")
                    closed += not out.endswith(HELLO) and not out.startswith(b"HTTP/1.1 503")
    waiting = a.n - ok - refused - closed
    print("held ok=%d refused=%d closed=%d waiting=%d" % (ok, refused, closed, waiting))
    sys.stdout.flush()
    end = time.monotonic() + a.seconds
    while time.monotonic() < end and not (a.until and os.path.exists(a.until)):
        time.sleep(0.05)
    for s in socks:
        s.close()


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="mode", required=True)
t = sub.add_parser("timeouts")
t.add_argument("servers", nargs="+")
for k in ("header", "body", "idle", "send"):
    t.add_argument("--" + k, type=float, required=True)
t.add_argument("--big", required=True)
t.add_argument("--size", type=int, required=True)
t.add_argument("--serial", action="append", default=[], help="NAME: probe one at a time")
s = sub.add_parser("slowloris")
s.add_argument("servers", nargs="+")
s.add_argument("--conns", type=int, default=500)
s.add_argument("--interval", type=float, default=5.0)
s.add_argument("--duration", type=float, default=15.0)
s.add_argument("--settle", type=float, default=2.0)
h = sub.add_parser("hold")
h.add_argument("port", type=int)
h.add_argument("n", type=int)
h.add_argument("--request", action="store_true")
h.add_argument("--seconds", type=float, default=30)
h.add_argument("--until", help="FILE: close the connections once FILE exists")
a = ap.parse_args()
{"timeouts": cmd_timeouts, "slowloris": cmd_slowloris, "hold": cmd_hold}[a.mode](a)
