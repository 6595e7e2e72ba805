// The CLI's fleet commands against an in-process hub, run in-process through run(argv, io): devices,
// tokens, the access log and wg-config, human and --json output, exit codes for usage (2), auth (3)
// and not-found (4) errors.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newDeviceKeys } from '../support/overlay-device.js';
import { cli, useCliFleet } from './support/cli-harness.js';
import { TEST_ADMIN_EMAIL as ADMIN_EMAIL } from '@porthole/hub/testing';

const SERIALS = ['an20000001', 'an20000002', 'an20000003', 'an20000004', 'an20000005', 'an20000006', 'an20000007'];
const fleet = useCliFleet(SERIALS);
const api = (method: string, path: string, body?: unknown) => fleet.api(method, path, body);
const register = (serial: string, tags: string[]) => fleet.register(serial, tags);

describe('devices', () => {
  it('lists devices as a table and as JSON, filtered by tag and search', async () => {
    const r = await cli(['devices', 'list'], fleet.adminEnv);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERIAL\s+STATE\s+LAST SEEN\s+TUNNEL IP\s+POLICY\s+OWNER\s+TAGS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(SERIALS);
    expect(lines[1]).toMatch(/^an20000001\s+offline\s+never\s+100\.64\.\d+\.\d+\s+owners\s+-\s+fleet-a$/);

    const json = JSON.parse((await cli(['devices', 'list', '--json', '--tag', 'fleet-b'], fleet.adminEnv)).stdout);
    expect(json.nextCursor).toBeNull();
    expect(json.devices.map((d: { serial: string }) => d.serial)).toEqual(['an20000002', 'an20000004', 'an20000006']);
    expect(json.devices[0]).toMatchObject({ status: 'enabled', online: false, agentVersion: 'test-1.0', tags: ['fleet-b'] });

    const search = JSON.parse((await cli(['devices', 'list', '--json', '--search', 'an2000000'], fleet.adminEnv)).stdout);
    expect(search.devices).toHaveLength(7);
    expect((await cli(['devices', 'list', '--online'], fleet.adminEnv)).stdout).toBe('No devices match.\n');
    expect(JSON.parse((await cli(['devices', 'list', '--offline', '--json'], fleet.adminEnv)).stdout).devices).toHaveLength(7);
  });

  it('pages with --limit and follows cursors with --all, with progress on stderr', async () => {
    const one = await cli(['devices', 'list', '--limit', '3'], fleet.adminEnv);
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(4);
    const cursor = /--cursor (\S+) for the next page/.exec(one.stderr)?.[1];
    expect(cursor).toBeDefined();
    const next = JSON.parse((await cli(['devices', 'list', '--limit', '3', '--cursor', cursor!, '--json'], fleet.adminEnv)).stdout);
    expect(next.devices.map((d: { serial: string }) => d.serial)).toEqual(SERIALS.slice(3, 6));

    const all = await cli(['devices', 'list', '--all', '--limit', '3', '--json'], fleet.adminEnv);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).devices.map((d: { serial: string }) => d.serial)).toEqual(SERIALS);
    expect(all.stderr).toBe('… 3 devices so far (page 1)\n… 6 devices so far (page 2)\n');
    const human = await cli(['devices', 'list', '--all', '--limit', '3'], fleet.adminEnv);
    expect(human.stderr).toMatch(/7 devices in 3 pages\.\n$/);
  });

  it('rejects bad list options with exit 2', async () => {
    for (const argv of [['--online', '--offline'], ['--status', 'maybe'], ['--limit', '0'], ['--limit', 'x'], ['--frobnicate']]) {
      const r = await cli(['devices', 'list', ...argv], fleet.adminEnv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^porthole devices list: .+\nRun porthole devices list --help for usage\.\n$/);
    }
  });

  it('shows a device, and exits 4 for an unknown serial', async () => {
    const r = await cli(['devices', 'show', 'an20000003'], fleet.adminEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^serial: +an20000003$/m);
    expect(r.stdout).toMatch(new RegExp(`^url: +http://an20000003\\.localhost:${fleet.hub.httpPort}/$`, 'm'));
    expect(r.stdout).toMatch(/^agent version: +test-1\.0$/m);
    expect(r.stdout).toMatch(/^last handshake: +never$/m);
    const json = JSON.parse((await cli(['devices', 'show', 'an20000003', '--json'], fleet.adminEnv)).stdout);
    expect(json).toMatchObject({ serial: 'an20000003', accessPolicy: 'owners', tags: ['fleet-a'] });

    const missing = await cli(['devices', 'show', 'an29999999'], fleet.adminEnv);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^porthole devices show: .*an29999999.*\n$/);
    expect((await cli(['devices', 'show'], fleet.adminEnv)).code).toBe(2);
    expect((await cli(['devices', 'disable', 'an29999999'], fleet.adminEnv)).code).toBe(4);
  });

  it('disables, enables and sets the access policy', async () => {
    const off = await cli(['devices', 'disable', 'an20000004'], fleet.adminEnv);
    expect(off.stdout).toBe('an20000004: disabled (remote access is off).\n');
    expect((await api('GET', '/devices/an20000004')).status).toBe('disabled');
    const disabled = JSON.parse((await cli(['devices', 'list', '--status', 'disabled', '--json'], fleet.adminEnv)).stdout);
    expect(disabled.devices.map((d: { serial: string }) => d.serial)).toEqual(['an20000004']);
    expect((await cli(['devices', 'list'], fleet.adminEnv)).stdout).toMatch(/^an20000004\s+disabled\s/m);
    const on = await cli(['devices', 'enable', 'an20000004', '--json'], fleet.adminEnv);
    expect(JSON.parse(on.stdout)).toMatchObject({ serial: 'an20000004', status: 'enabled' });

    expect((await cli(['devices', 'policy', 'an20000004', 'public'], fleet.adminEnv)).stdout).toBe('an20000004: access policy public.\n');
    expect((await api('GET', '/devices/an20000004')).accessPolicy).toBe('public');
    const bad = await cli(['devices', 'policy', 'an20000004', 'everyone'], fleet.adminEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the policy must be owners or public, not "everyone"/);
  });

  it('grants, lists and revokes access by e-mail, with an expiry', async () => {
    await fleet.hub.hub.registry.signUp({ email: 'installer@example.io', password: 'a long enough password 123' });
    const before = Date.now();
    const g = await cli(['devices', 'grant', 'an20000005', 'installer@example.io', '--expires', '48h', '--json'], fleet.adminEnv);
    expect(g.code).toBe(0);
    const grant = JSON.parse(g.stdout);
    expect(grant.email).toBe('installer@example.io');
    const expires = Date.parse(grant.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 48 * 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 48 * 3600_000 + 1000);

    const list = await cli(['devices', 'grants', 'an20000005'], fleet.adminEnv);
    expect(list.stdout).toMatch(/^EMAIL\s+ACCESS\s+USER ID\s+GRANTED\s+EXPIRES\n/);
    expect(list.stdout).toMatch(new RegExp(`^installer@example\\.io\\s+full\\s+${grant.userId}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+.*\\((in 4[78]h|in 1d)\\)$`, 'm'));
    expect(JSON.parse((await cli(['devices', 'grants', 'an20000005', '--json'], fleet.adminEnv)).stdout)).toEqual([grant]);

    const human = await cli(['devices', 'grant', 'an20000006', 'installer@example.io'], fleet.adminEnv);
    expect(human.stdout).toBe('Granted installer@example.io access to an20000006 with no expiry.\n');

    const revoked = await cli(['devices', 'revoke', 'an20000005', 'installer@example.io'], fleet.adminEnv);
    expect(revoked.stdout).toBe('Revoked installer@example.io’s access to an20000005.\n');
    expect((await cli(['devices', 'grants', 'an20000005'], fleet.adminEnv)).stdout).toBe('No grants on an20000005.\n');
    const again = await cli(['devices', 'revoke', 'an20000005', 'installer@example.io'], fleet.adminEnv);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe('porthole devices revoke: installer@example.io has no grant on an20000005\n');
    // An address without an account answers like any other (the hub invites it: no enumeration).
    const nobody = await cli(['devices', 'grant', 'an20000005', 'nobody@example.io'], fleet.adminEnv);
    expect(nobody).toMatchObject({ code: 0, stdout: 'Granted nobody@example.io access to an20000005 with no expiry.\n' });
    expect((await cli(['devices', 'grant', 'an20000005', 'installer@example.io', '--expires', 'soon'], fleet.adminEnv)).code).toBe(2);
  });

  it('deletes only after confirmation (or --yes)', async () => {
    const no = await cli(['devices', 'delete', 'an20000007'], fleet.adminEnv, { stdin: 'n\n' });
    expect(no.code).toBe(1);
    expect(no.stderr).toBe('porthole devices delete: not deleted: an20000007 (confirm with y, or pass --yes)\n');
    expect((await api('GET', '/devices/an20000007')).serial).toBe('an20000007');
    const yes = await cli(['devices', 'delete', 'an20000007'], fleet.adminEnv, { stdin: 'y\n' });
    expect(yes.stdout).toBe('Deleted an20000007.\n');
    expect((await cli(['devices', 'show', 'an20000007'], fleet.adminEnv)).code).toBe(4);

    await register('an20000008', []);
    const forced = await cli(['devices', 'delete', 'an20000008', '--yes', '--json'], fleet.adminEnv);
    expect(JSON.parse(forced.stdout)).toEqual({ deleted: 'an20000008' });
    expect((await cli(['devices', 'delete', 'an20000008', '--yes'], fleet.adminEnv)).code).toBe(4);
  });
});

describe('tokens', () => {
  it('creates an enrollment token (plaintext once), lists it without plaintext, revokes it', async () => {
    const r = await cli(['tokens', 'enrollment', 'create', '--uses', '5', '--expires', '7d', '--tag', 'north', '--tag', 'meters', '--description', 'north fleet'], fleet.adminEnv);
    expect(r.code).toBe(0);
    const plaintext = /^ {4}(\S+)$/m.exec(r.stdout)?.[1];
    expect(plaintext).toBeDefined();
    expect(r.stdout).toMatch(/^Created enrollment token \S+: 5 uses, expires \d{4}-.*Z, tags meters, north\.\n\nCopy the token now: it is shown only this once/);
    const id = /token (\S+):/.exec(r.stdout)![1]!;

    const json = JSON.parse((await cli(['tokens', 'enrollment', 'list', '--json'], fleet.adminEnv)).stdout);
    const listed = json.find((x: { id: string }) => x.id === id);
    expect(listed).toMatchObject({ maxUses: 5, uses: 0, tags: ['meters', 'north'], description: 'north fleet', state: 'active' });
    expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBeCloseTo(7 * 86_400_000, -4);
    const table = (await cli(['tokens', 'enrollment', 'list'], fleet.adminEnv)).stdout;
    expect(table).toMatch(new RegExp(`^${id}\\s+${listed.displayPrefix}\\s+active\\s+0/5\\s+.*meters,north\\s+north fleet$`, 'm'));
    expect(table).not.toContain(plaintext);

    // The plaintext really enrolls a device.
    const keys = newDeviceKeys();
    const reg = await fetch(`${fleet.hub.url}/api/v1/devices/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serial: 'an20000009', publicKey: keys.publicKey, enrollmentToken: plaintext }),
    });
    expect(reg.status).toBe(201);

    const revoked = await cli(['tokens', 'enrollment', 'revoke', id, '--json'], fleet.adminEnv);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id, state: 'revoked' });
    expect((await cli(['tokens', 'enrollment', 'revoke', '00000000-0000-4000-8000-000000000000'], fleet.adminEnv)).code).toBe(4);
    const tooShort = await cli(['tokens', 'enrollment', 'create', '--expires', '10s'], fleet.adminEnv);
    expect(tooShort.code).toBe(2); // the hub's 400, as a usage error with its message
    expect(tooShort.stderr).toMatch(/^porthole tokens enrollment create: .*expiresInSeconds/);
  });

  it('creates API tokens with a scope; a read token cannot write; a revoked token is refused', async () => {
    const r = await cli(['tokens', 'api', 'create', '--name', 'ci reader', '--scope', 'read', '--json'], fleet.adminEnv);
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout);
    expect(created).toMatchObject({ name: 'ci reader', scopes: ['read'], revokedAt: null });
    expect(created.token).toMatch(/^\S{20,}$/);

    const readEnv = { ...fleet.adminEnv, PORTHOLE_TOKEN: created.token };
    expect(JSON.parse((await cli(['devices', 'list', '--json'], readEnv)).stdout).devices.length).toBeGreaterThan(0);
    const write = await cli(['devices', 'disable', 'an20000001'], readEnv);
    expect(write.code).toBe(3);
    expect(write.stderr).toBe('porthole devices disable: this API token lacks the write scope\n');

    const human = await cli(['tokens', 'api', 'create', '--name', 'deploy', '--scope', 'write', '--expires', '90d'], fleet.adminEnv);
    expect(human.stdout).toMatch(/^Created API token \S+ "deploy" with scopes read, write, expires \d{4}-/);
    expect(human.stdout).toMatch(/shown only this once/);

    const list = await cli(['tokens', 'api', 'list'], fleet.adminEnv);
    expect(list.stdout).toMatch(new RegExp(`^${created.id}\\s+ci reader\\s+${created.displayPrefix}\\s+read\\s+just now\\s+never\\s+-$`, 'm'));
    expect(list.stdout).not.toContain(created.token);

    const revoked = await cli(['tokens', 'api', 'revoke', created.id], fleet.adminEnv);
    expect(revoked.stdout).toBe(`Revoked API token ${created.id} "ci reader".\n`);
    const refused = await cli(['whoami'], readEnv);
    expect(refused.code).toBe(3);

    expect((await cli(['tokens', 'api', 'create', '--scope', 'write'], fleet.adminEnv)).code).toBe(2);
    expect((await cli(['tokens', 'api', 'create', '--name', 'x', '--scope', 'admin'], fleet.adminEnv)).code).toBe(2);
    expect((await cli(['tokens', 'bogus'], fleet.adminEnv)).code).toBe(2);
  });
});

describe('access log', () => {
  it('shows one device’s entries newest first within a time range', async () => {
    const now = Date.now();
    const entry = (minutesAgo: number, path: string, status: number) => ({
      at: new Date(now - minutesAgo * 60_000),
      serial: 'an20000002',
      userId: null,
      clientIp: '203.0.113.7',
      method: 'GET',
      path,
      status,
      bytesIn: 120,
      bytesOut: 5 * 1024 * 1024,
      durationMs: 42,
    });
    const admin = (await fleet.hub.hub.registry.findUserByEmail(ADMIN_EMAIL))!;
    await fleet.hub.hub.registry.appendAccessLog([entry(180, '/old', 200), { ...entry(30, '/settings', 200), userId: admin.id }, entry(10, '/api/values', 502), entry(5, '/\u001b[31mred', 404)]);

    const r = await cli(['log', '--device', 'an20000002', '--since', '2h'], fleet.adminEnv);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+METHOD\s+PATH\s+STATUS\s+CLIENT\s+USER\s+IN\s+OUT\s+MS$/);
    expect(lines).toHaveLength(4);
    // Control characters from the wire never reach the terminal.
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+GET\s+\/\\x1b\[31mred\s+404\s+203\.0\.113\.7\s+anonymous\s+120 B\s+5\.0 MiB\s+42$/);
    expect(r.stdout).not.toContain('\u001b');
    expect(lines[2]).toMatch(/\/api\/values\s+502/);
    // The visitor by address, as the portal shows it.
    expect(lines[3]).toMatch(new RegExp(`/settings\\s+200\\s+203\\.0\\.113\\.7\\s+${ADMIN_EMAIL.replace(/\./g, '\\.')}\\s`));

    const json = JSON.parse((await cli(['log', '--device', 'an20000002', '--limit', '2', '--json'], fleet.adminEnv)).stdout);
    expect(json.entries.map((e: { path: string }) => e.path)).toEqual([expect.stringContaining('red'), '/api/values']);
    expect(json.nextCursor).toEqual(expect.any(String));
    const until = JSON.parse((await cli(['log', '--device', 'an20000002', '--until', '1h', '--json'], fleet.adminEnv)).stdout);
    expect(until.entries.map((e: { path: string }) => e.path)).toEqual(['/old']);
    const iso = new Date(now - 20 * 60_000).toISOString();
    const since = JSON.parse((await cli(['log', '--device', 'an20000002', '--since', iso, '--until', '7m', '--json'], fleet.adminEnv)).stdout);
    expect(since.entries.map((e: { path: string }) => e.path)).toEqual(['/api/values']);
    expect((await cli(['log', '--device', 'an20000003'], fleet.adminEnv)).stdout).toBe('No access to an20000003 in that time.\n');
  });

  it('needs --device and valid times', async () => {
    const none = await cli(['log'], fleet.adminEnv);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give --device SERIAL/);
    expect((await cli(['log', '--device', 'an20000002', '--since', 'yesterday'], fleet.adminEnv)).code).toBe(2);
    expect((await cli(['log', '--device', 'an20000002', '--since', '1h', '--until', '2h'], fleet.adminEnv)).code).toBe(2);
  });
});

describe('wg-config', () => {
  function publicKeyOf(privateKeyBase64: string): string {
    // PKCS#8 prefix of an X25519 private key (RFC 8410), to derive the public key with node:crypto.
    const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(privateKeyBase64, 'base64')]);
    const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
    return Buffer.from(jwk.x!, 'base64url').toString('base64');
  }

  it('saves a complete wg-quick config with a locally generated private key, mode 0600', async () => {
    const out = join(fleet.home.dir, 'porthole.conf');
    const r = await cli(['wg-config', 'laptop-anna', '--out', out], fleet.adminEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Admin peer "laptop-anna" created: tunnel IP 100\.64\.\d+\.\d+, public key \S{44}\.\nWrote .*porthole\.conf \(mode 0600/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const config = readFileSync(out, 'utf8');
    const privateKey = /^PrivateKey = (\S{44})$/m.exec(config)?.[1];
    expect(privateKey).toBeDefined();
    expect(config).not.toMatch(/^#\s*PrivateKey/m);
    const peers = await api('GET', '/admin-peers');
    const peer = peers.find((p: { name: string }) => p.name === 'laptop-anna');
    // The hub knows the public key of exactly this private key, and never saw the private key.
    expect(publicKeyOf(privateKey!)).toBe(peer.publicKey);
    expect(JSON.stringify(peers)).not.toContain(privateKey);
    expect(config).toContain(`Address = ${peer.tunnelIp}/32`);
    expect(config).toContain(`PublicKey = ${fleet.hub.hub.publicKey}`);
    expect(config).toMatch(/^Endpoint = 127\.0\.0\.1:\d+$/m);

    const exists = await cli(['wg-config', 'laptop-anna-2', '--out', out], fleet.adminEnv);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/exists; pass --force/);
    expect((await api('GET', '/admin-peers')).some((p: { name: string }) => p.name === 'laptop-anna-2')).toBe(false);
  });

  it('prints the config to stdout (and as JSON)', async () => {
    const r = await cli(['wg-config', 'laptop-ben'], fleet.adminEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# Porthole admin peer "laptop-ben".*\n\[Interface\]\nPrivateKey = \S{44}\nAddress = /);
    expect(r.stderr).toMatch(/keep it secret/);
    const j = JSON.parse((await cli(['wg-config', 'laptop-cem', '--json'], fleet.adminEnv)).stdout);
    expect(publicKeyOf(/^PrivateKey = (\S+)$/m.exec(j.config)![1]!)).toBe(j.publicKey);
    const bad = await cli(['wg-config', 'bad\nname'], fleet.adminEnv);
    expect(bad.code).toBe(2);
  });
});
