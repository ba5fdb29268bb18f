#!/usr/bin/env bash
# 16 concurrent first ADDs on a bridge that does not exist yet (issue 10 #4):
# every ADD must report the MAC the bridge keeps, so every CHECK passes, and
# the bridge's MAC must not follow the ports that join later.
. "$(dirname "$0")/../lib.sh"

N=${HDN_PODS:-16}
C='{"cniVersion":"1.1.0","name":"hdnpar","type":"bridge","bridge":"hdnpar0","isGateway":true,
 "ipam":{"type":"host-local","subnet":"10.95.0.0/24","dataDir":"/var/lib/cni/hdn-par"}}'
with_prev() { echo "$1" | jq -c --argjson p "$2" '. + {prevResult:$p}'; }

for round in 1; do
	note "round $round: $N ADDs at once on a new bridge"
	for i in $(seq "$N"); do ip netns add "hdn-par$i"; done
	for i in $(seq "$N"); do
		printf '%s' "$C" | CNI_COMMAND=ADD CNI_CONTAINERID=hdn-par$i CNI_NETNS=/run/netns/hdn-par$i \
			CNI_IFNAME=eth0 CNI_PATH=$CNIP_BIN "$CNIP_BIN/bridge" >"$TMP/add$i" 2>"$TMP/adderr$i" &
	done
	wait
	mac=$(ip -j link show hdnpar0 | jq -r '.[0].address')
	bad=0
	for i in $(seq "$N"); do
		jq -e '.interfaces[0].name == "hdnpar0"' "$TMP/add$i" >/dev/null || fail "ADD $i: $(cat "$TMP/add$i")"
		got=$(jq -r '.interfaces[0].mac' "$TMP/add$i")
		[ "$got" = "$mac" ] || { echo "ADD $i reported bridge MAC $got, the bridge has $mac"; bad=$((bad + 1)); }
		CID=hdn-par$i NETNS=/run/netns/hdn-par$i cni_run bridge CHECK "$(with_prev "$C" "$(cat "$TMP/add$i")")"
		[ "$RC" -eq 0 ] || { echo "CHECK $i: $OUT"; bad=$((bad + 1)); }
	done
	[ "$bad" -eq 0 ] || fail "$bad of $N pods disagree with the bridge's MAC"
	# A new port with a lower MAC must not move it either.
	ip link add hdnlow type veth peer name hdnlowp
	ip link set hdnlow address 02:00:00:00:00:01
	ip link set hdnlow master hdnpar0 up
	assert_eq "$(ip -j link show hdnpar0 | jq -r '.[0].address')" "$mac" "bridge MAC after a lower-MAC port joined"
	ip link del hdnlow
	for i in $(seq "$N"); do
		CID=hdn-par$i NETNS=/run/netns/hdn-par$i cni_ok bridge DEL "$C"
		ip netns del "hdn-par$i"
	done
	ip link del hdnpar0
done
note "ok"
