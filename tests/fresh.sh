#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run a command as a fresh machine would see it (CONTRIBUTING.md "Building and
# testing"):
#
#   sh tests/fresh.sh COMMAND [ARG...]        (root: it uses unshare)
#
# The command runs in a private mount namespace where /tmp is a new, empty
# tmpfs, read-only but for two directories made in it: $TMPDIR (/tmp/tmp,
# also $TMP and $TEMP) and a fresh, empty $HOME (/tmp/home).  Nothing that
# earlier runs left in /tmp or in the caller's home can make the command
# pass, and a harness that writes to a fixed path under /tmp instead of its
# own temporary root fails at once (EROFS).  The clone itself may live under /tmp: it is
# carried into the new /tmp at the same path, writable.  Everything in the
# namespace is gone when the command ends; the rest of the machine is
# untouched.  .ci/run runs the README's test command this way.
set -eu

if [ -z "${PP_FRESH_INNER:-}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "fresh.sh: needs root (unshare --mount, mount -t tmpfs)" >&2
        exit 2
    fi
    if [ $# -eq 0 ]; then
        echo "usage: sh tests/fresh.sh COMMAND [ARG...]" >&2
        exit 2
    fi
    PP_FRESH_INNER=1 exec unshare --mount --propagation private \
        sh "$0" "$@"
fi
unset PP_FRESH_INNER

top=$(cd "$(dirname "$0")/.." && pwd -P)
here=$(pwd -P)

# The new /tmp is built on a mount point of its own first (a tmpfs over
# /mnt, seen only in this namespace), then moved over /tmp with what is
# bound into it.
stage=/mnt
mount -t tmpfs -o mode=1777,size=50% ppfresh "$stage"
case "$top/" in
    /tmp/*)
        mkdir -p "$stage${top#/tmp}"
        mount --bind "$top" "$stage${top#/tmp}" ;;
esac
mkdir -m 1777 "$stage/tmp"
mkdir -m 0700 "$stage/home"
mount --bind "$stage/tmp" "$stage/tmp"
mount --bind "$stage/home" "$stage/home"
mount --move "$stage" /tmp
mount -o remount,bind,ro /tmp

# TMP and TEMP as well: Check's runner takes its message file from TEMP
# when glibc's tmpfile(), which only knows /tmp, fails
export TMPDIR=/tmp/tmp TMP=/tmp/tmp TEMP=/tmp/tmp HOME=/tmp/home
cd "$here"
exec "$@"
