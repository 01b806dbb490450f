#!/usr/bin/env python3
"""Many keep-alive connections to 127.0.0.1:PORT, spread over several source addresses
(127.0.0.2, 127.0.0.3, ...) so ephemeral ports do not run out. Every connection sends
GET PATH, checks the response (status 200, whole body by Content-Length) and stays open for
the next round. Prints 'ok=<good responses> n=<expected> conns=<connected> ms=<wall time>'.

  manyconns.py PORT [-n 10000] [--sources 8] [--rounds 1] [--sequential] [--hold S]

--sequential answers one connection at a time (a server never sees many busy at once, which
is what an idle-memory measurement wants); --hold keeps the connections open S seconds
after the result line is printed (flushed), e.g. while a benchmark reads the server's RSS."""
import argparse, resource, selectors, socket, sys, time

IP_BIND_ADDRESS_NO_PORT = 24  # Linux: pick the port at connect() time, per 4-tuple

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("-n", type=int, default=10000, help="connections")
ap.add_argument("--sources", type=int, default=8, help="source addresses 127.0.0.2...")
ap.add_argument("--path", default="/")
ap.add_argument("--rounds", type=int, default=1, help="requests per connection")
ap.add_argument("--sequential", action="store_true")
ap.add_argument("--hold", type=float, default=0.0)
ap.add_argument("--timeout", type=float, default=30.0)
a = ap.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % a.path).encode()
deadline = time.time() + a.timeout


def connect(i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind(("127.0.0.%d" % (2 + i % a.sources), 0))
    s.settimeout(max(0.1, deadline - time.time()))
    s.connect(("127.0.0.1", a.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def complete(buf):
    """Length of the first whole response in buf and whether it is good; (0, False) if partial."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0, False
    head = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    total = end + 4 + length
    if len(buf) < total:
        return 0, False
    return total, head[0].startswith("HTTP/1.1 200")


def read_response(s):
    buf = bytearray()
    while True:
        n, good = complete(buf)
        if n:
            return good
        b = s.recv(65536)
        if not b:
            return False
        buf.extend(b)


def sequential(socks):
    ok = 0
    for s in socks:
        try:
            s.sendall(req)
            ok += read_response(s)
        except OSError:
            pass
    return ok


def concurrent(socks):
    sel = selectors.DefaultSelector()
    for s in socks:
        try:
            s.sendall(req)
        except OSError:
            continue
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    ok, pending = 0, len(sel.get_map())
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            try:
                b = key.fileobj.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                b = b""
            key.data.extend(b)
            n, good = complete(key.data)
            if n or not b:
                ok += good
                pending -= 1
                sel.unregister(key.fileobj)
                key.fileobj.setblocking(True)
    sel.close()
    return ok


start = time.time()
socks = []
for i in range(a.n):
    try:
        socks.append(connect(i))
    except OSError as e:
        print("connect %d: %s" % (i, e), file=sys.stderr)
        break
ok = 0
for _ in range(a.rounds):
    ok += sequential(socks) if a.sequential else concurrent(socks)
ms = int((time.time() - start) * 1000)
print("ok=%d n=%d conns=%d ms=%d" % (ok, a.n * a.rounds, len(socks), ms), flush=True)
if a.hold > 0:
    time.sleep(a.hold)
