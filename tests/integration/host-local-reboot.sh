#!/usr/bin/env bash
# A node reboot (issue 10): every pod netns is gone but the leases stay on disk.
# host-local records the kernel's boot id in <dataDir>/<net>/.cnip/boot and the
# first call of a later boot releases the earlier boot's leases. A reboot is
# simulated as it looks on disk: the pods' netns and the bridge vanish, and the
# marker names the boot the leases were made in. Lease files are 0600, and
# the reference host-local still works on the same directory.
. "$(dirname "$0")/../lib.sh"

DATA=/var/lib/cni/hdn-reboot
DIR=$DATA/hdnboot
# 10.96.0.0/29: .2 to .6 are the range (.1 is the gateway), five pods fill it.
C='{"cniVersion":"1.1.0","name":"hdnboot","type":"bridge","bridge":"hdnboot0","isGateway":true,
 "ipam":{"type":"host-local","subnet":"10.96.0.0/29","dataDir":"/var/lib/cni/hdn-reboot"}}'
leases() { find "$DIR" -maxdepth 1 -type f -name '10.96.*' | wc -l; }
BOOT=$(cat /proc/sys/kernel/random/boot_id)

note "five pods fill the range; leases are 0600 and the boot is recorded"
for i in 1 2 3 4 5; do
	NETNS=$(mkpod hdn-boot$i) CID=hdn-boot$i cni_ok bridge ADD "$C"
done
assert_eq "$(leases)" 5 "leases before the reboot"
assert_eq "$(stat -c %a "$DIR"/10.96.0.2)" 600 "lease file mode"
assert_eq "$(stat -c %a "$DIR"/last_reserved_ip.0)" 600 "last_reserved_ip mode"
assert_eq "$(cat "$DIR/.cnip/boot")" "$BOOT" "recorded boot id"
NETNS=$(mkpod hdn-boot6) CID=hdn-boot6 cni_err bridge ADD "$C" 103

note "the node reboots: pods and bridge are gone, the leases stay"
for i in 1 2 3 4 5 6; do ip netns del hdn-boot$i; done
ip link del hdnboot0
echo 00000000-0000-4000-8000-0000000000ff >"$DIR/.cnip/boot"
assert_eq "$(leases)" 5 "leases left by the earlier boot"

note "the first ADD of the new boot releases them and gets an address"
NETNS=$(mkpod hdn-new1) CID=hdn-new1 cni_ok bridge ADD "$C"
assert_eq "$(leases)" 1 "leases after the first ADD of the new boot"
assert_eq "$(cat "$DIR/.cnip/boot")" "$BOOT" "boot id after the reboot"
echo "$ERR" | grep -q "released 5 lease(s) of an earlier boot" || fail "no word of the released leases: $ERR"
for i in 2 3 4 5; do NETNS=$(mkpod hdn-new$i) CID=hdn-new$i cni_ok bridge ADD "$C"; done
assert_eq "$(leases)" 5 "a full range again, of this boot"

note "the runtime's late DELs of the old pods succeed and release nothing of this boot"
for i in 1 2 3 4 5; do CID=hdn-boot$i NETNS= cni_ok bridge DEL "$C"; done
assert_eq "$(leases)" 5 "leases of this boot after the old pods' DELs"

note "the reference host-local works on the same directory (it ignores .cnip/)"
cni_ok host-local DEL "$C" CNI_CONTAINERID=hdn-new5
REFC='{"cniVersion":"1.0.0","name":"hdnboot","type":"host-local",
 "ipam":{"type":"host-local","subnet":"10.96.0.0/29","dataDir":"/var/lib/cni/hdn-reboot"}}'
cni_ok "$REF_BIN/host-local" ADD "$REFC" CNI_CONTAINERID=hdn-ref1 CNI_NETNS=/run/netns/hdn-new1
jq_ok "$OUT" '.ips[0].address | startswith("10.96.0.")'
cni_ok "$REF_BIN/host-local" DEL "$REFC" CNI_CONTAINERID=hdn-ref1
assert_eq "$(leases)" 4 "leases after the reference's ADD and DEL"
assert_eq "$(cat "$DIR/.cnip/boot")" "$BOOT" "boot id after the reference ran"
for i in 1 2 3 4; do CID=hdn-new$i NETNS=/run/netns/hdn-new$i cni_ok bridge DEL "$C"; done
assert_eq "$(leases)" 0 "leases at the end"
note "ok"
