#!/usr/bin/env bash
# tuning chained after our bridge: sysctls and link settings land in the pod
# (read back with ip -j and /proc/sys), DEL restores the originals, CHECK
# sees differences, a failed ADD changes nothing, GC drops state of gone
# attachments, bad keys get the right codes; side by side with the reference.
. "$(dirname "$0")/../lib.sh"

IFNAME=eth0
TD=/run/cni/tnt-state
BR='{"cniVersion":"1.0.0","name":"tntnet","type":"bridge","bridge":"tnt0","isGateway":true,
	"ipam":{"type":"host-local","subnet":"10.93.0.0/24","dataDir":"/var/lib/cni/tnt"}}'
# tconf EXTRA_JSON PREV [VERSION]: a tuning config chained after PREV.
tconf() {
	jq -nc --argjson x "$1" --argjson p "$2" --arg v "${3:-1.0.0}" --arg d "$TD" \
		'{cniVersion:$v,name:"tntnet",type:"tuning",dataDir:$d,prevResult:$p} * $x'
}
link() { ip -n "$1" -j -d link show "${2:-eth0}" | jq -c '.[0]'; }
knob() { ip netns exec "$1" cat "/proc/sys/$2"; }
# Everything DEL must put back, in one line.
snapshot() {
	local l
	l=$(link "$1")
	printf '%s mtu=%s txq=%s promisc=%s allmulti=%s arp_filter=%s rp_filter=%s somaxconn=%s rmem=%s\n' \
		"$(echo "$l" | jq -r .address)" "$(echo "$l" | jq -r .mtu)" "$(echo "$l" | jq -r .txqlen)" \
		"$(echo "$l" | jq -r '.flags | index("PROMISC") != null')" \
		"$(echo "$l" | jq -r '.flags | index("ALLMULTI") != null')" \
		"$(knob "$1" net/ipv4/conf/eth0/arp_filter)" "$(knob "$1" net/ipv4/conf/eth0/rp_filter)" \
		"$(knob "$1" net/core/somaxconn)" "$(knob "$1" net/ipv4/tcp_rmem | tr '\t' ' ')"
}

FULL='{"sysctl":{"net.ipv4.conf.IFNAME.arp_filter":"1","net/ipv4/conf/IFNAME/rp_filter":"2",
	"net.core.somaxconn":"1111","net.ipv4.tcp_rmem":"4096 65536 1048576"},
	"mac":"c2:11:22:33:44:55","promisc":true,"mtu":1400,"txQLen":321,"allmulti":true}'

note "ADD chained after bridge: every key lands in the pod; the result is prevResult with the new MAC"
NETNS=$(mkpod tnt-p1); CID=tnt-c1
cni_ok bridge ADD "$BR"
PREV=$OUT
before=$(snapshot tnt-p1)
cni_ok tuning ADD "$(tconf "$FULL" "$PREV")"
jq_ok "$OUT" "(.interfaces[2].mac == \"c2:11:22:33:44:55\") and ((. | .interfaces[2].mac = null) == ($PREV | .interfaces[2].mac = null))" \
	"result is not prevResult with the new MAC"
after=$(snapshot tnt-p1)
assert_eq "$after" "c2:11:22:33:44:55 mtu=1400 txq=321 promisc=true allmulti=true arp_filter=1 rp_filter=2 somaxconn=1111 rmem=4096 65536 1048576" \
	"pod state after ADD"
[ "$(stat -c %a "$TD/tnt-c1_eth0.json")" = 600 ] || fail "state file not 0600"
jq_ok "$(cat "$TD/tnt-c1_eth0.json")" '(.mac | test("^[0-9a-f:]{17}$")) and .mtu == 1500 and .promisc == false and .allmulti == false and (.txQLen | type == "number") and .network == "tntnet" and .containerID == "tnt-c1" and .ifname == "eth0" and (.sysctl | keys | length == 4)' \
	"state file does not hold the originals in the reference's keys"

note "CHECK passes (multi-valued sysctl compared field by field), then sees each change"
cni_ok tuning CHECK "$(tconf "$FULL" "$PREV")"
ip -n tnt-p1 link set eth0 mtu 1450
cni_err tuning CHECK "$(tconf "$FULL" "$PREV")" 105
jq_ok "$OUT" '.msg | test("MTU 1450")'
ip -n tnt-p1 link set eth0 mtu 1400
ip netns exec tnt-p1 sh -c 'echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_filter'
cni_err tuning CHECK "$(tconf "$FULL" "$PREV")" 105
jq_ok "$OUT" '.msg | test("arp_filter")'
ip netns exec tnt-p1 sh -c 'echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_filter'
ip -n tnt-p1 link set eth0 promisc off
cni_err tuning CHECK "$(tconf "$FULL" "$PREV")" 105
ip -n tnt-p1 link set eth0 promisc on
cni_err tuning CHECK '{"cniVersion":"1.0.0","name":"tntnet","type":"tuning","mtu":1400}' 7
jq_ok "$OUT" '.msg | test("prevResult")'
cni_ok tuning CHECK "$(tconf "$FULL" "$PREV")"

note "a repeated ADD keeps the first originals; DEL restores all of them and removes the state"
cni_ok tuning ADD "$(tconf '{"mtu":1300}' "$PREV")"
assert_eq "$(link tnt-p1 | jq .mtu)" 1300 "mtu after second ADD"
cni_ok tuning DEL "$(tconf '{"mtu":1300}' "$PREV")"
assert_eq "$(snapshot tnt-p1)" "$before" "pod state after DEL"
[ ! -e "$TD/tnt-c1_eth0.json" ] || fail "state file left after DEL"
cni_ok tuning DEL "$(tconf "$FULL" "$PREV")"
cni_ok tuning DEL "$(tconf "$FULL" "$PREV")" CNI_NETNS=

note "precedence of the MAC: config < CNI_ARGS MAC < runtimeConfig.mac < args.cni.mac"
M='{"mac":"02:00:00:00:00:01"}'
cni_ok tuning ADD "$(tconf "$M" "$PREV")"
assert_eq "$(link tnt-p1 | jq -r .address)" 02:00:00:00:00:01 "config mac"
cni_ok tuning ADD "$(tconf "$M" "$PREV")" CNI_ARGS=MAC=02:00:00:00:00:02
assert_eq "$(link tnt-p1 | jq -r .address)" 02:00:00:00:00:02 "CNI_ARGS mac"
cni_ok tuning ADD "$(tconf '{"mac":"02:00:00:00:00:01","runtimeConfig":{"mac":"02:00:00:00:00:03"}}' "$PREV")" CNI_ARGS=MAC=02:00:00:00:00:02
assert_eq "$(link tnt-p1 | jq -r .address)" 02:00:00:00:00:03 "runtimeConfig mac"
cni_ok tuning ADD "$(tconf '{"runtimeConfig":{"mac":"02:00:00:00:00:03"},"args":{"cni":{"mac":"02:00:00:00:00:04","mtu":1234,"sysctl":{"net.core.somaxconn":"2222"}}}}' "$PREV")"
assert_eq "$(link tnt-p1 | jq -r .address) $(link tnt-p1 | jq .mtu) $(knob tnt-p1 net/core/somaxconn)" "02:00:00:00:00:04 1234 2222" "args.cni wins"
jq_ok "$OUT" '.interfaces[2].mac == "02:00:00:00:00:04"'
cni_ok tuning DEL "$(tconf '{}' "$PREV")"
assert_eq "$(snapshot tnt-p1)" "$before" "pod state after DEL of the precedence ADDs"

note "a failed ADD changes nothing: MTU refused by the kernel after the MAC and sysctls were set"
cni_err tuning ADD "$(tconf '{"mac":"02:00:00:00:00:09","sysctl":{"net.core.somaxconn":"3333"},"mtu":70000}' "$PREV")" 100
jq_ok "$OUT" '.msg | test("mtu 70000")'
assert_eq "$(snapshot tnt-p1)" "$before" "pod state after a failed ADD"
[ ! -e "$TD/tnt-c1_eth0.json" ] || fail "state file left by a failed ADD"

note "bad keys: code 7 (or 6 for a wrong type), naming the key, nothing changed"
for bad in '{"sysctl":{"kernel.hostname":"x"}}' '{"sysctl":{"net/../kernel/hostname":"x"}}' \
	'{"sysctl":{"net.ipv4..ip_forward":"1"}}' '{"sysctl":{"net/ipv4/conf/IFNAME/../../../kernel/x":"1"}}' \
	'{"sysctl":{"net.ipv4.no_such_knob":"1"}}' '{"mac":"zz:00:00:00:00:01"}' '{"mtu":-1}' \
	'{"dataDir":"relative/dir","mtu":1400}'; do
	cni_err tuning ADD "$(tconf "$bad" "$PREV")" 7
done
cni_err tuning ADD "$(tconf '{"sysctl":{"net.core.somaxconn":5}}' "$PREV")" 6
jq_ok "$OUT" '.msg | test("somaxconn")'
cni_err tuning ADD "$(tconf '{"promisc":"yes"}' "$PREV")" 6
dup=$(tconf '{}' "$PREV" | sed 's/^{/{"sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"},/')
cni_err tuning ADD "$dup" 7
jq_ok "$OUT" '.msg | test("duplicated sysctl")'
cni_err tuning ADD '{"cniVersion":"1.0.0","name":"tntnet","type":"tuning","mtu":1400}' 7
jq_ok "$OUT" '.msg | test("Required prevResult missing")'
cni_err tuning ADD "$(tconf '{"mtu":1400}' "$PREV")" 4 CNI_ARGS=FOO=1
assert_eq "$(snapshot tnt-p1)" "$before" "pod state after refused ADDs"
[ -z "$(ls -A "$TD" 2>/dev/null)" ] || fail "refused ADDs left files in $TD: $(ls -A "$TD")"

note "the allowlist (/etc/cni/tuning/allowlist.conf) admits only matching keys"
mkdir -p /etc/cni/tuning && mount -t tmpfs tnt-etc /etc/cni/tuning
printf '%s\n' '^net\.core\.somaxconn$' '  ' '^net\.ipv4\.conf\.IFNAME\.[a-z_]*$' >/etc/cni/tuning/allowlist.conf
cni_ok tuning ADD "$(tconf '{"sysctl":{"net.ipv4.conf.IFNAME.arp_filter":"1","net.core.somaxconn":"1200"}}' "$PREV")"
cni_err tuning ADD "$(tconf '{"sysctl":{"net.ipv4.tcp_rmem":"4096 4096 4096"}}' "$PREV")" 7
jq_ok "$OUT" '.msg | test("tcp_rmem is not allowed")'
umount /etc/cni/tuning
cni_ok tuning DEL "$(tconf '{}' "$PREV")"
assert_eq "$(snapshot tnt-p1)" "$before" "pod state after allowlisted ADD and DEL"

note "GC removes the state of attachments not listed, for this network only"
NETNS2=$(mkpod tnt-p2)
cni_ok bridge ADD "$BR" CNI_CONTAINERID=tnt-c2 CNI_NETNS="$NETNS2"
PREV2=$OUT
cni_ok tuning ADD "$(tconf '{"mtu":1300}' "$PREV")"
cni_ok tuning ADD "$(tconf '{"mtu":1300}' "$PREV2")" CNI_CONTAINERID=tnt-c2 CNI_NETNS="$NETNS2"
echo '{"mtu":1500}' >"$TD/tnt-ref_eth0.json"      # as the reference leaves it: no network
jq -c '.network = "othernet"' "$TD/tnt-c2_eth0.json" >"$TD/tnt-other_eth0.json"
gc='{"cniVersion":"1.1.0","name":"tntnet","type":"tuning","dataDir":"'$TD'"}'
cni_ok tuning GC "$gc" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(cd "$TD" && ls | sort | tr '\n' ' ')" "tnt-c1_eth0.json tnt-c2_eth0.json tnt-other_eth0.json tnt-ref_eth0.json " \
	"state files after GC without cni.dev/valid-attachments (nothing tells stale from live)"
gc='{"cniVersion":"1.1.0","name":"tntnet","type":"tuning","dataDir":"'$TD'","cni.dev/valid-attachments":[{"containerID":"tnt-c1","ifname":"eth0"}]}'
cni_ok tuning GC "$gc" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
assert_eq "$(cd "$TD" && ls | sort | tr '\n' ' ')" "tnt-c1_eth0.json tnt-other_eth0.json tnt-ref_eth0.json " "state files after GC"
rm -f "$TD/tnt-ref_eth0.json" "$TD/tnt-other_eth0.json"

note "STATUS: fine with a usable dataDir, 50 when it is not a directory"
st='{"cniVersion":"1.1.0","name":"tntnet","type":"tuning","dataDir":"'$TD'"}'
cni_ok tuning STATUS "$st" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=
touch /run/cni/tnt-file
cni_err tuning STATUS '{"cniVersion":"1.1.0","name":"tntnet","type":"tuning","dataDir":"/run/cni/tnt-file"}' 50 CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME=

note "DEL with the netns gone drops the state; then bridge DEL leaves nothing"
cni_ok tuning DEL "$(tconf '{}' "$PREV")"
ip netns del tnt-p2
cni_ok tuning DEL "$(tconf '{}' "$PREV2")" CNI_CONTAINERID=tnt-c2 CNI_NETNS="$NETNS2"
[ -z "$(ls -A "$TD")" ] || fail "state left: $(ls -A "$TD")"
cni_ok bridge DEL "$BR" CNI_CONTAINERID=tnt-c2 CNI_NETNS="$NETNS2"

note "side by side with the reference tuning (Debian v1.1.1): same result and pod state; each restores the other's state file"
R='{"sysctl":{"net.ipv4.conf.IFNAME.arp_filter":"1","net.core.somaxconn":"1111"},"mac":"c2:11:22:33:44:66","promisc":true,"mtu":1400}'
cni_ok "$REF_BIN/tuning" ADD "$(tconf "$R" "$PREV")"
ref_out=$OUT ref_state=$(snapshot tnt-p1)
cni_ok tuning DEL "$(tconf '{}' "$PREV")"       # ours restores from the reference's file
assert_eq "$(snapshot tnt-p1 | cut -d' ' -f2-4)" "$(echo "$before" | cut -d' ' -f2-4)" "our DEL of the reference's ADD (mtu, txq, promisc)"
assert_eq "$(snapshot tnt-p1 | cut -d' ' -f1)" "$(echo "$before" | cut -d' ' -f1)" "our DEL of the reference's ADD (mac)"
ip netns exec tnt-p1 sh -c 'echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_filter; echo 4096 > /proc/sys/net/core/somaxconn'
cni_ok tuning ADD "$(tconf "$R" "$PREV")"
assert_eq "$(echo "$OUT" | jq -Sc .)" "$(echo "$ref_out" | jq -Sc .)" "our ADD result vs the reference's"
assert_eq "$(snapshot tnt-p1)" "$ref_state" "pod state after our ADD vs the reference's"
cni_ok "$REF_BIN/tuning" DEL "$(tconf '{}' "$PREV")"   # the reference restores from ours
assert_eq "$(snapshot tnt-p1 | cut -d' ' -f1-4)" "$(echo "$before" | cut -d' ' -f1-4)" "the reference's DEL of our ADD"

note "the reference's bugs we do not copy (Debian v1.1.1; upstream v1.9 behaves the same in each)"
# 1. A repeated ADD overwrites the originals with the tuned values, so DEL "restores" those.
cni_ok "$REF_BIN/tuning" ADD "$(tconf '{"mtu":1400}' "$PREV")"
cni_ok "$REF_BIN/tuning" ADD "$(tconf '{"mtu":1300}' "$PREV")"
cni_ok "$REF_BIN/tuning" DEL "$(tconf '{}' "$PREV")"
assert_eq "$(link tnt-p1 | jq .mtu)" 1400 "the reference's DEL after two ADDs (it keeps the tuned MTU)"
ip -n tnt-p1 link set eth0 mtu 1500
# 2. Sysctls are never restored.
cni_ok "$REF_BIN/tuning" ADD "$(tconf '{"sysctl":{"net.core.somaxconn":"1313"}}' "$PREV")"
cni_ok "$REF_BIN/tuning" DEL "$(tconf '{}' "$PREV")"
assert_eq "$(knob tnt-p1 net/core/somaxconn)" 1313 "the reference's DEL restores no sysctl"
ip netns exec tnt-p1 sh -c 'echo 4096 > /proc/sys/net/core/somaxconn'
# 3. args.cni.sysctl without a top-level sysctl: the reference panics.
cni_run "$REF_BIN/tuning" ADD "$(tconf '{"args":{"cni":{"sysctl":{"net.core.somaxconn":"1414"}}}}' "$PREV")"
[[ $ERR == *"assignment to entry in nil map"* ]] || fail "the reference no longer panics on args.cni.sysctl alone: $ERR"
cni_ok tuning ADD "$(tconf '{"args":{"cni":{"sysctl":{"net.core.somaxconn":"1414"}}}}' "$PREV")"
assert_eq "$(knob tnt-p1 net/core/somaxconn)" 1414 "our args.cni.sysctl alone"
cni_ok tuning DEL "$(tconf '{}' "$PREV")"
assert_eq "$(knob tnt-p1 net/core/somaxconn)" 4096 "our DEL restores the sysctl"

note "promisc: false turns it off and CHECK expects it off; unset leaves it alone"
ip -n tnt-p1 link set eth0 promisc on
cni_ok tuning ADD "$(tconf '{"promisc":false}' "$PREV")"
assert_eq "$(link tnt-p1 | jq -r '.flags | index("PROMISC") != null')" false "promisc after promisc:false"
cni_ok tuning CHECK "$(tconf '{"promisc":false}' "$PREV")"
cni_ok tuning CHECK "$(tconf '{"mtu":1500}' "$PREV")"
cni_ok tuning DEL "$(tconf '{}' "$PREV")"
assert_eq "$(link tnt-p1 | jq -r '.flags | index("PROMISC") != null')" true "promisc restored on by DEL"
ip -n tnt-p1 link set eth0 promisc off

cni_ok bridge DEL "$BR"
[ -z "$(ls -A "$TD")" ] || fail "state left: $(ls -A "$TD")"
echo "tuning: all passed"
