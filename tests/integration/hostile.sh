#!/usr/bin/env bash
# Hostile-input catalog: every row of tests/fixtures/hostile/catalog.tsv runs one
# plugin with one bad input (JSON, environment, filesystem, kernel state) and
# must fail with the row's CNI code and a message naming the problem, while
# nothing changes: links (mtu, mac, promisc, txqlen), addresses, routes (node
# and pods), the net.* sysctls the rows name, the nftables ruleset (with
# portmap's and firewall's tables and the iptables-nft FORWARD hook-in) and
# every file under the data directories (tuning's state too; see snapshot())
# are compared before and after. Live pods are attached first (bridge and ptp,
# and portmap, firewall and tuning chained after the bridge), so nothing may
# be lost. Rows cover bridge, ptp, host-local, loopback, portmap, firewall and tuning.
#
# Row format (tab-separated, '#' comments, '-' for an empty column):
#   id  plugin  verb  code  msg-regex  setup  env  conf  top  ipam
# conf is a base config (@bridge @ptp @hl @lo) whose text gets `top` appended
# as its last top-level members (Go's decoder, and ours, let the last of a
# repeated key win) and `ipam` appended inside its ipam object, or `raw`
# (top is the whole document), or `gen` (top names a function that writes the
# document to $CONF). In conf text, \xHH is a raw byte (a NUL byte, bad UTF-8).
# The meta plugins' configs (@pm portmap, @fw firewall, @tn tuning) carry the
# prevResult of a pod the bridge attached ($MPOD, container hdn-m1, which the
# rows target by default); their `ipam` column is appended inside prevResult.
# env is a space-separated VAR=VALUE list (printf %b escapes; VAR= sets it
# empty, -VAR unsets it). setup names a function below, run before the "before"
# snapshot; a function undo_<setup>, when defined, runs after the row.
# Adding a plugin: a base config in base_conf() and its rows in the catalog.
. "$CNIP_TOP/tests/lib.sh"

CATALOG=${HOSTILE_CATALOG:-$CNIP_TOP/tests/fixtures/hostile/catalog.tsv}
ONLY=${HOSTILE_ONLY:-}
DATA=/var/lib/cni/hdn
CONF=$TMP/conf
POD=hdn-pod
LIVE=hdn-live
MPOD=hdn-meta	# attached by the bridge only: what portmap, firewall and tuning rows run on
MPREV= LPREV=	# the bridge's results for $MPOD and $LIVE
TDIR=/run/cni/tuning

declare -A TYPE=([@pm]=portmap [@fw]=firewall [@tn]=tuning) LIVE_CONF=()

base_conf() {
	local ipam="{\"type\":\"host-local\",\"dataDir\":\"$DATA\",\"ranges\":[[{\"subnet\":\"10.91.0.0/24\"}]]$2}"
	case $1 in
	@bridge) printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"bridge","bridge":"hdnbr0","isGateway":true,"ipMasq":true,"macspoofchk":true,"ipam":%s%s}' "$ipam" "$3" ;;
	@ptp) ipam="{\"type\":\"host-local\",\"dataDir\":\"$DATA\",\"ranges\":[[{\"subnet\":\"10.92.0.0/24\"}]]$2}"
		printf '{"cniVersion":"1.1.0","name":"hdnptp","type":"ptp","ipMasq":true,"ipam":%s%s}' "$ipam" "$3" ;;
	@hl) printf '{"cniVersion":"1.1.0","name":"hdnhl","type":"host-local","ipam":%s%s}' "$ipam" "$3" ;;
	@lo) printf '{"cniVersion":"1.1.0","name":"hdnlo","type":"loopback"%s}' "$3" ;;
	@pm) printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"portmap","snat":true,"markMasqBit":13,"runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"},{"hostPort":18053,"containerPort":53,"protocol":"udp","hostIP":"10.91.0.1"}]},"prevResult":%s%s}' \
		"$(meta_prev "$2" "${PREV:-$MPREV}")" "$3" ;;
	@fw) printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"firewall","backend":"iptables","iptablesAdminChainName":"CNI-ADMIN","ingressPolicy":"same-bridge","prevResult":%s%s}' \
		"$(meta_prev "$2" "${PREV:-$MPREV}")" "$3" ;;
	@tn) printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"tuning","sysctl":{"net.core.somaxconn":"1111","net.ipv4.conf.IFNAME.arp_filter":"1"},"mtu":1400,"txQLen":321,"promisc":true,"runtimeConfig":{"mac":"02:42:0a:5b:00:99"},"prevResult":%s%s}' \
		"$(meta_prev "$2" "${PREV:-$MPREV}")" "$3" ;;
	*) fail "unknown base config $1" ;;
	esac
}

# prevResult with extra members (",..." text) appended inside it.
meta_prev() { printf '%s%s}' "${2%\}}" "$1"; }

# Everything a failed call must leave as it was. Counters and timers that the
# kernel changes on its own are dropped.
snapshot() {
	local ns
	{
		for ns in "" "$POD" "$LIVE" "$MPOD"; do
			printf 'link show\naddr show\nroute show table all\n' | ip ${ns:+-n "$ns"} -j -d -batch -
			ip ${ns:+-n "$ns"} -6 -j route show table all
			# What tuning and portmap write: the net.* sysctls (those the rows name).
			(cd /proc/sys/net && ${ns:+nsenter --net=/run/netns/$ns} grep -H . core/somaxconn unix/max_dgram_qlen \
				ipv4/conf/*/{arp_filter,rp_filter,route_localnet,forwarding,proxy_arp} \
				ipv6/conf/*/{disable_ipv6,forwarding,accept_dad} 2>/dev/null | tr '\n' ' ')
		done
		nft -j list ruleset
		echo
	} | sed -E 's/"([a-z_]*_timer|valid_life_time|preferred_life_time|expires|operstate)":("[^"]*"|[0-9.]+),?//g' >"$1" 2>&1
	# Files, not the skeleton a failed call may make (directories, the lock
	# file) nor host-local's index under .cnip/ (a cache rebuilt from the
	# lease files whenever they change); .cnip/boot is compared.
	{
		find /var/lib/cni /run/cni ! -type d ! -name lock ! -path '*/.cnip/idx.*' ! -path '*/.cnip/stamp' \
			! -path '*/.cnip/tmp.*' -printf '%p %y %m %l\n' | sort
		find /var/lib/cni /run/cni -type f ! -name lock ! -path '*/.cnip/idx.*' ! -path '*/.cnip/stamp' \
			-exec md5sum {} + | sort
	} >>"$1" 2>&1
}

# A readable diff of two snapshots (one JSON document or file line per line).
snapdiff() {
	diff -u <(while read -r l; do jq -S . <<<"$l" 2>/dev/null || echo "$l"; done <"$1") \
		<(while read -r l; do jq -S . <<<"$l" 2>/dev/null || echo "$l"; done <"$2") | head -60
}

# ---- setup functions (named in the catalog) ----
# Each makes one hostile condition; undo_<name> restores it.
big_conf() {	# 17 MiB: more than a plugin reads from stdin
	{ printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"bridge","x":"'; head -c $((17 << 20)) /dev/zero | tr '\0' a; printf '"}'; } >"$CONF"
}
deep_conf() {	# 2000 nested arrays: beyond any sane depth
	{ printf '{"cniVersion":"1.1.0","name":"hdnbr","type":"bridge","x":'; printf '[%.0s' $(seq 2000); printf ']%.0s' $(seq 2000); printf '}'; } >"$CONF"
}
long_name_conf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"bridge","bridge":"hdnbr0","ipam":{"type":"host-local","subnet":"10.91.0.0/24","dataDir":"%s"}}' \
		"$(head -c 5000 /dev/zero | tr '\0' n)" "$DATA" >"$CONF"
}
br_is_veth() { ip link add hdnbrx type veth peer name hdnbrxp; }
undo_br_is_veth() { ip link del hdnbrx; }
ifname_taken() { ip -n "$POD" link add eth0 type veth peer name hdnpeer; }
undo_ifname_taken() { ip -n "$POD" link del eth0; }
# Environment values too long for a catalog line go through ROW_ENV.
long_cmd() { ROW_ENV=(CNI_COMMAND="$(head -c 5000 /dev/zero | tr '\0' A)"); }
long_netns() { ROW_ENV=(CNI_NETNS="/run/netns/$(head -c 5000 /dev/zero | tr '\0' n)"); }
long_args() { ROW_ENV=(CNI_ARGS="IgnoreUnknown=1;X=$(head -c 100000 /dev/zero | tr '\0' x)"); }
long_path() { ROW_ENV=(CNI_PATH="$(head -c 100000 /dev/zero | tr '\0' /)"); }
long_cid() { ROW_ENV=(CNI_CONTAINERID="$(head -c 100000 /dev/zero | tr '\0' c)"); }
# The network directory a symlink: opened without following it.
netdir_symlink() { mkdir -p "$DATA/hdn-target"; ln -s hdn-target "$DATA/hdnsym"; }
undo_netdir_symlink() { rm "$DATA/hdnsym"; rmdir "$DATA/hdn-target"; }
# A lease path that is a directory, or a symlink, requested by CNI_ARGS IP=.
lease_is_dir() { mkdir "$DATA/hdnhl/10.91.0.20"; }
undo_lease_is_dir() { rmdir "$DATA/hdnhl/10.91.0.20"; }
lease_is_symlink() { ln -s /etc/hostname "$DATA/hdnhl/10.91.0.21"; }
undo_lease_is_symlink() { rm "$DATA/hdnhl/10.91.0.21"; }
# A read-only, and a full, dataDir on small tmpfs mounts.
ro_datadir() { mkdir -p /var/lib/cni/hdn-ro; mount -t tmpfs -o ro,size=64k hdn-ro /var/lib/cni/hdn-ro; }
undo_ro_datadir() { umount /var/lib/cni/hdn-ro; rmdir /var/lib/cni/hdn-ro; }
full_datadir() {
	mkdir -p /var/lib/cni/hdn-full
	mount -t tmpfs -o size=64k hdn-full /var/lib/cni/hdn-full
	dd if=/dev/zero of=/var/lib/cni/hdn-full/fill bs=4k 2>/dev/null || true
}
undo_full_datadir() { umount /var/lib/cni/hdn-full; rmdir /var/lib/cni/hdn-full; }
# The lock a directory, or a symlink.
lock_is_dir() { mkdir -p "$DATA/hdnlock/lock"; }
undo_lock_is_dir() { rm -r "$DATA/hdnlock"; }
lock_is_symlink() { mkdir -p "$DATA/hdnlock"; ln -s /etc/hostname "$DATA/hdnlock/lock"; }
undo_lock_is_symlink() { rm -r "$DATA/hdnlock"; }
datadir_is_file() { touch /var/lib/cni/hdn-file; }
undo_datadir_is_file() { rm /var/lib/cni/hdn-file; }
# A netns path whose namespace is gone: what a netns deleted under the ADD leaves.
dead_netns() { touch /run/netns/hdn-dead; }
undo_dead_netns() { rm /run/netns/hdn-dead; }

# ---- the meta plugins' setups ----
# gen functions for any meta plugin (the row's $plugin, seen through bash's dynamic scope).
meta_of() { case $plugin in portmap) echo @pm ;; firewall) echo @fw ;; tuning) echo @tn ;; esac; }
deep_meta() { base_conf "$(meta_of)" "" ",\"x\":$(printf '[%.0s' $(seq 2000); printf ']%.0s' $(seq 2000))" >"$CONF"; }
trailing_meta() { { base_conf "$(meta_of)" "" ""; printf ' {}'; } >"$CONF"; }
# A sysctl directory of the pod whose knob is a symlink out of /proc/sys/net: a
# bind mount over the pod's own /proc/sys/net/unix (nsenter keeps our mount namespace).
sysctl_symlink() {
	mkdir -p "$TMP/fakeunix"
	ln -sfn /proc/sys/kernel/hostname "$TMP/fakeunix/max_dgram_qlen"
	nsenter --net=/run/netns/$MPOD mount --bind "$TMP/fakeunix" /proc/sys/net/unix
}
undo_sysctl_symlink() { nsenter --net=/run/netns/$MPOD umount /proc/sys/net/unix; }
# An allowlist that admits the interface's knobs but not net.core.somaxconn.
allowlist() {
	mkdir -p /etc/cni/tuning
	mount -t tmpfs hdn-allow /etc/cni/tuning
	printf '%s\n' '^net\.ipv4\.conf\.IFNAME\.[a-z_]*$' >/etc/cni/tuning/allowlist.conf
}
undo_allowlist() { umount /etc/cni/tuning; }
# tuning's dataDir a symlink, a file, read-only, full; its state file a directory or a symlink.
tdir_symlink() { mkdir -p /run/cni/hdn-ttarget; ln -s hdn-ttarget /run/cni/hdn-tsym; }
undo_tdir_symlink() { rm /run/cni/hdn-tsym; rmdir /run/cni/hdn-ttarget; }
tdir_symlink_live() { ln -s tuning /run/cni/hdn-tlive; }	# to the live pod's state
undo_tdir_symlink_live() { rm /run/cni/hdn-tlive; }
tdir_file() { touch /run/cni/hdn-tfile; }
undo_tdir_file() { rm /run/cni/hdn-tfile; }
tdir_ro() { mkdir -p /run/cni/hdn-tro; mount -t tmpfs -o ro,size=64k hdn-tro /run/cni/hdn-tro; }
undo_tdir_ro() { umount /run/cni/hdn-tro; rmdir /run/cni/hdn-tro; }
tdir_full() {
	mkdir -p /run/cni/hdn-tfull
	mount -t tmpfs -o size=64k hdn-tfull /run/cni/hdn-tfull
	dd if=/dev/zero of=/run/cni/hdn-tfull/fill bs=4k 2>/dev/null || true
}
undo_tdir_full() { umount /run/cni/hdn-tfull; rmdir /run/cni/hdn-tfull; }
tstate_dir() { mkdir "$TDIR/hdn-m1_eth0.json"; }
undo_tstate_dir() { rmdir "$TDIR/hdn-m1_eth0.json"; }
tstate_symlink() { ln -s hdn-live_eth0.json "$TDIR/hdn-m1_eth0.json"; }
undo_tstate_symlink() { rm "$TDIR/hdn-m1_eth0.json"; }

# ---- the run ----
# One row: fails with the code and message, and the snapshot is unchanged.
run_row() {
	local id=$1 plugin=$2 verb=$3 code=$4 re=$5 setup=$6 env=$7 conf=$8 top=$9 ipam=${10}
	local cid=hdn-c1 netns=/run/netns/$POD
	case $plugin in portmap | firewall | tuning) cid=hdn-m1 netns=/run/netns/$MPOD ;; esac
	local -a envs=(CNI_COMMAND="$verb" CNI_CONTAINERID=$cid CNI_NETNS=$netns
		CNI_IFNAME=eth0 CNI_PATH="$CNIP_BIN" CNI_ARGS=)
	local -a unset=()
	local kv out rc

	[ "$top" != - ] || top=
	[ "$ipam" != - ] || ipam=
	ROW_ENV=()
	[ "$setup" = - ] || "$setup"
	case $conf in
	raw) printf '%s' "$top" | perl -pe 's/(?<!\\)\\x([0-9a-fA-F]{2})/chr hex $1/ge' >"$CONF" ;;
	gen) "$top" ;;
	*) base_conf "$conf" "${ipam:+,$ipam}" "${top:+,$top}" |
		perl -pe 's/(?<!\\)\\x([0-9a-fA-F]{2})/chr hex $1/ge' >"$CONF" ;;
	esac
	if [ "$env" != - ]; then
		for kv in $env; do
			if [[ $kv == -* ]]; then
				local -a keep=() e
				for e in "${envs[@]}"; do [[ $e == "${kv#-}="* ]] || keep+=("$e"); done
				envs=("${keep[@]}")
				unset+=(-u "${kv#-}")
			else
				envs+=("$(printf '%b' "$kv")")
			fi
		done
	fi
	# The previous row's "after" is this row's "before" unless a setup changed things.
	if [ "$setup" = - ] && [ -e "$TMP/after" ]; then mv "$TMP/after" "$TMP/before"; else snapshot "$TMP/before"; fi
	set +e
	out=$(env "${unset[@]}" "${envs[@]}" "${ROW_ENV[@]}" "$CNIP_BIN/$plugin" <"$CONF" 2>"$TMP/stderr")
	rc=$?
	set -e
	snapshot "$TMP/after"
	check_row "$id" "$plugin" "$verb" "$code" "$re" "$rc" "$out"
	rc=$?
	# Undone only now: the snapshots compare what the plugin did, not the undo.
	if declare -F "undo_$setup" >/dev/null; then "undo_$setup"; rm "$TMP/after"; fi
	return $rc
}

# Judges one run: fails with the code and message, and the snapshot is unchanged.
check_row() {
	local id=$1 plugin=$2 verb=$3 code=$4 re=$5 rc=$6 out=$7

	if [ -n "${HOSTILE_PROBE:-}" ]; then
		echo "PROBE $id rc=$rc changed=$(cmp -s "$TMP/before" "$TMP/after" && echo no || echo yes) ${out:0:300} $(head -c 200 "$TMP/stderr")"
		return 0
	fi
	if [ "$rc" -ne 1 ] || ! jq -e --argjson c "$code" --arg re "$re" \
		'.code == $c and (.msg | test($re; "i")) and (.cniVersion | type == "string")' <<<"$out" >/dev/null 2>&1; then
		echo "FAIL $id: $plugin $verb exited $rc, want code $code and /$re/: ${out:0:400} $(head -c 400 "$TMP/stderr")"
		return 1
	fi
	if ! cmp -s "$TMP/before" "$TMP/after"; then
		echo "FAIL $id: state changed"
		snapdiff "$TMP/before" "$TMP/after"
		return 1
	fi
	return 0
}

ip netns add "$POD"
ip netns add "$LIVE"
mkdir -p "$DATA"
note "live pods that no row may disturb"
CID=hdn-live NETNS=/run/netns/$LIVE cni_ok bridge ADD "$(base_conf @bridge "" "")"
live_br=$OUT
CID=hdn-live NETNS=/run/netns/$LIVE IFNAME=eth1 cni_ok ptp ADD "$(base_conf @ptp "" "")"
live_ptp=$OUT
CID=hdn-live NETNS=/run/netns/$LIVE cni_ok host-local ADD "$(base_conf @hl "" "")"
LPREV=$live_br
note "the meta plugins chained after the live bridge pod: hostPort 18081, firewall, tuning"
for p in @pm @fw @tn; do
	c=$(PREV=$LPREV base_conf $p "" "")
	[ $p != @pm ] || c=$(jq -c '.runtimeConfig.portMappings[0].hostPort = 18081 | .runtimeConfig.portMappings[1].hostPort = 18054' <<<"$c")
	# Not the MAC: the bridge's macspoofchk pins the one it gave, so the pod would go silent.
	[ $p != @tn ] || c=$(jq -c 'del(.runtimeConfig)' <<<"$c")
	CID=hdn-live NETNS=/run/netns/$LIVE cni_ok "${TYPE[$p]}" ADD "$c"
	LIVE_CONF[$p]=$c
done
# The chain's result (tuning's new MAC in it) is what CHECK gets, for every plugin.
live_br=$OUT
# What the snapshot must see of them: their tables and the iptables-nft FORWARD hook-in.
tables=$(nft list tables)
for t in "inet cnip_hostport" "inet cnip_firewall" "ip filter"; do	# IPv4 pods: no ip6 hook-in
	grep -qx "table $t" <<<"$tables" || fail "no table $t after the live chain: $tables"
done
[ -s "$TDIR/hdn-live_eth0.json" ] || fail "the live tuning pod has no state file"
note "a pod the bridge attached, for the meta plugins' rows (their positive control runs last)"
ip netns add "$MPOD"
CID=hdn-m1 NETNS=/run/netns/$MPOD cni_ok bridge ADD "$(base_conf @bridge "" "")"
MPREV=$(jq -c . <<<"$OUT")
# Let DAD and carrier settle so the snapshots compare only what rows do.
sleep 2

rows=0 failed=0
while IFS=$'\t' read -r id plugin verb code re setup env conf top ipam; do
	[ -n "$id" ] && [[ $id != \#* ]] || continue
	[ -z "$ONLY" ] || [[ $id == $ONLY ]] || continue
	rows=$((rows + 1))
	run_row "$id" "$plugin" "$verb" "$code" "$re" "$setup" "$env" "$conf" "$top" "${ipam:--}" || failed=$((failed + 1))
done <"$CATALOG"

note "the live pods still work"
CID=hdn-live NETNS=/run/netns/$LIVE cni_ok bridge CHECK "$(base_conf @bridge "" ",\"prevResult\":$live_br")"
CID=hdn-live NETNS=/run/netns/$LIVE IFNAME=eth1 cni_ok ptp CHECK "$(base_conf @ptp "" ",\"prevResult\":$live_ptp")"
ip netns exec "$LIVE" ping -c1 -W2 10.91.0.1 >/dev/null || fail "the live bridge pod lost its gateway"
ip netns exec "$LIVE" ping -c1 -W2 10.92.0.1 >/dev/null || fail "the live ptp pod lost its gateway"
note "the live meta plugins still hold (CHECK), and the base configs work on the rows' pod"
for p in @pm @fw @tn; do
	CID=hdn-live NETNS=/run/netns/$LIVE cni_ok "${TYPE[$p]}" CHECK "$(jq -c --argjson r "$live_br" '.prevResult = $r' <<<"${LIVE_CONF[$p]}")"
done
# A positive control: each row failed on its hostile part, not on the base config.
if [ -z "$ONLY" ]; then
	for p in @pm @fw @tn; do
		CID=hdn-m1 NETNS=/run/netns/$MPOD cni_ok "${TYPE[$p]}" ADD "$(base_conf $p "" "")"
		CID=hdn-m1 NETNS=/run/netns/$MPOD cni_ok "${TYPE[$p]}" CHECK "$(base_conf $p "" "")"
	done
	assert_eq "$(ip -n "$MPOD" -j link show eth0 | jq -r '.[0] | "\(.address) \(.mtu)"')" "02:42:0a:5b:00:99 1400" "tuning on the rows' pod"
	for p in @tn @fw @pm; do
		CID=hdn-m1 NETNS=/run/netns/$MPOD cni_ok "${TYPE[$p]}" DEL "$(base_conf $p "" "")"
	done
fi
echo "hostile: $rows rows, $failed failed"
[ "$rows" -gt 0 ] || fail "no rows ran"
[ "$failed" -eq 0 ] || fail "$failed of $rows hostile inputs were not refused cleanly"
