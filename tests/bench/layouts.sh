#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What each link layout of the plugins costs at start-up and in memory (the
# README's "Start-up, memory and the link layout"). Builds every plugin per
# layout into build/layouts/<name>/bin from the same sources and prints, for
# bridge: the shared objects it loads, its page faults and the loader's
# statistics at VERSION, its stripped size, and the runner's phases given in
# LAYOUT_PHASES (default startup: VERSION wall, CPU and peak RSS against a
# trivial C program; add latency for the peak RSS of an ADD).
# Fully static layouts need archives Debian does not ship; point LIBMNL_A and
# LIBCJSON_A at ones built from the libmnl and cJSON sources to include them.
#   make bench BENCH_PHASES=none && tests/bench/layouts.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build/layouts
nftnl_a=$(pkg-config --variable=libdir libnftnl)/libnftnl.a
[ -x build/bench/runner ] || { echo "layouts: build the bench tools first: make bench BENCH_PHASES=none" >&2; exit 1; }

layouts=(dynamic lazy)
declare -A vars=([dynamic]="" [lazy]="REL_LDFLAGS=-pie -Wl,-z,relro")
if [ -f "$nftnl_a" ]; then
	layouts+=(nftnl-static)
	vars[nftnl-static]="LIBS=$nftnl_a -lmnl -lcjson"
fi
if [ -f "${LIBMNL_A:-}" ] && [ -f "${LIBCJSON_A:-}" ] && [ -f "$nftnl_a" ]; then
	layouts+=(libs-static static-pie)
	vars[libs-static]="LIBS=$nftnl_a $LIBMNL_A $LIBCJSON_A"
	vars[static-pie]="LIBS=$nftnl_a $LIBMNL_A $LIBCJSON_A"
fi

mkdir -p $out
echo '{"cniVersion":"1.0.0"}' >"$out.version.json"
printf '| layout | shared objects | page faults | relocations (relative) | stripped size |\n|---|---|---:|---:|---:|\n'
for l in "${layouts[@]}"; do
	args=(BUILD="$out/$l")
	[ -z "${vars[$l]}" ] || args+=("${vars[$l]}")
	[ "$l" != static-pie ] || args+=(LDFLAGS=-static-pie)
	make -s -j2 "${args[@]}" all >&2
	b=$out/$l/bin/bridge
	libs=$(ldd "$b" 2>/dev/null | awk '/=>/ {printf "%s ", $1}')
	faults=-
	if command -v perf >/dev/null; then
		faults=$(CNI_COMMAND=VERSION perf stat -x, -e page-faults -r 20 -- "$b" <"$out.version.json" 2>&1 >/dev/null | cut -d, -f1)
	fi
	relocs=$(CNI_COMMAND=VERSION LD_DEBUG=statistics "$b" <"$out.version.json" 2>&1 >/dev/null |
		awk '/number of relocations:/ {r=$NF} /relative relocations/ {x=$NF} END {if (r) printf "%s (%s)", r, x; else print "-"}')
	size=$(strip -o "$out.stripped" "$b" && stat -c %s "$out.stripped")
	printf '| %s | %s | %s | %s | %s KiB |\n' "$l" "${libs:-none}" "$faults" "$relocs" $((size / 1024))
done
rm -f "$out.stripped" "$out.version.json"
for l in "${layouts[@]}"; do
	echo
	echo "#### $l"
	CNIP_BIN=$top/$out/$l/bin BENCH_PHASES=${LAYOUT_PHASES:-startup} BENCH_REPS=${BENCH_REPS:-100} \
		BENCH_OUT=$top/$out/$l.md hack/bench.sh 2>/dev/null | grep -E '^\| (bridge|\||---)|^The same program'
done
