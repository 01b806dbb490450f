#!/usr/bin/env bash
# Installs the Debian packages srvlab needs to build, test and benchmark.
# As root: apt-get update (once) and apt-get install -y of what is missing.
# Otherwise: prints the apt-get line to run and exits 1.
# With --bench (make bench) also the peers the benchmarks compare against: the fast servers
# Debian has besides nginx (h2o, lighttpd) and the loaders besides wrk (ab, h2load).
set -euo pipefail

PKGS=(build-essential pkg-config clang libhttp-parser-dev libcmocka-dev liburing-dev
      gnuplot-nox curl nginx-light wrk iproute2 procps strace valgrind python3 chromium)
if [ "${1:-}" = --bench ]; then
    PKGS+=(h2o lighttpd apache2-utils nghttp2-client)
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "srvlab: missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# Debian enables and starts nginx on install; our tests start their own on free ports.
# Packaged servers may start themselves; srvlab starts its peers on its own ports when needed.
for svc in nginx h2o lighttpd; do
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
    if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
echo "deps: done"
