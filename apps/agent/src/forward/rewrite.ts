// Rewriting between the device's own address (its local target) and its public URL, so a device
// UI that builds absolute links or redirects to its LAN address still works through the hub.
import { Transform, type TransformCallback } from 'node:stream';

/** Request headers never passed on (RFC 9110 §7.6.1 hop-by-hop, plus proxy credentials). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Header names listed in `Connection` are hop-by-hop too. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** The forms in which a target's origin appears in absolute URLs: scheme + host with and without the default port. */
export function targetOrigins(target: URL): string[] {
  const forms = new Set<string>([target.origin]);
  const defaultPort = target.protocol === 'https:' ? '443' : '80';
  forms.add(`${target.protocol}//${target.hostname}${target.port === '' ? `:${defaultPort}` : target.port === defaultPort ? '' : `:${target.port}`}`);
  return [...forms];
}

/**
 * Maps an absolute URL on the target to the public URL; anything else is returned unchanged.
 * A device redirecting from http to https of its own host (or back) is also mapped.
 */
export function rewriteLocation(location: string, target: URL, publicOrigin: string): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location; // relative: already right under the public host
  }
  if (url.hostname !== target.hostname) return location;
  const samePort = (url.port || (url.protocol === 'https:' ? '443' : '80')) === (target.port || (target.protocol === 'https:' ? '443' : '80'));
  const httpToHttps = url.protocol === 'https:' && (url.port === '' || url.port === '443');
  if (!samePort && !httpToHttps) return location;
  return `${publicOrigin}${url.pathname}${url.search}${url.hash}`;
}

/** Drops `Domain=<target host>` from a Set-Cookie so the browser keeps it under the public host. */
export function rewriteSetCookie(value: string, target: URL): string {
  return value
    .split(';')
    .filter((part) => {
      const m = /^\s*domain\s*=\s*\.?(.+?)\s*$/i.exec(part);
      return !m || m[1]!.toLowerCase() !== target.hostname.toLowerCase();
    })
    .join(';');
}

/**
 * Streaming replace of byte strings (HTML bodies' absolute self-links). Keeps back the longest
 * needle minus one byte between chunks so a needle split across chunks is still found.
 */
export class ReplaceStream extends Transform {
  readonly #pairs: Array<[Buffer, Buffer]>;
  readonly #keep: number;
  #tail = Buffer.alloc(0);

  constructor(pairs: Array<[string, string]>) {
    super();
    // Longest first so "http://h:80" wins over "http://h".
    this.#pairs = pairs
      .filter(([from]) => from.length > 0)
      .sort((a, b) => b[0].length - a[0].length)
      .map(([a, b]) => [Buffer.from(a), Buffer.from(b)]);
    this.#keep = Math.max(0, ...this.#pairs.map(([a]) => a.length - 1));
  }

  #replaceAll(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const parts: Buffer[] = [];
    let pos = 0;
    let scanFrom = 0;
    const limit = final ? buf.length : buf.length - this.#keep;
    for (;;) {
      let best = -1;
      let bestPair: [Buffer, Buffer] | undefined;
      for (const pair of this.#pairs) {
        const i = buf.indexOf(pair[0], scanFrom);
        if (i !== -1 && (best === -1 || i < best)) {
          best = i;
          bestPair = pair;
        }
      }
      if (best === -1 || best >= limit || !bestPair) break;
      parts.push(buf.subarray(pos, best), bestPair[1]);
      pos = scanFrom = best + bestPair[0].length;
    }
    const cut = Math.max(pos, final ? buf.length : limit);
    parts.push(buf.subarray(pos, cut));
    return { out: Buffer.concat(parts), rest: buf.subarray(cut) };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const { out, rest } = this.#replaceAll(Buffer.concat([this.#tail, chunk]), false);
    this.#tail = Buffer.from(rest);
    if (out.length > 0) this.push(out);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const { out } = this.#replaceAll(this.#tail, true);
    if (out.length > 0) this.push(out);
    cb();
  }
}
