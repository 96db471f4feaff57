#!/usr/bin/env bash
# Runs a command in a network and mount namespace of its own (util-linux unshare; needs root), with
# loopback up and nothing else: the whole-stack lab (test/lab/whole-stack.lab.ts) makes the stack's
# addresses local there and binds a hosts file of its own over /etc/hosts, which the machine never sees.
#
#   bash lab/in-netns.sh COMMAND [ARG ...]     # exit status is COMMAND's
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: in-netns.sh COMMAND [ARG ...]" >&2; exit 2; }
exec unshare --net --mount --fork -- bash -c 'set -e; mount --make-rprivate /; ip link set lo up; VSPHERE_SPARK_LAB_NETNS=1 exec "$@"' in-netns "$@"
