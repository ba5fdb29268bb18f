#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every tests/integration/*.sh (or the ones named) as root, each in its
# own throwaway "node": a private network and mount namespace with tmpfs on
# /run/netns, /var/lib/cni and /run/cni, so nothing a test makes can leak onto
# the machine, even when it fails. Exit 77 from a test means skipped.
set -u
cd "$(dirname "$0")/.."
: "${CNIP_BIN:?CNIP_BIN must name the directory of the built plugins}"
export CNIP_BIN CNIP_TOP=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ "$(id -u)" -ne 0 ]; then
	echo "integration: tests need root (network namespaces); skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/integration/*.sh)
pass=0 failn=0 skipn=0 failed=()
logdir=${CNIP_LOGDIR:-$(mktemp -d /tmp/cnip-itest.XXXXXX)}
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s.%N)
	timeout --kill-after=10 "${CNIP_TEST_TIMEOUT:-600}" \
		unshare --net --mount --propagation private -- bash -c '
		set -e
		for d in /run/netns /var/lib/cni /run/cni /tmp/cnip; do
			mkdir -p "$d" && mount -t tmpfs -o mode=0755 cnip-test "$d"
		done
		ip link set lo up
		exec bash "$0"' "$t" >"$logdir/$name.log" 2>&1
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)")
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s)" ;;
	77) skipn=$((skipn + 1)); echo "SKIP  $name: $(grep -m1 '^SKIP' "$logdir/$name.log")" ;;
	*) failn=$((failn + 1)); failed+=("$name")
	   echo "FAIL  $name (exit $rc), log: $logdir/$name.log"
	   sed 's/^/    | /' "$logdir/$name.log" | tail -40 ;;
	esac
done
echo "integration: $pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
