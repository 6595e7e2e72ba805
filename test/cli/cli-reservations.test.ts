// `porthole reservations list|add|remove` against an in-process hub: human and --json output, exit
// codes for a duplicate, a bad prefix and an unknown one, and the effect: an account's claim of a
// reserved serial is refused with serial_reserved while an enrollment token still registers it.
import { describe, expect, it } from 'vitest';
import { newDeviceKeys } from '../support/overlay-device.js';
import { cli, useCliFleet } from './support/cli-harness.js';
import { TEST_ADMIN_EMAIL as ADMIN_EMAIL } from '@porthole/hub/testing';

const fleet = useCliFleet([], 'cli');

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${fleet.hub.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('porthole reservations', () => {
  it('adds, lists, refuses claims under, and removes a reserved prefix', async () => {
    const empty = await cli(['reservations', 'list'], fleet.adminEnv);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
    expect(empty.stdout).toContain('No reserved serial prefixes');

    const added = await cli(['reservations', 'add', 'AN', '--description', 'Example Meters fleet'], fleet.adminEnv);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('Reserved serial prefix an: serials starting with it now register only with an enrollment token.\n');

    const listed = await cli(['reservations', 'list'], fleet.adminEnv);
    const rows = listed.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^PREFIX\s+CREATED\s+BY\s+DESCRIPTION$/);
    expect(rows[1]).toMatch(new RegExp(`^an\\s+\\S+ \\S+\\s+${ADMIN_EMAIL.replace('.', '\\.')}\\s+Example Meters fleet$`));
    const json = JSON.parse((await cli(['reservations', 'list', '--json'], fleet.adminEnv)).stdout);
    expect(json).toEqual([{ prefix: 'an', description: 'Example Meters fleet', createdBy: { id: expect.any(String), email: ADMIN_EMAIL }, createdAt: expect.any(String) }]);

    // The effect: an account claim of a reserved serial is refused, an enrollment token registers it.
    const keys = newDeviceKeys();
    const claim = await post('/claims', { serial: 'an50000001', publicKey: keys.publicKey });
    expect(claim.status).toBe(403);
    expect(claim.json.error).toMatchObject({ code: 'serial_reserved', field: 'serial' });
    const token = await post('/enrollment-tokens', { maxUses: 1 }, fleet.hub.adminToken);
    const registered = await post('/devices/register', { serial: 'an50000001', publicKey: keys.publicKey, enrollmentToken: token.json.token });
    expect(registered.status).toBe(201);
    const show = await cli(['devices', 'show', 'an50000001'], fleet.adminEnv);
    expect(show.stdout).toMatch(/^attested:\s+no$/m);

    const removed = await cli(['reservations', 'remove', 'an', '--json'], fleet.adminEnv);
    expect(JSON.parse(removed.stdout)).toEqual({ prefix: 'an', removed: true });
    expect((await post('/claims', { serial: 'an50000002', publicKey: newDeviceKeys().publicKey })).status).toBe(201);
  });

  it('exits 1 for a duplicate, 2 for a bad prefix or missing argument, 4 for an unknown prefix', async () => {
    expect((await cli(['reservations', 'add', 'zz'], fleet.adminEnv)).code).toBe(0);
    const dup = await cli(['reservations', 'add', 'ZZ'], fleet.adminEnv);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('prefix zz is already reserved');
    const bad = await cli(['reservations', 'add', 'z_z'], fleet.adminEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not the start of a serial');
    expect((await cli(['reservations', 'add'], fleet.adminEnv)).code).toBe(2);
    const unknown = await cli(['reservations', 'remove', 'qq'], fleet.adminEnv);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('prefix qq is not reserved');
    expect((await cli(['reservations', 'remove', 'zz'], fleet.adminEnv)).code).toBe(0);
  });
});
