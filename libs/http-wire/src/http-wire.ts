// HTTP/1.1 message heads and chunked bodies as bytes, for the two direct relays on the visitor's
// path: the agent's (apps/agent, overlay connection from the hub → the device's web UI) and the
// hub's device side (apps/hub, one visitor request → a pooled tunnel connection to the agent).
//
// Two parsers with opposite jobs:
// - Requests come from the hub, whose relay and node:http client write plain, well-formed heads. The
//   agent's relay takes only a strict subset it can frame without doubt: HTTP/1.1, origin-form target, token
//   header names, no obs-fold, no control characters, one Host, at most one Content-Length of
//   digits, no Transfer-Encoding, Upgrade or Expect, Connection naming only keep-alive or close.
//   Anything else is 'unsupported' and the connection goes to node:http's strict parser, which
//   answers it as before. So nothing ambiguous is ever framed by this code.
// - Responses come from the device's web UI, which may be a small embedded server. Accepted as
//   node:http's client accepts them where that is safe (bare LF line ends, HTTP/1.0, a missing
//   reason, obs-fold joined with a space, a Content-Length repeated with one value); refused where
//   the framing would be ambiguous (Content-Length with Transfer-Encoding, differing lengths, a
//   transfer coding other than chunked). The relay writes its own head to the hub from the parsed
//   fields, so the hub never sees the device's bytes as framing.

/** Longest request or response head accepted (node:http's default maxHeaderSize). */
export const MAX_HEAD_BYTES = 16 * 1024;

/** Methods the relay forwards itself; others (CONNECT, TRACE, extension methods) go to node:http. */
const RELAYED_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** A token (RFC 9110 §5.6.2): what a header name is made of. */
const TOKEN_CHARS = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
/** An origin-form request target of visible ASCII: '/' and no spaces or controls. */
const ORIGIN_FORM = /\/[!-~]*/;
/** A header line: token name, colon, value with optional whitespace around it. */
const HEADER_LINE = new RegExp(`^(${TOKEN_CHARS.source}):[\\t ]*(.*?)[\\t ]*$`);
/** Field content: HTAB, SP, visible ASCII and obs-text; no CR, LF, NUL or other controls. */
const FIELD_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = new RegExp(`^([A-Z]+) (${ORIGIN_FORM.source}) HTTP\\/1\\.1$`);
const TOKEN = new RegExp(`^${TOKEN_CHARS.source}$`);
const WHOLE_ORIGIN_FORM = new RegExp(`^${ORIGIN_FORM.source}$`);
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?:[\t ](.*))?$/;
const DIGITS = /^\d{1,15}$/;

export type Header = readonly [name: string, value: string];

/** A header name the request parser takes (a token): what a writer of heads may put out as is. */
export function isToken(name: string): boolean {
  return TOKEN.test(name);
}

/** A header value without CR, LF, NUL or other controls: it cannot end its line early. */
export function isFieldValue(value: string): boolean {
  return FIELD_CHARS.test(value);
}

/** An origin-form target the request parser takes (no space, control or non-ASCII byte). */
export function isOriginForm(target: string): boolean {
  return WHOLE_ORIGIN_FORM.test(target);
}

export interface RequestHead {
  method: string;
  /** Origin-form: starts with '/'. */
  target: string;
  /** Lower-case names, in order, repeats kept. */
  headers: Header[];
  host: string;
  contentLength: number;
  /** The hub asked for the connection to end after this exchange. */
  close: boolean;
  /** Bytes of the head, blank line included. */
  length: number;
}

export type RequestParse = { kind: 'incomplete' } | { kind: 'unsupported' } | ({ kind: 'request' } & RequestHead);

const INCOMPLETE = { kind: 'incomplete' } as const;
const UNSUPPORTED = { kind: 'unsupported' } as const;

/** Parses the request head at the start of `buf` (see the strict subset above). */
export function parseRequestHead(buf: Buffer): RequestParse {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? UNSUPPORTED : INCOMPLETE;
  if (end + 4 > MAX_HEAD_BYTES) return UNSUPPORTED;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]!);
  if (!line || !RELAYED_METHODS.has(line[1]!)) return UNSUPPORTED;
  const headers: Header[] = [];
  let host: string | undefined;
  let contentLength = -1;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i]!;
    if (!FIELD_CHARS.test(text)) return UNSUPPORTED;
    const m = HEADER_LINE.exec(text);
    if (!m) return UNSUPPORTED;
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    switch (name) {
      case 'host':
        if (host !== undefined) return UNSUPPORTED;
        host = value;
        break;
      case 'content-length':
        if (contentLength !== -1 || !DIGITS.test(value)) return UNSUPPORTED;
        contentLength = Number(value);
        break;
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return UNSUPPORTED;
      case 'connection':
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t === 'close') close = true;
          else if (t !== 'keep-alive' && t !== '') return UNSUPPORTED;
        }
        break;
    }
    headers.push([name, value]);
  }
  if (host === undefined) return UNSUPPORTED;
  return { kind: 'request', method: line[1]!, target: line[2]!, headers, host, contentLength: Math.max(contentLength, 0), close, length: end + 4 };
}

export interface ResponseHead {
  status: number;
  reason: string;
  /** HTTP/1.0 (no reuse of the connection). */
  http10: boolean;
  /** Lower-case names, in order, repeats kept. */
  headers: Header[];
  /** The same fields as a flat [name, value, …] list with the names as sent (node's rawHeaders). */
  rawHeaders: string[];
  /** Bytes of the head, blank line included. */
  length: number;
}

export type ResponseParse = { kind: 'incomplete' } | { kind: 'invalid'; reason: string } | ({ kind: 'response' } & ResponseHead);

/** Where the blank line after a head ends in `buf` (CRLF or bare LF line ends), or -1. */
function headEnd(buf: Buffer): number {
  let from = 0;
  for (;;) {
    const lf = buf.indexOf(10, from);
    if (lf < 0) return -1;
    if (buf[lf + 1] === 10) return lf + 2;
    if (buf[lf + 1] === 13 && buf[lf + 2] === 10) return lf + 3;
    if (lf + 2 >= buf.length && (lf + 1 >= buf.length || buf[lf + 1] === 13)) return -1;
    from = lf + 1;
  }
}

/** Parses the response head at the start of `buf`; a head longer than `maxHeadBytes` is invalid. */
export function parseResponseHead(buf: Buffer, maxHeadBytes = MAX_HEAD_BYTES): ResponseParse {
  const end = headEnd(buf);
  if (end < 0) return buf.length > maxHeadBytes ? { kind: 'invalid', reason: 'response head too large' } : INCOMPLETE;
  if (end > maxHeadBytes) return { kind: 'invalid', reason: 'response head too large' };
  const lines = buf.toString('latin1', 0, end).split('\n');
  lines.length -= 2; // the blank line and what follows its LF
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  const status = STATUS_LINE.exec(lines[0]!);
  if (!status || !FIELD_CHARS.test(lines[0]!)) return { kind: 'invalid', reason: 'malformed status line' };
  const headers: Array<[string, string]> = [];
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i]!;
    if (!FIELD_CHARS.test(text)) return { kind: 'invalid', reason: 'control character in a response header' };
    if (text.startsWith(' ') || text.startsWith('\t')) {
      // obs-fold: a continuation of the previous value (RFC 9112 §5.2: replaced by a space).
      const last = headers[headers.length - 1];
      if (!last) return { kind: 'invalid', reason: 'malformed response header' };
      last[1] = `${last[1]} ${text.trim()}`.trim();
      rawHeaders[rawHeaders.length - 1] = last[1];
      continue;
    }
    const m = HEADER_LINE.exec(text);
    if (!m) return { kind: 'invalid', reason: 'malformed response header' };
    headers.push([m[1]!.toLowerCase(), m[2]!]);
    rawHeaders.push(m[1]!, m[2]!);
  }
  return { kind: 'response', status: Number(status[2]), reason: status[3] ?? '', http10: status[1] === '0', headers, rawHeaders, length: end };
}

/** How a response body is delimited (RFC 9112 §6.3). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'invalid'; reason: string };

export function responseFraming(head: ResponseHead, requestMethod: string): BodyFraming {
  if (requestMethod === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200) return { kind: 'none' };
  let length: string | undefined;
  let coding: string | undefined;
  for (const [name, value] of head.headers) {
    if (name === 'content-length') {
      for (const part of value.split(',')) {
        const v = part.trim();
        if (!DIGITS.test(v) || (length !== undefined && length !== v)) return { kind: 'invalid', reason: 'invalid content-length' };
        length = v;
      }
    } else if (name === 'transfer-encoding') {
      coding = coding === undefined ? value : `${coding},${value}`;
    }
  }
  if (coding !== undefined) {
    if (length !== undefined) return { kind: 'invalid', reason: 'content-length with transfer-encoding' };
    const codings = coding.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
    if (codings.length === 1 && codings[0] === 'chunked' && !head.http10) return { kind: 'chunked' };
    return { kind: 'invalid', reason: `unsupported transfer-encoding: ${coding}` };
  }
  if (length !== undefined) return { kind: 'length', length: Number(length) };
  return { kind: 'close' };
}

/** The connection stays usable after this response: HTTP/1.1, no `close`, a delimited body. */
export function reusable(head: ResponseHead, framing: BodyFraming): boolean {
  if (head.http10 || framing.kind === 'close' || framing.kind === 'invalid') return false;
  for (const [name, value] of head.headers) {
    if (name === 'connection' && value.toLowerCase().split(',').some((t) => t.trim() === 'close')) return false;
  }
  return true;
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/** Longest chunk-size line (size, extensions) or trailer line accepted. */
const MAX_CHUNK_LINE = 4096;

/**
 * Decodes a chunked body fed in pieces: `feed` returns the data in the piece (slices of it, no
 * copy) and how many bytes of the piece belong to the body; after the last chunk and the trailer
 * section `done` is true and the rest of the piece is the next message's. Throws on bad framing.
 */
export class ChunkedDecoder {
  #state = Chunk.Size;
  #remaining = 0;
  #line = '';

  get done(): boolean {
    return this.#state === Chunk.Done;
  }

  feed(buf: Buffer): { data: Buffer[]; used: number } {
    const data: Buffer[] = [];
    let i = 0;
    while (i < buf.length && this.#state !== Chunk.Done) {
      switch (this.#state) {
        case Chunk.Data: {
          const n = Math.min(this.#remaining, buf.length - i);
          data.push(buf.subarray(i, i + n));
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd: {
          // CRLF after the data (a bare LF accepted, as for lines).
          const b = buf[i++];
          if (b === 13 && this.#line === '') this.#line = '\r';
          else if (b === 10) {
            this.#line = '';
            this.#state = Chunk.Size;
          } else throw new Error('malformed chunked body: no line end after chunk data');
          break;
        }
        default: {
          const lf = buf.indexOf(10, i);
          const stop = lf < 0 ? buf.length : lf;
          this.#line += buf.toString('latin1', i, stop);
          if (this.#line.length > MAX_CHUNK_LINE) throw new Error('malformed chunked body: line too long');
          i = stop;
          if (lf < 0) break;
          i++;
          const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
          this.#line = '';
          if (this.#state === Chunk.Trailer) {
            if (line === '') this.#state = Chunk.Done;
            else if (!FIELD_CHARS.test(line)) throw new Error('malformed chunked body: bad trailer');
            break;
          }
          const m = /^([0-9A-Fa-f]{1,12})[\t ]*(?:;[\t !-~\x80-\xff]*)?$/.exec(line);
          if (!m) throw new Error('malformed chunked body: bad chunk size');
          this.#remaining = parseInt(m[1]!, 16);
          this.#state = this.#remaining === 0 ? Chunk.Trailer : Chunk.Data;
        }
      }
    }
    return { data, used: i };
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** One piece of a chunked body as the relay writes it to the hub. */
export function chunkFrame(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF];
}

export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
