// One process at a time on an embedded (PGlite) data directory. PGlite has no lock of its own: two
// processes on one directory both run, overwrite each other's pages and one dies later with
// "Aborted()". The lock is a kernel record lock on `<dir>/porthole.lock` (OFD fcntl on Linux, flock
// on macOS), which the kernel drops when the holder exits in any way, SIGKILL and crashes included,
// so no stale lock survives its process. The file also says who holds it (pid, host, since) for the
// refusal's message. The file is never removed: unlinking a lock file lets two processes lock two
// different files of one name.
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE_NAME = 'porthole.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  since: string;
}

/** The directory is locked by another process (or another handle in this one). */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `process ${holder.pid}${holder.hostname === hostname() ? '' : ` on ${holder.hostname}`}${holder.pid === process.pid ? ' (this process)' : ''}, since ${holder.since}`
      : 'another process';
    super(`the data directory ${dataDir} is in use by ${who}; one process at a time may open an embedded database`);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

type TryLock = (fd: number) => boolean;

/** The native lock call, or why it is not available on this platform (no prebuilt addon). */
function loadTryLock(): TryLock | Error {
  try {
    const native = createRequire(import.meta.url)('fs-native-extensions') as { tryLock: TryLock };
    return native.tryLock;
  } catch (err) {
    return err as Error;
  }
}

let tryLock: TryLock | Error | undefined;

function readHolder(path: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.hostname === 'string' && typeof holder.since === 'string') {
      return { pid: holder.pid, hostname: holder.hostname, since: holder.since };
    }
  } catch {
    // Written at the moment it was read, or damaged: the refusal just says "another process".
  }
  return undefined;
}

/**
 * Takes the lock of `dataDir` (created when missing) or throws DataDirLockedError at once, never
 * waiting. `onUnavailable` hears when this platform has no lock call; the directory is then opened
 * unlocked, as before.
 */
export function lockDataDir(dataDir: string, onUnavailable?: (reason: string) => void): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE_NAME);
  tryLock ??= loadTryLock();
  if (tryLock instanceof Error) {
    onUnavailable?.(`no file lock on this platform (${tryLock.message.split('\n')[0]})`);
    return { path, release() {} };
  }
  // Opened without truncation: until the lock is ours, the file names the current holder.
  const fd = openSync(path, 'a+', 0o600);
  let locked: boolean;
  try {
    locked = tryLock(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!locked) {
    closeSync(fd);
    throw new DataDirLockedError(dir, readHolder(path));
  }
  const holder: LockHolder = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(holder)}\n`);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      // Closing the only descriptor of this open file description drops the lock.
      closeSync(fd);
    },
  };
}
