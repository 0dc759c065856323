#!/usr/bin/env bash
# What the VM tier needs on the host: QEMU 10 from bookworm-backports (its igb model has SR-IOV), busybox,
# cpio and kmod for the initramfs. Idempotent.
set -euo pipefail
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if ! ls /etc/apt/sources.list.d/ | grep -q backports; then
  uri=$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources | awk '{print $2}')
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${uri:-http://deb.debian.org/debian}" > /etc/apt/sources.list.d/backports.sources
  apt-get update -qq
fi
missing=()
for p in busybox-static cpio kmod iproute2; do have "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; fi
if ! qemu-system-x86_64 --version 2>/dev/null | grep -qE 'version (9|[1-9][0-9])\.'; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
fi
