#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Differential test of host-local: ours and Debian's reference (v1.1.1) run on
# identical inputs, each with its own dataDir; after every step the whole
# result (jq -S), the exit status and the lease directory (file names, modes,
# bytes incl. \r\n, last_reserved_ip.N) must be the same. Where we differ on
# purpose (README host-local), the step says so.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

D_OURS=/var/lib/cni/dqp-ours
D_REF=/var/lib/cni/dqp-ref
nstep=0

cat >"$TMP/resolv.conf" <<'RC'
# dqp
nameserver 10.78.0.53
nameserver fd78::53
domain dqp.example
search a.dqp.example b.dqp.example
options ndots:3 rotate
RC

# conf NET IPAM_JSON [VERSION] [EXTRA]: the config with dataDir @DATA.
conf() { hl_conf "$1" "$(echo "$2" | jq -c '. + {dataDir: "@DATA"}')" "${3:-1.0.0}" "${4:-}"; }

# step EXPECT VERB CONF CID [IFNAME] [CNI_ARGS]: runs the reference, then ours.
#   EXPECT "same": same exit status and result (errors: same message; our code
#   may be the precise one where the reference says 999, given as "same:CODE").
#   Sets REF_OUT and OUT.
step() {
	local expect=$1 verb=$2 c=$3 net
	nstep=$((nstep + 1))
	net=$(echo "$c" | jq -r .name)
	CID=$4 IFNAME=${5:-eth0} CNI_ARGS_VAL=${6-} cni_run "$REF" "$verb" "${c//@DATA/$D_REF}"
	REF_OUT=$OUT REF_RC=$RC
	CID=$4 IFNAME=${5:-eth0} CNI_ARGS_VAL=${6-} cni_run "$OURS" "$verb" "${c//@DATA/$D_OURS}"
	[ "$RC" = "$REF_RC" ] || fail "step $nstep $verb $4: exit $RC, reference $REF_RC: ours $OUT | ref $REF_OUT"
	if [ "$RC" = 0 ]; then
		assert_eq "$(echo "$OUT" | jq -S .)" "$(echo "$REF_OUT" | jq -S .)" "step $nstep $verb $4 result"
	else
		assert_eq "$(echo "$OUT" | jq -r .msg)" "$(echo "$REF_OUT" | jq -r .msg)" "step $nstep $verb $4 message"
		assert_eq "$(echo "$REF_OUT" | jq -r .code)" 999 "step $nstep reference code"
		local code=${expect%,lri}
		assert_eq "$(echo "$OUT" | jq -r .code)" "${code#same:}" "step $nstep our code"
	fi
	[ -d "$D_REF/$net" ] || [ -d "$D_OURS/$net" ] || return 0
	local skip='^$'
	# A failed ADD of ours leaves last_reserved_ip alone; the reference's has
	# moved it past the address it took and gave back (see below).
	[[ $expect != *,lri ]] || skip='^last_reserved_ip'
	assert_eq "$(hl_tree "$D_OURS/$net" | grep -v "$skip")" "$(hl_tree "$D_REF/$net" | grep -v "$skip")" \
		"step $nstep files after $verb $4"
}

note "IPv4: rangeStart/rangeEnd/gateway, routes; 10 ADDs, DELs, round robin and wrap"
C4=$(conf dqpv4 '{"ranges":[[{"subnet":"10.78.0.0/24","rangeStart":"10.78.0.10","rangeEnd":"10.78.0.21","gateway":"10.78.0.254"}]],
	"routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.78.0/24","gw":"10.78.0.1"}]}')
for i in $(seq 1 10); do step same ADD "$C4" "dqp-a$i"; done
assert_eq "$(hl_ips)" "10.78.0.19/24"
step same CHECK "$C4" dqp-a4
step same DEL "$C4" dqp-a3
step same DEL "$C4" dqp-a5
step same DEL "$C4" dqp-a5
step same:105 CHECK "$C4" dqp-a5
for i in 11 12 13 14; do step same ADD "$C4" "dqp-a$i"; done
assert_eq "$(hl_ips)" "10.78.0.14/24" "round robin wrapped to the freed addresses"
step same:103 ADD "$C4" dqp-a15	# exhausted: 103, the reference 999
step same DEL "$C4" dqp-a1
step same ADD "$C4" dqp-a15
step same DEL "$C4" dqp-a2
step same ADD "$C4" dqp-a1 eth1
step same DEL "$C4" dqp-a1 eth1
step same ADD "$C4" dqp-a16 eth0 IP=10.78.0.11	# freed by a1/eth1
step same:104 ADD "$C4" dqp-a17 eth0 IP=10.78.0.12	# taken: 104
# The range set is full: both refuse a request outside it, the reference
# reporting the exhaustion it meets first, we the unmatched request (7).
CID=dqp-a17 CNI_ARGS_VAL=IP=10.78.0.200 cni_err "$OURS" ADD "${C4//@DATA/$D_OURS}" 7
CID=dqp-a17 CNI_ARGS_VAL=IP=10.78.0.200 cni_run "$REF" ADD "${C4//@DATA/$D_REF}"
jq_ok "$OUT" '.code == 999 and (.msg | test("no IP addresses available"))'
step same DEL "$C4" dqp-a4
step same ADD "$C4" dqp-a17
step same DEL "$C4" dqp-nobody

note "IPv6 and dual stack, several ranges in one set, result versions"
C6=$(conf dqpv6 '{"ranges":[[{"subnet":"fd78:1::/124","rangeStart":"fd78:1::4"}]],"routes":[{"dst":"::/0","gw":"fd78:1::1"}]}')
for i in 1 2 3 4; do step same ADD "$C6" "dqp-b$i"; done
step same DEL "$C6" dqp-b2
step same ADD "$C6" dqp-b5
CD=$(conf dqpds '{"ranges":[[{"subnet":"10.78.1.0/29"},{"subnet":"10.78.2.0/30","gateway":"10.78.2.2"}],[{"subnet":"fd78:2::/64","rangeEnd":"fd78:2::7"}]],
	"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}')
for i in 1 2 3 4 5 6; do step same ADD "$CD" "dqp-c$i"; done
step same:103 ADD "$CD" dqp-c7	# v4 full (the second range's gateway taken out), v6 left
step same DEL "$CD" dqp-c2
step same CHECK "$CD" dqp-c3
step same ADD "$CD" dqp-c8 eth0 IP=fd78:2::3
# Like the reference (v1.1.1), CNI_ARGS IP= holds one address, no list.
CID=dqp-c9 CNI_ARGS_VAL=IP=10.78.1.3,fd78:2::6 cni_err "$OURS" ADD "${CD//@DATA/$D_OURS}" 4
CID=dqp-c9 CNI_ARGS_VAL=IP=10.78.1.3,fd78:2::6 cni_run "$REF" ADD "${CD//@DATA/$D_REF}"
jq_ok "$OUT" '.code == 999 and (.msg | test("invalid IP address"))'

for v in 0.2.0 0.3.0 0.3.1 0.4.0; do
	step same ADD "$(conf "dqpv${v//./}" '{"ranges":[[{"subnet":"10.78.3.0/24"}],[{"subnet":"fd78:3::/64"}]],"routes":[{"dst":"0.0.0.0/0"}]}' $v)" dqp-v
done

note "legacy subnet keys, resolvConf"
CL=$(conf dqplegacy "$(jq -cn --arg rc "$TMP/resolv.conf" '{subnet:"10.78.4.0/28",rangeStart:"10.78.4.5",rangeEnd:"10.78.4.7",gateway:"10.78.4.14",
	routes:[{dst:"10.0.0.0/8",gw:"10.78.4.14"}],resolvConf:$rc}')")
for i in 1 2 3; do step same ADD "$CL" "dqp-d$i"; done
jq_ok "$OUT" '.dns == {nameservers:["10.78.0.53","fd78::53"],domain:"dqp.example",search:["a.dqp.example","b.dqp.example"],options:["ndots:3","rotate"]}'
step same:103 ADD "$CL" dqp-d4
step same DEL "$CL" dqp-d2
step same ADD "$CL" dqp-d4

note "a request no range set can serve, with free addresses: the same refusal"
# The reference allocates first, then finds the request unserved and gives the
# address back, but its last_reserved_ip.0 stays moved; ours refuses before
# taking anything, so a failed ADD changes nothing on disk (the next pods' order
# differs from the reference's after such a failure only).
CF=$(conf dqpfail '{"ranges":[[{"subnet":"10.78.9.0/24","rangeStart":"10.78.9.10","rangeEnd":"10.78.9.20","gateway":"10.78.9.254"}]]}')
step same ADD "$CF" dqp-g1
step same:7,lri ADD "$CF" dqp-g2 eth0 IP=10.78.9.200	# outside rangeStart..rangeEnd
step same:7,lri ADD "$CF" dqp-g2 eth0 IP=10.78.9.254	# the gateway
step same:7,lri ADD "$(conf dqpfail "$(echo "$CF" | jq -c '.ipam | del(.type, .dataDir)')" 1.0.0 \
	'{"runtimeConfig":{"ips":["10.78.6.1"]}}')" dqp-g2	# outside every range set
# Two requests for one range set: the reference picks one by Go's random map
# order and names the other; we take the first and name the second.
c=$(conf dqpfail "$(echo "$CF" | jq -c '.ipam | del(.type, .dataDir)')" 1.0.0 '{"args":{"cni":{"ips":["10.78.9.15","10.78.9.16"]}}}')
CID=dqp-g2 cni_run "$REF" ADD "${c//@DATA/$D_REF}"
jq_ok "$OUT" '.code == 999 and (.msg | test("^failed to allocate all requested IPs: 10.78.9.1[56]$"))'
CID=dqp-g2 cni_err "$OURS" ADD "${c//@DATA/$D_OURS}" 7
jq_ok "$OUT" '.msg == "failed to allocate all requested IPs: 10.78.9.16"'
assert_eq "$(cat "$D_OURS/dqpfail/last_reserved_ip.0")" 10.78.9.10 "our last_reserved_ip after failed ADDs"
[ "$(cat "$D_REF/dqpfail/last_reserved_ip.0")" != 10.78.9.10 ] || fail "the reference's failed ADDs now leave last_reserved_ip alone"
assert_eq "$(hl_leases "$D_OURS/dqpfail")" "$(hl_leases "$D_REF/dqpfail")" "leases after the failed ADDs"

note "requested addresses: CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips"
R='{"ranges":[[{"subnet":"10.78.5.0/24"}],[{"subnet":"fd78:5::/64"}]]}'
CR=$(conf dqpreq "$R")
step same ADD "$CR" dqp-e1 eth0 IP=10.78.5.50
step same ADD "$CR" dqp-e2 eth0 "IgnoreUnknown=1;K8S_POD_NAME=x;IP=fd78:5::51"
step same ADD "$(conf dqpreq "$R" 1.0.0 '{"args":{"cni":{"ips":["10.78.5.52","fd78:5::52"]}}}')" dqp-e3
step same ADD "$(conf dqpreq "$R" 1.0.0 '{"runtimeConfig":{"ips":["10.78.5.53/24","fd78:5::53/64"]}}')" dqp-e4
step same ADD "$(conf dqpreq "$R" 1.0.0 '{"runtimeConfig":{"ips":["fd78:5::54"]}}')" dqp-e5
step same ADD "$CR" dqp-e6	# round robin goes on after the last requested one
step same:104 ADD "$(conf dqpreq "$R" 1.0.0 '{"args":{"cni":{"ips":["10.78.5.50"]}}}')" dqp-e7
# A malformed address: both refuse; our message names where it came from.
c=$(conf dqpreq "$R" 1.0.0 '{"runtimeConfig":{"ips":["nonsense"]}}')
CID=dqp-e7 cni_run "$REF" ADD "${c//@DATA/$D_REF}"
jq_ok "$OUT" '. == {"code":999,"msg":"invalid IP address nonsense"}'
CID=dqp-e7 cni_err "$OURS" ADD "${c//@DATA/$D_OURS}" 7
jq_ok "$OUT" '.msg == "runtimeConfig.ips: invalid IP address nonsense"'
for i in 1 2 3 4 5 6; do step same CHECK "$CR" "dqp-e$i"; done
for i in 1 2 3 4 5 6 7; do step same DEL "$CR" "dqp-e$i"; done

note "config errors: same message (our code 7 or 6; the reference's 999)"
step same:7 ADD "$(conf dqpbad '{"ranges":[[{"subnet":"10.78.7.0/24","rangeStart":"10.78.8.1"}]]}')" dqp-f1
step same:7 ADD "$(conf dqpbad '{"ranges":[[{"subnet":"10.78.7.1/24"}]]}')" dqp-f1
step same:7 ADD "$(conf dqpbad '{"ranges":[[{"subnet":"10.78.7.0/31"}]]}')" dqp-f1
step same:7 ADD "$(conf dqpbad '{"ranges":[[{"subnet":"10.78.7.0/24"},{"subnet":"10.78.7.128/25"}]]}')" dqp-f1
step same:7 ADD "$(conf dqpbad '{}')" dqp-f1

note "intended differences (README host-local)"
# A retried ADD of the same attachment returns its lease; the reference refuses
# the "duplicate allocation" and a runtime retrying a timed-out ADD loses the pod.
CID=dqp-a6 cni_run "$REF" ADD "${C4//@DATA/$D_REF}"
[ "$RC" = 1 ] || fail "the reference accepted a duplicate ADD: $OUT"
jq_ok "$OUT" '.msg | test("duplicate allocation")'
CID=dqp-a6 cni_ok "$OURS" ADD "${C4//@DATA/$D_OURS}"
assert_eq "$(hl_ips)" "10.78.0.15/24" "the retried ADD's address"
assert_eq "$(hl_tree "$D_OURS/dqpv4")" "$(hl_tree "$D_REF/dqpv4")" "files after the retried ADD"
# STATUS and GC (CNI 1.1): the reference does not know them.
C11=$(conf dqpv4 "$(echo "$C4" | jq -c '.ipam | del(.type, .dataDir)')" 1.1.0 '{"cni.dev/valid-attachments":[{"containerID":"dqp-a6","ifname":"eth0"}]}')
CID='' IFNAME='' cni_err "$OURS" STATUS "${C11//@DATA/$D_OURS}" 50	# the range set is full
CID='' IFNAME='' cni_ok "$OURS" GC "${C11//@DATA/$D_OURS}"
assert_eq "$(hl_leases "$D_OURS/dqpv4" | cut -d' ' -f2 | tr '\n' ' ')" "dqp-a6/eth0 " "leases after GC"
CID='' IFNAME='' cni_ok "$OURS" STATUS "${C11//@DATA/$D_OURS}"
CID='' IFNAME='' cni_run "$REF" GC "${C11//@DATA/$D_REF}"
[ "$RC" = 1 ] || fail "the reference knows GC now? $OUT"

echo "$nstep steps identical"
