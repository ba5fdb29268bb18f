#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A Linux bridge holds at most 1,023 ports (BR_MAX_PORTS in the kernel). The
# ADD that would be the 1,024th fails with a message that says so (the kernel
# only says "Exchange full"), leaves neither veth nor lease behind, and DEL of
# it succeeds; once a port is free the same ADD works.
source "$CNIP_TOP/tests/lib.sh"

C=$(jq -cn '{cniVersion: "1.0.0", name: "bfnet", type: "bridge", bridge: "bfbr0", isGateway: true,
	ipam: {type: "host-local", ranges: [[{subnet: "10.83.0.0/16"}]]}}')
leases() { find /var/lib/cni/networks/bfnet -name '10.*' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '; }

ip link add bfbr0 type bridge
{
	for i in $(seq 1 1022); do
		echo "link add bfd$i type veth peer name bfe$i"
		echo "link set bfd$i master bfbr0"
	done
} | ip -batch -
assert_eq "$(ip -j link show master bfbr0 | jq length)" 1022 "ports made"

NETNS=$(mkpod bfpod1)
CID=bfpod1 cni_ok bridge ADD "$C"
assert_eq "$(ip -j link show master bfbr0 | jq length)" 1023 "the 1,023rd port"
before=$(leases)

NETNS=$(mkpod bfpod2)
CID=bfpod2 cni_err bridge ADD "$C" 100
jq_ok "$OUT" '.msg | test("bfbr0") and test("1023|1,023")' "message names the bridge and the limit"
note "1,024th port refused: $(jq -r .msg <<<"$OUT")"
assert_eq "$(ip -j link show master bfbr0 | jq length)" 1023 "ports after the failed ADD"
pod_veths='[.[] | select(.ifname | startswith("veth"))] | length'
assert_eq "$(ip -j link show type veth | jq "$pod_veths")" 1 "pod veths after the failed ADD (bfpod1's only)"
assert_eq "$(ip -n bfpod2 -j link show | jq '[.[] | select(.ifname != "lo")] | length')" 0 "pod interfaces left"
assert_eq "$(leases)" "$before" "leases after the failed ADD"
CID=bfpod2 cni_ok bridge DEL "$C"

ip link del bfd1
CID=bfpod2 cni_ok bridge ADD "$C"
jq_ok "$OUT" '.ips | length == 1'
note "with a port free the same ADD works"
CID=bfpod1 cni_ok bridge DEL "$C"
CID=bfpod2 cni_ok bridge DEL "$C"
echo "bridge-full: ok"
