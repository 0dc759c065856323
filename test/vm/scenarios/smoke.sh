# Smoke: the guest sees the igb PF, creates VFs, and runs node.
set -e
pf=$(ls /sys/bus/pci/drivers/igb/*/net/ | head -1)
echo "pf=$pf"
echo 2 > /sys/class/net/$pf/device/sriov_numvfs
sleep 1
ls -l /sys/class/net/$pf/device/ | grep virtfn
/sbin/ip link show $pf
node -e 'console.log("node", process.version)'
