#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: our plugins, Debian's reference plugins (/usr/lib/cni) and the
# floor program (or, for podman's chain, Debian's netavark) side by side, driven by tests/bench/runner.c in a throwaway
# node (private network and mount namespace, tmpfs on /run/netns, /var/lib/cni
# and /run/cni, as tests/run-integration.sh makes for a test). Numbers, not
# assertions: nothing here can fail a build. The markdown goes to stdout and to
# $BENCH_OUT (build/bench/results.md); progress to stderr.
# Environment: CNIP_BIN, REF_BIN, BENCH_TOOLS, and the runner's BENCH_* knobs
# (BENCH_PODS=1000 BENCH_BUCKET=100 BENCH_REPS=30 BENCH_CONC_PODS=100
# BENCH_LEASES=10000 BENCH_SETTLE=60 BENCH_PHASES=all; `runner -h` says more);
# `make bench BENCH_PODS=100` is a quick run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CNIP_BIN:=$top/build/bin}" "${REF_BIN:=/usr/lib/cni}" "${BENCH_TOOLS:=$top/build/bench}"
: "${BENCH_OUT:=$BENCH_TOOLS/results.md}"
export CNIP_BIN REF_BIN BENCH_TOOLS
if [ "${BENCH_INSIDE:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
	[ -x "$BENCH_TOOLS/runner" ] || { echo "bench: build first: make bench" >&2; exit 1; }
	BENCH_OURS_VERSION=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
	BENCH_REF_VERSION=$(dpkg-query -W -f '${Package} ${Version}' containernetworking-plugins 2>/dev/null || echo unknown)
	BENCH_NETAVARK_VERSION=$(dpkg-query -W -f '${Package} ${Version}' netavark 2>/dev/null || echo unknown)
	export BENCH_OURS_VERSION BENCH_REF_VERSION BENCH_NETAVARK_VERSION
	BENCH_INSIDE=1 unshare --net --mount --propagation private -- "$0" "$@" | tee "$BENCH_OUT"
	echo "bench: results in $BENCH_OUT" >&2
	exit 0
fi
for d in /run/netns /var/lib/cni /run/cni; do
	mkdir -p "$d" && mount -t tmpfs -o mode=0755 bch "$d"
done
ip link set lo up
exec "$BENCH_TOOLS/runner"
