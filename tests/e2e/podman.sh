#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podman 4 (CNI backend) on our bridge and our ptp, through the network files
# shipped in conf/podman/ (as podman writes them: the main plugin, then
# portmap, firewall, tuning; every one of them ours), on a node whose iptables
# FORWARD policy is DROP, one network after the other:
#   bridge        conf/podman/cnip.conflist
#   ptp-proxyarp  conf/podman/cnip-ptp.conflist (pod /32, gateway 169.254.1.1)
#   ptp           the same without proxyArp (the reference's layout)
# Each: the pods are wired as the layout says, two containers talk, a
# container reaches an outside netns masqueraded, a published port works
# through the chained portmap (from the node and from outside), `podman rm -f`
# leaves no lease, cache entry, link, route or rule behind.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" podman || skip "podman could not be installed"
	command -v podman >/dev/null || skip "no podman"
fi
e2e_need_ours bridge ptp host-local portmap firewall tuning
e2e_node "$@"

mkdir -p "$W/etc"
cat >"$W/etc/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/events.log"
tmp_dir = "$W/libpod"
[network]
network_backend = "cni"
cni_plugin_dirs = ["/opt/cni/bin"]
network_config_dir = "/etc/cni/net.d"
EOF
cat >"$W/etc/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$W/storage"
runroot = "$W/run"
EOF
echo 'unqualified-search-registries = []' >"$W/etc/registries.conf"
export CONTAINERS_CONF=$W/etc/containers.conf \
	CONTAINERS_STORAGE_CONF=$W/etc/storage.conf \
	CONTAINERS_REGISTRIES_CONF=$W/etc/registries.conf
pm() { timeout 60 podman "$@"; }
on_exit 'timeout 60 podman rm -af -t 0'

# A node as Docker leaves it: iptables FORWARD policy DROP. Only our firewall
# in the chain lets pod traffic and published ports through.
iptables -P FORWARD DROP
ip6tables -P FORWARD DROP

busybox_rootfs "$W/rootfs"
tar -C "$W/rootfs" -c . | pm import -q - localhost/e2pbusybox:latest >/dev/null

# podman_net LAYOUT FILE NET SUBNET HOSTPORT: the shipped FILE renamed into
# this test's namespace (network NET, SUBNET, bridge e2pbr0), two
# containers on it, every check, then podman rm -f and the leftovers check.
podman_net() {
	local layout=$1 file=$2 net=$3 subnet=$4 hport=$5 pfx=${4%0/24} c1=${3}c1 c2=${3}c2
	local ip1 ip2 have want body left
	note "$layout: $net from $(basename "$file"), $subnet"
	jq --arg net "$net" --arg sub "$subnet" --arg layout "$layout" '.name = $net
		| .plugins[0] |= (if has("bridge") then .bridge = "e2pbr0" else . end
			| .ipam.ranges[0][0] |= (.subnet = $sub | if has("gateway") then .gateway = ($sub | sub("0/24$"; "1")) else . end)
			| if $layout == "ptp" then del(.proxyArp) else . end)' \
		"$file" >"/etc/cni/net.d/$net.conflist"
	pm network inspect "$net" | jq -e --arg d "${layout%-*}" '.[0].driver == $d' >/dev/null ||
		fail "$layout: podman does not read $(basename "$file") as a ${layout%-*} network"

	pm run -d --name "$c1" --network "$net" -p "$hport:80" localhost/e2pbusybox \
		httpd -f -p 80 -h /www >/dev/null
	pm run -d --name "$c2" --network "$net" localhost/e2pbusybox sleep 600 >/dev/null
	ip1=$(pm inspect "$c1" | jq -r ".[0].NetworkSettings.Networks.\"$net\".IPAddress")
	ip2=$(pm inspect "$c2" | jq -r ".[0].NetworkSettings.Networks.\"$net\".IPAddress")
	[[ $ip1 == "$pfx"* && $ip2 == "$pfx"* ]] || fail "$layout: addresses $ip1 $ip2 not from $subnet"
	[ -f "/var/lib/cni/networks/$net/$ip1" ] || fail "$layout: no host-local lease for $ip1"
	have=$(pod_layout "$subnet" "$ip1" pm exec "$c1")
	want=$(layout_want "$layout" "$subnet" "$ip1")
	[ "$have" = "$want" ] || fail "$layout: pod wired as '$have', want '$want'"
	pass "$layout: containers got $ip1 and $ip2; $have"

	pm exec "$c2" ping -c 2 -W 2 "$ip1" >/dev/null || fail "$layout: $c2 cannot ping $c1 ($ip1)"
	pass "$layout: container to container: $c2 pings $c1"

	out_counters_reset
	pm exec "$c1" ping -c 2 -W 2 "$OUT_IP" >/dev/null || fail "$layout: $c1 cannot reach the outside ($OUT_IP)"
	if [ "$(out_counter from-node)" -lt 2 ] || [ "$(out_counter from-other)" -ne 0 ]; then
		fail "$layout: outside saw $(out_counter from-node) packets from the node, $(out_counter from-other) from others: not masqueraded"
	fi
	pass "$layout: container to outside: masqueraded to the node address $NODE_UP_IP"

	wait_for 10 timeout 5 busybox wget -q -O /dev/null "http://$NODE_UP_IP:$hport/" || true
	body=$(timeout 5 busybox wget -q -O - "http://$NODE_UP_IP:$hport/") ||
		fail "$layout: published port $hport unreachable from the node"
	[ "$body" = "hello from e2e" ] || fail "$layout: published port answered '$body'"
	pass "$layout: published port: node -> $NODE_UP_IP:$hport -> $c1:80 (portmap after our ${layout%-*})"
	body=$(ip netns exec e2eout timeout 5 busybox wget -q -O - "http://$NODE_UP_IP:$hport/") ||
		fail "$layout: published port $hport unreachable from outside"
	[ "$body" = "hello from e2e" ] || fail "$layout: published port answered '$body' to outside"
	pass "$layout: published port: outside -> $NODE_UP_IP:$hport -> $c1:80"
	body=$(pm exec "$c2" timeout 5 wget -q -O - "http://$NODE_UP_IP:$hport/") ||
		fail "$layout: published port $hport unreachable from another container"
	[ "$body" = "hello from e2e" ] || fail "$layout: published port answered '$body' to $c2"
	pass "$layout: published port: $c2 -> $NODE_UP_IP:$hport -> $c1:80"
	body=$(pm exec "$c1" timeout 5 wget -q -O - "http://$NODE_UP_IP:$hport/") ||
		fail "$layout: published port $hport unreachable by hairpin from $c1 itself"
	[ "$body" = "hello from e2e" ] || fail "$layout: published port answered '$body' to $c1 (hairpin)"
	pass "$layout: published port: hairpin $c1 -> $NODE_UP_IP:$hport -> $c1:80"

	pm rm -f -t 0 "$c1" "$c2" >/dev/null
	left=$(leftovers "$net" "$pfx")
	[ -z "$left" ] || fail "$layout: left behind after podman rm -f: $left"
	pass "$layout: podman rm -f: no lease, cache entry, veth, route or per-container rule left"
}

podman_net bridge "$E2E_TOP/conf/podman/cnip.conflist" e2pbr 10.77.0.0/24 8080
podman_net ptp-proxyarp "$E2E_TOP/conf/podman/cnip-ptp.conflist" e2pptp 10.77.1.0/24 8081
podman_net ptp "$E2E_TOP/conf/podman/cnip-ptp.conflist" e2pref 10.77.2.0/24 8082
echo "podman e2e: all checks passed"
