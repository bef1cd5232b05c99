#!/bin/sh
# PID 1 before systemd in the "systemd" guest: the units that make the
# overlay boot as a systemd host whose only job is ours, then systemd itself
# (Debian's, from the host's files) as PID 1. The job runs as a service and,
# like a root login shell, in a leaf scope under user-0.slice; the guest
# powers off when it ends, whatever its status.
units=/etc/systemd/system
mkdir -p "$units"
cat >"$units/tsrun-vm.target" <<'UNIT'
[Unit]
Description=tsrun VM test host
Wants=dbus.socket systemd-logind.service tsrun-vm-job.service tmp.mount
UNIT
cat >"$units/tsrun-vm-job.service" <<'UNIT'
[Unit]
Description=tsrun VM job
After=dbus.socket systemd-logind.service tmp.mount
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=exec
Environment=TSRUN_VM_SCOPE=session-1.scope
ExecStart=/bin/sh /tsrun-vm/run-job.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
UNIT
# A tmpfs /tmp: without it systemd-tmpfiles cleans the host's /tmp as seen
# through the overlay (slowly, over 9p).
ln -sf /usr/share/systemd/tmp.mount "$units/tmp.mount"
# Nothing periodic, no clock sync: the host's timers would start at boot.
for timer in /lib/systemd/system/*.timer; do ln -sf /dev/null "$units/$(basename "$timer")"; done
ln -sf /dev/null "$units/systemd-timesyncd.service"
# First-boot update units run when these are older than /usr.
touch /etc/.updated /var/.updated
exec /lib/systemd/systemd --unit=tsrun-vm.target --log-target=console --show-status=false
