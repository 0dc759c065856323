#!/usr/bin/env bash
# Debian's kernels are built without CONFIG_VFIO_NOIOMMU, so their vfio can never make a no-IOMMU group. For
# the no-IOMMU scenario this builds that kernel's own vfio module with it, from the Debian source package of
# the same version and its headers, into <cache>/vfio-noiommu-<kernel>/vfio.ko (once; ~10 s plus downloads).
# The scenario loads it in place of the stock module in its guest only.
# Usage: scripts/vm/noiommu-vfio.sh <kernel release, e.g. 6.1.0-57-amd64> <cache dir>
set -euo pipefail
K=${1:?kernel release}
out=${2:?cache dir}/vfio-noiommu-$K
[ -f "$out/vfio.ko" ] && exit 0
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
have "linux-headers-$K" || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-headers-$K" >/dev/null
version=$(dpkg-query -W -f='${Version}' "linux-headers-$K")
series=$(echo "$K" | cut -d. -f1,2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "linux-source-$series=$version" >/dev/null 2>&1)
mkdir -p "$work/src"
dpkg-deb --fsys-tarfile "$work"/linux-source-"$series"_*.deb | tar -xO "./usr/src/linux-source-$series.tar.xz" |
  xz -d | tar -x -C "$work/src" --strip-components=3 "linux-source-$series/drivers/vfio/vfio_main.c" \
  "linux-source-$series/drivers/vfio/iova_bitmap.c" "linux-source-$series/drivers/vfio/container.c" "linux-source-$series/drivers/vfio/vfio.h"
# the kernel's own drivers/vfio/Makefile for vfio.ko, with the one option Debian leaves off
printf 'obj-m += vfio.o\nvfio-y += vfio_main.o iova_bitmap.o container.o\nccflags-y += -DCONFIG_VFIO_NOIOMMU=1\n' > "$work/src/Kbuild"
make -s -C "/usr/src/linux-headers-$K" M="$work/src" modules >/dev/null 2>&1
strip --strip-debug "$work/src/vfio.ko"
mkdir -p "$out"
mv "$work/src/vfio.ko" "$out/vfio.ko.tmp" && mv "$out/vfio.ko.tmp" "$out/vfio.ko"
