#!/bin/sh
# PID 1 of the "minimal" guest: no init system. The API filesystems, a pure
# cgroup v2 hierarchy at /sys/fs/cgroup with nsdelegate (as systemd mounts
# it) and a tmpfs /run; then the job, its status written back to the host,
# and power off. /tmp stays the overlay's (writable, the host's files below):
# the checkout under test may be there (CI clones anywhere).
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
# The scratch disk for io limits (udev would load it on a systemd host).
modprobe virtio_blk 2>/dev/null
hostname tsrun-vm
ip link set lo up
exec /bin/sh /tsrun-vm/run-job.sh
