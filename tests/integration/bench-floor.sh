#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark's floors do what README says they do: the bridge floor wires a
# pod that answers ping through the bridge and announces nothing; the GARP floor
# (`floor bridge-garp`, the network bridge-garp of `make bench`) sets
# arp_notify=1 on the pod's eth0, so eth0 coming up sends one gratuitous ARP,
# which the bridge floods to the other pods. IPv6 is off in these pods, so an
# ARP is the only thing their link-up can send.
source "$CNIP_TOP/tests/lib.sh"
FLOOR=${CNIP_FLOOR:-$CNIP_TOP/build/bench/floor}
[ -x "$FLOOR" ] || fail "no floor program at $FLOOR (make $FLOOR)"

ip link add bflbr0 type bridge
ip addr add 10.84.0.1/16 dev bflbr0
ip link set bflbr0 up
# pod NAME MODE N: a pod from the floor, IPv6 off for every interface it gets.
pod() {
	mkpod "$1" >/dev/null
	ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 &&
		echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
	"$FLOOR" "$2" "/run/netns/$1" bflbr0 "bflv$3" "10.84.0.$3/16" 10.84.0.1
}
rx() { ip -n bflp0 -j -s link show dev eth0 | jq '.[0].stats64.rx.packets'; }
settled() { # waits until the watcher's counter stops moving
	local a b
	b=$(rx)
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.3
		a=$b b=$(rx)
		[ "$a" != "$b" ] || return 0
	done
	fail "the watcher pod keeps receiving: $(ip -n bflp0 -s link show dev eth0)"
}

pod bflp0 bridge 10
settled

n0=$(rx)
pod bflp1 bridge 11
settled
assert_eq "$(ip netns exec bflp1 cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 0 "bridge floor: arp_notify"
assert_eq "$(rx)" "$n0" "bridge floor: packets the other pod received"
ip netns exec bflp1 ping -c 1 -W 2 10.84.0.10 >/dev/null || fail "bridge floor: the pods do not talk"
note "bridge floor: no announcement; its pod reaches another"

settled
n0=$(rx)
pod bflp2 bridge-garp 12
settled
assert_eq "$(ip netns exec bflp2 cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1 "GARP floor: arp_notify"
assert_eq "$(( $(rx) - n0 ))" 1 "GARP floor: packets the other pod received"
note "GARP floor: one gratuitous ARP, flooded to the other pod"

for v in 10 11 12; do "$FLOOR" del "bflv$v"; done
assert_eq "$(ip -j link show master bflbr0 | jq length)" 0 "ports after the floor's DELs"
echo "bench-floor: ok"
