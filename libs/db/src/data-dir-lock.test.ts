// Start-up problems of the database, said at once with their cause: an embedded data directory
// another process (or handle) holds is refused naming the holder, and freed when the holder dies,
// SIGKILL included; a PostgreSQL that cannot be used names the server and the driver's reason.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../test/support/requirements.js';
import { createDatabase, DataDirLockedError, DatabaseConnectError, describePostgresUrl, LOCK_FILE_NAME } from './database.js';
import { postgresTestUrl, probePostgres } from './testing.js';

const pgProblem = await probePostgres();
const scratch = mkdtempSync(join(tmpdir(), 'porthole-db-lock-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A port with nothing listening on 127.0.0.1. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A child process that opens `dir` (no migrations), says "open" and waits to be killed. */
function holder(dir: string) {
  const script = `
    import { createDatabase } from ${JSON.stringify(new URL('./database.ts', import.meta.url).pathname)};
    await createDatabase({ dataDir: ${JSON.stringify(dir)}, migrate: false });
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const opened = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('open\n') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited (${code}): ${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, opened, exited };
}

describe('the embedded data directory lock', () => {
  it('refuses a second handle at once, naming this process, and opens again after close', async () => {
    const dir = join(scratch, 'same-process');
    const first = await createDatabase({ dataDir: dir, migrate: false });
    const err = await createDatabase({ dataDir: dir, migrate: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(`process ${process.pid} (this process)`);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    await first.close();
    const again = await createDatabase({ dataDir: dir, migrate: false });
    await again.close();
  }, 60_000);

  it('refuses while another process holds it, names that process, and is free the moment it is SIGKILLed', async () => {
    const dir = join(scratch, 'two-processes');
    const other = holder(dir);
    try {
      await other.opened;
      const err = await createDatabase({ dataDir: dir, migrate: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect((err as DataDirLockedError).holder?.pid).toBe(other.child.pid);
      expect((err as Error).message).toContain(`in use by process ${other.child.pid}, since`);
    } finally {
      other.child.kill('SIGKILL');
      await other.exited;
    }
    // No stale lock: the kernel dropped it with the process.
    const after = await createDatabase({ dataDir: dir, migrate: false });
    await after.close();
  }, 60_000);
});

describe('PostgreSQL that cannot be used', () => {
  it('names the server without the password', () => {
    expect(describePostgresUrl('postgres://app:s3cret@db.example.io:6543/porthole')).toBe('db.example.io:6543/porthole as app');
    expect(describePostgresUrl('postgresql://db/porthole')).toBe('db:5432/porthole');
  });

  it('says "connection refused" with the host and port, not the first statement', async () => {
    const port = await closedPort();
    const err = await createDatabase({ url: `postgres://app:s3cret@127.0.0.1:${port}/porthole` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectError);
    expect((err as Error).message).toBe(`cannot use PostgreSQL at 127.0.0.1:${port}/porthole as app: connection refused (is PostgreSQL running and listening there?) (ECONNREFUSED)`);
    expect((err as Error).message).not.toMatch(/s3cret|Failed query|pg_advisory_lock/);
  });

  it.runIf(requirementsMet('PostgreSQL connection errors', { check: () => pgProblem }))('gives the server\'s own reason: unknown database, unknown role', async () => {
    const base = new URL(postgresTestUrl());
    const noDb = new URL(base);
    noDb.pathname = '/porthole_no_such_database';
    const err = await createDatabase({ url: noDb.href }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectError);
    expect((err as Error).message).toMatch(/: database "porthole_no_such_database" does not exist \(3D000\)$/);

    const noRole = new URL(base);
    noRole.username = 'porthole_no_such_role';
    const roleErr = await createDatabase({ url: noRole.href }).catch((e: unknown) => e);
    expect((roleErr as Error).message).toMatch(/as porthole_no_such_role: .*porthole_no_such_role.*\((28000|28P01)\)$/);
  });
});
