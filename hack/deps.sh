#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs with apt-get whatever building, testing and the demo need and is
# missing. Idempotent and quiet when everything is already there.
set -euo pipefail

pkgs=(
	build-essential pkg-config clang
	libmnl-dev libnftnl-dev libcjson-dev libcmocka-dev
	iproute2 nftables iptables jq iputils-ping util-linux procps strace bc
	# portmap tests: servers and clients in pods, conntrack state read back
	socat conntrack
	# make deb and its test (dist/, tests/dist/): lintian, yq for the DaemonSet check
	dpkg-dev lintian yq busybox-static
	# profiles of an ADD on a node full of netns (hack/netns-scale.sh)
	linux-perf
	# the reference plugins, only for side-by-side tests and benchmarks
	containernetworking-plugins
	# podman's own network backend, a lane of the benchmark (podman's chain against it)
	netavark
	${CNIP_EXTRA_PKGS:-}
)

missing=()
for p in "${pkgs[@]}"; do
	[ -n "$p" ] || continue
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
