#!/usr/bin/env bash
# The nginx peer config used by tests and benchmarks starts and answers the hello body.
. "$(dirname "$0")/lib.sh"
if ! start_nginx 1; then skip "nginx not installed"; e2e_done; fi
expect_eq "nginx peer answers 13-byte hello" "Hello, World!" "$(curl -s "http://127.0.0.1:$NGINX_PORT/")"
e2e_done
