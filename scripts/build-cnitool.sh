#!/usr/bin/env bash
# Builds test/e2e/cnitool against Debian's libcni (golang-github-appc-cni-dev) in GOPATH mode; the binary is
# cached in .cache/cnitool/<source hash>/cnitool. Prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in golang-go golang-github-appc-cni-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go golang-github-appc-cni-dev >/dev/null; break; }
done
hash=$(cat test/e2e/cnitool/main.go | sha256sum | cut -c1-16)
out=.cache/cnitool/$hash/cnitool
if [ ! -x "$out" ]; then
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/src/cnitool" "$(dirname "$out")"
  cp test/e2e/cnitool/main.go "$work/src/cnitool/"
  (cd "$work/src/cnitool" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" go build -o "$OLDPWD/$out" .)
fi
echo "$PWD/$out"
