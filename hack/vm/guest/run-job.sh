#!/bin/sh
# Runs /tsrun-vm/job.sh with its output in job.log and its exit status in
# status, bounded by the seconds in /tsrun-vm/timeout, then powers the guest
# off (PID 1 of the minimal guest execs this; under systemd a service runs
# it, in a session-like scope).
cd /tsrun-vm
date +%s >booted
echo "tsrun-vm: job started" >/dev/console
if [ -n "${TSRUN_VM_SCOPE:-}" ]; then
  # As a root login shell on a systemd host: a leaf scope under user-0.slice.
  set -- systemd-run --quiet --scope --slice=user-0.slice --unit="$TSRUN_VM_SCOPE" --
fi
"$@" timeout -k 10 "$(cat timeout)" /bin/sh /tsrun-vm/job.sh >job.log 2>&1 </dev/null
echo $? >status.tmp
sync
mv status.tmp status
sync
echo "tsrun-vm: job ended with status $(cat status)" >/dev/console
[ -n "${TSRUN_VM_SCOPE:-}" ] && exit 0
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
sleep 60
