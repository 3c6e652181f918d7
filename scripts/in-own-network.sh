#!/bin/sh
# Runs a command (a test suite) in network and mount namespaces of its own when it can (root with
# unshare): bridges, veths, addresses, iptables rules and netns mounts the tests make then live
# only there and vanish with it; the machine's real network is never touched. Loopback is brought
# up for the tests' own HTTP. Elsewhere the command runs as it is (kernel tests then skip, or fail
# under CI=true).
set -eu
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
  exec unshare --net --mount --propagation private -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
exec "$@"
