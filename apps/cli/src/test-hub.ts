// Test support (not shipped): an in-process hub on loopback with a temp data dir and an admin API
// token from its config, and a way to run the CLI in-process with captured stdout/stderr.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { UdpBind } from '@porthole/wireguard';
import { createHub, loadConfig, type Hub } from '@porthole/hub';
import { freePort } from '../../../test/support/free-port.js';
import type { CliIo } from './io.js';
import { run } from './run.js';

export const ADMIN_EMAIL = 'admin@example.io';

export interface TestHub {
  hub: Hub;
  /** Portal URL as the CLI uses it, e.g. http://localhost:41234. */
  url: string;
  port: number;
  adminToken: string;
  close(): Promise<void>;
}

export async function startTestHub(): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'porthole-cli-hub-'));
  const port = await freePort();
  const adminToken = `ph_api_${randomBytes(24).toString('base64url')}`;
  const bind = await UdpBind.open({ host: '127.0.0.1' });
  const config = loadConfig(
    {
      PORTHOLE_DATA_DIR: dataDir,
      PORTHOLE_HTTP_PORT: String(port),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: `127.0.0.1:${bind.localPort}`,
      PORTHOLE_ADMIN_EMAIL: ADMIN_EMAIL,
      PORTHOLE_ADMIN_PASSWORD: 'correct horse battery staple 42',
      PORTHOLE_ADMIN_TOKEN: adminToken,
    },
    (path) => readFileSync(path, 'utf8'),
  );
  const hub = await createHub({ config, bind, statusFlushMs: 200 });
  await hub.listen();
  return {
    hub,
    url: `http://localhost:${port}`,
    port,
    adminToken,
    async close() {
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh config home per test file, so tests never see the developer's own login. */
export function tempHome(): { env: Record<string, string>; dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-cli-home-'));
  return {
    dir,
    env: { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the CLI in-process; stdin is the given text (or empty), output is captured. */
export async function cli(argv: string[], env: Record<string, string>, options: { stdin?: string; io?: Partial<CliIo> } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await run(argv, {
    stdin: Readable.from(options.stdin !== undefined ? [Buffer.from(options.stdin)] : []),
    stdout,
    stderr,
    env,
    now: () => new Date(),
    ...options.io,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
