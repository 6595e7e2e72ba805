// What a test file starts once for all its tests (a hub, a device, a fleet) and closes after them.
import { afterAll, beforeAll } from 'vitest';

/**
 * Calls `start` before the file's tests and `close` after them. The object returned right away gets
 * the started value's own fields in beforeAll, so tests read them (not a destructured copy made earlier).
 */
export function startedForFile<T extends { close(): Promise<void> | void }>(start: () => Promise<T>): T {
  const started = {} as T;
  beforeAll(async () => {
    Object.assign(started, await start());
  });
  afterAll(async () => {
    await started.close?.();
  });
  return started;
}
