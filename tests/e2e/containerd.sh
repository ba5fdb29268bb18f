#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# containerd 1.6 `ctr run --cni` on our bridge and our ptp, through the
# shipped files installed in turn as the first file of /etc/cni/net.d (ctr
# takes the first one; a broken file sorted after it proves it):
#   bridge        conf/10-cnip-bridge.conflist
#   ptp-proxyarp  conf/41-cnip-ptp-routed.conflist (pod /32, gateway 169.254.1.1)
#   ptp           conf/40-cnip-ptp.conflist (the reference's layout)
# Each: the pods are wired as the layout says, two containers talk, a
# container reaches an outside netns masqueraded, the node reaches a
# container, and the DEL that ctr sends after the task exits, with an empty
# CNI_NETNS (the pod netns is already gone), leaves no lease, cache entry,
# link, route or rule behind.
# `ctr run` has no -p: it cannot publish ports, so the published-port
# (portmap) checks on every network are podman.sh's alone.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" containerd || skip "containerd could not be installed"
	{ command -v containerd && command -v ctr; } >/dev/null || skip "no containerd/ctr"
fi
e2e_need_ours bridge ptp host-local
e2e_node "$@"

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

echo '{"cniVersion":"1.0.0","name":"e2pdecoy","plugins":[{"type":"e2e-no-such-plugin"}]}' \
	>/etc/cni/net.d/99-e2p-decoy.conflist

# Log what containerd asks of bridge and ptp (command and netns), then run
# the real one.
for p in bridge ptp; do
	mv "/opt/cni/bin/$p" "/opt/cni/bin/$p.real"
	cat >"/opt/cni/bin/$p" <<EOF
#!/bin/sh
echo "$p \$CNI_COMMAND \$CNI_CONTAINERID netns=[\$CNI_NETNS]" >>$W/calls.log
exec /opt/cni/bin/$p.real "\$@"
EOF
	chmod +x "/opt/cni/bin/$p"
done

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
# in_task ID CMD...: runs CMD in the running task ID.
in_task() {
	local id=$1
	shift
	c task exec --exec-id "x$RANDOM$RANDOM" "$id" "$@"
}

# ctr_net LAYOUT FILE NET SUBNET: the shipped FILE renamed into this test's
# namespace (network NET, SUBNET, bridge e2pbr0) as the first conflist, two
# containers on it, every check, then the tasks killed and the leftovers
# check after ctr's DEL.
ctr_net() {
	local layout=$1 file=$2 net=$3 subnet=$4 pfx=${4%0/24} c1=${3}c1 c2=${3}c2 type=${1%-*}
	local ip1 ip2 have want body left id
	note "$layout: $net from $(basename "$file"), $subnet"
	jq --arg net "$net" --arg sub "$subnet" '.name = $net
		| .plugins[0] |= (if has("bridge") then .bridge = "e2pbr0" else . end | .ipam.ranges = [[{subnet: $sub}]])' \
		"$file" >/etc/cni/net.d/10-e2p.conflist
	lease_count() { find "/var/lib/cni/networks/$net" -maxdepth 1 -name "$pfx*" | wc -l; }
	leases_two() { [ "$(lease_count)" -eq 2 ]; }
	tasks_running() { [ "$(ctr task ls -q | grep -c "^$net")" -eq 2 ]; }

	start "$c1" /bin/httpd -f -p 80 -h /www
	start "$c2" /bin/sleep 600
	wait_for 30 leases_two || { cat "$W/$c1.out" "$W/$c2.out"; fail "$layout: containers did not get addresses"; }
	wait_for 30 tasks_running || fail "$layout: tasks not running"
	ip1=$(in_task "$c1" /bin/ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
	ip2=$(in_task "$c2" /bin/ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
	[[ $ip1 == "$pfx"* && $ip2 == "$pfx"* ]] || fail "$layout: addresses '$ip1' '$ip2' not from $subnet"
	grep -q "^$type ADD e2e-$c1 netns=\[/proc/[0-9]*/ns/net\]" "$W/calls.log" ||
		fail "$layout: unexpected ADD calls: $(cat "$W/calls.log")"
	have=$(pod_layout "$subnet" "$ip1" in_task "$c1")
	want=$(layout_want "$layout" "$subnet" "$ip1")
	[ "$have" = "$want" ] || fail "$layout: pod wired as '$have', want '$want'"
	pass "$layout: containers got $ip1 and $ip2 from the first conflist (not the decoy after it); $have"

	in_task "$c2" /bin/ping -c 2 -W 2 "$ip1" >/dev/null || fail "$layout: $c2 cannot ping $c1 ($ip1)"
	pass "$layout: container to container: $c2 pings $c1"

	out_counters_reset
	in_task "$c1" /bin/ping -c 2 -W 2 "$OUT_IP" >/dev/null || fail "$layout: $c1 cannot reach the outside ($OUT_IP)"
	if [ "$(out_counter from-node)" -lt 2 ] || [ "$(out_counter from-other)" -ne 0 ]; then
		fail "$layout: outside saw $(out_counter from-node) packets from the node, $(out_counter from-other) from others: not masqueraded"
	fi
	pass "$layout: container to outside: masqueraded to the node address $NODE_UP_IP"

	wait_for 10 timeout 5 busybox wget -q -O /dev/null "http://$ip1/" || true
	body=$(timeout 5 busybox wget -q -O - "http://$ip1/") || fail "$layout: node cannot reach $c1:80"
	[ "$body" = "hello from e2e" ] || fail "$layout: $c1:80 answered '$body'"
	pass "$layout: node to container: http://$ip1/ answers"

	for id in "$c1" "$c2"; do
		c task kill -s KILL "$id" >/dev/null
		timeout 60 tail --pid="${RUNPID[$id]}" -f /dev/null || fail "$layout: ctr run $id did not return"
	done
	for id in "$c1" "$c2"; do
		grep -q "^$type DEL e2e-$id netns=\[\]$" "$W/calls.log" ||
			fail "$layout: no DEL with empty netns for $id: $(cat "$W/calls.log")"
	done
	left=$(leftovers "$net" "$pfx")
	[ -z "$left" ] || fail "$layout: left behind after DEL with empty netns: $left"
	[ -z "$(c container ls -q)" ] || fail "$layout: containers still listed"
	pass "$layout: ctr's DEL with empty CNI_NETNS: no lease, cache entry, veth, route or per-container rule left"
}

ctr_net bridge "$E2E_TOP/conf/10-cnip-bridge.conflist" e2pbr 10.78.0.0/24
ctr_net ptp-proxyarp "$E2E_TOP/conf/41-cnip-ptp-routed.conflist" e2pptp 10.78.1.0/24
ctr_net ptp "$E2E_TOP/conf/40-cnip-ptp.conflist" e2pref 10.78.2.0/24
echo "containerd e2e: all checks passed"
