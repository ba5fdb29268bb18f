#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# End-to-end test on a real Kubernetes cluster made with kind, for machines
# with a Docker engine (not available on the project's CI machines).
#
# Usage: hack/kind-e2e.sh            create, test, delete the cluster
#        KEEP=1 hack/kind-e2e.sh     leave the cluster up afterwards
# Needs: docker, kind, kubectl in PATH; our plugins built (`make`, or
# CNIP_BIN=dir). Images pulled: kind's node image and busybox (BUSYBOX).
#
# What it does:
#   1. kind cluster "cnip-e2e" (1 control plane, 2 workers) with
#      disableDefaultCNI: true and podSubnet 10.244.0.0/16, so every node
#      stays NotReady until a CNI config appears;
#   2. per node: our plugins (bridge, ptp, host-local, loopback) into
#      /opt/cni/bin, the shared libraries they need if the node lacks them,
#      and conf/20-cnip-k8s-bridge.conflist.in with the node's podCIDR
#      (kubectl get node -o jsonpath='{.spec.podCIDR}') as
#      /etc/cni/net.d/10-cnip.conflist;
#   3. what a route controller and ip-masq-agent would do: a route to every
#      other node's podCIDR via that node's address, and masquerade for
#      traffic leaving the cluster CIDR (the conflist has ipMasq false, so
#      pod-to-pod traffic keeps its source address);
#   4. waits for the nodes to be Ready and CoreDNS to run (on our plugins);
#   5. checks: pod to pod across nodes (the server sees the client's pod IP:
#      no NAT), pod to Service ClusterIP, pod to Service DNS name.
# Exit 0 pass, 1 fail, 77 when docker/kind/kubectl are missing.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
NAME=${KIND_CLUSTER:-cnip-e2e}
POD_SUBNET=10.244.0.0/16
BUSYBOX=${BUSYBOX:-busybox:1.36}
CNIP_BIN=${CNIP_BIN:-$TOP/build/bin}
CTX=kind-$NAME
PLUGINS=(bridge ptp host-local loopback)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
k() { kubectl --context "$CTX" "$@"; }

for t in docker kind kubectl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found"; exit 77; }
done
docker info >/dev/null 2>&1 || { echo "SKIP: no Docker engine reachable"; exit 77; }
if [ ! -x "$CNIP_BIN/bridge" ]; then
	say "building our plugins"
	make -C "$TOP" all
fi
for p in "${PLUGINS[@]}"; do
	[ -x "$CNIP_BIN/$p" ] || fail "$CNIP_BIN/$p missing"
done

cleanup() {
	local rc=$?
	if [ "${KEEP:-0}" = 1 ]; then
		echo "cluster kept: kind delete cluster --name $NAME"
	else
		kind delete cluster --name "$NAME" >/dev/null 2>&1 || true
	fi
	exit "$rc"
}

say "kind cluster $NAME without a default CNI"
kind get clusters 2>/dev/null | grep -qx "$NAME" && fail "cluster $NAME exists (kind delete cluster --name $NAME)"
trap cleanup EXIT
kind create cluster --name "$NAME" --wait 0s --config - <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  podSubnet: "$POD_SUBNET"
nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
mapfile -t NODES < <(kind get nodes --name "$NAME" | sort)

# pod_cidr NODE: waits for the controller manager to assign one.
pod_cidr() {
	local c
	for _ in $(seq 60); do
		c=$(k get node "$1" -o jsonpath='{.spec.podCIDR}')
		[ -z "$c" ] || { echo "$c"; return 0; }
		sleep 2
	done
	fail "node $1 has no podCIDR"
}
node_ip() { k get node "$1" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}'; }

# The plugins link to libmnl, libnftnl and libcjson; copy the ones a node
# lacks (kind's node image is Debian-based, the same glibc generation as
# Debian 12; build on an older distribution if yours is newer).
mapfile -t LIBS < <(ldd "${PLUGINS[@]/#/$CNIP_BIN/}" 2>/dev/null |
	awk '/lib(mnl|nftnl|cjson)/ {print $3}' | sort -u)

declare -A CIDR IP
for n in "${NODES[@]}"; do
	CIDR[$n]=$(pod_cidr "$n")
	IP[$n]=$(node_ip "$n")
	say "node $n: ${IP[$n]}, podCIDR ${CIDR[$n]}"
	docker exec "$n" mkdir -p /opt/cni/bin /etc/cni/net.d
	for p in "${PLUGINS[@]}"; do
		docker cp "$CNIP_BIN/$p" "$n:/opt/cni/bin/$p"
	done
	for l in "${LIBS[@]}"; do
		if ! docker exec "$n" sh -c "ldconfig -p | grep -q '$(basename "$l")'"; then
			docker cp -L "$l" "$n:/usr/local/lib/$(basename "$l")"
			docker exec "$n" ldconfig
		fi
	done
	docker exec "$n" sh -c 'CNI_COMMAND=VERSION /opt/cni/bin/bridge </dev/null' >/dev/null ||
		fail "our bridge does not run on $n (missing library?)"
	sed "s#@POD_CIDR@#${CIDR[$n]}#" "$TOP/conf/20-cnip-k8s-bridge.conflist.in" >"${TMPDIR:-/tmp}/cnip-$n.conflist"
	docker cp "${TMPDIR:-/tmp}/cnip-$n.conflist" "$n:/etc/cni/net.d/10-cnip.conflist"
	rm -f "${TMPDIR:-/tmp}/cnip-$n.conflist"
done

say "routes between nodes' pod CIDRs, masquerade out of $POD_SUBNET"
for n in "${NODES[@]}"; do
	for m in "${NODES[@]}"; do
		[ "$n" = "$m" ] || docker exec "$n" ip route replace "${CIDR[$m]}" via "${IP[$m]}"
	done
	docker exec "$n" sh -c "iptables -t nat -C POSTROUTING -s $POD_SUBNET ! -d $POD_SUBNET -j MASQUERADE 2>/dev/null ||
		iptables -t nat -A POSTROUTING -s $POD_SUBNET ! -d $POD_SUBNET -j MASQUERADE"
done

say "waiting for nodes Ready and CoreDNS"
k wait --for=condition=Ready nodes --all --timeout=300s
k -n kube-system rollout status deployment/coredns --timeout=300s

say "test pods on two different workers, and a Service"
W1=${NODES[1]} W2=${NODES[2]}
k apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata: {name: cnip-server, labels: {app: cnip-server}}
spec:
  nodeName: $W1
  containers:
    - name: httpd
      image: $BUSYBOX
      command: ["sh", "-c"]
      # /cgi-bin/ip answers the client's address as the server sees it.
      args:
        - |
          mkdir -p /www/cgi-bin
          printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho \$REMOTE_ADDR\n' >/www/cgi-bin/ip
          chmod +x /www/cgi-bin/ip
          echo hello-cnip >/www/index.html
          exec httpd -f -p 8080 -h /www
      readinessProbe:
        tcpSocket: {port: 8080}
        periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: cnip-client}
spec:
  nodeName: $W2
  containers:
    - name: sh
      image: $BUSYBOX
      command: ["sleep", "3600"]
---
apiVersion: v1
kind: Service
metadata: {name: cnip-server}
spec:
  selector: {app: cnip-server}
  ports: [{port: 80, targetPort: 8080}]
EOF
k wait --for=condition=Ready pod/cnip-server pod/cnip-client --timeout=300s
SIP=$(k get pod cnip-server -o jsonpath='{.status.podIP}')
CIP=$(k get pod cnip-client -o jsonpath='{.status.podIP}')
VIP=$(k get svc cnip-server -o jsonpath='{.spec.clusterIP}')
echo "server $SIP on $W1, client $CIP on $W2, service $VIP"
[[ $SIP != "$CIP" ]] || fail "both pods have $SIP"

cget() { k exec cnip-client -- timeout 10 wget -q -O - "$1"; }
got=$(cget "http://$SIP:8080/") || fail "client cannot reach the server pod $SIP"
[ "$got" = hello-cnip ] || fail "server answered '$got'"
echo "ok: pod to pod across nodes ($CIP -> $SIP)"
seen=$(cget "http://$SIP:8080/cgi-bin/ip") || fail "CGI request failed"
[ "$seen" = "$CIP" ] || fail "server saw the client as '$seen', not $CIP: NAT between pods"
echo "ok: no NAT between pods (the server saw $seen)"
got=$(cget "http://$VIP/") || fail "client cannot reach the Service $VIP"
[ "$got" = hello-cnip ] || fail "Service answered '$got'"
echo "ok: pod to Service ClusterIP ($VIP)"
got=$(cget "http://cnip-server.default.svc.cluster.local/") || fail "Service DNS name does not work"
[ "$got" = hello-cnip ] || fail "Service by name answered '$got'"
echo "ok: pod to Service by DNS name (CoreDNS runs on our plugins)"
k delete pod cnip-server cnip-client --wait=true --timeout=120s >/dev/null
for n in "${NODES[@]}"; do
	left=$(docker exec "$n" sh -c 'ls /var/lib/cni/networks/cnip-k8s 2>/dev/null | grep -c "^10\." || true')
	echo "node $n: $left leases left (CoreDNS and other system pods keep theirs)"
done
say "kind e2e passed"
