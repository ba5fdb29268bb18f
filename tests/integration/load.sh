#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Load (issue 10): LOAD_WORKERS (16) workers churn LOAD_PODS (250 here; `make
# load`: the full 1,000, some 5 minutes of both cores under the sanitizer) pods
# through ADD, CHECK and DEL on two networks of one node, each chained with
# portmap as libcni runs a chain: bridge + host-local (ipMasq) -> portmap,
# and ptp + host-local (ipMasq) -> portmap. Each pod has its own netns and one
# hostPort. Each worker keeps LOAD_LIVE (4) pods alive while it adds the next,
# so ADD, CHECK and DEL of some 80 live pods overlap on the same bridge,
# host-local store and nftables tables. The driver is tests/tools/load.c.
# Asserted: every invocation exits 0 with a quiet stderr; no two live pods of a
# network share an address and each pod's eth0 carries its result's address;
# a ping sample between live pods answers; and at the end nothing is left:
# no veth, no lease, no portmap or masquerade element or attachment chain, no
# pod route, no netns.
source "$CNIP_TOP/tests/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
command -v ping >/dev/null || skip "ping not installed"
PODS=${LOAD_PODS:-250}
WORKERS=${LOAD_WORKERS:-16}
LIVE=${LOAD_LIVE:-4}
PING_EVERY=${LOAD_PING_EVERY:-10}
# Each network's range: 10.94.0.0/PREFIX (bridge) and 10.94.1.0/PREFIX (ptp). A
# /24 holds 253 pods; 27 with LOAD_LIVE=2 makes host-local wrap around often.
PREFIX=${LOAD_PREFIX:-24}
DATA=/var/lib/cni/load
# LeakSanitizer's scan at exit is half of what a sanitized plugin costs: every
# tenth pod's invocations keep it (the other integration tests run every one).
export LOAD_LSAN_EVERY=${LOAD_LSAN_EVERY:-10}

read -ra cjson <<<"$(pkg-config --cflags --libs libcjson)"
cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$TMP/load" "$CNIP_TOP/tests/tools/load.c" "${cjson[@]}" ||
	fail "cannot build tests/tools/load.c"

jq -n --arg d "$DATA" --arg p "$PREFIX" '{cniVersion:"1.0.0",name:"ldbr",plugins:[
	{type:"bridge",bridge:"ldbr0",isGateway:true,ipMasq:true,hairpinMode:true,
	 ipam:{type:"host-local",ranges:[[{subnet:"10.94.0.0/\($p)"}]],routes:[{dst:"0.0.0.0/0"}],dataDir:$d}},
	{type:"portmap",capabilities:{portMappings:true},snat:true}]}' >"$TMP/bridge.conflist"
jq -n --arg d "$DATA" --arg p "$PREFIX" '{cniVersion:"1.0.0",name:"ldptp",plugins:[
	{type:"ptp",ipMasq:true,
	 ipam:{type:"host-local",ranges:[[{subnet:"10.94.1.0/\($p)"}]],routes:[{dst:"0.0.0.0/0"}],dataDir:$d}},
	{type:"portmap",capabilities:{portMappings:true}}]}' >"$TMP/ptp.conflist"
sysctl -qw net.ipv4.ip_forward=1

note "$PODS pods, $WORKERS workers, $LIVE live per worker, a ping every $PING_EVERY pods"
start=$SECONDS
set +e
"$TMP/load" "$CNIP_BIN" "$PODS" "$WORKERS" "$LIVE" "$PING_EVERY" "$TMP/bridge.conflist" "$TMP/ptp.conflist" \
	>"$TMP/load.out"
rc=$?
set -e
secs=$((SECONDS - start))
{ grep -v "^pods=" "$TMP/load.out" || true; } | head -50 | cut -c1-2000
summary=$(grep '^pods=' "$TMP/load.out" || true)
note "${summary:-the driver printed no summary}"
[ "$rc" -eq 0 ] || fail "the driver reported errors or duplicates (exit $rc)"

leaks=0
leak() { echo "LEAK: $*"; leaks=$((leaks + 1)); }
n=$(ip -j link show type veth | jq length)
[ "$n" -eq 0 ] || leak "$n veths: $(ip -br link show type veth | head -5)"
n=$(find "$DATA" -name '10.94.*' | wc -l)
[ "$n" -eq 0 ] || leak "$n leases: $(find "$DATA" -name '10.94.*' | head -5)"
rs=$(nft -j list ruleset)
n=$(jq '[.nftables[] | (.map // .set // empty) | select(.table == "cnip_masq" or .table == "cnip_hostport")
	| .elem // [] | .[]] | length' <<<"$rs")
[ "$n" -eq 0 ] || leak "$n map or set elements: $(nft list ruleset | grep -A3 elements | head -20)"
n=$(jq '[.nftables[] | .chain // empty | select((.table == "cnip_masq" and (.name | startswith("masq-")))
	or (.table == "cnip_hostport" and (.name | startswith("pm-"))))] | length' <<<"$rs")
[ "$n" -eq 0 ] || leak "$n attachment chains: $(jq -c '[.nftables[] | .chain // empty | .name]' <<<"$rs")"
# The bridge and its subnet route stay (as the reference's bridge); nothing else of the pods.
n=$(ip -j route show | jq --arg d "10.94.0.0/$PREFIX" '[.[] | select((.dev == "ldbr0" and .dst == $d) | not)] | length')
[ "$n" -eq 0 ] || leak "$n routes: $(ip route show | grep -v 'dev ldbr0' | head -5)"
n=$(ip -j -6 route show | jq '[.[] | select(.dev != "ldbr0")] | length')
[ "$n" -eq 0 ] || leak "$n IPv6 routes: $(ip -6 route show | head -5)"
n=$(find /run/netns -mindepth 1 | wc -l)
[ "$n" -eq 0 ] || leak "$n netns: $(find /run/netns -mindepth 1 | head -5)"
[ "$leaks" -eq 0 ] || fail "$leaks kinds of leftovers after $PODS pods"
note "load: $PODS pods churned by $WORKERS workers in ${secs}s: 0 errors, 0 duplicate IPs, 0 leaks"
