// `npm run demo` (scripts/demo.ts), run the way a user runs it: spawn, wait for the printed URLs,
// use them (the meter page, the admin API with the printed token), then Ctrl-C (SIGINT to the
// process group, as a terminal sends it) and expect a clean exit with status 0. The demo hub trusts
// the demo CA: a claim needs the demo meter's attestation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attest, loadDeviceCredential } from '@porthole/agent';
import { DEMO_DEVICE_CERT_FILE, DEMO_DEVICE_KEY_FILE, DEMO_SERIAL } from '@porthole/demo-meter';
import { freePort } from '../support/free-port.js';
import { demo, started } from './fixtures/demo-run.js';
import { REPO_ROOT } from './lab/service.js';

describe('npm run demo', () => {
  it('prints the meter, portal and admin details, serves them, and stops cleanly on Ctrl-C', async () => {
    const [hubPort, meterPort, wgPort] = [await freePort(), await freePort(), await freePort()];
    // What `npm run demo` runs (package.json), without npm in between so the exit status is the demo's.
    const script = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.demo as string;
    expect(script).toBe('node --import tsx scripts/demo.ts');
    const run = demo(['--hub-port', String(hubPort), '--meter-port', String(meterPort), '--wg-port', String(wgPort)]);
    let code: number | null;
    try {
      await started(run);
      const out = run.out();
      const meterUrl = /Demo meter \(its local web UI\)\s+(\S+)/.exec(out)?.[1];
      const portalUrl = /Portal and admin API\s+(\S+)/.exec(out)?.[1];
      const token = /admin API token\s+(\S+)/.exec(out)?.[1];
      expect(meterUrl).toBe(`http://127.0.0.1:${meterPort}/`);
      expect(portalUrl).toBe(`http://localhost:${hubPort}/`);
      expect(out).toMatch(/admin account\s+admin@example\.com \/ \S+/);

      const meter = await fetch(meterUrl!);
      expect(meter.status).toBe(200);
      expect(await meter.text()).toContain('Demo meter');
      // The printed token works on the admin API at the printed portal URL.
      const api = await fetch(`${portalUrl}api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(api.status).toBe(200);
      expect(JSON.stringify(await api.json())).toContain('admin@example.com');

      // Device attestation is on: a claim of the demo serial without the demo certificate is
      // refused, one attested with the committed demo certificate and key is accepted.
      expect(out).toMatch(/Device certificate\s+O=Porthole Demo Meters \(DEMO ONLY - NOT TRUSTED\), CN=Porthole demo meter, serialNumber=AN12345678/);
      const publicKey = Buffer.alloc(32, 7).toString('base64');
      const claim = (body: object) => fetch(`${portalUrl}api/v1/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const bare = await claim({ serial: DEMO_SERIAL, publicKey });
      expect(bare.status).toBe(403);
      expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('attestation_required');
      const demo = loadDeviceCredential(readFileSync(DEMO_DEVICE_CERT_FILE, 'utf8'), readFileSync(DEMO_DEVICE_KEY_FILE, 'utf8'));
      if (!demo.ok) throw new Error(demo.problem);
      expect((await claim({ serial: DEMO_SERIAL, publicKey, attestation: attest(demo.credential, DEMO_SERIAL, publicKey) })).status).toBe(201);
    } finally {
      code = await run.stop();
    }
    expect(run.out()).toContain('Stopped.');
    expect(code).toBe(0);
  }, 120_000);
});
