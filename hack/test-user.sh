#!/usr/bin/env bash
# Test set-up for the rootless tests: an unprivileged user, tsrun-rootless,
# with 65536 subordinate uids and gids, and Debian's uidmap package
# (newuidmap/newgidmap). Idempotent. Run as root: sudo hack/test-user.sh
set -euo pipefail
user=tsrun-rootless
first=3000000   # a subordinate range far from the ones useradd hands out
count=65536

if [ "$(id -u)" != 0 ]; then
  echo "hack/test-user.sh: run as root" >&2
  exit 1
fi
if ! command -v newuidmap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uidmap >/dev/null
fi
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
fi
touch /etc/subuid /etc/subgid
grep -q "^$user:" /etc/subuid || echo "$user:$first:$count" >>/etc/subuid
grep -q "^$user:" /etc/subgid || echo "$user:$first:$count" >>/etc/subgid
