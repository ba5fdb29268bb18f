#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podman 4 (CNI backend) on our bridge, through the network file shipped in
# conf/podman/cnip.conflist (bridge, portmap, firewall, tuning, as podman
# writes it): two containers talk, a container reaches an outside netns
# masqueraded, a published port works through the chained portmap (from the
# node and from outside), `podman rm -f` leaves no lease, cache entry, link
# or rule behind. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" podman || skip "podman could not be installed"
	command -v podman >/dev/null || skip "no podman"
fi
e2e_need_ours bridge host-local
e2e_node "$@"

NET=e2enet
SUBNET_PFX=10.77.0.
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

# The shipped podman network file, renamed into this test's namespace.
jq --arg net "$NET" '.name = $net | .plugins[0].bridge = "e2ebr0"
	| .plugins[0].ipam.ranges = [[{subnet: "10.77.0.0/24", gateway: "10.77.0.1"}]]' \
	"$E2E_TOP/conf/podman/cnip.conflist" >"/etc/cni/net.d/$NET.conflist"
pm network inspect "$NET" | jq -e '.[0].driver == "bridge" and .[0].network_interface == "e2ebr0"' >/dev/null ||
	fail "podman does not read conf/podman/cnip.conflist as a bridge network"
pass "podman reads the network file (driver bridge, interface e2ebr0)"

busybox_rootfs "$W/rootfs"
tar -C "$W/rootfs" -c . | pm import -q - localhost/e2ebusybox:latest >/dev/null

note "starting two containers (one serving HTTP, published as 8080)"
pm run -d --name e2ec1 --network "$NET" -p 8080:80 localhost/e2ebusybox \
	httpd -f -p 80 -h /www >/dev/null
pm run -d --name e2ec2 --network "$NET" localhost/e2ebusybox sleep 600 >/dev/null
ip1=$(pm inspect e2ec1 | jq -r ".[0].NetworkSettings.Networks.\"$NET\".IPAddress")
ip2=$(pm inspect e2ec2 | jq -r ".[0].NetworkSettings.Networks.\"$NET\".IPAddress")
[[ $ip1 == "$SUBNET_PFX"* && $ip2 == "$SUBNET_PFX"* ]] || fail "addresses $ip1 $ip2 not from the network"
pass "containers got $ip1 and $ip2"
[ -f "/var/lib/cni/networks/$NET/$ip1" ] || fail "no host-local lease for $ip1"
ip -j link show e2ebr0 | jq -e '.[0].linkinfo.info_kind == "bridge" or (.[0].ifname == "e2ebr0")' >/dev/null ||
	fail "bridge e2ebr0 missing"

pm exec e2ec2 ping -c 2 -W 2 "$ip1" >/dev/null || fail "e2ec2 cannot ping e2ec1 ($ip1)"
pass "container to container: e2ec2 pings e2ec1"

out_counters_reset
pm exec e2ec1 ping -c 2 -W 2 "$OUT_IP" >/dev/null || fail "e2ec1 cannot reach the outside ($OUT_IP)"
if [ "$(out_counter from-node)" -lt 2 ] || [ "$(out_counter from-other)" -ne 0 ]; then
	fail "outside saw $(out_counter from-node) packets from the node, $(out_counter from-other) from others: not masqueraded"
fi
pass "container to outside: masqueraded to the node address $NODE_UP_IP"

wait_for 10 timeout 5 busybox wget -q -O /dev/null "http://$NODE_UP_IP:8080/" || true
body=$(timeout 5 busybox wget -q -O - "http://$NODE_UP_IP:8080/") || fail "published port 8080 unreachable from the node"
[ "$body" = "hello from e2e" ] || fail "published port answered '$body'"
pass "published port: node -> $NODE_UP_IP:8080 -> e2ec1:80 (portmap after our bridge)"
body=$(ip netns exec e2eout timeout 5 busybox wget -q -O - "http://$NODE_UP_IP:8080/") ||
	fail "published port 8080 unreachable from outside"
[ "$body" = "hello from e2e" ] || fail "published port answered '$body' to outside"
pass "published port: outside -> $NODE_UP_IP:8080 -> e2ec1:80"

note "podman rm -f both"
pm rm -f -t 0 e2ec1 e2ec2 >/dev/null
left=$(leftovers "$NET" "$SUBNET_PFX")
[ -z "$left" ] || fail "left behind after podman rm -f: $left"
pass "podman rm -f: no lease, cache entry, veth or per-container rule left"
echo "podman e2e: all checks passed"
