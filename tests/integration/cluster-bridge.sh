#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Three simulated nodes (hack/cluster.sh) with the bridge plugin driven by
# hack/cnictl: pods reach each other on a node and across nodes without NAT,
# reach the outside masqueraded by the node, pass CNI CHECK; DEL is
# idempotent and the teardown leaves no lease or cached result behind.
source "$CNIP_TOP/tests/lib.sh"
# shellcheck source=tests/e2e/cluster-lib.bash
source "$CNIP_TOP/tests/e2e/cluster-lib.bash"

cluster_up bridge
for n in 1 2 3; do
	br=$(cl exec "e2en$n" ip -j addr show e2ebr0)
	jq_ok "$br" ".[0].addr_info | any(.local == \"10.244.$n.1\" and .prefixlen == 24)" \
		"node e2en$n: bridge e2ebr0 lacks the gateway 10.244.$n.1/24"
	for p in 1 2; do
		a=$(cl exec "e2en${n}p$p" ip -j -4 addr show eth0)
		jq_ok "$a" ".[0].addr_info | any(.local | startswith(\"10.244.$n.\"))" "pod e2en${n}p$p: no address from 10.244.$n.0/24"
		r=$(cl exec "e2en${n}p$p" ip -j route show default)
		jq_ok "$r" ".[0].gateway == \"10.244.$n.1\"" "pod e2en${n}p$p: default route not via 10.244.$n.1"
	done
done
note "pods addressed from their node's podCIDR, default route via the bridge"
cluster_test
cluster_del_twice 2 1
cluster_down
echo "cluster-bridge: ok"
