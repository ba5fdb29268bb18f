#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark's floors do what README says they do: the bridge floor wires a
# pod that reaches another through the bridge and announces nothing; the GARP
# floor (`floor bridge-garp`, the network bridge-garp of `make bench`) sets
# arp_notify=1 on the pod's eth0, so eth0 coming up sends one gratuitous ARP
# into the bridge. IPv6 is off in these pods, so that ARP is the only packet a
# link-up can send. Counted where it leaves and where the bridge port takes it
# in: whether the bridge then floods it races the port's carrier event, which
# the kernel delivers from a workqueue.
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
# sent POD VETH: packets the pod's eth0 sent and its host end received, as "TX RX".
sent() {
	echo "$(ip -n "$1" -j -s link show dev eth0 | jq '.[0].stats64.tx.packets')" \
		"$(ip -j -s link show dev "$2" | jq '.[0].stats64.rx.packets')"
}

pod bflp1 bridge 11
pod bflp2 bridge-garp 12
assert_eq "$(ip netns exec bflp1 cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 0 "bridge floor: arp_notify"
assert_eq "$(ip netns exec bflp2 cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1 "GARP floor: arp_notify"
assert_eq "$(sent bflp1 bflv11)" "0 0" "bridge floor: packets sent at link-up (eth0, host end)"
assert_eq "$(sent bflp2 bflv12)" "1 1" "GARP floor: packets sent at link-up (eth0, host end)"
note "bridge floor: its link-up sends nothing; GARP floor: one packet, into the bridge"
ip netns exec bflp1 ping -c 1 -W 2 10.84.0.12 >/dev/null || fail "the floors' pods do not talk"
note "the two pods reach each other through the bridge"

for v in 11 12; do "$FLOOR" del "bflv$v"; done
assert_eq "$(ip -j link show master bflbr0 | jq length)" 0 "ports after the floor's DELs"
echo "bench-floor: ok"
