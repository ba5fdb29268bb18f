#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host-local: VERSION; a small range runs out with a clear error (103) and STATUS says
# so (50); a DEL frees room again; STATUS is 50 when dataDir cannot be
# written; a lock held too long gives "try again" (11); dual stack and CHECK;
# DEL idempotent, also for a network never seen.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

cni_ok "$OURS" VERSION '{"cniVersion": "1.1.0"}'
jq_ok "$OUT" '.cniVersion == "1.1.0" and (.supportedVersions | index("1.1.0") and index("0.1.0"))'
C=$(hl_conf hltex '{"ranges": [[{"subnet": "10.40.0.0/29"}], [{"subnet": "fd00:40::/64"}]]}' 1.1.0)
cni_ok "$OURS" STATUS "$C"
for i in 1 2 3 4 5; do
	CID=x$i cni_ok "$OURS" ADD "$C"
done
assert_eq "$(hl_ips)" "10.40.0.6/29 fd00:40::6/64"
CID=x6 cni_err "$OURS" ADD "$C" 103
assert_eq "$(echo "$OUT" | jq -r .msg)" \
	"failed to allocate for range 0: no IP addresses available in range set: 10.40.0.1-10.40.0.6"
# The failed ADD gave back the IPv6 address it had taken.
[ ! -e "$NETS/hltex/fd00:40::7" ] || fail "exhausted ADD leaked its IPv6 lease"
cni_err "$OURS" STATUS "$C" 50
jq_ok "$OUT" '.msg | contains("range set 0 is exhausted") and contains("10.40.0.1-10.40.0.6")'
note "exhaustion: ADD fails with 103 and a clear message, STATUS answers 50"

CID=x3 cni_ok "$OURS" DEL "$C"
CID=x3 cni_ok "$OURS" DEL "$C"
cni_ok "$OURS" STATUS "$C"
CID=x7 cni_ok "$OURS" ADD "$C"
assert_eq "$(hl_ips)" "10.40.0.4/29 fd00:40::7/64"
note "DEL (twice) frees room; round robin finds the hole"

# CHECK: every range set leased to the container, prevResult addresses leased.
CID=x7 cni_ok "$OURS" CHECK "$(hl_conf hltex '{"ranges": [[{"subnet": "10.40.0.0/29"}], [{"subnet": "fd00:40::/64"}]]}' 1.1.0 \
	"{\"prevResult\": $OUT}")"
CID=x7 cni_err "$OURS" CHECK "$(hl_conf hltex '{"ranges": [[{"subnet": "10.40.0.0/29"}], [{"subnet": "fd00:40::/64"}]]}' 1.1.0 \
	'{"prevResult": {"cniVersion": "1.1.0", "ips": [{"address": "10.40.0.5/29"}]}}')" 105
CID=x3 cni_err "$OURS" CHECK "$C" 105
assert_eq "$(echo "$OUT" | jq -r .msg)" "host-local: Failed to find address added by container x3"
CID=x7 IFNAME=eth1 cni_err "$OURS" CHECK "$C" 105
CID=x7 cni_err "$OURS" CHECK "$(hl_conf hltex '{"ranges": [[{"subnet": "10.40.0.0/29"}], [{"subnet": "fd00:40::/64"}], [{"subnet": "fd00:41::/64"}]]}' 1.1.0)" 105
note "CHECK passes for the holder, fails for others and for missing range sets"

# DEL of a network never used creates nothing.
CID=x1 cni_ok "$OURS" DEL "$(hl_conf hltnever '{"subnet": "10.41.0.0/24"}')"
[ ! -e "$NETS/hltnever" ] || fail "DEL created $NETS/hltnever"

# dataDir that cannot be written: STATUS 50.
mkdir -p /tmp/cnip/ro && mount -t tmpfs -o ro hlt-ro /tmp/cnip/ro
CRO=$(hl_conf hltro '{"dataDir": "/tmp/cnip/ro", "subnet": "10.42.0.0/24"}' 1.1.0)
cni_err "$OURS" STATUS "$CRO" 50
jq_ok "$OUT" '.msg | contains("/tmp/cnip/ro")'
mount -o remount,rw /tmp/cnip/ro
CID=w1 cni_ok "$OURS" ADD "$CRO"
cni_ok "$OURS" STATUS "$CRO"
mount -o remount,ro /tmp/cnip/ro
cni_err "$OURS" STATUS "$CRO" 50
CID=w2 cni_err "$OURS" ADD "$CRO" 5
note "STATUS 50 when the data dir is read-only, ADD fails with 5"

# Someone holds the lock: after the timeout, "try again".
CID=x1 cni_ok "$OURS" DEL "$C"
flock "$NETS/hltex/lock" sleep 1.5 &
holder=$!
sleep 0.3
CID=x8 cni_err "$OURS" ADD "$C" 11 CNIP_HOST_LOCAL_LOCK_TIMEOUT_MS=300
# Waiting is the default: this ADD gets the lock once the holder is done.
CID=x8 cni_ok "$OURS" ADD "$C"
wait "$holder"
note "a lock held too long gives code 11"
echo "host-local-status: ok"
