// `porthole orgs …` and the global --org against an in-process hub: a hub administrator creates an
// organisation, adds an owner, makes an organisation token (printed once) whose enrollment tokens
// register devices into the organisation; --org narrows a listing to one organisation and an
// unknown one exits 4; members and tokens are listed and removed.
import { describe, expect, it } from 'vitest';
import { newDeviceKeys } from '../support/overlay-device.js';
import { cli, useCliFleet } from './support/cli-harness.js';

const fleet = useCliFleet([], 'cli-orgs');

async function register(serial: string, enrollmentToken: string): Promise<number> {
  const res = await fetch(`${fleet.hub.url}/api/v1/devices/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serial, publicKey: newDeviceKeys().publicKey, enrollmentToken }),
  });
  return res.status;
}

describe('porthole orgs', () => {
  it('creates an organisation, its owner and a token that enrolls devices into it; --org narrows lists', async () => {
    const created = await cli(['orgs', 'create', 'Acme Metering'], fleet.adminEnv);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created organisation Acme Metering \([0-9a-f-]{36}\)\./);
    const orgs = JSON.parse((await cli(['orgs', 'list', '--json'], fleet.adminEnv)).stdout) as { id: string; name: string; role: string | null }[];
    expect(orgs.map((o) => [o.name, o.role])).toEqual([
      ['Acme Metering', null],
      ['Default', null],
    ]);
    const acme = orgs[0]!;

    const added = await cli(['orgs', 'add-member', 'acme metering', 'Alice@Acme.example', '--role', 'owner'], fleet.adminEnv);
    expect(added).toMatchObject({ code: 0, stdout: 'alice@acme.example is now owner of Acme Metering.\n' });
    const members = await cli(['orgs', 'members', acme.id], fleet.adminEnv);
    expect(members.stdout).toMatch(/alice@acme\.example\s+owner/);
    expect((await cli(['orgs', 'add-member', acme.id, 'bob@acme.example', '--role', 'root'], fleet.adminEnv)).code).toBe(2);

    const made = await cli(['orgs', 'create-token', 'Acme Metering', 'ci', '--role', 'admin'], fleet.adminEnv);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('shown only this once');
    const orgToken = /^\s+(ph_api_\S+)$/m.exec(made.stdout)![1]!;
    const asOrg = { ...fleet.adminEnv, PORTHOLE_TOKEN: orgToken };
    const enrollment = JSON.parse((await cli(['tokens', 'enrollment', 'create', '--uses', '2', '--json'], asOrg)).stdout) as { token: string; organizationId: string };
    expect(enrollment.organizationId).toBe(acme.id);
    expect(await register('acme0001', enrollment.token)).toBe(201);
    const defaultToken = JSON.parse((await cli(['tokens', 'enrollment', 'create', '--json'], fleet.adminEnv)).stdout) as { token: string };
    expect(await register('dflt0001', defaultToken.token)).toBe(201);

    const serials = async (args: string[], e = fleet.adminEnv) => (JSON.parse((await cli(['devices', 'list', '--json', ...args], e)).stdout) as { devices: { serial: string }[] }).devices.map((d) => d.serial);
    expect(await serials([])).toEqual(['acme0001', 'dflt0001']);
    expect(await serials(['--org', 'Acme Metering'])).toEqual(['acme0001']);
    expect(await serials([], { ...fleet.adminEnv, PORTHOLE_ORG: acme.id })).toEqual(['acme0001']);
    // The organisation token sees its own organisation only.
    expect(await serials([], asOrg)).toEqual(['acme0001']);
    const unknown = await cli(['devices', 'list', '--org', 'Nobody Ltd'], fleet.adminEnv);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('organization "Nobody Ltd" does not exist');

    const tokens = JSON.parse((await cli(['orgs', 'tokens', acme.id, '--json'], fleet.adminEnv)).stdout) as { id: string; role: string }[];
    expect(tokens.map((x) => x.role)).toEqual(['admin']);
    expect((await cli(['orgs', 'revoke-token', acme.id, tokens[0]!.id], fleet.adminEnv)).code).toBe(0);
    expect((await cli(['devices', 'list'], asOrg)).code).toBe(3);
    expect((await cli(['orgs', 'remove-member', acme.id, 'alice@acme.example'], fleet.adminEnv)).stdout).toBe('Removed alice@acme.example from Acme Metering.\n');
    expect((await cli(['orgs', 'members', acme.id], fleet.adminEnv)).stdout).toContain('has no members');
  }, 120_000);

  it('documents itself in --help', async () => {
    const help = await cli(['orgs', 'create-token', '--help'], fleet.adminEnv);
    expect(help.stdout).toContain('--role ROLE');
    expect(help.stdout).toContain('--org ID|NAME');
    expect((await cli(['--help'], fleet.adminEnv)).stdout).toContain('orgs add-member');
  });
});
