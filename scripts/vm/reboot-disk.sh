#!/usr/bin/env bash
# vm-setup of test/vm/scenarios/cni-reboot-1.sh: a fresh ext4 disk for /var/lib/cni, which the second boot
# (cni-reboot-2.sh) finds as the first left it. Usage: reboot-disk.sh <kernel release> <cache dir>
set -euo pipefail
img=$2/reboot.img
rm -f "$img"
truncate -s 64M "$img"
mkfs.ext4 -q -F "$img"
