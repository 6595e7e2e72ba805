// A small SOCKS5 server for tests (RFC 1928 CONNECT and UDP ASSOCIATE, RFC 1929 username/password,
// plus SOCKS4a CONNECT), on loopback only. It records what it saw so tests can assert that traffic
// really went through it, and can drop control connections to exercise re-association.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { emitSocks5Udp, parseSocks5Udp } from '@porthole/datagram-transport';

export interface TestSocksServer {
  port: number;
  /** Destinations of CONNECT requests ("host:port"), SOCKS5 and SOCKS4a alike. */
  connects: string[];
  /** Successful UDP associations so far. */
  associations: number;
  udpRelayed: number;
  authFailures: number;
  /** Closes every UDP ASSOCIATE control connection (the association dies with it). */
  dropAssociations(): void;
  close(): Promise<void>;
}

export async function startTestSocksServer(options: { username?: string; password?: string } = {}): Promise<TestSocksServer> {
  const controls = new Set<Socket>();
  const relays = new Set<UdpSocket>();
  const state = { connects: [] as string[], associations: 0, udpRelayed: 0, authFailures: 0 };

  async function readExactly(s: Socket, n: number): Promise<Buffer> {
    for (;;) {
      const b = s.read(n) as Buffer | null;
      if (b) return b;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          s.off('readable', done);
          s.off('close', fail);
          resolve();
        };
        const fail = () => {
          s.off('readable', done);
          reject(new Error('closed'));
        };
        s.once('readable', done);
        s.once('close', fail);
      });
    }
  }

  async function readAddress(s: Socket, atyp: number): Promise<string> {
    if (atyp === 1) return [...(await readExactly(s, 4))].join('.');
    if (atyp === 3) return (await readExactly(s, (await readExactly(s, 1))[0]!)).toString('ascii');
    const b = await readExactly(s, 16);
    return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
  }

  function pipe(client: Socket, host: string, port: number, reply: Buffer): void {
    state.connects.push(`${host}:${port}`);
    const upstream = connect({ host, port }, () => {
      client.write(reply);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  async function socks4(client: Socket): Promise<void> {
    const head = await readExactly(client, 7); // CD, DSTPORT, DSTIP
    const port = head.readUInt16BE(1);
    let userId = '';
    for (let b = await readExactly(client, 1); b[0] !== 0; b = await readExactly(client, 1)) userId += String.fromCharCode(b[0]!);
    let host = [...head.subarray(3, 7)].join('.');
    if (host.startsWith('0.0.0.') && host !== '0.0.0.0') {
      host = '';
      for (let b = await readExactly(client, 1); b[0] !== 0; b = await readExactly(client, 1)) host += String.fromCharCode(b[0]!);
    }
    if (head[0] !== 1 || (options.username !== undefined && userId !== options.username)) {
      state.authFailures++;
      return void client.end(Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]));
    }
    pipe(client, host, port, Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]));
  }

  async function handle(client: Socket): Promise<void> {
    const [version] = await readExactly(client, 1);
    if (version === 4) return socks4(client);
    const nMethods = (await readExactly(client, 1))[0]!;
    const methods = [...(await readExactly(client, nMethods))];
    const want = options.username !== undefined ? 2 : 0;
    if (!methods.includes(want)) return void client.end(Buffer.from([5, 0xff]));
    client.write(Buffer.from([5, want]));
    if (want === 2) {
      await readExactly(client, 1);
      const user = (await readExactly(client, (await readExactly(client, 1))[0]!)).toString();
      const pass = (await readExactly(client, (await readExactly(client, 1))[0]!)).toString();
      const ok = user === options.username && pass === options.password;
      client.write(Buffer.from([1, ok ? 0 : 1]));
      if (!ok) {
        state.authFailures++;
        return void client.end();
      }
    }
    const [, cmd, , atyp] = await readExactly(client, 4);
    const host = await readAddress(client, atyp!);
    const port = (await readExactly(client, 2)).readUInt16BE(0);
    if (cmd === 1) return pipe(client, host, port, Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    if (cmd !== 3) return void client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
    // UDP ASSOCIATE: a relay socket for this client; the association lives as long as `client`.
    const relay = createSocket('udp4');
    relays.add(relay);
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
    let clientAddr: { address: string; port: number } | undefined;
    relay.on('message', (msg, rinfo) => {
      if (rinfo.address === '127.0.0.1' && (clientAddr === undefined ? rinfo.port === port || port === 0 : rinfo.port === clientAddr.port)) {
        clientAddr ??= { address: rinfo.address, port: rinfo.port };
        const p = parseSocks5Udp(msg);
        if (!p.ok) return;
        state.udpRelayed++;
        relay.send(p.payload, p.port, p.address);
      } else if (clientAddr) {
        relay.send(emitSocks5Udp(rinfo.address, rinfo.port, msg), clientAddr.port, clientAddr.address);
      }
    });
    controls.add(client);
    client.once('close', () => {
      controls.delete(client);
      if (relays.delete(relay)) relay.close();
    });
    const reply = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
    reply.writeUInt16BE(relay.address().port, 8);
    state.associations++;
    client.write(reply);
  }

  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    clients.add(client);
    client.once('close', () => clients.delete(client));
    client.on('error', () => client.destroy());
    handle(client).catch(() => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    get connects() {
      return state.connects;
    },
    get associations() {
      return state.associations;
    },
    get udpRelayed() {
      return state.udpRelayed;
    },
    get authFailures() {
      return state.authFailures;
    },
    dropAssociations() {
      for (const c of controls) c.destroy();
    },
    async close() {
      for (const c of clients) c.destroy();
      for (const r of relays) r.close();
      relays.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
