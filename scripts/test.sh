#!/usr/bin/env bash
# The project's test command (README): installs what the tiers need, builds, runs every tier with tap and
# prints one closing line "N passed, N failed". Usage: scripts/test.sh [unit|netns|e2e|operator|vm ...] (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
tiers=("$@"); [ ${#tiers[@]} -gt 0 ] || tiers=(unit netns e2e operator vm)

need_root() { [ "$(id -u)" = 0 ] || { echo "test.sh: the $1 tier needs root (network namespaces)" >&2; exit 2; }; }

install_debs() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null || { echo "npm ci failed" >&2; exit 1; }
for t in "${tiers[@]}"; do
  case $t in
    netns) need_root netns; install_debs iproute2 tcpdump gcc strace ;;
    e2e) need_root e2e; install_debs iproute2 containernetworking-plugins golang-go golang-github-appc-cni-dev python3-jsonschema ;;
    # unshare and mount (util-linux), overlayfs and chroot: the operator's containers without a container engine
    operator) need_root operator; install_debs iproute2 util-linux mount coreutils python3-jsonschema ;;
    vm) need_root vm; install_debs iproute2 golang-go golang-github-appc-cni-dev ;;  # scripts/vm/run.sh installs QEMU, the kernel and busybox itself
  esac
done
echo "== build"
npm run -s build || { echo "build failed" >&2; exit 1; }
npx tsc --noEmit -p . || { echo "typecheck failed" >&2; exit 1; }

pass=0; fail=0; rc=0
for t in "${tiers[@]}"; do
  [ -d "test/$t" ] && ls test/$t/*.test.ts >/dev/null 2>&1 || { echo "== tier $t: no tests"; continue; }
  echo "== tier $t"
  log=$(mktemp)
  # namespace and VM tests share kernel state: run their files one at a time
  jobs=2; [ "$t" = unit ] || jobs=1
  timeout=120; [ "$t" = vm ] && timeout=1800 # a VM boot under TCG and its scenarios take minutes
  npx tap --jobs=$jobs --timeout=$timeout test/$t/*.test.ts 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  summary=$(grep -E '^# \{ total: ' "$log" | tail -1)
  p=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary"); f=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  rm -f "$log"
done
[ $rc = 0 ] || [ $fail -gt 0 ] || fail=1
echo "$pass passed, $fail failed"
exit $rc
