#!/usr/bin/env bash
# The browser tests (marked browser; make test-all) drive Debian's chromium. Install it when it is
# missing and we may (root); otherwise the browser tests skip and say why.
set -u
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests ..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "could not install chromium; the browser tests will skip" >&2
else
  echo "chromium is not installed (apt-get install chromium); the browser tests will skip" >&2
fi
exit 0
