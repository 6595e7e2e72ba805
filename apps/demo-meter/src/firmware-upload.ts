// Streaming firmware upload: the body (multipart/form-data from the page's form, or a raw
// application/octet-stream from curl) is hashed with SHA-256 as it arrives; nothing is buffered
// beyond one chunk plus a boundary's length, so a 1 GiB upload costs no memory.
import { createHash } from 'node:crypto';

export interface UploadResult {
  filename: string | undefined;
  bytes: number;
  sha256: string;
}

export class UploadError extends Error {}

const MAX_PART_HEADER_BYTES = 16 * 1024;

function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

type State = 'preamble' | 'headers' | 'file' | 'skip' | 'done';

/** Hashes the first file part of a multipart body, or the whole body when it is not multipart. */
export async function hashUpload(body: AsyncIterable<Uint8Array>, contentType: string): Promise<UploadResult> {
  if (!/^multipart\/form-data/i.test(contentType)) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { filename: undefined, bytes, sha256: hash.digest('hex') };
  }
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new UploadError('multipart body without a boundary');
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const dl = delimiter.length;

  // Prefix a CRLF so the first delimiter looks like every other one.
  let buf: Buffer = Buffer.from('\r\n');
  let state: State = 'preamble';
  let result: UploadResult | undefined;
  let hash = createHash('sha256');
  let bytes = 0;
  let filename: string | undefined;

  /**
   * Finds the next real delimiter: CRLF--boundary followed by "--" (the last one) or CRLF /
   * padding (RFC 2046 §5.1.1). The same bytes followed by anything else are content.
   * Returns the index, -1 for none, or 'wait' when the bytes after a match have not arrived yet.
   */
  const findDelimiter = (final: boolean): number | 'wait' => {
    let from = 0;
    for (;;) {
      const i = buf.indexOf(delimiter, from);
      if (i === -1) return -1;
      if (buf.length < i + dl + 2) return final ? -1 : 'wait';
      const a = buf[i + dl]!;
      const b = buf[i + dl + 1]!;
      if ((a === 0x2d && b === 0x2d) || (a === 0x0d && b === 0x0a) || a === 0x20 || a === 0x09) return i;
      from = i + 1;
    }
  };

  const step = (final: boolean): void => {
    for (;;) {
      if (state === 'done') {
        buf = Buffer.alloc(0);
        return;
      }
      if (state === 'headers') {
        if (buf.length < 2) return;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done'; // "--": the closing delimiter
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buf.length > MAX_PART_HEADER_BYTES) throw new UploadError('multipart part headers too large');
          return;
        }
        const headers = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
        const fm = /filename="([^"]*)"/i.exec(disposition);
        if (fm && !result) {
          filename = fm[1];
          hash = createHash('sha256');
          bytes = 0;
          state = 'file';
        } else state = 'skip';
        continue;
      }
      // preamble, skip or file: everything before the next delimiter is content.
      const at = findDelimiter(final);
      if (at === -1 || at === 'wait') {
        // Keep what could still be (the start of) a delimiter and the two bytes that decide it.
        let safe = buf.length;
        if (!final) {
          const pending = at === 'wait' ? buf.indexOf(delimiter) : -1;
          safe = pending !== -1 ? pending : Math.max(0, buf.length - (dl + 1));
        }
        if (state === 'file') {
          hash.update(buf.subarray(0, safe));
          bytes += safe;
        }
        buf = buf.subarray(safe);
        return;
      }
      if (state === 'file') {
        hash.update(buf.subarray(0, at));
        bytes += at;
        result = { filename, bytes, sha256: hash.digest('hex') };
      }
      buf = buf.subarray(at + dl);
      state = 'headers';
    }
  };

  for await (const chunk of body) {
    buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
    step(false);
  }
  step(true);
  if (!result) throw new UploadError((state as State) === 'file' ? 'upload ended before the file part was complete' : 'no file in the upload');
  return result;
}
