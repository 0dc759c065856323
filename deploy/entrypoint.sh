#!/bin/sh
# Container entrypoint.
#   entrypoint.sh sriovdp [flags]     run the device plugin
#   entrypoint.sh install-cni [DIR]   install the sriov CNI plugin into DIR (default /host/opt/cni/bin)
#                                     atomically, verify it, then stay idle (INSTALL_ONCE=1: exit instead)
set -eu
SRIOV_SOURCE=${SRIOV_SOURCE:-/usr/bin/sriov}

install_cni() {
  dir=${1:-/host/opt/cni/bin}
  mkdir -p "$dir"
  want=$(sha256sum "$SRIOV_SOURCE" | cut -d' ' -f1)
  # the copy lands beside the target and is renamed over it: a runtime executing the plugin meanwhile
  # runs either the old file or the new one, never a partial one
  tmp=$(mktemp "$dir/.sriov.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  cat "$SRIOV_SOURCE" > "$tmp"
  chmod 0755 "$tmp"
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "install-cni: checksum mismatch for the copy in $dir ($got, expected $want)" >&2
    exit 1
  fi
  if ! echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$tmp" | grep -q supportedVersions; then
    echo "install-cni: the copied plugin does not answer CNI_COMMAND=VERSION" >&2
    exit 1
  fi
  mv -f "$tmp" "$dir/sriov"
  trap - EXIT
  echo "install-cni: installed $dir/sriov ($want)"
}

cmd=${1:-sriovdp}
[ $# -gt 0 ] && shift
case $cmd in
  sriovdp) exec /usr/bin/sriovdp "$@" ;;
  install-cni)
    install_cni "$@"
    [ "${INSTALL_ONCE:-0}" = 1 ] && exit 0
    trap 'exit 0' TERM INT
    while :; do sleep 3600 & wait $!; done
    ;;
  *) echo "entrypoint: unknown command $cmd (sriovdp | install-cni)" >&2; exit 2 ;;
esac
