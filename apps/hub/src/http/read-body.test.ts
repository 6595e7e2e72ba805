import { describe, expect, it } from 'vitest';
import { HttpError, errorResponse } from './error-response.js';
import { readBodyLimited } from './read-body.js';

/** A request whose body is an endless stream of 1 KiB chunks; counts how many were pulled. */
function endlessRequest(headers: Record<string, string> = {}) {
  let pulled = 0;
  const chunk = new Uint8Array(1024).fill(0x61);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(chunk);
    },
  });
  const request = new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
  return { request, pulled: () => pulled };
}

describe('readBodyLimited', () => {
  it('returns bodies up to the limit byte for byte', async () => {
    const bytes = new Uint8Array(5000).map((_, i) => i & 0xff);
    const got = await readBodyLimited(new Request('http://x/', { method: 'POST', body: bytes }), 5000);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    expect((await readBodyLimited(new Request('http://x/'), 10)).byteLength).toBe(0);
  });

  it('stops reading an endless chunked body just past the limit and answers 413', async () => {
    const { request, pulled } = endlessRequest();
    const err = await readBodyLimited(request, 8 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(413);
    // 8 KiB limit, 1 KiB chunks: the ninth chunk passes it; the stream's own read-ahead adds at most a few.
    expect(pulled()).toBeLessThan(16);
    const res = errorResponse(err);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: 'request body is larger than 8192 bytes' } });
  });

  it('refuses a declared Content-Length over the limit without reading a byte', async () => {
    const { request, pulled } = endlessRequest({ 'content-length': String(100 * 1024 * 1024) });
    await expect(readBodyLimited(request, 1024)).rejects.toThrow(/larger than 1024/);
    expect(pulled()).toBeLessThanOrEqual(1); // a ReadableStream pulls once when it is built
  });
});
