# Scenarios 2-4 on real igb VFs: the seeds' NAD with its defaults (trust off) through ADD, DEL, ADD with another
# MAC, DEL; kill -9 mid-ADD then DEL; ADD with the users' NAD through libcni, the VF config on the PF, DEL
# restoring it, ADD/DEL/ADD with another MAC on one VF, DEL after the pod namespace is gone, link_state.
. /mnt/test/vm/scenarios/lib.sh
vfs_up 2
VF0=$(vf_pci 0)
HOSTNAME0=$(ls /sys/bus/pci/devices/$VF0/net/)
ORIGMAC=$(cat /sys/class/net/$HOSTNAME0/address)
echo "# PF $PF, VF0 $VF0 ($HOSTNAME0, $ORIGMAC)"
echo "# before: $(vf_line 0)"
mkdir -p /tmp/net.d
# the plugin runs from the guest's tmpfs, as from a node's disk: exec'd from the 9p share, which has no page
# cache, every call would read its 100 MB again
mkdir -p /tmp/cnibin && cp /mnt/dist/bin/sriov /tmp/cnibin/ && cp -r /mnt/dist/lib /tmp/
export NETCONFPATH=/tmp/net.d CNI_PATH=/tmp/cnibin CNI_IFNAME=net1 CNI_CACHE_DIR=/tmp/cnicache
$IP netns add pod

# the seeds' NAD verbatim, as Multus passes it: deviceID added, the MAC from the pod as runtime config
SEED=/mnt/test/fixtures/seed-configs/nad-sriov-201.json
node -e 'const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); n.deviceID = process.argv[2]; n.capabilities = { mac: true }; console.log(JSON.stringify({ cniVersion: n.cniVersion, name: n.name, plugins: [n] }))' $SEED $VF0 > /tmp/net.d/seed.conflist
INITIAL=$(vf_line 0)
clean_state() { [ -z "$(find /var/lib/cni/sriov -type f 2>/dev/null)" ] && [ -z "$(ls /var/lib/cni/networks/sriov-201 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip')" ]; }
as_before() { [ "$(vf_line 0)" = "$INITIAL" ] && [ "$(cat /sys/class/net/$HOSTNAME0/address 2>/dev/null)" = "$ORIGMAC" ] && clean_state; }
for M in 02:00:00:00:5e:0a 02:00:00:00:5e:0b; do
  CAP_ARGS="{\"mac\":\"$M\"}" $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/seed.out 2>&1 && src=0 || src=$?
  echo "# seed NAD ADD with $M: rc $src; PF: $(vf_line 0)"
  ok "seed NAD (trust off): ADD with MAC $M" "[ $src -eq 0 ] && $IP -n pod link show net1 | grep -q $M"
  ok "  PF shows vlan 201 and $M for vf 0" "vf_line 0 | grep -q 'vlan 201' && vf_line 0 | grep -q $M"
  CAP_ARGS="{\"mac\":\"$M\"}" $CNITOOL del sriov-201 /var/run/netns/pod
  echo "# after DEL: $(vf_line 0)"
  ok "  DEL leaves the VF as before: PF line, netdev name and MAC, no state" "as_before"
done

# kill -9 mid-ADD on a real VF (a runtime's timeout), then DEL
for P in after-move after-ipam; do
  SRIOV_TEST_FAULTS=1 SRIOV_FAULT=$P:kill CAP_ARGS='{"mac":"02:00:00:00:5e:0c"}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/kill.out 2>&1 && krc=0 || krc=$?
  ok "ADD killed at $P fails" "[ $krc -ne 0 ]"
  CAP_ARGS='{"mac":"02:00:00:00:5e:0c"}' $CNITOOL del sriov-201 /var/run/netns/pod > /tmp/killdel.out 2>&1
  echo "# killed at $P, then DEL: $(vf_line 0); $($IP -br link | grep -v '^lo' | tr '\n' ' ')"
  ok "  DEL after the kill leaves the VF as before" "as_before"
done
# ... and at a moment a timer picks, running the plugin as a runtime does
node -e 'const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); n.deviceID = process.argv[2]; n.runtimeConfig = { mac: "02:00:00:00:5e:0d" }; console.log(JSON.stringify(n))' $SEED $VF0 > /tmp/direct.json
for D in 3; do
  env CNI_COMMAND=ADD CNI_CONTAINERID=timer CNI_NETNS=/var/run/netns/pod /tmp/cnibin/sriov < /tmp/direct.json > /tmp/direct.out 2>&1 & apid=$!
  sleep $D; kill -9 $apid 2>/dev/null; wait $apid 2>/dev/null
  env CNI_COMMAND=DEL CNI_CONTAINERID=timer CNI_NETNS=/var/run/netns/pod /tmp/cnibin/sriov < /tmp/direct.json > /tmp/direct-del.out 2>&1 && drc=0 || drc=$?
  ok "ADD killed after ${D} s, then DEL: DEL succeeds and the VF is as before" "[ $drc -eq 0 ] && as_before"
done

# issue-14 rules on igb: DEL restores the VF's MACs whoever changed them; the NAD's mtu within the PF's
CAP_ARGS='{}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/nomac.out 2>&1
$IP -n pod link set net1 address 02:00:00:00:5e:0e
echo "# pod changed its MAC: $(vf_line 0)"
$CNITOOL del sriov-201 /var/run/netns/pod
ok "ADD without a MAC, the pod changes it, DEL: the VF is as before" "as_before"
# an admin MAC pinned equal to the netdev's own: igb lists that MAC again once the netdev has it back, so DEL
# pins nothing, and the next ADD with another MAC (trust off) still works
$IP link set $PF vf 0 mac $ORIGMAC
PINNED=$(vf_line 0)
CAP_ARGS='{"mac":"02:00:00:00:5e:0f"}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/pin.out 2>&1 && prc=0 || prc=$?
ok "admin MAC pinned to the netdev's own: ADD with another MAC (trust off)" "[ $prc -eq 0 ] && $IP -n pod link show net1 | grep -q 02:00:00:00:5e:0f"
CAP_ARGS='{"mac":"02:00:00:00:5e:0f"}' $CNITOOL del sriov-201 /var/run/netns/pod
echo "# pinned $ORIGMAC, ADD, DEL: $(vf_line 0)"
ok "  DEL: the PF lists that MAC again, the netdev has it" "[ \"\$(vf_line 0)\" = \"$PINNED\" ] && [ \"\$(cat /sys/class/net/$HOSTNAME0/address)\" = $ORIGMAC ] && clean_state"
CAP_ARGS='{"mac":"02:00:00:00:5e:10"}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/pin2.out 2>&1 && prc=0 || prc=$?
ok "  and the next ADD with another MAC works" "[ $prc -eq 0 ] && $IP -n pod link show net1 | grep -q 02:00:00:00:5e:10"
CAP_ARGS='{"mac":"02:00:00:00:5e:10"}' $CNITOOL del sriov-201 /var/run/netns/pod
$IP link set $PF vf 0 mac 00:00:00:00:00:00
ok "  (the admin MAC cleared again: the VF is as at the start)" "as_before"
node -e 'const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); n.deviceID = process.argv[2]; n.mtu = 9000; console.log(JSON.stringify({ cniVersion: n.cniVersion, name: "mtu", plugins: [n] }))' $SEED $VF0 > /tmp/net.d/mtu.conflist
ORIGMTU=$(cat /sys/class/net/$HOSTNAME0/mtu)
$CNITOOL add mtu /var/run/netns/pod > /tmp/mtu.out 2>&1 && mrc=0 || mrc=$?
echo "# mtu 9000 with the PF at $(cat /sys/class/net/$PF/mtu): rc $mrc $(cat /tmp/mtu.out)"
ok "mtu 9000 above the PF's MTU is refused, naming both" "[ $mrc -ne 0 ] && grep -q 'above the MTU 1500 of the VF.s PF $PF' /tmp/mtu.out && as_before"
$IP link set $PF mtu 9000
$CNITOOL add mtu /var/run/netns/pod > /tmp/mtu.out 2>&1 && mrc=0 || mrc=$?
echo "# mtu 9000 with the PF at 9000: rc $mrc; pod: $($IP -n pod -d link show net1 | head -1)"
ok "mtu 9000 once the PF allows it: the VF in the pod has it" "[ $mrc -eq 0 ] && $IP -n pod link show net1 | grep -q 'mtu 9000'"
$CNITOOL del mtu /var/run/netns/pod
ok "  DEL puts the VF netdev's MTU back" "[ \"\$(cat /sys/class/net/$HOSTNAME0/mtu)\" = $ORIGMTU ] && as_before"
$IP link set $PF mtu 1500
rm /tmp/net.d/mtu.conflist

conflist() {
  echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"plugins\":[{\"type\":\"sriov\",\"deviceID\":\"$VF0\"$2,\"capabilities\":{\"ips\":true,\"mac\":true},\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/tmp/ipam\",\"ranges\":[[{\"subnet\":\"192.168.201.0/24\"}]]}}]}" > /tmp/net.d/$1.conflist
}
rm /tmp/net.d/seed.conflist
conflist sriov-201 ',"vlan":201,"spoofchk":"off","trust":"on","max_tx_rate":100'

t0=$(uptime_s)
CAP_ARGS='{"ips":["192.168.201.2/24"],"mac":"02:00:00:00:c9:02"}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/add.json
echo "# ADD took $(elapsed $t0) s: $(cat /tmp/add.json)"
echo "# pod: $($IP -n pod -br addr show net1)"
echo "# PF: $(vf_line 0)"
ok "pod has net1 with 192.168.201.2/24" "$IP -n pod addr show net1 | grep -q 192.168.201.2/24"
ok "net1 has the requested MAC" "$IP -n pod link show net1 | grep -q 02:00:00:00:c9:02"
ok "the VF netdev left the host" "! $IP link show $HOSTNAME0"
ok "PF shows vlan 201 and the MAC for vf 0" "vf_line 0 | grep -q 'vlan 201' && vf_line 0 | grep -q 02:00:00:00:c9:02"
ok "PF shows spoof checking off and trust on" "vf_line 0 | grep -q 'spoof checking off' && vf_line 0 | grep -q 'trust on'"
ok "PF shows max_tx_rate 100" "vf_line 0 | grep -q 'max_tx_rate 100Mbps'"
ok "CHECK passes" "CAP_ARGS='{\"ips\":[\"192.168.201.2/24\"],\"mac\":\"02:00:00:00:c9:02\"}' $CNITOOL check sriov-201 /var/run/netns/pod"

t0=$(uptime_s)
CAP_ARGS='{"ips":["192.168.201.2/24"],"mac":"02:00:00:00:c9:02"}' $CNITOOL del sriov-201 /var/run/netns/pod
echo "# DEL took $(elapsed $t0) s; PF: $(vf_line 0)"
ok "DEL returns the netdev to the host under its name" "$IP link show $HOSTNAME0"
ok "DEL restores the netdev MAC" "[ \"\$(cat /sys/class/net/$HOSTNAME0/address)\" = $ORIGMAC ]"
ok "DEL restores vlan 0, spoof checking on, trust off, no rate" "! vf_line 0 | grep -q 'vlan 201' && vf_line 0 | grep -q 'spoof checking on' && vf_line 0 | grep -q 'trust off' && ! vf_line 0 | grep -q max_tx_rate"
ok "a second DEL succeeds" "$CNITOOL del sriov-201 /var/run/netns/pod"

# the igb quirk: a second pod with another MAC on the same VF
CAP_ARGS='{"mac":"02:00:00:00:c9:03"}' $CNITOOL add sriov-201 /var/run/netns/pod > /tmp/add2.json 2>&1 || true
ok "ADD again with another MAC on the same VF" "$IP -n pod link show net1 | grep -q 02:00:00:00:c9:03"
ok "  and the PF follows" "vf_line 0 | grep -q 02:00:00:00:c9:03"
# the pod dies before DEL: the kernel returns the VF to the host under its pod name
$IP netns del pod
sleep 1
echo "# after netns deletion: $($IP -br link | grep -v '^lo' | tr '\n' ' ')"
ok "DEL after the pod namespace is gone" "$CNITOOL del sriov-201 /var/run/netns/pod"
ok "  the netdev is back under its original name" "$IP link show $HOSTNAME0"
ok "  no net1 left on the host" "! $IP link show net1"
ok "  the VF config is clean" "! vf_line 0 | grep -q 'vlan 201'"

# link_state is not supported by igb: ADD fails clearly and changes nothing
conflist ls ',"vlan":300,"link_state":"enable"'
$IP netns add pod2
before=$(vf_line 0)
$CNITOOL add ls /var/run/netns/pod2 > /tmp/ls.out 2>&1 && lsrc=0 || lsrc=$?
echo "# link_state ADD: rc $lsrc: $(cat /tmp/ls.out)"
ok "link_state on igb fails ADD" "[ $lsrc -ne 0 ]"
ok "  with an error naming link_state" "grep -q link_state /tmp/ls.out"
ok "  and leaves the VF as it was" "[ \"\$(vf_line 0)\" = \"$before\" ] && $IP link show $HOSTNAME0"

# a node upgraded in place: a pod Go sriov-cni attached (its record as Go writes it, "ipam" with only its type)
# whose application changed the MAC; our DEL, given the seeds' NAD, brings the netdev home (the kernel names the
# VF as its parent device) and releases the lease from the NAD's store
$IP netns add gopod
$IP link set $HOSTNAME0 netns gopod
$IP -n gopod link set $HOSTNAME0 name net1
$IP -n gopod link set net1 address 02:00:00:00:60:01
$IP link set $PF vf 0 vlan 201
mkdir -p /var/lib/cni/sriov/pci /var/lib/cni/networks/sriov-201
printf /var/run/netns/gopod > /var/lib/cni/sriov/pci/$VF0
printf 'gocid\r\nnet1' > /var/lib/cni/networks/sriov-201/192.168.201.9
echo "{\"cniVersion\":\"0.3.1\",\"name\":\"sriov-201\",\"type\":\"sriov\",\"ipam\":{\"type\":\"host-local\"},\"deviceID\":\"$VF0\",\"vlan\":201,\"Master\":\"$PF\",\"VFID\":0,\"MAC\":\"\",\"OrigVfState\":{\"HostIFName\":\"$HOSTNAME0\",\"SpoofChk\":true,\"Trust\":false,\"AdminMAC\":\"00:00:00:00:00:00\",\"EffectiveMAC\":\"$ORIGMAC\",\"Vlan\":0,\"VlanQoS\":0,\"MinTxRate\":0,\"MaxTxRate\":0,\"LinkState\":0,\"MTU\":1500}}" > /var/lib/cni/sriov/gocid-net1
node -e 'const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); n.deviceID = process.argv[2]; console.log(JSON.stringify(n))' $SEED $VF0 > /tmp/godel.json
env CNI_COMMAND=DEL CNI_CONTAINERID=gocid CNI_NETNS=/var/run/netns/gopod /tmp/cnibin/sriov < /tmp/godel.json > /tmp/godel.out 2>&1 && grc=0 || grc=$?
echo "# Go record DEL: rc $grc; PF: $(vf_line 0); pod: $($IP -n gopod -br link | tr '\n' ' ')"
ok "DEL of a Go sriov-cni attachment whose pod changed the MAC: the VF, its netdev and the store as before" "[ $grc -eq 0 ] && as_before"
$IP netns del gopod

# scenario 5: a VF bound to vfio-pci (DPDK mode) is configured on the PF and nothing is moved
VF1=$(vf_pci 1)
echo vfio-pci > /sys/bus/pci/devices/$VF1/driver_override
echo $VF1 > /sys/bus/pci/devices/$VF1/driver/unbind
echo $VF1 > /sys/bus/pci/drivers_probe
echo "{\"cniVersion\":\"1.0.0\",\"name\":\"dpdk\",\"plugins\":[{\"type\":\"sriov\",\"deviceID\":\"$VF1\",\"vlan\":100}]}" > /tmp/net.d/dpdk.conflist
$IP netns add dpdkpod
$CNITOOL add dpdk /var/run/netns/dpdkpod > /tmp/dpdk.json 2>&1 && drc=0 || drc=$?
echo "# DPDK ADD rc $drc: $(tr -d '\n ' < /tmp/dpdk.json)"
# libcni 1.1 (Debian) predates spec 1.1 and drops pciID from results; the namespace tier checks it directly
ok "DPDK ADD succeeds and reports the interface" "[ $drc -eq 0 ] && grep -q dpdkpod /tmp/dpdk.json"
ok "  and sets vlan 100 on the PF" "vf_line 1 | grep -q 'vlan 100'"
ok "  and moves nothing into the pod" "[ \"\$($IP -n dpdkpod -br link | grep -vc '^lo')\" = 0 ]"
ok "DPDK DEL works the first time" "$CNITOOL del dpdk /var/run/netns/dpdkpod"
ok "  and clears the vlan" "! vf_line 1 | grep -q 'vlan 100'"
echo '' > /sys/bus/pci/devices/$VF1/driver_override
echo $VF1 > /sys/bus/pci/devices/$VF1/driver/unbind
echo $VF1 > /sys/bus/pci/drivers_probe

# scenario 7 (reported, not asserted): two pods on VFs of one PF, VLAN 201, ping each other?
for i in 1 2 3 4 5 6 7 8 9 10; do [ -n "$(ls /sys/bus/pci/devices/$VF1/net 2>/dev/null)" ] && break; sleep 0.3; done
conflist a ',"vlan":201'
sed "s/\"name\":\"a\"/\"name\":\"b\"/; s/$VF0/$VF1/; s#/tmp/ipam#/tmp/ipamb#" /tmp/net.d/a.conflist > /tmp/net.d/b.conflist
$IP netns add pa; $IP netns add pb
CAP_ARGS='{"ips":["192.168.201.10/24"]}' CNI_CONTAINERID=pa $CNITOOL add a /var/run/netns/pa >/dev/null 2>&1
CAP_ARGS='{"ips":["192.168.201.11/24"]}' CNI_CONTAINERID=pb $CNITOOL add b /var/run/netns/pb >/dev/null 2>&1
if $IP netns exec pa ping -c 2 -W 2 192.168.201.11 > /tmp/ping.out 2>&1; then echo "# scenario 7: VF-to-VF ping over VLAN 201 works"; else echo "# scenario 7: VF-to-VF ping over VLAN 201 fails on emulated igb: $(tail -2 /tmp/ping.out | tr '\n' ' ')"; fi
CNI_CONTAINERID=pa $CNITOOL del a /var/run/netns/pa >/dev/null 2>&1
CNI_CONTAINERID=pb $CNITOOL del b /var/run/netns/pb >/dev/null 2>&1
finish
