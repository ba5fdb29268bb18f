#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The long fuzzing run (`make fuzz-long`): every harness named gets EXECS
# executions (-runs), one after the other, under ASan and UBSan, continuing
# from the inputs kept in <dir>/corpus-<name>. Prints and keeps (<dir>/long-<name>.row)
# each harness's figures and rebuilds <dir>/long.md from every row there is,
# so harnesses can be run one at a time. Fails when any harness crashed.
# Usage: [FUZZ_FLAGS=...] run-long.sh <build/fuzz> <execs> <name>...
set -u
dir=$1
execs=$2
shift 2
rc=0
for n in "$@"; do
	bin=$dir/bin/fuzz_$n
	log=$dir/long-$n.log
	mkdir -p "$dir/corpus-$n" "$dir/crashes"
	# shellcheck disable=SC2086 # FUZZ_FLAGS holds several words
	"$bin" -runs="$execs" -print_final_stats=1 -artifact_prefix="$dir/crashes/$n-" \
		${FUZZ_FLAGS:-} "$dir/corpus-$n" "tests/fuzz/corpus/$n" >"$log" 2>&1
	r=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crashes=0
	if [ "$r" -ne 0 ]; then
		crashes=1
		rc=1
		echo "fuzz-long: $n CRASHED (exit $r), see $log and $dir/crashes/"
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$n" "${runs:-?}" "${secs:-?}" "${eps:-?}" "$crashes" \
		>"$dir/long-$n.row"
	echo "fuzz-long: $n: ${runs:-?} executions in ${secs:-?} s, ${eps:-?} exec/s, $crashes crashes"
done
{
	echo "| harness | executions | seconds | exec/s | crashes |"
	echo "|---|---:|---:|---:|---:|"
	cat "$dir"/long-*.row 2>/dev/null
} >"$dir/long.md"
echo "fuzz-long: summary in $dir/long.md"
exit $rc
