#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host-local against Debian's reference, step by step on twin data dirs: the
# lease files, last_reserved_ip and lock are the same byte for byte (names in
# Go's IP form, modes too), and so are the results, across result versions.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

cat >"$TMP/resolv.conf" <<'RC'
# a comment
; another
nameserver 10.10.0.53
nameserver fd00:10::53
domain hlt.example
search a.hlt.example b.hlt.example
options ndots:2 timeout:1
sortlist ignored
RC
ipam() {
	jq -cn --arg d "$1" --arg rc "$TMP/resolv.conf" '{dataDir: $d, resolvConf: $rc,
		ranges: [[{subnet: "10.10.0.0/29", rangeStart: "10.10.0.2"}],
		         [{subnet: "fd00:10::/125"}],
		         [{subnet: "fd00:11::/120", rangeStart: "fd00:11::f8"},
		          {subnet: "fd00:12::/120", rangeEnd: "fd00:12::3", gateway: "fd00:12::2"}]],
		routes: [{dst: "0.0.0.0/0"}, {dst: "192.168.0.0/16", gw: "10.10.0.1"}, {dst: "::/0"}]}'
}
CONF_REF=$(hl_conf hltfmt "$(ipam /var/lib/cni/ref)")
CONF_OURS=$(hl_conf hltfmt "$(ipam /var/lib/cni/ours)")

# step VERB CID IFNAME [CNI_ARGS]: runs both, compares the outcome and the files.
step() {
	local verb=$1 ref_out ref_rc
	CID=$2 IFNAME=$3 CNI_ARGS_VAL=${4-} cni_run "$REF" "$verb" "$CONF_REF"
	ref_out=$OUT ref_rc=$RC
	CID=$2 IFNAME=$3 CNI_ARGS_VAL=${4-} cni_run "$OURS" "$verb" "$CONF_OURS"
	[ "$RC" = "$ref_rc" ] || fail "$verb $2/$3: exit $RC, reference $ref_rc ($OUT | $ref_out)"
	if [ "$RC" = 0 ] && [ "$verb" = ADD ]; then
		assert_eq "$(echo "$OUT" | jq -cS '{cniVersion, ips, routes, dns}')" \
			"$(echo "$ref_out" | jq -cS '{cniVersion, ips, routes, dns}')" "$verb $2/$3 result"
	elif [ "$RC" != 0 ]; then
		assert_eq "$(echo "$OUT" | jq -r .msg)" "$(echo "$ref_out" | jq -r .msg)" "$verb $2/$3 message"
	fi
	assert_eq "$(hl_tree /var/lib/cni/ours/hltfmt)" "$(hl_tree /var/lib/cni/ref/hltfmt)" \
		"files after $verb $2/$3"
}

step ADD c1 eth0
jq_ok "$OUT" '.dns == {nameservers: ["10.10.0.53", "fd00:10::53"], domain: "hlt.example",
	search: ["a.hlt.example", "b.hlt.example"], options: ["ndots:2", "timeout:1"]}'
jq_ok "$OUT" '.ips[0] == {address: "10.10.0.2/29", gateway: "10.10.0.1"}'
step ADD c2 eth0
step ADD c2 eth1
step ADD c3 eth0 IP=10.10.0.6
step DEL c2 eth0
step ADD c4 eth0
step ADD c5 eth0
step ADD c6 eth0
note "leases, last_reserved_ip, lock and results identical to the reference's"
# The range is full now: same message, our code 103 (the reference says 999).
CID=c7 cni_err "$OURS" ADD "$CONF_OURS" 103
assert_eq "$(echo "$OUT" | jq -r .msg)" \
	"failed to allocate for range 0: no IP addresses available in range set: 10.10.0.2-10.10.0.6"
step ADD c7 eth0
step DEL c1 eth0
step DEL c1 eth0
step ADD c8 eth0 IP=10.10.0.2
note "exhaustion and requested addresses: same messages, same files"

# Result versions: the config's cniVersion decides the form, as with the reference.
for v in 0.2.0 0.3.1 0.4.0 1.1.0; do
	c_ref=$(hl_conf "hltv${v//./}" '{"dataDir": "/var/lib/cni/ref", "subnet": "10.11.0.0/24",
		"routes": [{"dst": "0.0.0.0/0"}]}' "$v")
	c_ours=${c_ref//\/var\/lib\/cni\/ref//var/lib/cni/ours}
	# Debian's reference stops at 1.0.0; 1.1.0 results have the same shape here.
	[ "$v" = 1.1.0 ] && c_ref=${c_ref//1.1.0/1.0.0}
	CID=v1 cni_ok "$REF" ADD "$c_ref"
	ref_out=$OUT
	CID=v1 cni_ok "$OURS" ADD "$c_ours"
	[ "$v" = 1.1.0 ] && ref_out=$(echo "$ref_out" | jq -c '.cniVersion = "1.1.0"')
	assert_eq "$(echo "$OUT" | jq -cS 'del(.dns)')" "$(echo "$ref_out" | jq -cS 'del(.dns)')" "result $v"
	assert_eq "$(hl_tree "/var/lib/cni/ours/hltv${v//./}")" "$(hl_tree "/var/lib/cni/ref/hltv${v//./}")" "files $v"
done
note "results in 0.2.0, 0.3.1, 0.4.0, 1.1.0 match the reference's"
echo "host-local-format: ok"
