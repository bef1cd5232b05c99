#!/usr/bin/env bash
# Installs what the VM test suite (npm run test:vm) needs from Debian's
# packages: qemu to run the guests, Debian's kernel (its modules include
# virtio-9p, which cloud kernels lack) to boot them, xz to unpack it. The
# guests run the host's own files, so nothing else is installed or
# downloaded. Part of the test set-up, not of tsrun's install.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "hack/vm/setup.sh: run as root: sudo $0" >&2
  exit 1
fi
packages=(qemu-system-x86 linux-image-amd64 xz-utils file)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
