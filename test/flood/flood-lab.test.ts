// A handshake flood against a real hub in network namespaces: 20,000 initiations a second with a
// valid mac1 from rotating source ports (anyone can make them: the hub's public key is public).
// While it runs, a device that was online keeps being served through the proxy, the flooder gets
// cookie replies (the hub is under load and asks for mac2) and a device enrolling during the
// flood comes online, all with the hub's default settings. Behaviour only; the figures (success
// rate, p99, time to online, at 20k/s and flat out) are in `npm run bench -- hub` (HUB_BENCH_PARTS=flood).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../support/requirements.js';
import type { Service } from '../e2e/lab/service.js';
import { createFloodLab, type FloodLab } from './lab.js';

const ok = requirementsMet('handshake flood lab', { root: true, tools: ['ip', 'curl'] });
const ONLINE = 'fl10000001';
const ENROLLING = 'fl10000002';

describe.skipIf(!ok)('a hub under a handshake flood', () => {
  let lab: FloodLab;
  let flooder: Service;

  beforeAll(async () => {
    lab = await createFloodLab(); // the hub's defaults: the ingress thread and per-device sockets
    await lab.startDevice('dev', ONLINE);
    await lab.waitOnline(ONLINE, 60_000);
    flooder = await lab.startFlood(20_000);
  }, 240_000);
  afterAll(async () => lab?.close(), 60_000);

  const progress = () => flooder.lines().filter((l) => l.event === 'progress').at(-1) as { sent: number; replies: number } | undefined;

  it('answers the flood with cookie replies (it is under load) without answering every datagram', async () => {
    await flooder.waitFor((l) => l.event === 'progress' && (l.sent as number) >= 20_000, 'the flood to be under way', 60_000);
    await flooder.waitFor((l) => l.event === 'progress' && (l.replies as number) > 0, 'a cookie reply', 30_000);
    const { sent, replies } = progress()!;
    // One source address: cookie replies are limited per address, so almost every datagram goes unanswered.
    expect(replies).toBeLessThan(sent / 10);
    // Answered and dropped on the ingress thread: its counters on /metrics say so, and it never died.
    const metrics = await lab.metrics();
    const counter = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(counter('porthole_wg_ingress_datagrams_total{outcome="cookie-required"}')).toBeGreaterThan(10_000);
    expect(counter('porthole_wg_ingress_cookie_replies_total')).toBeGreaterThan(0);
    expect(counter('porthole_wg_ingress_datagrams_total{outcome="passed"}')).toBeLessThan(counter('porthole_wg_ingress_datagrams_total{outcome="cookie-required"}') / 5);
    expect(counter('porthole_wg_ingress_restarts_total')).toBe(0);
  }, 120_000);

  it('keeps serving the device that was online: every request through the proxy succeeds', async () => {
    const before = progress()!.sent;
    const result = await lab.probe(ONLINE, 40, 100);
    expect(result.errors).toEqual({});
    expect(result.ok).toBe(40);
    expect(progress()!.sent - before).toBeGreaterThan(20_000); // the flood ran all along
  }, 180_000);

  it('brings a device that enrolls during the flood online (cookie reply, then mac2)', async () => {
    const before = progress()!.sent;
    await lab.startDevice('new', ENROLLING);
    await lab.waitOnline(ENROLLING, 120_000);
    const result = await lab.probe(ENROLLING, 5, 100);
    expect(result.ok).toBe(5);
    expect(progress()!.sent).toBeGreaterThan(before);
  }, 240_000);
});
