#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark note, not a test: median ADD and DEL time of host-local, ours
# against Debian's reference, with 0 and 10000 leases in the network.
# Runs itself in a private mount namespace with a tmpfs data dir, so nothing
# touches the machine's /var/lib/cni. Usage: hack/bench-host-local.sh [runs]
set -euo pipefail
if [ -z "${HLT_BENCH_INNER-}" ]; then
	exec unshare --net --mount --propagation private env HLT_BENCH_INNER=1 "$0" "$@"
fi
cd "$(dirname "$0")/.."
RUNS=${1:-50}
OURS=${CNIP_BIN:-$PWD/build/bin}/host-local
REF=${REF_BIN:-/usr/lib/cni}/host-local
[ -x "$OURS" ] || { echo "build first: make" >&2; exit 1; }
DATA=/tmp/hlt-bench
mkdir -p $DATA && mount -t tmpfs hlt-bench $DATA

conf() { printf '{"cniVersion":"1.0.0","name":"%s","type":"x","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.90.0.0/16"}]]}}' "$1" $DATA; }

# run BIN VERB CID CONF: one call, elapsed nanoseconds on stdout
run() {
	local t0 t1
	t0=$(date +%s%N)
	printf '%s' "$4" | CNI_COMMAND=$2 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/x CNI_IFNAME=eth0 \
		CNI_PATH=/x "$1" >/dev/null 2>&1 || { echo "$2 failed" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $((t1 - t0))
}

median_ms() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1e6}'; }

bench() { # bench NAME BIN NET
	local c i add=() del=()
	c=$(conf "$3")
	for i in $(seq 1 "$RUNS"); do
		add+=("$(run "$2" ADD "bench$i" "$c")")
		del+=("$(run "$2" DEL "bench$i" "$c")")
	done
	printf '%-10s %-6s ADD %7s ms   DEL %7s ms\n' "$1" "$4" \
		"$(printf '%s\n' "${add[@]}" | median_ms)" "$(printf '%s\n' "${del[@]}" | median_ms)"
}

fill() { # fill NET: 10000 leases as the reference writes them
	mkdir -p "$DATA/$1"
	(cd "$DATA/$1" && for i in $(seq 0 9999); do
		printf 'pod%d\r\neth0' "$i" >"10.90.$((i / 200 + 100)).$((i % 200 + 1))"
	done)
}

base=()
for i in $(seq 1 "$RUNS"); do base+=("$(run /bin/cat VERSION x "{}")"); done
echo "host-local, median of $RUNS runs (tmpfs data dir); the same harness around /bin/cat takes" \
	"$(printf '%s\n' "${base[@]}" | median_ms) ms (fork, exec, pipe, date), included below"
bench ours "$OURS" n-ours-0 0
bench reference "$REF" n-ref-0 0
fill n-ours-10k
fill n-ref-10k
# Our first call after the reference wrote leases rebuilds the index once: not timed.
run "$OURS" DEL warmup "$(conf n-ours-10k)" >/dev/null
bench ours "$OURS" n-ours-10k 10k
bench reference "$REF" n-ref-10k 10k
