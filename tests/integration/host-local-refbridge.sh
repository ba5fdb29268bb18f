#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Debian's reference bridge plugin delegating to our host-local through
# CNI_PATH: the pod gets the address of our lease, and DEL releases it.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"
[ -x "$REF_BIN/bridge" ] || skip "reference bridge not installed"

C=$(jq -cn '{cniVersion: "1.0.0", name: "hltbr", type: "bridge", bridge: "hltbr0", isGateway: true,
	ipam: {type: "host-local", ranges: [[{subnet: "10.80.0.0/24"}], [{subnet: "fd00:80::/64"}]],
	       routes: [{dst: "0.0.0.0/0"}]}}')
NETNS=$(mkpod hltpod1)
# Only our build in CNI_PATH: the bridge can exec nothing else for IPAM.
CNI_PATH_DIRS=$CNIP_BIN
CID=br1 cni_ok "$REF_BIN/bridge" ADD "$C"
jq_ok "$OUT" '[.ips[].address] == ["10.80.0.2/24", "fd00:80::2/64"]'
[ -e "$NETS/hltbr/.cnip" ] || fail "the lease was not made by our host-local"
assert_eq "$(od -An -c "$NETS/hltbr/10.80.0.2" | tr -s ' ')" " b r 1 \r \n e t h 0"
a=$(ip -n hltpod1 -j addr show eth0)
jq_ok "$a" '.[0].addr_info | any(.local == "10.80.0.2" and .prefixlen == 24)' "pod lacks 10.80.0.2/24"
jq_ok "$(ip -n hltpod1 -j route show default)" '.[0].gateway == "10.80.0.1"'
ping -c1 -W2 -I hltbr0 10.80.0.2 >/dev/null 2>&1 || ip netns exec hltpod1 ping -c1 -W2 10.80.0.1 >/dev/null ||
	fail "no ping between pod and bridge"
CID=br1 cni_ok "$REF_BIN/bridge" CHECK "$(echo "$C" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')"
CID=br1 cni_ok "$REF_BIN/bridge" DEL "$C"
CID=br1 cni_ok "$REF_BIN/bridge" DEL "$C"
[ ! -e "$NETS/hltbr/10.80.0.2" ] || fail "DEL through the bridge left the lease"
ip netns del hltpod1
note "reference bridge + our host-local: addresses, CHECK, DEL"
echo "host-local-refbridge: ok"
