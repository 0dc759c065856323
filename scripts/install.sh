#!/usr/bin/env bash
# Installs the sriov CNI plugin through the image's installer (deploy/cni-entrypoint.sh): copied beside the
# target, flushed, checked (sha256 against dist/bin/sriov, an answer to CNI_COMMAND=VERSION) and only then
# renamed into place, so a runtime never runs a partial, empty or broken plugin and a failed install keeps the
# one there. Usage: scripts/install.sh [DIR] [--host-local] (default /opt/cni/bin; --host-local also installs
# the plugin under the host-local name; by default the reference host-local is left alone).
set -euo pipefail
dir=/opt/cni/bin; with_host_local=0
for a in "$@"; do case $a in --host-local) with_host_local=1 ;; *) dir=$a ;; esac; done
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/dist/bin/sriov"
[ -x "$src" ] || { echo "install.sh: $src is missing: run npm run build first" >&2; exit 1; }
sh "$root/deploy/cni-entrypoint.sh" --cni-bin-dir="$dir" --sriov-bin-file="$src" --no-sleep
if [ $with_host_local = 1 ]; then
  # the installer installs a file under its own name: a link named host-local to the plugin
  named=$(mktemp -d)
  trap 'rm -rf "$named"' EXIT
  ln -s "$src" "$named/host-local"
  sh "$root/deploy/cni-entrypoint.sh" --cni-bin-dir="$dir" --sriov-bin-file="$named/host-local" --no-sleep
fi
