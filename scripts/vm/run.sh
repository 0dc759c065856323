#!/usr/bin/env bash
# Runs a scenario on real kernel SR-IOV: boots a Debian kernel under QEMU (TCG) with an emulated Intel 82576
# (igb: PF driver igb, VFs igbvf) behind a vIOMMU, shares the project directory with the guest at /mnt and the
# host's /usr/bin at /hostbin (9p), runs the scenario script there and exits with its code.
# Usage: scripts/vm/run.sh <scenario.sh relative to the project> [timeout-seconds]
# The guest's output goes to stdout when it ends; the console log stays in .cache/vm/console.log.
# A scenario may declare, in comment lines of its own: `# vm-kernel-args: <args>` (instead of intel_iommu=on)
# `# vm-setup: <script>` (run on the host before the boot as <script> <kernel release> <cache dir>) and
# `# vm-disk: <image in the cache dir>` (attached as /dev/vda: it outlives the boot, for scenarios that restart).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
scenario=${1:?usage: run.sh <scenario.sh> [timeout]}
timeout_s=${2:-420}
"$ROOT/scripts/vm/install-deps.sh"
CACHE=$ROOT/.cache/vm
mkdir -p "$CACHE"

# kernel: whatever bookworm's linux-image-amd64 points at, cached with its modules and our initramfs
K=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{sub("linux-image-","",$2); print $2; exit}')
[ -n "$K" ] || { apt-get update -qq; K=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{sub("linux-image-","",$2); print $2; exit}'); }
KDIR=$CACHE/kernel-$K
initrd_key=$(cat "$ROOT/scripts/vm/run.sh" | sha256sum | cut -c1-12)
INITRD=$CACHE/initrd-$K-$initrd_key.gz
# (a cache from before ext4 and virtio_blk were extracted is extracted again)
if [ ! -f "$KDIR/vmlinuz" ] || [ -z "$(find "$KDIR/lib" -name 'ext4.ko*' 2>/dev/null)" ]; then
  work=$(mktemp -d)
  (cd "$work" && apt-get download -q "linux-image-$K" >/dev/null 2>&1)
  mkdir -p "$work/x"
  dpkg-deb --fsys-tarfile "$work"/linux-image-"$K"_*.deb | tar -x -C "$work/x" --wildcards './boot/vmlinuz-*' "./lib/modules/$K/modules.*" \
    './lib/modules/*/kernel/drivers/net/*' './lib/modules/*/kernel/net/*' './lib/modules/*/kernel/drivers/dca/*' \
    './lib/modules/*/kernel/drivers/i2c/algos/*' './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/fs/9p/*' \
    './lib/modules/*/kernel/fs/netfs/*' './lib/modules/*/kernel/fs/fscache/*' './lib/modules/*/kernel/drivers/vfio/*' \
    './lib/modules/*/kernel/virt/*' './lib/modules/*/kernel/fs/ext4/*' './lib/modules/*/kernel/fs/jbd2/*' \
    './lib/modules/*/kernel/fs/mbcache.ko*' './lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/crypto/*' \
    './lib/modules/*/kernel/drivers/block/*'
  depmod -b "$work/x" "$K"
  rm -rf "$KDIR"; mkdir -p "$KDIR"
  mv "$work/x/boot/vmlinuz-$K" "$KDIR/vmlinuz"
  mv "$work/x/lib" "$KDIR/lib"
  rm -rf "$work"
fi
if [ ! -f "$INITRD" ]; then
  R=$(mktemp -d)
  mkdir -p $R/{bin,sbin,proc,sys,dev,run,tmp,mnt,hostbin,var,etc,lib/modules/$K}; ln -s /run $R/var/run
  cp /bin/busybox $R/bin/
  for a in $($R/bin/busybox --list); do [ -e $R/bin/$a ] || ln -s busybox $R/bin/$a; done
  cp /usr/sbin/ip $R/sbin/ip
  # the libraries of ip, node (and so of the single executables, which are node) and of cnitool
  for bin in /usr/sbin/ip "$(command -v node)"; do
    for l in $(ldd "$bin" | grep -o '/[^ ]*\.so[^ ]*'); do mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; done
  done
  for m in igb igbvf 8021q veth vfio-pci virtio_pci 9pnet_virtio 9p virtio_blk crc32c_generic ext4; do modprobe -d "$KDIR" -S "$K" --show-depends $m; done |
    awk '$1=="insmod"{print $2}' | sort -u | while read -r f; do rel=${f#$KDIR/}; mkdir -p "$R/$(dirname "$rel")"; cp "$f" "$R/$rel"; done
  cp "$KDIR"/lib/modules/$K/modules.{builtin,builtin.modinfo,order} $R/lib/modules/$K/
  depmod -b $R "$K"
  echo 'root:x:0:0:root:/root:/bin/sh' > $R/etc/passwd
  cat > $R/init <<'EOI'
#!/bin/sh
export PATH=/sbin:/bin:/hostbin HOME=/root
mount -t proc p /proc; mount -t sysfs s /sys; mount -t devtmpfs d /dev; mount -t tmpfs t /run; mount -t tmpfs t /tmp
mkdir -p /run/netns /root
for m in virtio_pci 9pnet_virtio 9p igb igbvf 8021q veth vfio-pci virtio_blk crc32c_generic ext4; do modprobe $m; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /mnt
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostbin /hostbin
out=/mnt/.cache/vm/run; mkdir -p $out
scenario=$(cat /proc/cmdline | tr ' ' '\n' | sed -n 's/^scenario=//p')
cd /mnt && sh "/mnt/$scenario" > $out/guest.out 2>&1; echo $? > $out/guest.rc; sync; poweroff -f
EOI
  chmod +x $R/init
  (cd $R && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"
  rm -rf "$R"
fi

kernel_args=$(sed -n 's/^# vm-kernel-args: //p' "$ROOT/$scenario" | head -1)
setup=$(sed -n 's/^# vm-setup: //p' "$ROOT/$scenario" | head -1)
disk=$(sed -n 's/^# vm-disk: //p' "$ROOT/$scenario" | head -1)
[ -z "$setup" ] || "$ROOT/$setup" "$K" "$CACHE"

start=$(date +%s.%N)
boot() {
  out=$CACHE/run; rm -rf "$out"; mkdir -p "$out"
  timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1536 -M q35,kernel-irqchip=split -device intel-iommu,intremap=on \
    -nographic -no-reboot -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
    -append "console=ttyS0 quiet panic=-1 ${kernel_args:-intel_iommu=on} scenario=$scenario" \
    -netdev user,id=n0,restrict=on -device pcie-root-port,id=rp0,slot=1 -device igb,netdev=n0,bus=rp0 \
    -virtfs local,path="$ROOT",mount_tag=share,security_model=none,id=fs0 \
    -virtfs local,path=/usr/bin,mount_tag=hostbin,security_model=none,readonly=on,id=fs1 \
    ${disk:+-drive file=$CACHE/$disk,format=raw,if=virtio} > "$CACHE/console.log" 2>&1 &
  local qemu=$! waited=0
  # the guest's init creates guest.out as it starts the scenario (~15 s after the boot); one that has not by then
  # hangs while booting (TCG: an RCU stall on a virtual CPU whose timer never fires) and is stopped
  while kill -0 "$qemu" 2>/dev/null; do
    if [ ! -e "$out/guest.out" ] && [ "$waited" -ge "$boot_wait_s" ]; then kill "$qemu" 2>/dev/null || true; break; fi
    sleep 1; waited=$((waited + 1))
  done
  wait "$qemu" || true
}
boot_wait_s=${VM_BOOT_WAIT_S:-180}
boot
# QEMU's TCG now and then aborts on an assertion (with the vIOMMU) or hangs while the guest boots, before the
# guest has run anything: boot again once
if [ ! -e "$out/guest.out" ] || { [ ! -s "$out/guest.out" ] && grep -q 'qemu-system-x86_64: .*Assertion' "$CACHE/console.log"; }; then
  why=$(grep -o 'Assertion.*' "$CACHE/console.log" | head -1 || true)
  [ -n "$why" ] || why="no scenario started within ${boot_wait_s} s; $(grep -o 'rcu: INFO: .*' "$CACHE/console.log" | head -1 || echo 'see the console log')"
  echo "vm: the guest never started the scenario ($why); booting again" >&2
  cp "$CACHE/console.log" "$CACHE/console-first-boot.log"
  boot
fi
end=$(date +%s.%N)
cat "$out/guest.out" 2>/dev/null || true
rc=$(cat "$out/guest.rc" 2>/dev/null || echo 99)
awk -v s="$start" -v e="$end" -v n="$scenario" -v rc="$rc" 'BEGIN{printf "vm: scenario %s exited %s after %.1f s (boot included)\n", n, rc, e - s}' >&2
exit "$rc"
