#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A simulated three-node Kubernetes pod network, to watch our plugins work as
# kubelet + a route controller would use them, without any Kubernetes.
#
# Usage: hack/cluster.sh up [bridge|ptp|ptp-routed|kind]  build it (default bridge)
#        hack/cluster.sh test              check it, printing every check
#        hack/cluster.sh down              tear it down
#        hack/cluster.sh exec NETNS CMD..  run CMD in e2eout, e2enN or e2enNpM
#        hack/cluster.sh status            what is up
#
# Everything lives inside one parent network + mount namespace held by a
# sleeping process (its PID in /tmp/cnip/e2e-cluster/holder.pid), which is
# the underlay: a bridge e2eul0 joining
#   e2en1, e2en2, e2en3   nodes 172.31.255.1N/24, pod CIDR 10.244.N.0/24
#   e2eout                "the internet", 172.31.255.100/24, every node's
#                         default gateway, with no route
#                         back to any pod CIDR
# Each node runs the CNI plugin through hack/cnictl (ADD/CHECK/DEL) for two
# pods e2enNp1, e2enNp2 (netns), with its own host-local dataDir and result
# cache; each node routes the other nodes' pod CIDRs via their underlay
# address (what a route controller installs) and masquerades only traffic
# leaving the cluster CIDR 10.244.0.0/16 (kube-proxy's --cluster-cidr rule):
# pod-to-pod traffic keeps its source address, which `test` proves with nft
# counters in the receiving pod.
#
# Plugins: ours from $CNIP_BIN (default build/bin), the reference ones from
# $REF_BIN (default /usr/lib/cni) for whatever is missing.
# CLUSTER_INPLACE=1 uses the current namespaces as the parent (the
# integration tests run it that way inside their own throwaway node).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${CLUSTER_STATE:-/tmp/cnip/e2e-cluster}
REF_BIN=${REF_BIN:-/usr/lib/cni}
CNIP_BIN=${CNIP_BIN:-$TOP/build/bin}
NODES=(1 2 3)
PODS=(1 2)
CLUSTER_CIDR=10.244.0.0/16
UL_PFX=172.31.255
OUT_IP=$UL_PFX.100
CNICTL=$TOP/hack/cnictl
SELF=$TOP/hack/cluster.sh

say() { printf '\033[1m# %s\033[0m\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
die() { echo "cluster: $*" >&2; exit 1; }
node_ip() { echo "$UL_PFX.1$1"; }
pod_cidr() { echo "10.244.$1.0/24"; }
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }

# The plugins: a private dir with ours over the reference ones.
plugin_dir() {
	local d=$STATE/bin p
	mkdir -p "$d"
	cp -a "$REF_BIN"/. "$d"/
	OURS=()
	for p in "$CNIP_BIN"/*; do
		if [ -f "$p" ] && [ -x "$p" ]; then
			cp "$p" "$d/"
			OURS+=("$(basename "$p")")
		fi
	done
	echo "$d"
}

# node_conf N MODE: the conflist node N hands to its plugin, as kubelet's
# conflist with the node's podCIDR filled in (conf/20-cnip-k8s-bridge.conflist.in).
node_conf() {
	local n=$1 mode=$2 ipam
	ipam=$(jq -cn --arg s "$(pod_cidr "$n")" --arg d "/var/lib/cni/e2en$n/networks" \
		'{type: "host-local", ranges: [[{subnet: $s}]], routes: [{dst: "0.0.0.0/0"}], dataDir: $d}')
	case $mode in
	bridge)
		sed "s#@POD_CIDR@#$(pod_cidr "$n")#" "$TOP/conf/20-cnip-k8s-bridge.conflist.in" |
			jq --argjson ipam "$ipam" '.name = "e2ek8s" | .plugins[0].ipam = $ipam
				| .plugins[0].bridge = "e2ebr0" | .plugins |= map(select(.type != "portmap"))'
		;;
	ptp)
		jq -n --argjson ipam "$ipam" '{cniVersion: "1.0.0", name: "e2ek8s",
			plugins: [{type: "ptp", ipMasq: false, ipam: $ipam}]}'
		;;
	ptp-routed)
		# Our ptp's Calico-style layout: pod /32, gateway 169.254.1.1.
		jq -n --argjson ipam "$ipam" '{cniVersion: "1.0.0", name: "e2ek8s",
			plugins: [{type: "ptp", proxyArp: true, ipMasq: false, ipam: $ipam}]}'
		;;
	kind)
		# What kindnetd writes on every kind node: ptp without masquerade,
		# host-local (its dataDir is /run/cni-ipam-state on a node of its
		# own; ours share one filesystem), portmap for hostPorts.
		jq -n --arg s "$(pod_cidr "$n")" --arg d "/var/lib/cni/e2en$n/cni-ipam-state" '{cniVersion: "0.3.1",
			name: "e2ek8s", plugins: [
				{type: "ptp", ipMasq: false, mtu: 1500, ipam: {type: "host-local", dataDir: $d,
					routes: [{dst: "0.0.0.0/0"}], ranges: [[{subnet: $s}]]}},
				{type: "portmap", capabilities: {portMappings: true}}]}'
		;;
	*) die "unknown mode '$mode' (bridge|ptp|ptp-routed|kind)" ;;
	esac
}

cnictl_node() {
	local n=$1
	shift
	nsenter --net="/run/netns/e2en$n" -- env CNI_PATH="$PLUGINS" \
		CNI_CACHE_DIR="/var/lib/cni/e2en$n" "$CNICTL" "$@"
}

# --- inside the parent namespace -------------------------------------------

do_up() {
	local mode=$1 n m p ip
	mkdir -p "$STATE"
	echo "$mode" >"$STATE/mode"
	PLUGINS=$(plugin_dir)
	say "plugins: ours: ${OURS[*]:-none}; the rest from $REF_BIN ($PLUGINS)"
	say "underlay: bridge e2eul0 in the parent namespace"
	run ip link add e2eul0 type bridge
	run ip link set e2eul0 up
	for n in "${NODES[@]}"; do
		say "node e2en$n: $(node_ip "$n") on the underlay, pod CIDR $(pod_cidr "$n")"
		run ip netns add "e2en$n"
		run ip link add "e2eul-n$n" type veth peer name eth0 netns "e2en$n"
		run ip link set "e2eul-n$n" master e2eul0 up
		run ip -n "e2en$n" addr add "$(node_ip "$n")/24" dev eth0
		run ip -n "e2en$n" link set eth0 up
		run ip -n "e2en$n" link set lo up
		# A node's default gateway; proxy ARP (ptp-routed) answers only for
		# addresses the node can route, 169.254.1.1 included.
		run ip -n "e2en$n" route add default via "$OUT_IP"
		run ip netns exec "e2en$n" sysctl -qw net.ipv4.ip_forward=1
		# kube-proxy's masquerade for traffic that leaves the cluster.
		run ip netns exec "e2en$n" nft add table ip e2enode
		run ip netns exec "e2en$n" nft add chain ip e2enode post '{ type nat hook postrouting priority 100; }'
		run ip netns exec "e2en$n" nft add rule ip e2enode post ip saddr "$CLUSTER_CIDR" ip daddr != "$CLUSTER_CIDR" oifname eth0 masquerade
	done
	say "outside: e2eout $OUT_IP, no route to any pod CIDR"
	run ip netns add e2eout
	run ip link add e2eul-out type veth peer name eth0 netns e2eout
	run ip link set e2eul-out master e2eul0 up
	run ip -n e2eout addr add "$OUT_IP/24" dev eth0
	run ip -n e2eout link set eth0 up
	run ip -n e2eout link set lo up
	say "route controller: each node routes the others' pod CIDRs via their underlay address"
	for n in "${NODES[@]}"; do
		for m in "${NODES[@]}"; do
			[ "$n" != "$m" ] || continue
			run ip -n "e2en$n" route add "$(pod_cidr "$m")" via "$(node_ip "$m")"
		done
	done
	for n in "${NODES[@]}"; do
		node_conf "$n" "$mode" >"$STATE/e2en$n.conflist"
		say "kubelet on e2en$n: CNI ADD for ${#PODS[@]} pods ($mode, $STATE/e2en$n.conflist)"
		for p in "${PODS[@]}"; do
			run ip netns add "e2en${n}p$p"
			printf '+ cnictl add %s /run/netns/%s --id %s\n' "$STATE/e2en$n.conflist" "e2en${n}p$p" "e2en${n}p$p"
			ip=$(cnictl_node "$n" add "$STATE/e2en$n.conflist" "/run/netns/e2en${n}p$p" \
				--id "e2en${n}p$p" --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=e2en${n}p$p" \
				--cap-args "$(pod_caps "$p")" |
				jq -r '.ips[0].address') || die "ADD of pod e2en${n}p$p failed"
			echo "  pod e2en${n}p$p: $ip"
			echo "${ip%/*}" >"$STATE/e2en${n}p$p.ip"
		done
	done
	say "cluster is up: hack/cluster.sh test"
}

pod_ip() { cat "$STATE/$1.ip"; }

# hostPort of pod 1 on every node (kind mode: a Deployment's hostPort).
HOSTPORT=30080
pod_caps() {
	if [ "$1" = 1 ]; then
		printf '{"portMappings":[{"hostPort":%d,"containerPort":8080,"protocol":"tcp"}]}' "$HOSTPORT"
	else
		echo '{}'
	fi
}

# hostport_ok NETNS ADDR NODE: a TCP connection from NETNS to ADDR:hostPort
# reaches the server of pod 1 on NODE (which answers with its own name).
hostport_ok() {
	local got
	got=$(in_ns "$1" timeout 5 socat -T 3 - "TCP:$2:$HOSTPORT,connect-timeout=3" </dev/null 2>/dev/null)
	[ "$got" = "e2en${3}p1" ]
}

# count_from NETNS SADDR CMD..: runs CMD, prints how many ICMP echo requests
# NETNS received from SADDR meanwhile (an nft counter in NETNS).
count_from() {
	local ns=$1 src=$2
	shift 2
	in_ns "$ns" nft -f - <<-EOF
		table inet e2ecount
		delete table inet e2ecount
		table inet e2ecount {
			chain input {
				type filter hook input priority 0;
				ip saddr $src icmp type echo-request counter
			}
		}
	EOF
	"$@" >/dev/null 2>&1 || { in_ns "$ns" nft delete table inet e2ecount; return 1; }
	in_ns "$ns" nft -j list table inet e2ecount |
		jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add // 0'
	in_ns "$ns" nft delete table inet e2ecount
}

FAILS=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		FAILS=$((FAILS + 1))
	fi
}

ping_ok() { in_ns "$1" ping -c 1 -W 2 "$2" >/dev/null; }

# no_nat SRC_POD DST_POD: DST sees SRC's own address on SRC's pings.
no_nat() {
	local got
	got=$(count_from "$2" "$(pod_ip "$1")" in_ns "$1" ping -c 2 -W 2 "$(pod_ip "$2")") || return 1
	[ "$got" -ge 2 ]
}

# masq_out POD NODE: the outside sees NODE's address, never POD's.
masq_out() {
	local from_node from_pod
	from_pod=$(count_from e2eout "$(pod_ip "$1")" true)
	from_node=$(count_from e2eout "$(node_ip "$2")" in_ns "$1" ping -c 2 -W 2 "$OUT_IP") || return 1
	[ "$from_node" -ge 2 ] && [ "$from_pod" -eq 0 ]
}

do_test() {
	local n m p mode
	mode=$(cat "$STATE/mode")
	PLUGINS=$STATE/bin
	FAILS=0
	say "same node: pod to pod, and the node to its pods (kubelet probes)"
	for n in "${NODES[@]}"; do
		check "e2en${n}p1 -> e2en${n}p2 ($(pod_ip "e2en${n}p2"))" ping_ok "e2en${n}p1" "$(pod_ip "e2en${n}p2")"
		check "node e2en$n -> e2en${n}p1" ping_ok "e2en$n" "$(pod_ip "e2en${n}p1")"
	done
	say "across nodes: pod to pod without NAT (the receiver counts the sender's pod address)"
	for n in "${NODES[@]}"; do
		m=$((n % ${#NODES[@]} + 1))
		check "e2en${n}p1 ($(pod_ip "e2en${n}p1")) -> e2en${m}p2 ($(pod_ip "e2en${m}p2")), source kept" \
			no_nat "e2en${n}p1" "e2en${m}p2"
	done
	say "to the outside: masqueraded to the node's underlay address"
	for n in "${NODES[@]}"; do
		check "e2en${n}p2 -> outside $OUT_IP, seen from $(node_ip "$n")" masq_out "e2en${n}p2" "$n"
	done
	if [ "$mode" = kind ]; then
		say "hostPort $HOSTPORT of pod 1 on each node (portmap): from outside, another node's pod, the node itself, hairpin"
		local servers=()
		for n in "${NODES[@]}"; do
			in_ns "e2en${n}p1" timeout 120 socat "TCP-LISTEN:8080,fork,reuseaddr" "SYSTEM:echo e2en${n}p1" \
				</dev/null >/dev/null 2>&1 &
			servers+=($!)
		done
		sleep 0.5
		for n in "${NODES[@]}"; do
			m=$((n % ${#NODES[@]} + 1))
			check "outside -> $(node_ip "$n"):$HOSTPORT" hostport_ok e2eout "$(node_ip "$n")" "$n"
			check "e2en${m}p2 -> $(node_ip "$n"):$HOSTPORT" hostport_ok "e2en${m}p2" "$(node_ip "$n")" "$n"
			check "node e2en$n -> 127.0.0.1:$HOSTPORT" hostport_ok "e2en$n" 127.0.0.1 "$n"
			check "node e2en$n -> $(node_ip "$n"):$HOSTPORT" hostport_ok "e2en$n" "$(node_ip "$n")" "$n"
			check "hairpin e2en${n}p1 -> $(node_ip "$n"):$HOSTPORT" hostport_ok "e2en${n}p1" "$(node_ip "$n")" "$n"
		done
		kill "${servers[@]}" 2>/dev/null || true
		wait "${servers[@]}" 2>/dev/null || true
	fi
	if [ "$(jq -r .cniVersion "$STATE/e2en1.conflist")" = 0.3.1 ]; then
		say "no CNI CHECK: the spec has none before 0.4.0, and kindnetd's conflist says 0.3.1"
		NODES_CHECK=()
	else
		say "CNI CHECK of every pod ($mode)"
		NODES_CHECK=("${NODES[@]}")
	fi
	for n in "${NODES_CHECK[@]}"; do
		for p in "${PODS[@]}"; do
			check "cnictl check e2en${n}p$p" cnictl_node "$n" check "$STATE/e2en$n.conflist" \
				"/run/netns/e2en${n}p$p" --id "e2en${n}p$p"
		done
	done
	if [ "$FAILS" -eq 0 ]; then say "all checks passed"; else say "$FAILS checks failed"; fi
	[ "$FAILS" -eq 0 ]
}

do_down() {
	local n p left=0
	PLUGINS=$STATE/bin
	for n in "${NODES[@]}"; do
		[ -e "/run/netns/e2en$n" ] || continue
		say "kubelet on e2en$n: CNI DEL of its pods, then the pod netns go"
		for p in "${PODS[@]}"; do
			[ -e "/run/netns/e2en${n}p$p" ] || continue
			run cnictl_node "$n" del "$STATE/e2en$n.conflist" "/run/netns/e2en${n}p$p" --id "e2en${n}p$p" \
				--cap-args "$(pod_caps "$p")" || left=1
			run ip netns del "e2en${n}p$p"
		done
		# Nothing of the node's pods may survive them: no rule, set element,
		# chain (iptables-nft's too) or route that names a pod address.
		if in_ns "e2en$n" nft list ruleset | grep -q "10\.244\.$n\."; then
			echo "rules left on e2en$n:"; in_ns "e2en$n" nft list ruleset | grep "10\.244\.$n\."
			left=1
		fi
		if in_ns "e2en$n" ip route show | grep -q "^10\.244\.$n\.[0-9]* "; then
			echo "routes left on e2en$n: $(in_ns "e2en$n" ip route show | grep "^10\.244\.$n\.")"
			left=1
		fi
		if [ -n "$(find "/var/lib/cni/e2en$n" -path '*/e2ek8s/10.*' -type f 2>/dev/null)" ]; then
			echo "leases left on e2en$n: $(find "/var/lib/cni/e2en$n" -path '*/e2ek8s/10.*' -type f)"
			left=1
		fi
		run ip netns del "e2en$n"
	done
	[ -e /run/netns/e2eout ] && run ip netns del e2eout
	ip link show e2eul0 >/dev/null 2>&1 && run ip link del e2eul0
	return "$left"
}

# --- the parent namespace ---------------------------------------------------

holder_pid() {
	local pid
	pid=$(cat "$STATE/holder.pid" 2>/dev/null) || return 1
	[ -d "/proc/$pid" ] && grep -q e2e-cluster-holder "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# in_parent CMD: runs this script's CMD inside the parent namespace.
in_parent() {
	if [ "${CLUSTER_INPLACE:-0}" = 1 ]; then
		"do_$1" "${@:2}"
		return
	fi
	local pid
	pid=$(holder_pid) || die "no cluster is up (hack/cluster.sh up)"
	nsenter -t "$pid" --net --mount -- env CLUSTER_INPLACE=1 CLUSTER_STATE="$STATE" \
		CNIP_BIN="$CNIP_BIN" REF_BIN="$REF_BIN" "$SELF" "$@"
}

start_holder() {
	local pid
	mkdir -p "$STATE"
	# The holder keeps the parent namespaces alive between commands; its
	# private tmpfs on /run/netns and /var/lib/cni hide everything from the
	# machine.
	# shellcheck disable=SC2016
	unshare --net --mount --propagation private -- bash -c '
		mount -t tmpfs e2e /run/netns && mkdir -p /var/lib/cni &&
		mount -t tmpfs e2e /var/lib/cni && ip link set lo up &&
		echo $$ >"$0/holder.pid" && exec -a e2e-cluster-holder sleep infinity' "$STATE" \
		</dev/null >/dev/null 2>&1 &
	disown
	for _ in $(seq 50); do
		pid=$(holder_pid) && { echo "$pid"; return 0; }
		sleep 0.1
	done
	die "the parent namespace did not come up"
}

main() {
	local cmd=${1:-}
	[ "$(id -u)" -eq 0 ] || die "needs root"
	case $cmd in
	up)
		if [ "${CLUSTER_INPLACE:-0}" != 1 ]; then
			! holder_pid >/dev/null || die "a cluster is already up (hack/cluster.sh down first)"
			say "parent namespace (underlay) held by pid $(start_holder)"
		fi
		in_parent up "${2:-bridge}"
		;;
	test) in_parent test ;;
	down)
		if [ "${CLUSTER_INPLACE:-0}" = 1 ]; then
			do_down
			return
		fi
		local pid rc=0
		pid=$(holder_pid) || die "no cluster is up"
		in_parent down || rc=$?
		say "stopping the parent namespace (pid $pid)"
		kill "$pid"
		rm -rf "$STATE"
		return "$rc"
		;;
	exec)
		[ $# -ge 3 ] || die "usage: hack/cluster.sh exec NETNS CMD..."
		if [ "${CLUSTER_INPLACE:-0}" = 1 ]; then
			in_ns "$2" "${@:3}"
		else
			in_parent exec "${@:2}"
		fi
		;;
	status)
		local pid
		pid=$(holder_pid) || { echo "no cluster is up"; return 0; }
		echo "parent pid $pid, mode $(cat "$STATE/mode" 2>/dev/null)"
		nsenter -t "$pid" --net --mount -- ip netns list
		;;
	*) sed -n '/^# Usage:/,/^#        hack\/cluster.sh status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
}

[ "${CLUSTER_LIB:-0}" = 1 ] || main "$@"
