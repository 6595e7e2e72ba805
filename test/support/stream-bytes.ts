// Writes a large body in chunks with backpressure: the test and bench device servers' downloads
// (64 KiB at a time, waiting for 'drain' whenever the response's buffer is full).
import type { Writable } from 'node:stream';

/**
 * Writes `total` bytes to `out`, each chunk made by `chunk(offset, length)` (length ≤ `chunkBytes`),
 * then ends it (`end` instead, to do something once the last byte is handed over).
 */
export function streamBytes(
  out: Writable,
  total: number,
  chunk: (offset: number, length: number) => Buffer,
  options: { chunkBytes?: number; end?: () => void } = {},
): void {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunkBytes, total - sent);
      const data = chunk(sent, n);
      sent += n;
      if (!out.write(data)) return void out.once('drain', pump);
    }
    if (options.end) options.end();
    else out.end();
  };
  pump();
}
