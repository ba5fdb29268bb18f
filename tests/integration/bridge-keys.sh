#!/usr/bin/env bash
# Every bridge key of DESIGN.md §2 (plus proxyArp and rpFilter) observed in
# kernel state, results in every version, CHECK (L3 and L2) and its failures.
. "$(dirname "$0")/../lib.sh"

IFNAME=eth0
n=0
# conf VERSION EXTRA-JSON: a fresh network name and data dir per call unless given.
conf() {
	jq -nc --arg v "$1" --argjson x "${2:-{\}}" '{cniVersion:$v,name:"brtkeys",type:"bridge",bridge:"brt0",
		ipam:{type:"host-local",subnet:"10.98.0.0/24",dataDir:"/var/lib/cni/brt-keys"}} * $x'
}
# pod NAME: a new pod netns, sets NETNS and CID
pod() { NETNS=$(mkpod "$1"); CID=$1; }
hostveth() { echo "$OUT" | jq -r '.interfaces[1].name'; }
link_json() { ip -j -d link show "$1" | jq '.[0]'; }
with_prev() { echo "$1" | jq -c --argjson p "$2" '. + {prevResult:$p}'; }
sysctl_of() { cat "/proc/sys/net/$1"; }

note "defaults: cni0-like bridge made, accept_ra=0, veth port up, no gateway, result layout"
pod brt-k1
C=$(conf 1.0.0)
cni_ok bridge ADD "$C"
R=$OUT
jq_ok "$R" '.interfaces | length == 3 and .[0].name == "brt0" and (.[1].name | test("^veth[0-9a-f]{8}$")) and .[2].name == "eth0" and .[2].sandbox == "/run/netns/brt-k1"'
jq_ok "$R" '.ips == [{"interface":2,"address":"10.98.0.2/24","gateway":"10.98.0.1"}]'
H=$(hostveth)
assert_eq "$(link_json brt0 | jq -r .linkinfo.info_kind)" bridge "bridge kind"
assert_eq "$(link_json "$H" | jq -r .master)" brt0 "host veth master"
assert_eq "$(sysctl_of ipv6/conf/brt0/accept_ra)" 0 "bridge accept_ra"
assert_eq "$(echo "$R" | jq -r '.interfaces[0].mac')" "$(link_json brt0 | jq -r .address)" "bridge MAC in result"
assert_eq "$(echo "$R" | jq -r '.interfaces[2].mac')" "$(ip -n brt-k1 -j link show eth0 | jq -r '.[0].address')" "pod MAC in result"
# Deterministic host name: veth + 8 hex of sha512("brtkeys:brt-k1:eth0").
want="veth$(printf '%s' "brtkeys:brt-k1:eth0" | sha512sum | cut -c1-8)"
assert_eq "$H" "$want" "host veth name"
# Not a gateway: no address on the bridge.
[ -z "$(ip -j addr show brt0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')" ] || fail "bridge got an address without isGateway"
assert_eq "$(ip netns exec brt-k1 cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0 "pod accept_dad"
assert_eq "$(ip netns exec brt-k1 cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1 "pod arp_notify"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"

note "CHECK notices what changed: hairpin, pod address, missing host port, gateway"
ip link set "$H" type bridge_slave hairpin on
cni_err bridge CHECK "$(with_prev "$C" "$R")" 105
jq_ok "$OUT" '.msg | test("hairpin")'
ip link set "$H" type bridge_slave hairpin off
ip -n brt-k1 addr del 10.98.0.2/24 dev eth0
cni_err bridge CHECK "$(with_prev "$C" "$R")" 105
jq_ok "$OUT" '.msg | test("10.98.0.2/24")'
ip -n brt-k1 addr add 10.98.0.2/24 dev eth0
ip link set "$H" nomaster
cni_err bridge CHECK "$(with_prev "$C" "$R")" 105
ip link set "$H" master brt0
cni_err bridge CHECK "$C" 7
cni_ok bridge DEL "$C"

note "results in 0.2.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"
for v in 0.2.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	pod "brt-v${v//./}"
	C=$(conf "$v" '{"mtu":1400}')
	cni_ok bridge ADD "$C"
	case $v in
	0.2.0) jq_ok "$OUT" '.cniVersion == "0.2.0" and (.ip4.ip | test("^10\\.98\\.0\\.")) and .ip4.gateway == "10.98.0.1" and (has("interfaces") | not)' ;;
	0.3.1|0.4.0) jq_ok "$OUT" ".cniVersion == \"$v\" and .ips[0].version == \"4\" and .ips[0].interface == 2 and (.interfaces | length) == 3" ;;
	1.0.0) jq_ok "$OUT" '.ips[0] | has("version") | not' ;;
	1.1.0) jq_ok "$OUT" '.interfaces[2].mtu == 1400 and .interfaces[1].mtu == 1400' ;;
	esac
	if [ "$v" != 0.2.0 ] && [ "$v" != 0.3.1 ]; then cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"; fi
	cni_ok bridge DEL "$C"
done

note "isGateway, isDefaultGateway, forceAddress, dns override, ip_forward"
pod brt-k2
C=$(conf 1.0.0 '{"isDefaultGateway":true,"dns":{"nameservers":["10.98.0.53"],"search":["brt.local"]}}')
cni_ok bridge ADD "$C"
R=$OUT
jq_ok "$R" '.routes == [{"dst":"0.0.0.0/0","gw":"10.98.0.1"}] and .dns.nameservers == ["10.98.0.53"] and .dns.search == ["brt.local"]'
ip -j addr show brt0 | jq -e '.[0].addr_info | any(.local == "10.98.0.1" and .prefixlen == 24)' >/dev/null || fail "no gateway on the bridge"
ip -n brt-k2 -j route show default | jq -e '.[0].gateway == "10.98.0.1"' >/dev/null || fail "no default route in the pod"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"
ip addr del 10.98.0.1/24 dev brt0
cni_err bridge CHECK "$(with_prev "$C" "$R")" 105
jq_ok "$OUT" '.msg | test("gateway")'
cni_ok bridge DEL "$C"
# Another IPv4 gateway on the bridge: refused, unless forceAddress replaces it.
ip addr add 10.97.0.1/24 dev brt0
pod brt-k3
C=$(conf 1.0.0 '{"isGateway":true}')
cni_err bridge ADD "$C" 7
jq_ok "$OUT" '.msg | test("already has an IP address")'
[ -z "$(ip -n brt-k3 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "failed ADD left eth0 in the pod"
C=$(conf 1.0.0 '{"isGateway":true,"forceAddress":true}')
cni_ok bridge ADD "$C"
ip -j addr show brt0 | jq -e '[.[0].addr_info[] | select(.family=="inet") | .local] == ["10.98.0.1"]' >/dev/null || fail "forceAddress did not replace the address"
cni_ok bridge DEL "$C"

note "mtu, MAC (CNI_ARGS < args.cni.mac < runtimeConfig.mac), promiscMode, portIsolation, hairpinMode"
pod brt-k4
C=$(conf 1.0.0 '{"bridge":"brt4","mtu":1300,"promiscMode":true,"portIsolation":true}')
cni_ok bridge ADD "$C" CNI_ARGS="IgnoreUnknown=1;MAC=02:42:00:00:00:01;K8S_POD_NAME=x"
H=$(hostveth)
assert_eq "$(ip -n brt-k4 -j link show eth0 | jq -r '.[0].address')" 02:42:00:00:00:01 "MAC from CNI_ARGS"
assert_eq "$(ip -n brt-k4 -j link show eth0 | jq -r '.[0].mtu')" 1300 "pod mtu"
assert_eq "$(link_json "$H" | jq -r .mtu)" 1300 "host veth mtu"
assert_eq "$(link_json brt4 | jq -r .mtu)" 1300 "bridge mtu"
link_json brt4 | jq -e '.flags | index("PROMISC")' >/dev/null || fail "bridge not promiscuous"
assert_eq "$(link_json "$H" | jq -r .linkinfo.info_slave_data.isolated)" true "port isolation"
cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"
cni_ok bridge DEL "$C"
C=$(conf 1.0.0 '{"bridge":"brt4","args":{"cni":{"mac":"02:42:00:00:00:02"}}}')
cni_ok bridge ADD "$C" CNI_ARGS="IgnoreUnknown=true;MAC=02:42:00:00:00:01"
assert_eq "$(ip -n brt-k4 -j link show eth0 | jq -r '.[0].address')" 02:42:00:00:00:02 "args.cni.mac wins over CNI_ARGS"
cni_ok bridge DEL "$C"
C=$(conf 1.0.0 '{"bridge":"brt4","hairpinMode":true,"args":{"cni":{"mac":"02:42:00:00:00:02"}},"runtimeConfig":{"mac":"02:42:00:00:00:03"}}')
cni_ok bridge ADD "$C"
assert_eq "$(ip -n brt-k4 -j link show eth0 | jq -r '.[0].address')" 02:42:00:00:00:03 "runtimeConfig.mac wins"
assert_eq "$(link_json "$(hostveth)" | jq -r .linkinfo.info_slave_data.hairpin)" true "hairpin"
cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"
cni_ok bridge DEL "$C"
cni_err bridge ADD "$(conf 1.0.0 '{"hairpinMode":true,"promiscMode":true}')" 7
cni_err bridge ADD "$(conf 1.0.0)" 4 CNI_ARGS="FOO=1"
# An unknown backend is an unsupported field (code 2), named with its value.
cni_err bridge ADD "$(conf 1.0.0 '{"ipMasq":true,"ipMasqBackend":"pf"}')" 2
jq_ok "$OUT" '.msg | test("ipMasqBackend=\"pf\"")'
[ -z "$(ip -j link show type veth | jq -r '.[].ifname')" ] || fail "a refused config left a veth"

note "vlan: filtering on, PVID untagged port, default VLAN kept or removed; gateway in the VLAN"
if ip link add brtvlanprobe type bridge vlan_filtering 1 2>/dev/null; then
	ip link del brtvlanprobe
	pod brt-k5
	C=$(conf 1.0.0 '{"bridge":"brt5","vlan":100,"isGateway":true}')
	cni_ok bridge ADD "$C"
	H=$(hostveth)
	assert_eq "$(link_json brt5 | jq -r .linkinfo.info_data.vlan_filtering)" 1 "vlan_filtering"
	bridge -j vlan show dev "$H" | jq -e '.[0].vlans | any(.vlan == 100 and (.flags | index("PVID")) and (.flags | index("Egress Untagged")))' >/dev/null || fail "no PVID 100 on $H"
	bridge -j vlan show dev "$H" | jq -e '.[0].vlans | map(.vlan) == [100]' >/dev/null || fail "default VLAN kept although preserveDefaultVlan defaults to false (upstream v1.8)"
	ip -j addr show brt5.100 | jq -e '.[0].addr_info | any(.local == "10.98.0.1")' >/dev/null || fail "gateway not on brt5.100"
	ip netns exec brt-k5 ping -c1 -W2 10.98.0.1 >/dev/null || fail "pod cannot reach its VLAN gateway"
	cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"
	cni_ok bridge DEL "$C"
	C=$(conf 1.0.0 '{"bridge":"brt5","vlan":100,"preserveDefaultVlan":true}')
	cni_ok bridge ADD "$C"
	bridge -j vlan show dev "$(hostveth)" | jq -e '.[0].vlans | any(.vlan == 1)' >/dev/null || fail "default VLAN removed: $(bridge -j vlan show dev "$(hostveth)")"
	cni_ok bridge DEL "$C"

	note "vlanTrunk: tagged ranges on the port, VLAN 1 or vlan as the native VLAN; invalid trunks refused"
	C=$(conf 1.0.0 '{"bridge":"brt6","vlanTrunk":[{"id":42},{"minID":200,"maxID":203}]}')
	cni_ok bridge ADD "$C"
	vl=$(bridge -j vlan show dev "$(hostveth)" | jq -c '[.[0].vlans[] | {vlan, vlanEnd, flags}]')
	jq_ok "$vl" '. == [{"vlan":1,"vlanEnd":null,"flags":["PVID","Egress Untagged"]},{"vlan":42,"vlanEnd":null,"flags":null},{"vlan":200,"vlanEnd":203,"flags":null}]'
	cni_ok bridge DEL "$C"
	C=$(conf 1.0.0 '{"bridge":"brt6","vlan":7,"vlanTrunk":[{"id":42}]}')
	cni_ok bridge ADD "$C"
	vl=$(bridge -j vlan show dev "$(hostveth)" | jq -c '[.[0].vlans[] | {vlan, vlanEnd, flags}]')
	jq_ok "$vl" '. == [{"vlan":7,"vlanEnd":null,"flags":["PVID","Egress Untagged"]},{"vlan":42,"vlanEnd":null,"flags":null}]'
	cni_ok bridge DEL "$C"
else
	# This kernel lacks CONFIG_BRIDGE_VLAN_FILTERING: ADD must fail cleanly, leaving nothing.
	echo "SKIPPED (vlan): bridge vlan_filtering not supported by this kernel"
	pod brt-k5
	cni_err bridge ADD "$(conf 1.0.0 '{"bridge":"brt5","vlan":100}')" 100
	jq_ok "$OUT" '.msg | test("vlan_filtering")'
	! ip link show brt5 2>/dev/null || fail "failed vlan ADD left bridge brt5"
	[ -z "$(ip -n brt-k5 -j link show eth0 2>/dev/null | jq -r '.[0].ifname // empty')" ] || fail "failed vlan ADD left eth0"
fi
cni_err bridge ADD "$(conf 1.0.0 '{"vlanTrunk":[{"minID":5,"maxID":2}]}')" 7
cni_err bridge ADD "$(conf 1.0.0 '{"vlanTrunk":[{"id":4095}]}')" 7
cni_err bridge ADD "$(conf 1.0.0 '{"vlan":7,"vlanTrunk":[{"minID":5,"maxID":9}]}')" 7
cni_err bridge ADD "$(conf 1.0.0 '{"vlan":4095}')" 7

note "enabledad, disableContainerInterface, proxyArp, rpFilter"
pod brt-k6
C=$(conf 1.0.0 '{"bridge":"brt7","enabledad":true,"proxyArp":true,"rpFilter":2}')
cni_ok bridge ADD "$C"
assert_eq "$(ip netns exec brt-k6 cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 1 "accept_dad kept with enabledad"
assert_eq "$(sysctl_of ipv4/conf/brt7/proxy_arp)" 1 "bridge proxy_arp"
assert_eq "$(sysctl_of ipv4/neigh/brt7/proxy_delay)" 0 "bridge proxy_delay"
assert_eq "$(sysctl_of ipv4/conf/brt7/rp_filter)" 2 "bridge rp_filter"
assert_eq "$(sysctl_of "ipv4/conf/$(hostveth)/rp_filter")" 2 "host veth rp_filter"
cni_ok bridge DEL "$C"
cni_err bridge ADD "$(conf 1.0.0 '{"rpFilter":3}')" 7
# With an IPAM plugin it is refused (upstream v1.5; upstream-pod.sh), so L2 only.
C=$(conf 1.0.0 '{"bridge":"brt7","disableContainerInterface":true}' | jq -c '.ipam = {}')
cni_ok bridge ADD "$C"
ip -n brt-k6 -j link show eth0 | jq -e '.[0].flags | index("UP") | not' >/dev/null || fail "pod interface is up despite disableContainerInterface"
cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"
cni_ok bridge DEL "$C"

note "L2 only (ipam: {}): no addresses, and CHECK works (the reference's fails)"
pod brt-k7
C='{"cniVersion":"1.0.0","name":"brtl2","type":"bridge","bridge":"brt8","ipam":{}}'
cni_ok bridge ADD "$C"
jq_ok "$OUT" '(.ips // []) == [] and (.interfaces | length) == 3'
[ -z "$(ip -n brt-k7 -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')" ] || fail "L2 pod got an IPv4 address"
cni_ok bridge CHECK "$(with_prev "$C" "$OUT")"
cni_ok bridge DEL "$C"

note "macspoofchk: only the pod's MAC may enter the bridge from its port"
pod brt-k8
# Its own subnet: 10.98.0.1 is still on brt0 from the forceAddress step.
C=$(conf 1.0.0 '{"bridge":"brt9","macspoofchk":true,"isGateway":true,"ipam":{"subnet":"10.98.9.0/24"}}')
cni_ok bridge ADD "$C"
R=$OUT
M=$(echo "$R" | jq -r '.interfaces[2].mac')
# Capture first: with pipefail, grep -q quitting early can SIGPIPE nft and fail the pipe.
grep -q "ether saddr $M return" <<<"$(nft list table bridge cnip_spoofchk)" || fail "no spoof-check rule for $M"
ip netns exec brt-k8 ping -c1 -W2 10.98.9.1 >/dev/null || fail "pod with its own MAC cannot reach the gateway"
cni_ok bridge CHECK "$(with_prev "$C" "$R")"
ip -n brt-k8 link set eth0 address 02:66:66:66:66:66
ip neigh flush dev brt9
ip netns exec brt-k8 ping -c1 -W1 10.98.9.1 >/dev/null && fail "spoofed MAC got through"
ip -n brt-k8 link set eth0 address "$M"
ip neigh flush dev brt9
ip netns exec brt-k8 ping -c1 -W2 10.98.9.1 >/dev/null || fail "pod back on its own MAC cannot reach the gateway"
cni_ok bridge DEL "$C"
grep -q "ether saddr" <<<"$(nft list table bridge cnip_spoofchk 2>/dev/null)" && fail "spoof-check rules survive DEL"
note "ok"
