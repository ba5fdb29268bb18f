#!/usr/bin/env bash
# firewall on a node whose iptables FORWARD policy is DROP (as Docker leaves
# it; iptables-nft, table ip filter): chained after our bridge and portmap,
# pods reach out and get replies, a published port DNAT'ed to a pod works
# from outside (the reference admits only replies: asserted side by side),
# new connections straight to a pod address stay dropped, the admin chain
# still overrides, iptables-save still reads the table; CHECK, DEL, GC;
# ingress policies; errors; the reference's leftovers removed.
. "$(dirname "$0")/../lib.sh"

CNICTL=$CNIP_TOP/hack/cnictl
export CNI_PATH=$CNIP_BIN:$REF_BIN CNI_CACHE_DIR=/var/lib/cni/fwl-cache
OUT=fwl-out NODE_IP=192.0.2.1 OUT_IP=192.0.2.2 NODE_IP6=2001:db8:66::1 OUT_IP6=2001:db8:66::2

# The outside: a netns on an uplink, routing the pod subnets to the node (as
# another host of a flat network could), so that traffic straight to a pod
# address is tried too.
ip netns add $OUT
ip link add fwl-up type veth peer name eth0 netns $OUT
ip addr add $NODE_IP/24 dev fwl-up
ip addr add $NODE_IP6/64 dev fwl-up nodad
ip link set fwl-up up
ip -n $OUT addr add $OUT_IP/24 dev eth0
ip -n $OUT addr add $OUT_IP6/64 dev eth0 nodad
ip -n $OUT link set eth0 up
ip -n $OUT link set lo up
ip -n $OUT route add 10.66.0.0/16 via $NODE_IP
ip -n $OUT -6 route add fd66::/16 via $NODE_IP6
ip netns exec $OUT socat TCP6-LISTEN:7000,fork,reuseaddr,ipv6only=0 SYSTEM:'echo outside' </dev/null >/dev/null 2>&1 &
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT

# conflist NAME BRIDGE SUBNET-N [FIREWALL-JSON|none] [FIREWALL-TYPE]
conflist() {
	local fw=${4:-'{}'} type=${5:-firewall}
	jq -n --arg n "$1" --arg br "$2" --arg s4 "10.66.$3.0/24" --arg s6 "fd66:$3::/64" \
		--arg fw "$fw" --arg t "$type" '($fw | if . == "none" then null else fromjson end) as $fw
		| {cniVersion: "1.0.0", name: $n, plugins: ([
		{type: "bridge", bridge: $br, isGateway: true, ipMasq: true,
		 ipam: {type: "host-local", ranges: [[{subnet: $s4}], [{subnet: $s6}]],
			routes: [{dst: "0.0.0.0/0"}, {dst: "::/0"}], dataDir: "/var/lib/cni/fwl"}},
		{type: "portmap", capabilities: {portMappings: true}}]
		+ (if $fw == null then [] else [{type: $t} + $fw] end))}' >"$TMP/$1.conflist"
	echo "$TMP/$1.conflist"
}
caps() { printf '{"portMappings":[{"hostPort":%d,"containerPort":80,"protocol":"tcp"}]}' "$1"; }
# pod NAME CONF HOSTPORT: a pod with an HTTP-ish server on :80; its v4 and v6 addresses in IP4/IP6.
pod() {
	ip netns add "$1"
	R=$("$CNICTL" add "$2" "$1" --id "$1" --cap-args "$(caps "$3")") || fail "ADD $1: $R"
	IP4=$(echo "$R" | jq -r '.ips[] | select(.address | contains(".")) | .address | sub("/.*"; "")')
	IP6=$(echo "$R" | jq -r '.ips[] | select(.address | contains(":")) | .address | sub("/.*"; "")')
	ip netns exec "$1" socat TCP6-LISTEN:80,fork,reuseaddr,ipv6only=0 SYSTEM:"echo $1" </dev/null >/dev/null 2>&1 &
}
unpod() { "$CNICTL" del "$2" "$1" --id "$1" --cap-args "$(caps "$3")" || fail "DEL $1"; ip netns del "$1"; }
# tcp FROM-NETNS ADDR PORT: prints what the server answered ("" if nothing).
tcp() {
	local a=$2
	[[ $a == *:* ]] && a="[$a]"
	ip netns exec "$1" timeout 4 socat -T 2 - "TCP:$a:$3,connect-timeout=2" </dev/null 2>/dev/null || true
}
ipt_save() {
	local out
	out=$(iptables-save 2>&1; ip6tables-save 2>&1)
	[[ $out != *incompatible* ]] || fail "iptables-save cannot read the filter table any more: $out"
	echo "$out"
}

# Our table: its attachment chains; in a listing $T, what leads to one and map $1's element for $2.
fw_chains() { nft -j list table inet cnip_firewall | jq '[.nftables[] | .chain? | select(.) | .name | select(startswith("fw-"))] | length'; }
to_fw_chains() { jq '[.nftables[] | (.rule?, .map?) | select(.) | tostring | select(test("\"(jump|goto)\":\\{\"target\":\"fw-"))] | length' <<<"$T"; }
has_elem() { jq -e --arg m "$1" --arg a "$2" '[.nftables[] | .map // empty | select(.name == $m) | .elem[]? | select(.[0] == $a)] | length == 1' <<<"$T" >/dev/null; }
map_data() { nft -j list map inet cnip_firewall "$1" | jq -r '.nftables[] | .map? | select(.) | .map'; }

note "a node whose FORWARD policy is DROP drops pod traffic when no firewall plugin is chained"
iptables -P FORWARD DROP
ip6tables -P FORWARD DROP
NOFW=$(conflist fwlnofw fwlbr9 9 none)
pod fwl-p0 "$NOFW" 18000
[ -z "$(tcp fwl-p0 $OUT_IP 7000)" ] || fail "the DROP policy does not drop: the test proves nothing"
unpod fwl-p0 "$NOFW" 18000

note "with firewall: the pod reaches out (v4, v6) and gets replies; iptables still reads the table"
C=$(conflist fwlnet fwlbr0 0)
pod fwl-p1 "$C" 18080
P1_4=$IP4 P1_6=$IP6 P1_R=$R
assert_eq "$(tcp fwl-p1 $OUT_IP 7000)" outside "pod -> outside (v4)"
assert_eq "$(tcp fwl-p1 $OUT_IP6 7000)" outside "pod -> outside (v6)"
S=$(ipt_save)
for want in '-A FORWARD -m comment --comment "cnip firewall" -j CNIP-FORWARD' \
	'-A CNIP-FORWARD -m comment --comment "cnip firewall: admin overrides" -j CNI-ADMIN' \
	'-A CNIP-FORWARD -m mark --mark 0x100000/0x100000 -m comment --comment "cnip firewall: accepted by inet cnip_firewall" -j ACCEPT'; do
	[ "$(grep -cxF -- "$want" <<<"$S")" = 2 ] || fail "iptables-save/ip6tables-save lack: $want"$'\n'"$S"
done
grep -q '^:FORWARD DROP' <<<"$S" || fail "the FORWARD policy changed: $S"

note "published port from outside: DNAT'ed new connections reach the pod (the reference drops them)"
assert_eq "$(tcp $OUT $NODE_IP 18080)" fwl-p1 "outside -> node:18080 -> pod"
assert_eq "$(tcp $OUT $NODE_IP6 18080)" fwl-p1 "outside -> [node]:18080 -> pod"
note "but a new connection straight to the pod's address stays dropped, as with the reference"
[ -z "$(tcp $OUT "$P1_4" 80)" ] || fail "outside reached the pod's address directly (v4)"
[ -z "$(tcp $OUT "$P1_6" 80)" ] || fail "outside reached the pod's address directly (v6)"

note "the layout: owner maps, one lookup rule each, no rule or element leading to a pod's chain"
T=$(nft -j list table inet cnip_firewall)
for fam in 4 6; do
	jq -e --arg m "pods$fam" '[.nftables[] | .map // empty | select(.name == $m)][0] | .map == "ifname" and (.type | test("ipv[46]_addr"))' \
		<<<"$T" >/dev/null || fail "pods$fam is not an address : owner map: $T"
done
assert_eq "$(jq '[.nftables[] | .rule? | select(.chain == "forward") | tostring | select(contains("\"@pods"))] | length' <<<"$T")" 6 \
	"forward's lookups in pods4/pods6 (from, replies, published; two families)"
assert_eq "$(to_fw_chains)" 0 \
	"rules and elements leading to a pod's chain"
has_elem pods4 "$P1_4" || fail "no pods4 element for $P1_4"

note "the admin chain overrides: a DROP there cuts the pod off"
iptables -A CNI-ADMIN -s "$P1_4" -j DROP
[ -z "$(tcp fwl-p1 $OUT_IP 7000)" ] || fail "admin DROP did not apply"
iptables -D CNI-ADMIN -s "$P1_4" -j DROP
assert_eq "$(tcp fwl-p1 $OUT_IP 7000)" outside "pod -> outside after the admin rule went"

note "CHECK passes; sees a flushed FORWARD and a missing element; a repeated ADD repairs"
"$CNICTL" check "$C" fwl-p1 --id fwl-p1 || fail "CHECK failed"
iptables -F FORWARD
CK=$("$CNICTL" check "$C" fwl-p1 --id fwl-p1) && fail "CHECK passed without the FORWARD jump"
jq_ok "$CK" '.code == 105 and (.msg | test("FORWARD"))'
# What a runtime would not do, but an operator repairing a node may: ADD the firewall again.
FWC=$(jq -c --argjson p "$P1_R" '.plugins[2] + {cniVersion: "1.0.0", name: "fwlnet", prevResult: $p}' "$C")
cni_ok firewall ADD "$FWC" CNI_CONTAINERID=fwl-p1 CNI_NETNS=/run/netns/fwl-p1
"$CNICTL" check "$C" fwl-p1 --id fwl-p1 || fail "CHECK after the repeated ADD failed"
assert_eq "$(iptables -S FORWARD | grep -c CNIP-FORWARD)" 1 "jumps to CNIP-FORWARD after a repeated ADD"
nft delete element inet cnip_firewall pods4 "{ $P1_4 }"
CK=$("$CNICTL" check "$C" fwl-p1 --id fwl-p1) && fail "CHECK passed without the pod's element"
jq_ok "$CK" ".code == 105 and (.msg | test(\"$P1_4\"))"
cni_ok firewall ADD "$FWC" CNI_CONTAINERID=fwl-p1 CNI_NETNS=/run/netns/fwl-p1
"$CNICTL" check "$C" fwl-p1 --id fwl-p1 || fail "CHECK after the second repair failed"

note "side by side: the reference firewall (Debian v1.1.1) admits only replies, so the published port is dead"
mkdir -p "$TMP/refbin" && cp "$REF_BIN/firewall" "$TMP/refbin/"
RC=$(conflist fwlref fwlbr1 1)
CNI_PATH=$TMP/refbin:$CNIP_BIN:$REF_BIN pod fwl-r1 "$RC" 18081
R_IP4=$IP4
assert_eq "$(tcp fwl-r1 $OUT_IP 7000)" outside "reference: pod -> outside"
[ -z "$(tcp $OUT $NODE_IP 18081)" ] || fail "the reference firewall now admits DNAT'ed connections: update the README"
iptables -S CNI-FORWARD | grep -q -- "-s $R_IP4/32 -j ACCEPT" || fail "no reference rule for $R_IP4"
note "our DEL (prevResult from the cache) removes the reference's per-pod rules"
unpod fwl-r1 "$RC" 18081
RULES=$(iptables -S CNI-FORWARD; ip6tables -S CNI-FORWARD)
! grep -q -- "$R_IP4/32" <<<"$RULES" || fail "reference rules for $R_IP4 left: $RULES"

note "DEL removes the pod's rules and elements (twice, without prevResult, with the netns gone)"
unpod fwl-p1 "$C" 18080
for fam in 4 6; do
	assert_eq "$(nft -j list map inet cnip_firewall pods$fam | jq '[.nftables[] | .map? | select(.) | .elem // [] | length] | add')" 0 "pods$fam elements"
done
assert_eq "$(fw_chains)" 0 "attachment chains"
ip netns add fwl-p2
R=$("$CNICTL" add "$C" fwl-p2 --id fwl-p2 --cap-args "$(caps 18082)")
fw=$(jq -c '.plugins[2] + {cniVersion: "1.0.0", name: "fwlnet"}' "$C")
cni_ok firewall DEL "$fw" CNI_CONTAINERID=fwl-p2 CNI_NETNS=
cni_ok firewall DEL "$fw" CNI_CONTAINERID=fwl-p2 CNI_NETNS=
assert_eq "$(fw_chains)" 0 "attachment chains after DEL without prevResult"
"$CNICTL" del "$C" fwl-p2 --id fwl-p2 --cap-args "$(caps 18082)" >/dev/null || fail "chain DEL"
ip netns del fwl-p2

note "GC removes the attachments of this network that are not listed"
pod fwl-g1 "$C" 18083
pod fwl-g2 "$C" 18084
G2_4=$IP4
cni_ok firewall GC "$(jq -c '.plugins[2] + {cniVersion: "1.1.0", name: "fwlnet"}' "$C")" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(fw_chains)" 2 \
	"attachment chains after GC without cni.dev/valid-attachments (nothing tells stale from live)"
cni_ok firewall GC "$(jq -c '.plugins[2] + {cniVersion: "1.1.0", name: "fwlnet", "cni.dev/valid-attachments": [{containerID: "fwl-g1", ifname: "eth0"}]}' "$C")" \
	CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(fw_chains)" 1 "attachment chains after GC"
nft -j list map inet cnip_firewall pods4 | grep -q "\"$G2_4\"" && fail "GC left $G2_4"
assert_eq "$(tcp fwl-g1 $OUT_IP 7000)" outside "the kept pod still reaches out"
unpod fwl-g1 "$C" 18083
unpod fwl-g2 "$C" 18084

note "ingressPolicy same-bridge: no traffic between isolating bridges, outside still fine; isolated adds the same bridge"
A=$(conflist fwla fwlbra 2 '{"ingressPolicy":"same-bridge"}')
B=$(conflist fwlb fwlbrb 3 '{"ingressPolicy":"same-bridge"}')
O=$(conflist fwlo fwlbro 4 '{"ingressPolicy":"open"}')
pod fwl-a1 "$A" 18090; A1=$IP4
pod fwl-b1 "$B" 18091; B1=$IP4
pod fwl-o1 "$O" 18092; O1=$IP4
[ -z "$(tcp fwl-a1 "$B1" 80)" ] || fail "same-bridge: a pod of fwlbra reached one of fwlbrb"
[ -z "$(tcp fwl-b1 "$A1" 80)" ] || fail "same-bridge: a pod of fwlbrb reached one of fwlbra"
assert_eq "$(tcp fwl-a1 $OUT_IP 7000)" outside "same-bridge: pod -> outside"
assert_eq "$(tcp fwl-a1 "$O1" 80)" fwl-o1 "same-bridge -> a bridge without an ingress policy is allowed, as with the reference"
nft list chain inet cnip_firewall iso-fwlbra | grep -q 'oifname != "fwlbra" oifname vmap @isolating' || fail "no same-bridge rule"
I=$(conflist fwli fwlbra 2 '{"ingressPolicy":"isolated"}')
"$CNICTL" add "$I" fwl-a1 --id fwl-a1x --ifname eth1 >/dev/null || fail "isolated ADD"
nft list chain inet cnip_firewall iso-fwlbra | grep -q 'oifname "fwlbra" drop' || fail "no isolated rule"
"$CNICTL" del "$I" fwl-a1 --id fwl-a1x --ifname eth1 >/dev/null || fail "isolated DEL"
unpod fwl-a1 "$A" 18090
unpod fwl-b1 "$B" 18091
unpod fwl-o1 "$O" 18092

note "upgrade: the verdict maps of an earlier cnip are rewritten by the next DEL, ADD or GC, with no gap"
pod fwl-u1 "$C" 18095
U1_4=$IP4 U1_6=$IP6
# What earlier versions made: pods4/pods6 address : jump fw-..., forward looking them up by vmap.
{
	echo "flush chain inet cnip_firewall forward"
	echo "delete map inet cnip_firewall pods4"
	echo "delete map inet cnip_firewall pods6"
	echo "add map inet cnip_firewall pods4 { type ipv4_addr : verdict; }"
	echo "add map inet cnip_firewall pods6 { type ipv6_addr : verdict; }"
	echo "add rule inet cnip_firewall forward meta mark set meta mark & 0xffefffff"
	echo "add rule inet cnip_firewall forward iifname vmap @isolation"
	echo "add rule inet cnip_firewall forward ip saddr vmap @pods4"
	echo "add rule inet cnip_firewall forward ip6 saddr vmap @pods6"
	echo "add rule inet cnip_firewall forward ip daddr vmap @pods4"
	echo "add rule inet cnip_firewall forward ip6 daddr vmap @pods6"
	nft -j list table inet cnip_firewall | jq -r '.nftables[] | .rule // empty | select(.chain | startswith("fw-")) | select(.comment) |
		"add element inet cnip_firewall pods\(if (.comment | contains(":")) then 6 else 4 end) { \(.comment | sub("/.*"; "")) : jump \(.chain) }"' | sort -u
} >"$TMP/v1.nft"
nft -f "$TMP/v1.nft" || fail "could not write the earlier layout"
nft list map inet cnip_firewall pods4 | grep -q "$U1_4 : jump fw-" || fail "earlier layout not in place: $(nft list table inet cnip_firewall)"
assert_eq "$(tcp fwl-u1 $OUT_IP 7000)" outside "earlier layout: pod -> outside"
CK=$("$CNICTL" check "$C" fwl-u1 --id fwl-u1) && fail "CHECK passed on the earlier layout"
jq_ok "$CK" '.code == 105 and (.msg | test("earlier cnip"))'
# A new pod's ADD rewrites the table; the old pod's traffic never depended on which layout.
pod fwl-u2 "$C" 18096
T=$(nft -j list table inet cnip_firewall)
assert_eq "$(jq '[.nftables[] | .map // empty | select(.name | test("^pods")) | select(.map == "ifname")] | length' <<<"$T")" 2 "owner maps after the rewrite"
assert_eq "$(to_fw_chains)" 0 \
	"rules and elements leading to a pod's chain after the rewrite"
for a in "$U1_4" "$IP4"; do
	has_elem pods4 "$a" || fail "no pods4 element for $a after the rewrite"
done
has_elem pods6 "$U1_6" || fail "no pods6 element for $U1_6 after the rewrite"
assert_eq "$(tcp fwl-u1 $OUT_IP 7000)$(tcp fwl-u1 $OUT_IP6 7000)" outsideoutside "rewritten: the old pod -> outside (v4, v6)"
assert_eq "$(tcp fwl-out $NODE_IP 18095)" fwl-u1 "rewritten: outside -> node:18095 -> the old pod"
assert_eq "$(tcp fwl-u2 $OUT_IP 7000)" outside "rewritten: the new pod -> outside"
"$CNICTL" check "$C" fwl-u1 --id fwl-u1 || fail "CHECK of the old pod after the rewrite"
"$CNICTL" check "$C" fwl-u2 --id fwl-u2 || fail "CHECK of the new pod after the rewrite"
# GC and DEL rewrite it too (DEL could not remove a chain an element still jumps to).
nft -f "$TMP/v1.nft" || fail "could not write the earlier layout again"
unpod fwl-u2 "$C" 18096
assert_eq "$(map_data pods4)" ifname "pods4 after a DEL on the earlier layout"
assert_eq "$(fw_chains)" 1 \
	"attachment chains after that DEL"
grep -vF -e " $IP4 :" -e " $IP6 :" "$TMP/v1.nft" >"$TMP/v1b.nft"
nft -f "$TMP/v1b.nft" || fail "could not write the earlier layout a third time"
cni_ok firewall GC "$(jq -c '.plugins[2] + {cniVersion: "1.1.0", name: "fwlnet", "cni.dev/valid-attachments": [{containerID: "fwl-u1", ifname: "eth0"}]}' "$C")" \
	CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(map_data pods6)" ifname "pods6 after a GC on the earlier layout"
"$CNICTL" check "$C" fwl-u1 --id fwl-u1 || fail "CHECK of the old pod after the GC"
unpod fwl-u1 "$C" 18095

note "bad keys"
prev=$(jq -nc '{cniVersion:"1.0.0",interfaces:[{name:"fwlbr0"}],ips:[{address:"10.66.0.9/24",interface:0}]}')
fwc() { jq -nc --argjson x "$1" --argjson p "$prev" '{cniVersion:"1.0.0",name:"fwlnet",type:"firewall",prevResult:$p} * $x'; }
NETNS=$(mkpod fwl-e1); CID=fwl-e1
cni_err firewall ADD "$(fwc '{"backend":"firewalld"}')" 2
jq_ok "$OUT" '.msg | test("backend")'
cni_err firewall ADD "$(fwc '{"backend":"ebtables"}')" 7
cni_err firewall ADD "$(fwc '{"ingressPolicy":"closed"}')" 7
jq_ok "$OUT" '.msg | test("ingress policy")'
cni_err firewall ADD "$(fwc '{"iptablesAdminChainName":"has space"}')" 7
cni_err firewall ADD "$(fwc '{"iptablesAdminChainName":"ACCEPT"}')" 7
cni_err firewall ADD '{"cniVersion":"1.0.0","name":"fwlnet","type":"firewall"}' 7
jq_ok "$OUT" '.msg | test("prevResult")'
assert_eq "$(nft -j list ruleset | jq '[.nftables[] | .map? | select(.) | .elem // [] | .[] | tostring | select(contains("10.66.0.9"))] | length')" 0 "refused ADDs changed nothing"

note "a custom admin chain, and nothing left of any pod"
pod fwl-c1 "$(conflist fwlc fwlbrc 5 '{"iptablesAdminChainName":"FWL-ADMIN"}')" 18093
iptables -S CNIP-FORWARD | grep -q -- '-j FWL-ADMIN' || fail "no jump to FWL-ADMIN"
iptables -S FWL-ADMIN >/dev/null || fail "no chain FWL-ADMIN"
unpod fwl-c1 "$TMP/fwlc.conflist" 18093
left=$(nft -j list ruleset | jq -r '.nftables[] | ((.map // .set | select(.) | .elem // [] | .[] | tostring), (.rule | select(.) | tostring)) | select(test("10\\.66\\.|fd66:"))')
[ -z "$left" ] || fail "left behind: $left"
echo "firewall: all passed"
