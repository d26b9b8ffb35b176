#!/usr/bin/env bash
# Production runs the service behind Debian's nginx (deploy/nginx/); the live tests of that
# topology start it. Install it when it is missing and we may (root); otherwise they skip and say why.
set -u
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's nginx for the production live tests ..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null \
    || echo "could not install nginx; the production live tests will skip" >&2
  # The package starts a default server on port 80 where it can; the tests run their own.
  if command -v nginx >/dev/null 2>&1; then
    (service nginx stop || nginx -s quit) >/dev/null 2>&1 || true
  fi
else
  echo "nginx is not installed (apt-get install nginx-light); the production live tests will skip" >&2
fi
exit 0
