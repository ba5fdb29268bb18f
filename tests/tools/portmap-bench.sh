#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Times portmap ADD and DEL of one pod (two mappings, dual stack) next to N
# pods already mapped (one port each), in a throwaway netns, one process per
# call as a runtime would run it:
#   tests/tools/portmap-bench.sh [N...]        (default: 1 1000)
# PORTMAP=path picks the binary (default: build/bin/portmap, `make` builds it);
# PORTMAP=/usr/lib/cni/portmap times the reference the same way. ROUNDS=20.
# Prints wall time and the CPU time (user + system) the plugin used: on a
# loaded machine the wall time is mostly waiting for a CPU.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PORTMAP=${PORTMAP:-$top/build/bin/portmap}
[ -x "$PORTMAP" ] || { echo "no $PORTMAP (run make)" >&2; exit 1; }
[ $# -gt 0 ] || set -- 1 1000
exec unshare --net --mount -- bash -c '
set -eu
P=$1 R=$2; shift 2
mkdir -p /run/netns && mount -t tmpfs pmb /run/netns
ip link set lo up
ip netns add pmbpod
ip link add pmb0 type veth peer name pmb1
ip addr add 10.66.0.1/16 dev pmb0; ip addr add fd66::1/64 dev pmb0 nodad
ip link set pmb0 up; ip link set pmb1 up
conf() { # CID INDEX PORTS-JSON
	printf "{\"cniVersion\":\"1.0.0\",\"name\":\"pmbnet\",\"type\":\"portmap\",\"runtimeConfig\":{\"portMappings\":%s},\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/pmbpod\"}],\"ips\":[{\"address\":\"10.66.%d.%d/16\",\"interface\":0},{\"address\":\"fd66::%x/64\",\"interface\":0}]}}" \
		"$3" $(($2 / 250)) $(($2 % 250 + 2)) $(($2 + 2))
}
run() { # CMD CID CONF
	printf "%s" "$3" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/pmbpod CNI_PATH=/usr/lib/cni "$P" >/dev/null
}
# timed CMD CID CONF: runs it; WALL and CPU (user + system) get microseconds.
TIMEFORMAT="%3R %3U %3S"
timed() {
	local t w u y
	t=$( { time run "$@" 2>/dev/null; } 2>&1 )
	read -r w u y <<<"$t"
	WALL=$(echo "$w * 1000000 / 1" | bc) CPU=$(echo "($u + $y) * 1000000 / 1" | bc)
}
have=0
for n in "$@"; do
	while [ $have -lt "$n" ]; do
		run ADD pmbbg$have "$(conf pmbbg$have $have "[{\"hostPort\":$((20000 + have)),\"containerPort\":80,\"protocol\":\"tcp\"}]")"
		have=$((have + 1))
	done
	c=$(conf pmbx 4000 "[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},{\"hostPort\":5353,\"containerPort\":53,\"protocol\":\"udp\"}]")
	ta=0 td=0 ca=0 cd=0 bw=0 bc=0
	for i in $(seq 1 "$R"); do
		P0=$P P=/bin/true; timed ADD pmbx "$c"; P=$P0; bw=$((bw + WALL)) bc=$((bc + CPU))
		timed ADD pmbx "$c"; ta=$((ta + WALL)) ca=$((ca + CPU))
		timed DEL pmbx "$c"; td=$((td + WALL)) cd=$((cd + CPU))
	done
	echo "$P: $n mapped pods: ADD $((ta / R)) us wall, $((ca / R)) us cpu; DEL $((td / R)) us wall, $((cd / R)) us cpu (mean of $R; running /bin/true the same way costs $((bw / R)) us wall, $((bc / R)) us cpu)"
done' bench "$PORTMAP" "${ROUNDS:-20}" "$@"
