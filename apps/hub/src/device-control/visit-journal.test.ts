// Access-log entries folded into visits for the device journal: one visit per visitor and port,
// requests counted, a new visit after the idle gap, anonymous sign-in refusals left out, e-mail
// addresses looked up once, undelivered entries kept (bounded) and sent when the device is back.
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from '@porthole/device-control';
import type { AccessLogEntry } from '../proxy/contracts.js';
import { createVisitJournal } from './visit-journal.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function setup(opts: { maxPendingPerDevice?: number; maxOpenVisits?: number; maxPendingDevices?: number } = {}) {
  let now = Date.UTC(2026, 11, 5, 9);
  const sent: Array<{ serial: string; entries: JournalEntry[] }> = [];
  let reachable = true;
  const lookups: string[] = [];
  const journal = createVisitJournal({
    now: () => now,
    idleMs: 60_000,
    flushIntervalMs: 3_600_000,
    ...opts,
    async deliver(serial, entries) {
      if (!reachable) return false;
      sent.push({ serial, entries: structuredClone(entries) });
      return true;
    },
    async userInfo(id) {
      lookups.push(id);
      return { email: `${id}@example.io`, organisation: null };
    },
  });
  closers.push(() => journal.close());
  const log = (patch: Partial<AccessLogEntry> = {}): void =>
    journal.record({
      at: new Date(now),
      requestId: 'r',
      deviceId: 'd1',
      serial: 'an1',
      userId: 'u1',
      clientIp: '198.51.100.9',
      method: 'GET',
      path: '/',
      status: 200,
      bytesIn: 10,
      bytesOut: 100,
      durationMs: 1,
      kind: 'http',
      port: 80,
      ...patch,
    });
  return {
    journal,
    sent,
    lookups,
    log,
    tick: (ms: number) => void (now += ms),
    setReachable: (r: boolean) => void (reachable = r),
  };
}

describe('visit journal', () => {
  it('counts requests per visit, sends it while it goes on and once more when it ends', async () => {
    const t = setup();
    t.log();
    t.tick(1000);
    t.log({ status: 404 });
    t.log({ status: 502 });
    await t.journal.flush();
    expect(t.sent).toHaveLength(1);
    const first = t.sent[0]!.entries[0]!;
    expect(first).toMatchObject({ requests: 3, refused: 1, ended: false, user: { email: 'u1@example.io', organisation: null }, clientIp: '198.51.100.9', kind: 'http', port: 80, bytesIn: 30, bytesOut: 300 });
    const start = Date.UTC(2026, 11, 5, 9);
    expect([first.startedAt, first.lastAt]).toEqual([new Date(start).toISOString(), new Date(start + 1000).toISOString()]);
    await t.journal.flush();
    expect(t.sent).toHaveLength(1); // nothing changed: nothing sent
    // A request logged late (its time before the visit's last) counts, and lastAt stays the latest.
    t.log({ at: new Date(start + 500) });
    t.tick(2000);
    t.log();
    await t.journal.flush();
    const ongoing = t.sent[1]!.entries[0]!;
    expect(ongoing).toMatchObject({ id: first.id, requests: 5, startedAt: first.startedAt, lastAt: new Date(start + 3000).toISOString(), ended: false });
    t.tick(61_000);
    await t.journal.flush();
    expect(t.sent[2]!.entries).toEqual([{ ...ongoing, ended: true }]);
    expect(t.journal.openVisits).toBe(0);
    // After the gap a new request is a new visit.
    t.log();
    await t.journal.flush();
    expect(t.sent[3]!.entries[0]!.id).not.toBe(first.id);
    expect(t.lookups).toEqual(['u1']);
  });

  it('keeps visitors and ports apart, leaves anonymous sign-in refusals out', async () => {
    const t = setup();
    t.log();
    t.log({ userId: 'u2' });
    t.log({ userId: null, clientIp: '203.0.113.4', status: 302 });
    t.log({ userId: null, clientIp: '203.0.113.4', status: 401 });
    t.log({ kind: 'tcp', port: 22 });
    t.log({ kind: 'tcp', port: 0, status: 400 });
    await t.journal.flush();
    const got = t.sent[0]!.entries.map((e) => `${e.user?.email ?? 'anonymous'} ${e.kind}:${e.port} ${e.requests}`).sort();
    expect(got).toEqual(['u1@example.io http:80 1', 'u1@example.io tcp:22 1', 'u2@example.io http:80 1']);
  });

  it('keeps what the device could not take, bounded, and delivers it later', async () => {
    const t = setup({ maxPendingPerDevice: 2 });
    t.setReachable(false);
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) t.log({ userId: null, clientIp: ip });
    await t.journal.flush();
    expect(t.sent).toEqual([]);
    t.setReachable(true);
    await t.journal.flush();
    expect(t.sent[0]!.entries.map((e) => e.clientIp)).toEqual(['198.51.100.2', '198.51.100.3']);
    await t.journal.flush();
    expect(t.sent).toHaveLength(1);
  });

  it('bounds what it holds: open visits end oldest first, devices with unsent entries drop oldest first', async () => {
    const t = setup({ maxOpenVisits: 2, maxPendingDevices: 2 });
    t.setReachable(false);
    for (const serial of ['an1', 'an2', 'an3']) t.log({ serial, deviceId: serial, userId: null, clientIp: `198.51.100.${serial.slice(2)}` });
    expect(t.journal.openVisits).toBe(2);
    await t.journal.flush();
    t.setReachable(true);
    await t.journal.flush();
    expect(t.sent.map((x) => x.serial).sort()).toEqual(['an2', 'an3']);
  });
});
