#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ptp in both layouts (reference, proxyArp) for IPv4, IPv6 and dual stack, as a
# runtime calls it: the result, the kernel state read back with `ip -j`, real
# packets (node <-> pod, pod <-> pod through the node, pod -> an "outside"
# host that has no route back, so only a masqueraded ping gets an answer),
# CHECK (and CHECK catching a removed host route), DEL leaving nothing.
. "$(dirname "$0")/../lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
IFNAME=eth0
if [ -x "$CNIP_BIN/host-local" ]; then note "IPAM: our host-local"; else note "IPAM: reference host-local"; fi

# The node's uplink to an "outside" host (192.0.2.2, 2001:db8::2) that knows no pod network.
# DAD off on both ends so the first packets are not lost to tentative addresses.
ip netns add ptt-out
ip link add ptt-up type veth peer name eth0 netns ptt-out
sysctl -qw net.ipv6.conf.ptt-up.accept_dad=0
ip netns exec ptt-out sysctl -qw net.ipv6.conf.eth0.accept_dad=0
ip addr add 192.0.2.1/24 dev ptt-up && ip addr add 2001:db8::1/64 dev ptt-up && ip link set ptt-up up
ip -n ptt-out addr add 192.0.2.2/24 dev eth0 && ip -n ptt-out addr add 2001:db8::2/64 dev eth0
ip -n ptt-out link set eth0 up && ip -n ptt-out link set lo up
# A node's default route; proxyArp needs one that covers 169.254.1.1 (see README).
ip route add default via 192.0.2.2 && ip -6 route add default via 2001:db8::2

# conf VERSION LAYOUT(ref|proxy) FAMILIES(4|6|46) [EXTRA_KEYS]
conf() {
	local ranges=() routes=() px=false
	[[ $3 == *4* ]] && ranges+=('[{"subnet":"10.77.0.0/24"}]') && routes+=('{"dst":"0.0.0.0/0"}')
	[[ $3 == *6* ]] && ranges+=('[{"subnet":"fd77::/64"}]') && routes+=('{"dst":"::/0"}')
	[ "$2" = proxy ] && px=true
	local IFS=,
	printf '{"cniVersion":"%s","name":"%s","type":"ptp","ipMasq":true,"proxyArp":%s%s,"ipam":{"type":"host-local","ranges":[%s],"routes":[%s]}}' \
		"$1" "$NET" "$px" "${4:+,$4}" "${ranges[*]}" "${routes[*]}"
}
hostveth() { echo "veth$(printf '%s' "$NET:$1:eth0" | sha512sum | cut -c1-8)"; }
with_prev() { jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"; }
# pod_addrs POD FAMILY -> "addr/len" of the pod's global addresses
pod_addrs() { ip -n "$1" -j -"$2" addr show dev eth0 | jq -r '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | join(" ")'; }
pod_ip() { ip -n "$1" -j -"$2" addr show dev eth0 | jq -r '[.[0].addr_info[] | select(.scope == "global")][0].local'; }
pingok() { ip netns exec "$1" ping -c1 -W2 "$2" >/dev/null || fail "$3"; }

# one_case LAYOUT FAMILIES
one_case() {
	local layout=$1 fam=$2 v=1.1.0 f p cid hv a b res
	NET=ptt-$layout$fam
	note "== layout $layout, IPv$fam"
	for p in a b; do
		NETNS=$(mkpod "ptt-$p") CID=ptt-$p
		cni_ok ptp ADD "$(conf $v "$layout" "$fam")"
		# No DAD wait (the reference waits ~1.7 s for dual stack), and none
		# needed: the pod's IPv6 addresses are usable the moment ADD returns.
		[ -z "$(ip -n "ptt-$p" -j -6 addr show dev eth0 | jq -r '.[0].addr_info[] | select(.scope == "global" and .tentative) | .local')" ] ||
			fail "IPv6 address still tentative (DAD pending) after ADD: $(ip -n "ptt-$p" -6 addr show dev eth0)"
		declare -g "RES_$p=$OUT"
	done
	res=$RES_a
	hv=$(hostveth ptt-a)

	note "result"
	jq_ok "$res" ".interfaces[0].name == \"$hv\" and (.interfaces[0] | has(\"sandbox\") | not)" "host veth named $hv"
	jq_ok "$res" '.interfaces[1] | .name == "eth0" and .sandbox == "/run/netns/ptt-a" and (.mac | test("^[0-9a-f:]{17}$"))'
	jq_ok "$res" "[.ips[].interface] | all(. == 1) and length == ${#fam}"
	if [ "$layout" = proxy ]; then
		jq_ok "$res" '.interfaces[0].mac == "ee:ee:ee:ee:ee:ee"'
		jq_ok "$res" 'all(.ips[]; (.address | test("/(32|128)$")) and (.gateway == "169.254.1.1" or .gateway == "fe80::ecee:eeff:feee:eeee"))'
		jq_ok "$res" 'all(.routes[]; .gw == "169.254.1.1" or .gw == "fe80::ecee:eeff:feee:eeee")'
	else
		jq_ok "$res" 'all(.ips[]; (.address | test("/(24|64)$")) and (.gateway == "10.77.0.1" or .gateway == "fd77::1"))'
		jq_ok "$res" 'all(.routes[]; has("gw") | not)' "routes are IPAM's, as the reference prints them"
	fi

	note "kernel state, pod and node"
	for f in 4 6; do
		[[ $fam == *$f* ]] || continue
		a=$(pod_ip ptt-a $f)
		local len=24 gw=10.77.0.1 net=10.77.0.0/24 hl=32
		[ $f = 6 ] && len=64 gw=fd77::1 net=fd77::/64 hl=128
		local routes hroutes haddrs
		routes=$(ip -n ptt-a -j -$f route show dev eth0)
		hroutes=$(ip -j -$f route show dev "$hv")
		haddrs=$(ip -j -$f addr show dev "$hv")
		jq_ok "$hroutes" "any(.[]; .dst == \"$a\" and (.gateway == null))" "node route $a dev $hv"
		if [ "$layout" = proxy ]; then
			assert_eq "$(pod_addrs ptt-a $f)" "$a/$hl" "pod address, /$hl"
			[ $f = 4 ] && gw=169.254.1.1 || gw=fe80::ecee:eeff:feee:eeee
			[ $f = 4 ] && jq_ok "$routes" "any(.[]; .dst == \"$gw\" and .scope == \"link\" and .prefsrc == \"$a\")" "pod: $gw scope link"
			jq_ok "$routes" "any(.[]; .dst == \"$net\" and .gateway == \"$gw\")" "pod: $net via $gw"
			jq_ok "$routes" "any(.[]; .dst == \"default\" and .gateway == \"$gw\")" "pod: default via $gw"
			jq_ok "$haddrs" '[.[].addr_info[]? | select(.scope != "link")] == []' "host veth carries no address"
			[ $f = 6 ] && jq_ok "$haddrs" '[.[0].addr_info[] | .local] == ["fe80::ecee:eeff:feee:eeee"]' "host veth link-local"
			[ $f = 4 ] && { assert_eq "$(sysctl -n net.ipv4.conf.$hv.proxy_arp)" 1 "proxy_arp";
				assert_eq "$(sysctl -n net.ipv4.neigh.$hv.proxy_delay)" 0 "proxy_delay";
				assert_eq "$(sysctl -n net.ipv4.conf.$hv.rp_filter)" 1 "rp_filter default with proxyArp"; }
			jq_ok "$(ip -j link show dev "$hv")" '.[0].address == "ee:ee:ee:ee:ee:ee"'
		else
			assert_eq "$(pod_addrs ptt-a $f)" "$a/$len" "pod keeps the IPAM prefix"
			jq_ok "$routes" "any(.[]; .dst == \"$gw\" and .prefsrc == \"$a\" and (.gateway == null))" "pod: $gw dev eth0"
			[ $f = 4 ] && jq_ok "$routes" "any(.[]; .dst == \"$gw\" and .scope == \"link\")" "pod: $gw scope link"
			jq_ok "$routes" "any(.[]; .dst == \"$net\" and .gateway == \"$gw\" and .prefsrc == \"$a\")" "pod: $net via $gw"
			jq_ok "$routes" "all(.[]; .dst != \"$net\" or .gateway != null)" "pod: connected route replaced"
			jq_ok "$haddrs" "[.[0].addr_info[] | select(.scope != \"link\") | \"\(.local)/\(.prefixlen)\"] == [\"$gw/$hl\"]" "host veth holds $gw/$hl"
			[ $f = 4 ] && jq_ok "$hroutes" "any(.[]; .dst == \"$a\" and .scope == \"host\")" "node route scope host, as the reference"
		fi
		[ $f = 4 ] && assert_eq "$(sysctl -n net.ipv4.ip_forward)" 1 "ip_forward"
		[ $f = 6 ] && { assert_eq "$(sysctl -n net.ipv6.conf.all.forwarding)" 1 "ipv6 forwarding";
			jq_ok "$(ip -n ptt-a -j -6 addr show dev eth0)" 'all(.[0].addr_info[]; (.tentative // false) | not)' "no tentative pod address";
			assert_eq "$(ip netns exec ptt-a sysctl -n net.ipv6.conf.eth0.accept_dad)" 0 "pod accept_dad"; }
	done

	note "packets: node -> pod, pod -> pod through the node, pod -> outside (masqueraded)"
	for f in 4 6; do
		[[ $fam == *$f* ]] || continue
		a=$(pod_ip ptt-a $f) b=$(pod_ip ptt-b $f)
		pingok ptt-a "$b" "pod a cannot reach pod b ($b)"
		pingok ptt-b "$a" "pod b cannot reach pod a ($a)"
		ping -c1 -W2 "$a" >/dev/null || fail "node cannot reach pod $a"
		local out=192.0.2.2
		[ $f = 6 ] && out=2001:db8::2
		pingok ptt-a $out "pod cannot reach the outside host $out (masquerade)"
	done
	if [ "$layout" = proxy ] && [[ $fam == *4* ]]; then
		jq_ok "$(ip -n ptt-a -j neigh show 169.254.1.1)" '.[0].lladdr == "ee:ee:ee:ee:ee:ee"' "169.254.1.1 answered by proxy ARP"
	fi

	note "CHECK passes, then catches a removed host route"
	cni_ok ptp CHECK "$(with_prev "$(conf $v "$layout" "$fam")" "$RES_a")" CNI_NETNS=/run/netns/ptt-a CNI_CONTAINERID=ptt-a
	a=$(jq -r '.ips[0].address | split("/")[0]' <<<"$RES_a")
	ip route del "$a" dev "$hv"
	cni_err ptp CHECK "$(with_prev "$(conf $v "$layout" "$fam")" "$RES_a")" 105 CNI_NETNS=/run/netns/ptt-a CNI_CONTAINERID=ptt-a
	jq_ok "$OUT" '.msg | test("route")'

	note "DEL (twice) leaves nothing"
	for p in a b; do
		local var=RES_$p
		for i in 1 2; do
			cni_ok ptp DEL "$(with_prev "$(conf $v "$layout" "$fam")" "${!var}")" \
				CNI_NETNS=/run/netns/ptt-$p CNI_CONTAINERID=ptt-$p
		done
		ip netns del "ptt-$p"
	done
	assert_eq "$(ip -j link show type veth | jq -r '[.[].ifname | select(. != "ptt-up")] | join(" ")')" "" "veths left"
	assert_eq "$(ip -j route show | jq -c '[.[] | select(.dst | startswith("10.77."))]')" "[]" "v4 routes left"
	assert_eq "$(ip -j -6 route show | jq -c '[.[] | select(.dst | startswith("fd77:"))]')" "[]" "v6 routes left"
	assert_eq "$(find /var/lib/cni/networks/"$NET" -type f ! -name lock ! -name 'last_reserved_ip*' ! -path '*/.*' 2>/dev/null)" "" "leases left"
	assert_eq "$(nft -j list chains 2>/dev/null | jq -r '[.nftables[] | select(.chain.table == "cnip_masq" and (.chain.name | startswith("masq-")))] | length')" 0 "masquerade chains left"
}

for layout in ref proxy; do
	for fam in 4 6 46; do
		one_case $layout $fam
	done
done

note "without ipMasq the outside host gets the pod's own address and cannot answer"
NET=ptt-nomasq NETNS=$(mkpod ptt-c) CID=ptt-c
cni_ok ptp ADD "$(conf 1.0.0 proxy 4 | jq -c '.ipMasq = false')"
pingok ptt-c 192.0.2.1 "pod cannot reach the node's uplink address"
! ip netns exec ptt-c ping -c1 -W1 192.0.2.2 >/dev/null 2>&1 || fail "outside answered an unmasqueraded pod"
cni_ok ptp DEL "$(conf 1.0.0 proxy 4 | jq -c '.ipMasq = false')"
ip netns del ptt-c

note "mtu and rpFilter reach both veth ends / the host veth"
NET=ptt-knobs NETNS=$(mkpod ptt-d) CID=ptt-d
cni_ok ptp ADD "$(conf 1.0.0 ref 4 '"mtu":1400,"rpFilter":2')"
res=$OUT hv=$(hostveth ptt-d)
assert_eq "$(ip -j link show dev "$hv" | jq -r '.[0].mtu')" 1400 "host veth mtu"
assert_eq "$(ip -n ptt-d -j link show dev eth0 | jq -r '.[0].mtu')" 1400 "pod mtu"
assert_eq "$(sysctl -n net.ipv4.conf.$hv.rp_filter)" 2 "rp_filter"
cni_ok ptp CHECK "$(with_prev "$(conf 1.0.0 ref 4 '"mtu":1400,"rpFilter":2')" "$res")"
sysctl -qw net.ipv4.conf.$hv.rp_filter=0
cni_err ptp CHECK "$(with_prev "$(conf 1.0.0 ref 4 '"mtu":1400,"rpFilter":2')" "$res")" 105
jq_ok "$OUT" '.msg | test("rp_filter")'
cni_ok ptp DEL "$(conf 1.0.0 ref 4 '"mtu":1400,"rpFilter":2')"
ip netns del ptt-d
note "proxyArp needs a node route covering 169.254.1.1; CHECK says so when it is missing"
NET=ptt-noroute NETNS=$(mkpod ptt-e) CID=ptt-e
cni_ok ptp ADD "$(conf 1.0.0 proxy 4)"
res=$OUT
cni_ok ptp CHECK "$(with_prev "$(conf 1.0.0 proxy 4)" "$res")"
ip route del default
! ip netns exec ptt-e ping -c1 -W1 192.0.2.1 >/dev/null 2>&1 || fail "pod resolved 169.254.1.1 without a node route"
cni_err ptp CHECK "$(with_prev "$(conf 1.0.0 proxy 4)" "$res")" 105
jq_ok "$OUT" '.msg | test("169.254.1.1")'
ip route add default via 192.0.2.2
cni_ok ptp DEL "$(with_prev "$(conf 1.0.0 proxy 4)" "$res")"
ip netns del ptt-e
note "all good"
