// Asking systemd's manager for transient scope units and stopping them, and
// waiting for each job to finish (JobRemoved), as `systemd-run --scope` does.
import { DBusConnection, DBusError } from './dbus-connection';
import { userSystemdSocket } from './unit-path';
import type { DBusValue, Message } from './dbus-wire';
import { scopeProperties, type ScopeRequest, type UnitProperty } from './unit-properties';
import { UserError } from '../../errors';

const SYSTEMD = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' };

/** Starts the scope with the pid in it and waits until systemd has finished the job. */
export function startScope(request: ScopeRequest, user = false): void {
  withSystemd(user, (bus) => {
    let result: string;
    try {
      result = runJob(bus, request.unit, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [request.unit, 'fail', scopeProperties(request), []]);
    } catch (err) {
      if (err instanceof DBusError) throw new UserError(`--systemd-cgroup: systemd refused scope ${request.unit}: ${err.errorName}: ${err.text}`);
      throw err;
    }
    if (result !== 'done') throw new UserError(`--systemd-cgroup: systemd could not start scope ${request.unit}: job ${result}`);
  });
}

/** Changes properties of a running unit (runtime only: nothing written under /etc). No job: no waiting. */
export function setUnitProperties(unit: string, properties: UnitProperty[], user = false): void {
  withSystemd(user, (bus) => {
    try {
      bus.call({ ...SYSTEMD, member: 'SetUnitProperties', signature: 'sba(sv)', body: [unit, true, properties] });
    } catch (err) {
      if (err instanceof DBusError) throw new UserError(`--systemd-cgroup: systemd refused new properties for ${unit}: ${err.errorName}: ${err.text}`);
      throw err;
    }
  });
}

/** Stops the unit (killing what is left in it) and waits; a unit already gone is fine. */
export function stopUnit(unit: string, user = false): void {
  withSystemd(user, (bus) => {
    try {
      runJob(bus, unit, 'StopUnit', 'ss', [unit, 'replace']);
    } catch (err) {
      if (err instanceof DBusError && err.errorName === 'org.freedesktop.systemd1.NoSuchUnit') return;
      throw err;
    }
  });
}

/** The system's systemd, or with `user` the user's own instance (rootless). */
function withSystemd<T>(user: boolean, use: (bus: DBusConnection) => T): T {
  const bus = user ? DBusConnection.open(userSystemdSocket()) : DBusConnection.toSystemd();
  try {
    return use(bus);
  } finally {
    bus.close();
  }
}

/**
 * Calls a Manager method that queues a job for `unit` (its reply is the job's
 * path) and waits for JobRemoved(u id, o job, s unit, s result) of that job.
 * Returns the result: "done", "failed", "timeout", ...
 */
function runJob(bus: DBusConnection, unit: string, member: string, signature: string, body: DBusValue[]): string {
  // On a bus daemon, signals come only to those who match them; the private socket sends all.
  if (!bus.direct) {
    bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"] });
  }
  bus.call({ ...SYSTEMD, member: 'Subscribe' });
  const [job] = bus.call({ ...SYSTEMD, member, signature, body }) as [string];
  const removed = bus.waitForSignal(`the job of ${unit}`, (m: Message) => m.member === 'JobRemoved' && m.body[1] === job);
  return String(removed.body[3]);
}
