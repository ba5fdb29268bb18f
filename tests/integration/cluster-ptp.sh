#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Three simulated nodes (hack/cluster.sh) with the ptp plugin, the
# reference's layout and, when our ptp is built, its routed (proxyArp,
# Calico-style) layout: pods reach each other on a node and across nodes
# without NAT, reach the outside masqueraded by the node, pass CNI CHECK;
# DEL is idempotent and the teardown leaves nothing behind.
source "$CNIP_TOP/tests/lib.sh"
# shellcheck source=tests/e2e/cluster-lib.bash
source "$CNIP_TOP/tests/e2e/cluster-lib.bash"

cluster_up ptp
for n in 1 2 3; do
	for p in 1 2; do
		r=$(cl exec "e2en${n}p$p" ip -j route show default)
		jq_ok "$r" ".[0].gateway == \"10.244.$n.1\"" "pod e2en${n}p$p: default route not via 10.244.$n.1"
		ip=$(cat "$CLUSTER_STATE/e2en${n}p$p.ip")
		r=$(cl exec "e2en$n" ip -j route get "$ip")
		jq_ok "$r" ".[0].dev | startswith(\"veth\")" "node e2en$n: $ip not routed to a host veth"
	done
done
note "ptp: pods' default route via 10.244.N.1, node routes each pod to its veth"
cluster_test
cluster_del_twice 3 2
cluster_down

if [ ! -x "$CNIP_BIN/ptp" ]; then
	note "our ptp is not built: routed (proxyArp) layout not tested"
	echo "cluster-ptp: ok"
	exit 0
fi
cluster_up ptp-routed
for n in 1 2 3; do
	for p in 1 2; do
		a=$(cl exec "e2en${n}p$p" ip -j -4 addr show eth0)
		jq_ok "$a" ".[0].addr_info | any((.local | startswith(\"10.244.$n.\")) and .prefixlen == 32)" \
			"pod e2en${n}p$p: no /32 address from 10.244.$n.0/24"
		r=$(cl exec "e2en${n}p$p" ip -j route show default)
		jq_ok "$r" '.[0].gateway == "169.254.1.1"' "pod e2en${n}p$p: default route not via 169.254.1.1"
	done
done
note "ptp routed: pods hold a /32 with default route via 169.254.1.1"
cluster_test
cluster_del_twice 1 2
cluster_down
echo "cluster-ptp: ok"
