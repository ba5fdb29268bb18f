#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the cmocka unit tests. Each runs in a private network and mount
# namespace when root, so tests that talk to the kernel touch nothing real.
set -u
cd "$(dirname "$0")/.."
export CNIP_TOP=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 failn=0
for t in "$@"; do
	if [ "$(id -u)" -eq 0 ]; then
		unshare --net --mount --propagation private -- sh -c '
			mkdir -p /run/netns && mount -t tmpfs cnip-unit /run/netns
			ip link set lo up; exec "$0"' "$t"
	else
		"$t"
	fi
	rc=$?
	if [ $rc -eq 0 ]; then pass=$((pass + 1)); else failn=$((failn + 1)); echo "FAILED: $t (exit $rc)"; fi
done
echo "unit: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
