// The cluster lab's own PostgreSQL (15 on Debian bookworm): initdb into a temp directory (trust authentication), the
// server started inside the `dc` namespace listening on its own lab address only, stopped (fast
// shutdown) for the outage scenario and removed afterwards. PostgreSQL refuses to run as root, so
// it runs as the `postgres` user, which owns the directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Netns } from '../../support/netns.js';

/** The newest PostgreSQL server installed the Debian way (15 on bookworm). */
export const PG_BIN = ((): string => {
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres')))
      .sort((a, b) => Number(a) - Number(b));
    if (versions.length > 0) return join('/usr/lib/postgresql', versions.at(-1)!, 'bin');
  } catch {
    /* none installed: the lab's requirement check names the path */
  }
  return '/usr/lib/postgresql/15/bin';
})();

export interface LabPostgres {
  readonly url: (database: string) => string;
  /** Fast shutdown (SIGINT): sessions are ended, new connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
  /** Runs SQL as the superuser (psql inside the namespace). */
  sql(database: string, text: string): Promise<string>;
  close(): Promise<void>;
}

function ids(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startLabPostgres(ns: Netns, address: string, port = 5432): Promise<LabPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'k2-pg-'));
  const { uid, gid } = ids();
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  await ns.exec('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { timeoutMs: 60_000 });
  // Trust for the lab's addresses only (the nodes connect from the dc namespace's own addresses).
  appendFileSync(join(data, 'pg_hba.conf'), 'host all all 198.18.0.0/15 trust\n');
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    child = ns.spawn('runuser', [
      '-u', 'postgres', '--', `${PG_BIN}/postgres`, '-D', data,
      '-c', `listen_addresses=${address}`, '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
    ]);
    child.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
    child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await ns.exec(`${PG_BIN}/pg_isready`, ['-h', address, '-p', String(port), '-q']).then(() => true, () => false);
      if (ok) return;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`lab PostgreSQL did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    // SIGINT = fast shutdown (SIGTERM would wait for every client to leave). To the whole group.
    try {
      process.kill(-c.pid!, 'SIGINT');
    } catch {
      c.kill('SIGINT');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: (database) => `postgres://postgres@${address}:${port}/${database}`,
    stop,
    start,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async sql(database, text) {
      return (await ns.exec(`${PG_BIN}/psql`, ['-h', address, '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', text])).stdout;
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
