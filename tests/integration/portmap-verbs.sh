#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# portmap's verbs against the kernel, on made-up prevResults: idempotent ADD,
# a duplicate hostPort refused with the holder intact, DEL without netns,
# prevResult or mappings, CHECK (dual stack, drift), GC, removal of what the
# reference portmap (Debian's, iptables-nft) left, and the reference side by
# side on the same inputs: results, errors, and its silent shadowing.
. "$(dirname "$0")/../lib.sh"
. "$FIXTURES/portmap/lib.sh"
IFNAME=eth0
REF=$REF_BIN/portmap
[ -x "$REF" ] || skip "reference portmap not installed"

h() { printf '%s' "$1" | sha512sum | cut -c1-16; }
chain_of() { echo "pm-$(h "$1")-$(h "$2:$3")"; } # NET IFNAME CID
elem() { # MAP KEY-TEXT -> chain the element leads to, or nothing
	nft -j list map inet $PMT "$1" 2>/dev/null | jq -r --arg k "$2" \
		'.nftables[] | select(.map) | .map.elem // [] | .[] | select((.[0].concat | map(tostring) | join(" ")) == $k) | .[1].goto.target'
}
prev() { # IPv4 [IPv6] -> a prevResult with the pod's interface
	jq -nc --arg a "$1" --arg b "${2:-}" '{cniVersion:"1.0.0",interfaces:[{name:"pmpv0"},{name:"eth0",sandbox:"/run/netns/x"}],
		ips:([{address:($a + "/24"),interface:1}] + (if $b == "" then [] else [{address:($b + "/64"),interface:1}] end))}'
}
pconf() { # MAPPINGS-JSON PREV [EXTRA] [VERSION]
	jq -nc --argjson m "$1" --argjson p "$2" --argjson x "${3:-{\}}" --arg v "${4:-1.0.0}" \
		'{cniVersion:$v,name:"pmpnet",type:"portmap",runtimeConfig:{portMappings:$m},prevResult:($p + {cniVersion:$v})} * $x'
}
M1='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"192.0.2.10"}]'
NETNS=$(mkpod pmpv)
# ADD does not need the pod's route; a link makes route_localnet reachable.
ip link add pmpv0 type veth peer name pmpv1
ip addr add 10.95.0.1/24 dev pmpv0 && ip addr add fd95::1/64 dev pmpv0 nodad && ip link set pmpv0 up && ip link set pmpv1 up

note "ADD, ADD again: same ruleset; result is prevResult in the config's version"
PA=$(prev 10.95.0.2 fd95::2)
CA=$(pconf "$M1" "$PA")
CID=pmpa cni_ok portmap ADD "$CA"
[ "$(echo "$OUT" | jq -S .)" = "$(echo "$PA" | jq -S '. + {dns:{}}')" ] || [ "$(echo "$OUT" | jq -S 'del(.dns)')" = "$(echo "$PA" | jq -S .)" ] || fail "result: $OUT"
S1=$(nft list table inet $PMT)
CID=pmpa cni_ok portmap ADD "$CA"
assert_eq "$(nft list table inet $PMT)" "$S1" "second ADD changed the ruleset"
CHA=$(chain_of pmpnet eth0 pmpa)
assert_eq "$(elem hostport4 'tcp 8080')" "$CHA" "v4 wildcard element"
assert_eq "$(elem hostport6 'tcp 8080')" "$CHA" "v6 wildcard element"
assert_eq "$(elem hostip4 '192.0.2.10 udp 5353')" "$CHA" "v4 hostIP element"
assert_eq "$(cat /proc/sys/net/ipv4/conf/pmpv0/route_localnet)" 1 "route_localnet on the link to the pod"
# An older config version gets the result in it (a 0.4.0 prevResult carries ips[].version).
P04=$(echo "$PA" | jq -c '.ips |= map(. + {version: (if (.address | test(":")) then "6" else "4" end)})')
C04=$(pconf "$M1" "$P04" '{}' 0.4.0)
CID=pmpa cni_ok portmap ADD "$C04"
OURS=$OUT
jq_ok "$OURS" '.cniVersion == "0.4.0" and (.ips | length == 2)'
CID=pmpa cni_ok portmap DEL "$C04"
CID=pmpa cni_ok "$REF" ADD "$C04"
assert_eq "$(echo "$OURS" | jq -S 'del(.dns)')" "$(echo "$OUT" | jq -S 'del(.dns)')" "0.4.0 result differs from the reference's"
CID=pmpa cni_ok "$REF" DEL "$C04"
[[ $(iptables-save -t nat) != *CNI-DN-* ]] || fail "reference DEL left its chain"
CID=pmpa cni_ok portmap ADD "$CA"

note "CHECK: dual stack passes; drift and missing prevResult fail"
CID=pmpa cni_ok portmap CHECK "$CA"
CID=pmpa cni_err portmap CHECK "$(pconf "$M1" "$PA" '{}' | jq -c 'del(.prevResult)')" 7
CID=pmpa cni_err portmap CHECK "$(pconf '[{"hostPort":8081,"containerPort":80}]' "$PA")" 105
nft delete element inet $PMT hostport6 '{ tcp . 8080 }'
CID=pmpa cni_err portmap CHECK "$CA" 105
jq_ok "$OUT" '.msg | contains("8080") and contains("tcp")' "CHECK names the missing mapping"
CID=pmpa cni_ok portmap ADD "$CA"
CID=pmpa cni_ok portmap CHECK "$CA"
echo 0 >/proc/sys/net/ipv4/conf/pmpv0/route_localnet
CID=pmpa cni_err portmap CHECK "$CA" 105
CID=pmpa cni_ok portmap ADD "$CA"

note "a second pod asking for the same hostPort fails; the first keeps it"
PB=$(prev 10.95.0.3 fd95::3)
CID=pmpb cni_err portmap ADD "$(pconf '[{"hostPort":9090,"containerPort":90},{"hostPort":8080,"containerPort":80}]' "$PB")" 104
jq_ok "$OUT" '.msg | contains("8080") and contains("tcp") and contains("id: pmpa")' "conflict message names the holder"
assert_eq "$(elem hostport4 'tcp 8080')" "$CHA" "holder lost its element"
assert_eq "$(elem hostport4 'tcp 9090')" "" "the refused ADD left a mapping"
nft list chain inet $PMT "$(chain_of pmpnet eth0 pmpb)" >/dev/null 2>&1 && fail "the refused ADD left its chain"
CID=pmpa cni_ok portmap CHECK "$CA"
# Same port, another protocol or another host address: no conflict.
CID=pmpb cni_ok portmap ADD "$(pconf '[{"hostPort":8080,"containerPort":80,"protocol":"udp"},{"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"192.0.2.11"}]' "$PB")"
# Twice in one request: a config error.
CID=pmpc cni_err portmap ADD "$(pconf '[{"hostPort":7,"containerPort":7},{"hostPort":7,"containerPort":8}]' "$PB")" 7
# The reference accepts the duplicate silently (its rules shadow each other).
CID=pmpr1 cni_ok "$REF" ADD "$(pconf '[{"hostPort":7070,"containerPort":80,"protocol":"tcp"}]' "$PA" '{"name":"pmpref"}')"
CID=pmpr2 cni_ok "$REF" ADD "$(pconf '[{"hostPort":7070,"containerPort":80,"protocol":"tcp"}]' "$PB" '{"name":"pmpref"}')"

note "a repeated ADD with other mappings releases the old ones"
CID=pmpb cni_ok portmap ADD "$(pconf '[{"hostPort":6060,"containerPort":60}]' "$PB")"
assert_eq "$(elem hostport4 'udp 8080')" "" "old mapping kept"
assert_eq "$(elem hostip4 '192.0.2.11 udp 5353')" "" "old hostIP mapping kept"
assert_eq "$(elem hostport4 'tcp 6060')" "$(chain_of pmpnet eth0 pmpb)" "new mapping"

note "DEL without netns, without prevResult, without portMappings"
CID=pmpb NETNS="" cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpnet","type":"portmap"}'
assert_eq "$(elem hostport4 'tcp 6060')" "" "DEL without anything left the mapping"
CID=pmpb NETNS="" cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpnet","type":"portmap"}'
CID=pmpnone cni_ok portmap DEL "$CA"
CID=pmpa cni_ok portmap CHECK "$CA"

note "GC keeps the valid attachments, of this network only"
for c in pmpg1 pmpg2; do
	CID=$c cni_ok portmap ADD "$(pconf "[{\"hostPort\":$((${c#pmpg} + 6000)),\"containerPort\":80,\"protocol\":\"udp\"}]" "$(prev 10.95.0.1${c#pmpg})")"
done
CID=pmpo cni_ok portmap ADD "$(pconf '[{"hostPort":6100,"containerPort":80}]' "$(prev 10.95.0.20)" '{"name":"pmpother"}')"
cni_ok portmap GC '{"cniVersion":"1.1.0","name":"pmpnet","type":"portmap","cni.dev/valid-attachments":[{"containerID":"pmpa","ifname":"eth0"},{"containerID":"pmpg1","ifname":"eth0"}]}'
CID=pmpa cni_ok portmap CHECK "$CA"
assert_eq "$(elem hostport4 'udp 6001')" "$(chain_of pmpnet eth0 pmpg1)" "GC removed a valid attachment"
assert_eq "$(elem hostport4 'udp 6002')" "" "GC kept a stale attachment"
assert_eq "$(elem hostport4 'tcp 6100')" "$(chain_of pmpother eth0 pmpo)" "GC touched another network"
cni_ok portmap GC '{"cniVersion":"1.1.0","name":"pmpnet","type":"portmap","cni.dev/attachments":[]}'
assert_eq "$(elem hostport4 'tcp 8080')" "" "GC with cni.dev/attachments kept pmpa"
CID=pmpo cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpother","type":"portmap"}'
pm_assert_clean

note "what the reference portmap made goes with our DEL and GC"
dn() { echo "CNI-DN-$(printf '%s' "$1$2" | sha512sum | cut -c1-21)"; } # NET CID
CR=$(pconf "$M1" "$PA" '{"name":"pmpref"}')
CID=pmpr3 cni_ok "$REF" ADD "$CR"
[[ $(iptables-save -t nat) == *"-A CNI-HOSTPORT-DNAT "*"-j $(dn pmpref pmpr3)"* ]] || fail "reference made no $(dn pmpref pmpr3): $(iptables-save -t nat)"
[[ $(ip6tables-save -t nat) == *"$(dn pmpref pmpr3)"* ]] || fail "reference made no ip6 chain"
CID=pmpr3 NETNS="" cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpref","type":"portmap"}'
for t in iptables-save ip6tables-save; do
	out=$($t -t nat)
	[[ $out != *"$(dn pmpref pmpr3)"* ]] || fail "$t: our DEL left the reference's chain: $out"
	[[ $out == *"$(dn pmpref pmpr1)"* ]] || fail "$t: our DEL removed another container's chain"
done
cni_ok portmap GC '{"cniVersion":"1.1.0","name":"pmpref","type":"portmap","cni.dev/valid-attachments":[{"containerID":"pmpr2","ifname":"eth0"}]}'
out=$(iptables-save -t nat)
[[ $out != *"$(dn pmpref pmpr1)"* ]] || fail "GC left a stale reference chain"
[[ $out == *"$(dn pmpref pmpr2)"* ]] || fail "GC removed a valid reference chain"
CID=pmpr2 cni_ok portmap DEL "$CR"
# The last one gone, so is the reference's scaffolding (CNI-HOSTPORT-* and the jumps to it).
for t in iptables-save ip6tables-save; do
	out=$($t -t nat)
	[[ $out != *CNI-* ]] || fail "$t: reference chains left: $out"
done
# The reference's nftables backend (v1.6+): rules commented with the container ID.
for fam in ip ip6; do
	a=10.95.0.2 d=10.95.0.2
	[ $fam = ip ] || a=fd95::2 d="[fd95::2]"
	nft -f - <<NFT
table $fam cni_hostport {
	chain hostports {
		tcp dport 8080 dnat to $d:80 comment "pmpr4"
		tcp dport 8081 dnat to $d:80 comment "pmpr5"
	}
	chain hostip_hostports {
	}
	chain masquerading {
		type nat hook postrouting priority srcnat;
		$fam saddr $a $fam daddr $a masquerade comment "pmpr4"
	}
}
NFT
done
CID=pmpr4 NETNS="" cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpref","type":"portmap"}'
for fam in ip ip6; do
	out=$(nft list table $fam cni_hostport)
	[[ $out != *pmpr4* ]] || fail "$fam cni_hostport: our DEL left the reference's rules: $out"
	[[ $out == *pmpr5* ]] || fail "$fam cni_hostport: our DEL removed another container's rule"
done
CID=pmpr5 NETNS="" cni_ok portmap DEL '{"cniVersion":"1.0.0","name":"pmpref","type":"portmap"}'
# Nothing of the reference is left in nftables: no table cni_hostport, no CNI-* chain.
nft -j list ruleset | jq -e '[.nftables[] | (.table.name, .chain.name) // empty | select(. == "cni_hostport" or startswith("CNI-"))] | length == 0' >/dev/null ||
	fail "reference leftovers: $(nft list ruleset)"

note "errors side by side with the reference"
for c in "$(pconf "$M1" "$PA" | jq -c 'del(.prevResult)')" \
	"$(pconf '[{"hostPort":0,"containerPort":80}]' "$PA")" \
	"$(pconf "$M1" "$PA" '{"markMasqBit":40}')" \
	"$(pconf "$M1" "$PA" '{"markMasqBit":3,"externalSetMarkChain":"KUBE-MARK-MASQ"}')"; do
	CID=pmperr cni_run "$REF" ADD "$c"
	[ "$RC" -ne 0 ] || fail "the reference accepted: $c"
	CID=pmperr cni_run portmap ADD "$c"
	[ "$RC" -eq 1 ] && jq_ok "$OUT" '.code > 0 and (.msg | length > 0)' || fail "we accepted: $c"
done

note "nothing left"
CID=pmpa cni_ok portmap DEL "$CA"
CID=pmpa cni_ok portmap DEL "$CA"
pm_assert_clean
pm_assert_no_udp_ct 5353
echo ok
