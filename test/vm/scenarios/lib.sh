# Helpers for guest scenarios (busybox sh): TAP-style checks and the igb PF with VFs.
fails=0
ok() { if eval "$2" >/dev/null 2>&1; then echo "ok - $1"; else echo "not ok - $1"; echo "#   failed: $2"; fails=$((fails + 1)); fi; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN{printf "%.2f", b - a}'; }
IP=/sbin/ip
PF=$(ls /sys/bus/pci/drivers/igb/*/net/ | head -1)
vfs_up() {
  echo "$1" > /sys/class/net/$PF/device/sriov_numvfs
  $IP link set $PF up
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -n "$(ls /sys/class/net/$PF/device/virtfn0/net 2>/dev/null)" ] && break; sleep 0.3; done
}
vf_pci() { basename "$(readlink /sys/class/net/$PF/device/virtfn$1)"; }
vf_line() { $IP link show $PF | grep "vf $1 "; }
CNITOOL=$(ls /mnt/.cache/cnitool/*/cnitool | head -1)
finish() { echo "# $fails failed"; [ $fails -eq 0 ]; }
