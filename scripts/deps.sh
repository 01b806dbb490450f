#!/usr/bin/env bash
# Installs the Debian packages srvlab needs to build, test and benchmark.
# As root: apt-get update (once) and apt-get install -y of what is missing.
# Otherwise: prints the apt-get line to run and exits 1.
set -euo pipefail

PKGS=(build-essential pkg-config clang libhttp-parser-dev libcmocka-dev liburing-dev
      gnuplot-nox curl nginx-light wrk iproute2 procps strace valgrind python3 chromium)

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
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
echo "deps: done"
