#!/usr/bin/env python3
"""Usage: concurrent.py PORT PATH N [TIMEOUT_S [READY_FILE]]
Opens N connections at once to 127.0.0.1:PORT, sends one GET PATH on each (all sent
before any response is read), reads every response, and prints
'ok=<responses with status 200> n=<N> ms=<wall time from first send to last response>'."""
import socket, sys, time, selectors

port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
ready = sys.argv[5] if len(sys.argv) > 5 else None  # file created once every request is sent
req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode()
errors = []
socks = []
for _ in range(n):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=timeout))
    except OSError as e:
        errors.append("connect: %s" % e)
sel = selectors.DefaultSelector()
start = time.time()
done, ok = n - len(socks), 0

for s in socks:
    try:
        s.sendall(req)
    except OSError as e:
        errors.append("send: %s" % e)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, bytearray())
if ready:
    open(ready, "w").close()
deadline = start + timeout
while done < n and time.time() < deadline:
    for key, _ in sel.select(timeout=0.5):
        try:
            b = key.fileobj.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except ConnectionError as e:
            errors.append("recv: %s" % e)
            b = b""
        if b:
            key.data.extend(b)
            continue
        sel.unregister(key.fileobj)
        done += 1
        if key.data.startswith(b"HTTP/1.1 200"):
            ok += 1
print("ok=%d n=%d ms=%d" % (ok, n, (time.time() - start) * 1000))
for e in errors[:5]:
    print("#", e, file=sys.stderr)
