# The demo inside the VM: the same journey as the simulated one, on real igb VFs.
cd /mnt && DEMO_REAL=1 SRIOVDP_BIN=/mnt/dist/bin/sriovdp CNITOOL=$(ls /mnt/.cache/cnitool/*/cnitool | head -1) node dist/demo.cjs
