#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Times N add+del pairs of tests/tools/nftmasq (one process each, as a plugin
# would) in a throwaway netns, next to one long-lived attachment:
#   tests/tools/nftmasq-bench.sh [N]
# Builds a release nftmasq from the sources into a temporary directory.
set -eu
N=${1:-100}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=gnu11 -D_GNU_SOURCE -O2 -I"$top/include" -o "$tmp/nftmasq" "$top/tests/tools/nftmasq.c" \
	"$top"/pkg/cni/{err,ip,sha512}.c "$top"/pkg/nft/*.c $(pkg-config --cflags --libs libmnl libnftnl)
exec unshare --net -- bash -c '
M=$1 N=$2
ip link set lo up
$M add nfrnet nfrkeep eth0 10.77.0.2/16 fd77::2/64
ta=0 td=0
for i in $(seq 1 "$N"); do
	a=$(date +%s%N); $M add nfrnet nfrcid$i eth0 10.77.1.$((i % 250 + 1))/16 fd77::1:$i/64
	b=$(date +%s%N); $M del nfrnet nfrcid$i eth0 10.77.1.$((i % 250 + 1))/16 fd77::1:$i/64
	c=$(date +%s%N)
	ta=$((ta + b - a)) td=$((td + c - b))
done
echo "nftmasq: add $((ta / N / 1000)) us, del $((td / N / 1000)) us (mean of $N)"' bench "$tmp/nftmasq" "$N"
