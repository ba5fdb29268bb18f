#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The self-contained plugins (make static) as the DaemonSet installs them:
# the image's root (dist/image.sh, prepared without podman) run with chroot
# and the node's directories bind-mounted where the DaemonSet mounts them,
# so install.sh runs under busybox exactly as in the container. Checks the
# install (atomic renames, version stamp, never over a newer cnip, the
# node's conflist from the template and POD_CIDR, bad input refused), then
# hides the system's libmnl, libnftnl and libcjson in this mount namespace
# and wires pods with the installed copies.
# shellcheck source=tests/lib.sh
source "$CNIP_TOP/tests/lib.sh"
: "${CNIP_BUILD:?}"
sbin=$CNIP_BUILD/static/bin
[ -x "$sbin/bridge" ] && [ -d "$sbin/cnip-lib" ] || fail "no self-contained build in $sbin (make static)"
grep -q 'statically linked' <<<"$(file -L /bin/busybox 2>/dev/null)" || skip "busybox-static not installed"
plugins=$(cd "$sbin" && find . -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort | tr '\n' ' ')
version=$(dpkg-parsechangelog -l "$CNIP_TOP/dist/debian/changelog" -S Version)

note "linking: libraries packaged as archives are linked in, the rest shipped in cnip-lib/"
for p in $plugins; do
	grep -Eq 'RUNPATH +\$ORIGIN/cnip-lib$' <<<"$(objdump -p "$sbin/$p")" || fail "$p: no RUNPATH \$ORIGIN/cnip-lib"
	for so in $(objdump -p "$sbin/$p" | awk '$1 == "NEEDED" {print $2}'); do
		case $so in
		libc.so.6) ;;
		*) [ -f "$sbin/cnip-lib/$so" ] || fail "$p needs $so, not in cnip-lib/" ;;
		esac
	done
done
grep -q 'NEEDED.*libnftnl' <<<"$(objdump -p "$sbin/bridge")" && fail "bridge links libnftnl dynamically (Debian ships libnftnl.a)"
grep -q ' U nftnl_' <<<"$(nm -D "$sbin/bridge")" && fail "bridge imports nftnl_ symbols"

CNIP_IMAGE_ROOTFS_ONLY=1 "$CNIP_TOP/dist/image.sh" "$sbin" "$TMP/image" >/dev/null
root=$TMP/image/rootfs
node=$TMP/node
mkdir -p "$node/opt/cni/bin" "$node/etc/cni/net.d" "$root/host/opt/cni/bin" "$root/host/etc/cni/net.d"
mount --bind "$node/opt/cni/bin" "$root/host/opt/cni/bin"
mount --bind "$node/etc/cni/net.d" "$root/host/etc/cni/net.d"
bin=$node/opt/cni/bin
# installer [VAR=VALUE...]: the image's entrypoint, in its root; sets OUT, RC.
installer() {
	set +e
	OUT=$(env -i PATH=/bin "$@" /usr/sbin/chroot "$root" /bin/sh /install.sh 2>&1)
	RC=$?
	set -e
}
inodes() { find "$bin" -type f -printf '%p %i\n' | sort; }

note "first install, with the node's conflist"
installer POD_CIDR=10.124.0.0/24
[ "$RC" -eq 0 ] || fail "install.sh exited $RC: $OUT"
for p in $plugins; do
	assert_eq "$(stat -c %a "$bin/$p")" 755 "mode of $p"
	cmp -s "$root/cnip/bin/$p" "$bin/$p" || fail "$p differs from the image's"
done
for so in "$sbin"/cnip-lib/*.so*; do
	cmp -s "$so" "$bin/cnip-lib/$(basename "$so")" || fail "$(basename "$so") differs"
done
assert_eq "$(cat "$bin/cnip-lib/VERSION")" "$version" "version stamp"
[ -z "$(find "$node" -name '*.cnip-tmp*')" ] || fail "temporary files left: $(find "$node" -name '*.cnip-tmp*')"
cl=$node/etc/cni/net.d/10-cnip.conflist
jq -e '.plugins[0].ipam.ranges[0][0].subnet == "10.124.0.0/24"' "$cl" >/dev/null || fail "conflist: $(cat "$cl")"
diff <(jq -S 'del(.plugins[0].ipam.ranges)' "$cl") \
	<(sed 's#@POD_CIDR@#x#' "$CNIP_TOP/conf/20-cnip-k8s-bridge.conflist.in" | jq -S 'del(.plugins[0].ipam.ranges)') ||
	fail "conflist differs from the template beyond the pod CIDR"

note "reinstall: every file replaced by rename, a reader of the old file unharmed"
cp "$bin/bridge" "$TMP/old-bridge"
exec 9<"$bin/bridge"
old=$(inodes)
touch "$bin/.ptp.cnip-tmp"
installer
[ "$RC" -eq 0 ] || fail "reinstall exited $RC: $OUT"
new=$(inodes)
same=$(comm -12 <(sort <<<"$old") <(sort <<<"$new") | grep -v '/VERSION ' || true)
[ -z "$same" ] || fail "files rewritten in place instead of renamed: $same"
cmp -s /dev/fd/9 "$TMP/old-bridge" || fail "the open old bridge changed under its reader"
exec 9<&-
[ ! -e "$bin/.ptp.cnip-tmp" ] || fail "a killed installer's temporary file was not removed"

note "a newer cnip on the node is left alone, unless forced"
echo 99.0.0 >"$bin/cnip-lib/VERSION"
old=$(inodes)
installer
[ "$RC" -eq 0 ] || fail "install over a newer cnip exited $RC: $OUT"
grep -q 'newer' <<<"$OUT" || fail "no word about the newer version: $OUT"
assert_eq "$(inodes)" "$old" "files after installing under a newer cnip"
installer CNIP_FORCE=1
[ "$RC" -eq 0 ] || fail "forced install exited $RC: $OUT"
assert_eq "$(cat "$bin/cnip-lib/VERSION")" "$version" "version after a forced install"
echo 0.0.1 >"$bin/cnip-lib/VERSION"
installer
grep -q "was 0.0.1" <<<"$OUT" || fail "an older cnip is not upgraded: $OUT"

note "bad input"
before=$(md5sum "$cl") old=$(inodes)
for bad in '10.0.0.0/24#;rm' 10.0.0.0 10.0.0.0/ /24 10.0.0.0/24/8; do
	installer POD_CIDR="$bad"
	[ "$RC" -eq 1 ] || fail "POD_CIDR '$bad' was accepted: $OUT"
done
assert_eq "$(md5sum "$cl")" "$before" "conflist after bad POD_CIDRs"
assert_eq "$(inodes)" "$old" "plugins after bad POD_CIDRs (checked before anything changes)"
set +e
OUT=$(env -i PATH=/bin CNIP_BIN_DIR=/nonexistent /usr/sbin/chroot "$root" /bin/sh /install.sh 2>&1)
RC=$?
set -e
[ "$RC" -eq 1 ] && grep -q 'not a directory' <<<"$OUT" || fail "a missing plugin dir: rc $RC: $OUT"

note "wait mode ends on SIGTERM"
chroot "$root" /bin/sh /install.sh wait 2>"$TMP/wait.err" &
pid=$!
sleep 1.5
kill -TERM "$pid"
for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "install.sh wait ignored SIGTERM"; }
wait "$pid" || fail "install.sh wait exited $? on SIGTERM"
# This root has no /dev (a container's has): it must sleep, not spin.
[ "$(wc -l <"$TMP/wait.err")" -le 3 ] || fail "install.sh wait spins: $(head -3 "$TMP/wait.err")"

note "the system's libmnl, libnftnl, libcjson hidden from the plugins"
# Each plugin runs in its own mount namespace where the system's copies are
# empty files; the test's tools (ip, nft: linked to the same libraries) keep
# working outside it.
: >"$TMP/empty"
reals=()
for so in libmnl.so.0 libnftnl.so.11 libcjson.so.1; do
	real=$(readlink -f "$(ldconfig -p | awk -v s="$so" '$1 == s && !p {p = $NF} END {print p}')")
	[ -f "$real" ] || fail "no system $so to hide"
	reals+=("$real")
done
mkdir -p "$TMP/hidden"
for p in $plugins; do
	cat >"$TMP/hidden/$p" <<-HIDE
		#!/bin/bash
		exec unshare --mount --propagation private -- bash -c 'for f in ${reals[*]}; do mount --bind $TMP/empty \$f; done; exec "\$0"' $bin/$p
	HIDE
	chmod +x "$TMP/hidden/$p"
done
sed "s#$bin/bridge#$CNIP_BUILD/bin/bridge#" "$TMP/hidden/bridge" >"$TMP/hidden-release-bridge"
chmod +x "$TMP/hidden-release-bridge"
set +e
msg=$("$TMP/hidden-release-bridge" 2>&1)
rc=$?
set -e
[ "$rc" -eq 127 ] || fail "the dynamically linked build still runs (rc $rc: $msg): the libraries are not hidden"
note "the release build there: $msg"

CNI_PATH_DIRS=$TMP/hidden
h=$TMP/hidden
res=()
conf=$(jq -c '.plugins[0] + {cniVersion, name: "pkgst"} | .bridge = "pkgstbr0" | .ipMasq = true' "$cl")
for i in 1 2; do
	NETNS=$(mkpod "pkgst$i") CID=pkgst$i
	cni_ok "$h/bridge" ADD "$conf"
	res[i]=$OUT
	cni_ok "$h/loopback" ADD '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}'
done
ip netns exec pkgst1 ping -c1 -W2 10.124.0.3 >/dev/null || fail "pod 1 cannot reach pod 2"
# One record rule per pod (chain masq-*) and one element each in pods4.
nft -j list table inet cnip_masq | jq -e '[.nftables[] | select(.rule and (.rule.chain | startswith("masq-"))) | .rule.expr[] | select(has("masquerade"))] | length == 2' >/dev/null ||
	fail "no masquerade rule per pod (libnftnl linked in): $(nft list table inet cnip_masq)"
nft -j list map inet cnip_masq pods4 | jq -e '[.nftables[] | select(.map) | .map.elem[]] | length == 2' >/dev/null ||
	fail "no pods4 element per pod: $(nft list table inet cnip_masq)"
for i in 1 2; do
	NETNS=/run/netns/pkgst$i CID=pkgst$i
	r=${res[i]}
	cni_ok "$h/bridge" CHECK "$(jq -c --argjson r "$r" '. + {prevResult: $r}' <<<"$conf")"
	cni_ok "$h/bridge" DEL "$(jq -c --argjson r "$r" '. + {prevResult: $r}' <<<"$conf")"
done
nft -j list table inet cnip_masq | jq -e '[.nftables[] | select(.rule and (.rule.chain | startswith("masq-")))] + [.nftables[] | select(.map) | .map.elem // [] | .[]] | length == 0' >/dev/null ||
	fail "masquerade left after DEL: $(nft list table inet cnip_masq)"
NETNS=$(mkpod pkgst3) CID=pkgst3
ptpconf='{"cniVersion":"1.0.0","name":"pkgstp","type":"ptp","ipam":{"type":"host-local","subnet":"10.125.0.0/24"}}'
cni_ok "$h/ptp" ADD "$ptpconf"
ip netns exec pkgst3 ping -c1 -W2 10.125.0.1 >/dev/null || fail "ptp pod cannot reach the node"
cni_ok "$h/ptp" DEL "$ptpconf"
echo "static: ok"
