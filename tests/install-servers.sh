#!/usr/bin/env bash
# The PostgreSQL feedback tests, the replicated-topology test and the production live tests (the
# service behind nginx, deploy/nginx/), all marked live (make test-all), run Debian's PostgreSQL and nginx.
# Install them when missing and we may (root); otherwise those tests skip and say why.
set -u
missing=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} = 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the PostgreSQL and topology tests ..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "could not install ${missing[*]}; the tests that need them will skip" >&2
  # The nginx package starts a default server on port 80 where it can; the tests run their own.
  if command -v nginx >/dev/null 2>&1; then
    (service nginx stop || nginx -s quit) >/dev/null 2>&1 || true
  fi
  # The package starts a cluster of its own on port 5432; the tests start theirs, so stop it.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in /etc/postgresql/*/main; do
      [ -d "$cluster" ] && pg_ctlcluster "$(basename "$(dirname "$cluster")")" main stop >/dev/null 2>&1
    done
  fi
else
  echo "${missing[*]} not installed (apt-get install ${missing[*]}); the tests that need them will skip" >&2
fi
exit 0
