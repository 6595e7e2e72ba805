// The receiving end of the control channel: node:http on sockets handed over by an overlay
// listener. The first check is the peer's overlay address (WireGuard has authenticated it);
// then the path names the message, its body is parsed with the message's schema, and the
// handler's answer is sent as JSON. Anything that does not fit gets a 4xx and changes nothing.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { CONTROL_PATH, MAX_CONTROL_BODY_BYTES } from './messages.js';

export interface ControlRequest {
  /** The peer's overlay address (already accepted). */
  remoteAddress: string;
}

interface Route<S extends z.ZodType = z.ZodType> {
  schema: S;
  handle(message: z.infer<S>, request: ControlRequest): Promise<unknown> | unknown;
}

/** Message name → its schema and handler; a handler's return value is the JSON answer (undefined = 204). */
export type ControlHandlers = Record<string, Route>;

export interface ControlServer {
  /** An accepted overlay connection; one from an address `accept` refuses is closed unanswered. */
  handle(socket: Duplex & { remoteAddress?: string }): void;
  close(): void;
}

export interface ControlServerOptions {
  accept(remoteAddress: string): boolean;
  handlers: ControlHandlers;
  /** Called with handler errors and refusals (the server never throws into the listener). */
  onError?(err: unknown, info: { message: string; remoteAddress: string }): void;
}

/** Type helper: a route whose handler sees the schema's output type. */
export function route<S extends z.ZodType>(schema: S, handle: (message: z.infer<S>, request: ControlRequest) => Promise<unknown> | unknown): Route {
  return { schema, handle: handle as Route['handle'] };
}

export function createControlServer(options: ControlServerOptions): ControlServer {
  const sockets = new Set<Duplex>();
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    const remoteAddress = (req.socket as { remoteAddress?: string }).remoteAddress ?? '';
    const answer = (status: number, body?: unknown) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
      res.end(text);
    };
    const refuse = (status: number, code: string, message: string) => {
      options.onError?.(new Error(message), { message: code, remoteAddress });
      answer(status, { error: { code, message } });
    };
    const path = req.url ?? '';
    const name = path.startsWith(`${CONTROL_PATH}/`) ? path.slice(CONTROL_PATH.length + 1) : '';
    const handler = Object.hasOwn(options.handlers, name) ? options.handlers[name] : undefined;
    if (!handler) return refuse(404, 'unknown_message', `no control message at ${path.slice(0, 100)}`);
    if (req.method !== 'POST') return refuse(405, 'method_not_allowed', 'control messages are POSTs');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_CONTROL_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) return refuse(413, 'too_large', `control message larger than ${MAX_CONTROL_BODY_BYTES} bytes`);
      let value: unknown;
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return refuse(400, 'invalid_json', `${name}: body is not JSON`);
      }
      const parsed = handler.schema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return refuse(400, 'invalid_message', `${name}: ${issue.path.join('.') || 'body'}: ${issue.message}`);
      }
      Promise.resolve()
        .then(() => handler.handle(parsed.data, { remoteAddress }))
        .then(
          (body) => answer(body === undefined ? 204 : 200, body),
          (err: unknown) => {
            options.onError?.(err, { message: name, remoteAddress });
            answer(500, { error: { code: 'failed', message: `${name} could not be handled` } });
          },
        );
    });
    req.on('error', () => res.destroy());
  });
  return {
    handle(socket) {
      const remoteAddress = socket.remoteAddress ?? '';
      if (!options.accept(remoteAddress)) {
        options.onError?.(new Error('control connection from a refused address'), { message: 'refused_source', remoteAddress });
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      server.emit('connection', socket);
    },
    close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      server.close();
    },
  };
}
