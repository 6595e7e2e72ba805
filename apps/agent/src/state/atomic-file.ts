// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over
// the old file, fsync the directory. A power cut at any point leaves the old or the new content.
// The state file is written synchronously on purpose: the handshake timestamp must be durable
// before its packet leaves. writeFileAtomic does the same steps off the event loop, for files
// (the access journal) whose writes must not hold up packets: an fsync can take tens of ms.
import { open as openFile, rename, unlink } from 'node:fs/promises';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

const TEMP_MARK = '.tmp-';

/** A fresh temp file beside `path`, named so that removeStaleTempFiles recognises it. */
function tempPathFor(path: string): string {
  return join(dirname(path), `${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Whether a directory fsync failed only because the filesystem does not support it. */
function dirSyncUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EISDIR';
}

function fsyncDir(dir: string): void {
  // Without this the rename itself may not survive a power cut (ext4 without auto_da_alloc, f2fs).
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch (err) {
    // Some filesystems (and Windows) refuse fsync on a directory; the rename is still atomic there.
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Atomically replaces `path` with `data`, file mode `mode` (the temp file is created with it). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
  fsyncDir(dir);
}

/** writeFileAtomicSync's steps on the libuv thread pool; resolves once the new content is durable. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  const file = await openFile(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close();
    await unlink(temp).catch(() => undefined); // already gone
    throw err;
  }
  await file.close();
  await rename(temp, path);
  let dirHandle: Awaited<ReturnType<typeof openFile>> | undefined;
  try {
    dirHandle = await openFile(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await dirHandle.sync();
  } catch (err) {
    // As fsyncDir: some filesystems refuse fsync on a directory; the rename is still atomic there.
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    await dirHandle?.close();
  }
}

/** Removes temp files a crash left behind next to `path`. They never hold the only good copy. */
export function removeStaleTempFiles(path: string): number {
  const dir = dirname(path);
  const prefix = `${basename(path)}${TEMP_MARK}`;
  let removed = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    try {
      unlinkSync(join(dir, name));
      removed++;
    } catch {
      // a concurrent cleanup got it
    }
  }
  return removed;
}
