#!/usr/bin/env bash
# Installs the Debian packages Corral's tests and agent use on the host (nft for packet-tagging
# proofs, util-linux's ipcs/ipcmk/unshare/nsenter, iproute2, a C compiler for the launcher helper,
# the CNI plugins and the iptables their portmap plugin drives, Slurm and munge for corral-runc's
# scheduler test, crun as its differential reference, iperf3 for the egress shaping tests, Go and
# mesos-go for the agent's compatibility test with a real Mesos client, tmux to drive terminal UIs,
# Prometheus (server and promtool) to scrape the agent).
# Only acts as root on an apt-based system; elsewhere it lists what is missing and carries on,
# so a laptop run still works (kernel tests then skip, or fail under CI=true).
set -euo pipefail

declare -A package_for=(
  [nft]=nftables
  [ipcs]=util-linux
  [ipcmk]=util-linux
  [unshare]=util-linux
  [nsenter]=util-linux
  [ip]=iproute2
  [cc]=gcc
  [make]=make
  [iptables]=iptables
  [slurmctld]=slurmctld
  [slurmd]=slurmd
  [srun]=slurm-client
  [munged]=munge
  [crun]=crun
  [iperf3]=iperf3
  [go]=golang-go
  [tmux]=tmux
  [prometheus]=prometheus
  [promtool]=prometheus
)
# Packages that bring files rather than commands.
declare -A package_for_file=(
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [/usr/share/gocode/src/github.com/mesos/mesos-go/api/v1/lib/httpcli/httpagent/util.go]=golang-github-mesos-mesos-go-dev
)

missing=()
for command in "${!package_for[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_for[$command]}")
done
for file in "${!package_for_file[@]}"; do
  [ -e "$file" ] || missing+=("${package_for_file[$file]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
readarray -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "corral: missing system packages: ${missing[*]} (install them as root; kernel tests need them)" >&2
  exit 0
fi
echo "corral: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
