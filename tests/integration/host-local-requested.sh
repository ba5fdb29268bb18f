#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host-local: requested addresses from CNI_ARGS IP, args.cni.ips and
# runtimeConfig.ips; runtimeConfig.ipRanges; legacy top-level subnet; a
# retried ADD returns the lease it already made; the reference's validation
# and its messages for bad configs and bad requests.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

DUAL='{"ranges": [[{"subnet": "10.20.0.0/24"}], [{"subnet": "fd00:20::/64"}]]}'
C=$(hl_conf hltreq "$DUAL")

CID=r1 CNI_ARGS_VAL="IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.20.0.50" cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.20.0.50/24 fd00:20::2/64"
assert_eq "$(cat $NETS/hltreq/10.20.0.50 | od -An -c | tr -s ' ')" " r 1 \r \n e t h 0"
CID=r2 cni_ok "$OURS" ADD "$(hl_conf hltreq "$DUAL" 1.0.0 '{"args": {"cni": {"ips": ["10.20.0.60", "fd00:20::60/64"]}}}')"
assert_eq "$(hl_ips)" "10.20.0.60/24 fd00:20::60/64"
CID=r3 cni_ok "$OURS" ADD "$(hl_conf hltreq "$DUAL" 1.0.0 '{"runtimeConfig": {"ips": ["fd00:20::70"]}}')"
assert_eq "$(hl_ips)" "10.20.0.61/24 fd00:20::70/64"
note "requested addresses from CNI_ARGS, args.cni.ips, runtimeConfig.ips; round robin after them"

# A retried ADD returns the same leases instead of failing (the reference fails).
CID=r1 cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.20.0.50/24 fd00:20::2/64"
CID=r1 CNI_ARGS_VAL=IP=10.20.0.50 cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.20.0.50/24 fd00:20::2/64"
assert_eq "$(ls $NETS/hltreq | grep -c '^10\.20\.')" 3
CID=r1 CNI_ARGS_VAL=IP=10.20.0.51 cni_err "$OURS" ADD "$C" 104
note "a retried ADD is answered with its existing leases"

# Requests that cannot be met, with the reference's messages.
CID=r4 CNI_ARGS_VAL=IP=10.20.0.60 cni_err "$OURS" ADD "$C" 104
assert_eq "$(echo "$OUT" | jq -r .msg)" \
	"failed to allocate for range 0: requested IP address 10.20.0.60 is not available in range set 10.20.0.1-10.20.0.254"
CID=r4 CNI_ARGS_VAL=IP=10.20.0.1 cni_err "$OURS" ADD "$C" 7
assert_eq "$(echo "$OUT" | jq -r .msg)" "failed to allocate for range 0: requested ip 10.20.0.1 is subnet's gateway"
CID=r4 CNI_ARGS_VAL=IP=10.99.0.1 cni_err "$OURS" ADD "$C" 7
assert_eq "$(echo "$OUT" | jq -r .msg)" "failed to allocate all requested IPs: 10.99.0.1"
CID=r4 CNI_ARGS_VAL=IP=bogus cni_err "$OURS" ADD "$C" 4
CID=r4 CNI_ARGS_VAL=MAC=00:11:22:33:44:55 cni_err "$OURS" ADD "$C" 4
# Nothing was left behind by the failures.
[ -z "$(grep -l '^r4' $NETS/hltreq/* 2>/dev/null)" ] || fail "failed ADD left a lease: $(hl_leases $NETS/hltreq)"
note "unavailable, gateway, out-of-range and malformed requests refused, no lease left"

# runtimeConfig.ipRanges come first, then the legacy range, then ranges.
C2=$(hl_conf hltrr '{"subnet": "10.21.0.0/24", "gateway": "10.21.0.254",
	"ranges": [[{"subnet": "fd00:21::/64"}]]}' 1.0.0 \
	'{"runtimeConfig": {"ipRanges": [[{"subnet": "10.22.0.0/24", "rangeStart": "10.22.0.100"}]]}}')
CID=q1 cni_ok "$OURS" ADD "$C2"
jq_ok "$OUT" '[.ips[] | [.address, .gateway]] == [["10.22.0.100/24", "10.22.0.1"],
	["10.21.0.1/24", "10.21.0.254"], ["fd00:21::2/64", "fd00:21::1"]]'
assert_eq "$(cat $NETS/hltrr/last_reserved_ip.0)" 10.22.0.100
assert_eq "$(cat $NETS/hltrr/last_reserved_ip.1)" 10.21.0.1
assert_eq "$(cat $NETS/hltrr/last_reserved_ip.2)" fd00:21::2
note "runtimeConfig.ipRanges, legacy subnet (gateway honoured) and ranges, in the reference's order"

# Bad configs: our message is the reference's, our code is 7.
bad() {
	local conf
	conf=$(hl_conf hltbad "$1" "${2:-1.0.0}")
	CID=b1 cni_err "$OURS" ADD "$conf" 7
	local ours_msg
	ours_msg=$(echo "$OUT" | jq -r .msg)
	CID=b1 cni_run "$REF" ADD "$conf"
	[ "$RC" = 1 ] || fail "reference accepted $1"
	assert_eq "$ours_msg" "$(echo "$OUT" | jq -r .msg)" "message for $1"
}
bad '{"ranges": [[{"subnet": "10.30.0.0/31"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.1/32"}]]}'
bad '{"ranges": [[{"subnet": "fd00:30::/127"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.5/24"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24", "rangeStart": "10.31.0.1"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24", "rangeEnd": "10.31.0.1"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24", "rangeStart": "10.30.0.50", "rangeEnd": "10.30.0.40"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24"}, {"subnet": "10.30.0.0/16"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24"}, {"subnet": "fd00:30::/64"}]]}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24"}], [{"subnet": "10.30.0.128/25"}]]}'
bad '{"ranges": [[]]}'
bad '{"ranges": []}'
bad '{}'
bad '{"ranges": [[{"subnet": "10.30.0.0/24"}], [{"subnet": "10.31.0.0/24"}]]}' 0.2.0
note "bad configs refused with the reference's messages"
echo "host-local-requested: ok"
