#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Many bridge pods with ipMasq and macspoofchk on one node, driven by 16
# parallel invocations: ADD+CHECK, then CHECK+DEL+DEL. Every CHECK and DEL
# dumps nftables chains and maps while the others change the ruleset, so the
# kernel marks some dumps interrupted (NLM_F_DUMP_INTR); they must be retried,
# never reported (issue 10 #1). 0 errors and nothing left behind. NFA_PODS=400
# for the long form (the default keeps it near a minute on a busy 2-core box).
source "$CNIP_TOP/tests/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
N=${NFA_PODS:-24}
W=16
export C
C=$(jq -nc '{cniVersion:"1.0.0",name:"nfanet",type:"bridge",bridge:"nfabr0",isGateway:true,
	ipMasq:true,macspoofchk:true,ipam:{type:"host-local",dataDir:"/var/lib/cni/nfa",
	ranges:[[{subnet:"10.93.0.0/22"}],[{subnet:"fd93::/64"}]]}}')
export TMP CNIP_BIN

# job VERB... POD: runs each verb for pod nfa-POD, one line per failure in $TMP/err.POD;
# CHECK and DEL get ADD's result as prevResult.
job() {
	local pod=${!#} v out rc conf
	for v in "${@:1:$#-1}"; do
		rc=0 conf=$C
		[ "$v" = ADD ] || conf=$(jq -c --slurpfile p "$TMP/res.$pod" '. + {prevResult: $p[0]}' <<<"$C")
		out=$(printf '%s' "$conf" | env CNI_COMMAND="$v" CNI_CONTAINERID="nfa-c$pod" \
			CNI_NETNS="/run/netns/nfa-p$pod" CNI_IFNAME=eth0 CNI_PATH="$CNIP_BIN" \
			"$CNIP_BIN/bridge" 2>&1) || rc=$?
		[ "$rc" -ne 0 ] || [ "$v" != ADD ] || printf '%s' "$out" >"$TMP/res.$pod"
		[ "$rc" -eq 0 ] || echo "$v nfa-p$pod exit $rc: $out" >>"$TMP/err.$pod"
	done
}
export -f job
errors() { cat "$TMP"/err.* 2>/dev/null | wc -l; }

# Another ruleset writer on the node (kube-proxy, a firewall): a steady stream
# of commits, so that dumps get interrupted often enough to matter.
yes "add table inet nfa_churn; delete table inet nfa_churn" | nft -i >/dev/null 2>&1 &
churn=$!
trap 'kill $churn 2>/dev/null || true' EXIT
start=$SECONDS
for i in $(seq 1 "$N"); do ip netns add "nfa-p$i"; done
note "$N netns in $((SECONDS - start))s"
start=$SECONDS
# The first ADD alone: concurrent first ADDs race on the new bridge's MAC (issue 10 #4, not ours here).
job ADD 1
seq 2 "$N" | xargs -P "$W" -I{} bash -c 'job ADD CHECK {}'
job CHECK 1
t1=$((SECONDS - start))
[ "$(errors)" -eq 0 ] || fail "$(errors) failures in parallel ADD+CHECK: $(head -5 "$TMP"/err.* | cut -c1-400)"
assert_eq "$(nft -j list map inet cnip_masq pods4 | jq '[.nftables[] | select(.map) | .map.elem // [] | .[]] | length')" \
	"$N" "IPv4 masquerade elements after ADD"
note "$N pods: parallel ADD+CHECK by $W workers in ${t1}s, 0 errors"

start=$SECONDS
seq 1 "$N" | xargs -P "$W" -I{} bash -c 'job CHECK DEL DEL {}'
t2=$((SECONDS - start))
[ "$(errors)" -eq 0 ] || fail "$(errors) failures in parallel CHECK+DEL: $(head -5 "$TMP"/err.* | cut -c1-400)"
note "$N pods: parallel CHECK+DEL+DEL by $W workers in ${t2}s, 0 errors"

kill $churn; wait $churn 2>/dev/null || true
left=$(nft -j list ruleset | jq '[.nftables[] | (.chain.name // empty | select(startswith("masq-") or startswith("sc-"))),
	(.map.elem // empty | .[])] | length')
assert_eq "$left" 0 "attachment chains and map elements left"
assert_eq "$(ip -j link show type veth | jq length)" 0 "veths left"
assert_eq "$(find /var/lib/cni/nfa/nfanet -name '10.93.*' 2>/dev/null | wc -l)" 0 "leases left"
