// Shared by the registry, API and portal tests: deterministic WireGuard public keys, a settable
// clock, and a registry over a test database of either driver.
import { createHash } from 'node:crypto';
import type { Database, DriverName } from '@porthole/db';
import { createTestDatabase, truncateAll, type TestDatabase } from '@porthole/db/testing';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createRegistry, type RegistryOptions } from '../registry/index.js';

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

export type TestRegistry = ReturnType<typeof createTestRegistry>;

/**
 * The per-file test bed of the registry suites: one database of `driver` for the file (dropped after
 * it), emptied before each test with the clock reset, and a fresh registry handed to `ready`.
 */
export function useRegistryTestBed(driver: DriverName, clock: TestClock, ready: (t: TestDatabase, registry: TestRegistry) => void): void {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    await truncateAll(t!.db);
    clock.set('2030-01-01T00:00:00.000Z');
    ready(t!, createTestRegistry(t!.db, clock));
  });
}
