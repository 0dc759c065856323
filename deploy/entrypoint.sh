#!/bin/sh
# Entrypoint of the sriov-ts image.
#
#   entrypoint.sh sriovdp [flags]     run the device plugin (flags as for sriovdp: --config-file, --http-addr, ...)
#   entrypoint.sh install-cni [DIR]   install the sriov CNI plugin into DIR (default /host/opt/cni/bin), verify it,
#                                     then stay idle until SIGTERM (INSTALL_ONCE=1: exit after installing)
#
# install-cni writes the copy to a temporary file in DIR (same filesystem), checks that its sha256 equals the
# source's and that it answers CNI_COMMAND=VERSION, and only then renames it over DIR/sriov. A runtime executing
# the plugin meanwhile runs either the old file or the new one, never a partial one; a copy that fails any check
# is removed and the plugin already installed stays as it was.
#
# Environment:
#   SRIOV_SOURCE         the plugin to install (default /usr/bin/sriov)
#   INSTALL_ONCE=1       exit 0 after a successful install instead of idling
#   INSTALL_CNI_AFTER_COPY
#                        test hook: an executable run as `HOOK TMPFILE` between the copy and its checks
#                        (the tests use it to corrupt the copy); unset in the DaemonSet
set -eu

SRIOV_SOURCE=${SRIOV_SOURCE:-/usr/bin/sriov}
TMP=

log() { echo "install-cni: $*"; }
die() { echo "install-cni: $*" >&2; exit 1; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# prints the plugin's VERSION answer; fails unless it lists supportedVersions
cni_version() {
  out=$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$1" 2>&1) || true
  case $out in
    *supportedVersions*) echo "$out" ;;
    *) echo "install-cni: $1 does not answer CNI_COMMAND=VERSION: $out" >&2; return 1 ;;
  esac
}

install_cni() {
  dir=${1:-/host/opt/cni/bin}
  [ -f "$SRIOV_SOURCE" ] || die "source plugin $SRIOV_SOURCE does not exist"
  mkdir -p "$dir"
  # temp files left by an installer that was killed (SIGKILL, node crash) more than 10 minutes ago
  find "$dir" -maxdepth 1 -name '.sriov.tmp.*' -mmin +10 -exec rm -f {} + 2>/dev/null || true

  want=$(sha256 "$SRIOV_SOURCE")
  TMP=$(mktemp "$dir/.sriov.tmp.XXXXXX")
  trap 'rm -f "$TMP"' EXIT
  cat "$SRIOV_SOURCE" > "$TMP" || die "copying $SRIOV_SOURCE to $dir failed"
  chmod 0755 "$TMP"
  if [ -n "${INSTALL_CNI_AFTER_COPY:-}" ]; then "$INSTALL_CNI_AFTER_COPY" "$TMP"; fi

  got=$(sha256 "$TMP")
  [ "$got" = "$want" ] || die "checksum mismatch for the copy in $dir: $got, expected $want; $dir/sriov left unchanged"
  cni_version "$TMP" > /dev/null || die "the copy does not work; $dir/sriov left unchanged"

  mv -f "$TMP" "$dir/sriov"
  trap - EXIT
  TMP=

  # the file a runtime executes from now on
  got=$(sha256 "$dir/sriov")
  [ "$got" = "$want" ] || die "checksum of the installed $dir/sriov is $got, expected $want (replaced by someone else?)"
  version=$(cni_version "$dir/sriov") || die "the installed $dir/sriov does not answer CNI_COMMAND=VERSION"
  log "installed $dir/sriov (sha256 $want)"
  log "VERSION: $version"
}

idle() {
  # PID 1 in a container: without a trap SIGTERM would be ignored and the pod would wait for its grace period
  pid=
  trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 0' TERM INT
  sleep infinity &
  pid=$!
  wait "$pid"
}

cmd=${1:-sriovdp}
[ $# -eq 0 ] || shift
case $cmd in
  sriovdp) exec /usr/bin/sriovdp "$@" ;;
  install-cni)
    [ $# -le 1 ] || { echo "entrypoint: usage: install-cni [DIR]" >&2; exit 2; }
    install_cni "$@"
    [ "${INSTALL_ONCE:-0}" = 1 ] && exit 0
    idle
    ;;
  *) echo "entrypoint: unknown command $cmd (sriovdp [flags] | install-cni [DIR])" >&2; exit 2 ;;
esac
