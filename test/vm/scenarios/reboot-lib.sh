# The node both cni-reboot scenarios boot: /var/lib/cni on the disk that outlives the boot, two igb VFs, the
# plugin copied to tmpfs, a NAD on VF $1 with vlan $2 and mac $3 (conf), and a verb run as a runtime runs it (cni).
. /mnt/test/vm/scenarios/lib.sh
mkdir -p /var/lib/cni && mount -t ext4 /dev/vda /var/lib/cni
vfs_up 2
VF0=$(vf_pci 0); VF1=$(vf_pci 1)
mkdir -p /tmp/cnibin && cp /mnt/dist/bin/sriov /tmp/cnibin/ && cp -r /mnt/dist/lib /tmp/
conf() { echo "{\"cniVersion\":\"1.0.0\",\"name\":\"reboot\",\"type\":\"sriov\",\"deviceID\":\"$1\",\"vlan\":$2,\"mac\":\"$3\",\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"192.168.77.0/24\"}]]}}"; }
cni() { env CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/var/run/netns/$2 CNI_IFNAME=net1 CNI_PATH=/tmp/cnibin /tmp/cnibin/sriov; }
