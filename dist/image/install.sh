#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Entrypoint of the cnip installer image (busybox sh). Copies the plugins and
# the libraries they need onto the node, then optionally writes the node's
# network configuration, and exits; `install.sh wait` only waits for SIGTERM
# (the DaemonSet's long-running container).
#
#   CNIP_BIN_DIR        node's plugin dir, mounted    (/host/opt/cni/bin)
#   CNIP_CONF_DIR       node's config dir, mounted    (/host/etc/cni/net.d)
#   POD_CIDR            when set, write CNIP_CONF_DIR/CNIP_CONF_NAME from
#                       CNIP_CONF_TEMPLATE with @POD_CIDR@ replaced by it
#   CNIP_CONF_TEMPLATE  (/cnip/conf/20-cnip-k8s-bridge.conflist.in)
#   CNIP_CONF_NAME      (10-cnip.conflist)
#   CNIP_FORCE=1        install even over a newer cnip (a deliberate downgrade)
#   CNIP_SRC            what to install (/cnip, the image's copy)
#
# Every file is written under a temporary name in its final directory and
# renamed into place, so a runtime execing a plugin meanwhile sees the old
# file or the new one, never half of one. Libraries go first, the version
# stamp (CNIP_BIN_DIR/cnip-lib/VERSION) last; a node whose stamp is newer
# than this image is left alone.
set -eu
src=${CNIP_SRC:-/cnip}
bin=${CNIP_BIN_DIR:-/host/opt/cni/bin}
conf=${CNIP_CONF_DIR:-/host/etc/cni/net.d}
tmpl=${CNIP_CONF_TEMPLATE:-$src/conf/20-cnip-k8s-bridge.conflist.in}
name=${CNIP_CONF_NAME:-10-cnip.conflist}
mine=$(cat "$src/VERSION")

log() { echo "cnip-install: $*"; }
die() { echo "cnip-install: $*" >&2; exit 1; }

if [ "${1:-}" = wait ]; then
	trap 'exit 0' TERM INT
	# wait returns at once on SIGTERM; where a background job cannot start
	# (no /dev/null), sleep in front rather than spin.
	while :; do sleep 3600 & wait $! || sleep 1; done
fi

# put SRC DST MODE: DST replaced atomically by a copy of SRC.
put() {
	tmp=$(dirname "$2")/.$(basename "$2").cnip-tmp
	cp "$1" "$tmp"
	chmod "$3" "$tmp"
	sync "$tmp"
	mv -f "$tmp" "$2"
}

# newer A B: true when version A sorts after B.
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }

# Everything is checked before anything on the node changes.
[ -d "$bin" ] || die "$bin is not a directory (mount the node's plugin dir there)"
if [ -n "${POD_CIDR:-}" ]; then
	case $POD_CIDR in
	*[!0-9a-fA-F.:/]* | */*/* | /* | */) die "POD_CIDR '$POD_CIDR' is not a CIDR" ;;
	*/*) ;;
	*) die "POD_CIDR '$POD_CIDR' is not a CIDR" ;;
	esac
	[ -f "$tmpl" ] || die "template $tmpl not found"
	[ -d "$conf" ] || die "$conf is not a directory (mount the node's config dir there)"
fi
have=
[ ! -e "$bin/cnip-lib/VERSION" ] || have=$(cat "$bin/cnip-lib/VERSION")
if [ -n "$have" ] && newer "$have" "$mine" && [ "${CNIP_FORCE:-0}" != 1 ]; then
	log "cnip $have on the node is newer than this image's $mine: left alone (CNIP_FORCE=1 downgrades)"
	exit 0
fi

# Leftovers of an installer killed mid-copy.
rm -f "$bin"/.*.cnip-tmp "$bin"/cnip-lib/.*.cnip-tmp
mkdir -p "$bin/cnip-lib"
for f in "$src"/bin/cnip-lib/*.so*; do
	put "$f" "$bin/cnip-lib/$(basename "$f")" 0644
done
for f in "$src"/bin/*; do
	[ -f "$f" ] || continue
	put "$f" "$bin/$(basename "$f")" 0755
done
put "$src/VERSION" "$bin/cnip-lib/VERSION" 0644
log "installed cnip $mine in $bin${have:+ (was $have)}: $(cd "$src/bin" && for f in *; do [ -f "$f" ] && printf '%s ' "$f"; done)"

if [ -n "${POD_CIDR:-}" ]; then
	tmp=$conf/.$name.cnip-tmp
	rm -f "$conf"/.*.cnip-tmp
	sed "s#@POD_CIDR@#$POD_CIDR#g" "$tmpl" >"$tmp"
	chmod 0644 "$tmp"
	sync "$tmp"
	mv -f "$tmp" "$conf/$name"
	log "wrote $conf/$name for pod CIDR $POD_CIDR"
fi
