#!/usr/bin/env python3
"""Clients for the event-loop end-to-end tests (test_event.sh) and the memory benchmark.

  evclients.py many PORT [--conns N] [--sources K] [--hold S]
      opens N keep-alive connections from 127.0.0.2 .. 127.0.0.(K+1) (so ephemeral ports do not
      run out), sends GET / on each, checks every response, then sends a second request on all
      of them at once and checks again. With --hold it prints "idle N" and keeps them open and
      idle for S seconds (for an RSS measurement). Prints "answered N/N" twice; exit 0 when all.
  evclients.py slow PORT PATH SIZE [--slow-s S] [--probes N]
      requests PATH and reads 1 KiB a second for S seconds while N other clients each do one
      GET / on a fresh connection; prints the probes' latencies, then reads the rest quickly and
      checks that exactly SIZE body bytes (all 'x') arrived. Prints "slow body ok" on success.
  evclients.py latency PORT PATH
      one GET on a fresh connection; prints the milliseconds it took.
"""
import argparse, resource, selectors, socket, sys, threading, time

HELLO = b"Hello, World!"
REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def response_complete(buf):
    """Length of the first complete response in buf with a Content-Length, or 0."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = buf[:end].lower()
    i = head.find(b"content-length:")
    if i < 0:
        return 0
    n = int(head[i + 15:].split(b"\r\n")[0])
    return end + 4 + n if len(buf) >= end + 4 + n else 0


def round_trip(socks, sel, deadline):
    """Sends REQ on every socket (already connected) and reads one response each."""
    bufs = {s: b"" for s in socks}
    ok = 0
    for s in socks:
        s.send(REQ)
        sel.register(s, selectors.EVENT_READ)
    pending = len(socks)
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                pending -= 1
                continue
            bufs[s] += data
            n = response_complete(bufs[s])
            if n:
                sel.unregister(s)
                pending -= 1
                r = bufs[s][:n]
                if r.startswith(b"HTTP/1.1 200 ") and r.endswith(HELLO):
                    ok += 1
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
    return ok


def open_many(port, n, sources, deadline, max_inflight=256):
    """Connects n sockets, at most max_inflight handshakes at a time (the backlog is 511)."""
    sel = selectors.DefaultSelector()
    done, inflight, started, failed = [], 0, 0, 0
    while (started < n or inflight) and time.time() < deadline:
        while started < n and inflight < max_inflight:
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.0.%d" % (2 + started % sources), 0))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
            inflight += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            sel.unregister(s)
            inflight -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                failed += 1
                s.close()
    return done, failed


def cmd_many(a):
    raise_nofile()
    deadline = time.time() + a.timeout
    socks, failed = open_many(a.port, a.conns, a.sources, deadline)
    print("connected %d/%d (failed %d)" % (len(socks), a.conns, failed), flush=True)
    sel = selectors.DefaultSelector()
    ok1 = round_trip(socks, sel, deadline)
    print("answered %d/%d" % (ok1, a.conns), flush=True)
    ok2 = round_trip(socks, sel, deadline)
    print("answered %d/%d" % (ok2, a.conns), flush=True)
    if a.hold:
        print("idle %d" % len(socks), flush=True)
        time.sleep(a.hold)
    for s in socks:
        s.close()
    return 0 if ok1 == ok2 == a.conns else 1


def latency_ms(port, path):
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    buf = b""
    while not response_complete(buf):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return (time.time() - t0) * 1000


def cmd_slow(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % a.path.encode())
    got = b""
    lat = []

    def probes():
        time.sleep(0.3)  # the server's socket buffer is full by now
        for _ in range(a.probes):
            lat.append(latency_ms(a.port, "/"))
            time.sleep(a.slow_s / (a.probes + 1))

    t = threading.Thread(target=probes)
    t.start()
    end = time.time() + a.slow_s
    while time.time() < end:
        got += s.recv(1024)
        time.sleep(1.0 if a.slow_s >= 2 else 0.2)
    t.join()
    print("probe ms: " + " ".join("%.1f" % x for x in lat), flush=True)
    head_end = -1
    while True:
        if head_end < 0:
            head_end = got.find(b"\r\n\r\n")
        if head_end >= 0 and len(got) - head_end - 4 >= a.size:
            break
        d = s.recv(1 << 20)
        if not d:
            break
        got += d
    body = got[head_end + 4:] if head_end >= 0 else b""
    ok = got.startswith(b"HTTP/1.1 200 ") and len(body) == a.size and body.count(b"x") == a.size
    print("slow body %s (%d of %d bytes)" % ("ok" if ok else "BAD", len(body), a.size))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("many")
    m.add_argument("port", type=int)
    m.add_argument("--conns", type=int, default=10000)
    m.add_argument("--sources", type=int, default=4)
    m.add_argument("--hold", type=float, default=0)
    m.add_argument("--timeout", type=float, default=60)
    sl = sub.add_parser("slow")
    sl.add_argument("port", type=int)
    sl.add_argument("path")
    sl.add_argument("size", type=int)
    sl.add_argument("--slow-s", type=float, default=3)
    sl.add_argument("--probes", type=int, default=20)
    la = sub.add_parser("latency")
    la.add_argument("port", type=int)
    la.add_argument("path")
    a = ap.parse_args()
    if a.cmd == "many":
        return cmd_many(a)
    if a.cmd == "slow":
        return cmd_slow(a)
    print("%.1f" % latency_ms(a.port, a.path))
    return 0


sys.exit(main())
