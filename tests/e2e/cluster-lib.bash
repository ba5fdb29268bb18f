# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for tests/integration/cluster-*.sh: hack/cluster.sh run in place,
# inside the node the integration runner made (its tmpfs /run/netns and
# /var/lib/cni). Sourced after tests/lib.sh.
export CLUSTER_INPLACE=1 CLUSTER_STATE=$TMP/cluster CNIP_BIN REF_BIN
cl() { "$CNIP_TOP/hack/cluster.sh" "$@"; }

cluster_up() {
	local p
	for p in bridge ptp host-local loopback portmap; do
		if [ -x "$CNIP_BIN/$p" ]; then note "$p: ours ($CNIP_BIN)"; else note "$p: reference ($REF_BIN), ours not built"; fi
	done
	cl up "$1" >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; fail "cluster up $1 failed"; }
	note "cluster up ($1): 3 nodes, 6 pods"
}

cluster_test() {
	cl test || fail "cluster checks failed"
}

# cluster_del_twice N P: DEL of pod eNpP twice through cnictl (the second
# without a cached result), then its lease must be gone.
cluster_del_twice() {
	local n=$1 p=$2 pod="e2en$1p$2" ip
	ip=$(cat "$CLUSTER_STATE/$pod.ip")
	for _ in 1 2; do
		nsenter --net="/run/netns/e2en$n" -- env CNI_PATH="$CLUSTER_STATE/bin" CNI_CACHE_DIR="/var/lib/cni/e2en$n" \
			"$CNIP_TOP/hack/cnictl" del "$CLUSTER_STATE/e2en$n.conflist" "/run/netns/$pod" --id "$pod" ||
			fail "DEL of $pod failed"
	done
	[ -z "$(find "/var/lib/cni/e2en$n" -path "*/e2ek8s/$ip" 2>/dev/null)" ] || fail "lease $ip of $pod still there after DEL"
	[ ! -e "/var/lib/cni/e2en$n/results/e2ek8s-$pod-eth0" ] || fail "cached result of $pod still there after DEL"
	[ -z "$(nsenter --net="/run/netns/$pod" ip -j link show eth0 2>/dev/null | jq '.[]?')" ] ||
		fail "eth0 of $pod still there after DEL"
	note "DEL of $pod twice: lease, cache entry and eth0 gone"
}

cluster_down() {
	cl down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; fail "cluster down failed (DEL error or lease left)"; }
	[ -z "$(find /var/lib/cni -path '*/e2ek8s/10.*' 2>/dev/null)" ] ||
		fail "leases left: $(find /var/lib/cni -path '*/e2ek8s/10.*')"
	[ -z "$(find /var/lib/cni -path '*/results/*' -type f 2>/dev/null)" ] ||
		fail "cached results left: $(find /var/lib/cni -path '*/results/*' -type f)"
	[ -z "$(ip netns list)" ] || fail "netns left: $(ip netns list)"
	rm -rf "$CLUSTER_STATE"
	note "cluster down: no lease, cached result or netns left"
}
