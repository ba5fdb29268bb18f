#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Three simulated nodes (hack/cluster.sh) with kind's node chain, as
# kindnetd writes it: ptp (no masquerade) + host-local + portmap. Pods talk on
# a node and across nodes without NAT, reach the outside masqueraded, and pod 1
# of each node publishes hostPort 30080, reached from outside, from a pod on
# another node, from the node itself (node address and 127.0.0.1) and by the
# pod itself through its node's address (hairpin). CHECK passes; DEL twice;
# nothing left.
source "$CNIP_TOP/tests/lib.sh"
# shellcheck source=tests/e2e/cluster-lib.bash
source "$CNIP_TOP/tests/e2e/cluster-lib.bash"
command -v socat >/dev/null || fail "socat is missing (hack/deps.sh installs it)"

cluster_up kind
cluster_test
cluster_del_twice 2 1
cluster_down
echo "cluster-kind: ok"
