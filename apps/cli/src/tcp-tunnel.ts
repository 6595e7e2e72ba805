// One TCP connection carried over the hub's `/.porthole/tcp` WebSocket (binary messages are the
// byte stream). Opening maps every refusal the hub can give (401/403/404/502/504 before the
// upgrade) to one clear line; piping keeps backpressure both ways and ends cleanly on either side.
import type { IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { networkReason } from './api-client.js';
import { lookupWithLocalhost } from './device-address.js';
import { CliError, EXIT, exitCodeForStatus } from './errors.js';

/** Largest message we send: the hub accepts up to 1 MiB per message; stay well below. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Bytes handed to the WebSocket but not yet written to its socket before local reading pauses. */
const UP_HIGH_WATER_BYTES = 1024 * 1024;

export interface TunnelRequest {
  url: string;
  token: string;
  /** "an12345678:22", for messages. */
  label: string;
  handshakeTimeoutMs?: number;
}

/** Text of the hub's refusal: plain text as is; an HTML status page as "Title: message". */
export function refusalText(contentType: string | undefined, body: string): string {
  let text = body;
  if (contentType?.includes('html')) {
    const title = /<h1>([\s\S]*?)<\/h1>/i.exec(body)?.[1];
    const message = /<\/h1>\s*<p>([\s\S]*?)<\/p>/i.exec(body)?.[1];
    text = [title, message].filter(Boolean).join(': ');
    text = text.replace(/<[^>]*>/g, '').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
  }
  // One line, no terminal control characters from whatever sent it.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 300);
}

function readBody(res: IncomingMessage, maxBytes = 16 * 1024): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    res.on('data', (c: Buffer) => {
      if (size < maxBytes) chunks.push(c.subarray(0, maxBytes - size));
      size += c.length;
    });
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}

function refusal(label: string, status: number, text: string): CliError {
  const why =
    text ||
    (status === 401 ? 'the API token was not accepted' : status === 403 ? 'access refused' : status === 404 ? 'no such device' : `HTTP ${status}`);
  const hint = status === 401 ? ' (check porthole whoami)' : '';
  return new CliError(`${label}: ${why}${hint} (HTTP ${status})`, status === 404 ? EXIT.notFound : exitCodeForStatus(status));
}

/**
 * An open tunnel. The device often speaks first (an SSH banner): its first frame can arrive in the
 * same TCP segment as the 101 response, and ws emits it before an `await openTunnel()` continuation
 * runs. So messages and a close that come before pipeTunnel takes over are kept here, not lost.
 */
export interface Tunnel {
  ws: WebSocket;
  /** Stops buffering and hands over what arrived so far (called by pipeTunnel). */
  takeEarly(): { messages: Buffer[]; close?: { code: number; reason: Buffer } };
}

/** Opens the tunnel WebSocket; resolves once the hub has connected to the device port. */
export function openTunnel(request: TunnelRequest): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(request.url, {
      headers: { authorization: `Bearer ${request.token}` },
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: request.handshakeTimeoutMs ?? 30_000,
      maxPayload: 4 * 1024 * 1024,
      lookup: lookupWithLocalhost as never,
    });
    const early: Buffer[] = [];
    let earlyClose: { code: number; reason: Buffer } | undefined;
    const onEarlyMessage = (data: Buffer, isBinary: boolean) => {
      if (isBinary) early.push(data);
    };
    const onEarlyClose = (code: number, reason: Buffer) => {
      earlyClose = { code, reason };
    };
    ws.on('message', onEarlyMessage);
    ws.once('close', onEarlyClose);
    const tunnel: Tunnel = {
      ws,
      takeEarly() {
        ws.off('message', onEarlyMessage);
        ws.off('close', onEarlyClose);
        return { messages: early.splice(0), ...(earlyClose ? { close: earlyClose } : {}) };
      },
    };
    let settled = false;
    const fail = (err: CliError) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      ws.removeAllListeners('error');
      // A connection error after open surfaces in pipeTunnel's result, never as an unhandled 'error'.
      ws.on('error', () => {});
      resolve(tunnel);
    });
    ws.once('unexpected-response', (req, res) => {
      void readBody(res).then((body) => {
        fail(refusal(request.label, res.statusCode ?? 0, refusalText(res.headers['content-type'], body)));
        req.destroy();
      });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      const url = new URL(request.url);
      fail(new CliError(`${request.label}: cannot reach the hub at ${url.host}: ${networkReason(err, url)}`));
    });
  });
}

export interface TunnelEnds {
  /** Bytes to send to the device (a local socket, or stdin). */
  input: Readable;
  /** Where the device's bytes go (the same socket, or stdout). */
  output: Writable;
  /** End `output` when the device closes (false for stdout, which the process owns). */
  endOutput: boolean;
  /**
   * What local EOF means. WebSocket has no half-close, so by default the tunnel stays open after
   * EOF to deliver the device's remaining output until the device closes (like nc without -N);
   * with closeOnEof the tunnel closes once the bytes sent so far are out.
   */
  closeOnEof: boolean;
  signal?: AbortSignal;
}

export interface TunnelResult {
  bytesUp: number;
  bytesDown: number;
  /** WebSocket close code (1000 normal, 1001 going away, 1006 lost). */
  code: number;
  reason: string;
  /** Who ended it. */
  endedBy: 'device' | 'local' | 'error';
  error?: Error;
}

/** Pipes both ways until either side closes; never rejects. */
export function pipeTunnel(tunnel: Tunnel, ends: TunnelEnds): Promise<TunnelResult> {
  const { ws } = tunnel;
  const { input, output } = ends;
  let bytesUp = 0;
  let bytesDown = 0;
  let unsent = 0; // handed to ws.send, not yet on the socket
  let inputEnded = false;
  let endedBy: TunnelResult['endedBy'] = 'device';
  let error: Error | undefined;

  return new Promise((resolve) => {
    const closeLocal = (code: number, reason: string, by: TunnelResult['endedBy'], err?: Error) => {
      if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
      endedBy = by;
      if (err) error = err;
      ws.close(code, reason);
      // A hub that never answers the close frame must not keep us waiting forever.
      setTimeout(() => ws.terminate(), 5_000).unref();
    };
    const closeIfDone = () => {
      if (inputEnded && ends.closeOnEof && unsent === 0) closeLocal(1000, 'client finished sending', 'local');
    };

    // local → device, paused while too much is queued in the WebSocket.
    const onData = (chunk: Buffer) => {
      for (let off = 0; off < chunk.length; off += MAX_MESSAGE_BYTES) {
        const part = chunk.subarray(off, off + MAX_MESSAGE_BYTES);
        unsent += part.length;
        ws.send(part, { binary: true }, (err) => {
          unsent -= part.length;
          if (err) return;
          bytesUp += part.length;
          if (unsent < UP_HIGH_WATER_BYTES / 2 && input.isPaused() && !inputEnded) input.resume();
          closeIfDone();
        });
      }
      if (unsent >= UP_HIGH_WATER_BYTES) input.pause();
    };
    const onInputEnd = () => {
      inputEnded = true;
      closeIfDone();
    };
    const onInputError = (err: Error) => closeLocal(1000, 'client read error', 'error', err);
    input.on('data', onData);
    input.once('end', onInputEnd);
    input.once('error', onInputError);

    // device → local, pausing the WebSocket while the local side is slow.
    const deliver = (data: Buffer) => {
      bytesDown += data.length;
      if (!output.write(data) && ws.readyState === WebSocket.OPEN) {
        ws.pause();
        output.once('drain', () => ws.resume());
      }
    };
    const early = tunnel.takeEarly();
    for (const data of early.messages) deliver(data);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) deliver(data); // the byte stream is binary only; text frames are not ours
    });
    const onOutputError = (err: Error) => closeLocal(1000, 'client write error', 'error', err);
    output.once('error', onOutputError);
    // The local peer went away completely (socket closed): nothing left to deliver to.
    const onOutputClose = () => closeLocal(1000, 'client closed', 'local');
    output.once('close', onOutputClose);

    const onAbort = () => closeLocal(1001, 'client going away', 'local');
    ends.signal?.addEventListener('abort', onAbort, { once: true });
    if (ends.signal?.aborted) onAbort();

    ws.on('error', (err) => {
      error ??= err;
      endedBy = 'error';
    });
    const onClose = (code: number, reasonBuf: Buffer) => {
      input.off('data', onData);
      input.off('end', onInputEnd);
      input.off('error', onInputError);
      output.off('close', onOutputClose);
      ends.signal?.removeEventListener('abort', onAbort);
      const result = (): TunnelResult => ({ bytesUp, bytesDown, code, reason: reasonBuf.toString('utf8'), endedBy: code === 1006 && endedBy === 'device' ? 'error' : endedBy, ...(error ? { error } : {}) });
      if (!ends.endOutput || output.destroyed || output.writableEnded) {
        // Whatever is queued on stdout still goes out; wait for it before reporting done.
        if (output.writableNeedDrain && !output.destroyed) output.once('drain', () => resolve(result())).once('error', () => resolve(result()));
        else resolve(result());
        output.off('error', onOutputError);
        return;
      }
      output.end(() => resolve(result()));
    };
    if (early.close) onClose(early.close.code, early.close.reason);
    else ws.once('close', onClose);
  });
}

/** One line about how a tunnel ended, or undefined for a normal close. */
export function describeEnd(label: string, r: TunnelResult): string | undefined {
  if (r.endedBy === 'error') return `${label}: tunnel broke${r.error ? `: ${r.error.message}` : ` (WebSocket close ${r.code})`}`;
  if (r.code === 1001 && r.endedBy === 'device') return `${label}: the hub closed the tunnel (${r.reason || 'going away'})`;
  if (r.code !== 1000 && r.code !== 1005 && r.endedBy === 'device') return `${label}: tunnel closed with code ${r.code}${r.reason ? ` (${r.reason})` : ''}`;
  return undefined;
}
