// Shared by the registry, API and portal tests: deterministic WireGuard public keys, a settable
// clock, and a registry over a test database of either driver.
import { createHash } from 'node:crypto';
import type { Database } from '@porthole/db';
import { createRegistry, type RegistryOptions } from './index.js';

export const HUB_PUBLIC_KEY = testKey('hub');

/** A valid-looking X25519 public key derived from `seed` (base64 of SHA-256; not a small-order point). */
export function testKey(seed: string | number): string {
  return createHash('sha256').update(`porthole-test-key:${seed}`).digest('base64');
}

export interface TestClock {
  now: () => Date;
  set(iso: string | Date): void;
  advance(ms: number): void;
}

export function createTestClock(start = '2030-01-01T00:00:00.000Z'): TestClock {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    set: (iso) => {
      t = new Date(iso).getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export function createTestRegistry(db: Database, clock: TestClock, overrides: Partial<RegistryOptions> = {}) {
  return createRegistry({
    db,
    hub: { publicKey: HUB_PUBLIC_KEY, endpoint: 'hub.example.io:51820' },
    portalUrl: 'https://portal.example.io',
    deviceUrl: (serial) => `https://${serial}.example.io/`,
    clock: clock.now,
    ...overrides,
  });
}
