# vm-kernel-args: intel_iommu=off
# vm-setup: scripts/vm/noiommu-vfio.sh
# sriovdp on a VF bound to vfio-pci without an IOMMU (enable_unsafe_noiommu_mode): the VM boots with its
# vIOMMU off, and Debian's vfio (built without CONFIG_VFIO_NOIOMMU) is swapped for the same source with it.
. /mnt/test/vm/scenarios/lib.sh
for m in vfio_pci vfio_pci_core vfio_iommu_type1 vfio; do rmmod $m 2>/dev/null; done # those loaded at boot
insmod /mnt/.cache/vm/vfio-noiommu-$(uname -r)/vfio.ko enable_unsafe_noiommu_mode=1
modprobe vfio-pci
ok "vfio loaded with no-IOMMU mode" "[ \"\$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)\" = Y ]"
ok "no IOMMU: the igb PF has no IOMMU group" "[ ! -e /sys/class/net/$PF/device/iommu_group ]"
cd /mnt && SRIOVDP_BIN=/mnt/dist/bin/sriovdp node dist/vm/dp-noiommu.cjs && nrc=0 || nrc=$?
ok "the guest program's checks" "[ $nrc -eq 0 ]"
finish
