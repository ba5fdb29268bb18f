#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# portmap chained after our ptp (kind's chain): every traffic path, TCP and
# UDP, IPv4 and IPv6 (tests/fixtures/portmap/traffic.sh).
. "$(dirname "$0")/../lib.sh"
. "$FIXTURES/portmap/lib.sh"
IC='{"cniVersion":"1.0.0","name":"pmpnet","type":"ptp",
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.96.0.0/24"}],[{"subnet":"fd96::/64"}]],
 "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],"dataDir":"/var/lib/cni/pmp-ptp"}}'
. "$FIXTURES/portmap/traffic.sh"
CID=pmp1cid NETNS=/run/netns/pmp1 cni_ok ptp DEL "$IC"
CID=pmp2cid NETNS=/run/netns/pmp2 cni_ok ptp DEL "$IC"
echo ok
