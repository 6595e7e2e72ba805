// Shared by the registry, API and portal tests: deterministic WireGuard public keys, a settable
// clock, and a registry over a test database of either driver.
import { createHash } from 'node:crypto';
import type { Database, DriverName } from '@porthole/db';
import { useTestDatabase, type TestDatabase } from '@porthole/db/testing';
import { beforeAll, beforeEach } from 'vitest';
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

export const TEST_CLOCK_START = '2030-01-01T00:00:00.000Z';

export function createTestClock(start = TEST_CLOCK_START): TestClock {
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

/** What a registry suite's tests read: the file's database, its clock and the current registry. */
export interface RegistryTestBed {
  readonly t: TestDatabase;
  readonly clock: TestClock;
  readonly registry: TestRegistry;
}

export interface RegistryTestBedOptions {
  /**
   * One registry for the whole file, made and seeded once before its first test; without it the
   * database is emptied, the clock set back and a new registry made before each test.
   */
  once?: boolean;
  /** Runs each time a registry is made, before the tests that use it: seeds it, builds on it. */
  seed?: (bed: RegistryTestBed) => void | Promise<void>;
}

/**
 * The test bed of the registry suites for the enclosing describe block: one database of `driver`
 * (dropped after the block), a settable clock and a registry over them. Its fields are read in
 * tests and hooks, once the bed is set up.
 */
export function useRegistryTestBed(driver: DriverName, options: RegistryTestBedOptions = {}): RegistryTestBed {
  const clock = createTestClock();
  const t = useTestDatabase(driver, { emptyEach: !options.once });
  let registry: TestRegistry | undefined;
  const bed: RegistryTestBed = {
    t,
    clock,
    get registry() {
      if (!registry) throw new Error('the registry test bed is read before its registry is made');
      return registry;
    },
  };
  const fresh = async () => {
    registry = createTestRegistry(t.db, clock);
    await options.seed?.(bed);
  };
  if (options.once) {
    beforeAll(fresh);
  } else {
    beforeEach(async () => {
      clock.set(TEST_CLOCK_START);
      await fresh();
    });
  }
  return bed;
}
