// The CLI's installer links and read-only grants against an in-process hub: `porthole links create`
// prints the URL once (the details on stderr), `links list` never shows it, `links revoke` ends the
// link; `devices grant --read-only` and `devices grants` say read-only; `devices show` names the
// owner's access window.
import { describe, expect, it } from 'vitest';
import { cli, useCliFleet } from './support/cli-harness.js';

const SERIAL = 'an20000018';
const fleet = useCliFleet([SERIAL]);

describe('porthole links', () => {
  it('create prints the URL once; list shows the link without it; revoke ends it', async () => {
    const made = await cli(['links', 'create', SERIAL, '--hours', '2', '--read-only'], fleet.adminEnv);
    expect(made.code).toBe(0);
    const url = made.stdout.trim();
    expect(url).toMatch(new RegExp(`^http://${SERIAL}\\.localhost:\\d+/\\.porthole/link\\?token=ph_link_[A-Za-z0-9_-]{43}$`));
    expect(made.stderr).toMatch(/\(read-only\), valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\. The URL is shown only now/);
    const id = /Installer link ([0-9a-f-]{36})/.exec(made.stderr)![1]!;

    const list = await cli(['links', 'list', SERIAL], fleet.adminEnv);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/read-only\s+valid/);
    expect(list.stdout).not.toContain(new URL(url).searchParams.get('token')!);
    const json = JSON.parse((await cli(['links', 'list', SERIAL, '--json'], fleet.adminEnv)).stdout) as { id: string; uses: number; revokedAt: string | null }[];
    expect(json).toEqual([expect.objectContaining({ id, uses: 0, revokedAt: null })]);

    expect((await cli(['links', 'revoke', SERIAL, id], fleet.adminEnv)).stdout).toBe(`Revoked installer link ${id} on ${SERIAL}.\n`);
    expect((await cli(['links', 'list', SERIAL], fleet.adminEnv)).stdout).toMatch(/read-only\s+revoked/);
    const again = await cli(['links', 'revoke', SERIAL, '00000000-0000-4000-8000-000000000000'], fleet.adminEnv);
    expect(again.code).toBe(4);
  });

  it('refuses --hours out of range before asking the hub', async () => {
    const r = await cli(['links', 'create', SERIAL, '--hours', '0'], fleet.adminEnv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--hours');
  });
});

describe('read-only grants and the window in devices show', () => {
  it('devices grant --read-only, and devices grants says so', async () => {
    const g = await cli(['devices', 'grant', SERIAL, 'viewer@example.io', '--read-only'], fleet.adminEnv);
    expect(g.code).toBe(0);
    expect(g.stdout).toContain('Granted viewer@example.io read-only access');
    expect((await cli(['devices', 'grants', SERIAL], fleet.adminEnv)).stdout).toMatch(/viewer@example\.io\s+read-only/);
  });

  it('devices show names the access window', async () => {
    const r = await cli(['devices', 'show', SERIAL], fleet.adminEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^access window:\s+not reported$/m);
  });
});
