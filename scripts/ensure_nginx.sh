#!/usr/bin/env bash
# The reverse-proxy test (tests/deploy/test_nginx_proxy.py) runs Debian's nginx, as shipped in deploy/nginx/.
# Install it from Debian's packages when missing and we may (only the binary is used: the test starts its own
# nginx with its own prefix on free loopback ports); otherwise say what to do, in one line.
set -u
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's nginx for the reverse-proxy test..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null && exit 0
fi
echo "error: the reverse-proxy test needs Debian's nginx: run 'sudo apt-get install nginx'" >&2
exit 1
