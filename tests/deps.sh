#!/bin/sh
# Install the Debian packages mod_polyprov needs to build, run the demo and
# run the tests.  As root it installs what is missing with apt-get; as any
# other user it says exactly what to install and stops.
set -e

PKGS="gcc make libc6-dev pkg-config apache2 apache2-dev libssl-dev
libpcre2-dev check libsubunit-dev curl openssl python3 python3-pytest
python3-cryptography procps util-linux clang libclang-rt-dev valgrind"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install the equivalents of:" $PKGS >&2
    exit 0
fi

missing=""
for p in $PKGS; do
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
