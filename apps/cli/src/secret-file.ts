// Writes a file that holds a secret (API token, WireGuard private key): created 0600 from the first
// byte, fsynced, then renamed over the target, so a crash leaves the old file or the new one —
// never a half-written or world-readable one.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeSecretFile(path: string, text: string, options: { overwrite?: boolean } = {}): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  // 'wx' with mode 0600: the secret never exists in a file others could read, not even briefly.
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600); // in case a umask-less filesystem ignored the mode
    if (options.overwrite === false) {
      // link() fails with EEXIST instead of replacing: no window where an existing file is lost.
      linkSync(tmp, path);
      rmSync(tmp);
    } else {
      renameSync(tmp, path);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some file systems refuse fsync on a directory; the data itself is already on disk.
  }
}
