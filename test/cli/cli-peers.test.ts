// `porthole wg-config --org` and `porthole peers list|delete` against an in-process hub: an
// organisation's admin token adds a peer into its organisation, lists it (another organisation's
// token does not see it, and deleting it there exits like an unknown peer), and deletes it; a hub
// administrator puts a peer into an organisation with --org.
import { describe, expect, it } from 'vitest';
import { cli, useCliFleet } from './support/cli-harness.js';

const fleet = useCliFleet([], 'cli-peers');

async function orgToken(org: string, role: string): Promise<Record<string, string>> {
  const made = await cli(['orgs', 'create-token', org, `${role} ci`, '--role', role, '--json'], fleet.adminEnv);
  expect(made.code).toBe(0);
  return { ...fleet.adminEnv, PORTHOLE_TOKEN: (JSON.parse(made.stdout) as { token: string }).token };
}

describe('porthole peers', () => {
  it("an organisation's admin adds, lists and deletes its peers; other organisations see none of them", async () => {
    expect((await cli(['orgs', 'create', 'Acme Metering'], fleet.adminEnv)).code).toBe(0);
    expect((await cli(['orgs', 'create', 'Globex'], fleet.adminEnv)).code).toBe(0);
    const acmeAdmin = await orgToken('Acme Metering', 'admin');
    const globexAdmin = await orgToken('Globex', 'admin');

    const made = await cli(['wg-config', 'anna-laptop', '--json'], acmeAdmin);
    expect(made.code).toBe(0);
    const peer = JSON.parse(made.stdout) as { id: string; organizationId: string; config: string };
    expect(peer.config).toMatch(/^PrivateKey = /m);
    const listed = await cli(['peers', 'list'], acmeAdmin);
    expect(listed.stdout).toMatch(new RegExp(`${peer.id}\\s+anna-laptop\\s+Acme Metering\\s+\\S+\\s+never`));

    expect(JSON.parse((await cli(['peers', 'list', '--json'], globexAdmin)).stdout)).toEqual([]);
    const foreign = await cli(['peers', 'delete', peer.id], globexAdmin);
    const unknown = await cli(['peers', 'delete', '00000000-0000-4000-8000-0000000000ab'], globexAdmin);
    expect(foreign.code).toBe(unknown.code);
    expect(foreign.code).not.toBe(0);

    expect(await cli(['peers', 'delete', peer.id], acmeAdmin)).toMatchObject({ code: 0, stdout: `Deleted admin peer ${peer.id}.\n` });
    expect((await cli(['peers', 'list'], acmeAdmin)).stdout).toBe('No admin peers.\n');
  });

  it('a hub administrator puts a peer into an organisation with --org; a viewer may not add one', async () => {
    const made = await cli(['--org', 'Globex', 'wg-config', 'ops-laptop', '--json'], fleet.adminEnv);
    expect(made.code).toBe(0);
    const peer = JSON.parse(made.stdout) as { organizationId: string };
    const orgs = JSON.parse((await cli(['orgs', 'list', '--json'], fleet.adminEnv)).stdout) as { id: string; name: string }[];
    expect(peer.organizationId).toBe(orgs.find((o) => o.name === 'Globex')!.id);
    const viewer = await orgToken('Globex', 'viewer');
    expect((await cli(['wg-config', 'viewer-laptop'], viewer)).code).not.toBe(0);
  });
});
