#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages mod_polyprov needs.  As root it installs what
# is missing with apt-get; as any other user it says exactly what to
# install and stops.
#
#   sh tests/deps.sh build     compile the module
#   sh tests/deps.sh demo      build + what make demo runs (httpd, curl,
#                              Python, apr_dbd's SQLite driver)
#   sh tests/deps.sh test      demo + the test tools of make check
#                              (Check, pytest and pytest-xdist,
#                              clang/libFuzzer, Valgrind,
#                              PHP-FPM for the neighbouring-modules tests,
#                              promtool from prometheus, PostgreSQL and
#                              apr_dbd's driver for it, HAProxy for the
#                              farm: their services are not started, and
#                              stopped if they were; the tests run their
#                              own)
#   sh tests/deps.sh package   demo + what make check-package runs
#                              (debhelper, lintian, rpm, pytest)
#   sh tests/deps.sh ci        all of the above, and autoconf (.ci/run)
# Without an argument: test.
set -e

BUILD="gcc make libc6-dev pkg-config apache2 apache2-dev libssl-dev
libpcre2-dev"
DEMO="$BUILD curl openssl python3 python3-cryptography procps
libaprutil1-dbd-sqlite3"
TEST="$DEMO check libsubunit-dev python3-pytest python3-pytest-xdist
util-linux clang
libclang-rt-dev valgrind php-fpm prometheus postgresql libaprutil1-dbd-pgsql
haproxy"
PACKAGE="$DEMO python3-pytest debhelper lintian rpm git"

case "${1:-test}" in
    build)   PKGS=$BUILD ;;
    demo)    PKGS=$DEMO ;;
    test)    PKGS=$TEST ;;
    package) PKGS=$PACKAGE ;;
    ci)      PKGS="$TEST $PACKAGE autoconf" ;;
    *) echo "usage: sh tests/deps.sh [build|demo|test|package|ci]" >&2
       exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install the equivalents of:" $PKGS >&2
    exit 0
fi

missing=""
for p in $PKGS; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: install them with: sudo apt-get install$missing" >&2
    exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# a fresh machine may have no package lists yet
if ! apt-get install -y -q --no-install-recommends $missing; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
fi
# the tests need promtool only, and start PostgreSQL and HAProxy of their
# own: none of these services on a test machine
for svc in prometheus postgresql haproxy; do
    case " $missing " in
        *" $svc "*)
            if command -v systemctl >/dev/null 2>&1; then
                systemctl disable --now "$svc" >/dev/null 2>&1 || true
            fi
            if command -v invoke-rc.d >/dev/null 2>&1; then
                invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
            fi ;;
    esac
done
