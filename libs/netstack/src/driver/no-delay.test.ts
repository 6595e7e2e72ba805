// noDelay through the socket API (as net.Socket: setNoDelay(), connect's and listen's noDelay),
// judged by packet order on a recording link: a reply written as head + body leaves before the
// client sends anything back, i.e. without waiting for an ACK. Real timers; no time is measured.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePacket } from '../testing/packets.js';
import { createNetstack, type ListenOptions, type Netstack } from './create-netstack.js';
import type { TcpSocket } from './tcp-socket.js';

const CLIENT = '100.64.0.1';
const SERVER = '100.64.0.2';

interface Wire {
  from: 'client' | 'server';
  payloadBytes: number;
}

let stacks: Netstack[] = [];
afterEach(() => {
  for (const s of stacks) s.close();
  stacks = [];
});

/** Two stacks joined by a link that records every TCP segment and delivers on setImmediate. */
function recordedPair(): { client: Netstack; server: Netstack; wire: Wire[] } {
  const wire: Wire[] = [];
  const link = (from: Wire['from'], to: () => Netstack) => (packet: Uint8Array) => {
    const tcp = parsePacket(packet).tcp;
    if (tcp) wire.push({ from, payloadBytes: tcp.payload.length });
    setImmediate(() => to().receive(packet));
  };
  const client: Netstack = createNetstack({ address: CLIENT, onTransmit: link('client', () => server) });
  const server: Netstack = createNetstack({ address: SERVER, onTransmit: link('server', () => client) });
  stacks = [client, server];
  return { client, server, wire };
}

/** The server answers a 5-byte request with a 150-byte head and an 850-byte body, two writes. */
function serve(server: Netstack, options: ListenOptions, setNoDelay: boolean): void {
  server.listen(
    80,
    (socket) => {
      if (setNoDelay) socket.setNoDelay(true);
      socket.once('data', () => {
        socket.write(Buffer.alloc(150, 0x68));
        socket.write(Buffer.alloc(850, 0x62));
      });
    },
    options,
  );
}

/** Sends one request; resolves when the whole 1000-byte reply arrived. */
async function exchange(socket: TcpSocket): Promise<void> {
  if (socket.connecting) await once(socket, 'connect');
  const reply = new Promise<void>((resolve) => {
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n >= 1000) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  socket.write('hello');
  await reply;
}

/** The data segments of the exchange, from the request on. */
function afterRequest(wire: Wire[]): Wire[] {
  const start = wire.findIndex((w) => w.from === 'client' && w.payloadBytes === 5);
  return wire.slice(start);
}

describe('noDelay on overlay sockets', () => {
  it("listen({ noDelay }): the reply's two writes leave back to back, before any ACK from the client", async () => {
    const { client, server, wire } = recordedPair();
    serve(server, { noDelay: true }, false);
    await exchange(client.connect({ host: SERVER, port: 80 }));
    const seq = afterRequest(wire);
    expect(seq.slice(0, 3)).toEqual([
      { from: 'client', payloadBytes: 5 },
      { from: 'server', payloadBytes: 150 },
      { from: 'server', payloadBytes: 850 },
    ]);
  });

  it('setNoDelay() on an accepted socket does the same', async () => {
    const { client, server, wire } = recordedPair();
    serve(server, {}, true);
    await exchange(client.connect({ host: SERVER, port: 80 }));
    expect(afterRequest(wire).slice(1, 3).map((w) => w.payloadBytes)).toEqual([150, 850]);
  });

  it('with Nagle on (the default) the body waits for the client to acknowledge the head', async () => {
    const { client, server, wire } = recordedPair();
    serve(server, {}, false);
    await exchange(client.connect({ host: SERVER, port: 80 }));
    const seq = afterRequest(wire);
    const body = seq.findIndex((w) => w.payloadBytes === 850);
    expect(seq[1]).toEqual({ from: 'server', payloadBytes: 150 });
    expect(seq.slice(2, body).some((w) => w.from === 'client' && w.payloadBytes === 0)).toBe(true);
  });

  it("connect({ noDelay }): the client's request written in pieces leaves at once too", async () => {
    const { client, server, wire } = recordedPair();
    server.listen(80, (socket) => {
      let n = 0;
      socket.on('data', (c: Buffer) => {
        n += c.length;
        if (n === 300) socket.end('ok');
      });
    });
    const socket = client.connect({ host: SERVER, port: 80, noDelay: true });
    await once(socket, 'connect');
    socket.write(Buffer.alloc(100, 1));
    socket.write(Buffer.alloc(200, 2));
    socket.resume();
    await once(socket, 'end');
    const data = wire.filter((w) => w.payloadBytes > 0);
    expect(data.slice(0, 2)).toEqual([
      { from: 'client', payloadBytes: 100 },
      { from: 'client', payloadBytes: 200 },
    ]);
  });
});
