// The real agent with --device-cert/--device-key against an in-process hub with
// PORTHOLE_DEVICE_CA_FILE set (certificates made with openssl at run time): enrollment-token and
// claim registrations come online and the hub shows the device as attested; an agent without a
// certificate, or with one for another serial, is refused with the hub's reason and not retried.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubError, loadDeviceCredential, type DeviceCredential } from '@porthole/agent';
import { createDevicePki, PKI_TOOLS, type DevicePki, type Issued } from '../support/device-pki.js';
import { requirementsMet } from '../support/requirements.js';
import { startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { startHubHarness, until, type HubHarness } from './support/hub-harness.js';

const ok = requirementsMet('agent attestation', { tools: PKI_TOOLS });

describe.skipIf(!ok)('agent attestation against a hub with a device CA', () => {
  let pki: DevicePki;
  let root: Issued;
  let intermediate: Issued;
  let hub: HubHarness;
  const agents: AgentHarness[] = [];

  beforeAll(async () => {
    pki = createDevicePki();
    root = pki.root('vendor-root', { subject: '/O=Example Meters/CN=Example Meters Device Root' });
    intermediate = pki.intermediate('vendor-int', root, { subject: '/O=Example Meters/CN=Example Meters Devices' });
    const caFile = join(pki.dir, 'device-ca.pem');
    writeFileSync(caFile, root.certPem);
    hub = await startHubHarness({ env: { PORTHOLE_DEVICE_CA_FILE: caFile } });
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await hub?.close();
    pki?.close();
  });

  /** The credential main.ts would load from --device-cert (leaf + intermediate) and --device-key. */
  function credential(serial: string, key: 'p256' | 'ed25519'): DeviceCredential {
    const leaf = pki.device(`dev-${serial}`, intermediate, { subject: `/O=Example Meters/serialNumber=${serial.toUpperCase()}`, key });
    const loaded = loadDeviceCredential(pki.chain(leaf, intermediate), leaf.keyPem);
    if (!loaded.ok) throw new Error(loaded.problem);
    return loaded.credential;
  }

  async function start(serial: string, options: { enrollmentToken?: string; deviceCredential?: DeviceCredential }) {
    const a = await startAgentHarness({ hubUrl: hub.portalUrl, serial, ...options });
    agents.push(a);
    return a;
  }

  const newToken = async () => (await hub.api('POST', '/enrollment-tokens', { maxUses: 5 })).json.token as string;

  it('registers with an enrollment token and a P-256 device certificate, comes online, and the hub shows it attested', async () => {
    const a = await start('an40000001', { enrollmentToken: await newToken(), deviceCredential: credential('an40000001', 'p256') });
    await until(() => a.agent.status().phase === 'online', 'the attested agent online', 15_000);
    const device = (await hub.api('GET', '/devices/an40000001')).json;
    expect(device).toMatchObject({
      publicKey: a.agent.publicKey,
      attested: true,
      attestationSubject: 'O=Example Meters, serialNumber=AN40000001',
      attestationIssuer: 'O=Example Meters, CN=Example Meters Devices',
    });
    // The device answers through the hub (public policy: no visitor login needed for this check).
    expect((await hub.api('PATCH', '/devices/an40000001', { accessPolicy: 'public' })).status).toBe(200);
    const page = await hub.request('an40000001.localhost', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('an40000001');
  });

  it('claims with an Ed25519 device certificate: approval brings it online, attested', async () => {
    const a = await start('an40000002', { deviceCredential: credential('an40000002', 'ed25519') });
    const { redirectTo } = await a.agent.enable({});
    const code = new URL(redirectTo!).searchParams.get('code')!;
    const registry = hub.hub.registry;
    const owner = await registry.signUp({ email: 'owner@example.io', password: 'correct horse battery staple' });
    await registry.approveClaim(code, owner);
    await until(() => a.agent.status().phase === 'online', 'the claimed agent online', 15_000);
    expect((await hub.api('GET', '/devices/an40000002')).json).toMatchObject({
      owner: { email: 'owner@example.io' },
      attested: true,
      attestationSubject: 'O=Example Meters, serialNumber=AN40000002',
    });
  });

  it('refuses an agent without a certificate, or with another serial’s, and the agent shows why', async () => {
    const bare = await start('an40000003', { enrollmentToken: await newToken() });
    await until(() => bare.agent.status().lastError, 'the refusal', 10_000);
    expect(bare.agent.status()).toMatchObject({ phase: 'off', registered: false });
    expect(bare.agent.status().lastError).toMatch(/^Registration failed: this hub requires device attestation/);

    const borrowed = await start('an40000004', { enrollmentToken: await newToken(), deviceCredential: credential('an49999999', 'p256') });
    await until(() => borrowed.agent.status().lastError, 'the refusal', 10_000);
    expect(borrowed.agent.status().lastError).toBe(
      'Registration failed: the device certificate names serial "AN49999999" (subject serialNumber), not "an40000004"',
    );

    const claimer = await start('an40000005', {});
    const err = await claimer.agent.enable({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('attestation_required');
    expect((await hub.api('GET', '/devices?q=an4000000')).json.devices.map((d: { serial: string }) => d.serial)).toEqual(['an40000001', 'an40000002']);
  });
});
