#!/usr/bin/env python3
"""Raw HTTP client for end-to-end tests: sends stdin's bytes to 127.0.0.1:PORT exactly as
given (optionally in pieces with delays), then prints everything the server sends until it
closes or goes quiet for --idle seconds. Exit 0; connection errors print 'ERROR: ...'."""
import argparse, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--split", type=int, default=0, help="send in pieces of this many bytes")
ap.add_argument("--delay", type=float, default=0.0, help="seconds between pieces")
ap.add_argument("--idle", type=float, default=1.0, help="stop after this long without bytes")
ap.add_argument("--max", type=float, default=10.0, help="stop after this long in all")
ap.add_argument("--half-close", action="store_true", help="shutdown(SHUT_WR) after sending")
a = ap.parse_args()
data = sys.stdin.buffer.read()
try:
    s = socket.create_connection((a.host, a.port), timeout=a.max)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    step = a.split or len(data) or 1
    for i in range(0, len(data), step):
        s.sendall(data[i:i + step])
        if a.delay:
            time.sleep(a.delay)
    if a.half_close:
        s.shutdown(socket.SHUT_WR)
    s.settimeout(a.idle)
    end = time.time() + a.max
    out = b""
    while time.time() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            out += b"\nRESET\n"
            break
        if not b:
            out += b"\nEOF\n"
            break
        out += b
    sys.stdout.buffer.write(out)
except OSError as e:
    print("ERROR:", e)
