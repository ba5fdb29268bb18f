#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Usage: dist/bundle-libs.sh BINDIR PLUGIN...
# Copies every shared library the self-contained plugins in BINDIR need,
# except the C library's own (a node's glibc is used as is), into
# BINDIR/cnip-lib under its soname, with each one's Debian copyright file in
# BINDIR/cnip-lib/copyright/, and checks that every plugin finds them through
# its run path $ORIGIN/cnip-lib and needs no glibc newer than GLIBC_MIN.
set -euo pipefail
bindir=$1
shift
lib=$bindir/cnip-lib
GLIBC_MIN=${GLIBC_MIN:-2.34}

# glibc's own objects stay the node's.
is_libc() {
	case $1 in
	libc.so.* | ld-linux*.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.*) return 0 ;;
	esac
	return 1
}

needed() { objdump -p "$1" | awk '$1 == "NEEDED" {print $2}'; }

# Whole outputs are read before being filtered: an early exit of the
# filter would kill the producer with SIGPIPE under pipefail.
cache=$(ldconfig -p)
rm -rf "$lib"
mkdir -p "$lib/copyright"
todo=()
for p in "$@"; do todo+=("$bindir/$p"); done
while [ ${#todo[@]} -gt 0 ]; do
	f=${todo[0]}
	todo=("${todo[@]:1}")
	for so in $(needed "$f"); do
		is_libc "$so" || [ -e "$lib/$so" ] || {
			path=$(awk -v s="$so" '$1 == s && !p {p = $NF} END {print p}' <<<"$cache")
			[ -n "$path" ] || { echo "bundle-libs: $so (needed by $f) not found" >&2; exit 1; }
			install -m 0644 "$(readlink -f "$path")" "$lib/$so"
			pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
			[ -z "$pkg" ] || cp "/usr/share/doc/$pkg/copyright" "$lib/copyright/$pkg"
			todo+=("$lib/$so")
		}
	done
done
# The archives linked in are shipped too, in the binaries: their copyright.
for a in ${STATIC_ARCHIVES:-}; do
	pkg=$(dpkg -S "$(readlink -f "$a")" | awk -F: 'NR == 1 {print $1}')
	cp "/usr/share/doc/$pkg/copyright" "$lib/copyright/$pkg"
done

for p in "$@"; do
	f=$bindir/$p
	grep -Eq 'R(UN)?PATH +\$ORIGIN/cnip-lib$' <<<"$(objdump -p "$f")" ||
		{ echo "bundle-libs: $p has no run path \$ORIGIN/cnip-lib" >&2; exit 1; }
	newest=$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
	[ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MIN" | sort -V | tail -1)" = "$GLIBC_MIN" ] ||
		{ echo "bundle-libs: $p needs glibc $newest, newer than $GLIBC_MIN" >&2; exit 1; }
done
echo "  LIBS    $lib: $(cd "$lib" && ls -- *.so* | tr '\n' ' ')(glibc >= $GLIBC_MIN)"
