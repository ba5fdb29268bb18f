#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# containerd 1.6's CRI plugin driven as kubelet drives it, over the CRI socket
# (runtime.v1.RuntimeService, through our own minimal client tests/e2e/cri.py),
# on containerd's default chain: conf/10-cnip-bridge.conflist (our bridge +
# host-local, isGateway, ipMasq, hairpin) + portmap (ours when built, else
# Debian's: the test says which ran).
# RunPodSandbox with a port mapping: the pod netns has our eth0 with the
# address the CRI reports, the CNI result is cached (libcni's cache and the
# sandbox's status), a server in the pod answers through the hostPort from the
# node, from outside and by hairpin; a second pod pings the first;
# StopPodSandbox then RemovePodSandbox (the CRI plugin sends DEL twice, the
# mappings in its own capitalised JSON) leave no veth, lease, cache entry,
# route, nft rule/element or iptables chain of either pod.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if [ "${E2E_IN_NODE:-}" != 1 ]; then
	"$E2E_TOP/hack/deps-e2e.sh" cri || skip "containerd or python3-grpcio could not be installed"
	{ command -v containerd && command -v ctr && command -v runc; } >/dev/null ||
		skip "no containerd/ctr/runc"
	"$PY" -c 'import grpc' 2>/dev/null || skip "python3-grpcio cannot be imported"
fi
e2e_need_ours bridge host-local loopback
e2e_node "$@"

NET=cri-net
BR=cri0
SUBNET=10.77.0.0/24
PFX=10.77.0.
HPORT=30777  # on every node address
HPORT2=30778 # on $NODE_UP_IP only (hostIP)
# The mappings of pod 1 as the CRI plugin passes them on (its own JSON form).
MAPS1='[{"HostPort":'$HPORT',"ContainerPort":80,"Protocol":"tcp","HostIP":""},
	{"HostPort":'$HPORT2',"ContainerPort":80,"Protocol":"tcp","HostIP":"'$NODE_UP_IP'"}]'
IMAGE=localhost/cri-pause:1
SOCK=$W/containerd.sock
cri() { timeout 90 "$PY" "$E2E_TOP/tests/e2e/cri.py" "$SOCK" "$@"; }
c() { timeout 60 ctr --address "$SOCK" --namespace k8s.io "$@"; }

if [ -n "${CNIP_BIN:-}" ] && [ -x "$CNIP_BIN/portmap" ]; then
	cp "$CNIP_BIN/portmap" /opt/cni/bin/portmap
	PORTMAP="ours ($CNIP_BIN/portmap)"
else
	PORTMAP="Debian's ($REF_BIN/portmap; ours is not built)"
fi
note "portmap: $PORTMAP"

# The shipped conflist, renamed into this test's namespace.
jq --arg net "$NET" --arg br "$BR" --arg sub "$SUBNET" '.name = $net
	| .plugins[0] |= (.bridge = $br | .ipam.ranges = [[{subnet: $sub}]])' \
	"$E2E_TOP/conf/10-cnip-bridge.conflist" >/etc/cni/net.d/10-cri.conflist
jq -e '[.plugins[].type] == ["bridge", "portmap"] and .plugins[1].capabilities.portMappings' \
	/etc/cni/net.d/10-cri.conflist >/dev/null || fail "conf/10-cnip-bridge.conflist is not bridge + portmap"

# Log every call the CRI plugin makes (verb, container, ifname, netns, args
# and the JSON on stdin), then run the real plugin.
mkdir -p "$W/calls"
for p in bridge portmap loopback; do
	mv "/opt/cni/bin/$p" "/opt/cni/bin/$p.real"
	cat >"/opt/cni/bin/$p" <<EOF
#!/bin/sh
in=$W/calls/\$\$.$p.json
cat >"\$in"
echo "$p \$CNI_COMMAND \$CNI_CONTAINERID \$CNI_IFNAME netns=[\$CNI_NETNS] args=[\$CNI_ARGS] in=\$in" >>$W/calls.log
exec /opt/cni/bin/$p.real "\$@" <"\$in"
EOF
	chmod +x "/opt/cni/bin/$p"
done
touch "$W/calls.log"
# calls PLUGIN VERB ID: the log lines of those calls.
calls() { grep "^$1 $2 $3 " "$W/calls.log" || true; }
# show_calls ID: every call made for sandbox ID, in order, with its stdin.
show_calls() {
	local line
	grep -F " $1 " "$W/calls.log" | while read -r line; do
		note "CRI -> ${line% in=*}"
		echo "    $(jq -cS . "${line##* in=}")"
	done
}

# The sandbox ("pause") image: busybox-static sleeping, as an OCI layout
# imported into the CRI's namespace (no registry here).
mkimage() {
	local d=$W/img cfg man lsum csum msum
	mkdir -p "$d/rootfs/bin" "$d/oci/blobs/sha256"
	cp /bin/busybox "$d/rootfs/bin/busybox"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$d/rootfs" -cf "$d/layer.tar" .
	lsum=$(sha256sum <"$d/layer.tar" | cut -d' ' -f1)
	mv "$d/layer.tar" "$d/oci/blobs/sha256/$lsum"
	cfg=$(jq -cn --arg l "sha256:$lsum" '{architecture: "amd64", os: "linux",
		config: {Entrypoint: ["/bin/busybox", "sleep", "2147483647"]},
		rootfs: {type: "layers", diff_ids: [$l]}}')
	csum=$(printf %s "$cfg" | sha256sum | cut -d' ' -f1)
	printf %s "$cfg" >"$d/oci/blobs/sha256/$csum"
	man=$(jq -cn --arg c "sha256:$csum" --argjson cs ${#cfg} --arg l "sha256:$lsum" \
		--argjson ls "$(stat -c %s "$d/oci/blobs/sha256/$lsum")" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}')
	msum=$(printf %s "$man" | sha256sum | cut -d' ' -f1)
	printf %s "$man" >"$d/oci/blobs/sha256/$msum"
	jq -cn --arg m "sha256:$msum" --argjson ms ${#man} --arg name "$IMAGE" '{schemaVersion: 2,
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
			platform: {architecture: "amd64", os: "linux"},
			annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": "1"}}]}' \
		>"$d/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci/oci-layout"
	tar -C "$d/oci" -cf "$d/image.tar" .
}
[ "$(uname -m)" = x86_64 ] || skip "the sandbox image is built for amd64 only"
mkimage

# The shims' sockets (/run/containerd/s) and runc's state stay in this node.
mkdir -p /run/containerd
mount -t tmpfs -o mode=0711 cri /run/containerd
cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.internal.v1.opt",
	"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
	"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  disable_apparmor = true
  # no CAP_SYS_RESOURCE here: the pause's -998 cannot be set
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
    max_conf_num = 1
EOF
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
cpid=$!
on_exit "kill $cpid; wait $cpid"
if ! wait_for 30 cri version; then
	tail -20 "$W/containerd.log"
	if grep -q 'failed to load plugin io.containerd.grpc.v1.cri' "$W/containerd.log"; then
		skip "containerd's CRI plugin does not load here: $(grep -m1 'failed to load plugin io.containerd.grpc.v1.cri' "$W/containerd.log")"
	fi
	kill -0 "$cpid" 2>/dev/null || fail "containerd exited (log above)"
	fail "containerd's CRI socket does not answer"
fi
ver=$(cri version)
jq -e '.runtime_name == "containerd" and .runtime_api_version == "v1"' <<<"$ver" >/dev/null ||
	fail "Version over CRI: $ver"
pass "containerd $(jq -r .runtime_version <<<"$ver") up (pid $cpid), CRI $(jq -r .runtime_api_version <<<"$ver") answers Version"

c images import --snapshotter native "$W/img/image.tar" >/dev/null || fail "cannot import the sandbox image"

# Every sandbox we start is stopped and removed on any exit.
on_exit "for id in \$(cri list | jq -r '.[].id'); do cri stop \$id; cri remove \$id; done"

# run_pod NAME [PORT...]: RunPodSandbox, prints the sandbox id.
run_pod() {
	local name=$1 out
	shift
	out=$(cri run "$name" "uid-$name" cri-ns "$@") || {
		tail -20 "$W/containerd.log"
		fail "RunPodSandbox $name failed"
	}
	jq -r .id <<<"$out"
}
# netns_of STATUS: the pod's netns path from the runtime's verbose info.
netns_of() {
	jq -r '.info.info.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path' <<<"$1"
}

note "pod 1: RunPodSandbox with port mappings tcp $HPORT -> 80, tcp $NODE_UP_IP:$HPORT2 -> 80"
id1=$(run_pod crip1 "tcp:$HPORT:80" "tcp:$HPORT2:80:$NODE_UP_IP")
st1=$(cri status "$id1")
ip1=$(jq -r .ip <<<"$st1")
ns1=$(netns_of "$st1")
[ "$(jq -r .state <<<"$st1")" = SANDBOX_READY ] || fail "pod 1 not ready: $st1"
jq -e '.metadata == {name: "crip1", uid: "uid-crip1", namespace: "cri-ns", attempt: 0}
	and .labels["io.kubernetes.pod.name"] == "crip1"' <<<"$st1" >/dev/null ||
	fail "pod 1: PodSandboxStatus does not give back the config sent: $(jq -c 'del(.info)' <<<"$st1")"
[[ $ip1 == "$PFX"* ]] || fail "pod 1: CRI reports ip '$ip1', not from $SUBNET"
[[ $ns1 == /var/run/netns/* || $ns1 == /run/netns/* ]] || fail "pod 1: netns '$ns1'"
nsname=$(basename "$ns1")
have=$(ip -n "$nsname" -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')
[ "$have" = "$ip1/24" ] || fail "pod 1: eth0 in $ns1 has '$have', CRI says $ip1"
have=$(pod_layout "$SUBNET" "$ip1" nsenter --net="$ns1")
want=$(layout_want bridge "$SUBNET" "$ip1")
[ "$have" = "$want" ] || fail "pod 1 wired as '$have', want '$want'"
pass "RunPodSandbox: pod 1 ($id1) has eth0 $ip1/24 in $ns1, as the CRI reports; $have"

# What the CRI plugin sent: ADD of loopback, bridge and portmap, in that
# netns, with the kubelet-style CNI_ARGS and the mapping as runtimeConfig.
add=$(calls bridge ADD "$id1")
if [ "$(wc -l <<<"$add")" -ne 1 ] || [[ $add != *" eth0 netns=[$ns1] "* ]]; then
	fail "bridge ADD calls: '$add'"
fi
for k in IgnoreUnknown=1 K8S_POD_NAMESPACE=cri-ns K8S_POD_NAME=crip1 "K8S_POD_INFRA_CONTAINER_ID=$id1" K8S_POD_UID=uid-crip1; do
	[[ $add == *"args=["*"$k"* ]] || fail "bridge ADD lacks $k in CNI_ARGS: $add"
done
[ -n "$(calls loopback ADD "$id1")" ] || fail "no loopback ADD for lo: $(cat "$W/calls.log")"
padd=$(calls portmap ADD "$id1")
[ -n "$padd" ] || fail "no portmap ADD: $(cat "$W/calls.log")"
pin=${padd##* in=}
jq -e --argjson m "$MAPS1" '.runtimeConfig.portMappings == $m
	and .prevResult.ips[0].address == "'"$ip1"'/24"' "$pin" >/dev/null ||
	fail "portmap ADD stdin not as expected: $(cat "$pin")"
pass "CRI ADD: loopback (lo), bridge (eth0, netns $ns1, CNI_ARGS K8S_POD_*), portmap with runtimeConfig $(jq -c .runtimeConfig "$pin")"

cache=/var/lib/cni/results/$NET-$id1-eth0
[ -f "$cache" ] || fail "no libcni cache $cache: $(ls /var/lib/cni/results)"
jq -e --arg a "$ip1/24" '.result.ips[0].address == $a' "$cache" >/dev/null ||
	fail "libcni cache: $(cat "$cache")"
jq -e --arg a "$ip1" '.info.info.cniResult.Interfaces.eth0.IPConfigs[0].IP == $a' <<<"$st1" >/dev/null ||
	fail "the sandbox's cniResult: $(jq -c .info.info.cniResult <<<"$st1")"
# host-local's lease: "ID\r\nIFNAME"
[ "$(tr -d '\r' <"/var/lib/cni/networks/$NET/$ip1" | head -1)" = "$id1" ] || fail "lease $ip1 not held by $id1"
pass "CNI result cached: $cache and the sandbox's cniResult hold $ip1; lease file held by $id1"

# A server in the pod netns, reached through the hostPort.
mkdir -p "$W/www"
echo "hello from crip1" >"$W/www/index.html"
nsenter --net="$ns1" busybox httpd -f -p 80 -h "$W/www" &
hpid=$!
on_exit "kill $hpid"
# get [CMD...]: the page behind $NODE_UP_IP:$HPORT (or $URL), through CMD.
get() { timeout 5 "$@" busybox wget -q -O - "${URL:-http://$NODE_UP_IP:$HPORT/}" 2>/dev/null; }
wait_for 10 get || fail "node cannot reach $NODE_UP_IP:$HPORT"
[ "$(get)" = "hello from crip1" ] || fail "node -> $NODE_UP_IP:$HPORT answered '$(get)'"
pass "hostPort from the node: http://$NODE_UP_IP:$HPORT/ -> $ip1:80 (portmap: $PORTMAP)"
[ "$(get ip netns exec e2eout)" = "hello from crip1" ] || fail "outside -> $NODE_UP_IP:$HPORT unreachable"
pass "hostPort from outside the node: e2eout -> $NODE_UP_IP:$HPORT -> $ip1:80"
[ "$(get nsenter --net="$ns1")" = "hello from crip1" ] || fail "hairpin: pod 1 -> $NODE_UP_IP:$HPORT unreachable"
pass "hostPort by hairpin: pod 1 -> $NODE_UP_IP:$HPORT -> itself"
gw=${PFX}1
[ "$(URL=http://$gw:$HPORT/ get)" = "hello from crip1" ] || fail "node -> $gw:$HPORT (no hostIP) unreachable"
[ "$(URL=http://$NODE_UP_IP:$HPORT2/ get ip netns exec e2eout)" = "hello from crip1" ] ||
	fail "outside -> $NODE_UP_IP:$HPORT2 (hostIP $NODE_UP_IP) unreachable"
! URL=http://$gw:$HPORT2/ get || fail "node -> $gw:$HPORT2 answered: hostIP $NODE_UP_IP not honoured"
pass "hostIP: $HPORT answers on every node address ($gw too), $HPORT2 on $NODE_UP_IP only"

note "pod 2: RunPodSandbox without ports"
id2=$(run_pod crip2)
st2=$(cri status "$id2")
ip2=$(jq -r .ip <<<"$st2")
ns2=$(netns_of "$st2")
[[ $ip2 == "$PFX"* && $ip2 != "$ip1" ]] || fail "pod 2: ip '$ip2'"
[ "$(ip -n "$(basename "$ns2")" -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0].local')" = "$ip2" ] ||
	fail "pod 2: eth0 in $ns2 lacks $ip2"
jq -e '.runtimeConfig.portMappings // [] | length == 0' "$(calls portmap ADD "$id2" | sed 's/.* in=//')" >/dev/null ||
	fail "pod 2: portmap got mappings"
timeout 10 nsenter --net="$ns2" ping -c 2 -W 2 "$ip1" >/dev/null || fail "pod 2 ($ip2) cannot ping pod 1 ($ip1)"
timeout 10 nsenter --net="$ns1" ping -c 2 -W 2 "$ip2" >/dev/null || fail "pod 1 ($ip1) cannot ping pod 2 ($ip2)"
pass "pod to pod: pod 2 ($id2, $ip2) and pod 1 ping each other"

kill "$hpid"
wait "$hpid" 2>/dev/null || true

# pod_leftovers ID IP: what of the pod is left in the kernel and on disk
# (besides lib.sh's leftovers): nft objects naming its address or the
# hostPort, portmap's per-container chains, iptables rules.
pod_leftovers() {
	local id=$1 ip=$2
	nft -j list ruleset | jq -r --arg ip "\"$ip\"" --arg hp "$HPORT|$HPORT2" '.nftables[]
		| del(.. | .counter?, .handle?) | tojson
		| select(contains($ip) or test("[^0-9](\($hp))[^0-9]")) | "nft: \(.[0:200])"'
	nft -j list chains | jq -r '.nftables[] | select(.chain) | .chain.name
		| select(test("^CNI-(DN|SN)-")) | "nft chain \(.)"'
	if command -v iptables-save >/dev/null; then
		iptables-save 2>/dev/null | grep -E -- "^:CNI-(DN|SN)-|$id|-d $ip/|--dport ($HPORT|$HPORT2)|:($HPORT|$HPORT2)" || true
	fi
}
# The checks must see a live pod's state, or they prove nothing after DEL.
live=$(pod_leftovers "$id1" "$ip1")
if ! grep -q "^nft: .*\"$ip1\"" <<<"$live" || ! grep -q "^nft: .*[^0-9]${HPORT}[^0-9]" <<<"$live"; then
	fail "the leftover checks do not see pod 1's mapping while it runs: $live"
fi
[ -n "$(leftovers "$NET" "$PFX")" ] || fail "lib.sh's leftovers sees nothing of two running pods"

# del_check ID N NETNS IP MAPS: the CRI plugin has sent exactly N DELs of
# sandbox ID to bridge and to portmap, the Nth with CNI_NETNS=NETNS, a
# prevResult holding IP when IP is not empty (none otherwise), and portmap's
# runtimeConfig.portMappings equal to MAPS.
del_check() {
	local id=$1 n=$2 ns=$3 ip=$4 maps=$5 p lines in
	for p in bridge portmap; do
		lines=$(calls "$p" DEL "$id")
		[ "$(grep -c . <<<"$lines")" -eq "$n" ] || fail "$id: want $n $p DELs, got: $lines"
		lines=$(tail -1 <<<"$lines")
		[[ $lines == *" eth0 netns=[$ns] "* ]] || fail "$id: DEL #$n of $p not with CNI_NETNS=[$ns]: $lines"
		in=${lines##* in=}
		jq -e --arg a "${ip:+$ip/24}" '(.prevResult.ips[0].address // "") == $a' "$in" >/dev/null ||
			fail "$id: DEL #$n of $p: prevResult not as expected (want '${ip:-none}'): $(cat "$in")"
		[ "$p" = bridge ] || jq -e --argjson m "$maps" '(.runtimeConfig.portMappings // []) == $m' "$in" >/dev/null ||
			fail "$id: DEL #$n of portmap: mappings not $maps: $(cat "$in")"
	done
}

# teardown NAME ID IP NETNS MAPS: StopPodSandbox, then RemovePodSandbox,
# each checked with the DELs it made.
teardown() {
	local name=$1 id=$2 ip=$3 ns=$4 maps=$5 left
	cri stop "$id" >/dev/null || fail "StopPodSandbox $id"
	del_check "$id" 1 "$ns" "$ip" "$maps"
	[ ! -e "$ns" ] || fail "netns $ns still there after StopPodSandbox"
	[ ! -e "/var/lib/cni/networks/$NET/$ip" ] || fail "lease $ip still there after StopPodSandbox"
	[ ! -e "/var/lib/cni/results/$NET-$id-eth0" ] || fail "libcni cache of $id still there after StopPodSandbox"
	[ "$(cri status "$id" | jq -r .state)" = SANDBOX_NOTREADY ] || fail "$id not NOTREADY after Stop"
	left=$(pod_leftovers "$id" "$ip")
	[ -z "$left" ] || fail "$name: left after StopPodSandbox: $left"
	pass "$name: StopPodSandbox: one DEL to portmap and bridge in $ns with the cached prevResult$([ "$maps" = "[]" ] || echo " and the mappings"); netns, lease, cache and nft/iptables state gone"
	cri remove "$id" >/dev/null || fail "RemovePodSandbox $id"
	del_check "$id" 2 "" "" "$maps"
	[ "$(cri list | jq --arg id "$id" '[.[] | select(.id == $id)] | length')" -eq 0 ] ||
		fail "$id still listed after RemovePodSandbox"
	pass "$name: RemovePodSandbox: a second DEL to portmap and bridge, CNI_NETNS empty, no prevResult$([ "$maps" = "[]" ] || echo ", the mappings again"); sandbox gone"
}

note "StopPodSandbox, RemovePodSandbox"
teardown "pod 1" "$id1" "$ip1" "$ns1" "$MAPS1"
note "what the CRI plugin sent for pod 1, in order (plugin, verb, container, ifname, netns, CNI_ARGS; stdin):"
show_calls "$id1"
teardown "pod 2" "$id2" "$ip2" "$ns2" "[]"

# Nothing left of either pod.
left=$(leftovers "$NET" "$PFX"; pod_leftovers "$id1" "$ip1"; pod_leftovers "$id2" "$ip2")
[ -z "$left" ] || fail "left behind after RemovePodSandbox: $left"
[ "$(cri list)" = "[]" ] || fail "sandboxes still listed: $(cri list)"
pass "after RemovePodSandbox: no veth, lease, cache entry, route, nft rule/element or iptables chain of either pod"
echo "cri e2e: all checks passed"
