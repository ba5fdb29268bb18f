#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Usage: dist/image.sh STATIC_BINDIR [OUTDIR]
# Builds the DaemonSet's installer image localhost/cnip-install:<version>
# (CNIP_IMAGE overrides the name) with podman from local files only: a root
# with busybox-static (/bin/busybox of Debian's busybox-static), the
# self-contained plugins and their cnip-lib/ (make static), conf/, install.sh
# and the copyright files of everything shipped. Also writes it as an OCI
# archive, BUILD/image/cnip-install_<version>.tar, for `ctr image import` or
# `podman load` on nodes without a registry. CNIP_IMAGE_ROOTFS_ONLY=1 stops
# after preparing OUTDIR/rootfs (tests run it with chroot, no podman).
set -euo pipefail
bindir=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(dpkg-parsechangelog -l "$top/dist/debian/changelog" -S Version)
stamp=$(dpkg-parsechangelog -l "$top/dist/debian/changelog" -S Timestamp)
tag=${CNIP_IMAGE:-localhost/cnip-install:$version}
out=${2:-$(dirname "$bindir")/image}
root=$out/rootfs
if ! grep -q 'statically linked' <<<"$(file -L /bin/busybox 2>/dev/null)"; then
	echo "image: needs busybox-static's /bin/busybox" >&2
	exit 1
fi

rm -rf "$out"
mkdir -p "$root"/{bin,tmp,cnip/bin/cnip-lib,cnip/conf,usr/share/doc/cnip}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
for f in "$bindir"/*; do
	[ -f "$f" ] || continue
	install -m 0755 "$f" "$root/cnip/bin/"
	strip --strip-unneeded "$root/cnip/bin/$(basename "$f")"
done
install -m 0644 "$bindir"/cnip-lib/*.so* "$root/cnip/bin/cnip-lib/"
install -m 0644 "$top"/conf/*.conflist "$top"/conf/*.conflist.in "$root/cnip/conf/"
echo "$version" >"$root/cnip/VERSION"
install -m 0755 "$top/dist/image/install.sh" "$root/install.sh"
install -m 0644 "$top/dist/debian/copyright" "$root/usr/share/doc/cnip/copyright"
for c in "$bindir"/cnip-lib/copyright/* /usr/share/doc/busybox-static/copyright; do
	p=$(basename "$c")
	[ "$p" != copyright ] || p=busybox-static
	mkdir -p "$root/usr/share/doc/$p"
	install -m 0644 "$c" "$root/usr/share/doc/$p/copyright"
done
cp "$top/dist/image/Containerfile" "$out/Containerfile"
[ "${CNIP_IMAGE_ROOTFS_ONLY:-0}" != 1 ] || exit 0

podman build -q --timestamp "$stamp" -f "$out/Containerfile" -t "$tag" \
	--label org.opencontainers.image.title=cnip-install \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.licenses=GPL-2.0-or-later "$out" >/dev/null
rm -f "$out/cnip-install_$version.tar"
podman save -q --format oci-archive -o "$out/cnip-install_$version.tar" "$tag"
echo "  IMAGE   $tag ($out/cnip-install_$version.tar)"
