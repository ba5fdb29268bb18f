#!/usr/bin/env bash
# bridge DEL/GC/STATUS and failure paths: DEL twice, with the netns gone, with
# an empty CNI_NETNS; GC of leases and masquerade rules; a failed ADD (IPAM
# error, pod ifname taken, masquerade refused) leaves nothing; a stale host
# veth from a crashed ADD is replaced.
. "$(dirname "$0")/../lib.sh"

IFNAME=eth0
DATA=/var/lib/cni/brt-life
conf() {
	jq -nc --arg v "${2:-1.1.0}" --argjson x "${1:-{\}}" '{cniVersion:$v,name:"brtlife",type:"bridge",bridge:"brt0",
		isGateway:true,ipMasq:true,macspoofchk:true,
		ipam:{type:"host-local",subnet:"10.97.0.0/24",dataDir:"/var/lib/cni/brt-life"}} * $x'
}
C=$(conf)
leases() { find "$DATA/brtlife" -name '10.97.*' 2>/dev/null | wc -l; }
masq_rules() { masq_state; }
masq_of() { nft -j list ruleset | jq --arg a "$1" '[.nftables[] | select(.rule) | .rule | tostring | select(contains($a))] | length'; }
veths() { ip -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length'; }
spoof_chains() { nft -j list table bridge cnip_spoofchk 2>/dev/null | jq '[.nftables[] | select(.chain) | .chain.name | select(startswith("sc-"))] | length'; }
with_prev() { echo "$1" | jq -c --argjson p "$2" '. + {prevResult:$p}'; }

note "DEL twice, and DEL with an empty CNI_NETNS"
NETNS=$(mkpod brt-l1); CID=brt-l1
cni_ok bridge ADD "$C"
cni_ok bridge DEL "$C"
cni_ok bridge DEL "$C"
assert_eq "$(leases)$(veths)$(masq_rules)$(spoof_chains)" 0000 "leases, veths, masquerade, spoof chains after DEL"
cni_ok bridge ADD "$C"
cni_ok bridge DEL "$C" CNI_NETNS=
# The pod end is still in the netns (we could not see it), but the host end,
# found by its deterministic name, took it along.
assert_eq "$(leases)$(veths)$(masq_rules)$(spoof_chains)" 0000 "state after DEL with empty CNI_NETNS"
[ -z "$(ip -n brt-l1 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "pod eth0 survived"

note "DEL with the netns gone removes the masquerade rules named in prevResult"
cni_ok bridge ADD "$C"
R=$OUT
A=$(echo "$R" | jq -r '.ips[0].address | sub("/.*";"")')
[ "$(masq_of "$A")" -gt 0 ] || fail "no masquerade rule for $A"
ip netns del brt-l1
cni_ok bridge DEL "$(with_prev "$C" "$R")"
assert_eq "$(masq_of "$A")$(leases)$(veths)$(spoof_chains)" 0000 "state after DEL of a vanished netns"
cni_ok bridge DEL "$(with_prev "$C" "$R")"

note "GC removes leases and masquerade of attachments not listed; STATUS forwards to IPAM"
for p in brt-g1 brt-g2 brt-g3; do NETNS=$(mkpod $p); CID=$p; cni_ok bridge ADD "$C"; done
assert_eq "$(leases)" 3 "leases before GC"
G=$(echo "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"brt-g2","ifname":"eth0"}]}')
cni_ok bridge GC "$G" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(leases)" 1 "leases after GC"
# One pod left: its record rule, its pods4 element and its excl4 element.
assert_eq "$(masq_rules)" 3 "masquerade rules and elements after GC"
assert_eq "$(spoof_chains)" 1 "spoof-check chains after GC"
# The older key name works too.
G=$(echo "$C" | jq -c '. + {"cni.dev/attachments":[]}')
cni_ok bridge GC "$G" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(leases)$(masq_rules)" 00 "after GC with an empty list"
cni_ok bridge STATUS "$C" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
cni_err bridge STATUS "$(conf '{"ipam":{"type":"fake-error"}}')" 11 CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME= \
	CNI_PATH="$FIXTURES/ipam:$CNIP_BIN:$REF_BIN"
for p in brt-g1 brt-g2 brt-g3; do CID=$p NETNS=/run/netns/$p cni_ok bridge DEL "$C"; done

note "a failed ADD leaves nothing: IPAM error"
NETNS=$(mkpod brt-f1); CID=brt-f1
cni_err bridge ADD "$(conf '{"ipam":{"type":"fake-error"}}')" 11 CNI_PATH="$FIXTURES/ipam:$CNIP_BIN:$REF_BIN"
assert_eq "$(veths)$(leases)" 00 "veths, leases after failed IPAM"
[ -z "$(ip -n brt-f1 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "eth0 left in the pod"

note "a failed ADD leaves nothing: pod ifname taken (code 104)"
ip -n brt-f1 link add eth0 type veth peer name brtother
cni_err bridge ADD "$C" 104
assert_eq "$(veths)$(leases)$(masq_rules)" 000 "after ADD into a taken ifname"
ip -n brt-f1 link del eth0

note "a failed ADD leaves nothing: masquerade refused (after veth, IPAM, addresses)"
# A set where our masquerade map must go makes the nftables batch fail.
nft delete table inet cnip_masq 2>/dev/null || true
nft add table inet cnip_masq
nft add set inet cnip_masq pods4 '{ type ether_addr; }'
cni_run bridge ADD "$C"
[ "$RC" -eq 1 ] || fail "ADD succeeded despite a broken masquerade table: $OUT"
jq_ok "$OUT" '.code == 101'
assert_eq "$(veths)$(leases)$(spoof_chains)" 000 "veths, leases, spoof chains after failed masquerade"
[ -z "$(ip -n brt-f1 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "eth0 left in the pod"
nft delete table inet cnip_masq

note "a stale host veth of the same attachment (crashed ADD) is replaced"
H="veth$(printf '%s' "brtlife:brt-f1:eth0" | sha512sum | cut -c1-8)"
ip link add "$H" type veth peer name brtstale
cni_ok bridge ADD "$C"
R=$OUT
assert_eq "$(echo "$OUT" | jq -r '.interfaces[1].name')" "$H" "host veth name"
! ip link show brtstale 2>/dev/null || fail "stale peer survived"
ip netns exec brt-f1 ping -c1 -W2 10.97.0.1 >/dev/null || fail "re-ADDed pod cannot reach its gateway"
cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"

note "a second ADD of a live attachment (same container, same ifname) is refused and breaks nothing"
mac=$(ip -n brt-f1 -j link show eth0 | jq -r '.[0].address')
cni_err bridge ADD "$C" 104
assert_eq "$(ip -n brt-f1 -j link show eth0 | jq -r '.[0].address')" "$mac" "the pod's eth0 was replaced"
assert_eq "$(leases)" 1 "the live attachment's lease"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"
ip netns exec brt-f1 ping -c1 -W2 10.97.0.1 >/dev/null || fail "the first attachment stopped working"
cni_ok bridge DEL "$C"
assert_eq "$(veths)$(leases)$(masq_rules)$(spoof_chains)" 0000 "final state"
note "ok"
