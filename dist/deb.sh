#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Usage: dist/deb.sh BUILD PLUGIN...
# Builds BUILD/deb/cnip_<version>_<arch>.deb from the release plugins in
# BUILD/bin with dpkg-deb alone (no debhelper, no network). The version is
# the top entry of dist/debian/changelog; dependencies are what
# dpkg-shlibdeps derives from the binaries.
#
# Where the plugins go: /usr/lib/cnip/<plugin>, a directory of our own, so the
# package never shares a file with containernetworking-plugins
# (/usr/lib/cni/*) and both install side by side. postinst registers each
# plugin with update-alternatives as /usr/libexec/cni/<plugin>: podman's
# default cni_plugin_dirs search /usr/libexec/cni before /usr/lib/cni, so
# podman runs ours and still finds the reference's others (bandwidth, ...).
# Nothing goes to /opt (Debian policy); containerd's bin_dir is set by the
# operator (README, "Installing on a cluster").
set -euo pipefail
build=$(cd "$1" && pwd)
shift
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/dist/debian
version=$(dpkg-parsechangelog -l "$src/changelog" -S Version)
maint=$(dpkg-parsechangelog -l "$src/changelog" -S Maintainer)
arch=$(dpkg --print-architecture)
out=$build/deb
root=$out/root
deb=$out/cnip_${version}_$arch.deb

rm -rf "$out"
mkdir -p "$root/DEBIAN" "$root/usr/lib/cnip" "$root/usr/libexec/cni" \
	"$root/usr/share/doc/cnip/examples"
for p in "$@"; do
	install -m 0755 "$build/bin/$p" "$root/usr/lib/cnip/$p"
	strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/lib/cnip/$p"
done
install -m 0644 "$src/copyright" "$root/usr/share/doc/cnip/copyright"
install -D -m 0644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/cnip"
gzip -9n <"$src/changelog" >"$root/usr/share/doc/cnip/changelog.gz"
chmod 0644 "$root/usr/share/doc/cnip/changelog.gz"
install -m 0644 "$top"/conf/*.conflist "$top"/conf/*.conflist.in "$root/usr/share/doc/cnip/examples/"
install -m 0644 "$top/conf/README.md" "$root/usr/share/doc/cnip/examples/README.md"
mkdir -p "$root/usr/share/doc/cnip/examples/podman"
install -m 0644 "$top"/conf/podman/*.conflist "$root/usr/share/doc/cnip/examples/podman/"

# dpkg-shlibdeps wants to run at the top of a source tree.
mkdir -p "$out/src/debian"
printf 'Source: cnip\n\nPackage: cnip\nArchitecture: any\n' >"$out/src/debian/control"
bins=()
for p in "$@"; do bins+=("-e$root/usr/lib/cnip/$p"); done
depends=$(cd "$out/src" && dpkg-shlibdeps -O "${bins[@]}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maint|" \
	-e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" -e "s|@PLUGINS_TEXT@|$(echo "$*" | sed 's/ /, /g')|" \
	"$src/control" >"$root/DEBIAN/control"
for s in postinst prerm; do
	sed "s|@PLUGINS@|$*|" "$src/$s" >"$root/DEBIAN/$s"
	chmod 0755 "$root/DEBIAN/$s"
done
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
# Directories 0755 whatever the umask; reproducible: mtimes from the changelog.
find "$root" -type d -exec chmod 0755 {} +
stamp=$(dpkg-parsechangelog -l "$src/changelog" -S Timestamp)
find "$root" -exec touch -h -d "@$stamp" {} +
SOURCE_DATE_EPOCH=$stamp dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "  DEB     $deb"
