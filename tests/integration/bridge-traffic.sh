#!/usr/bin/env bash
# bridge with packets: pod to pod and to the gateway (IPv4 and IPv6), masquerade
# proven by an "outside" namespace with no route back, hairpin proven by a pod
# reaching itself through a DNAT'ed VIP, and 8 parallel ADDs.
. "$(dirname "$0")/../lib.sh"

IFNAME=eth0
ipam_used() { [ -x "$CNIP_BIN/host-local" ] && echo "ours ($CNIP_BIN/host-local)" || echo "reference (/usr/lib/cni/host-local)"; }
note "IPAM: $(ipam_used)"

conf() { # name bridge extra-json
	jq -nc --arg n "$1" --arg b "$2" --argjson x "${3:-{\}}" '{cniVersion:"1.0.0",name:$n,type:"bridge",bridge:$b,
		isGateway:true,ipMasq:true,
		ipam:{type:"host-local",ranges:[[{subnet:"10.99.0.0/24"}],[{subnet:"fd99::/64"}]],
		      routes:[{dst:"0.0.0.0/0"},{dst:"::/0"}],dataDir:"/var/lib/cni/brt-traffic"}} * $x'
}
C=$(conf brtnet brt0)

note "two pods, dual stack"
NETNS=$(mkpod brt-a); CID=brt-a; cni_ok bridge ADD "$C"; RA=$OUT
NETNS=$(mkpod brt-b); CID=brt-b; cni_ok bridge ADD "$C"; RB=$OUT
A4=$(echo "$RA" | jq -r '.ips[] | select(.address | test("\\.")) | .address | sub("/.*";"")')
B4=$(echo "$RB" | jq -r '.ips[] | select(.address | test("\\.")) | .address | sub("/.*";"")')
B6=$(echo "$RB" | jq -r '.ips[] | select(.address | test(":")) | .address | sub("/.*";"")')
[ "$A4" != "$B4" ] || fail "same address twice"
ip netns exec brt-a ping -c1 -W2 "$B4" >/dev/null || fail "pod a cannot ping pod b ($B4)"
ip netns exec brt-a ping -c1 -W2 10.99.0.1 >/dev/null || fail "pod a cannot ping the gateway"
# No DAD wait anywhere: IPv6 works right after ADD.
ip netns exec brt-a ping -6 -c1 -W2 "$B6" >/dev/null || fail "pod a cannot ping pod b over IPv6 ($B6)"
ip netns exec brt-a ping -6 -c1 -W2 fd99::1 >/dev/null || fail "pod a cannot ping the IPv6 gateway"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward"
assert_eq "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" 1 "ipv6 forwarding"

note "another pod's ADD leaves the node's neighbour entries and the bridge's MAC alone"
# Setting a link's MAC, even to the one it has, flushes its ARP and ND caches:
# a pinning ADD would make the node forget every pod on the bridge.
ping -c1 -W2 "$A4" >/dev/null && ping -c1 -W2 "$B4" >/dev/null && ping -6 -c1 -W2 "$B6" >/dev/null ||
	fail "the node cannot ping its pods"
neigh_of() { ip -j neigh show dev brt0 | jq -r --arg a "$1" '[.[] | select(.dst == $a)] | length'; }
assert_eq "$(neigh_of "$A4")$(neigh_of "$B4")$(neigh_of "$B6")" 111 "node neighbours of pods a and b"
BRMAC=$(ip -j link show brt0 | jq -r '.[0].address')
NETNS=$(mkpod brt-c); CID=brt-c; cni_ok bridge ADD "$C"
assert_eq "$(neigh_of "$A4")$(neigh_of "$B4")$(neigh_of "$B6")" 111 "node neighbours after pod c's ADD"
assert_eq "$(ip -j link show brt0 | jq -r '.[0].address')" "$BRMAC" "bridge MAC after pod c's ADD"
assert_eq "$(echo "$OUT" | jq -r '.interfaces[0].mac')" "$BRMAC" "bridge MAC in pod c's result"
cni_ok bridge DEL "$C"

note "masquerade: an outside namespace without a route back answers only masqueraded pods"
ip netns add brt-out
ip link add brtout0 type veth peer name eth0 netns brt-out
ip addr add 10.200.0.1/24 dev brtout0 && ip link set brtout0 up
ip -n brt-out addr add 10.200.0.2/24 dev eth0 && ip -n brt-out link set eth0 up && ip -n brt-out link set lo up
ip -6 addr add fd20::1/64 dev brtout0 nodad && ip -n brt-out -6 addr add fd20::2/64 dev eth0 nodad
ip netns exec brt-a ping -c1 -W2 10.200.0.2 >/dev/null || fail "masqueraded pod cannot reach the outside"
ip netns exec brt-a ping -6 -c1 -W2 fd20::2 >/dev/null || fail "masqueraded pod cannot reach the outside over IPv6"
# A third pod on a network without ipMasq is not answered.
NETNS=$(mkpod brt-n); CID=brt-n
CN=$(conf brtnomasq brt2 '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.99.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"/var/lib/cni/brt-nomasq"}}')
cni_ok bridge ADD "$CN" 
ip netns exec brt-n ping -c1 -W1 10.200.0.2 >/dev/null && fail "a pod without masquerade got an answer from outside"
cni_ok bridge DEL "$CN"
# DEL of pod a removes its masquerade: it loses the outside, b keeps it.
CID=brt-a NETNS=/run/netns/brt-a cni_ok bridge DEL "$C"
[ -z "$(ip -n brt-a -o addr show 2>/dev/null | grep 10.99.0)" ] || fail "pod a still has its address"
nft -j list ruleset | jq -e --arg a "$A4" '[.nftables[] | select(.rule) | .rule | tostring | select(contains($a))] | length == 0' >/dev/null ||
	fail "masquerade rules of pod a survive its DEL"
ip netns exec brt-b ping -c1 -W2 10.200.0.2 >/dev/null || fail "pod b lost its masquerade with a's DEL"

note "hairpin: a pod reaches itself through a VIP DNAT'ed on the node"
# Bridged frames pass the node's IP hooks (br_netfilter), so the DNAT happens
# while the frame is bridged and must leave by the port it came in on.
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] || skip "br_netfilter not active in this netns"
nft -f - <<EOF
table ip brt_svc {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr 10.96.0.10 dnat to 10.99.2.2
	}
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr 10.99.2.2 ip daddr 10.99.2.2 masquerade
	}
}
EOF
for hp in true false; do
	NETNS=$(mkpod "brt-h$hp"); CID="brt-h$hp"
	CH=$(conf brthair brt1 "{\"hairpinMode\":$hp,\"ipam\":{\"ranges\":[[{\"subnet\":\"10.99.2.0/24\"}]],\"routes\":[{\"dst\":\"10.96.0.0/16\"}],\"dataDir\":\"/var/lib/cni/brt-hair$hp\"}}")
	cni_ok bridge ADD "$CH"
	jq_ok "$OUT" '.ips[0].address == "10.99.2.2/24"'
	assert_eq "$(ip -j -d link show "$(echo "$OUT" | jq -r '.interfaces[1].name')" | jq -r '.[0].linkinfo.info_slave_data.hairpin')" "$hp" "hairpin flag"
	if ip netns exec "brt-h$hp" ping -c1 -W1 10.96.0.10 >/dev/null; then got=true; else got=false; fi
	assert_eq "$got" "$hp" "pod reaches itself through the VIP with hairpinMode=$hp"
	cni_ok bridge DEL "$CH"
done

note "8 parallel ADDs: 8 distinct addresses, all reachable"
for i in $(seq 1 8); do ip netns add "brt-q$i"; done
for i in $(seq 1 8); do
	(printf '%s' "$C" | CNI_COMMAND=ADD CNI_CONTAINERID="brt-q$i" CNI_NETNS="/run/netns/brt-q$i" CNI_IFNAME=eth0 \
		CNI_PATH="$CNIP_BIN:$REF_BIN" "$CNIP_BIN/bridge" >"$TMP/q$i.json" 2>"$TMP/q$i.err"; echo $? >"$TMP/q$i.rc") &
done
wait
for i in $(seq 1 8); do
	[ "$(cat "$TMP/q$i.rc")" = 0 ] || fail "parallel ADD $i failed: $(cat "$TMP/q$i.json" "$TMP/q$i.err")"
done
addrs=$(cat "$TMP"/q*.json | jq -r '.ips[0].address' | sort -u | wc -l)
assert_eq "$addrs" 8 "distinct addresses"
for i in $(seq 1 8); do
	a=$(jq -r '.ips[0].address | sub("/.*";"")' "$TMP/q$i.json")
	ip netns exec brt-b ping -c1 -W2 "$a" >/dev/null || fail "pod q$i ($a) unreachable"
done
for i in $(seq 1 8); do CID="brt-q$i" NETNS="/run/netns/brt-q$i" cni_ok bridge DEL "$C"; done
CID=brt-b NETNS=/run/netns/brt-b cni_ok bridge DEL "$C"
left=$(ip -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length')
assert_eq "$left" 0 "host veths left after DEL of every pod"
note "ok"
