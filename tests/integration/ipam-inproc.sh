#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bridge and ptp run host-local in-process when the file CNI_PATH finds for
# ipam.type is this same build of it (its ELF note .note.cnip), and execute
# anything else: a wrapper script, the reference's host-local, our host-local
# of another build. Either way the pod, the lease, every result version and
# every error are the same; only the process is saved.
source "$CNIP_TOP/tests/lib.sh"
command -v strace >/dev/null || skip "strace not installed"

ID=$("$CNIP_BIN/bridge" 2>&1 | sed -n 's/^build //p')
[[ $ID =~ ^[0-9a-f]{24}$ ]] || fail "bridge names no build id: '$ID'"
for p in host-local ptp loopback; do
	assert_eq "$("$CNIP_BIN/$p" 2>&1 | sed -n 's/^build //p')" "$ID" "$p's build id"
done

# A wrapper script of the same name: not an ELF, so executed (and it runs our host-local).
W=$TMP/wrap
mkdir -p "$W"
printf '#!/bin/sh\nexec %s/host-local "$@"\n' "$CNIP_BIN" >"$W/host-local"
chmod +x "$W/host-local"

# traced PLUGIN COMMAND CONF: cni_run under strace; IPAM_EXECS = the host-local files it
# executed. LeakSanitizer cannot run under ptrace: the untraced runs below check leaks.
traced() {
	cni_run "$1" "$2" "$3" ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=execve -o "$TMP/strace"
	IPAM_EXECS=$({ grep -o 'execve("[^"]*host-local"' "$TMP/strace" || true; } | sed 's/execve("//; s/"$//' |
		sort -u | tr '\n' ' ')
}

conf() {	# conf NAME TYPE CNI_VERSION [RANGE_START]
	jq -cn --arg n "$1" --arg t "$2" --arg v "$3" --arg s "${4:-}" '
		{cniVersion: $v, name: $n, type: $t, bridge: "ipbr0", isGateway: true,
		 ipam: {type: "host-local", routes: [{dst: "0.0.0.0/0"}],
			ranges: [[{subnet: "10.81.0.0/24"} + (if $s != "" then {rangeStart: $s, rangeEnd: $s} else {} end)],
				 [{subnet: "fd00:81::/64"} + (if $s != "" then {rangeStart: "fd00:81::32", rangeEnd: "fd00:81::32"} else {} end)]]}}
		| if $t == "ptp" then del(.bridge, .isGateway) else . end
		| if $v == "0.1.0" or $v == "0.2.0" then .ipam.ranges |= .[:1] else . end'
}

# 1. This build in CNI_PATH: no process for IPAM, in every verb, for bridge and ptp.
NETNS=$(mkpod ippod1)
CNI_PATH_DIRS=$CNIP_BIN
C=$(conf ipnet bridge 1.1.0)
CID=in1 traced bridge ADD "$C"
[ "$RC" -eq 0 ] || fail "bridge ADD: $OUT"
assert_eq "$IPAM_EXECS" "" "bridge ADD executed host-local"
R=$OUT
jq_ok "$R" '[.ips[].address] == ["10.81.0.2/24", "fd00:81::2/64"]'
[ -e /var/lib/cni/networks/ipnet/10.81.0.2 ] && [ -d /var/lib/cni/networks/ipnet/.cnip ] ||
	fail "no lease of our host-local: $(ls -a /var/lib/cni/networks/ipnet)"
jq_ok "$(ip -n ippod1 -j addr show eth0)" '.[0].addr_info | any(.local == "10.81.0.2")' "pod lacks its address"
ip netns exec ippod1 ping -c1 -W2 10.81.0.1 >/dev/null || fail "pod cannot reach its gateway"
CID=in1 traced bridge CHECK "$(jq -c --argjson r "$R" '. + {prevResult: $r}' <<<"$C")"
[ "$RC" -eq 0 ] && [ -z "$IPAM_EXECS" ] || fail "CHECK: rc $RC, executed '$IPAM_EXECS': $OUT"
CID= NETNS= traced bridge STATUS "$C"
[ "$RC" -eq 0 ] && [ -z "$IPAM_EXECS" ] || fail "STATUS: rc $RC, executed '$IPAM_EXECS': $OUT"
CID=in1 traced bridge DEL "$(jq -c --argjson r "$R" '. + {prevResult: $r}' <<<"$C")"
[ "$RC" -eq 0 ] && [ -z "$IPAM_EXECS" ] || fail "DEL: rc $RC, executed '$IPAM_EXECS': $OUT"
[ ! -e /var/lib/cni/networks/ipnet/10.81.0.2 ] || fail "DEL left the lease"
NETNS=$(mkpod ippod2)
CID=in2 traced ptp ADD "$(conf ipptp ptp 1.0.0)"
[ "$RC" -eq 0 ] && [ -z "$IPAM_EXECS" ] || fail "ptp ADD: rc $RC, executed '$IPAM_EXECS': $OUT"
CID=in2 traced ptp DEL "$(conf ipptp ptp 1.0.0)"
[ "$RC" -eq 0 ] && [ -z "$IPAM_EXECS" ] || fail "ptp DEL: rc $RC, executed '$IPAM_EXECS': $OUT"
[ -z "$(ls /var/lib/cni/networks/ipptp | grep -v -e lock -e last_reserved)" ] || fail "ptp DEL left a lease"
note "this build of host-local runs in-process: bridge ADD, CHECK, STATUS, DEL; ptp ADD, DEL"

# 2. The same pod through the wrapper (executed) and in-process: equal results in
#    every version (the one address the range holds, so both get it).
NETNS=/run/netns/ippod1
for v in 0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	C=$(conf ipver bridge "$v" 10.81.0.50)
	for way in in ex; do
		[ $way = in ] && CNI_PATH_DIRS=$CNIP_BIN || CNI_PATH_DIRS=$W:$CNIP_BIN
		CID=eq1 cni_run bridge ADD "$C"
		[ "$RC" -eq 0 ] || fail "$v ADD ($way): $OUT"
		jq -S 'del(.interfaces[]?.mac)' <<<"$OUT" >"$TMP/res.$way"
		CID=eq1 cni_ok bridge DEL "$C"
	done
	cmp -s "$TMP/res.in" "$TMP/res.ex" || fail "$v results differ: in-process $(cat "$TMP/res.in") executed $(cat "$TMP/res.ex")"
	grep -q 10.81.0.50 "$TMP/res.in" || fail "$v result lacks the address: $(cat "$TMP/res.in")"
done
note "results equal in-process and executed, versions 0.1.0 to 1.1.0"

# 3. Errors: the same code and message either way. A range set that is full, a
#    config host-local refuses, CNI_ARGS host-local refuses (ptp does not read
#    CNI_ARGS, its IPAM does).
CNI_PATH_DIRS=$CNIP_BIN CID=full1 cni_ok bridge ADD "$(conf ipfull bridge 1.0.0 10.81.0.60)"
NETNS=$(mkpod ippod3)
errs() {	# errs NAME PLUGIN CONF [VAR=VALUE...]
	local name=$1 plugin=$2 c=$3 way
	shift 3
	for way in in ex; do
		[ $way = in ] && CNI_PATH_DIRS=$CNIP_BIN || CNI_PATH_DIRS=$W:$CNIP_BIN
		CID=err1 cni_run "$plugin" ADD "$c" "$@"
		[ "$RC" -eq 1 ] || fail "$name ($way): exit $RC: $OUT"
		jq -S . <<<"$OUT" >"$TMP/err.$way"
	done
	cmp -s "$TMP/err.in" "$TMP/err.ex" || fail "$name: errors differ: in-process $(cat "$TMP/err.in") executed $(cat "$TMP/err.ex")"
	jq_ok "$OUT" ".code == $CODE" "$name: want code $CODE"
	[ -z "$(ip -n ippod3 -j link show eth0 2>/dev/null | jq '.[]?')" ] || fail "$name: failed ADD left eth0 in the pod"
}
CODE=103 errs "exhausted range" bridge "$(conf ipfull bridge 1.0.0 10.81.0.60)"
CODE=7 errs "bad range" bridge "$(conf ipbad bridge 1.0.0 10.99.0.9)"
CODE=4 errs "bad CNI_ARGS IP" ptp "$(conf iparg ptp 1.0.0)" CNI_ARGS=IP=10.81.0.300
for n in ipbad iparg; do
	[ -z "$(ls /var/lib/cni/networks/$n 2>/dev/null | grep -v -e lock -e last_reserved)" ] || fail "$n: a failed ADD left a lease"
done
note "errors equal in-process and executed (exhausted 103, bad range 7, bad CNI_ARGS 4), nothing left"

# 4. Files that are not this build are executed: the reference's host-local, and
#    our host-local with another build's note.
mkdir -p "$TMP/other"
python3 - "$CNIP_BIN/host-local" "$TMP/other/host-local" "$ID" <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
old = sys.argv[3].encode()
assert b.count(old) == 1, "the build id is not in host-local exactly once"
open(sys.argv[2], 'wb').write(b.replace(old, b'0' * len(old)))
EOF
chmod +x "$TMP/other/host-local"
NETNS=$(mkpod ippod4)
CNI_PATH_DIRS=$TMP/other CID=oth1 traced bridge ADD "$(conf ipoth bridge 1.0.0)"
[ "$RC" -eq 0 ] || fail "ADD with another build's host-local: $OUT"
assert_eq "$IPAM_EXECS" "$TMP/other/host-local " "another build's host-local"
CNI_PATH_DIRS=$TMP/other CID=oth1 cni_ok bridge DEL "$(conf ipoth bridge 1.0.0)"
if [ -x "$REF_BIN/host-local" ]; then
	CNI_PATH_DIRS=$REF_BIN CID=ref1 traced bridge ADD "$(conf ipref bridge 1.0.0)"
	[ "$RC" -eq 0 ] || fail "ADD with the reference's host-local: $OUT"
	assert_eq "$IPAM_EXECS" "$REF_BIN/host-local " "the reference's host-local"
	[ ! -e /var/lib/cni/networks/ipref/.cnip ] || fail "the lease was made in-process, not by the reference"
	CNI_PATH_DIRS=$REF_BIN CID=ref1 cni_ok bridge DEL "$(conf ipref bridge 1.0.0)"
	[ -z "$(ls /var/lib/cni/networks/ipref | grep -v -e lock -e last_reserved)" ] || fail "reference DEL left a lease"
fi
note "another build's host-local and the reference's are executed"
echo "ipam-inproc: ok"
