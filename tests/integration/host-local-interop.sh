#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A node switching between Debian's reference host-local and ours, with pods
# running: each finds, checks and releases the other's leases, round robin
# carries on from the other's last_reserved_ip, our index follows changes the
# reference makes right after us; GC releases leases of pods that are gone,
# old cid-only leases included.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

C=$(hl_conf hltio '{"ranges": [[{"subnet": "10.60.0.0/24"}], [{"subnet": "fd00:60::/64"}]]}')
D=$NETS/hltio
# The reference's error JSON has no cniVersion: check its exit and message only.
ref_fails() {
	cni_run "$REF" "$@"
	[ "$RC" = 1 ] && echo "$OUT" | jq -e '.msg | length > 0' >/dev/null ||
		fail "reference $1 should have failed: $OUT"
}

# The reference made these pods, then the node switched to us.
CID=a1 cni_ok "$REF" ADD "$C"
CID=a2 cni_ok "$REF" ADD "$C"
CID=a2 IFNAME=net1 cni_ok "$REF" ADD "$C"
CID=a1 cni_ok "$OURS" CHECK "$C"
CID=a1 cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.60.0.2/24 fd00:60::2/64" "retried ADD over a reference lease"
CID=a3 cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.60.0.5/24 fd00:60::5/64" "round robin after the reference's last_reserved_ip"
CID=a2 cni_ok "$OURS" DEL "$C"
assert_eq "$(hl_leases $D | cut -d' ' -f2 | sort | uniq -c | tr -s ' ' | tr -d '\n')" \
	" 2 a1/eth0 2 a2/net1 2 a3/eth0" "leases after our DEL of a2/eth0"
note "ours over the reference's leases: CHECK, retried ADD, round robin, DEL by (cid, ifname)"

# And back: the reference finds and releases ours.
CID=a3 cni_ok "$REF" CHECK "$C"
CID=a3 cni_ok "$REF" DEL "$C"
[ -z "$(hl_leases $D | grep ' a3/')" ] || fail "reference DEL left our lease: $(hl_leases $D)"
CID=a4 cni_ok "$REF" ADD "$C"
assert_eq "$(echo "$OUT" | jq -r '[.ips[].address] | join(" ")')" "10.60.0.6/24 fd00:60::6/64"
# Our index must see what the reference did right after our last run.
CID=a3 cni_err "$OURS" CHECK "$C" 105
CID=a4 cni_ok "$OURS" CHECK "$C"
CID=a4 cni_ok "$OURS" DEL "$C"
CID=a4 ref_fails CHECK "$C"
note "the reference over ours: CHECK, DEL; ours sees the reference's changes at once"

# Quick alternation, within one timestamp tick: ours ADD, reference DEL, ours ADD.
for i in $(seq 1 10); do
	CID=t$i cni_ok "$OURS" ADD "$C"
	CID=t$i cni_ok "$REF" DEL "$C"
	CID=t$i cni_err "$OURS" CHECK "$C" 105
	CID=t$i cni_ok "$REF" ADD "$C"
	CID=t$i cni_ok "$OURS" CHECK "$C"
	CID=t$i cni_ok "$OURS" DEL "$C"
	CID=t$i ref_fails CHECK "$C"
done
note "alternating ADD/DEL between the two, ten rounds, no stale answer"

# Leases of the old format (cid only), as pre-0.7 plugins wrote them.
printf 'old1' >"$D/10.60.0.200"
CID=old1 IFNAME=eth7 cni_ok "$OURS" CHECK "$(hl_conf hltio '{"subnet": "10.60.0.0/24"}')"
CID=old1 IFNAME=eth7 cni_ok "$REF" CHECK "$C"
CID=old1 IFNAME=eth7 cni_ok "$OURS" DEL "$C"
[ ! -e "$D/10.60.0.200" ] || fail "cid-only lease not released"

# GC: keep a1/eth0 and a2/net1 (listed); everything else goes.
printf 'old2' >"$D/10.60.0.201"
printf 'old3' >"$D/10.60.0.202"
: >"$D/10.60.0.203"
CID=g1 cni_ok "$REF" ADD "$C"
CID=g2 cni_ok "$OURS" ADD "$C"
GC=$(hl_conf hltio '{"ranges": [[{"subnet": "10.60.0.0/24"}], [{"subnet": "fd00:60::/64"}]]}' 1.1.0 \
	'{"cni.dev/valid-attachments": [{"containerID": "a1", "ifname": "eth0"},
	  {"containerID": "a2", "ifname": "net1"}, {"containerID": "old2", "ifname": "eth0"}]}')
cni_ok "$OURS" GC "$GC"
assert_eq "$(hl_leases $D)" "$(printf '%s\n' '10.60.0.2 a1/eth0' '10.60.0.201 old2' '10.60.0.4 a2/net1' \
	'fd00:60::2 a1/eth0' 'fd00:60::4 a2/net1' | sort)" "leases after GC"
CID=a1 cni_ok "$OURS" CHECK "$C"
CID=g1 cni_err "$OURS" CHECK "$C" 105
# The older key name works too; without any list nothing is released.
cni_ok "$OURS" GC "$(hl_conf hltio '{"subnet": "10.60.0.0/24"}' 1.1.0)"
assert_eq "$(hl_leases $D | wc -l)" 5
cni_ok "$OURS" GC "$(hl_conf hltio '{"subnet": "10.60.0.0/24"}' 1.1.0 \
	'{"cni.dev/attachments": [{"containerID": "a1", "ifname": "eth0"}]}')"
assert_eq "$(hl_leases $D | cut -d' ' -f2 | sort -u)" "a1/eth0"
cni_ok "$OURS" GC "$(hl_conf hltnever '{"subnet": "10.61.0.0/24"}' 1.1.0 '{"cni.dev/valid-attachments": []}')"
note "GC releases leases of unlisted attachments (ours, the reference's, old and empty ones)"
echo "host-local-interop: ok"
