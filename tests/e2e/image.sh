#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The DaemonSet's installer image (make image) built by podman from local
# files, then run as the DaemonSet runs it against a node's directories: a
# node that has the reference plugins in /opt/cni/bin (a scratch copy) gets
# ours over them with their libraries and its conflist for POD_CIDR; a pod
# is wired through that conflist (bridge, portmap) by
# hack/cnictl from the installed files; a second run under a newer cnip on
# the node leaves it alone; the long-running container stops promptly.
# Podman's configuration and storage are private to the test, as in podman.sh.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" podman || skip "podman could not be installed"
	command -v podman >/dev/null || skip "no podman"
fi
STATIC=${CNIP_STATIC:-$E2E_TOP/build/static/bin}
[ -x "$STATIC/bridge" ] || skip "no self-contained build in $STATIC (make static)"
e2e_node "$@"
: "${W:?}" "${REF_BIN:?}"

mkdir -p "$W/etc" "$W/cni-none"
printf '%s\n' '[containers]' \
	"default_ulimits = [\"nofile=$(ulimit -Hn):$(ulimit -Hn)\", \"nproc=4096:4096\"]" \
	'[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' \
	"events_logfile_path = \"$W/events.log\"" "tmp_dir = \"$W/libpod\"" \
	'[network]' 'network_backend = "cni"' "cni_plugin_dirs = [\"$W/cni-none\"]" \
	"network_config_dir = \"$W/cni-none\"" >"$W/etc/containers.conf"
printf '%s\n' '[storage]' 'driver = "vfs"' "graphroot = \"$W/storage\"" "runroot = \"$W/run\"" \
	>"$W/etc/storage.conf"
echo 'unqualified-search-registries = []' >"$W/etc/registries.conf"
export CONTAINERS_CONF=$W/etc/containers.conf \
	CONTAINERS_STORAGE_CONF=$W/etc/storage.conf \
	CONTAINERS_REGISTRIES_CONF=$W/etc/registries.conf
pm() { timeout 120 podman "$@"; }
on_exit 'timeout 60 podman rm -af -t 0'

version=$(dpkg-parsechangelog -l "$E2E_TOP/dist/debian/changelog" -S Version)
image=localhost/cnip-install:$version
"$E2E_TOP/dist/image.sh" "$STATIC" "$W/image" >/dev/null
pm image exists "$image" || fail "$image not built"
pm image inspect "$image" | jq -e --arg v "$version" '.[0].Config.Labels["org.opencontainers.image.version"] == $v
	and .[0].Config.Entrypoint == ["/bin/sh", "/install.sh"]' >/dev/null || fail "image labels or entrypoint"
[ -s "$W/image/cnip-install_$version.tar" ] || fail "no OCI archive"
size=$(pm image inspect "$image" | jq '.[0].Size')
pass "built $image from local files ($((size / 1024)) KiB)"

node=$W/node
bin=$node/opt/cni/bin conf=$node/etc/cni/net.d
mkdir -p "$bin" "$conf"
cp -a "$REF_BIN"/. "$bin/"
install_run() {
	pm run --rm --network none -v "$bin:/host/opt/cni/bin" -v "$conf:/host/etc/cni/net.d" "$@" "$image"
}
out=$(install_run -e POD_CIDR=10.128.0.0/24)
note "$out"
ours=$(find "$W/image/rootfs/cnip/bin" -maxdepth 1 -type f -printf '%f\n' | sort)
[ -n "$ours" ] || fail "no plugins in the image"
for p in $ours; do
	cmp -s "$bin/$p" "$W/image/rootfs/cnip/bin/$p" || fail "$p on the node is not the image's"
done
refonly=$(comm -23 <(ls "$REF_BIN" | sort) <(echo "$ours"))
for p in $refonly; do
	cmp -s "$bin/$p" "$REF_BIN/$p" || fail "the reference's $p was touched"
done
[ "$(cat "$bin/cnip-lib/VERSION")" = "$version" ] || fail "version stamp $(cat "$bin/cnip-lib/VERSION")"
jq -e '.plugins[0].ipam.ranges[0][0].subnet == "10.128.0.0/24"' "$conf/10-cnip.conflist" >/dev/null ||
	fail "conflist: $(cat "$conf/10-cnip.conflist")"
pass "installed over the reference in a scratch /opt/cni/bin, conflist for 10.128.0.0/24"

jq '.plugins[0].bridge = "e2ibr0"' "$conf/10-cnip.conflist" >"$W/net.conflist"
ip netns add e2ipod
CNI_PATH=$bin "$E2E_TOP/hack/cnictl" add "$W/net.conflist" e2ipod --id e2i1 >"$W/add.json" ||
	fail "ADD through the installed plugins: $(cat "$W/add.json")"
jq -e '.ips[0].address == "10.128.0.2/24"' "$W/add.json" >/dev/null || fail "ADD result: $(cat "$W/add.json")"
ip netns exec e2ipod ping -c1 -W2 10.128.0.1 >/dev/null || fail "the pod cannot reach its gateway"
CNI_PATH=$bin "$E2E_TOP/hack/cnictl" check "$W/net.conflist" e2ipod --id e2i1 || fail "CHECK"
CNI_PATH=$bin "$E2E_TOP/hack/cnictl" del "$W/net.conflist" e2ipod --id e2i1 || fail "DEL"
if ip -n e2ipod link show eth0 >/dev/null 2>&1; then fail "eth0 left after DEL"; fi
pass "a pod wired by the installed plugins (ADD, CHECK, DEL)"

echo 99.0.0 >"$bin/cnip-lib/VERSION"
before=$(find "$bin" -type f -printf '%p %i %s\n' | sort)
out=$(install_run)
grep -q newer <<<"$out" || fail "no word about the newer cnip: $out"
[ "$(find "$bin" -type f -printf '%p %i %s\n' | sort)" = "$before" ] || fail "the node changed under a newer cnip"
pass "a newer cnip on the node left alone"

pm run -d --name e2iwait --network none "$image" wait >/dev/null
start=$SECONDS
pm stop -t 20 e2iwait >/dev/null
[ $((SECONDS - start)) -lt 10 ] || fail "the waiting container took $((SECONDS - start)) s to stop"
[ "$(pm inspect e2iwait | jq '.[0].State.ExitCode')" = 0 ] || fail "the waiting container did not exit 0"
pass "the waiting container stops on SIGTERM with 0"
