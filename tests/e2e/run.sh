#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every tests/e2e/*.sh (or the ones named) against real clients, each in
# its own throwaway node (see lib.sh), with a time limit, and ends with
# `e2e: N passed, N failed, N skipped`. Exit 77 from a test means skipped.
# CNIP_BIN names our built plugins (default build/bin); the reference plugins
# fill in the rest.
set -u
cd "$(dirname "$0")/../.." || exit 1
if [ -z "${CNIP_BIN:-}" ] && [ -d build/bin ]; then CNIP_BIN=$PWD/build/bin; fi
export CNIP_BIN=${CNIP_BIN:-}

if [ "$(id -u)" -ne 0 ]; then
	echo "e2e: tests need root (namespaces, real container runtimes); skipped"
	echo "e2e: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	for t in tests/e2e/*.sh; do
		case $(basename "$t") in lib.sh | run.sh) ;; *) tests+=("$t") ;; esac
	done
fi
pass=0 failn=0 skipn=0
logdir=${CNIP_LOGDIR:-$(mktemp -d /tmp/cnip-e2e.XXXXXX)}
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	timeout --kill-after=20 "${CNIP_E2E_TIMEOUT:-300}" bash "$t" >"$logdir/$name.log" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s)"; grep '^ok:' "$logdir/$name.log" | sed 's/^/    /' ;;
	77) skipn=$((skipn + 1)); echo "SKIP  $name: $(grep -m1 '^SKIP' "$logdir/$name.log")" ;;
	*) failn=$((failn + 1))
	   echo "FAIL  $name (exit $rc, ${secs}s), log: $logdir/$name.log"
	   sed 's/^/    | /' "$logdir/$name.log" | tail -40 ;;
	esac
done
echo "e2e: $pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
