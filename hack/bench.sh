#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Side-by-side benchmark of our plugins and the reference Go plugins
# (Debian's containernetworking-plugins in /usr/lib/cni): ADD and DEL latency
# (median and p90 over N runs), peak RSS, binary size. Runs in a throwaway
# node namespace. Numbers, not assertions: nothing here can fail a build.
#   hack/bench.sh [N]        (default N=30; env CNIP_BIN, REF_BIN)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CNIP_BIN:=$top/build/bin}" "${REF_BIN:=/usr/lib/cni}"
N=${1:-30}
export CNIP_BIN REF_BIN N top
if [ "${BENCH_INSIDE:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
	CNIP_EXTRA_PKGS=time "$top/hack/deps.sh"
	exec env BENCH_INSIDE=1 unshare --net --mount --propagation private -- "$0" "$@"
fi
for d in /run/netns /var/lib/cni; do mkdir -p $d && mount -t tmpfs bench $d; done
ip link set lo up
ip netns add bench-pod

ns_now() { date +%s%N; }
# stats FILE: median and p90 in ms of the nanosecond samples in FILE
stats() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%7.2f %7.2f", a[int((NR+1)/2)]/1e6, a[int(NR*0.9+0.5)]/1e6}'; }

# one PLUGIN_DIR CONF: N rounds of ADD then DEL; prints median/p90 ADD, DEL, max RSS
one() {
	local dir=$1 plugin=$2 conf=$3 i t0 rss=0 r
	: >/tmp/bench.add; : >/tmp/bench.del
	for ((i = 0; i < N; i++)); do
		for cmd in ADD DEL; do
			t0=$(ns_now)
			r=$(printf '%s' "$conf" | CNI_COMMAND=$cmd CNI_CONTAINERID=bench-$i CNI_NETNS=/run/netns/bench-pod \
				CNI_IFNAME=eth0 CNI_PATH=$dir /usr/bin/time -f '%M' -o /tmp/bench.rss "$dir/$plugin" 2>/dev/null >/tmp/bench.out; echo $?)
			echo $(( $(ns_now) - t0 )) >>/tmp/bench.$( [ $cmd = ADD ] && echo add || echo del)
			[ "$r" = 0 ] || { echo "  $dir/$plugin $cmd failed: $(cat /tmp/bench.out)" >&2; return 1; }
			rss=$(( $(cat /tmp/bench.rss) > rss ? $(cat /tmp/bench.rss) : rss ))
		done
	done
	printf '%s %s %6d' "$(stats /tmp/bench.add)" "$(stats /tmp/bench.del)" "$rss"
}

row() {
	local name=$1 plugin=$2 conf=$3 ours ref
	ours=$(one "$CNIP_BIN" "$plugin" "$conf") || ours="  (failed)"
	ref=$(one "$REF_BIN" "$plugin" "$conf") || ref="  (failed)"
	printf '%-28s ours %s | ref %s\n' "$name" "$ours" "$ref"
}

# What the harness itself costs per call (fork, exec of time and of a no-op).
: >/tmp/bench.base
for ((i = 0; i < N; i++)); do
	t0=$(ns_now)
	printf '{}' | CNI_COMMAND=ADD /usr/bin/time -f '%M' -o /tmp/bench.rss /bin/true >/dev/null 2>&1
	echo $(( $(ns_now) - t0 )) >>/tmp/bench.base
done
echo "cnip benchmark: $N ADD+DEL rounds each; times in ms (median p90), peak RSS in KiB"
echo "every time includes the harness's own cost per call: $(stats /tmp/bench.base | awk '{print $1}') ms (running /bin/true the same way)"
printf '%-28s      %-7s %-7s %-7s %-7s %-6s |     %-7s %-7s %-7s %-7s %-6s\n' "" ADDmed ADDp90 DELmed DELp90 RSS ADDmed ADDp90 DELmed DELp90 RSS
hl='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.50.0.0/16"}]]}'
hl6='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.51.0.0/16"}],[{"subnet":"fd51::/64"}]]}'
row loopback loopback '{"cniVersion":"1.0.0","name":"b-lo","type":"loopback"}'
row "host-local" host-local "{\"cniVersion\":\"1.0.0\",\"name\":\"b-hl\",\"type\":\"bridge\",$hl}"
row "bridge" bridge "{\"cniVersion\":\"1.0.0\",\"name\":\"b-br\",\"type\":\"bridge\",\"bridge\":\"bbr0\",\"isGateway\":true,$hl}"
row "bridge ipMasq" bridge "{\"cniVersion\":\"1.0.0\",\"name\":\"b-brm\",\"type\":\"bridge\",\"bridge\":\"bbr1\",\"isGateway\":true,\"ipMasq\":true,$hl}"
row "ptp" ptp "{\"cniVersion\":\"1.0.0\",\"name\":\"b-ptp\",\"type\":\"ptp\",$hl}"
N=$(( N < 5 ? N : 5 )) row "ptp dual-stack" ptp "{\"cniVersion\":\"1.0.0\",\"name\":\"b-ptp6\",\"type\":\"ptp\",$hl6}"

echo
echo "host-local with 10000 leases already on disk (ADD+DEL of one more)"
mkdir -p /var/lib/cni/networks/b-big
for ((i = 0; i < 10000; i++)); do
	printf 'big-%d\r\neth0' "$i" >"/var/lib/cni/networks/b-big/10.60.$((i / 250)).$((i % 250 + 2))"
done
row "host-local 10k leases" host-local '{"cniVersion":"1.0.0","name":"b-big","type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.60.0.0/16"}]]}}'

echo
echo "binary sizes (bytes; ours as built with debug info, and stripped as a package ships it)"
for p in loopback bridge ptp host-local; do
	strip -o /tmp/bench.stripped "$CNIP_BIN/$p" 2>/dev/null || : >/tmp/bench.stripped
	printf '%-12s ours %9s  stripped %9s   ref %9s\n' "$p" "$(stat -c %s "$CNIP_BIN/$p" 2>/dev/null || echo -)" \
		"$(stat -c %s /tmp/bench.stripped)" "$(stat -c %s "$REF_BIN/$p" 2>/dev/null || echo -)"
done
