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
Wants=dbus.socket systemd-logind.service tsrun-vm-job.service
UNIT
cat >"$units/tsrun-vm-job.service" <<'UNIT'
[Unit]
Description=tsrun VM job
After=dbus.socket systemd-logind.service
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
# /tmp stays the overlay's, whose lower layer is the host's /tmp, because the
# checkout under test may be there (CI clones anywhere): a tmpfs would hide
# it. Debian's tmpfiles rule "D /tmp" would empty it at boot (in the
# overlay only, but slowly over 9p, and the checkout with it): create only.
mkdir -p /etc/tmpfiles.d
printf 'd /tmp 1777 root root -\nd /var/tmp 1777 root root -\n' >/etc/tmpfiles.d/tmp.conf
# Nothing periodic, no clock sync: the host's timers would start at boot.
for timer in /lib/systemd/system/*.timer; do ln -sf /dev/null "$units/$(basename "$timer")"; done
ln -sf /dev/null "$units/systemd-timesyncd.service"
# First-boot update units run when these are older than /usr.
touch /etc/.updated /var/.updated
exec /lib/systemd/systemd --unit=tsrun-vm.target --log-target=console --show-status=false
