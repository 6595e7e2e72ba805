// Reading a request body under a byte limit that holds while the body streams: a declared
// Content-Length over the limit is refused before a byte is read, and a chunked body is counted
// as it arrives and abandoned the moment it passes the limit. Without this a chunked upload is
// buffered whole before any size check (5 x 100 MiB to an open endpoint grew the hub by 700 MB).
import { HttpError } from './error-response.js';

export const PAYLOAD_TOO_LARGE = 'payload_too_large';

/** The 413 every body reader of the hub throws; `connection: close` goes with it (see errorHeaders). */
export function payloadTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, PAYLOAD_TOO_LARGE, `request body is larger than ${maxBytes} bytes`);
}

/** True when the declared Content-Length is over `maxBytes` (node's parser refuses malformed ones). */
export function declaredTooLarge(headers: Headers, maxBytes: number): boolean {
  const declared = headers.get('content-length');
  return declared !== null && Number(declared) > maxBytes;
}

/**
 * The whole body as bytes, at most `maxBytes` of them; otherwise HttpError 413. At most
 * `maxBytes` plus one chunk is ever held: the stream is cancelled as soon as the count passes
 * the limit, so the rest is never read into memory.
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (declaredTooLarge(request.headers, maxBytes)) throw payloadTooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
