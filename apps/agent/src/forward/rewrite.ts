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

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Header names listed in `Connection` are hop-by-hop too. */
export function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Most messages have no Connection header (HTTP/1.1 keeps alive by default): no set per message.
  if (value === undefined || value === '') return NO_TOKENS;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * The origin the visitor used, as the hub states it per request: a hub with a single device host
 * serves a device there and on its serial host at once, and the registration names only one of
 * them. Only the hub sets it (it strips `x-porthole-*` from visitors' requests); absent or not an
 * http(s) origin: the registration's URL.
 */
export const PUBLIC_ORIGIN_HEADER = 'x-porthole-public-origin';

/**
 * One request header as sent on to the target, or undefined to drop it: hop-by-hop headers (but
 * Upgrade and Connection when relaying an upgrade), Host (the caller sets the target's) and the
 * hub's public-origin statement are dropped; an Origin or Referer on the public origin is mapped
 * back to the target's. Both forwarding paths (node:http and the direct relay) use it.
 */
export function requestHeaderOut(name: string, value: string, publicOrigin: string | undefined, targetOrigin: string, keepUpgrade = false): string | undefined {
  if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) return undefined;
  if (name === 'host' || name === PUBLIC_ORIGIN_HEADER) return undefined;
  if ((name === 'origin' || name === 'referer') && publicOrigin && value.startsWith(publicOrigin)) return targetOrigin + value.slice(publicOrigin.length);
  return value;
}

/** One response header value as sent to the hub: Location and Set-Cookie mapped to the public host. */
export function responseHeaderOut(name: string, value: string, target: URL, publicOrigin: string | undefined): string {
  if (name === 'location' && publicOrigin) return rewriteLocation(value, target, publicOrigin);
  if (name === 'set-cookie') return rewriteSetCookie(value, target);
  return value;
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
 * Byte strings and their replacements (a target's origins → the public one), converted once and
 * ordered longest first so "http://h:80" wins over "http://h". A forwarder keeps one per public
 * origin instead of converting the strings again for every page.
 */
export class Replacements {
  readonly pairs: ReadonlyArray<readonly [Buffer, Buffer]>;
  /** Bytes a stream keeps back between chunks: the longest needle minus one. */
  readonly keep: number;

  constructor(pairs: ReadonlyArray<readonly [string, string]>) {
    this.pairs = pairs
      .filter(([from]) => from.length > 0)
      .sort((a, b) => b[0].length - a[0].length)
      .map(([a, b]) => [Buffer.from(a), Buffer.from(b)] as const);
    this.keep = Math.max(0, ...this.pairs.map(([a]) => a.length - 1));
  }

  /**
   * Replaces the needles in `buf` up to `keep` bytes before its end (all of it when `final`);
   * `rest` is what was held back. Nothing found: `out` is `buf` itself, not a copy.
   */
  replace(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const parts: Buffer[] = [];
    let pos = 0;
    let scanFrom = 0;
    const limit = final ? buf.length : buf.length - this.keep;
    for (;;) {
      let best = -1;
      let bestPair: readonly [Buffer, Buffer] | undefined;
      for (const pair of this.pairs) {
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
    if (parts.length === 0) return { out: cut === buf.length ? buf : buf.subarray(0, cut), rest: buf.subarray(cut) };
    parts.push(buf.subarray(pos, cut));
    return { out: Buffer.concat(parts), rest: buf.subarray(cut) };
  }

  /** A whole body at once: `buf` itself when nothing matches. */
  replaceAll(buf: Buffer): Buffer {
    return this.replace(buf, true).out;
  }
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Replacement over a body that arrives in pieces. Keeps back the longest needle minus one byte
 * between pieces so a needle split across two is still found; end() gives what was held back.
 * ReplaceStream and the agent's direct relay both use it.
 */
export class PieceReplacer {
  #tail = NO_BYTES;

  constructor(private readonly replacements: Replacements) {}

  /** The replaced bytes that can leave now (possibly none). */
  push(piece: Buffer): Buffer {
    const { out, rest } = this.replacements.replace(this.#tail.length === 0 ? piece : Buffer.concat([this.#tail, piece]), false);
    // A copy: the held-back bytes must not keep the whole piece alive.
    this.#tail = rest.length === 0 ? NO_BYTES : Buffer.from(rest);
    return out;
  }

  /** The held-back bytes, replaced: the body's end. */
  end(): Buffer {
    const out = this.replacements.replaceAll(this.#tail);
    this.#tail = NO_BYTES;
    return out;
  }
}

/**
 * Streaming replace of byte strings (HTML bodies' absolute self-links) as a Transform.
 */
export class ReplaceStream extends Transform {
  readonly #replacer: PieceReplacer;

  constructor(pairs: ReadonlyArray<readonly [string, string]> | Replacements) {
    super();
    this.#replacer = new PieceReplacer(pairs instanceof Replacements ? pairs : new Replacements(pairs));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out = this.#replacer.push(chunk);
    if (out.length > 0) this.push(out);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const out = this.#replacer.end();
    if (out.length > 0) this.push(out);
    cb();
  }
}
