# vm-disk: reboot.img
# The node of cni-reboot-1.sh after its power cut: a new boot, the VFs created again, VF 0 given vlan 7 by
# boot-time configuration. The next pod's ADD takes VF 0 from pod A without restoring what pod A's ADD saw
# before the restart; pod A's late DEL (the runtime cleaning up its sandbox) leaves the next pod's VF alone and
# releases pod A's lease; whatever of pod B's files survived is cleaned up by its DEL; nothing is left.
. /mnt/test/vm/scenarios/reboot-lib.sh
leases() { grep -l "^$1" /var/lib/cni/networks/reboot/* 2>/dev/null; }
BOOT1=$(cat /mnt/.cache/vm/reboot-boot1 2>/dev/null)
ok "a new boot" "[ -n \"$BOOT1\" ] && [ \"\$(cat /proc/sys/kernel/random/boot_id)\" != \"$BOOT1\" ]"
echo "# left on the disk: $(cd /var/lib/cni && find . -type f | tr '\n' ' ')"
ok "pod A's record, mark and lease were on the disk (synced), its record with the first boot's ID" "grep -q $BOOT1 /var/lib/cni/sriov/podA-net1 && [ -f /var/lib/cni/sriov/pci/$VF0 ] && leases podA"
$IP link set $PF vf 0 vlan 7
ATBOOT0=$(vf_line 0); NETDEV0=$(ls /sys/bus/pci/devices/$VF0/net/); MAC0=$(cat /sys/class/net/$NETDEV0/address)
ATBOOT1=$(vf_line 1); NETDEV1=$(ls /sys/bus/pci/devices/$VF1/net/)
echo "# at boot: $ATBOOT0 ($NETDEV0 $MAC0); $ATBOOT1 ($NETDEV1)"
$IP netns add next
conf $VF0 200 02:00:00:00:77:0c | cni ADD next > /tmp/next.out 2>&1; nrc=$?
echo "# next pod's ADD: rc $nrc; $(grep -o 'reclaiming[^"]*' /tmp/next.out)"
ok "the next pod's ADD takes VF 0" "[ $nrc -eq 0 ] && vf_line 0 | grep -q 'vlan 200' && $IP -n next link show net1"
ok "  its original state is the VF as at boot (vlan 7), not pod A's" "grep -q '\"vlan\":7' /var/lib/cni/sriov/next-net1"
ok "  pod A's lease is released" "! leases podA"
conf $VF0 100 02:00:00:00:77:0a | cni DEL podA > /tmp/adel.out 2>&1; adrc=$?
ok "pod A's late DEL succeeds" "[ $adrc -eq 0 ]"
ok "  and leaves the next pod's VF alone" "vf_line 0 | grep -q 'vlan 200' && $IP -n next link show net1 | grep -q 02:00:00:00:77:0c"
conf $VF0 200 02:00:00:00:77:0c | cni DEL next > /tmp/ndel.out 2>&1
ok "the next pod's DEL puts VF 0 back as it was at boot" "[ \"\$(vf_line 0)\" = \"$ATBOOT0\" ] && [ \"\$(cat /sys/class/net/$NETDEV0/address)\" = $MAC0 ]"
conf $VF1 101 02:00:00:00:77:0b | cni DEL podB > /tmp/bdel.out 2>&1; bdrc=$?
echo "# pod B's DEL: rc $bdrc $(head -c 300 /tmp/bdel.out)"
ok "pod B's DEL (whatever of its files survived) succeeds and leaves VF 1 as at boot" "[ $bdrc -eq 0 ] && [ \"\$(vf_line 1)\" = \"$ATBOOT1\" ] && [ -e /sys/class/net/$NETDEV1 ] && ! leases podB"
ok "no record, mark or lease left (an unreadable record set aside is allowed)" "[ -z \"\$(find /var/lib/cni/sriov -type f ! -name '.unreadable-*' ! -name '*.lock' ! -path '*/.addons/*')\" ] && [ -z \"\$(ls /var/lib/cni/networks/reboot | grep -v -e '^lock$' -e '^last_reserved_ip')\" ]"
$IP netns add again
conf $VF1 102 02:00:00:00:77:0d | cni ADD again > /tmp/again.out 2>&1; grc=$?
ok "VF 1 serves a new pod" "[ $grc -eq 0 ] && vf_line 1 | grep -q 'vlan 102'"
conf $VF1 102 02:00:00:00:77:0d | cni DEL again > /dev/null 2>&1
ok "  and its DEL puts it back as at boot" "[ \"\$(vf_line 1)\" = \"$ATBOOT1\" ]"
umount /var/lib/cni
finish
