// The CLI's tests against a real hub (startTestHub from @porthole/hub/testing): a config home of
// their own, a fleet of registered devices, and the CLI run in-process with its output captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { run, type CliIo } from '@porthole/cli';
import { startTestHub, type TestHub } from '@porthole/hub/testing';
import { newDeviceKeys } from '../../support/overlay-device.js';
import { startedForFile } from '../../support/started.js';

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

/** The CLI's own binary, as users run it. */
export const CLI_BIN = join(import.meta.dirname, '..', '..', '..', 'apps', 'cli', 'bin', 'porthole.mjs');

export interface CliFleet {
  hub: TestHub;
  home: ReturnType<typeof tempHome>;
  /** Env with the admin login given by variables (no stored config needed). */
  adminEnv: Record<string, string>;
  /** The hub's API as the admin; throws on an error status. */
  api(method: string, path: string, body?: unknown): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Registers a device through an enrollment token with these tags. */
  register(serial: string, tags: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A hub with `serials` registered through the API (even ones tagged fleet-a, odd ones fleet-b) and a config home. */
export async function startCliFleet(serials: string[], name = 'cli'): Promise<CliFleet> {
  const hub = await startTestHub({ name });
  const home = tempHome();
  const api: CliFleet['api'] = async (method, path, body) => {
    const res = await fetch(`${hub.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${hub.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const register: CliFleet['register'] = async (serial, tags) => {
    const token = await api('POST', '/enrollment-tokens', { description: `for ${serial}`, maxUses: 1, tags });
    const res = await fetch(`${hub.url}/api/v1/devices/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serial, publicKey: newDeviceKeys().publicKey, enrollmentToken: token.token, agentVersion: 'test-1.0' }),
    });
    if (res.status !== 201) throw new Error(`registering ${serial}: ${res.status} ${await res.text()}`);
  };
  for (const [i, serial] of serials.entries()) await register(serial, [i % 2 === 0 ? 'fleet-a' : 'fleet-b']);
  return {
    hub,
    home,
    adminEnv: { ...home.env, PORTHOLE_HUB: hub.url, PORTHOLE_TOKEN: hub.adminToken },
    api,
    register,
    async close() {
      await hub.close();
      home.remove();
    },
  };
}

/** The fleet of a test file: started before its tests, closed after them. */
export function useCliFleet(serials: string[], name?: string): CliFleet {
  return startedForFile(() => startCliFleet(serials, name));
}
