#!/usr/bin/env bash
# Installs tsrun on a Debian machine and runs the demo container:
#   hack/install.sh            install, then run bundles/demo (hack/demo.sh)
#   hack/install.sh --no-demo  install only
# Run as root (sudo hack/install.sh where you are not). Idempotent: safe to
# run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "hack/install.sh: run as root (containers need it)" >&2
  exit 1
fi

# Host packages: busybox-static for the demo/test rootfs, runc for benchmarks
# and the conformance comparison, podman/conmon and containerd for the tests
# that drive tsrun as their runtime, systemd for the --systemd-cgroup tests
# (booted inside a container, not as the machine's init), node and npm when
# the machine lacks them, uidmap (newuidmap/newgidmap) for rootless containers,
# cpio for the unit test that checks the VM rig's initramfs writer; umoci,
# which the image tests and the image benchmark compare `tsrun bundle --from`
# against, zstd for zstd-compressed layers (the `+zstd` media types), which
# Node 20's zlib can neither make nor read, and time (GNU /usr/bin/time) for
# the benchmark's peak memory of each command; containernetworking-plugins
# (bridge, host-local, loopback, portmap, firewall) and iptables for
# `tsrun spec --network`, whose hooks run them.
packages=(busybox-static runc file iproute2 util-linux podman conmon systemd uidmap cpio umoci zstd time containernetworking-plugins iptables)
command -v node >/dev/null || packages+=(nodejs npm)
# Docker's containerd.io conflicts with Debian's containerd: keep the one there is.
command -v containerd >/dev/null || packages+=(containerd)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
node hack/build-rootfs.js
# Puts the launcher on PATH as `tsrun` (a link to bin/tsrun).
ln -sf "$PWD/bin/tsrun" /usr/local/bin/tsrun

if [ "${1:-}" != "--no-demo" ]; then
  hack/demo.sh
fi
