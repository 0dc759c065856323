# Scenarios 1, 5 and 6: sriovdp on real igb VFs with the kubelet stand-in (test/vm/guest/dp-scenario.ts).
cd /mnt && SRIOVDP_BIN=/mnt/dist/bin/sriovdp node dist/vm/dp-scenario.cjs
