// Crash safety of the state file: a child rewrites the state in a tight loop and is killed with
// SIGKILL at a random moment, many times; after every kill the state must load and be consistent.
// (SIGKILL tests the rename protocol; the fsyncs cover the power-cut case, which a test cannot.)
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore, STATE_FILE, parseState } from './state-store.js';
import { seededRandom } from '@porthole/wireguard/testing';

const writer = fileURLToPath(new URL('../testing/crash-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-agent-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runAndKill(delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited ${code}: ${stderr}`));
    });
  });
}

describe('state file crash safety', () => {
  it('always loads after SIGKILL during rewrites', async () => {
    const seed = Number(process.env.PORTHOLE_TEST_SEED ?? Date.now() % 1e9);
    console.log(`state-crash seed=${seed}`);
    const random = seededRandom(seed);
    const key = StateStore.open(dir).state.privateKey;
    let lastGeneration = 0;
    const rounds = 25;
    for (let i = 0; i < rounds; i++) {
      await runAndKill(Math.floor(random() * 60));
      const text = readFileSync(join(dir, STATE_FILE), 'utf8');
      const state = parseState(text); // throws on a torn or partial file
      expect(state.privateKey).toBe(key);
      expect(state.generation).toBeGreaterThanOrEqual(lastGeneration);
      lastGeneration = state.generation;
      const pad = state.pins['https://pad.invalid'];
      if (state.generation > 0) {
        const gen = state.generation;
        expect(pad).toBe(`${String(gen % 10).repeat(65536 + ((gen * 7919) % 262144))}#${gen}`);
        expect(state.enabled).toBe(gen % 2 === 0);
      }
      // Opening cleans up whatever temp file the kill left behind.
      StateStore.open(dir);
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    }
    expect(lastGeneration).toBeGreaterThan(rounds);
  });
});
