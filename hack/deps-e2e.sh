#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs with apt-get the real clients the e2e tests drive (podman with its
# CNI backend, containerd + ctr, runc, conmon, busybox-static for images,
# python3-grpcio for our CRI client) and whatever else they need, only when
# missing. Idempotent and quiet.
# Usage: hack/deps-e2e.sh [podman|containerd|cri|all]   (default all)
# Exit 0 when everything is there, 1 when something could not be installed.
set -euo pipefail

base=(jq iproute2 nftables iptables util-linux procps busybox-static
	containernetworking-plugins)
case ${1:-all} in
podman) pkgs=("${base[@]}" podman runc conmon) ;;
containerd) pkgs=("${base[@]}" containerd runc) ;;
cri) pkgs=("${base[@]}" containerd runc python3-grpcio) ;;
all) pkgs=("${base[@]}" podman runc conmon containerd python3-grpcio) ;;
*) echo "usage: $0 [podman|containerd|cri|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps-e2e: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps-e2e: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt run is waited for rather than failed on.
apt_opts=(-o DPkg::Lock::Timeout=120 -qq)
apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || true
if ! apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	echo "deps-e2e: apt-get install ${missing[*]} failed" >&2
	exit 1
fi
