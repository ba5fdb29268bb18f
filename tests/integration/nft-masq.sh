# SPDX-License-Identifier: GPL-2.0-or-later
# pkg/nft masquerade against the kernel: ruleset state (idempotent ADD, DEL,
# CHECK, GC, address takeover), real packets through a node, and cleanup of
# what the reference plugins made (iptables-nft chains, nftables backend).
# Uses the tests/tools/nftmasq driver, built here from the sources.
source "$CNIP_TOP/tests/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
M=$TMP/nftmasq
cc -std=gnu11 -D_GNU_SOURCE -I"$CNIP_TOP/include" -Wall -Wextra -Werror -Wno-unused-parameter \
	-O1 -g -fsanitize=address,undefined -o "$M" "$CNIP_TOP/tests/tools/nftmasq.c" \
	"$CNIP_TOP"/pkg/cni/{err,ip,sha512}.c "$CNIP_TOP"/pkg/nft/*.c \
	$(pkg-config --cflags --libs libmnl libnftnl) || fail "building nftmasq"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"

T=cnip_masq
ruleset() { nft -j list ruleset; }
chain_of() { # NET IFNAME CID -> our chain name
	echo "masq-$(printf '%s' "$1" | sha512sum | cut -c1-16)-$(printf '%s' "$2:$3" | sha512sum | cut -c1-16)"
}
# MAP ADDR [NET] -> the owner hash the element holds (its chain's last 16 characters), or nothing;
# with NET, the element ADDR . NET of an excl map.
elem_owner() {
	nft -j list map inet $T "$1" 2>/dev/null | jq -r --arg a "$2" --arg n "${3:-}" \
		'.nftables[] | select(.map) | .map.elem // [] | .[] |
		 select(if $n == "" then .[0] == $a else .[0].concat == [$a, $n] end) | .[1]'
}
elem_chain() { # MAP ADDR -> the chain whose hash owns the pods map element, or nothing
	local o; o=$(elem_owner "$@")
	[ -z "$o" ] || nft -j list chains inet | jq -r --arg t $T --arg o "$o" \
		'.nftables[] | select(.chain.table == $t) | .chain.name | select(endswith($o))'
}
# has TEXT CMD...: CMD's output contains TEXT (no `| grep -q`: with pipefail its SIGPIPE fails the pipe).
has() { local out; out=$("${@:2}" 2>&1) || return 1; [[ $out == *"$1"* ]]; }
nchains() { nft -j list table inet $T | jq '[.nftables[] | select(.chain)] | length'; }

note "add, add again: same ruleset"
$M add nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "add"
A1=$(ruleset)
$M add nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "add again"
assert_eq "$(ruleset)" "$A1" "second ADD changed the ruleset"
C1=$(chain_of nfttnet eth0 cid1)
assert_eq "$(elem_chain pods4 10.22.0.5)" "$C1" "v4 element"
assert_eq "$(elem_chain pods6 fd22::5)" "$C1" "v6 element"
assert_eq "$(elem_owner excl4_16 10.22.0.5 10.22.0.0)" "${C1: -16}" "v4 exclusion element"
assert_eq "$(elem_owner excl6_64 fd22::5 fd22::)" "${C1: -16}" "v6 exclusion element"
jq_ok "$A1" "[.nftables[] | select(.rule and .rule.chain == \"$C1\")] | length == 2" "two rules in $C1"
# No element leads to a chain: each commit stays flat in the number of pods.
jq_ok "$A1" '[.nftables[] | select(.map) | .map.type] | length == 4' "maps pods4, pods6, excl4_16, excl6_64"
jq_ok "$A1" '[.. | objects | select(has("goto") or has("jump"))] | length == 0' "no jump or goto anywhere"
has 'ip saddr . ip daddr & 255.255.0.0 @excl4_16 return' nft list chain inet $T postrouting ||
	fail "v4 exclusion rule: $(nft list chain inet $T postrouting)"
has 'ip6 saddr . ip6 daddr & ffff:ffff:ffff:ffff:: @excl6_64 return' nft list chain inet $T postrouting ||
	fail "v6 exclusion rule"
has 'ip saddr @pods4 masquerade' nft list chain inet $T postrouting || fail "pods4 rule"
jq_ok "$A1" '[.nftables[] | select(.chain.name == "postrouting")][0].chain | .hook == "postrouting" and .prio == 100 and .type == "nat"'
has 'ip saddr 10.22.0.5 ip daddr != 10.22.0.0/16 masquerade' nft list chain inet $T "$C1" || fail "v4 rule text"
has 'ip6 saddr fd22::5 ip6 daddr != fd22::/64 masquerade' nft list chain inet $T "$C1" || fail "v6 rule text"

note "check"
$M check nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "check after add"
nft delete element inet $T excl4_16 '{ 10.22.0.5 . 10.22.0.0 }'
$M check nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 2>/dev/null && fail "check passed without the exclusion"
$M add nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "add mending the exclusion"
$M check nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "check after the mend"
$M check nfttnet cid1 eth0 10.22.0.5/16 2>/dev/null && fail "check with fewer ips passed"
$M check nfttnet cid1 eth0 10.22.0.5/24 fd22::5/64 2>/dev/null && fail "check with another prefix passed"
$M check nfttnet cid9 eth0 10.22.0.5/16 2>/dev/null && fail "check of unknown id passed"
out=$($M check nfttnet cid9 eth0 10.22.0.5/16 2>&1) || true
[[ $out == *code=105* && $out == *missing* ]] || fail "check message: $out"

note "a second attachment; an address taken over; DEL of the old owner keeps it"
$M add nfttnet cid2 eth0 10.22.0.6/16 || fail "add cid2"
C2=$(chain_of nfttnet eth0 cid2)
$M add nfttnet cid3 eth0 10.22.0.6/16 || fail "add cid3 with cid2's address"
C3=$(chain_of nfttnet eth0 cid3)
assert_eq "$(elem_chain pods4 10.22.0.6)" "$C3" "takeover"
$M del nfttnet cid2 eth0 10.22.0.6/16 || fail "del cid2"
assert_eq "$(elem_chain pods4 10.22.0.6)" "$C3" "DEL of old owner removed the new owner's element"
nft list chain inet $T "$C2" >/dev/null 2>&1 && fail "chain of cid2 left"
$M check nfttnet cid3 eth0 10.22.0.6/16 || fail "check cid3"

note "ADD with changed addresses releases the old ones"
$M add nfttnet cid3 eth0 10.22.0.7/16 || fail "re-add cid3"
assert_eq "$(elem_chain pods4 10.22.0.6)" "" "old address still mapped"
assert_eq "$(elem_owner excl4_16 10.22.0.6 10.22.0.0)" "" "old address still excluded"
$M check nfttnet cid3 eth0 10.22.0.7/16 || fail "check cid3 after readd"

note "DEL without addresses, DEL again"
$M del nfttnet cid3 eth0 || fail "del cid3 without ips"
assert_eq "$(elem_chain pods4 10.22.0.7)" "" "element left after DEL without ips"
assert_eq "$(elem_owner excl4_16 10.22.0.7 10.22.0.0)" "" "exclusion left after DEL without ips"
$M del nfttnet cid3 eth0 || fail "del cid3 again"
$M del nfttnet never eth0 10.9.9.9/8 || fail "del of unknown id"
$M check nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "cid1 harmed"

note "GC"
$M add nfttnet cid4 eth1 10.22.0.8/16 || fail "add cid4"
$M add nfttnet cid5 eth0 10.22.0.9/16 || fail "add cid5"
$M add nfttother cid6 eth0 10.23.0.2/16 || fail "add other network"
$M gc nfttnet cid1/eth0 cid4/eth1 || fail "gc"
$M check nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "gc removed kept cid1"
$M check nfttnet cid4 eth1 10.22.0.8/16 || fail "gc removed kept cid4"
$M check nfttother cid6 eth0 10.23.0.2/16 || fail "gc touched another network"
assert_eq "$(elem_chain pods4 10.22.0.9)" "" "gc left cid5's element"
assert_eq "$(nchains)" 4 "chains after gc (postrouting, cid1, cid4, cid6)"
$M gc nfttnet || fail "gc keeping nothing"
assert_eq "$(nchains)" 2 "chains after gc of everything (postrouting, cid6)"
$M del nfttother cid6 eth0 || fail "del cid6"
assert_eq "$(nchains)" 1 "only postrouting left"

note "first ADDs at once on an empty table, three prefix lengths: one rule per length, all pass CHECK"
nft delete table inet $T
for i in $(seq 1 12); do
	len=$((16 + 4 * (i % 3)))
	$M add nfttrace r$i eth0 10.44.$i.2/$len >"$TMP/race.$i" 2>&1 || echo "add r$i: $(cat "$TMP/race.$i")" >>"$TMP/race.err" &
done
wait
[ ! -s "$TMP/race.err" ] || fail "parallel first ADDs: $(cat "$TMP/race.err")"
for i in $(seq 1 12); do
	$M check nfttrace r$i eth0 10.44.$i.2/$((16 + 4 * (i % 3))) || fail "check r$i after parallel ADDs"
done
assert_eq "$(nft list chain inet $T postrouting | grep -o '@[a-z0-9_]*' | sort | tr '\n' ' ')" \
	"@excl4_16 @excl4_20 @excl4_24 @pods4 @pods6 " "sets the base chain looks up"
$M gc nfttrace || fail "gc of the parallel ADDs"
assert_eq "$(nchains)" 1 "only postrouting left after the parallel ADDs' GC"

note "packets: pod -> outside needs masquerade"
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip netns add nfttpod
ip netns add nfttout
ip link add nfttp0 type veth peer name eth0 netns nfttpod
ip link add nftto0 type veth peer name eth0 netns nfttout
ip addr add 10.22.0.1/16 dev nfttp0
ip addr add 192.0.2.1/24 dev nftto0
ip addr add fd22::1/64 dev nfttp0 nodad
ip addr add 2001:db8:22::1/64 dev nftto0 nodad
ip link set nfttp0 up
ip link set nftto0 up
ip -n nfttpod addr add 10.22.0.5/16 dev eth0
ip -n nfttpod addr add fd22::5/64 dev eth0 nodad
ip -n nfttpod link set eth0 up
ip -n nfttpod link set lo up
ip -n nfttpod route add default via 10.22.0.1
ip -n nfttpod -6 route add default via fd22::1
# The outside knows nothing of the pod subnets: only masquerade gets replies back.
ip -n nfttout addr add 192.0.2.2/24 dev eth0
ip -n nfttout addr add 2001:db8:22::2/64 dev eth0 nodad
ip -n nfttout link set eth0 up
ping4() { ip netns exec nfttpod ping -c1 -W1 192.0.2.2 >/dev/null 2>&1; }
ping6() { ip netns exec nfttpod ping -6 -c1 -W1 2001:db8:22::2 >/dev/null 2>&1; }
# Sanity: the node reaches both sides.
ping -c1 -W1 192.0.2.2 >/dev/null || fail "node cannot reach outside"
ping -c1 -W1 10.22.0.5 >/dev/null || fail "node cannot reach pod"

ping4 && fail "v4 ping worked without masquerade"
ping6 && fail "v6 ping worked without masquerade"
$M add nfttnet cid1 eth0 10.22.0.5/16 fd22::5/64 || fail "add for packets"
ping4 || fail "v4 ping failed with masquerade"
ping6 || fail "v6 ping failed with masquerade"
# Inside the pod's prefix: not masqueraded. A second pod of 10.22.0.0/16 behind
# another node veth (the node answers ARP for it) sees the first pod's address.
ip netns add nfttpod2
ip link add nfttp1 type veth peer name eth0 netns nfttpod2
ip addr add 10.22.255.254/32 dev nfttp1
ip link set nfttp1 up
ip route add 10.22.0.9/32 dev nfttp1
sysctl -qw net.ipv4.conf.nfttp0.proxy_arp=1
ip -n nfttpod2 addr add 10.22.0.9/32 dev eth0
ip -n nfttpod2 link set eth0 up
ip -n nfttpod2 route add 10.22.255.254/32 dev eth0
ip -n nfttpod2 route add default via 10.22.255.254
ip netns exec nfttpod2 nft 'add table ip seen; add chain ip seen in { type filter hook input priority 0; };
	add rule ip seen in ip saddr 10.22.0.5 counter; add rule ip seen in ip saddr 10.22.255.254 counter'
seen() {
	ip netns exec nfttpod2 nft -j list chain ip seen in | jq --arg a "$1" \
		'[.nftables[] | select(.rule) | select(.rule.expr[0].match.right == $a) | .rule.expr[1].counter.packets][0]'
}
ip netns exec nfttpod ping -c1 -W1 10.22.0.9 >/dev/null || fail "pod to pod in its prefix"
assert_eq "$(seen 10.22.0.5)/$(seen 10.22.255.254)" "1/0" "traffic inside the prefix masqueraded"
# Without the exclusion element the same ping is masqueraded: the test can tell.
nft delete element inet $T excl4_16 '{ 10.22.0.5 . 10.22.0.0 }'
ip netns exec nfttpod ping -c1 -W1 -p 01 10.22.0.9 >/dev/null || fail "pod to pod, no exclusion"
assert_eq "$(seen 10.22.0.5)/$(seen 10.22.255.254)" "1/1" "without the exclusion: masqueraded"
ip netns del nfttpod2
# The same for IPv6: fd22::9 behind another node veth (the node answers NDP for it).
ip netns add nfttpod3
ip link add nfttp2 type veth peer name eth0 netns nfttpod3
ip addr add fd23::1/128 dev nfttp2 nodad
ip link set nfttp2 up
ip -6 route add fd22::9/128 dev nfttp2
sysctl -qw net.ipv6.conf.nfttp0.proxy_ndp=1
ip -6 neigh add proxy fd22::9 dev nfttp0
ip -n nfttpod3 addr add fd22::9/128 dev eth0 nodad
ip -n nfttpod3 link set eth0 up
ip -n nfttpod3 -6 route add fd23::1/128 dev eth0
ip -n nfttpod3 -6 route add default via fd23::1
# Neighbours resolved first (node and pod3), before anything counts; the proxy answers late.
ping -6 -c1 -W3 fd22::9 >/dev/null || fail "node cannot reach v6 pod 3"
ip netns exec nfttpod3 nft 'add table ip6 seen; add chain ip6 seen in { type filter hook input priority 0; };
	add rule ip6 seen in ip6 saddr fd22::5 counter; add rule ip6 seen in ip6 saddr fd23::1 counter'
seen6() {
	ip netns exec nfttpod3 nft -j list chain ip6 seen in | jq --arg a "$1" \
		'[.nftables[] | select(.rule) | select(.rule.expr[0].match.right == $a) | .rule.expr[1].counter.packets][0]'
}
ip netns exec nfttpod ping -6 -c1 -W5 fd22::9 >/dev/null || fail "v6 pod to pod in its prefix"
assert_eq "$(seen6 fd22::5)/$(seen6 fd23::1)" "1/0" "v6 traffic inside the prefix masqueraded"
nft delete element inet $T excl6_64 '{ fd22::5 . fd22:: }'
ip netns exec nfttpod ping -6 -c1 -W5 -p 01 fd22::9 >/dev/null || fail "v6 pod to pod, no exclusion"
assert_eq "$(seen6 fd22::5)/$(seen6 fd23::1)" "1/1" "v6 without the exclusion: masqueraded"
ip -6 neigh del proxy fd22::9 dev nfttp0
ip netns del nfttpod3
$M del nfttnet cid1 eth0 || fail "del for packets"
conntrack -F >/dev/null 2>&1 || true
ping4 && fail "v4 ping worked after DEL"
ping6 && fail "v6 ping worked after DEL"

note "upgrade: what version 1 made (table inet cnip_masquerade, verdict maps)"
# Written as nft compiles it to what version 1 built (a 4-byte load and a mask).
V1C=$(chain_of nfttv1 eth0 v1a)
V1K=$(chain_of nfttv1 eth0 v1b)
nft -f - <<EOF
table inet cnip_masquerade {
	map masq_ip4 { type ipv4_addr : verdict; }
	map masq_ip6 { type ipv6_addr : verdict; }
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta nfproto ipv4 ip daddr 224.0.0.0/4 return
		meta nfproto ipv6 ip6 daddr ff00::/8 return
		meta nfproto ipv4 ip saddr vmap @masq_ip4
		meta nfproto ipv6 ip6 saddr vmap @masq_ip6
	}
	chain $V1C {
		comment "net: nfttv1, if: eth0, id: v1a"
		meta nfproto ipv4 ip saddr 10.95.0.2 ip daddr & 255.255.0.0 != 10.95.0.0 masquerade comment "10.95.0.2/16"
	}
	chain $V1K {
		comment "net: nfttv1, if: eth0, id: v1b"
		meta nfproto ipv4 ip saddr 10.95.0.3 ip daddr & 255.255.0.0 != 10.95.0.0 masquerade comment "10.95.0.3/16"
	}
}
add element inet cnip_masquerade masq_ip4 { 10.95.0.2 : goto $V1C, 10.95.0.3 : goto $V1K }
EOF
$M check nfttv1 v1a eth0 10.95.0.2/16 || fail "check of a version-1 attachment"
$M check nfttv1 v1a eth0 10.95.0.9/16 2>/dev/null && fail "check of a version-1 attachment, wrong address"
$M del nfttv1 v1a eth0 || fail "del of a version-1 attachment"
nft list chain inet cnip_masquerade "$V1C" >/dev/null 2>&1 && fail "version-1 chain left"
assert_eq "$(nft -j list map inet cnip_masquerade masq_ip4 | jq '[.nftables[] | select(.map) | .map.elem // [] | .[]] | length')" 1 \
	"version-1 elements after DEL"
$M gc nfttv1 v1b/eth0 || fail "gc keeping a version-1 attachment"
nft list chain inet cnip_masquerade "$V1K" >/dev/null || fail "gc removed a kept version-1 attachment"
$M gc nfttv1 || fail "gc of version 1"
nft list table inet cnip_masquerade >/dev/null 2>&1 && fail "version-1 table left once empty"
$M gc nfttv1 || fail "gc again"

note "interop: the reference bridge's iptables rules go away on our DEL"
conf='{"cniVersion":"0.4.0","name":"nfttref","type":"bridge","bridge":"nfttbr0","isGateway":true,"ipMasq":true,
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.98.0.0/16"}],[{"subnet":"fd98::/64"}]]}}'
REFPOD=$(mkpod nfttref1)
CID=nfttrefcid NETNS=$REFPOD CNI_PATH_DIRS=$REF_BIN cni_ok "$REF_BIN/bridge" ADD "$conf"
REFCHAIN=CNI-$(printf '%s' nfttrefnfttrefcid | sha512sum | cut -c1-24)
nft list chain ip nat "$REFCHAIN" >/dev/null || fail "reference made no $REFCHAIN"
nft list chain ip6 nat "$REFCHAIN" >/dev/null || fail "reference made no ip6 $REFCHAIN"
# A second reference pod must keep its rules.
REFPOD2=$(mkpod nfttref2)
CID=nfttrefcid2 NETNS=$REFPOD2 CNI_PATH_DIRS=$REF_BIN cni_ok "$REF_BIN/bridge" ADD "$conf"
REFCHAIN2=CNI-$(printf '%s' nfttrefnfttrefcid2 | sha512sum | cut -c1-24)
$M del nfttref nfttrefcid eth0 || fail "del of a reference attachment"
for fam in ip ip6; do
	nft list chain $fam nat "$REFCHAIN" >/dev/null 2>&1 && fail "$fam nat $REFCHAIN left"
	has "$REFCHAIN" nft list chain $fam nat POSTROUTING && fail "$fam POSTROUTING still jumps to $REFCHAIN"
	has "jump $REFCHAIN2" nft list chain $fam nat POSTROUTING || fail "$fam: other pod's jump removed"
	nft list chain $fam nat "$REFCHAIN2" >/dev/null || fail "$fam: other pod's chain removed"
done
iptables -t nat -S >/dev/null || fail "iptables cannot read ip nat after our DEL"
$M del nfttref nfttrefcid eth0 || fail "second del of a reference attachment"

note "interop: the reference nftables backend's rules"
h() { printf '%s' "$1" | sha512sum | cut -c1-16; }
nft -f - <<EOF
table inet cni_plugins_masquerade {
	chain masq_checks {
		ip saddr 10.97.0.2 ip daddr != 10.97.0.0/16 masquerade comment "$(h nfttnft)-$(h eth0:r1), net: nfttnft, if: eth0, id: r1"
		ip saddr 10.97.0.3 ip daddr != 10.97.0.0/16 masquerade comment "$(h nfttnft)-$(h eth0:r2), net: nfttnft, if: eth0, id: r2"
		ip saddr 10.97.0.4 ip daddr != 10.97.0.0/16 masquerade comment "$(h nfttnft)-$(h eth0:r3), net: nfttnft, if: eth0, id: r3"
		ip6 saddr fd97::4 ip6 daddr != fd97::/64 masquerade comment "$(h nfttnft)-$(h eth0:r3), net: nfttnft, if: eth0, id: r3"
		ip saddr 10.96.0.2 ip daddr != 10.96.0.0/16 masquerade comment "$(h nfttx)-$(h eth0:r1), net: nfttx, if: eth0, id: r1"
	}
}
EOF
nrules() { nft -j list chain inet cni_plugins_masquerade masq_checks | jq '[.nftables[] | select(.rule)] | length'; }
assert_eq "$(nrules)" 5 "reference rules made"
$M del nfttnft r1 eth0 || fail "del r1"
assert_eq "$(nrules)" 4 "after DEL r1"
has '10.97.0.2 ' nft list chain inet cni_plugins_masquerade masq_checks && fail "r1's rule left"
$M gc nfttnft r2/eth0 || fail "gc of reference rules"
assert_eq "$(nrules)" 2 "after GC (r2 and the other network stay)"
has '10.97.0.3 ' nft list chain inet cni_plugins_masquerade masq_checks || fail "kept r2 removed"
has '10.96.0.2 ' nft list chain inet cni_plugins_masquerade masq_checks || fail "other network removed"

echo "ok"
