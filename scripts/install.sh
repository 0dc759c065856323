#!/usr/bin/env bash
# Installs the sriov CNI plugin atomically: the binary is written beside the target and renamed into place,
# so a runtime calling the plugin never sees a partial file. Usage: scripts/install.sh [DIR] [--host-local]
# (--host-local also installs the host-local name; by default the reference host-local is left alone).
set -euo pipefail
dir=/opt/cni/bin; with_host_local=0
for a in "$@"; do case $a in --host-local) with_host_local=1 ;; *) dir=$a ;; esac; done
src="$(cd "$(dirname "$0")/.." && pwd)/dist/bin/sriov"
[ -x "$src" ] || { echo "install.sh: $src is missing: run npm run build first" >&2; exit 1; }
mkdir -p "$dir"
place() {
  local tmp; tmp=$(mktemp "$dir/.$1.XXXXXX")
  cp "$src" "$tmp"; chmod 0755 "$tmp"; sync "$tmp"
  # on disk, its written pages dropped and read back from disk, as deploy/cni-entrypoint.sh does
  dd if="$tmp" iflag=nocache count=0 status=none 2>/dev/null && cat "$tmp" > /dev/null || true
  mv -f "$tmp" "$dir/$1"
}
place sriov
[ $with_host_local = 1 ] && place host-local
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$dir/sriov" >/dev/null || { echo "install.sh: $dir/sriov does not answer VERSION" >&2; exit 1; }
echo "installed $dir/sriov"
