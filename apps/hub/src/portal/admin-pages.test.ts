// Admin pages through app.request on both drivers: admin-only (403 page for owners, login for
// anonymous visitors), CSRF on every admin form, and each page's effect: device search, filters,
// sort and paging, bulk disable, enrollment and API tokens shown once, WireGuard peers (pasted or
// generated keys, download, QR), access log filters and the streamed CSV, the overview numbers.
import { sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotTables } from '@porthole/db/testing';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { wgQuickConfig } from '../registry/admin-peers.js';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, formClient, PASSWORD, signedIn, visibleText, type FormClient } from '../testing/portal-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('admin pages');

const ADMIN_GETS = ['/admin', '/admin/devices', '/admin/access-log', '/admin/access-log.csv', '/admin/enrollment-tokens', '/admin/api-tokens', '/admin/peers'];

describe.each(drivers)('admin pages on %s', (driver) => {
  const bed = usePortalTestBed(driver);
  let admin: FormClient;
  let adminId: string;
  beforeEach(async () => {
    adminId = (await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' })).id;
    await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    admin = await signedIn(bed.app, 'admin@example.io');
  });

  /** 60 devices an000..an059 with known states: every 7th disabled, every 3rd online, tags by parity. */
  async function seed() {
    await bed.t.db.execute(sql`
      insert into devices (organization_id, serial, public_key, tunnel_ip, status, tags, last_handshake_at)
      select '00000000-0000-4000-8000-000000000001'::uuid, 'an' || lpad(i::text, 3, '0'), encode(sha256(('k' || i)::bytea), 'base64'), '100.70.0.0'::inet + i,
             case when i % 7 = 0 then 'disabled' else 'enabled' end,
             case when i % 2 = 0 then array['even'] else array['odd'] end,
             case when i % 3 = 0 then ${bed.clock.now().toISOString()}::timestamptz - (i || ' seconds')::interval else null end
      from generate_series(0, 59) as g(i)`);
  }

  it('keeps admin pages from anonymous visitors (login) and from owners (403 page, nothing changed)', async () => {
    const anon = formClient(bed.app);
    for (const path of ADMIN_GETS) {
      const res = await anon.get(path);
      expect([res.status, res.location], path).toEqual([303, `/login?next=${encodeURIComponent(path)}`]);
    }
    const owner = await signedIn(bed.app, 'owner@example.io');
    for (const path of ADMIN_GETS) {
      const res = await owner.get(path);
      expect(res.status, path).toBe(403);
      expect(visibleText(res.text), path).toContain('Not allowed this page is for administrators only');
      expect(res.text).toContain('owner@example.io'); // the friendly page keeps the layout
    }
    await seed();
    const peer = await bed.registry.createAdminPeer({ name: 'p', publicKey: testKey('peer') });
    const before = await snapshotTables(bed.t.db);
    for (const [path, form] of [
      ['/admin/devices/bulk', { action: 'disable', serial: 'an001' }],
      ['/admin/enrollment-tokens', { maxUses: '1', duration: '1d' }],
      ['/admin/api-tokens', { name: 'x', scope: 'write', duration: 'never' }],
      ['/admin/peers', { name: 'x', mode: 'generate' }],
      [`/admin/peers/${peer.peer.id}/delete`, {}],
    ] as const) {
      const res = await owner.post(path, form);
      expect(res.status, path).toBe(403);
    }
    expect(await snapshotTables(bed.t.db)).toEqual(before);
  });

  it('refuses every admin form without a valid CSRF token', async () => {
    await seed();
    const peer = await bed.registry.createAdminPeer({ name: 'p', publicKey: testKey('peer') });
    const token = await bed.registry.createEnrollmentToken({ createdBy: null });
    const before = await snapshotTables(bed.t.db);
    for (const [path, form] of [
      ['/admin/devices/bulk', { action: 'disable', serial: 'an001' }],
      ['/admin/enrollment-tokens', { maxUses: '1', duration: '1d' }],
      [`/admin/enrollment-tokens/${token.info.id}/revoke`, {}],
      ['/admin/api-tokens', { name: 'x', scope: 'write', duration: 'never' }],
      ['/admin/peers', { name: 'x', mode: 'generate' }],
      [`/admin/peers/${peer.peer.id}/delete`, {}],
    ] as const) {
      expect((await admin.go('POST', path, form)).status, path).toBe(403);
      expect((await admin.post(path, form, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, path).toBe(403);
    }
    expect(await snapshotTables(bed.t.db)).toEqual(before);
  });

  it('searches, filters, sorts and pages devices on the server', async () => {
    await seed();
    const serials = (html: string) => [...html.matchAll(/name="serial" value="([^"]+)"/g)].map((m) => m[1]);
    const first = await admin.get('/admin/devices');
    expect(first.status).toBe(200);
    expect(serials(first.text)).toEqual(Array.from({ length: 50 }, (_, i) => `an${String(i).padStart(3, '0')}`));
    const next = /href="(\/admin\/devices\?cursor=[^"]+)">Next page/.exec(first.text)![1]!.replaceAll('&amp;', '&');
    expect(serials((await admin.get(next)).text)).toEqual(Array.from({ length: 10 }, (_, i) => `an0${50 + i}`));

    expect(serials((await admin.get('/admin/devices?q=05')).text)).toEqual(['an005', 'an050', 'an051', 'an052', 'an053', 'an054', 'an055', 'an056', 'an057', 'an058', 'an059']);
    expect(serials((await admin.get('/admin/devices?status=disabled&tag=even')).text)).toEqual(['an000', 'an014', 'an028', 'an042', 'an056']);
    const online = serials((await admin.get('/admin/devices?online=yes&sort=-lastSeen')).text);
    expect(online).toEqual(Array.from({ length: 20 }, (_, i) => `an${String(i * 3).padStart(3, '0')}`));
    const offline = serials((await admin.get('/admin/devices?online=no&sort=-serial')).text);
    expect(offline.slice(0, 3)).toEqual(['an059', 'an058', 'an056']);
    // Filters survive paging: the next link of a filtered, sorted page carries them.
    const filtered = await admin.get('/admin/devices?status=enabled&sort=-serial');
    expect(filtered.text).toContain('<option value="-serial" selected="">');
    expect(serials(filtered.text).slice(0, 3)).toEqual(['an059', 'an058', 'an057']);
    const link = /href="(\/admin\/devices\?status=enabled&amp;sort=-serial&amp;cursor=[^"]+)">Next page/.exec(filtered.text)![1]!.replaceAll('&amp;', '&');
    expect(serials((await admin.get(link)).text)).toEqual(['an001']);
    const bad = await admin.get('/admin/devices?cursor=bm9wZQ');
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('cursor is not a cursor this page returned');
  });

  it('disables the checked devices with one form post and returns to the same filtered list', async () => {
    await seed();
    const page = await admin.get('/admin/devices?tag=odd');
    const back = /name="back" value="([^"]+)"/.exec(page.text)![1]!.replaceAll('&amp;', '&');
    expect(back).toBe('/admin/devices?tag=odd');
    const res = await admin.post('/admin/devices/bulk', { back, action: 'disable', serial: ['an001', 'an003', 'an007'] });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/admin/devices?tag=odd&done=bulk-disabled&n=2'); // an007 was disabled already
    expect((await bed.registry.listDevices({ status: 'disabled', tag: 'odd' })).devices.map((d) => d.serial)).toEqual(['an001', 'an003', 'an007', 'an021', 'an035', 'an049']);
    expect(visibleText((await admin.get(res.location!)).text)).toContain('2 devices disabled.');
    const again = await admin.post('/admin/devices/bulk', { back: 'https://evil.example/', action: 'enable', serial: ['an001'] });
    expect(again.location).toBe('/admin/devices?done=bulk-enabled&n=1');
    const none = await admin.post('/admin/devices/bulk', { back, action: 'disable' });
    expect(none.status).toBe(400);
    expect(visibleText(none.text)).toContain('select at least one device first');
    const unknown = await admin.post('/admin/devices/bulk', { back, action: 'disable', serial: ['an002', 'an999'] });
    expect(unknown.status).toBe(404);
    expect((await bed.registry.getDevice('an002')).status).toBe('enabled');
  });

  it('creates an enrollment token shown once that enrolls devices with its tags, lists and revokes it', async () => {
    await admin.get('/admin/enrollment-tokens');
    const res = await admin.post('/admin/enrollment-tokens', { description: 'Berlin batch', maxUses: '2', duration: '7d', tags: 'Berlin, fleet-a' });
    expect(res.status).toBe(201);
    const token = /id="secret" class="secret" type="text" readonly="" value="([^"]+)"/.exec(res.text)![1]!;
    expect(visibleText(res.text)).toContain('it is shown only this once');
    const reg = await bed.registry.registerDevice({ serial: 'an77', publicKey: testKey('an77'), enrollmentToken: token });
    expect(reg.created).toBe(true);
    expect((await bed.registry.getDevice('an77')).tags).toEqual(['berlin', 'fleet-a']);
    const list = await admin.get('/admin/enrollment-tokens');
    expect(list.text).not.toContain(token);
    expect(visibleText(list.text)).toMatch(/Berlin batch berlin fleet-a 1 \/ 2 active in 7 days/);
    expect(JSON.stringify(await snapshotTables(bed.t.db))).not.toContain(token);

    const id = (await bed.registry.listEnrollmentTokens())[0]!.id;
    const revoked = await admin.post(`/admin/enrollment-tokens/${id}/revoke`);
    expect(revoked.location).toBe('/admin/enrollment-tokens?done=token-revoked');
    expect((await bed.registry.listEnrollmentTokens())[0]!.state).toBe('revoked');
    await expect(bed.registry.registerDevice({ serial: 'an78', publicKey: testKey('an78'), enrollmentToken: token })).rejects.toThrow(/revoked/);

    const bad = await admin.post('/admin/enrollment-tokens', { description: 'x', maxUses: '0', duration: '1d', tags: '' });
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('Devices it may enroll must be an integer from 1 to 1000000');
    expect((await admin.post('/admin/enrollment-tokens', { maxUses: '1', duration: '1d', tags: 'bad tag!' })).status).toBe(400);
    expect(await bed.registry.listEnrollmentTokens()).toHaveLength(1);
  });

  it('creates an API token with the chosen scopes shown once, and revokes it', async () => {
    await admin.get('/admin/api-tokens');
    const res = await admin.post('/admin/api-tokens', { name: 'inventory sync', scope: 'read', duration: '30d' });
    expect(res.status).toBe(201);
    const token = /id="secret" class="secret" type="text" readonly="" value="([^"]+)"/.exec(res.text)![1]!;
    const principal = await bed.registry.authenticateApiToken(token);
    expect(principal?.user.id).toBe(adminId);
    expect(principal?.scopes).toEqual(['read']);
    expect((await bed.registry.listApiTokens())[0]!.expiresAt).toBe('2030-01-31T00:00:00.000Z');
    expect((await admin.get('/admin/api-tokens')).text).not.toContain(token);
    const id = (await bed.registry.listApiTokens())[0]!.id;
    expect((await admin.post(`/admin/api-tokens/${id}/revoke`)).location).toBe('/admin/api-tokens?done=token-revoked');
    expect(await bed.registry.authenticateApiToken(token)).toBeUndefined();
    expect((await admin.post('/admin/api-tokens', { name: 'x', duration: '30d' })).status).toBe(400);
    expect((await admin.post('/admin/api-tokens', { name: '', scope: 'read', duration: '30d' })).status).toBe(400);
    expect((await admin.post('/admin/api-tokens', { name: 'x', scope: 'root', duration: '30d' })).status).toBe(400);
  });

  it('adds a WireGuard peer from a pasted public key with a download and a QR code', async () => {
    const secret = generatePrivateKey();
    const publicKey = encodeKey(publicKeyFromPrivate(secret));
    await admin.get('/admin/peers');
    const res = await admin.post('/admin/peers', { name: 'alice laptop', mode: 'paste', publicKey });
    expect(res.status).toBe(201);
    const [peer] = await bed.registry.listAdminPeers();
    const config = wgQuickConfig(bed.registry.context, peer!);
    expect(visibleText(res.text)).toContain(`Address = ${peer!.tunnelIp}/32`);
    expect(res.text).toMatch(/<figure class="qr" role="img"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const download = await admin.get(`/admin/peers/${peer!.id}/wg-quick.conf`);
    expect(download.text).toBe(config);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="ph-alice-laptop.conf"');
    expect((await admin.get(`/admin/peers/${peer!.id}`)).status).toBe(200);
    const dup = await admin.post('/admin/peers', { name: 'again', mode: 'paste', publicKey });
    expect(dup.status).toBe(409);
    expect(dup.text).toContain('value="again"');
    expect((await admin.post('/admin/peers', { name: 'x', mode: 'paste', publicKey: 'not a key' })).status).toBe(400);
    expect((await admin.post('/admin/peers', { name: 'x', mode: 'paste', publicKey: '' })).status).toBe(400);
    const del = await admin.post(`/admin/peers/${peer!.id}/delete`);
    expect(del.location).toBe('/admin/peers?done=peer-deleted');
    expect(await bed.registry.listAdminPeers()).toEqual([]);
    expect((await admin.get(`/admin/peers/${peer!.id}`)).status).toBe(404);
  });

  it('generates a key pair whose private key is in that response only, never stored', async () => {
    await admin.get('/admin/peers');
    const res = await admin.post('/admin/peers', { name: 'bob', mode: 'generate', publicKey: '' });
    expect(res.status).toBe(201);
    const privateKey = /name="privateKey" value="([^"]+)"/.exec(res.text)![1]!;
    const [peer] = await bed.registry.listAdminPeers();
    expect(encodeKey(publicKeyFromPrivate(decodeKey(privateKey)))).toBe(peer!.publicKey);
    expect(visibleText(res.text)).toContain(`PrivateKey = ${privateKey}`);
    expect(JSON.stringify(await snapshotTables(bed.t.db))).not.toContain(privateKey);
    expect((await admin.get(`/admin/peers/${peer!.id}`)).text).not.toContain(privateKey);
    const full = await admin.post(`/admin/peers/${peer!.id}/wg-quick.conf`, { privateKey });
    expect(full.status).toBe(200);
    expect(full.text).toBe(wgQuickConfig(bed.registry.context, peer!).replace(/^# PrivateKey = .*$/m, `PrivateKey = ${privateKey}`));
    const wrong = await admin.post(`/admin/peers/${peer!.id}/wg-quick.conf`, { privateKey: encodeKey(generatePrivateKey()) });
    expect(wrong.status).toBe(400);
    expect(wrong.text).not.toContain('PrivateKey =');
    expect((await admin.post(`/admin/peers/${peer!.id}/wg-quick.conf`, { privateKey: 'x'.repeat(43) + '=' })).status).toBe(400);
  });

  it('filters the access log by device and time, and streams every matching row as CSV', async () => {
    const base = bed.clock.now().getTime();
    const user = await bed.registry.findUserByEmail('owner@example.io');
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      at: new Date(base - i * 1000), serial: i % 2 ? 'an1' : 'an2', userId: i === 0 ? user!.id : null, clientIp: '198.51.100.4',
      method: 'GET', path: i === 0 ? '/=HYPERLINK("x"),1' : `/p${i}`, status: 200, bytesIn: i, bytesOut: 2 * i, durationMs: 1,
    }));
    await bed.registry.appendAccessLog(rows);
    const page = await admin.get('/admin/access-log?serial=an1&from=2029-12-31T23:59&to=2029-12-31T23:59');
    expect(page.status).toBe(200);
    const paths = [...visibleText(page.text).matchAll(/GET (\/p\d+)/g)].map((m) => m[1]);
    // 23:59:00–23:59:59 holds seconds 1..60 before midnight; an1 has the odd ones.
    expect(paths).toEqual(Array.from({ length: 30 }, (_, i) => `/p${2 * i + 1}`));
    expect(page.text).toContain('href="/admin/access-log.csv?serial=an1&amp;from=2029-12-31T23%3A59&amp;to=2029-12-31T23%3A59"');

    const csv = await admin.get('/admin/access-log.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="porthole-access-log-all-20300101-0000.csv"');
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('time_utc,device,user_email,user_id,client_ip,method,path,status,bytes_in,bytes_out,duration_ms');
    expect(lines).toHaveLength(2502); // header, 2500 rows, the empty string after the last CRLF
    expect(lines[1]).toBe(`2030-01-01T00:00:00.000Z,an2,owner@example.io,${user!.id},198.51.100.4,GET,"/=HYPERLINK(""x""),1",200,0,0,1`);
    expect(lines[2500]).toBe('2029-12-31T23:18:21.000Z,an1,,,198.51.100.4,GET,/p2499,200,2499,4998,1');
    const one = await admin.get('/admin/access-log.csv?serial=an2&from=2029-12-31T23:59');
    expect(one.text.split('\r\n')).toHaveLength(1 + 31 + 1);
    const bad = await admin.get('/admin/access-log.csv?from=yesterday');
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('from must be a date and time');
    expect((await admin.get('/admin/access-log?serial=-x-')).status).toBe(400);
  });

  it('shows the live overview from the database', async () => {
    await seed();
    await bed.registry.appendAccessLog(
      Array.from({ length: 7 }, (_, i) => ({ at: new Date(bed.clock.now().getTime() - i * 5000), serial: 'an001', userId: null, clientIp: '198.51.100.4', method: 'GET', path: '/', status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 })),
    );
    const page = await admin.get('/admin');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<meta http-equiv="refresh" content="15"/>');
    const text = visibleText(page.text);
    expect(text).toContain('Devices online 20 of 51 enabled'); // online counts every recent handshake, disabled or not
    expect(text).toContain('Handshakes, last minute 20');
    expect(text).toContain('Proxied requests, last minute 7');
    expect(text).toContain('Disabled devices 9 of 60 registered');
    expect(text).toContain('Never connected 40');
  });
});
