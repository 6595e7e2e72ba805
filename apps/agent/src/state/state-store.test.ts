import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateLoadError, StateStore, STATE_FILE } from './state-store.js';
import { decodeKey, publicKeyFromPrivate } from '@porthole/wireguard';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'porthole-agent-state-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('StateStore', () => {
  it('creates a fresh state with a private key, mode 0600', () => {
    const dir = tempDir();
    const store = StateStore.open(join(dir, 'agent'));
    const path = join(dir, 'agent', STATE_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'agent')).mode & 0o777).toBe(0o700);
    expect(publicKeyFromPrivate(decodeKey(store.state.privateKey))).toHaveLength(32);
    expect(store.state.enabled).toBe(false);
    expect(store.state.registration).toBeNull();
  });

  it('persists updates and reloads them', () => {
    const dir = tempDir();
    const a = StateStore.open(dir);
    a.update((s) => {
      s.enabled = true;
      s.pins['https://10.11.120.2'] = 'AA:BB';
    });
    const b = StateStore.open(dir);
    expect(b.state).toEqual(a.state);
    expect(b.state.generation).toBe(1);
  });

  it('refuses an invalid update without changing memory or disk', () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    const before = readFileSync(store.path, 'utf8');
    expect(() =>
      store.update((s) => {
        s.lastTai64n = 'nothex';
      }),
    ).toThrow();
    expect(store.state.lastTai64n).toBeNull();
    expect(readFileSync(store.path, 'utf8')).toBe(before);
  });

  it('reports a corrupt file instead of replacing the key', () => {
    const dir = tempDir();
    writeFileSync(join(dir, STATE_FILE), '{"version":1,"privateKey":', { mode: 0o600 });
    expect(() => StateStore.open(dir)).toThrow(StateLoadError);
    writeFileSync(join(dir, STATE_FILE), '{"version":2}', { mode: 0o600 });
    expect(() => StateStore.open(dir)).toThrow(/field "version"/);
  });

  it('tightens a world-readable state file to 0600', () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    writeFileSync(store.path, readFileSync(store.path), { mode: 0o644 });
    StateStore.open(dir);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });
});
