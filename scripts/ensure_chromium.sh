#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a browser a test tool downloads itself).
# Install it from Debian's packages when missing and we may; otherwise say what to do, in one line.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "error: the browser tests need Debian's chromium: run 'sudo apt-get install chromium'" >&2
exit 1
