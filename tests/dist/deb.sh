#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package (make deb): its control data and file list, lintian,
# then a real `dpkg -i` beside Debian's containernetworking-plugins into
# this node's private copy of the system (overlays on /usr, /etc and dpkg's
# state, thrown away with the test's mount namespace): postinst registers
# the alternatives, podman's lookup order finds our plugins first and the
# reference's portmap still, the installed plugins run ADD/CHECK/DEL on a
# pod, and remove/purge leave nothing of ours and the reference intact.
# shellcheck source=tests/lib.sh
source "$CNIP_TOP/tests/lib.sh"
: "${CNIP_BUILD:?}"
shopt -s nullglob
debs=("$CNIP_BUILD"/deb/cnip_*.deb)
[ ${#debs[@]} -eq 1 ] || fail "want one package in $CNIP_BUILD/deb, have: ${debs[*]:-none}"
deb=${debs[0]}
plugins=$(env -u MAKEFLAGS -u MFLAGS make -s -C "$CNIP_TOP" -f Makefile -f - print-plugins <<<'print-plugins: ; @echo $(PLUGINS)')
version=$(dpkg-parsechangelog -l "$CNIP_TOP/dist/debian/changelog" -S Version)

note "control data"
ctl=$(dpkg-deb -f "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
assert_eq "$(field Package)" cnip "Package"
assert_eq "$(field Version)" "$version" "Version (from dist/debian/changelog)"
assert_eq "$(field Architecture)" "$(dpkg --print-architecture)" "Architecture"
for lib in libc6 libmnl0 libnftnl11 libcjson1; do
	grep -Eq "^Depends:.*\b$lib \(>= [^)]+\)" <<<"$ctl" || fail "Depends lacks a versioned $lib: $ctl"
done
grep -q '^Conflicts:\|^Replaces:' <<<"$ctl" && fail "the package must install beside containernetworking-plugins, not replace it"
grep -q 'update-alternatives --install' <<<"$(dpkg-deb -I "$deb" postinst)" || fail "postinst registers no alternatives"
grep -q 'update-alternatives --remove' <<<"$(dpkg-deb -I "$deb" prerm)" || fail "prerm removes no alternatives"

note "file list"
files=$(dpkg-deb -c "$deb" | awk '{print $1, $2, $6}')
for p in $plugins; do
	grep -qx -- "-rwxr-xr-x root/root ./usr/lib/cnip/$p" <<<"$files" || fail "no 0755 root-owned /usr/lib/cnip/$p in: $files"
done
for f in copyright changelog.gz examples/10-cnip-bridge.conflist examples/20-cnip-k8s-bridge.conflist.in \
	examples/podman/cnip.conflist; do
	grep -qx -- "-rw-r--r-- root/root ./usr/share/doc/cnip/$f" <<<"$files" || fail "no /usr/share/doc/cnip/$f"
done
grep -q 'GPL-2.0+' <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/cnip/copyright) ||
	fail "copyright does not state GPL-2.0+"
# Not one path shared with the reference's package.
clash=$(comm -12 <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}' | sort) \
	<(dpkg -L containernetworking-plugins 2>/dev/null | sort))
[ -z "$clash" ] || fail "files shared with containernetworking-plugins: $clash"
grep -q ' \./opt/' <<<"$files" && fail "the package ships files under /opt"

if command -v lintian >/dev/null; then
	note "lintian"
	out=$(lintian -I "$deb" 2>&1 | grep -v 'running with root privileges' || true)
	[ -z "$out" ] || fail "lintian: $out"
else
	note "lintian not installed (hack/deps.sh installs it): not run"
fi

note "dpkg -i into a private copy of the system"
grep -q 'install ok installed' <<<"$(dpkg-query -W -f='${Status}' containernetworking-plugins 2>/dev/null)" ||
	skip "containernetworking-plugins not installed (hack/deps.sh)"
for d in /usr /etc /var/lib/dpkg /var/log; do
	mkdir -p "$TMP/ov$d/up" "$TMP/ov$d/work"
	mount -t overlay cnip-ov -o "lowerdir=$d,upperdir=$TMP/ov$d/up,workdir=$TMP/ov$d/work" "$d"
done
ref_sums=$(md5sum /usr/lib/cni/*)
dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$TMP/dpkg.log")"
assert_eq "$(dpkg-query -W -f='${Status} ${Version}' cnip)" "install ok installed $version" "installed package"
for p in $plugins; do
	assert_eq "$(readlink -f "/usr/libexec/cni/$p")" "/usr/lib/cnip/$p" "/usr/libexec/cni/$p"
	grep -qx "Value: /usr/lib/cnip/$p" <<<"$(update-alternatives --query "cni-$p")" || fail "alternative cni-$p"
done
assert_eq "$(md5sum /usr/lib/cni/*)" "$ref_sums" "the reference's plugins after installing ours"

# podman's default cni_plugin_dirs, searched per plugin in this order.
podman_dirs=(/usr/local/libexec/cni /usr/libexec/cni /usr/local/lib/cni /usr/lib/cni /opt/cni/bin)
find_plugin() {
	local d
	for d in "${podman_dirs[@]}"; do
		[ -x "$d/$1" ] && { readlink -f "$d/$1"; return; }
	done
}
for p in $plugins; do assert_eq "$(find_plugin "$p")" "/usr/lib/cnip/$p" "podman's $p"; done
# A plugin only the reference has still comes from it.
refonly=$(comm -23 <(ls /usr/lib/cni | sort) <(tr ' ' '\n' <<<"$plugins" | sort) | awk 'NR == 1')
assert_eq "$(find_plugin "$refonly")" "/usr/lib/cni/$refonly" "podman's $refonly (the reference's)"

note "the installed plugins on a pod, looked up as podman does"
CNI_PATH_DIRS=$(IFS=:; echo "${podman_dirs[*]}")
NETNS=$(mkpod pkgdeb) CID=pkgdeb1
conf=$(jq -c '.name = "pkgdeb" | .plugins[0].bridge = "pkgdebbr0" | .plugins[0].ipam.ranges = [[{"subnet": "10.123.0.0/24"}]]' \
	/usr/share/doc/cnip/examples/10-cnip-bridge.conflist)
bridge_conf=$(jq -c '.plugins[0] + {cniVersion, name}' <<<"$conf")
cni_ok /usr/libexec/cni/bridge ADD "$bridge_conf"
res=$OUT
jq_ok "$res" '.ips[0].address == "10.123.0.2/24"' "ADD result"
ip -n pkgdeb -j addr show eth0 | jq -e '.[0].addr_info[] | select(.local == "10.123.0.2")' >/dev/null ||
	fail "pod has no 10.123.0.2"
ip netns exec pkgdeb ping -c1 -W2 10.123.0.1 >/dev/null || fail "pod cannot reach its gateway"
cni_ok /usr/libexec/cni/bridge CHECK "$(jq -c --argjson r "$res" '. + {prevResult: $r}' <<<"$bridge_conf")"
cni_ok /usr/libexec/cni/loopback ADD '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}'
cni_ok /usr/libexec/cni/bridge DEL "$(jq -c --argjson r "$res" '. + {prevResult: $r}' <<<"$bridge_conf")"
ip -n pkgdeb -j link show eth0 >/dev/null 2>&1 && fail "eth0 left in the pod after DEL"
left=$(find /var/lib/cni/networks/pkgdeb -maxdepth 1 -type f -name '10.*')
[ -z "$left" ] || fail "lease left after DEL: $left"

note "remove, purge"
dpkg -r cnip >"$TMP/dpkg.log" 2>&1 || fail "dpkg -r: $(cat "$TMP/dpkg.log")"
for p in $plugins; do
	[ ! -e "/usr/libexec/cni/$p" ] && [ ! -L "/usr/libexec/cni/$p" ] || fail "/usr/libexec/cni/$p left after remove"
	update-alternatives --query "cni-$p" >/dev/null 2>&1 && fail "alternative cni-$p left after remove"
	assert_eq "$(find_plugin "$p")" "/usr/lib/cni/$p" "podman's $p after remove (the reference again)"
done
dpkg -P cnip >"$TMP/dpkg.log" 2>&1 || fail "dpkg -P: $(cat "$TMP/dpkg.log")"
[ ! -e /usr/lib/cnip ] && [ ! -e /usr/share/doc/cnip ] || fail "files left after purge"
assert_eq "$(md5sum /usr/lib/cni/*)" "$ref_sums" "the reference's plugins after removing ours"
dpkg --verify containernetworking-plugins || fail "containernetworking-plugins altered"
echo "deb: ok"
