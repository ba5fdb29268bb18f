#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host-local's cost does not grow with the number of leases: with 10000
# leases on disk, ADD, CHECK and DEL open a handful of files (counted with
# strace), where the reference reads all 10000. Only the first run after the
# reference changed the directory reads them all, once, to rebuild the index.
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"
command -v strace >/dev/null || skip "strace not installed"

C=$(hl_conf hltcost '{"ranges": [[{"subnet": "10.70.0.0/16"}], [{"subnet": "fd00:70::/64"}]]}')
D=$NETS/hltcost
CID=seed cni_ok "$REF" ADD "$C"
# 10000 leases as the reference writes them.
(cd "$D" && for i in $(seq 0 9999); do
	printf 'pod%d\r\neth0' "$i" >"10.70.$((i / 200 + 10)).$((i % 200 + 1))"
done)

# opens VERB CID: how many files under $D the plugin opens for one call.
opens() {
	local log=$TMP/strace.$1.$2
	# LeakSanitizer cannot run under ptrace.
	printf '%s' "$C" | strace -f -qq -e trace=openat,open,openat2 -o "$log" env ASAN_OPTIONS=detect_leaks=0 CNI_COMMAND="$1" \
		CNI_CONTAINERID="$2" CNI_NETNS=$NETNS CNI_IFNAME=eth0 CNI_PATH="$CNIP_BIN" \
		"$CNIP_BIN/$OURS" >"$TMP/out" 2>/dev/null || fail "$1 $2 failed: $(cat "$TMP/out")"
	grep -c "\"$D/\|\"10\.70\.\|\"fd00:70\|\"\.cnip\|\"lock\"\|\"last_reserved\|\"stamp\"\|\"tmp\.\|\"[0-9a-f]\{32\}\"" "$log" || true
}

first=$(opens ADD c0)
[ "$first" -gt 10000 ] || fail "the first run after the reference wrote 10000 leases should rebuild ($first opens)"
for verb in ADD CHECK DEL; do
	n=$(opens "$verb" c1)
	note "$verb with 10001 leases: $n files opened"
	[ "$n" -le 20 ] || fail "$verb opened $n files with 10001 leases: $(grep -v ENOENT "$TMP/strace.$verb.c1" | tail -30)"
done
# The leases it found and freed are the real ones.
[ -z "$(grep -l '^c1' "$D"/* 2>/dev/null || true)" ] || fail "DEL c1 left a lease"
# (These leases are IPv4 only: CHECK them against the IPv4 range set.)
CID=pod1234 cni_ok "$OURS" CHECK "$(hl_conf hltcost '{"subnet": "10.70.0.0/16"}')"
n=$(opens DEL pod1234)
[ "$n" -le 20 ] || fail "DEL of a reference lease opened $n files"
[ ! -e "$D/10.70.16.35" ] || fail "DEL pod1234 did not release 10.70.16.35"
note "ADD, CHECK, DEL open at most 20 files at 10000 leases; only the rebuild reads them all"
echo "host-local-cost: ok"
