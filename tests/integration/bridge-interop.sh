#!/usr/bin/env bash
# A node switching between the reference plugins (Debian's, /usr/lib/cni) and
# ours: a pod ADDed by the reference bridge is DELeted by ours with nothing
# left (links, leases, the iptables CNI-* masquerade chain), and the other way.
. "$(dirname "$0")/../lib.sh"

[ -x "$REF_BIN/bridge" ] || skip "no reference bridge in $REF_BIN"
command -v iptables >/dev/null || skip "no iptables for the reference's masquerade"
IFNAME=eth0
DATA=/var/lib/cni/brt-interop
C=$(jq -nc '{cniVersion:"0.4.0",name:"brtinterop",type:"bridge",bridge:"brt0",isGateway:true,ipMasq:true,
	ipam:{type:"host-local",subnet:"10.96.5.0/24",dataDir:"/var/lib/cni/brt-interop"}}')
REF_PATH=$REF_BIN
OUR_PATH=$CNIP_BIN:$REF_BIN
leases() { find "$DATA/brtinterop" -name '10.96.*' 2>/dev/null | wc -l; }
veths() { ip -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length'; }
cni_chains() { { iptables -t nat -S 2>/dev/null; ip6tables -t nat -S 2>/dev/null; } | grep -c -- '-N CNI-' || true; }
our_masq() { masq_state; }
with_prev() { echo "$1" | jq -c --argjson p "$2" '. + {prevResult:$p}'; }

note "reference ADD, our DEL (IPAM: $([ -x "$CNIP_BIN/host-local" ] && echo ours || echo reference) for our DEL)"
NETNS=$(mkpod brt-i1); CID=brt-i1
cni_ok "$REF_BIN/bridge" ADD "$C" CNI_PATH="$REF_PATH"
R=$OUT
assert_eq "$(leases)" 1 "reference lease"
[ "$(cni_chains)" -ge 1 ] || fail "the reference made no CNI-* chain"
ip netns exec brt-i1 ping -c1 -W2 10.96.5.1 >/dev/null || fail "reference pod cannot reach its gateway"
cni_ok bridge DEL "$(with_prev "$C" "$R")" CNI_PATH="$OUR_PATH"
assert_eq "$(leases)$(veths)$(cni_chains)" 000 "leases, veths, CNI-* chains after our DEL"
[ -z "$(ip -n brt-i1 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "pod eth0 survived"
grep -q 'CNI-' <<<"$(iptables -t nat -S POSTROUTING)" && fail "a POSTROUTING jump to CNI-* survived"

note "reference ADD, netns gone, our DEL still removes the reference's masquerade chain"
cni_ok "$REF_BIN/bridge" ADD "$C" CNI_PATH="$REF_PATH"
R=$OUT
ip netns del brt-i1
cni_ok bridge DEL "$(with_prev "$C" "$R")" CNI_PATH="$OUR_PATH" CNI_NETNS=/run/netns/brt-i1
assert_eq "$(leases)$(veths)$(cni_chains)" 000 "after our DEL of a vanished reference pod"

note "our ADD, reference DEL"
NETNS=$(mkpod brt-i2); CID=brt-i2
cni_ok bridge ADD "$C" CNI_PATH="$OUR_PATH"
R=$OUT
ip netns exec brt-i2 ping -c1 -W2 10.96.5.1 >/dev/null || fail "our pod cannot reach its gateway"
# The reference's DEL removes lease and link, then fails deleting its iptables
# masquerade chain, which only it makes; its retry (as CRI does) succeeds.
cni_run "$REF_BIN/bridge" DEL "$(with_prev "$C" "$R")" CNI_PATH="$REF_PATH"
[ "$RC" -eq 0 ] || grep -q "does not exist" <<<"$OUT" || fail "reference DEL: $OUT"
cni_ok "$REF_BIN/bridge" DEL "$(with_prev "$C" "$R")" CNI_PATH="$REF_PATH"
assert_eq "$(leases)$(veths)" 00 "leases and veths after the reference's DEL"
[ -z "$(ip -n brt-i2 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "pod eth0 survived"
# The reference knows nothing of our nftables table: our rules stay until our
# DEL or GC runs, which then removes them (a switch back is clean after GC).
left=$(our_masq)
[ "$left" -gt 0 ] || fail "no masquerade of ours left by the reference's DEL: the GC below would test nothing"
cni_ok bridge GC "$(echo "$C" | jq -c '.cniVersion="1.1.0" | . + {"cni.dev/valid-attachments":[]}')" \
	CNI_PATH="$OUR_PATH" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(our_masq)" 0 "our masquerade after GC (was $left after the reference's DEL)"
note "ok"
