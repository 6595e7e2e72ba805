// The `ws` library unchanged over the userspace stack (two stacks on the in-memory link, real
// timers): HTTP upgrade through node:http on our sockets, messages both ways, a 4 MB binary
// message, ping/pong and a clean close handshake. The hub proxies device WebSockets this way.
import http from 'node:http';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createMemoryLink, type MemoryLink } from '@porthole/netstack';

let link: MemoryLink | undefined;
afterEach(() => {
  link?.close();
  link = undefined;
});

describe('ws over the userspace TCP stack', () => {
  it('upgrades, exchanges text and a 4 MB binary message, pings, and closes cleanly', async () => {
    link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    link.b.listen(80, (socket) => server.emit('connection', socket));
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.socket.remoteAddress}`);
      ws.on('message', (data, isBinary) => {
        if (isBinary) ws.send(createHash('sha256').update(data as Buffer).digest('hex'));
        else ws.send(`echo:${String(data)}`);
      });
    });

    const client = new WebSocket('ws://100.64.0.2/socket', {
      createConnection: (() => link!.a.connect({ host: '100.64.0.2', port: 80 })) as never,
    });
    const messages: string[] = [];
    const next = () => new Promise<string>((resolve) => client.once('message', (d) => resolve(String(d))));
    let first = next();
    await once(client, 'open');
    messages.push(await first);
    expect(messages[0]).toBe('hello 100.64.0.1');

    first = next();
    client.send('ping-text');
    expect(await first).toBe('echo:ping-text');

    const blob = randomBytes(4 * 1024 * 1024);
    first = next();
    client.send(blob);
    expect(await first).toBe(createHash('sha256').update(blob).digest('hex'));

    const pong = once(client, 'pong');
    client.ping('p');
    expect(String((await pong)[0])).toBe('p');

    const closed = once(client, 'close');
    client.close(1000, 'bye');
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(1000);
    expect(String(reason)).toBe('bye');
    // No resets on either side: both TCP connections closed with FINs.
    await new Promise((r) => setTimeout(r, 50));
    expect(link.a.stats.tcp.resetsSent + link.b.stats.tcp.resetsSent).toBe(0);
    wss.close();
    server.close();
  });
});
