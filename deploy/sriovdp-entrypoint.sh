#!/bin/sh
# Entrypoint of the sriov-device-plugin image. It takes the arguments of sriov-network-device-plugin's own
# image, so that sriov-network-operator (--log-level=10 --resource-prefix=... --config-file=/etc/pcidp/$NODE
# [--use-cdi]) and existing DaemonSets run it unchanged, and gives sriovdp the glog flags that image gives:
#
#   --log-dir=DIR            also log to /var/log/DIR/sriovdp.log (glog: --log_dir /var/log/DIR --alsologtostderr)
#   --log-level=N            glog verbosity (default 10): 0-2 info, 3-4 debug, 5 and up trace
#   --resource-prefix=P      resource name prefix (sriovdp's default: intel.com)
#   --config-file=FILE       the config (sriovdp's default: /etc/pcidp/config.json)
#   --use-cdi                CDI spec files in /var/run/cdi; Allocate answers with CDI device names
#   -h, --help               this text
#
# sriovdp's own flags (--http-addr, --allocation-policy, ...) are not taken here: run /usr/bin/sriovdp as the
# container's command for those. Test hook: SRIOVDP, the executable to run (default /usr/bin/sriovdp).
set -eu

LOG_DIR=
LOG_LEVEL=10
RESOURCE_PREFIX=
CONFIG_FILE=
USE_CDI=0

usage() {
  printf 'Runs the SR-IOV device plugin (sriovdp) with the arguments of sriov-network-device-plugin'"'"'s image.\n\n'
  printf '%s\n' "$0" '	-h --help' "	--log-dir=$LOG_DIR" "	--log-level=$LOG_LEVEL" "	--resource-prefix=$RESOURCE_PREFIX" "	--config-file=$CONFIG_FILE" '	--use-cdi'
}

for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --log-dir=*) LOG_DIR=${arg#*=} ;;
    --log-level=*) LOG_LEVEL=${arg#*=} ;;
    --resource-prefix=*) RESOURCE_PREFIX=${arg#*=} ;;
    --config-file=*) CONFIG_FILE=${arg#*=} ;;
    --use-cdi) USE_CDI=1 ;;
    *) echo "ERROR: unknown parameter \"${arg%%=*}\"" >&2; usage >&2; exit 1 ;;
  esac
done

set -- -v "$LOG_LEVEL"
if [ -n "$LOG_DIR" ]; then
  mkdir -p "/var/log/$LOG_DIR" || { echo "ERROR: cannot create /var/log/$LOG_DIR (a read-only root filesystem needs a volume there)" >&2; exit 1; }
  set -- "$@" --log_dir "/var/log/$LOG_DIR" --alsologtostderr
else
  set -- "$@" --logtostderr
fi
[ -z "$RESOURCE_PREFIX" ] || set -- "$@" --resource-prefix "$RESOURCE_PREFIX"
[ -z "$CONFIG_FILE" ] || set -- "$@" --config-file "$CONFIG_FILE"
[ "$USE_CDI" = 0 ] || set -- "$@" --use-cdi
exec "${SRIOVDP:-/usr/bin/sriovdp}" "$@"
