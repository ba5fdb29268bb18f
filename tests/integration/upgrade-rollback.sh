#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Switching a node between the reference plugins (Debian's, $REF_BIN) and
# ours while pods run, as README "Upgrade and rollback" describes:
# 1. upgrade: pods wired by the reference keep working next to pods wired by
#    ours, and our DEL removes the reference's iptables masquerade and lease;
# 2. rollback with pods running: the reference's DEL of a pod we
#    masqueraded fails on its own missing iptables chain (asserted, so the
#    README stays true), its retry succeeds, our rule is left behind;
# 3. the safe paths: drain (our DEL before switching), or
#    hack/rollback-prepare, after which the reference's DEL succeeds at once.
# shellcheck source=tests/lib.sh
source "$CNIP_TOP/tests/lib.sh"
[ -x "$REF_BIN/bridge" ] || skip "reference plugins not installed in $REF_BIN"
command -v iptables-save >/dev/null || skip "no iptables"
conf='{"cniVersion":"1.0.0","name":"pkgup","type":"bridge","bridge":"pkgupbr0","isGateway":true,"ipMasq":true,
	"ipam":{"type":"host-local","subnet":"10.126.0.0/24"}}'
chain_of() { echo "CNI-$(printf '%s' "pkgup$1" | sha512sum | cut -c1-24)"; }
ours() { CNI_PATH_DIRS=$CNIP_BIN cni_run "$CNIP_BIN/bridge" "$@"; }
ref() { CNI_PATH_DIRS=$REF_BIN cni_run "$REF_BIN/bridge" "$@"; }
ok() { [ "$RC" -eq 0 ] || fail "$1 exited $RC: $OUT"; }
# pod NAME: creates it; the caller sets NETNS/CID.
ip_of() { ip -n "$1" -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local'; }
masq_elems() { nft -j list map inet cnip_masq pods4 2>/dev/null | jq '[.nftables[].map.elem // [] | .[]] | length'; }
leases() { find /var/lib/cni/networks/pkgup -maxdepth 1 -name '10.*' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '; }

note "1. upgrade: a pod wired by the reference, then ours"
NETNS=$(mkpod pkgupA) CID=pkgupA
ref ADD "$conf"; ok "reference ADD A"
grep -q -- "-j $(chain_of pkgupA)" <<<"$(iptables-save -t nat)" || fail "reference masquerade of A missing"
NETNS=$(mkpod pkgupB) CID=pkgupB
ours ADD "$conf"; ok "our ADD B"
a=$(ip_of pkgupA) b=$(ip_of pkgupB)
[ "$a" != "$b" ] || fail "both pods got $a: our host-local ignored the reference's leases"
ip netns exec pkgupA ping -c1 -W2 "$b" >/dev/null || fail "A (reference) cannot reach B (ours)"
ip netns exec pkgupB ping -c1 -W2 "$a" >/dev/null || fail "B (ours) cannot reach A (reference)"
NETNS=/run/netns/pkgupA CID=pkgupA
ours DEL "$conf"; ok "our DEL of A"
grep -q CNI- <<<"$(iptables-save -t nat)" && fail "our DEL left the reference's chain: $(iptables-save -t nat | grep CNI-)"
assert_eq "$(leases)" "$b " "leases after our DEL of A"
NETNS=/run/netns/pkgupB CID=pkgupB
ours DEL "$conf"; ok "our DEL of B"

note "2. rollback with a pod we masqueraded still running"
NETNS=$(mkpod pkgupC) CID=pkgupC
ours ADD "$conf"; ok "our ADD C"
ref DEL "$conf"
[ "$RC" -ne 0 ] || fail "the reference's DEL of our pod succeeded: the README's rollback section is out of date"
grep -q "Chain '$(chain_of pkgupC)' does not exist" <<<"$OUT" ||
	fail "the reference's DEL failed for another reason than its missing chain: $OUT"
note "reference DEL: $(jq -r .msg <<<"$OUT" | awk 'NR == 1')"
ip -n pkgupC link show eth0 >/dev/null 2>&1 && fail "the failed reference DEL kept eth0 (the retry reasoning no longer holds)"
ref DEL "$conf"; ok "the reference's retried DEL"
assert_eq "$(masq_elems)" 1 "our masquerade elements left behind by the reference's DEL"
ours GC "$(jq -c '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments": []}' <<<"$conf")" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
ok "our GC"
assert_eq "$(masq_elems)" 0 "masquerade after our GC"

note "3a. safe: drain (our DEL) before switching"
NETNS=$(mkpod pkgupD) CID=pkgupD
ours ADD "$conf"; ok "our ADD D"
ours DEL "$conf"; ok "our DEL D"
NETNS=$(mkpod pkgupE) CID=pkgupE
ref ADD "$conf"; ok "reference ADD E after the drain"
ref DEL "$conf"; ok "reference DEL E"
assert_eq "$(leases)" "" "leases after the drain and the reference's pod"
grep -q CNI- <<<"$(iptables-save -t nat)" && fail "reference chains left: $(iptables-save -t nat | grep CNI-)"

note "3b. safe: hack/rollback-prepare, then the reference's DEL of our running pods"
NETNS=$(mkpod pkgupF) CID=pkgupF
ours ADD "$conf"; ok "our ADD F"
NETNS=$(mkpod pkgupG) CID=pkgupG
ours ADD "$conf"; ok "our ADD G"
conf6='{"cniVersion":"1.0.0","name":"pkgup6","type":"bridge","bridge":"pkgup6br0","isGateway":true,"ipMasq":true,
	"ipam":{"type":"host-local","ranges":[[{"subnet":"10.127.0.0/24"}],[{"subnet":"fd00:127::/64"}]]}}'
NETNS=$(mkpod pkgupH) CID=pkgupH
ours ADD "$conf6"; ok "our dual-stack ADD H"
f=$(ip_of pkgupF)
out=$("$CNIP_TOP/hack/rollback-prepare" -n)
grep -q "^iptables -w -t nat -N $(chain_of pkgupF) " <<<"$out" || fail "rollback-prepare -n: $out"
out=$("$CNIP_TOP/hack/rollback-prepare")
grep -q '4 chain' <<<"$out" || fail "rollback-prepare (F, G, H for IPv4 and IPv6): $out"
h6=CNI-$(printf '%s' pkgup6pkgupH | sha512sum | cut -c1-24)
ip6tables -w -t nat -L "$h6" -n >/dev/null || fail "no ip6tables chain $h6 for H"
out=$("$CNIP_TOP/hack/rollback-prepare")
grep -q '0 chain' <<<"$out" || fail "rollback-prepare twice: $out"
ip netns exec pkgupG ping -c1 -W2 "$f" >/dev/null || fail "pods stopped working after rollback-prepare"
for p in pkgupF pkgupG; do
	NETNS=/run/netns/$p CID=$p
	ref DEL "$conf"; ok "reference DEL of $p after rollback-prepare"
done
assert_eq "$(leases)" "" "leases after the reference's DEL"
NETNS=/run/netns/pkgupH CID=pkgupH
CNI_PATH_DIRS=$REF_BIN cni_run "$REF_BIN/bridge" DEL "$conf6"
ok "reference dual-stack DEL of H after rollback-prepare"
grep -q CNI- <<<"$(iptables-save -t nat; ip6tables-save -t nat)" && fail "chains left after the reference's DEL: $(iptables-save -t nat; ip6tables-save -t nat)"
nft delete table inet cnip_masq
echo "upgrade-rollback: ok"
