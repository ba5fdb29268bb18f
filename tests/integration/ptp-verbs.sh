#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ptp's verbs beyond the happy path: results in every version, rollback of a
# failed ADD (IPAM, veth, masquerade), DEL with the netns gone or CNI_NETNS
# empty (masquerade from prevResult), deterministic host veth names (the same
# attachment live in another netns is refused; DEL finds the host end without the netns), STATUS,
# GC, and interop with the reference ptp (ADD by one, DEL by the other).
. "$(dirname "$0")/../lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
IFNAME=eth0
NET=ptt-verbs
[ -x "$CNIP_BIN/host-local" ] || skip "needs our host-local (STATUS, GC)"

# A node's uplink and default route: proxyArp needs a route covering 169.254.1.1.
ip netns add ptt-out
ip link add ptt-up type veth peer name eth0 netns ptt-out
ip addr add 192.0.2.1/24 dev ptt-up && ip link set ptt-up up && ip -n ptt-out link set eth0 up
ip route add default via 192.0.2.2

# conf [VERSION] [LAYOUT] [EXTRA_KEYS]: dual stack, masquerade on.
conf() {
	local px=false
	[ "${2:-ref}" = proxy ] && px=true
	printf '{"cniVersion":"%s","name":"%s","type":"ptp","ipMasq":true,"proxyArp":%s%s,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.78.0.0/24"}],[{"subnet":"fd78::/64"}]],"routes":[{"dst":"0.0.0.0/0"}]}}' \
		"${1:-1.1.0}" "$NET" "$px" "${3:+,$3}"
}
hostveth() { echo "veth$(printf '%s' "$NET:$1:eth0" | sha512sum | cut -c1-8)"; }
with_prev() { jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"; }
leases() { find /var/lib/cni/networks/"$NET" -type f ! -name lock ! -name 'last_reserved_ip*' ! -path '*/.*' 2>/dev/null | wc -l; }
veths() { ip -j link show type veth | jq -r '[.[].ifname | select(. != "ptt-up")] | join(" ")'; }
masq_chains() { nft -j list chains 2>/dev/null | jq '[.nftables[] | select(.chain.table == "cnip_masq" and (.chain.name | startswith("masq-")))] | length'; }
# live_pod NAME: a pod netns kept alive by a process (LIVE_PID), mounted at
# /run/netns/NAME (NETNS), so the mount can go while the netns stays.
live_pod() {
	unshare --net sleep 600 >/dev/null 2>&1 &
	LIVE_PID=$!
	local i
	for i in $(seq 100); do
		[ "$(readlink /proc/$LIVE_PID/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.02
	done
	touch "/run/netns/$1" && mount --bind "/proc/$LIVE_PID/ns/net" "/run/netns/$1"
	NETNS=/run/netns/$1
}
stop_pod() { kill "$1"; wait "$1" 2>/dev/null || true; }

note "results in every version"
NETNS=$(mkpod ptt-v) CID=ptt-v
for v in 0.2.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	cni_ok ptp ADD "$(conf $v proxy '"mtu":1450')"
	case $v in
	0.2.0) jq_ok "$OUT" '.ip4.ip == "10.78.0.2/32" and .ip4.gateway == "169.254.1.1" and .ip6.ip == "fd78::2/128" and (has("interfaces") | not)' ;;
	0.3.1|0.4.0) jq_ok "$OUT" "[.ips[].version] == [\"4\",\"6\"] and .cniVersion == \"$v\"" ;;
	1.0.0) jq_ok "$OUT" 'all(.ips[]; has("version") | not) and (.interfaces[0] | has("mtu") | not)' ;;
	1.1.0) jq_ok "$OUT" '[.interfaces[].mtu] == [1450,1450] and .interfaces[0].mac == "ee:ee:ee:ee:ee:ee"' ;;
	esac
	cni_ok ptp DEL "$(conf $v proxy)"
done
assert_eq "$(leases)" 0 "leases after ADD/DEL rounds"

note "ADD fails on an existing CNI_IFNAME, and gives the lease back"
ip -n ptt-v link add eth0 type veth peer name eth1
cni_err ptp ADD "$(conf)" 104
assert_eq "$(leases)" 0 "lease kept by a failed ADD"
assert_eq "$(veths)" "" "node veths after a failed ADD"
ip -n ptt-v link del eth0

note "a second ADD of a live attachment (same container, same ifname) is refused and breaks nothing"
cni_ok ptp ADD "$(conf)"
R=$OUT
mac=$(ip -n ptt-v -j link show eth0 | jq -r '.[0].address')
held=$(leases)
[ "$held" -gt 0 ] || fail "no lease after ADD"
# host-local hands a repeated (container id, ifname) its existing lease: a
# plugin that allocated before wiring would release it rolling this ADD back.
cni_err ptp ADD "$(conf)" 104
assert_eq "$(ip -n ptt-v -j link show eth0 | jq -r '.[0].address')" "$mac" "the pod's eth0 was replaced"
assert_eq "$(leases)" "$held" "the live attachment's leases"
cni_ok ptp CHECK "$(conf | jq -c --argjson r "$R" '.prevResult = $r')"
cni_ok ptp DEL "$(conf)"
assert_eq "$(leases)" 0 "leases after DEL"

note "a failed pod route rolls back veth and lease"
cni_err ptp ADD "$(conf 1.1.0 ref | jq -c '.ipam.routes += [{"dst":"192.168.0.0/16","gw":"10.99.99.99"}]')" 100
jq_ok "$OUT" '.msg | test("192.168.0.0/16")'
assert_eq "$(veths)" "" "node veths"
assert_eq "$(ip -n ptt-v -j link show type veth | jq length)" 0 "pod veths"
assert_eq "$(leases)" 0 "leases"

note "a failed masquerade rolls back veth and lease"
nft delete table inet cnip_masq 2>/dev/null || true
nft add table inet cnip_masq
nft add map inet cnip_masq pods4 '{ type ipv4_addr : ipv4_addr; }'
cni_err ptp ADD "$(conf)" 101
assert_eq "$(veths)" "" "node veths"
assert_eq "$(ip -n ptt-v -j link show type veth | jq length)" 0 "pod veths"
assert_eq "$(leases)" 0 "leases"
nft delete table inet cnip_masq

note "DEL with the netns gone removes masquerade (from prevResult) and lease"
cni_ok ptp ADD "$(conf)"
res=$OUT
[ "$(masq_chains)" = 1 ] || fail "no masquerade chain after ADD"
ip netns del ptt-v
cni_ok ptp DEL "$(with_prev "$(conf)" "$res")"
assert_eq "$(masq_chains)" 0 "masquerade after DEL with the netns gone"
assert_eq "$(leases)" 0 "leases"
assert_eq "$(nft -j list map inet cnip_masq pods4 | jq '[.nftables[] | select(.map) | .map.elem // [] | .[]] | length')" 0 "map elements"
cni_ok ptp DEL "$(with_prev "$(conf)" "$res")"

note "DEL with an empty CNI_NETNS while the pod's netns lives on: the host veth goes by its name"
live_pod ptt-live
CID=ptt-live
cni_ok ptp ADD "$(conf)"
res=$OUT hv=$(hostveth ptt-live)
ip link show "$hv" >/dev/null || fail "no host veth $hv"
umount /run/netns/ptt-live
cni_ok ptp DEL "$(with_prev "$(conf)" "$res")" CNI_NETNS=
! ip link show "$hv" >/dev/null 2>&1 || fail "host veth $hv left"
assert_eq "$(masq_chains)" 0 "masquerade"
assert_eq "$(leases)" 0 "leases"
stop_pod "$LIVE_PID"

note "the same attachment from another netns is refused while the first netns lives, then takes over"
live_pod ptt-old
CID=ptt-same
cni_ok ptp ADD "$(conf 1.1.0 proxy)"
umount /run/netns/ptt-old
old_pid=$LIVE_PID
NETNS=$(mkpod ptt-new)
cni_err ptp ADD "$(conf 1.1.0 proxy)" 104
assert_eq "$(nsenter --net=/proc/$old_pid/ns/net ip -j link show type veth | jq length)" 1 "old pod kept its eth0"
stop_pod "$old_pid"
for i in $(seq 100); do
	cni_run ptp ADD "$(conf 1.1.0 proxy)"
	[ "$RC" -ne 0 ] || break
	sleep 0.1
done
[ "$RC" -eq 0 ] || fail "ADD after the old netns went away: $OUT"
res=$OUT
assert_eq "$(veths)" "$(hostveth ptt-same)" "one host veth"
cni_ok ptp CHECK "$(with_prev "$(conf 1.1.0 proxy)" "$res")"
cni_ok ptp DEL "$(with_prev "$(conf 1.1.0 proxy)" "$res")"
ip netns del ptt-new

note "STATUS forwards to IPAM; CHECK/STATUS/GC need their versions"
cni_ok ptp STATUS "$(conf)" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
cni_err ptp STATUS "$(conf 1.0.0)" 1 CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
cni_err ptp CHECK "$(conf 0.3.1)" 1
NETNS=$(mkpod ptt-p) CID=ptt-p
cni_err ptp CHECK "$(conf)" 7
jq_ok "$OUT" '.msg | test("prevResult")'

note "GC keeps listed attachments and removes the rest (leases and masquerade)"
for c in ptt-g1 ptt-g2; do
	NETNS=$(mkpod $c) CID=$c
	cni_ok ptp ADD "$(conf)"
done
assert_eq "$(masq_chains)" 2 "masquerade chains before GC"
assert_eq "$(leases)" 4 "leases before GC"
gc=$(conf | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"ptt-g1","ifname":"eth0"}]}')
cni_ok ptp GC "$gc" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(masq_chains)" 1 "masquerade chains after GC"
assert_eq "$(leases)" 2 "leases after GC"
NETNS=/run/netns/ptt-g1 CID=ptt-g1
cni_ok ptp DEL "$(conf)"
ip netns del ptt-g1 && ip netns del ptt-g2 && ip netns del ptt-p

command -v iptables >/dev/null || skip "iptables (the reference's masquerade) not installed"
for how in netns-there netns-gone; do
	note "interop: the reference's ADD, our DEL ($how)"
	NETNS=$(mkpod ptt-r) CID=ptt-r
	refconf=$(conf 1.0.0)
	cni_ok "$REF_BIN/ptp" ADD "$refconf" CNI_PATH="$REF_BIN"
	res=$OUT
	grep -q -- '-N CNI-' <<<"$(iptables -t nat -S 2>/dev/null)" || fail "reference made no iptables chain"
	[ $how = netns-gone ] && ip netns del ptt-r
	cni_ok ptp DEL "$(with_prev "$refconf" "$res")"
	assert_eq "$(veths)" "" "veths after our DEL of the reference's pod"
	assert_eq "$(leases)" 0 "leases"
	assert_eq "$(iptables -t nat -S 2>/dev/null | grep -c -- 'CNI-' || true)" 0 "reference iptables chains"
	assert_eq "$(ip6tables -t nat -S 2>/dev/null | grep -c -- 'CNI-' || true)" 0 "reference ip6tables chains"
	[ $how = netns-gone ] || ip netns del ptt-r
done

for layout in ref proxy; do
	# The reference's DEL removes link and lease, then tears masquerade down
	# through iptables and fails on its own missing chain (exit status 2 is
	# not "does not exist" to it); runtimes retry DEL, and the retry finds no
	# link and succeeds. Our GC removes our masquerade, which it cannot see.
	for variant in masq nomasq; do
		note "interop: our ADD ($layout layout, $variant), the reference's DEL"
		NETNS=$(mkpod ptt-o) CID=ptt-o
		c=$(conf 1.0.0 $layout)
		[ $variant = nomasq ] && c=$(jq -c '.ipMasq = false' <<<"$c")
		cni_ok ptp ADD "$c"
		res=$OUT
		if [ $variant = masq ]; then
			cni_run "$REF_BIN/ptp" DEL "$(with_prev "$c" "$res")" CNI_PATH="$REF_BIN"
			[ "$RC" -ne 0 ] || note "the reference's DEL passed at once (fixed upstream?)"
			[ "$RC" -eq 0 ] || jq_ok "$OUT" '.msg | test("tables.*does not exist")'
		fi
		cni_ok "$REF_BIN/ptp" DEL "$(with_prev "$c" "$res")" CNI_PATH="$REF_BIN"
		assert_eq "$(veths)" "" "veths after the reference's DEL of our pod"
		assert_eq "$(leases)" 0 "leases"
		assert_eq "$(ip -j route | jq -c '[.[] | select(.dst | startswith("10.78."))]')" "[]" "routes"
		assert_eq "$(ip -j -6 route | jq -c '[.[] | select(.dst | startswith("fd78:"))]')" "[]" "v6 routes"
		if [ $variant = masq ]; then
			# The reference knows only its own iptables rules; our GC removes ours.
			assert_eq "$(masq_chains)" 1 "our masquerade after the reference's DEL"
			cni_ok ptp GC "$(jq -c '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments":[]}' <<<"$c")" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
		fi
		assert_eq "$(masq_chains)" 0 "our masquerade"
		ip netns del ptt-o
	done
done
note "all good"
