#!/usr/bin/env bash
# Runs the demo container (bundles/demo) with this checkout's tsrun: it prints
# its hostname, `id`, its pid (1) and its mounts from inside the container.
#   hack/demo.sh        (or: npm run demo), as root, after hack/install.sh
# hack/install.sh ends by running it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "hack/demo.sh: run as root (the demo container needs it)" >&2
  exit 1
fi
tsrun="$PWD/bin/tsrun"
if [ ! -x "$tsrun" ] || [ ! -e bundles/demo/rootfs/bin/sh ]; then
  echo "hack/demo.sh: no $tsrun or bundles/demo/rootfs: run hack/install.sh (or npm run build && npm run rootfs) first" >&2
  exit 1
fi

id=tsrun-demo
# A demo left by an interrupted earlier run would make `run` refuse the id.
"$tsrun" delete --force "$id"
echo "--- tsrun run --bundle bundles/demo $id"
exec "$tsrun" run --bundle bundles/demo "$id"
