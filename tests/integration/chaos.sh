#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Kill anywhere (issue 10): SIGKILL bridge, ptp, host-local (the IPAM child
# they exec) and the meta plugins portmap, firewall and tuning at random
# points of ADD, DEL and GC, then do what a runtime does (DEL until it
# succeeds, later GC with the attachments still alive) and require that
# nothing is left: no veth, address, route, lease, tuning state, nftables
# object or iptables chain of a dead attachment, nothing of a live pod lost
# (its CHECK passes), and no lease file ever half-written (checked after
# every kill).
#
# Two chains, driven exactly as libcni drives them (ADD in order with
# prevResult, DEL in reverse with the cached result, GC = DEL of stale cached
# attachments then GC of every plugin with cni.dev/valid-attachments):
#   chbr: bridge (+host-local, dual-stack, ipMasq) > portmap > firewall > tuning  (podman's shape)
#   chpp: ptp (+host-local, ipMasq) > portmap                                   (kind's shape)
# The kill point is a syscall stop (tests/tools/killat.c, ptrace): N is drawn
# uniformly from 1 to the most stops a whole run of that plugin and verb was
# seen to make, so kills land anywhere, between netlink messages included.
#
# CHAOS_VICTIMS (default 60: the short form of make check), CHAOS_SEED
# (default: the time); `make chaos` runs 1,000 with the release build.
source "$CNIP_TOP/tests/lib.sh"

command -v nft >/dev/null || skip "nft not installed"
nft list ruleset >/dev/null 2>&1 || skip "no nf_tables"
[ "$(uname -m)" = x86_64 ] || skip "killat reads x86_64 registers"
VICTIMS=${CHAOS_VICTIMS:-60}
SEED=${CHAOS_SEED:-$(date +%s)}
GC_EVERY=${CHAOS_GC_EVERY:-8}
LIVE=${CHAOS_LIVE:-2}
RANDOM=$SEED
note "seed $SEED, $VICTIMS victims, plugins from $CNIP_BIN"

KILLAT=${CHAOS_KILLAT:-}
if [ -z "$KILLAT" ]; then
	KILLAT=$TMP/killat
	cc -std=gnu11 -O2 -Wall -o "$KILLAT" "$CNIP_TOP/tests/tools/killat.c" || fail "cannot build killat"
fi
CNICTL=$CNIP_TOP/hack/cnictl
export CNI_CACHE_DIR=/var/lib/cni/chaos-cache
IPAM_DIR=/var/lib/cni/chaos-ipam
TUNE_DIR=/run/cni/chaos-tuning
WRAP=$TMP/wrap
mkdir -p "$WRAP" "$TMP/conf"

jq -n --arg d "$IPAM_DIR" --arg t "$TUNE_DIR" '{cniVersion:"1.1.0",name:"chbr",plugins:[
	{type:"bridge",bridge:"chbr0",isGateway:true,ipMasq:true,hairpinMode:true,
	 ipam:{type:"host-local",dataDir:$d,routes:[{dst:"0.0.0.0/0"},{dst:"::/0"}],
	       ranges:[[{subnet:"10.88.0.0/16"}],[{subnet:"fd88::/64"}]]}},
	{type:"portmap",capabilities:{portMappings:true}},
	{type:"firewall",backend:""},
	{type:"tuning",dataDir:$t,sysctl:{"net.ipv4.conf.IFNAME.arp_filter":"1"},txQLen:500}]}' >"$TMP/conf/chbr"
jq -n --arg d "$IPAM_DIR" '{cniVersion:"1.1.0",name:"chpp",plugins:[
	{type:"ptp",ipMasq:true,mtu:1500,
	 ipam:{type:"host-local",dataDir:$d,routes:[{dst:"0.0.0.0/0"}],ranges:[[{subnet:"10.99.0.0/16"}]]}},
	{type:"portmap",capabilities:{portMappings:true}}]}' >"$TMP/conf/chpp"
declare -A CHAIN=([chbr]="bridge host-local portmap firewall tuning" [chpp]="ptp host-local portmap")
NETS=(chbr chpp)
VERBS=(ADD DEL GC)

# --- pods as a runtime keeps them ------------------------------------------
declare -A POD_NET=() LIVE_PODS=()
NEXT=0
pmap() { printf '{"hostPort":%d,"containerPort":80,"protocol":"tcp"}' $((20000 + $1)); }
caps() { printf '{"portMappings":[%s]}' "$(pmap "$1")"; }
# The runtime: the chains run as libcni runs them (name and cniVersion
# injected; ADD in order with prevResult, result cached on success; CHECK
# and DEL with the cached result, DEL in reverse, the cache entry removed once
# every plugin succeeded; GC = DEL of every cached attachment not in the list,
# then GC of every plugin with cni.dev/valid-attachments, errors not stopping
# it; runtimeConfig.portMappings only for a plugin with that capability).
# Built in, as a plain string join, because hack/cnictl, which does the
# same, spends most of a victim in jq; CHAOS_DRIVER=cnictl uses it instead.
declare -A TMPL=() NPL=() CAPS_OF=()
for net in "${NETS[@]}"; do
	NPL[$net]=$(jq '.plugins | length' "$TMP/conf/$net")
	for ((i = 0; i < NPL[$net]; i++)); do
		TMPL[$net.$i]=$(jq -c --argjson i "$i" '.plugins[$i] + {name, cniVersion}' "$TMP/conf/$net")
		CAPS_OF[$net.$i]=$(jq -r --argjson i "$i" '.plugins[$i].capabilities.portMappings // false' "$TMP/conf/$net")
	done
done
mkdir -p "$CNI_CACHE_DIR/results"
# plugin VERB NET I POD [EXTRA]: one plugin; P_OUT and P_RC, stderr to ctl.out.
plugin() {
	local verb=$1 net=$2 i=$3 pod=$4 extra=${5-} t=${TMPL[$2.$3]} type bin
	type=${t#*\"type\":\"}; type=${type%%\"*}
	[ "${CAPS_OF[$net.$i]}" != true ] || [ -z "$pod" ] ||
		extra+="${extra:+,}\"runtimeConfig\":{\"portMappings\":[$(pmap "$pod")]}"
	[ -z "$extra" ] || t="${t%\}},$extra}"
	bin=$CNIP_BIN/$type
	[ ! -x "$WRAP/$type" ] || bin=$WRAP/$type
	P_RC=0
	P_OUT=$(printf '%s' "$t" | CNI_COMMAND=$verb CNI_CONTAINERID=${pod:+ch-$pod} \
		CNI_NETNS=${pod:+/run/netns/ch-$pod} CNI_IFNAME=${pod:+eth0} CNI_ARGS= \
		CNI_PATH=$WRAP:$CNIP_BIN "$bin" 2>>"$TMP/ctl.out") || P_RC=$?
}
drv_add() {
	local net=$1 pod=$2 i prev=''
	for ((i = 0; i < NPL[$net]; i++)); do
		plugin ADD "$net" "$i" "$pod" "${prev:+\"prevResult\":$prev}"
		[ "$P_RC" -eq 0 ] || { echo "$P_OUT" >>"$TMP/ctl.out"; return 1; }
		prev=$P_OUT
	done
	printf '%s' "$prev" >"$CNI_CACHE_DIR/results/$net-ch-$pod-eth0"
}
drv_del() {
	local net=$1 pod=$2 i prev='' f=$CNI_CACHE_DIR/results/$1-ch-$2-eth0
	[ ! -f "$f" ] || prev=$(<"$f")
	for ((i = NPL[$net] - 1; i >= 0; i--)); do
		plugin DEL "$net" "$i" "$pod" "${prev:+\"prevResult\":$prev}"
		[ "$P_RC" -eq 0 ] || { echo "$P_OUT" >>"$TMP/ctl.out"; return 1; }
	done
	rm -f "$f"
}
drv_check() {
	local net=$1 pod=$2 i prev
	prev=$(<"$CNI_CACHE_DIR/results/$net-ch-$pod-eth0")
	for ((i = 0; i < NPL[$net]; i++)); do
		plugin CHECK "$net" "$i" "$pod" "\"prevResult\":$prev"
		[ "$P_RC" -eq 0 ] || { echo "$P_OUT" >>"$TMP/ctl.out"; return 1; }
	done
}
drv_gc() {
	local net=$1 valid=$2 f pod i rc=0
	for f in "$CNI_CACHE_DIR/results/$net"-ch-*-eth0; do
		[ -f "$f" ] || continue
		pod=${f#"$CNI_CACHE_DIR/results/$net-ch-"}; pod=${pod%-eth0}
		[[ $valid == *"\"ch-$pod\""* ]] || drv_del "$net" "$pod" || rc=1
	done
	for ((i = 0; i < NPL[$net]; i++)); do
		plugin GC "$net" "$i" "" "\"cni.dev/valid-attachments\":$valid"
		[ "$P_RC" -eq 0 ] || { echo "$P_OUT" >>"$TMP/ctl.out"; rc=1; }
	done
	return $rc
}
# ctl VERB NET [POD] [--valid JSON]: one runtime operation; CRC its status,
# $TMP/ctl.out what the plugins said.
ctl() {
	local verb=$1 net=$2 pod=${3-}
	shift 3 || shift $#
	CRC=0
	: >"$TMP/ctl.out"
	if [ "${CHAOS_DRIVER:-}" = cnictl ]; then
		if [ "$verb" = gc ]; then
			CNI_PATH=$WRAP:$CNIP_BIN "$CNICTL" gc "$TMP/conf/$net" "$@" >"$TMP/ctl.out" 2>&1 || CRC=$?
		else
			CNI_PATH=$WRAP:$CNIP_BIN "$CNICTL" "$verb" "$TMP/conf/$net" "/run/netns/ch-$pod" \
				--id "ch-$pod" --cap-args "$(caps "$pod")" "$@" >"$TMP/ctl.out" 2>&1 || CRC=$?
		fi
	elif [ "$verb" = gc ]; then
		drv_gc "$net" "$2" || CRC=1
	else
		"drv_$verb" "$net" "$pod" || CRC=1
	fi
}
new_pod() { # NET: a fresh netns, pod number $NEXT
	NEXT=$((NEXT + 1))
	ip netns add "ch-$NEXT"
	POD_NET[$NEXT]=$1
}
valid() { # NET: the attachments a runtime still wants, as GC's list
	local p out=''
	for p in "${!LIVE_PODS[@]}"; do
		[ "${POD_NET[$p]}" = "$1" ] || continue
		out+="{\"containerID\":\"ch-$p\",\"ifname\":\"eth0\"},"
	done
	echo "[${out%,}]"
}
gc_all() { # a runtime's periodic GC of every network; must succeed
	local net
	for net in "${NETS[@]}"; do
		ctl gc "$net" "" --valid "$(valid "$net")"
		[ "$CRC" -eq 0 ] || fail "GC of $net failed: $(cat "$TMP/ctl.out")"
	done
	GCS=$((GCS + 1))
}
# runtime_del POD: DEL until it succeeds, as a runtime retries; each failure
# is a finding (DEL_ERRS), five in a row a stuck attachment.
runtime_del() {
	local pod=$1 net=${POD_NET[$1]} try
	for try in 1 2 3 4 5; do
		ctl del "$net" "$pod"
		[ "$CRC" -ne 0 ] || return 0
		DEL_ERRS=$((DEL_ERRS + 1))
		echo "DEL error ($net pod $pod, try $try): $(tail -3 "$TMP/ctl.out" | cut -c1-300)" | tee -a "$TMP/findings"
	done
	fail "DEL of $net pod $pod never succeeds: $(cat "$TMP/ctl.out")"
}

# --- the node's state -------------------------------------------------------
# snapshot: everything an attachment can leave on the node, one line per
# object, without what changes on its own (handles, counters, link-local
# addresses, the index's generation and stamp, last_reserved_ip's content).
snapshot() {
	{
		ip -j link show | jq -r '.[] | "link \(.ifname) \(.link_type) \(.master // "-")"'
		ip -j addr show | jq -r '.[] | .ifname as $i | .addr_info[]
			| select(.local | startswith("fe80") | not) | "addr \($i) \(.local)/\(.prefixlen)"'
		for f in 4 6; do
			ip -"$f" -j route show table all | jq -r --arg f "$f" '.[]
				| select(.dst | test("^(fe80|ff00|ff02|multicast)") | not)
				| "route\($f) \(.table // "main") \(.type // "unicast") \(.dst) \(.gateway // "-") \(.dev // "-")"'
		done
		nft -j list ruleset | jq -c '.nftables[] | select(has("metainfo") | not)
			| walk(if type == "object" then del(.handle, .packets, .bytes) else . end)
			| walk(if type == "object" and has("elem") then .elem |= (map(tojson) | sort) else . end)
			| "nft \(tojson)"'
		iptables-save 2>/dev/null | grep -E '^(:|-A )CNI-' | sed 's/\[[0-9:]*\]//; s/^/ipt /' || true
		find "$IPAM_DIR" "$TUNE_DIR" -type f 2>/dev/null | grep -v -E '/\.cnip/(idx\.[0-9]+/|stamp$|boot$)' |
			while read -r f; do
				case $f in
				*/last_reserved_ip.* | */lock) echo "file $f" ;;
				*) echo "file $f $(tr '\r\n' '|/' <"$f")" ;;
				esac
			done
	} | LC_ALL=C sort
}
# leaks: what the node has beyond the baseline (leaks) and what it lost (a
# live pod's object gone); prints both, one line per object.
leaks() {
	snapshot >"$TMP/now"
	LC_ALL=C comm -13 "$TMP/base" "$TMP/now" | sed 's/^/+ /'
	LC_ALL=C comm -23 "$TMP/base" "$TMP/now" | sed 's/^/- /'
}
# check_files: every lease and state file complete, right now (a kill just
# happened): "<cid>\r\n<ifname>" leases, an address in last_reserved_ip,
# JSON tuning state. Temporary files are allowed to be partial.
check_files() {
	local f c tf=()
	while read -r f; do
		IFS= read -r -d '' c <"$f" || true
		case ${f##*/} in
		lock) ;;
		last_reserved_ip.*) [[ $c =~ ^[0-9a-f.:]+$ ]] || fail "half-written $f: '$c'" ;;
		*) [[ $c =~ ^ch-[0-9]+$'\r\n'eth0$ ]] || fail "half-written lease $f: '$(printf '%q' "$c")'" ;;
		esac
	done < <(find "$IPAM_DIR" -mindepth 2 -maxdepth 2 -type f 2>/dev/null)
	mapfile -t tf < <(find "$TUNE_DIR" -type f ! -name '*.tmp' 2>/dev/null)
	[ ${#tf[@]} -eq 0 ] || jq -e . "${tf[@]}" >/dev/null 2>&1 ||
		fail "half-written tuning state: $(for f in "${tf[@]}"; do jq . "$f" >/dev/null 2>&1 || echo "$f: $(cat "$f")"; done)"
	FILE_CHECKS=$((FILE_CHECKS + 1))
}
check_live() { # every live pod's CHECK passes
	local p
	for p in "${!LIVE_PODS[@]}"; do
		ctl check "${POD_NET[$p]}" "$p"
		[ "$CRC" -eq 0 ] || fail "CHECK of live pod $p (${POD_NET[$p]}) fails: $(cat "$TMP/ctl.out")"
	done
}
# must_be_clean WHEN: after a runtime's GC, the node equals the baseline.
must_be_clean() {
	local l
	l=$(leaks)
	[ -z "$l" ] || { echo "leak $1: $l" >>"$TMP/findings"; fail "after $1, the node differs from the baseline:
$l"; }
}

# --- the kill ---------------------------------------------------------------
# arm PLUGIN VERB N: the next call of PLUGIN with CNI_COMMAND=VERB runs under
# killat (N = 0: counts only, every call); the log says what happened.
arm() {
	local plugin=$1 verb=$2 n=$3
	rm -rf "$TMP/fired" "$TMP/klog"
	cat >"$WRAP/$plugin" <<-EOF
		#!/bin/bash
		if [ "\$CNI_COMMAND" = "$verb" ] || [ "$verb" = any ]; then
			if [ "$n" = 0 ]; then
				ASAN_OPTIONS=detect_leaks=0 exec "$KILLAT" 0 "$TMP/klog.$plugin.\$CNI_COMMAND" "$CNIP_BIN/$plugin"
			elif mkdir "$TMP/fired" 2>/dev/null; then
				ASAN_OPTIONS=detect_leaks=0 exec "$KILLAT" "$n" "$TMP/klog" "$CNIP_BIN/$plugin"
			fi
		fi
		exec "$CNIP_BIN/$plugin"
	EOF
	chmod +x "$WRAP/$plugin"
}
disarm() { rm -f "$WRAP"/*; }

declare -A MAXS=() KILLS=() SURVIVED=()
DEL_ERRS=0 GCS=0 FILE_CHECKS=0 AFTER_DEL=0 KILLED=0 TRIES=0 AIMED=0 POD_LEFT=0
: >"$TMP/findings"
# calibrate NET: one ADD, DEL and GC with every plugin counted.
calibrate() {
	local net=$1 p v l pod
	for p in ${CHAIN[$net]}; do arm "$p" any 0; done
	new_pod "$net"; pod=$NEXT
	ctl add "$net" "$pod"; [ "$CRC" -eq 0 ] || fail "ADD $net failed: $(cat "$TMP/ctl.out")"
	ctl del "$net" "$pod"; [ "$CRC" -eq 0 ] || fail "DEL $net failed: $(cat "$TMP/ctl.out")"
	ip netns del "ch-$pod"
	ctl gc "$net" "" --valid "$(valid "$net")"; [ "$CRC" -eq 0 ] || fail "GC $net failed: $(cat "$TMP/ctl.out")"
	disarm
	for p in ${CHAIN[$net]}; do
		for v in "${VERBS[@]}"; do
			l=$(awk '$1 == "done" && $2 > m { m = $2 } END { print m + 0 }' "$TMP/klog.$p.$v" 2>/dev/null || echo 0)
			MAXS[$net.$v.$p]=$l
		done
	done
	rm -f "$TMP"/klog.*
}

# victim NET VERB PLUGIN [N]: one run of VERB with PLUGIN killed at a random
# stop (or at N, as killat takes it), then what a runtime does. Returns 1
# when the plugin finished first.
victim() {
	local net=$1 verb=$2 plugin=$3 key=$1.$2.$3 n=${4-} pod res stale orphan l
	[ -n "$n" ] || n=$(( (RANDOM * 32768 + RANDOM) % MAXS[$key] + 1 ))
	new_pod "$net"; pod=$NEXT
	case $verb in
	ADD)
		arm "$plugin" ADD "$n"
		ctl add "$net" "$pod"
		;;
	DEL)
		ctl add "$net" "$pod"; [ "$CRC" -eq 0 ] || fail "ADD $net pod $pod failed: $(cat "$TMP/ctl.out")"
		arm "$plugin" DEL "$n"
		ctl del "$net" "$pod"
		;;
	GC)
		# Two attachments GC must reclaim: one whose pod vanished without DEL
		# (the runtime's cache still has it: GC DELs it), one the runtime
		# forgot entirely (only the plugins' own GC can find it).
		ctl add "$net" "$pod"; [ "$CRC" -eq 0 ] || fail "ADD $net pod $pod failed: $(cat "$TMP/ctl.out")"
		stale=$pod
		new_pod "$net"; orphan=$NEXT
		ctl add "$net" "$orphan"; [ "$CRC" -eq 0 ] || fail "ADD $net pod $orphan failed: $(cat "$TMP/ctl.out")"
		rm -f "$CNI_CACHE_DIR/results/$net-ch-$orphan-eth0"
		ip netns del "ch-$stale"; ip netns del "ch-$orphan"
		arm "$plugin" GC "$n"
		ctl gc "$net" "" --valid "$(valid "$net")"
		;;
	esac
	disarm
	TRIES=$((TRIES + 1))
	res=$(cat "$TMP/klog" 2>/dev/null || echo "none")
	case $res in
	killed*) ;;
	done*) # it finished before stop N: a longer run than calibrated
		l=${res#done }; l=${l%% *}
		[ "$l" -le "${MAXS[$key]}" ] || MAXS[$key]=$l
		SURVIVED[$key]=$((${SURVIVED[$key]:-0} + 1)) ;;
	*) SURVIVED[$key]=$((${SURVIVED[$key]:-0} + 1)) ;;
	esac
	check_files
	case $verb in
	ADD | DEL)
		runtime_del "$pod"
		[ "$(ip netns exec "ch-$pod" ip -j link show type veth | jq length)" = 0 ] ||
			{ POD_LEFT=$((POD_LEFT + 1)); echo "pod $pod ($key at $n): a veth still in the pod after DEL" | tee -a "$TMP/findings"; }
		ip netns del "ch-$pod"
		l=$(leaks)
		if [ -n "$l" ]; then
			AFTER_DEL=$((AFTER_DEL + 1))
			printf '%s at %s, left after DEL (GC must reclaim):\n%s\n' "$key" "$n" "$l" >>"$TMP/after-del"
		fi
		;;
	GC)
		gc_all # the runtime's next GC
		must_be_clean "$key killed at stop $n, then GC"
		;;
	esac
	[[ $res == killed* ]] || return 1
	KILLS[$key]=$((${KILLS[$key]:-0} + 1))
	KILLED=$((KILLED + 1))
	echo "$key $res" >>"$TMP/kills"
	return 0
}

start=$SECONDS
for net in "${NETS[@]}"; do calibrate "$net"; done
note "syscall stops of a whole run (max seen): $(for k in "${!MAXS[@]}"; do echo -n "$k=${MAXS[$k]} "; done)"
COMBOS=()
for k in "${!MAXS[@]}"; do [ "${MAXS[$k]}" -gt 0 ] && COMBOS+=("$k"); done
mapfile -t COMBOS < <(printf '%s\n' "${COMBOS[@]}" | LC_ALL=C sort)
[ ${#COMBOS[@]} -ge 20 ] || fail "only ${#COMBOS[@]} plugin/verb pairs ever ran: ${COMBOS[*]}"

# The live pods: they must come through every kill and GC untouched.
for net in "${NETS[@]}"; do
	for i in $(seq 1 "$LIVE"); do
		new_pod "$net"; pod=$NEXT
		ctl add "$net" "$pod"; [ "$CRC" -eq 0 ] || fail "ADD of live pod failed: $(cat "$TMP/ctl.out")"
		LIVE_PODS[$pod]=1
	done
done
gc_all
snapshot >"$TMP/base"
note "baseline: $LIVE live pods per network, $(wc -l <"$TMP/base") objects on the node"

# Aimed kills first: the steps where a file is half-made. Each was once a
# leak (see the README); s<NR> kills at the entry of syscall NR (x86_64).
for aim in "chbr ADD tuning s82 rename of the state file" \
	"chbr ADD host-local s265 link of a complete lease" \
	"chpp ADD host-local s264 rename of an index or last_reserved_ip file" \
	"chbr DEL host-local s264 rename of an index file"; do
	read -r net verb plugin n what <<<"$aim"
	victim "$net" "$verb" "$plugin" "$n" || fail "aimed kill ($net $verb $plugin at $what) did not happen"
	gc_all
	must_be_clean "$net $verb $plugin killed at the $what, then DEL and GC"
	AIMED=$((AIMED + 1))
done
note "$AIMED aimed kills: nothing left after DEL and GC"
# Where no DEL comes (the runtime died too), tuning's GC removes a temporary
# state file of no valid attachment once it is old enough to have a dead writer.
live1=$(for p in "${!LIVE_PODS[@]}"; do [ "${POD_NET[$p]}" = chbr ] && echo "$p"; done | head -1)
echo '{"txQ' >"$TUNE_DIR/ch-gone_eth0.json.tmp"
touch -d '-1 min' "$TUNE_DIR/ch-gone_eth0.json.tmp"
echo '{"txQ' >"$TUNE_DIR/ch-new_eth0.json.tmp"
echo '{"txQ' >"$TUNE_DIR/ch-${live1}_eth0.json.tmp"
touch -d '-1 min' "$TUNE_DIR/ch-${live1}_eth0.json.tmp"
gc_all
[ ! -e "$TUNE_DIR/ch-gone_eth0.json.tmp" ] || fail "GC kept a stale temporary tuning state file"
[ -e "$TUNE_DIR/ch-new_eth0.json.tmp" ] || fail "GC removed a temporary tuning state file being written"
[ -e "$TUNE_DIR/ch-${live1}_eth0.json.tmp" ] || fail "GC removed a valid attachment's temporary tuning state file"
rm -f "$TUNE_DIR"/ch-new_eth0.json.tmp "$TUNE_DIR/ch-${live1}_eth0.json.tmp"
[ ! -s "$TMP/after-del" ] || { note "aimed kills that left something after DEL, reclaimed by GC:"; cat "$TMP/after-del"; }
KILLED=0 TRIES=0 AFTER_DEL=0 KILLS=() SURVIVED=()
: >"$TMP/kills"
rm -f "$TMP/after-del"

while [ "$KILLED" -lt "$VICTIMS" ]; do
	k=${COMBOS[RANDOM % ${#COMBOS[@]}]}
	IFS=. read -r net verb plugin <<<"$k"
	victim "$net" "$verb" "$plugin" || true
	if [ $((TRIES % GC_EVERY)) -eq 0 ]; then
		gc_all
		must_be_clean "periodic GC after $TRIES runs"
	fi
	[ $((TRIES % 50)) -ne 0 ] || note "$KILLED killed in $TRIES runs, $((SECONDS - start))s"
done
gc_all
must_be_clean "the final GC"
check_live
# Last, the live pods go too: then nothing at all may remain of any pod.
for p in "${!LIVE_PODS[@]}"; do
	runtime_del "$p"
	ip netns del "ch-$p"
	unset "LIVE_PODS[$p]"
done
gc_all
left=$( {
	ip -j link show type veth | jq -r '.[] | "veth \(.ifname)"'
	find "$IPAM_DIR" -mindepth 2 -type f \( -name '*[.:]*' ! -name 'last_reserved_ip.*' -o -name 'tmp.*' \) | sed 's/^/file /'
	find "$TUNE_DIR" -type f 2>/dev/null | sed 's/^/file /'
	nft -j list ruleset | jq -r '.nftables[] | (.map.elem // .set.elem // empty | .[] | "element \(tojson)"),
		(.chain | select(. != null and (.table | startswith("cnip_")) and (.name | test("^(masq|sc|pm|fw)-[0-9a-f]+-[0-9a-f]+$")))
		 | "chain \(.table) \(.name)")'
	nft list ruleset | grep -E '10\.(88|99)\.[0-9]+\.[0-9]+[^/0-9]|fd88::[0-9a-f]' | grep -v -E '10\.88\.0\.0/16|fd88::/64' | sed 's/^/rule /'
	iptables-save 2>/dev/null | grep -E '^:CNI-' | grep -v -E '^:CNI-(FORWARD|ADMIN) ' | sed 's/^/iptables /'
} 2>&1 || true)
[ -z "$left" ] || fail "after every pod's DEL and GC, left: $left"

secs=$((SECONDS - start))
note "kills per plugin and verb (runs where the plugin finished first in brackets):"
for k in "${COMBOS[@]}"; do
	printf '    %-22s %4d killed  (%d)  stops 1..%d\n' "$k" "${KILLS[$k]:-0}" "${SURVIVED[$k]:-0}" "${MAXS[$k]}"
done
for v in "${VERBS[@]}"; do
	printf '    %-4s %d killed\n' "$v" "$(grep -c "^[a-z]*\.$v\." "$TMP/kills" || true)"
done
note "where the kills landed (syscall: kills):"
awk 'BEGIN { split("0 read 1 write 3 close 5 fstat 7 poll 9 mmap 11 munmap 12 brk 13 rt_sigaction 14 rt_sigprocmask 16 ioctl 20 writev 41 socket 44 sendto 45 recvfrom 46 sendmsg 47 recvmsg 49 bind 51 getsockname 54 setsockopt 56 clone 57 fork 59 execve 61 wait4 72 fcntl 73 flock 74 fsync 82 rename 87 unlink 89 readlink 202 futex 217 getdents64 257 openat 258 mkdirat 262 newfstatat 263 unlinkat 264 renameat 265 linkat 280 utimensat 293 pipe2 302 prlimit64 308 setns 318 getrandom 435 clone3", a, " ");
	for (i = 1; i < length(a); i += 2) name[a[i]] = a[i + 1] }
	{ n[$4 in name ? name[$4] : $4]++ } END { for (x in n) printf "%s %d\n", x, n[x] }' "$TMP/kills" |
	sort -k2,2nr | head -16 | tr '\n' ' ' | sed 's/^/    /'; echo
note "findings:"; cat "$TMP/findings"
[ ! -s "$TMP/after-del" ] || { note "left after DEL, reclaimed by GC (first 40 lines):"; head -40 "$TMP/after-del"; }
note "chaos: $KILLED victims killed in $TRIES runs (seed $SEED), $GCS GCs, $FILE_CHECKS lease/state checks, \
$DEL_ERRS DEL errors, $AFTER_DEL runs left something after DEL (all reclaimed by GC), 0 leaks; ${secs}s"
[ "$DEL_ERRS" -eq 0 ] || fail "$DEL_ERRS DEL errors"
[ "$POD_LEFT" -eq 0 ] || fail "$POD_LEFT DELs left a veth in the pod"
echo ok
