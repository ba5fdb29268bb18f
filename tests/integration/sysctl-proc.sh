#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The knobs rtnetlink cannot set are written through a procfs instance of the
# plugin's own (fsopen(2), pkg/sysctl/sysctl.c), whose dcache does not grow
# with the node's netns; where fsopen is refused, through /proc. Either way the
# knobs end up as the reference sets them, in the right netns.
source "$CNIP_TOP/tests/lib.sh"
command -v strace >/dev/null || skip "strace not installed"
[ -e /proc/sys/net/ipv6 ] || skip "no IPv6 on this kernel"

C=$(jq -cn '{cniVersion: "1.0.0", name: "spnet", type: "bridge", bridge: "spbr0", isGateway: true,
	ipam: {type: "host-local", ranges: [[{subnet: "10.82.0.0/24"}], [{subnet: "fd00:82::/64"}]]}}')

# add POD [STRACE_ARGS...]: bridge ADD under strace (openat, fsopen); checks the knobs.
add() {
	local pod=$1 veth
	shift
	NETNS=$(mkpod "$pod")
	CID=$pod cni_run bridge ADD "$C" ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -e trace=openat,fsopen,fsmount "$@" -o "$TMP/strace.$pod"
	[ "$RC" -eq 0 ] || fail "$pod: ADD failed: $OUT"
	veth=$(jq -r '.interfaces[1].name' <<<"$OUT")
	assert_eq "$(cat "/proc/sys/net/ipv6/conf/$veth/accept_ra")" 0 "$pod: host veth accept_ra"
	assert_eq "$(ip netns exec "$pod" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0 "$pod: pod accept_dad"
	assert_eq "$(ip netns exec "$pod" cat /proc/sys/net/ipv6/conf/eth0/keep_addr_on_down)" 1 \
		"$pod: pod keep_addr_on_down"
	# accept_dad=0 before any address: none of them, the kernel's link-local included, is tentative.
	jq_ok "$(ip -n "$pod" -j -6 addr show dev eth0)" \
		'[.[0].addr_info[] | select(.tentative | not) | .scope] | sort == ["global", "link"]' \
		"$pod: an IPv6 address tentative or missing"
}

add sppod1
grep -q 'fsmount(.*= [0-9]' "$TMP/strace.sppod1" || fail "no procfs of its own: $(cat "$TMP/strace.sppod1")"
grep -q 'openat([0-9]*, "sys/net/ipv6/conf/eth0/accept_dad"' "$TMP/strace.sppod1" ||
	fail "accept_dad not opened in its own procfs: $(grep sys/net "$TMP/strace.sppod1")"
! grep -q '"/proc/sys/net/' "$TMP/strace.sppod1" || fail "opened the node's /proc/sys/net: $(grep /proc/sys/net "$TMP/strace.sppod1")"
note "knobs set through the plugin's own procfs, none through /proc/sys/net"

add sppod2 -e inject=fsopen:error=EPERM
grep -q 'fsopen(.*EPERM' "$TMP/strace.sppod2" || fail "fsopen was not refused"
grep -q '"/proc/sys/net/ipv6/conf/eth0/accept_dad"' "$TMP/strace.sppod2" ||
	fail "no fallback to /proc: $(grep sys/net "$TMP/strace.sppod2")"
note "fsopen refused: the same knobs through /proc/sys"

CID=sppod1 NETNS=/run/netns/sppod1 cni_ok bridge DEL "$C"
CID=sppod2 NETNS=/run/netns/sppod2 cni_ok bridge DEL "$C"
echo "sysctl-proc: ok"
