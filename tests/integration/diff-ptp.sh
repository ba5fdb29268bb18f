#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Differential test: the kernel state our ptp builds (default layout) against
# Debian's reference ptp (v1.1.1, $REF_BIN) for the same config, with the
# machinery of diff-bridge.sh (see there): fresh nested node per side, dumps of
# pod and node normalized and compared after the intended differences are
# asserted and erased.
DQK_LIB_ONLY=1 . "$(dirname "$0")/diff-bridge.sh"

[ -x "$REF_BIN/ptp" ] || skip "no reference ptp in $REF_BIN"
command -v sysctl >/dev/null || skip "no sysctl"
PLUGIN=ptp
BR=
V4='[{"subnet":"10.77.0.0/24"}]'
V6='[{"subnet":"fd77::/64"}]'
# pconf KEYS RANGES [ROUTES]
pconf() {
	printf '{"cniVersion":"%s","name":"dqk-net","type":"ptp"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":[%s],"routes":[%s]}}' \
		"$DQK_VER" "${1:+,$1}" "$DATADIR" "$2" "${3-}"
}
scen_v4() { pconf '' "$V4" '{"dst":"0.0.0.0/0"}'; }
scen_v6() { pconf '' "$V6" '{"dst":"::/0"}'; }
scen_dual() { pconf '' "$V4,$V6" '{"dst":"0.0.0.0/0"},{"dst":"::/0"}'; }
scen_mtu() { pconf '"mtu":1400' "$V4,$V6" '{"dst":"192.0.2.0/24"}'; }
scen_two() { pconf '' "$V4,$V6" '{"dst":"0.0.0.0/0"},{"dst":"::/0"}'; }

if [ -n "${DQK_SIDE-}" ]; then
	dqk_side_main
	exit 0
fi
DQK_OUT=$TMP/diff
mkdir -p "$DQK_OUT"
for s in ${DQK_SCENARIOS:-v4 v6 dual mtu two}; do
	note "== $s: $(DATADIR=... "scen_$s")"
	dqk_compare "$s"
	# No DAD wait on the host end either (it holds the IPv6 gateway, nodad).
	if [ "$s" != v4 ]; then
		want ref '^node.sysctl:net.ipv6.conf.H1.accept_dad=1$'
		want our '^node.sysctl:net.ipv6.conf.H1.accept_dad=0$'
		want our '^node.addr:H1.addr_info.fd77::1.nodad=true$'
		erase '^node.sysctl:net.ipv6.conf.H[0-9].accept_dad='
	fi
	common_intended
	same
done
dqk_end
