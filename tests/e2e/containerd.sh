#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# containerd 1.6 `ctr run --cni` on our bridge, through conf/10-cnip-bridge.conflist
# installed as the first file of /etc/cni/net.d (ctr takes the first one;
# a broken file sorted after it proves it). Checks: two containers talk, a
# container reaches an outside netns masqueraded, the node reaches a
# container, and the DEL that ctr sends after the task exits, with an empty
# CNI_NETNS (the pod netns is already gone), leaves no lease, cache entry,
# link or rule behind. ctr cannot publish ports: portmap is covered by
# podman.sh. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" containerd || skip "containerd could not be installed"
	{ command -v containerd && command -v ctr; } >/dev/null || skip "no containerd/ctr"
fi
e2e_need_ours bridge host-local
e2e_node "$@"

NET=e2enet
SUBNET_PFX=10.78.0.
cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
	"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
	"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
EOF
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
cpid=$!
on_exit "kill $cpid; wait $cpid"
export CONTAINERD_ADDRESS=$W/containerd.sock CONTAINERD_NAMESPACE=e2e
c() { timeout 60 ctr "$@"; }
wait_for 30 ctr version || { tail -20 "$W/containerd.log"; fail "containerd did not start"; }
pass "containerd $(ctr version | awk '/Server:/{s=1} s && /Version:/{print $2; exit}') up (pid $cpid)"

jq --arg net "$NET" '.name = $net | .plugins[0].bridge = "e2ebr0"
	| .plugins[0].ipam.ranges = [[{subnet: "10.78.0.0/24"}]]' \
	"$E2E_TOP/conf/10-cnip-bridge.conflist" >/etc/cni/net.d/10-e2e.conflist
echo '{"cniVersion":"1.0.0","name":"e2edecoy","plugins":[{"type":"e2e-no-such-plugin"}]}' \
	>/etc/cni/net.d/99-e2e-decoy.conflist

# Log what containerd asks of the bridge plugin (command and netns), then
# run the real one.
mv /opt/cni/bin/bridge /opt/cni/bin/bridge.real
cat >/opt/cni/bin/bridge <<EOF
#!/bin/sh
echo "\$CNI_COMMAND \$CNI_CONTAINERID netns=[\$CNI_NETNS]" >>$W/bridge-calls.log
exec /opt/cni/bin/bridge.real "\$@"
EOF
chmod +x /opt/cni/bin/bridge

# ctr run in the foreground sends DEL when the task exits; -d never does.
declare -A RUNPID
start() {
	local id=$1
	shift
	busybox_rootfs "$W/$id"
	ctr run --rm --cni --env PATH=/bin --rootfs "$W/$id" "$id" "$@" >"$W/$id.out" 2>&1 &
	RUNPID[$id]=$!
	on_exit "ctr task kill -s KILL $id; wait ${RUNPID[$id]}; ctr container rm $id"
}
start e2ec1 /bin/httpd -f -p 80 -h /www
start e2ec2 /bin/sleep 600
lease_count() { find "/var/lib/cni/networks/$NET" -maxdepth 1 -name "$SUBNET_PFX*" | wc -l; }
leases_two() { [ "$(lease_count)" -eq 2 ]; }
wait_for 30 leases_two || { cat "$W"/e2ec*.out; fail "containers did not get addresses"; }
tasks_running() { [ "$(ctr task ls -q | wc -l)" -eq 2 ]; }
wait_for 30 tasks_running || fail "tasks not running"
addr_of() { c task exec --exec-id "a$RANDOM" "$1" /bin/ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
ip1=$(addr_of e2ec1)
ip2=$(addr_of e2ec2)
[[ $ip1 == "$SUBNET_PFX"* && $ip2 == "$SUBNET_PFX"* ]] || fail "addresses '$ip1' '$ip2' not from the network"
pass "containers got $ip1 and $ip2 from the first conflist (the decoy after it was not used)"
grep -q "^ADD e2e-e2ec1 netns=\[/proc/[0-9]*/ns/net\]" "$W/bridge-calls.log" ||
	fail "unexpected ADD calls: $(cat "$W/bridge-calls.log")"

c task exec --exec-id p1 e2ec2 /bin/ping -c 2 -W 2 "$ip1" >/dev/null || fail "e2ec2 cannot ping e2ec1 ($ip1)"
pass "container to container: e2ec2 pings e2ec1"

out_counters_reset
c task exec --exec-id p2 e2ec1 /bin/ping -c 2 -W 2 "$OUT_IP" >/dev/null || fail "e2ec1 cannot reach the outside ($OUT_IP)"
if [ "$(out_counter from-node)" -lt 2 ] || [ "$(out_counter from-other)" -ne 0 ]; then
	fail "outside saw $(out_counter from-node) packets from the node, $(out_counter from-other) from others: not masqueraded"
fi
pass "container to outside: masqueraded to the node address $NODE_UP_IP"

wait_for 10 timeout 5 busybox wget -q -O /dev/null "http://$ip1/" || true
body=$(timeout 5 busybox wget -q -O - "http://$ip1/") || fail "node cannot reach e2ec1:80"
[ "$body" = "hello from e2e" ] || fail "e2ec1:80 answered '$body'"
pass "node to container: http://$ip1/ answers"

note "killing both tasks: ctr sends DEL with an empty CNI_NETNS"
for id in e2ec1 e2ec2; do
	c task kill -s KILL "$id" >/dev/null
	timeout 60 tail --pid="${RUNPID[$id]}" -f /dev/null || fail "ctr run $id did not return"
done
for id in e2ec1 e2ec2; do
	grep -q "^DEL e2e-$id netns=\[\]$" "$W/bridge-calls.log" ||
		fail "no DEL with empty netns for $id: $(cat "$W/bridge-calls.log")"
done
pass "ctr sent DEL with CNI_NETNS empty for both"
left=$(leftovers "$NET" "$SUBNET_PFX")
[ -z "$left" ] || fail "left behind after DEL with empty netns: $left"
pass "DEL with empty netns: no lease, cache entry, veth or per-container rule left"
[ -z "$(c container ls -q)" ] || fail "containers still listed"
echo "containerd e2e: all checks passed"
