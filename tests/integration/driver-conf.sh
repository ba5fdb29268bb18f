#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every example in conf/ works as shipped: hack/cnictl ADD, CHECK (where
# the chain supports it), DEL through each file (bridge names renamed into
# this test's e2e prefix), with no lease or cached result left.
source "$CNIP_TOP/tests/lib.sh"
CNICTL=$CNIP_TOP/hack/cnictl
export CNI_PATH=$CNIP_BIN:$REF_BIN
# A real node has an uplink with a default route; ptp's proxyArp layout needs
# one (the kernel proxies ARP only for addresses it can route elsewhere).
ip link add e2ecf-up type veth peer name e2ecf-upp
ip addr add 192.0.2.1/24 dev e2ecf-up
ip link set e2ecf-up up && ip link set e2ecf-upp up
ip route add default via 192.0.2.254
i=0
for f in "$CNIP_TOP"/conf/*.conflist "$CNIP_TOP"/conf/*.conflist.in "$CNIP_TOP"/conf/podman/*.conflist; do
	i=$((i + 1))
	base=$(basename "$f")
	sed 's#@POD_CIDR@#10.244.7.0/24#' "$f" |
		jq --arg br "e2ecf$i" '.plugins |= map(if has("bridge") then .bridge = $br else . end)
			| .plugins |= map(if .ipam.dataDir then .ipam.dataDir = "/var/lib/cni/e2ecf-ipam" else . end)' \
			>"$TMP/$i.conflist"
	net=$(jq -r .name "$TMP/$i.conflist")
	pod=$(mkpod "e2ecf$i")
	caps='{"portMappings":[{"hostPort":28080,"containerPort":80,"protocol":"tcp"}]}'
	out=$("$CNICTL" add "$TMP/$i.conflist" "$pod" --id "e2ecf$i" --cap-args "$caps") || fail "$base: ADD failed: $out"
	jq_ok "$out" '(.ips | length) >= 1 and any(.interfaces[]; .sandbox != null)' "$base: result"
	ip netns exec "e2ecf$i" ip -j addr show eth0 | jq -e '.[0].addr_info | any(.scope == "global")' >/dev/null ||
		fail "$base: pod eth0 has no address"
	# The spec has no CHECK before 0.4.0 (kindnetd's conflist says 0.3.1).
	case $(jq -r .cniVersion "$f") in
	0.1.0 | 0.2.0 | 0.3.0 | 0.3.1) ;;
	*) "$CNICTL" check "$TMP/$i.conflist" "$pod" --id "e2ecf$i" || fail "$base: CHECK failed" ;;
	esac
	"$CNICTL" del "$TMP/$i.conflist" "$pod" --id "e2ecf$i" --cap-args "$caps" || fail "$base: DEL failed"
	# (dataDirs are moved under this test's private /var/lib/cni above)
	ddir=$(jq -r '.plugins[0].ipam.dataDir // "/var/lib/cni/networks"' "$TMP/$i.conflist")
	[ -d "$ddir/$net" ] || fail "$base: no lease directory $ddir/$net"
	leases=$(find "$ddir/$net" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null)
	[ -z "$leases" ] || fail "$base: leases left: $leases"
	[ ! -e "/var/lib/cni/results/$net-e2ecf$i-eth0" ] || fail "$base: cached result left"
	ip netns del "e2ecf$i"
	note "$base ($net): ADD, CHECK, DEL"
done
echo "driver-conf: ok"
