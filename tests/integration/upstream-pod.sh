#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where newest upstream (containernetworking/plugins v1.5 … v1.9) changed the
# pod side of bridge and ptp, we follow it (issue 12). Every case is read
# back from the kernel (ip -j, sysctls under /proc/sys in the pod netns) and
# names the version it follows; where Debian's reference (v1.1.1, REF_BIN)
# still behaves the old way, it runs on the same input and the difference is
# asserted. VLAN keys are in tests/unit/test_bridge_vlan.c (this kernel has no
# VLAN filtering); STATUS is in upstream-status.sh.
. "$(dirname "$0")/../lib.sh"

IFNAME=eth0
[ -x "$REF_BIN/bridge" ] && [ -x "$REF_BIN/ptp" ] || skip "needs Debian's reference plugins in $REF_BIN"

# ups-echo: an IPAM plugin that answers ADD with the config's ipam.result, so
# a case can give addresses without a gateway or routes with any key.
mkdir -p "$TMP/ipam"
cat >"$TMP/ipam/ups-echo" <<'EOS'
#!/bin/sh
conf=$(cat)
[ "$CNI_COMMAND" != ADD ] || printf '%s\n' "$conf" | jq -c '.ipam.result + {cniVersion: .cniVersion}'
EOS
chmod +x "$TMP/ipam/ups-echo"
ECHO_PATH="$TMP/ipam:$CNIP_BIN:$REF_BIN"

pod() { NETNS=$(mkpod "$1"); CID=$1; }
# psys POD KEY: a sysctl of the pod netns, read back from /proc/sys.
psys() { ip netns exec "$1" cat "/proc/sys/net/$2"; }
with_prev() { jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"; }
# v6 POD: the global IPv6 addresses of the pod's eth0, with their flags.
v6() { ip -n "$1" -6 -j addr show dev eth0 scope global | jq -c "[.[0].addr_info[]? | select(.local) | {local, tentative, dadfailed}]"; }
# routes POD: the pod's unicast routes through eth0 in every table, one line
# per destination: dst, table, metric, gateways (sorted), mtu, advmss, scope.
routes() {
	{ ip -n "$1" -4 -j route show table all; ip -n "$1" -6 -j route show table all; } | jq -sc '[add[] |
		select((.type // "unicast") == "unicast" and (.protocol // "") != "kernel") |
		{dst, table: (.table // "main"), metric: (.metric // 0),
		 gw: ([.gateway // empty, (.nexthops[]?.gateway)] | sort),
		 mtu: (.metrics[0]?.mtu), advmss: (.metrics[0]?.advmss), scope: (.scope // "global")}] | sort_by(.dst, .gw)'
}
# dual NAME BRIDGE V4 V6 [EXTRA]: a dual-stack bridge config on host-local.
dual() {
	jq -nc --arg n "$1" --arg b "$2" --arg s4 "$3" --arg s6 "$4" --argjson x "${5:-{\}}" \
		'{cniVersion:"1.0.0",name:$n,type:"bridge",bridge:$b,
		  ipam:{type:"host-local",dataDir:"/var/lib/cni/ups",ranges:[[{subnet:$s4}],[{subnet:$s6}]]}} * $x'
}

note "keep_addr_on_down=1 on IPv6 pod interfaces: the address survives a link flap (upstream v1.7; v1.1.1 loses it)"
# flap PLUGIN POD: the pod's IPv6 addresses after eth0 goes down and up again.
flap() {
	ip -n "$2" link set eth0 down
	ip -n "$2" link set eth0 up
	ip -n "$2" -6 -j addr show dev eth0 scope global | jq -c "[.[0].addr_info[]? | select(.local) | .local]"
}
for plugin in bridge ptp; do
	pod "ups-ka-$plugin"
	if [ $plugin = bridge ]; then
		C=$(dual ups-ka ups0 10.61.0.0/24 fd61::/64)
	else
		C=$(dual ups-ka ups0 10.61.1.0/24 fd61:1::/64 '{"type":"ptp"}' | jq -c 'del(.bridge)')
	fi
	cni_ok $plugin ADD "$C"
	A=$(jq -r '.ips[] | select(.address | contains(":")) | .address | sub("/.*"; "")' <<<"$OUT")
	assert_eq "$(psys "$CID" ipv6/conf/eth0/keep_addr_on_down)" 1 "$plugin: keep_addr_on_down"
	assert_eq "$(flap $plugin "$CID")" "[\"$A\"]" "$plugin: IPv6 address after a flap"
	cni_ok $plugin DEL "$C"
	# Debian's v1.1.1 on the same input: the knob stays 0 and a flap drops the address.
	pod "ups-kr-$plugin"
	cni_ok "$REF_BIN/$plugin" ADD "$C"
	A=$(jq -r '.ips[] | select(.address | contains(":")) | .address | sub("/.*"; "")' <<<"$OUT")
	assert_eq "$(psys "$CID" ipv6/conf/eth0/keep_addr_on_down)" 0 "reference $plugin: keep_addr_on_down"
	assert_eq "$(flap $plugin "$CID")" "[]" "reference $plugin: IPv6 address after a flap"
	cni_ok "$REF_BIN/$plugin" DEL "$C"
done
# An IPv4-only pod: no IPv6 knob is touched (upstream sets it with the first IPv6 address).
pod ups-ka4
C=$(jq -c '.ipam.ranges = [[{subnet:"10.61.2.0/24"}]]' <<<"$(dual ups-ka4 ups0 x x)")
ip netns exec ups-ka4 sh -c 'echo 0 >/proc/sys/net/ipv6/conf/default/keep_addr_on_down'
cni_ok bridge ADD "$C"
assert_eq "$(psys ups-ka4 ipv6/conf/eth0/keep_addr_on_down)" 0 "IPv4-only pod: keep_addr_on_down"
cni_ok bridge DEL "$C"

note "routes sharing a destination (ECMP) all land: IPv4 alternatives, one IPv6 multipath route (v1.1.1 … v1.9 alike)"
# bridge only: a ptp pod's one neighbour is its gateway, so the kernel refuses
# any other next hop there, ours and the reference's alike.
ECMP='[{"dst":"10.200.0.0/16","gw":"10.62.0.10"},{"dst":"10.200.0.0/16","gw":"10.62.0.11"},
       {"dst":"fd99::/64","gw":"fd62::10"},{"dst":"fd99::/64","gw":"fd62::11"}]'
WANT='[{"dst":"10.200.0.0/16","table":"main","metric":0,"gw":["10.62.0.10"],"mtu":null,"advmss":null,"scope":"global"},
       {"dst":"10.200.0.0/16","table":"main","metric":0,"gw":["10.62.0.11"],"mtu":null,"advmss":null,"scope":"global"},
       {"dst":"fd99::/64","table":"main","metric":1024,"gw":["fd62::10","fd62::11"],"mtu":null,"advmss":null,"scope":"global"}]'
pod ups-ecmp
C=$(dual ups-ecmp ups0 10.62.0.0/24 fd62::/64 | jq -c --argjson r "$ECMP" '.ipam.routes = $r')
cni_ok bridge ADD "$C"
R=$OUT
jq_ok "$(routes ups-ecmp)" "map(select(.dst == \"10.200.0.0/16\" or .dst == \"fd99::/64\")) == $WANT" "ECMP routes in the pod"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"
# CHECK sees each next hop of the multipath route: one gone is a difference.
ip -n ups-ecmp -6 route del fd99::/64 via fd62::11 dev eth0
cni_err bridge CHECK "$(with_prev "$C" "$R")" 105
jq_ok "$OUT" '.msg | test("fd99::/64")'
# The reference (already without NLM_F_EXCL in v1.1.1) leaves the same routes.
pod ups-ecmr
cni_ok "$REF_BIN/bridge" ADD "$C"
jq_ok "$(routes ups-ecmr)" "map(select(.dst == \"10.200.0.0/16\" or .dst == \"fd99::/64\")) == $WANT" "reference: ECMP routes"
cni_ok "$REF_BIN/bridge" DEL "$C"
CID=ups-ecmp NETNS=/run/netns/ups-ecmp cni_ok bridge DEL "$C"

note "the same route listed twice is added once, not an error (ours; v1.1.1 and v1.9 fail with 'file exists')"
DUP='[{"dst":"10.201.0.0/16","gw":"10.62.1.1"},{"dst":"10.201.0.0/16","gw":"10.62.1.1"},{"dst":"fd91::/64"},{"dst":"fd91::/64"}]'
for plugin in bridge ptp; do
	pod "ups-dup-$plugin"
	C=$(dual "ups-dup-$plugin" ups0 10.62.1.0/24 fd62:1::/64 | jq -c --argjson r "$DUP" '.ipam.routes = $r')
	[ $plugin = bridge ] || C=$(jq -c '.type = "ptp" | del(.bridge)' <<<"$C")
	cni_ok $plugin ADD "$C"
	R=$OUT
	assert_eq "$(routes "$CID" | jq -c 'map(select(.dst == "10.201.0.0/16" or .dst == "fd91::/64") | .gw)')" \
		'[["10.62.1.1"],["fd62:1::1"]]' "$plugin: duplicate routes"
	cni_ok $plugin CHECK "$(with_prev "$C" "$R")"
	cni_ok $plugin DEL "$C"
	pod "ups-dupr-$plugin"
	cni_run "$REF_BIN/$plugin" ADD "$C"
	[ "$RC" -ne 0 ] || fail "reference $plugin accepted a duplicate route"
	jq_ok "$OUT" '.msg | test("exists")'
	cni_run "$REF_BIN/$plugin" DEL "$C"
done

note "route keys mtu, advmss, priority, table, scope reach the kernel (CNI 1.1; v1.9 applies priority/table/scope, ignores mtu/advmss; v1.1.1 reads no 1.1.0 config)"
# bridge on ups-echo: addresses without a gateway, so a route may be scope link.
pod ups-rk
C=$(jq -nc '{cniVersion:"1.1.0",name:"ups-rk",type:"bridge",bridge:"ups0",ipam:{type:"ups-echo",result:{
	ips:[{address:"10.63.0.5/24"},{address:"fd63::5/64"}],
	routes:[{dst:"10.210.0.0/16",gw:"10.63.0.9",mtu:1280,advmss:1200,priority:55,table:100},
		{dst:"10.211.0.0/16",scope:253},
		{dst:"fd98::/64",gw:"fd63::9",mtu:1300,advmss:1220,priority:77,table:101}]}}}')
cni_ok bridge ADD "$C" CNI_PATH="$ECHO_PATH"
R=$OUT
jq_ok "$R" '.routes[0] == {"dst":"10.210.0.0/16","gw":"10.63.0.9","mtu":1280,"advmss":1200,"priority":55,"table":100}' "route keys in the result"
jq_ok "$R" '.routes[1].scope == 253'
jq_ok "$(routes ups-rk)" '. == [
	{"dst":"10.210.0.0/16","table":"100","metric":55,"gw":["10.63.0.9"],"mtu":1280,"advmss":1200,"scope":"global"},
	{"dst":"10.211.0.0/16","table":"main","metric":0,"gw":[],"mtu":null,"advmss":null,"scope":"link"},
	{"dst":"fd98::/64","table":"101","metric":77,"gw":["fd63::9"],"mtu":1300,"advmss":1220,"scope":"global"}]' \
	"bridge: route keys in the pod"
cni_ok bridge CHECK "$(with_prev "$C" "$R")" CNI_PATH="$ECHO_PATH"
cni_ok bridge DEL "$C" CNI_PATH="$ECHO_PATH"
# ptp on host-local, which reads the keys. Every ptp route has a gateway, and
# the kernel refuses a gateway route of scope link: scope stays global here.
pod ups-rkp
C=$(jq -nc '{cniVersion:"1.1.0",name:"ups-rkp",type:"ptp",ipam:{type:"host-local",dataDir:"/var/lib/cni/ups",
	ranges:[[{subnet:"10.63.1.0/24"}],[{subnet:"fd63:1::/64"}]],
	routes:[{dst:"10.212.0.0/16",mtu:1280,advmss:1200,priority:55,table:100,scope:0},
		{dst:"fd97::/64",mtu:1300,advmss:1220,priority:77,table:101}]}}')
cni_ok ptp ADD "$C"
R=$OUT
jq_ok "$(routes ups-rkp)" '(map(select(.dst == "10.212.0.0/16" or .dst == "fd97::/64"))) == [
	{"dst":"10.212.0.0/16","table":"100","metric":55,"gw":["10.63.1.1"],"mtu":1280,"advmss":1200,"scope":"global"},
	{"dst":"fd97::/64","table":"101","metric":77,"gw":["fd63:1::1"],"mtu":1300,"advmss":1220,"scope":"global"}]' \
	"ptp: route keys in the pod"
cni_ok ptp CHECK "$(with_prev "$C" "$R")"
cni_ok ptp DEL "$C"

note "enabledad: enhanced_dad=1, accept_dad=1, ADD returns once DAD is done (v1.1.1 and v1.9 alike)"
pod ups-dad
# The pod's defaults say 0, so the 1s read back are the plugin's.
ip netns exec ups-dad sh -c 'echo 0 >/proc/sys/net/ipv6/conf/default/enhanced_dad; echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad'
C=$(dual ups-dad ups1 10.64.0.0/24 fd64::/64 '{"enabledad":true}')
cni_ok bridge ADD "$C"
R=$OUT
assert_eq "$(v6 ups-dad)" '[{"local":"fd64::2","tentative":null,"dadfailed":null}]' "enabledad: address settled when ADD returns"
ip -n ups-dad -6 -j addr show dev eth0 | jq -e '[.[0].addr_info[] | select(.scope == "link")] | length == 1 and (.[0].tentative | not)' >/dev/null ||
	fail "enabledad: link-local address still tentative: $(ip -n ups-dad -6 -j addr show dev eth0)"
assert_eq "$(psys ups-dad ipv6/conf/eth0/enhanced_dad)$(psys ups-dad ipv6/conf/eth0/accept_dad)" 11 "enabledad: enhanced_dad, accept_dad"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"
cni_ok bridge DEL "$C"

note "enabledad: a duplicate IPv6 address fails ADD with code 106 and leaves nothing (upstream v1.7; v1.1.1 keeps it dadfailed)"
# ups-dadA holds fd65::100 (added without DAD, so it answers); B and the reference's C ask for it too.
dupconf() {
	jq -nc --arg n "$1" --argjson x "${2:-{\}}" '{cniVersion:"1.0.0",name:$n,type:"bridge",bridge:"ups2",
		ipam:{type:"ups-echo",result:{ips:[{address:"fd65::100/64"}]}}} * $x'
}
pod ups-dadA
cni_ok bridge ADD "$(dupconf ups-dada)" CNI_PATH="$ECHO_PATH"
pod ups-dadB
cni_err bridge ADD "$(dupconf ups-dadb '{"enabledad":true}')" 106 CNI_PATH="$ECHO_PATH"
jq_ok "$OUT" '.msg | test("duplicate address detection failed for fd65::100/64 on eth0")'
[ -z "$(ip -n ups-dadB -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "failed DAD left eth0 in the pod"
hv=veth$(printf '%s' "ups-dadb:ups-dadB:eth0" | sha512sum | cut -c1-8)
! ip link show "$hv" >/dev/null 2>&1 || fail "failed DAD left host veth $hv"
cni_ok bridge DEL "$(dupconf ups-dadb '{"enabledad":true}')" CNI_PATH="$ECHO_PATH"
pod ups-dadC
# The reference returns at once here (it waits only when an IPv6 address has a
# gateway, and v1.1.1 ignores the outcome); its DAD fails after it returned.
cni_ok "$REF_BIN/bridge" ADD "$(dupconf ups-dadc '{"enabledad":true}')" CNI_PATH="$ECHO_PATH"
for _ in $(seq 50); do [ "$(v6 ups-dadC | jq '.[0].dadfailed')" = true ] && break; sleep 0.1; done
assert_eq "$(v6 ups-dadC)" '[{"local":"fd65::100","tentative":true,"dadfailed":true}]' "reference: duplicate kept, dadfailed"
cni_ok "$REF_BIN/bridge" DEL "$(dupconf ups-dadc '{"enabledad":true}')" CNI_PATH="$ECHO_PATH"
CID=ups-dadA NETNS=/run/netns/ups-dadA cni_ok bridge DEL "$(dupconf ups-dada)" CNI_PATH="$ECHO_PATH"

note "disableContainerInterface with an IPAM plugin is code 7 naming both keys (upstream v1.5; v1.1.1 ignores the key)"
pod ups-dci
C=$(dual ups-dci ups3 10.66.0.0/24 fd66::/64 '{"disableContainerInterface":true}')
cni_err bridge ADD "$C" 7
jq_ok "$OUT" '.msg | test("disableContainerInterface") and test("ipam") and test("host-local")'
[ -z "$(ip -j link show ups3 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "refused ADD made the bridge"
[ -z "$(ip -n ups-dci -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "refused ADD left eth0"
[ -z "$(find /var/lib/cni/ups/ups-dci -name '10.*' 2>/dev/null)" ] || fail "refused ADD took a lease"
cni_ok bridge DEL "$C"
# L2 (ipam: {}) is what the key is for: the interface stays down.
cni_ok bridge ADD "$(jq -c '.ipam = {}' <<<"$C")"
ip -n ups-dci -j link show eth0 | jq -e '.[0].flags | index("UP") | not' >/dev/null || fail "pod interface up despite disableContainerInterface"
cni_ok bridge DEL "$(jq -c '.ipam = {}' <<<"$C")"
pod ups-dcr
cni_ok "$REF_BIN/bridge" ADD "$C"
ip -n ups-dcr -j link show eth0 | jq -e '.[0].flags | index("UP")' >/dev/null || fail "reference: expected eth0 up (key ignored)"
jq_ok "$OUT" '.ips | length == 2'
cni_ok "$REF_BIN/bridge" DEL "$C"
note "ok"
