# vm-setup: scripts/vm/reboot-disk.sh
# vm-disk: reboot.img
# A node that loses power with two pods on igb VFs (first half; cni-reboot-2.sh boots the same disk again).
# /var/lib/cni is an ext4 disk that outlives the boot. Pod A's ADD is followed by a sync, so its record, mark
# and lease are on the disk; pod B's ADD is not, so what of its files survives is up to the kernel. Then the
# kernel stops at once (sysrq b: no sync, no unmount), as on a power cut.
. /mnt/test/vm/scenarios/reboot-lib.sh
$IP netns add podA; $IP netns add podB
conf $VF0 100 02:00:00:00:77:0a | cni ADD podA > /tmp/a.out 2>&1; arc=$?
ok "pod A: ADD on VF 0 with vlan 100" "[ $arc -eq 0 ] && vf_line 0 | grep -q 'vlan 100' && $IP -n podA link show net1"
sync
conf $VF1 101 02:00:00:00:77:0b | cni ADD podB > /tmp/b.out 2>&1; brc=$?
ok "pod B: ADD on VF 1 with vlan 101" "[ $brc -eq 0 ] && vf_line 1 | grep -q 'vlan 101' && $IP -n podB link show net1"
ok "the records carry this boot's ID" "grep -q \"\$(cat /proc/sys/kernel/random/boot_id)\" /var/lib/cni/sriov/podA-net1"
cat /proc/sys/kernel/random/boot_id > /mnt/.cache/vm/reboot-boot1
echo "# $fails failed; power cut now"
if [ $fails -eq 0 ]; then echo 0; else echo 1; fi > /mnt/.cache/vm/run/guest.rc
echo 1 > /proc/sys/kernel/sysrq
echo b > /proc/sysrq-trigger
