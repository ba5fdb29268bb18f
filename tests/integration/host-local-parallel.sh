#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host-local under concurrency: 16 parallel ADDs get 16 different addresses;
# ours and the reference racing on one network never share an address; ADDs
# killed (SIGKILL) at random points leave no half-written lease, and every
# surviving lease is found again (CHECK) and released (DEL).
source "$CNIP_TOP/tests/lib.sh"
source "$FIXTURES/host-local/lib.sh"

C=$(hl_conf hltpar '{"ranges": [[{"subnet": "10.50.0.0/24"}], [{"subnet": "fd00:50::/64"}]]}')
add_bg() { # add_bg PLUGIN CID: one ADD in the background, result in $TMP/CID.out
	printf '%s' "$C" | env CNI_COMMAND=ADD CNI_CONTAINERID="$2" CNI_NETNS=$NETNS CNI_IFNAME=eth0 \
		CNI_PATH="$CNIP_BIN" "$1" >"$TMP/$2.out" 2>"$TMP/$2.err"
}
# no_duplicates: each address leased once, each lease complete and well formed.
no_duplicates() {
	local f n=0 re=$'^[a-z0-9-]+\r\neth0$'
	for f in "$NETS/hltpar"/*; do
		case ${f##*/} in lock | last_reserved_ip.* | '*') continue ;; esac
		[[ $(cat "$f") =~ $re ]] || fail "lease ${f##*/} is malformed: $(od -c "$f" | head -2)"
		n=$((n + 1))
	done
	echo "$n"
}

pids=()
for i in $(seq 1 16); do add_bg "$CNIP_BIN/$OURS" "p$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel ADD failed: $(cat "$TMP"/p*.err)"; done
v4=$(cat "$TMP"/p*.out | jq -r '.ips[0].address' | sort)
assert_eq "$(echo "$v4" | sort -u | wc -l)" 16 "distinct IPv4 addresses"
assert_eq "$(cat "$TMP"/p*.out | jq -r '.ips[1].address' | sort -u | wc -l)" 16 "distinct IPv6 addresses"
assert_eq "$(no_duplicates)" 32 "lease files"
note "16 parallel ADDs: 16 distinct address pairs, 32 complete leases"

pids=()
for i in $(seq 1 8); do
	add_bg "$CNIP_BIN/$OURS" "o$i" & pids+=($!)
	add_bg "$REF" "r$i" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a racing ADD failed: $(cat "$TMP"/[or]*.err)"; done
assert_eq "$(cat "$TMP"/[opr]*.out | jq -r '.ips[].address' | sort -u | wc -l)" 64 "distinct addresses"
assert_eq "$(no_duplicates)" 64 "lease files"
note "ours and the reference racing: no address given twice"

for i in $(seq 1 16); do CID=p$i cni_ok "$OURS" DEL "$C"; done
for i in $(seq 1 8); do CID=o$i cni_ok "$OURS" DEL "$C"; CID=r$i cni_ok "$OURS" DEL "$C"; done
assert_eq "$(no_duplicates)" 0 "leases left after DEL"

# SIGKILL at random moments of ADD.
(for i in $(seq 1 40); do
	printf '%s' "$C" | env CNI_COMMAND=ADD CNI_CONTAINERID="k$i" CNI_NETNS=$NETNS CNI_IFNAME=eth0 \
		CNI_PATH="$CNIP_BIN" timeout -s KILL "0.0$((RANDOM % 60 + 5))" "$CNIP_BIN/$OURS" >/dev/null 2>&1 &
	[ $((i % 4)) -ne 0 ] || wait
done
wait) 2>/dev/null
n=$(no_duplicates)
note "$n leases survived 40 killed ADDs, all complete"
for i in $(seq 1 40); do
	CID=k$i cni_run "$OURS" CHECK "$C"
	has=$(grep -la "^k$i"$'\r'"\$" "$NETS"/hltpar/* 2>/dev/null | wc -l || true)
	if [ "$has" -eq 2 ]; then
		[ "$RC" -eq 0 ] || fail "k$i holds two leases but CHECK says: $OUT"
	fi
	CID=k$i cni_ok "$OURS" DEL "$C"
	[ -z "$(grep -la "^k$i"$'\r'"\$" "$NETS"/hltpar/* 2>/dev/null || true)" ] || fail "DEL k$i left a lease"
done
assert_eq "$(no_duplicates)" 0 "leases left after DEL of the killed ADDs"
CID=after cni_ok "$OURS" ADD "$C"
CID=after cni_ok "$OURS" CHECK "$C"
note "after the kills every lease is found and released; ADD and CHECK work"
echo "host-local-parallel: ok"
