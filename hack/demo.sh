#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job, for a person to watch: wires real pods in throwaway network
# namespaces with our plugins, shows the results and the kernel state, proves
# the pods talk (to each other, to the node, to an "outside" host through
# masquerade), then removes everything. Nothing touches the machine's own
# network: all of it runs inside a private "node" namespace.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CNIP_BIN:=$top/build/bin}"
export CNIP_BIN top

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces)" >&2
	exit 1
fi
if [ "${1:-}" != --inside ]; then
	exec unshare --net --mount --propagation private -- "$0" --inside
fi

for d in /run/netns /var/lib/cni /run/cni; do
	mkdir -p "$d" && mount -t tmpfs cnip-demo "$d"
done
ip link set lo up
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CNI_PATH=$CNIP_BIN CNI_CACHE_DIR=/var/lib/cni
cnictl=$top/hack/cnictl

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

say "An 'outside' host on the node's uplink (192.0.2.0/24); it has no route back to any pod subnet"
ip netns add outside
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip link set uplink up
# A real node has a default route; proxy ARP (ptp proxyArp) answers only for routable targets.
ip route add default via 192.0.2.2
ip -n outside addr add 192.0.2.2/24 dev eth0
ip -n outside link set eth0 up && ip -n outside link set lo up

cat >"$work/bridge.conflist" <<'JSON'
{
  "cniVersion": "1.1.0",
  "name": "demo-bridge",
  "plugins": [
    {
      "type": "bridge", "bridge": "cnip0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.88.0.0/24" }], [{ "subnet": "fd88::/64" }]],
                "routes": [{ "dst": "0.0.0.0/0" }, { "dst": "::/0" }] }
    }
  ]
}
JSON
cat >"$work/ptp.conflist" <<'JSON'
{
  "cniVersion": "1.1.0",
  "name": "demo-ptp",
  "plugins": [
    {
      "type": "ptp", "ipMasq": true, "proxyArp": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.99.0.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    }
  ]
}
JSON
cat >"$work/lo.conf" <<'JSON'
{ "cniVersion": "1.1.0", "name": "demo-lo", "type": "loopback" }
JSON

say "Two pods on a bridge (dual stack, masquerade), as containerd would wire them"
for p in pod-a pod-b; do
	ip netns add $p
	"$cnictl" add "$work/lo.conf" /run/netns/$p --id $p --ifname lo >/dev/null
	run "$cnictl" add "$work/bridge.conflist" /run/netns/$p --id $p --ifname eth0 | jq -c .
done
a=$(ip -n pod-a -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local')
b=$(ip -n pod-b -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local')
b6=$(ip -n pod-b -j -6 addr show eth0 scope global | jq -r '.[0].addr_info[0].local')
run ip -br addr show cnip0
run ip -n pod-a -br addr show eth0
run ip -n pod-a route

say "pod-a ($a) pings pod-b ($b, $b6), and the outside host"
run ip netns exec pod-a ping -c2 -W1 "$b"
run ip netns exec pod-a ping -6 -c2 -W1 "$b6"
run ip netns exec pod-a ping -c2 -W1 192.0.2.2
echo "(the outside host has no route to 10.88.0.0/24: it answered the node's address, masqueraded)"
run nft list table inet cnip_masq

say "The same on a routed point-to-point network (ptp, Calico-style proxy ARP)"
for p in pod-c pod-d; do
	ip netns add $p
	run "$cnictl" add "$work/ptp.conflist" /run/netns/$p --id $p --ifname eth0 | jq -c .
done
d=$(ip -n pod-d -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local')
run ip -n pod-c route
run ip netns exec pod-c ping -c2 -W1 "$d"
run ip netns exec pod-c ping -c2 -W1 192.0.2.2

say "CHECK every attachment, then DEL them all (twice: DEL is idempotent)"
for p in pod-a pod-b; do run "$cnictl" check "$work/bridge.conflist" /run/netns/$p --id $p --ifname eth0; done
for p in pod-c pod-d; do run "$cnictl" check "$work/ptp.conflist" /run/netns/$p --id $p --ifname eth0; done
for i in 1 2; do
	for p in pod-a pod-b; do "$cnictl" del "$work/bridge.conflist" /run/netns/$p --id $p --ifname eth0; done
	for p in pod-c pod-d; do "$cnictl" del "$work/ptp.conflist" /run/netns/$p --id $p --ifname eth0; done
done
run ip -br link
echo "leases left: $(find /var/lib/cni/networks -mindepth 2 -maxdepth 2 -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"; run nft list ruleset
say "Done: everything lived in a throwaway namespace and is gone with it."
