// The sending end of a control message: one HTTP/1.1 POST with a JSON body over an already
// connected overlay socket (a netstack TcpSocket or any Duplex). The socket is closed afterwards.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { CONTROL_PATH, MAX_CONTROL_BODY_BYTES } from './messages.js';

export interface ControlReply {
  status: number;
  /** The parsed JSON answer; undefined for an empty body (204). */
  body: unknown;
}

/**
 * POSTs `message` to `/control/v1/<name>` over `socket`; rejects on a network error, a timeout or
 * an answer that is not JSON. The caller validates `body` with the message's schema.
 */
export function postControl(socket: Duplex, host: string, name: string, message: unknown, timeoutMs = 5_000): Promise<ControlReply> {
  const payload = Buffer.from(JSON.stringify(message));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method: 'POST',
        path: `${CONTROL_PATH}/${name}`,
        headers: { host, 'content-type': 'application/json', 'content-length': payload.length, connection: 'close' },
        // No `agent` option: with one (even `false`) node:http opens its own TCP connection instead.
        createConnection: () => socket as unknown as import('node:net').Socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_CONTROL_BODY_BYTES) req.destroy(new Error(`control: answer to ${name} is larger than ${MAX_CONTROL_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          socket.destroy();
          const text = Buffer.concat(chunks).toString('utf8');
          if (text === '') return resolve({ status: res.statusCode ?? 0, body: undefined });
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            reject(new Error(`control: answer to ${name} is not JSON (HTTP ${res.statusCode})`));
          }
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`control: no answer to ${name} within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      socket.destroy();
      reject(err);
    });
    req.end(payload);
  });
}
