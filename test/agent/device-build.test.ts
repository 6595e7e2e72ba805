// The device build (`npm run build:agent`, scripts/build-agent.ts) is what devices run: one directory
// that plain node starts with no checkout beside it. Built into a temporary directory, copied away
// from the repository, it prints its usage, settles idle against a hub that refuses it with its page
// answering, and seals WireGuard with libsodium (sodium-native shipped beside the bundle).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIdleAgent, type Cleanups } from './support/idle-agent.js';

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let work: string;
/** The copied build: `<work>/device/porthole-agent`, nothing of the repository above it. */
let installed: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agent-device-build-'));
  const built = join(work, 'build');
  await execFileAsync('npm', ['run', '--silent', 'build:agent', '--', '--out', built], { cwd: REPO, timeout: 120_000 });
  installed = join(work, 'device', 'porthole-agent');
  cpSync(built, installed, { recursive: true });
  rmSync(built, { recursive: true, force: true });
}, 150_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the device build of porthole-agent', () => {
  it('is the bundle and sodium-native with this host\'s prebuild only, away from any node_modules', () => {
    expect(readdirSync(installed).sort()).toEqual(['node_modules', 'porthole-agent.mjs']);
    expect(readdirSync(join(installed, 'node_modules/sodium-native/prebuilds'))).toEqual([`${process.platform}-${process.arch}`]);
    for (let dir = dirname(installed); dirname(dir) !== dir; dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
  });

  it('prints its usage with --help under plain node, from any directory', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(installed, 'porthole-agent.mjs'), '--help'], {
      cwd: work,
      env: { ...process.env, NODE_OPTIONS: '', NODE_PATH: '' },
    });
    expect(stdout).toMatch(/^Usage: porthole-agent/);
    expect(stdout).toContain('--hub-url');
  });

  it('settles idle against a refusing hub, seals with libsodium, and its page answers', async () => {
    const agent = await startIdleAgent([join(installed, 'porthole-agent.mjs')], cleanups, { cwd: work });
    expect(agent.hub.requests).toContain('POST /api/v1/devices/register');
    const starting = agent.stdout().split('\n').find((l) => l.includes('"agent starting"'));
    expect(JSON.parse(starting!)).toMatchObject({ aead: 'libsodium' });
    // The page's code, loaded on the first request, is in the bundle too.
    const res = await fetch(`http://127.0.0.1:${agent.uiPort}/`, { redirect: 'manual' });
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).toMatch(/password/i);
  });
});
