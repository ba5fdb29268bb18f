#!/usr/bin/env bash
# loopback as a runtime calls it, plus the protocol's error paths (shared by every plugin's skel).
. "$(dirname "$0")/../lib.sh"

NETNS=$(mkpod lo-p1)
CID=lo-c1
IFNAME=eth0
conf() { printf '{"cniVersion":"%s","name":"lonet","type":"loopback"%s}' "$1" "${2:-}"; }
lo_up() { ip -n lo-p1 -j link show lo | jq -e '.[0].flags | index("UP") != null' >/dev/null; }

note "ADD brings lo up and reports it, in every result version"
! lo_up || fail "lo starts up in a new netns?"
cni_ok loopback ADD "$(conf 1.0.0)"
lo_up || fail "lo is not up after ADD"
jq_ok "$OUT" '.cniVersion == "1.0.0" and .interfaces == [{"name":"lo","mac":"00:00:00:00:00:00","sandbox":"/run/netns/lo-p1"}]'
jq_ok "$OUT" '[.ips[] | .address] == ["127.0.0.1/8","::1/128"] and all(.ips[]; .interface == 0 and (has("version") | not))'
ip netns exec lo-p1 ping -c1 -W1 127.0.0.1 >/dev/null || fail "127.0.0.1 does not answer inside the pod"
cni_ok loopback ADD "$(conf 0.4.0)"
jq_ok "$OUT" '.cniVersion == "0.4.0" and [.ips[].version] == ["4","6"]'
cni_ok loopback ADD "$(conf 1.1.0)"
jq_ok "$OUT" '.cniVersion == "1.1.0" and .interfaces[0].name == "lo"'
# The reference prints a 0.2.0 result in the 0.3 layout (interfaces/ips) under
# "cniVersion":"0.2.0"; a 0.2.0 client cannot read that. We print ip4/ip6.
cni_ok loopback ADD "$(conf 0.2.0)"
jq_ok "$OUT" '. == {"cniVersion":"0.2.0","ip4":{"ip":"127.0.0.1/8"},"ip6":{"ip":"::1/128"},"dns":{}}'
cni_ok loopback ADD "$(conf "")"
jq_ok "$OUT" '.cniVersion == "0.1.0" and .ip4.ip == "127.0.0.1/8"'
# The CRI plugin calls it with CNI_IFNAME=lo; the interface is lo either way.
cni_ok loopback ADD "$(conf 1.0.0)" CNI_IFNAME=lo
jq_ok "$OUT" '.interfaces[0].name == "lo"'

note "chained: a prevResult passes through unchanged (converted to the config version)"
prev='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/lo-p1"}],"ips":[{"interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"}],"dns":{"nameservers":["10.1.0.53"]}}'
cni_ok loopback ADD "$(conf 1.0.0 ",\"prevResult\":$prev")"
jq_ok "$OUT" ". == ($prev | .cniVersion = \"1.0.0\")"
cni_ok loopback ADD "$(conf 0.3.1 ",\"prevResult\":$prev")"
jq_ok "$OUT" '.cniVersion == "0.3.1" and .ips == [{"version":"4","interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"}]'

note "CHECK passes while lo is up and fails once it is down"
cni_ok loopback CHECK "$(conf 1.0.0)"
ip -n lo-p1 link set lo down
cni_err loopback CHECK "$(conf 1.0.0)" 105
jq_ok "$OUT" '.msg | test("lo is down")'
ip -n lo-p1 link set lo up

note "STATUS and GC succeed silently (1.1.0)"
cni_ok loopback STATUS "$(conf 1.1.0)" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$OUT" "" "STATUS output"
cni_ok loopback GC "$(conf 1.1.0 ',"cni.dev/valid-attachments":[]')" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$OUT" "" "GC output"

note "DEL brings lo down, is idempotent, and succeeds with the netns gone or CNI_NETNS empty"
cni_ok loopback DEL "$(conf 1.0.0)"
assert_eq "$OUT" "" "DEL output"
! lo_up || fail "lo still up after DEL"
cni_ok loopback DEL "$(conf 1.0.0)"
cni_ok loopback DEL "$(conf 1.0.0)" CNI_NETNS=
cni_ok loopback DEL "$(conf 1.0.0)" CNI_NETNS=/run/netns/no-such-pod
ip netns add lo-p2
cni_ok loopback ADD "$(conf 1.0.0)" CNI_NETNS=/run/netns/lo-p2
ip netns del lo-p2
cni_ok loopback DEL "$(conf 1.0.0)" CNI_NETNS=/run/netns/lo-p2

note "VERSION echoes the input's cniVersion and needs nothing else"
for v in 0.3.1 1.0.0 1.1.0; do
	OUT=$(printf '{"cniVersion":"%s"}' "$v" | env -i CNI_COMMAND=VERSION "$CNIP_BIN/loopback")
	jq_ok "$OUT" ".cniVersion == \"$v\" and .supportedVersions == [\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
done
OUT=$(env -i CNI_COMMAND=VERSION "$CNIP_BIN/loopback" </dev/null)
jq_ok "$OUT" '.cniVersion == "1.1.0"'

note "no CNI_COMMAND: an about line on stderr, nothing on stdout, exit 0"
OUT=$(env -i "$CNIP_BIN/loopback" 2>"$TMP/about" </dev/null) || fail "about exited non-zero"
assert_eq "$OUT" "" "about stdout"
grep -q 'loopback' "$TMP/about" || fail "no about line on stderr"

note "errors: JSON on stdout with the right code, exit 1, nothing changed"
ip -n lo-p1 link set lo down
cni_err loopback ADD '{"cniVersion":"1.0.0","name":' 6
cni_err loopback ADD 'garbage' 6
cni_err loopback ADD '' 6
cni_err loopback ADD "$(conf 9.9.9)" 1
jq_ok "$OUT" '.cniVersion == "1.1.0" and (.msg | test("9.9.9"))'
cni_err loopback ADD "$(conf 0.4.0 ',"cniVersion":1')" 6
cni_err loopback ADD '{"cniVersion":"1.0.0","type":"loopback"}' 7
cni_err loopback ADD '{"cniVersion":"1.0.0","name":"bad name","type":"loopback"}' 7
for var in CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH; do
	cni_err loopback ADD "$(conf 1.0.0)" 4 "$var="
	jq_ok "$OUT" ".msg | test(\"$var\")" "error does not name $var"
	jq_ok "$OUT" '.cniVersion == "1.0.0"'
done
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_CONTAINERID='bad/id'
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_IFNAME='toolonginterface0'
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_IFNAME='..'
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_COMMAND=FROB
cni_err loopback CHECK "$(conf 0.3.1)" 1
jq_ok "$OUT" '.cniVersion == "0.3.1" and (.msg | test("CHECK"))'
cni_err loopback STATUS "$(conf 1.0.0)" 1
cni_err loopback GC "$(conf 1.0.0)" 1
cni_err loopback ADD "$(conf 1.0.0)" 3 CNI_NETNS=/run/netns/missing
touch "$TMP/plainfile"
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_NETNS="$TMP/plainfile"
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_NETNS=/proc/self/ns/mnt
! lo_up || fail "a failed ADD brought lo up"

note "the plugin's own netns is refused before any work"
ip link set lo down
cni_err loopback ADD "$(conf 1.0.0)" 4 CNI_NETNS=/proc/$$/ns/net
jq_ok "$OUT" '.msg | test("own network namespace")'
ip -j link show lo | jq -e '.[0].flags | index("UP") == null' >/dev/null || fail "node lo was touched"
ip link set lo up
cni_err loopback DEL "$(conf 1.0.0)" 4 CNI_NETNS=/proc/$$/ns/net
ip -j link show lo | jq -e '.[0].flags | index("UP") != null' >/dev/null || fail "node lo was brought down"
echo "loopback: all checks passed"
