#!/usr/bin/env bash
# A second ADD with the same container ID and ifname but another netns (issue 10 #3)
# must not touch the first, live attachment: refused (104) while the first
# pod's netns lives, with the first pod's address, lease and traffic intact and
# no second lease; once the first netns is gone, the same ADD succeeds.
. "$(dirname "$0")/../lib.sh"

DATA=/var/lib/cni/hdn-twice
conf() {	# plugin subnet
	printf '{"cniVersion":"1.1.0","name":"hdn%s","type":"%s"%s,"ipMasq":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]]}}' \
		"$1" "$1" "$([ "$1" = bridge ] && echo ',"bridge":"hdntw0","isGateway":true')" "$DATA" "$2"
}
leases() { find "$DATA" -type f -name '10.*' | wc -l; }
with_prev() { echo "$1" | jq -c --argjson p "$2" '. + {prevResult:$p}'; }
# A pod whose netns lives on only through a process (its path is gone), as a
# runtime that lost track of it would leave it.
live_pod() {
	unshare --net sleep 600 >/dev/null 2>&1 &
	LIVE_PID=$!
	local i
	for i in $(seq 100); do
		[ "$(readlink /proc/$LIVE_PID/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.02
	done
	touch "/run/netns/$1" && mount --bind "/proc/$LIVE_PID/ns/net" "/run/netns/$1"
}

for plugin in bridge ptp; do
	case $plugin in
	bridge) subnet=10.93.0.0/24 gw=10.93.0.1 ;;
	ptp) subnet=10.94.0.0/24 gw=10.94.0.1 ;;
	esac
	C=$(conf $plugin $subnet)
	CID=hdn-twice-$plugin IFNAME=eth0

	note "$plugin: the first attachment, in a netns kept alive by a process"
	live_pod hdn-a-$plugin
	NETNS=/run/netns/hdn-a-$plugin
	cni_ok $plugin ADD "$C"
	R1=$OUT
	addr1=$(ip -n hdn-a-$plugin -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.family == "inet") | .local]')
	mac1=$(ip -n hdn-a-$plugin -j link show eth0 | jq -r '.[0].address')
	ip netns exec hdn-a-$plugin ping -c1 -W2 "$gw" >/dev/null || fail "first pod cannot reach $gw"
	assert_eq "$(leases)" 1 "leases after the first ADD"

	note "$plugin: a second ADD from another netns is refused while the first lives"
	NETNS=$(mkpod hdn-b-$plugin)
	cni_err $plugin ADD "$C" 104
	jq_ok "$OUT" '.msg | test("hdn-twice-'$plugin'/eth0 .*live in another network namespace")'
	assert_eq "$(ip -n hdn-b-$plugin -j link show | jq length)" 1 "links in the second netns (lo only)"
	assert_eq "$(leases)" 1 "leases after the refused ADD (none handed twice)"
	NETNS=/run/netns/hdn-a-$plugin
	assert_eq "$(ip -n hdn-a-$plugin -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.family == "inet") | .local]')" "$addr1" "first pod's address"
	assert_eq "$(ip -n hdn-a-$plugin -j link show eth0 | jq -r '.[0].address')" "$mac1" "first pod's eth0"
	ip netns exec hdn-a-$plugin ping -c1 -W2 "$gw" >/dev/null || fail "first pod lost its gateway"
	cni_ok $plugin CHECK "$(with_prev "$C" "$R1")"

	note "$plugin: once the first netns is gone, the second ADD takes over"
	umount /run/netns/hdn-a-$plugin
	rm /run/netns/hdn-a-$plugin
	kill "$LIVE_PID"
	wait "$LIVE_PID" 2>/dev/null || true
	NETNS=/run/netns/hdn-b-$plugin
	# The kernel frees a netns (and the veth in it) asynchronously.
	for i in $(seq 100); do
		cni_run $plugin ADD "$C"
		[ "$RC" -ne 0 ] || break
		sleep 0.1
	done
	[ "$RC" -eq 0 ] || fail "ADD after the first netns went away: $OUT"
	R2=$OUT
	ip netns exec hdn-b-$plugin ping -c1 -W2 "$gw" >/dev/null || fail "second pod cannot reach $gw"
	cni_ok $plugin CHECK "$(with_prev "$C" "$R2")"
	cni_ok $plugin DEL "$(with_prev "$C" "$R2")"
	assert_eq "$(leases)" 0 "leases after DEL"
	ip netns del hdn-b-$plugin
done
note "ok"
