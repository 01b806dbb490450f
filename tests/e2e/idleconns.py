#!/usr/bin/env python3
"""Holds many idle keep-alive connections, then uses them all again.

usage: idleconns.py PORT N [--sources K] [--first-source A] [--go-file F] [--timeout S]

Opens N connections to 127.0.0.1:PORT from K source addresses (127.0.0.A .. 127.0.0.A+K-1,
A defaulting to 1, so the ephemeral ports of one address do not run out; several clients at
once take distinct ranges with distinct A), sends one GET / on each and reads the answer
(one connection at a time: the server holds at most one request buffer), prints
'ready n=N ok=OK', then waits until the file F exists (the caller measures memory meanwhile;
without --go-file it goes on at once). Then it sends GET / on every connection at once, reads
every answer and prints 'again ok=OK ms=MS'. OK counts 200 responses with the 13-byte body.
(manyconns.py answers and then holds; this one holds idle, then has every connection answered
again, which is the green target: idle connections cost little and still work.)"""
import argparse, os, resource, selectors, socket, sys, time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("n", type=int)
p.add_argument("--sources", type=int, default=4)
p.add_argument("--first-source", type=int, default=1)
p.add_argument("--go-file")
p.add_argument("--timeout", type=float, default=60.0)
a = p.parse_args()
if a.sources < 1 or a.first_source < 1 or a.first_source + a.sources - 1 > 254:
    p.error("source addresses must lie within 127.0.0.1 .. 127.0.0.254")

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BODY = b"\r\n\r\nHello, World!"


def connect(i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.%d" % (a.first_source + i % a.sources), 0))
    s.settimeout(a.timeout)
    s.connect(("127.0.0.1", a.port))
    return s


def answered(buf):
    return buf.startswith(b"HTTP/1.1 200") and buf.endswith(BODY)


def first_round(socks):
    ok = 0
    for s in socks:
        s.sendall(REQ)
        buf = b""
        while not buf.endswith(BODY):
            b = s.recv(4096)
            if not b:
                break
            buf += b
        ok += answered(buf)
    return ok


def second_round(socks):
    sel = selectors.DefaultSelector()
    start = time.time()
    for s in socks:
        s.sendall(REQ)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    ok, left, deadline = 0, len(socks), start + a.timeout
    while left and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            try:
                b = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except ConnectionError:
                b = b""
            key.data.extend(b)
            if not b or key.data.endswith(BODY):
                ok += bool(b) and answered(bytes(key.data))
                left -= 1
                sel.unregister(key.fileobj)
    return ok, int((time.time() - start) * 1000)


socks = []
try:
    for i in range(a.n):
        socks.append(connect(i))
except OSError as e:
    print("connect failed after %d: %s" % (len(socks), e), file=sys.stderr)
ok = first_round(socks)
print("ready n=%d ok=%d" % (len(socks), ok), flush=True)
if a.go_file:
    end = time.time() + a.timeout
    while not os.path.exists(a.go_file) and time.time() < end:
        time.sleep(0.05)
ok, ms = second_round(socks)
print("again ok=%d ms=%d" % (ok, ms), flush=True)
