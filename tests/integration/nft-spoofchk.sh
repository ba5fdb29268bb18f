#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pkg/nft spoof check against the kernel: ruleset state (idempotent ADD, MAC
# change, element takeover, DEL with and without the host name, CHECK, GC), a
# table left by the earlier `nft -f` version, frames on a real bridge, and the
# cleanup of what the reference bridge's macspoofchk made (Debian's v1.1.1).
# Uses a small driver built here from the sources.
source "$CNIP_TOP/tests/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
D=$TMP/sct
cat >"$TMP/sct.c" <<'EOF'
// sct add|check NET CID IF HOST MAC; sct del NET CID IF HOST|-; sct gc NET [CID/IF...]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni/err.h"
#include "cni/nft.h"

int main(int argc, char **argv)
{
	struct nft_attach a = { 0 };
	struct cni_attachment keep[16] = { { 0 } };
	struct cni_err err = { 0 };
	struct nft_sock *s = NULL;
	const char *host = NULL;
	unsigned int m[6];
	uint8_t mac[6];
	int ret = -1, i;

	if (argc >= 6) {
		a = (struct nft_attach){ argv[2], argv[3], argv[4] };
		host = strcmp(argv[5], "-") ? argv[5] : NULL;
	}
	if (argc == 7 && sscanf(argv[6], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6)
		for (i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
	if (nft_open(&s, &err) < 0)
		argc = 0;
	if (argc == 7 && !strcmp(argv[1], "add"))
		ret = nft_spoofchk_add(s, &a, host, mac, &err);
	else if (argc == 7 && !strcmp(argv[1], "check"))
		ret = nft_spoofchk_check(s, &a, host, mac, &err);
	else if (argc == 6 && !strcmp(argv[1], "del"))
		ret = nft_spoofchk_del(s, &a, host, &err);
	else if (argc >= 3 && argc < 19 && !strcmp(argv[1], "gc")) {
		for (i = 3; i < argc; i++) {
			char *slash = strchr(argv[i], '/');

			if (!slash)
				return 2;
			*slash = '\0';
			keep[i - 3].container_id = argv[i];
			keep[i - 3].ifname = slash + 1;
		}
		ret = nft_spoofchk_gc(s, argv[2], keep, (size_t)(argc - 3), &err);
	} else {
		fprintf(stderr, "usage\n");
		nft_close(s);
		return 2;
	}
	nft_close(s);
	if (ret < 0)
		fprintf(stderr, "code=%d %s [%s]\n", err.code, err.msg, err.details);
	return ret < 0;
}
EOF
cc -std=gnu11 -D_GNU_SOURCE -I"$CNIP_TOP/include" -Wall -Wextra -Werror -Wno-unused-parameter \
	-O1 -g -fsanitize=address,undefined -o "$D" "$TMP/sct.c" \
	"$CNIP_TOP"/pkg/cni/{err,ip,sha512}.c "$CNIP_TOP"/pkg/nft/*.c \
	$(pkg-config --cflags --libs libmnl libnftnl) || fail "building the driver"

T=cnip_spoofchk
h() { printf '%s' "$1" | sha512sum | cut -c1-16; }
chain_of() { echo "sc-$(h "$1")-$(h "$2:$3")"; } # NET IFNAME CID
elem_of() { # HOST -> the chain its element jumps to
	nft -j list map bridge $T ports 2>/dev/null | jq -r --arg k "$1" \
		'.nftables[] | select(.map) | .map.elem // [] | .[] | select(.[0] == $k) | .[1].jump.target'
}
nchains() { nft -j list table bridge $T | jq '[.nftables[] | select(.chain)] | length'; }
nelems() { nft -j list map bridge $T ports | jq '[.nftables[] | select(.map) | .map.elem // [] | .[]] | length'; }
# The ruleset without handles: ADD refills chains, so rule handles move on.
rs() { nft -j list ruleset | jq -c 'del(.. | .handle?)'; }
has() { local out; out=$("${@:2}" 2>&1) || return 1; [[ $out == *"$1"* ]]; }
M1=02:5c:00:00:00:01
M2=02:5c:00:00:00:02

note "add, add again: same ruleset; what nft sees"
$D add sctnet c1 eth0 sctv1 $M1 || fail "add"
A1=$(rs)
$D add sctnet c1 eth0 sctv1 $M1 || fail "add again"
assert_eq "$(rs)" "$A1" "second ADD changed the ruleset"
C1=$(chain_of sctnet eth0 c1)
assert_eq "$(elem_of sctv1)" "$C1" "element of sctv1"
jq_ok "$A1" '[.nftables[] | select(.chain.name == "prerouting")][0].chain |
	.family == "bridge" and .hook == "prerouting" and .prio == -300 and .type == "filter" and .policy == "accept"'
jq_ok "$A1" '[.nftables[] | select(.rule.chain == "prerouting")] | length == 1'
has 'iifname vmap @ports' nft list chain bridge $T prerouting || fail "dispatch rule text"
has "ether saddr $M1 return" nft list chain bridge $T "$C1" || fail "MAC rule text"
has 'drop' nft list chain bridge $T "$C1" || fail "drop rule"
has 'comment "net: sctnet, if: eth0, id: c1"' nft list chain bridge $T "$C1" || fail "chain comment"
has 'type ifname : verdict' nft list map bridge $T ports || fail "map type"
# nft must be able to read back and reload what we wrote.
nft list table bridge $T >"$TMP/saved.nft"
nft delete table bridge $T && nft -f "$TMP/saved.nft" || fail "nft cannot reload our table"
$D check sctnet c1 eth0 sctv1 $M1 || fail "check after nft reload"

note "check finds what differs"
$D check sctnet c1 eth0 sctv1 $M1 || fail "check"
out=$($D check sctnet c1 eth0 sctv1 $M2 2>&1) && fail "check with another MAC passed"
[[ $out == *code=105* && $out == *"$M2"* ]] || fail "check message: $out"
$D check sctnet c1 eth0 sctv9 $M1 2>/dev/null && fail "check of another port passed"
$D check sctnet c9 eth0 sctv1 $M1 2>/dev/null && fail "check of unknown attachment passed"
nft flush chain bridge $T "$C1"
out=$($D check sctnet c1 eth0 sctv1 $M1 2>&1) && fail "check of a flushed chain passed"
[[ $out == *"0 rules"* ]] || fail "check message: $out"
$D add sctnet c1 eth0 sctv1 $M1 || fail "re-add repairs"
nft flush chain bridge $T prerouting
$D check sctnet c1 eth0 sctv1 $M1 2>/dev/null && fail "check without the dispatch rule passed"
$D add sctnet c1 eth0 sctv1 $M1 || fail "re-add repairs the base chain"
nft add rule bridge $T prerouting drop
$D check sctnet c1 eth0 sctv1 $M1 2>/dev/null && fail "check with an extra base rule passed"
$D add sctnet c1 eth0 sctv1 $M1 || fail "re-add"
assert_eq "$(rs)" "$A1" "repairs restore the same ruleset"

note "a new MAC replaces the rule"
$D add sctnet c1 eth0 sctv1 $M2 || fail "add with M2"
$D check sctnet c1 eth0 sctv1 $M2 || fail "check M2"
has "$M1" nft list chain bridge $T "$C1" && fail "old MAC still allowed"
$D add sctnet c1 eth0 sctv1 $M1 || fail "back to M1"

note "a port's element taken over; DEL of the old owner keeps the new one's"
$D add sctnet c2 eth0 sctv2 $M2 || fail "add c2"
C2=$(chain_of sctnet eth0 c2)
$D add sctnet c3 eth0 sctv2 $M2 || fail "add c3 on c2's port"
C3=$(chain_of sctnet eth0 c3)
assert_eq "$(elem_of sctv2)" "$C3" "takeover"
$D del sctnet c2 eth0 sctv2 || fail "del c2"
assert_eq "$(elem_of sctv2)" "$C3" "DEL of the old owner removed the new owner's element"
nft list chain bridge $T "$C2" >/dev/null 2>&1 && fail "chain of c2 left"
$D check sctnet c3 eth0 sctv2 $M2 || fail "check c3"

note "DEL without the host name, DEL again, DEL of nothing"
$D del sctnet c3 eth0 - || fail "del c3 without host"
assert_eq "$(elem_of sctv2)" "" "element left after DEL without host"
nft list chain bridge $T "$C3" >/dev/null 2>&1 && fail "chain of c3 left"
$D del sctnet c3 eth0 sctv2 || fail "del c3 again"
$D del sctnet never eth0 sctv9 || fail "del of unknown attachment"
$D check sctnet c1 eth0 sctv1 $M1 || fail "c1 harmed"

note "GC"
$D add sctnet c4 eth1 sctv4 $M2 || fail "add c4"
$D add sctnet c5 eth0 sctv5 $M2 || fail "add c5"
$D add sctother c6 eth0 sctv6 $M2 || fail "add other network"
$D gc sctnet c1/eth0 c4/eth1 || fail "gc"
$D check sctnet c1 eth0 sctv1 $M1 || fail "gc removed kept c1"
$D check sctnet c4 eth1 sctv4 $M2 || fail "gc removed kept c4"
$D check sctother c6 eth0 sctv6 $M2 || fail "gc touched another network"
assert_eq "$(elem_of sctv5)" "" "gc left c5's element"
assert_eq "$(nchains)" 4 "chains after gc (prerouting, c1, c4, c6)"
$D gc sctnet || fail "gc keeping nothing"
assert_eq "$(nchains)$(nelems)" 21 "chains and elements after gc of everything (prerouting, c6)"
$D del sctother c6 eth0 sctv6 || fail "del c6"
assert_eq "$(nchains)$(nelems)" 10 "only prerouting left"

note "a table made by the earlier nft -f version: ADD on top, CHECK, DEL"
nft delete table bridge $T
CO=$(chain_of sctnet eth0 old)
nft -f - <<EOF
add table bridge $T
add map bridge $T ports { type ifname : verdict; }
add chain bridge $T prerouting { type filter hook prerouting priority -300; policy accept; }
add rule bridge $T prerouting iifname vmap @ports
add chain bridge $T $CO
add rule bridge $T $CO ether saddr $M1 return comment "macspoofchk sctnet eth0 old"
add rule bridge $T $CO drop
add element bridge $T ports { "sctvo" : jump $CO }
EOF
$D check sctnet old eth0 sctvo $M1 || fail "check of an old-version attachment"
$D add sctnet c7 eth0 sctv7 $M2 || fail "add into an old-version table"
$D check sctnet c7 eth0 sctv7 $M2 || fail "check c7"
$D check sctnet old eth0 sctvo $M1 || fail "old attachment harmed by ADD"
$D del sctnet old eth0 sctvo || fail "del of an old-version attachment"
assert_eq "$(elem_of sctvo)" "" "old element left"
$D del sctnet c7 eth0 sctv7 || fail "del c7"
assert_eq "$(nchains)$(nelems)" 10 "after DEL of both"

note "frames: only the pod's MAC enters the bridge from its port"
ip link add sctbr0 type bridge
ip addr add 10.124.0.1/24 dev sctbr0
ip link set sctbr0 up
ip netns add sct-pod
ip link add sctvp type veth peer name eth0 netns sct-pod
ip link set sctvp master sctbr0 up
ip -n sct-pod link set eth0 address $M1 up
ip -n sct-pod addr add 10.124.0.2/24 dev eth0
pingit() { ip neigh flush dev sctbr0; ip -n sct-pod neigh flush dev eth0; ip netns exec sct-pod ping -c1 -W1 10.124.0.1 >/dev/null 2>&1; }
pingit || fail "no traffic before the spoof check"
$D add sctpk cp eth0 sctvp $M1 || fail "add for frames"
pingit || fail "the pod's own MAC is dropped"
ip -n sct-pod link set eth0 address $M2
pingit && fail "a spoofed MAC got through"
$D del sctpk cp eth0 sctvp || fail "del for frames"
pingit || fail "still dropped after DEL"
ip -n sct-pod link set eth0 address $M1

note "interop: the reference bridge's macspoofchk goes away on our DEL"
[ -x "$REF_BIN/bridge" ] || skip "no reference bridge in $REF_BIN"
rconf='{"cniVersion":"0.4.0","name":"sctref","type":"bridge","bridge":"sctbr1","macspoofchk":true,
 "ipam":{"type":"host-local","subnet":"10.125.0.0/24","dataDir":"/var/lib/cni/sctref"}}'
IFNAME=eth0
NETNS=$(mkpod sct-r1) CID=sctr1 CNI_PATH_DIRS=$REF_BIN cni_ok "$REF_BIN/bridge" ADD "$rconf"
NETNS=$(mkpod sct-r2) CID=sctr2 CNI_PATH_DIRS=$REF_BIN cni_ok "$REF_BIN/bridge" ADD "$rconf"
nft list chain bridge nat cni-br-iface-sctr1-eth0-mac >/dev/null || fail "the reference made no chains"
has 'macspoofchk-sctr1-eth0' nft list chain bridge nat PREROUTING || fail "no reference PREROUTING rule"
# What the bridge DEL asks of us: same network, container and ifname.
$D del sctref sctr1 eth0 - || fail "del of a reference attachment"
for c in cni-br-iface-sctr1-eth0 cni-br-iface-sctr1-eth0-mac; do
	nft list chain bridge nat $c >/dev/null 2>&1 && fail "reference chain $c left"
done
has 'macspoofchk-sctr1-eth0' nft list chain bridge nat PREROUTING && fail "reference PREROUTING rule left"
has 'jump cni-br-iface-sctr2-eth0' nft list chain bridge nat PREROUTING || fail "other pod's jump removed"
nft list chain bridge nat cni-br-iface-sctr2-eth0-mac >/dev/null || fail "other pod's chain removed"
$D del sctref sctr1 eth0 - || fail "second del of a reference attachment"

note "interop through the bridge plugin: reference ADD, our DEL"
if [ -x "$CNIP_BIN/bridge" ]; then
	NETNS=/run/netns/sct-r2 CID=sctr2 cni_ok bridge DEL "$rconf" CNI_PATH="$CNIP_BIN:$REF_BIN"
	assert_eq "$(nft -j list table bridge nat | jq '[.nftables[] | select(.chain)] | length')" 1 \
		"only the reference's PREROUTING left in bridge nat"
	jq_ok "$(nft -j list chain bridge nat PREROUTING)" '[.nftables[] | select(.rule)] | length == 0'
fi
echo "ok"
