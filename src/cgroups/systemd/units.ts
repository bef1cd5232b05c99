// Asking systemd's manager for transient scope units and stopping them, and
// waiting for each job to finish (JobRemoved), as `systemd-run --scope` does.
import { DBusConnection, DBusError, SYSTEMD_PRIVATE_SOCKET } from './dbus-connection';
import type { Message } from './dbus-wire';
import { scopeProperties, type ScopeRequest, type UnitProperty } from './unit-properties';
import { UserError } from '../../errors';

const SYSTEMD = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' };

/** Starts the scope with the pid in it and waits until systemd has finished the job. */
export function startScope(request: ScopeRequest): void {
  withSystemd((bus) => {
    let job: string;
    try {
      [job] = bus.call({ ...SYSTEMD, member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body: [request.unit, 'fail', scopeProperties(request), []] }) as [string];
    } catch (err) {
      if (err instanceof DBusError) throw new UserError(`--systemd-cgroup: systemd refused scope ${request.unit}: ${err.errorName}: ${err.text}`);
      throw err;
    }
    const result = waitForJob(bus, job, request.unit);
    if (result !== 'done') throw new UserError(`--systemd-cgroup: systemd could not start scope ${request.unit}: job ${result}`);
  });
}

/** Changes properties of a running unit (runtime only: nothing written under /etc). */
export function setUnitProperties(unit: string, properties: UnitProperty[]): void {
  withSystemd((bus) => {
    try {
      bus.call({ ...SYSTEMD, member: 'SetUnitProperties', signature: 'sba(sv)', body: [unit, true, properties] });
    } catch (err) {
      if (err instanceof DBusError) throw new UserError(`--systemd-cgroup: systemd refused new properties for ${unit}: ${err.errorName}: ${err.text}`);
      throw err;
    }
  });
}

/** Stops the unit (killing what is left in it) and waits; a unit already gone is fine. */
export function stopUnit(unit: string): void {
  withSystemd((bus) => {
    let job: string;
    try {
      [job] = bus.call({ ...SYSTEMD, member: 'StopUnit', signature: 'ss', body: [unit, 'replace'] }) as [string];
    } catch (err) {
      if (err instanceof DBusError && err.errorName === 'org.freedesktop.systemd1.NoSuchUnit') return;
      throw err;
    }
    waitForJob(bus, job, unit);
  });
}

function withSystemd<T>(use: (bus: DBusConnection) => T): T {
  const bus = DBusConnection.toSystemd();
  try {
    // On a bus daemon, signals come only to those who match them; the private socket sends all.
    if (bus.socketPath !== SYSTEMD_PRIVATE_SOCKET) {
      bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"] });
    }
    bus.call({ ...SYSTEMD, member: 'Subscribe' });
    return use(bus);
  } finally {
    bus.close();
  }
}

/** JobRemoved(u id, o job, s unit, s result) for `job`: its result ("done", "failed", "timeout", ...). */
function waitForJob(bus: DBusConnection, job: string, unit: string): string {
  const removed = bus.waitForSignal(`the job of ${unit}`, (m: Message) => m.member === 'JobRemoved' && m.body[1] === job);
  return String(removed.body[3]);
}
