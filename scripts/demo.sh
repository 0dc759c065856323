#!/usr/bin/env bash
# npm run demo: installs what it needs, builds, and walks through the user journey on real kernel SR-IOV
# (an emulated Intel 82576 in a QEMU VM): allocatable count, Allocate, ADD into a pod, VF config on the PF,
# restore on DEL. `npm run demo -- --simulated` runs the same journey on a simulated node in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, QEMU)" >&2; exit 2; }
need=()
for p in iproute2 golang-go golang-github-appc-cni-dev; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
npm run -s build
scripts/build-cnitool.sh >/dev/null
node scripts/build.mjs demo
if [ "${1:-}" = --simulated ]; then
  exec node dist/demo.cjs
fi
echo "Booting a VM with an emulated SR-IOV NIC (QEMU igb, software emulation: every step is slower than on hardware)..."
scripts/vm/run.sh scripts/vm/demo-guest.sh 600
