#!/bin/busybox sh
# PID 1 of the VM's initramfs. Loads the modules listed in /modules (virtio,
# 9p, overlay), mounts the host's / (read-only, virtio-9p tag "hostroot")
# under a tmpfs overlay, mounts the run's own directory (tag "vmshare",
# writable: the job and its results) at /tsrun-vm, and switch_roots into the
# overlay running the guest init named by tsrun.init= on the kernel command
# line. The guest writes nothing to the host but that directory.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() {
  echo "tsrun-vm: initramfs: $*" >/dev/console
  echo o >/proc/sysrq-trigger
  sleep 60
}
if grep -q ' tsrun\.probe' /proc/cmdline; then
  # The accelerator probe (see vm.ts): the kernel ran; that is all it asks.
  echo "tsrun-vm: probe ok" >/dev/console
  echo o >/proc/sysrq-trigger
  sleep 60
fi
for m in $(cat /modules); do insmod "/lib/modules/$m.ko" || fail "insmod $m"; done
init=$(sed -n 's/.* tsrun\.init=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$init" ] || fail "no tsrun.init= on the kernel command line"
mkdir -p /lower /mem /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=512000,ro hostroot /lower || fail "mount of the host's / over 9p"
mount -t tmpfs -o mode=755 tmpfs /mem || fail "tmpfs for the overlay"
mkdir -p /mem/upper /mem/work
mount -t overlay -o lowerdir=/lower,upperdir=/mem/upper,workdir=/mem/work overlay /newroot || fail "overlay mount"
mkdir -p /newroot/tsrun-vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmshare /newroot/tsrun-vm || fail "mount of the run directory"
# The host may be a container (a /.dockerenv file): systemd would then believe
# it is in one too and ignore the kernel command line.
rm -f /newroot/.dockerenv /newroot/run/.containerenv
umount /proc /sys /dev
exec switch_root /newroot /bin/sh "$init"
