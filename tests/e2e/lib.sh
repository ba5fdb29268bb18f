# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by tests/e2e/*.sh. `e2e_node "$@"` re-executes the test inside a
# throwaway node: private network, mount and PID namespace (whatever the
# clients leave running dies with the test), tmpfs on /run/netns,
# /var/lib/cni, /run/cni, /etc/cni/net.d, /opt (with private copies of the
# plugins in /opt/cni/bin) and /dev/shm, an uplink to an "outside" netns, and
# a temp dir $W for the clients' storage and state. Cleanup runs on any exit:
# registered hooks first (stop containers and daemons by PID), then any
# process still running from $W, then $W itself.
# Plugins: every one of ours built in $CNIP_BIN over the reference ones from
# $REF_BIN (for any of ours not built: the test says which it used).
set -euo pipefail
export E2E_TOP
E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REF_BIN=${REF_BIN:-/usr/lib/cni}
# The uplink between the node and the outside netns (TEST-NET-2, private to
# these namespaces).
NODE_UP_IP=198.51.100.1
OUT_IP=198.51.100.2

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }
pass() { echo "ok: $*"; }

# e2e_need_ours PLUGIN...: skip unless ours are built (E2E_ALLOW_REF=1 runs
# on the reference plugins instead, to develop the tests themselves).
e2e_need_ours() {
	local p
	[ "${E2E_ALLOW_REF:-0}" != 1 ] || return 0
	for p in "$@"; do
		[ -x "${CNIP_BIN:-/nonexistent}/$p" ] ||
			skip "our $p is not built (CNIP_BIN=${CNIP_BIN:-unset}); E2E_ALLOW_REF=1 runs on the reference"
	done
}

E2E_CLEANUPS=()
on_exit() { E2E_CLEANUPS+=("$1"); }

e2e_cleanup() {
	local rc=$? i pid
	trap - EXIT
	set +e
	for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${E2E_CLEANUPS[i]}" >/dev/null 2>&1
	done
	# Anything still running from our temp dir (conmon, shims) was started
	# by this test: stop it by PID.
	if [ -n "${W:-}" ]; then
		for pid in $(e2e_pids_using "$W"); do kill -KILL "$pid" 2>/dev/null; done
		rm -rf "$W"
	fi
	exit "$rc"
}

# e2e_pids_using STRING: PIDs whose command line mentions STRING.
e2e_pids_using() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != "$$" ] || continue
		if grep -qF -- "$1" <<<"$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"; then
			echo "${p#/proc/}"
		fi
	done
}

e2e_node() {
	if [ "${E2E_IN_NODE:-}" != 1 ]; then
		[ "$(id -u)" -eq 0 ] || skip "needs root"
		exec unshare --net --mount --propagation private --pid --fork --mount-proc -- \
			env E2E_IN_NODE=1 bash "$0" "$@"
	fi
	local d p
	for d in /run/netns /var/lib/cni /run/cni /etc/cni/net.d /opt /dev/shm; do
		mkdir -p "$d"
		mount -t tmpfs -o mode=0755 e2e "$d"
	done
	chmod 1777 /dev/shm
	mkdir -p /tmp/cnip
	W=$(mktemp -d /tmp/cnip/e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	ip link set lo up

	mkdir -p /opt/cni/bin
	cp -a "$REF_BIN"/. /opt/cni/bin/
	E2E_OURS=()
	for p in "${CNIP_BIN:-/nonexistent}"/*; do
		if [ -f "$p" ] && [ -x "$p" ]; then
			cp "$p" /opt/cni/bin/
			E2E_OURS+=("$(basename "$p")")
		fi
	done
	note "plugins in /opt/cni/bin: ours: ${E2E_OURS[*]:-none}; the rest from $REF_BIN"

	# Outside world: a netns reached through the node's uplink.
	ip netns add e2eout
	ip link add e2eup type veth peer name eth0 netns e2eout
	ip addr add "$NODE_UP_IP/24" dev e2eup
	ip link set e2eup up
	ip -n e2eout addr add "$OUT_IP/24" dev eth0
	ip -n e2eout link set eth0 up
	ip -n e2eout link set lo up
	# Count what reaches the outside by source: pods' own addresses must
	# never show up there, only the node's (masquerade).
	ip netns exec e2eout nft -f - <<-EOF
		table inet e2e {
			chain input {
				type filter hook input priority 0;
				ip saddr $NODE_UP_IP counter comment "from-node"
				ip saddr != $NODE_UP_IP counter comment "from-other"
			}
		}
	EOF
	sysctl -qw net.ipv4.ip_forward=1
	# A node has a default route; ptp's proxyArp layout needs one (the
	# kernel proxies ARP for 169.254.1.1 only when it can route it
	# elsewhere). It leads into the outside netns, which routes nothing on.
	ip route add default via "$OUT_IP"
}

# out_counter NAME: packets counted in the outside netns (from-node|from-other).
out_counter() {
	ip netns exec e2eout nft -j list table inet e2e |
		jq --arg c "$1" '[.nftables[] | select(.rule.comment == $c) | .rule.expr[] | select(.counter) | .counter.packets] | add // 0'
}

out_counters_reset() { ip netns exec e2eout nft reset counters table inet e2e >/dev/null; }

# pod_layout SUBNET IP CMD...: one line describing how the pod with address
# IP in SUBNET (a /24) is wired, CMD... running a command inside the pod:
# its prefix length, default gateway, how it reaches SUBNET (via a gateway or
# connected) and the kind of node link routing to IP (bridge or veth).
pod_layout() {
	local subnet=$1 ip=$2 addr routes gw net dev kind
	shift 2
	addr=$("$@" /bin/ip -4 -o addr show dev eth0 | awk 'NR == 1 {print $4}')
	routes=$("$@" /bin/ip -4 route show)
	gw=$(awk '$1 == "default" && $2 == "via" {print $3; exit}' <<<"$routes")
	net=$(awk -v n="$subnet" '$1 == n {print ($2 == "via") ? "via " $3 : "connected"; exit}' <<<"$routes")
	dev=$(ip -j route get "$ip" | jq -r '.[0].dev')
	kind=$(ip -j -d link show "$dev" | jq -r '.[0].linkinfo.info_kind // "none"')
	echo "$ip/${addr#*/} default via ${gw:-none}, $subnet ${net:-unreachable}, node: $kind"
}

# layout_want LAYOUT SUBNET IP: what pod_layout prints for LAYOUT (bridge,
# ptp: the reference's, ptp-proxyarp: Calico's /32 and 169.254.1.1).
layout_want() {
	local gw=${2%.0/24}.1
	case $1 in
	bridge) echo "$3/24 default via $gw, $2 connected, node: bridge" ;;
	ptp) echo "$3/24 default via $gw, $2 via $gw, node: veth" ;;
	ptp-proxyarp) echo "$3/32 default via 169.254.1.1, $2 via 169.254.1.1, node: veth" ;;
	*) fail "layout_want: unknown layout $1" ;;
	esac
}

# busybox_rootfs DIR: a minimal rootfs with busybox-static and its applets.
busybox_rootfs() {
	local dir=$1 a
	[ -x /bin/busybox ] || fail "busybox-static missing"
	mkdir -p "$dir"/{bin,etc,proc,sys,dev,tmp,www,root}
	cp /bin/busybox "$dir/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
	echo "root:x:0:" >"$dir/etc/group"
	echo "hello from e2e" >"$dir/www/index.html"
}

# wait_for SECONDS CMD...: retries CMD every 0.2 s.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# leftovers NET SUBNET_PREFIX: prints leases, cache entries, links, host
# routes (ptp) and nft rules (in or jumping to a per-container chain) that a
# removed container could have left (empty when clean).
leftovers() {
	local net=$1 pfx=$2
	ip -j -4 route show | jq -r --arg p "$pfx" '.[] | select((.dst | startswith($p)) and (.dst | contains("/") | not))
		| "route \(.dst) dev \(.dev)"'
	find "/var/lib/cni/networks/$net" -maxdepth 1 -type f \
		! -name lock ! -name 'last_reserved_ip.*' -printf 'lease %f\n' 2>/dev/null || true
	find /var/lib/cni/results -mindepth 1 -maxdepth 1 -printf 'cache %f\n' 2>/dev/null || true
	ip -j link show type veth | jq -r '.[] | select(.ifname != "e2eup") | "link \(.ifname)"'
	nft -j list ruleset | jq -r --arg p "$pfx" '.nftables[] | select(.rule) | .rule
		| select((tojson | contains($p)) or ((.comment // "") | test("[0-9a-f]{12}"))
			or (tojson | test("\"CNI-(DN-)?[0-9a-f]{16}")))
		| "rule \(.family) \(.table) \(.chain): \(.expr | tojson | .[0:160])"'
	nft -j list ruleset | jq -r --arg p "$pfx" '.nftables[] | (.set // .map // empty)
		| select(.elem and (.elem | tojson | contains($p))) | "element of \(.family) \(.table) \(.name)"'
	find /run/cni/tuning -type f -printf 'tuning state %f\n' 2>/dev/null || true
}
