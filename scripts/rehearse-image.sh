#!/usr/bin/env bash
# Runs the Dockerfile's steps without a container engine, in a temporary directory, and checks the resulting /app
# layout: every entry point the manifests name starts, the native addon loads, `ambit manifest generate` works.
# For machines where `docker build` is not available (CI here); it needs the npm registry, like the image build.
# Usage: scripts/rehearse-image.sh [WORKDIR]   (default: a new temporary directory, removed at the end)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/ambit-image-XXXXXX)}
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
build=$work/build app=$work/app
mkdir -p "$build" "$app"

echo "== build stage (FROM node:20-slim AS build)"
cp "$repo"/package.json "$repo"/package-lock.json "$repo"/tsconfig.json "$build"/
(cd "$build" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
cp -r "$repo"/src "$repo"/native "$build"/
rm -rf "$build"/native/build
(cd "$build" && npx tsc -p tsconfig.json && npx node-gyp rebuild -C native --loglevel=error >/dev/null && npm prune --omit=dev --loglevel=error)

echo "== runtime stage"
mkdir -p "$app"/dist "$app"/native/build/Release "$app"/src/xds
cp -r "$build"/node_modules "$app"/
cp -r "$build"/dist/src "$app"/dist/src
cp "$build"/native/build/Release/ambit_net.node "$app"/native/build/Release/
cp "$repo"/package.json "$app"/
cp "$repo"/native/binding.gyp "$app"/native/
cp -r "$repo"/bin "$repo"/daemonset "$repo"/waypoint "$repo"/cni "$app"/
cp -r "$repo"/src/xds/proto "$app"/src/xds/proto

echo "== checks"
cd "$app"
node -e "require('./native/build/Release/ambit_net.node')" && echo "native addon loads"
PATH=$app/bin:$PATH ambit manifest generate --image rehearsal.example/ambit:1 | grep -c '^kind:' | xargs echo "manifest objects:"
for entry in $(grep -ho '/app/dist/src/[a-z/-]*\.js' "$repo"/daemonset/*.yaml "$repo"/waypoint/*.yaml | sort -u); do
  file=${entry#/app/}
  [ -f "$file" ] || { echo "missing entry point $entry" >&2; exit 1; }
  # Each main prints its usage (or a missing-flag error) and exits 1 without flags; a crash on load would say more.
  out=$(timeout 10 node "$file" 2>&1 || true)
  case "$out" in *Error:*|*"Cannot find module"*) echo "$entry fails to load: $out" >&2; exit 1;; esac
  echo "entry point $entry loads: ${out%%$'\n'*}"
done
bash -n cni/install-cni.sh && echo "cni/install-cni.sh parses"
echo "image layout OK ($(du -sh "$app" | cut -f1))"
