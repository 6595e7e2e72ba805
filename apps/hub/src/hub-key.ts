// The hub's WireGuard private key, kept in the data directory (mode 0600, written atomically) so
// devices keep trusting the same hub public key across restarts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, fsyncSync, closeSync, writeSync, renameSync, readFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeKey, encodeKey, generatePrivateKey } from '@porthole/wireguard';

export const HUB_KEY_FILE = 'hub.key';

/** Reads `<dataDir>/hub.key`, creating it (and the directory, mode 0700) on first start. */
export function loadOrCreateHubKey(dataDir: string): Uint8Array {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, HUB_KEY_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    try {
      return decodeKey(text);
    } catch (err) {
      throw new Error(`${file}: not a WireGuard private key (${(err as Error).message}); restore it from a backup or remove it to make a new one (every device must then re-register)`);
    }
  }
  const key = generatePrivateKey();
  const tmp = join(dirname(file), `.${HUB_KEY_FILE}.${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${encodeKey(key)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return key;
}
