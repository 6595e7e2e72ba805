import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UdpBind } from './bind.js';
import type { Endpoint } from './endpoint.js';

function sysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
  } catch {
    return undefined;
  }
}

describe('UdpBind', () => {
  // Linux doubles the size asked for (bookkeeping overhead) and caps the request at rmem_max /
  // wmem_max, so what the kernel reports tells exactly what the bind asked for.
  const granted = (asked: number, cap: number | undefined) => 2 * Math.min(asked, cap ?? asked);

  it('applies the socket buffer size it is given (a size the kernel default would not match)', async () => {
    // 48 KiB: far from the kernel's default (~208 KiB, reported as ~416 KiB) and below any cap.
    const bind = await UdpBind.open({ host: '127.0.0.1', socketBufferBytes: 48 * 1024 });
    try {
      const socket = (bind as unknown as { socket: import('node:dgram').Socket }).socket;
      expect(socket.getRecvBufferSize()).toBe(granted(48 * 1024, undefined));
      expect(socket.getSendBufferSize()).toBe(granted(48 * 1024, undefined));
    } finally {
      await bind.close();
    }
  });

  it('asks for 4 MiB buffers by default, so bursts are not dropped at the socket', async () => {
    const bind = await UdpBind.open({ host: '127.0.0.1' });
    try {
      const socket = (bind as unknown as { socket: import('node:dgram').Socket }).socket;
      const want = 4 * 1024 * 1024;
      expect(socket.getRecvBufferSize()).toBe(granted(want, sysctl('rmem_max')));
      expect(socket.getSendBufferSize()).toBe(granted(want, sysctl('wmem_max')));
    } finally {
      await bind.close();
    }
  });

  it('delivers datagrams between two binds on loopback with the sender as endpoint', async () => {
    const a = await UdpBind.open({ host: '127.0.0.1' });
    const b = await UdpBind.open({ host: '127.0.0.1', socketBufferBytes: 65536 });
    try {
      const got = new Promise<{ data: Uint8Array; from: { address: string; port: number } }>((resolve) =>
        b.onReceive((data, from) => resolve({ data, from })),
      );
      a.send(Buffer.from('ping'), { address: '127.0.0.1', port: b.localPort });
      const { data, from } = await got;
      expect(Buffer.from(data).toString()).toBe('ping');
      expect(from).toEqual({ address: '127.0.0.1', port: a.localPort });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('UdpBind addressing', () => {
  /** A plain socket standing in for a peer; collects what it receives. */
  async function peerSocket(): Promise<{ socket: Socket; port: number; got: string[]; next(): Promise<string> }> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const got: string[] = [];
    let waiter: ((text: string) => void) | undefined;
    socket.on('message', (msg) => {
      got.push(msg.toString());
      waiter?.(msg.toString());
      waiter = undefined;
    });
    return { socket, port: socket.address().port, got, next: () => new Promise((resolve) => (waiter = resolve)) };
  }
  const received = (bind: UdpBind) => {
    const got: Array<{ text: string; from: Endpoint }> = [];
    bind.onReceive((data, from) => got.push({ text: Buffer.from(data).toString(), from }));
    return got;
  };
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(what()).toBe(true);
  };
  const socketOf = (bind: UdpBind) => (bind as unknown as { socket: Socket }).socket;
  type PeerSocket = Awaited<ReturnType<typeof peerSocket>>;

  /** Opens a bind, runs `body` with what it receives and a maker of peer sockets, then closes the bind and every peer. */
  async function withBind(
    options: Parameters<typeof UdpBind.open>[0],
    body: (bind: UdpBind, got: ReturnType<typeof received>, peer: () => Promise<PeerSocket>) => Promise<void>,
  ): Promise<void> {
    const bind = await UdpBind.open(options);
    const peers: PeerSocket[] = [];
    const peer = async () => {
      const made = await peerSocket();
      peers.push(made);
      return made;
    };
    try {
      await body(bind, received(bind), peer);
    } finally {
      await bind.close();
      for (const p of peers) p.socket.close();
    }
  }

  it('a single-peer bind connects once the peer answered, and follows the peer to a new address', () =>
    withBind({ host: '127.0.0.1', singlePeer: true }, async (bind, got, openPeer) => {
      const first = await openPeer();
      const moved = await openPeer();
      const firstEndpoint = { address: '127.0.0.1', port: first.port };
      // Not heard from yet: unconnected (a peer may answer from elsewhere).
      bind.send(Buffer.from('hello'), firstEndpoint);
      expect(await first.next()).toBe('hello');
      expect(bind.connectedEndpoint).toBeUndefined();
      first.socket.send('answer', bind.localPort, '127.0.0.1');
      await until(() => got.length === 1);
      bind.send(Buffer.from('data 1'), firstEndpoint);
      expect(await first.next()).toBe('data 1');
      expect(bind.connectedEndpoint).toEqual(firstEndpoint);
      expect(socketOf(bind).remoteAddress()).toMatchObject({ address: '127.0.0.1', port: first.port });

      // The peer roamed: the next datagram goes to its new address, and the socket hears everyone again.
      const movedEndpoint = { address: '127.0.0.1', port: moved.port };
      bind.send(Buffer.from('data 2'), movedEndpoint);
      expect(await moved.next()).toBe('data 2');
      expect(bind.connectedEndpoint).toBeUndefined();
      expect(first.got).toEqual(['hello', 'data 1']);
      moved.socket.send('from the new place', bind.localPort, '127.0.0.1');
      await until(() => got.length === 2);
      expect(got[1]).toEqual({ text: 'from the new place', from: movedEndpoint });
      bind.send(Buffer.from('data 3'), movedEndpoint);
      expect(await moved.next()).toBe('data 3');
      expect(bind.connectedEndpoint).toEqual(movedEndpoint);
    }));

  it('a connected single-peer bind lets go after a quiet spell and then hears other sources', () =>
    withBind({ host: '127.0.0.1', singlePeer: true, singlePeerQuietMs: 40 }, async (bind, got, openPeer) => {
      const peer = await openPeer();
      const other = await openPeer();
      const endpoint = { address: '127.0.0.1', port: peer.port };
      peer.socket.send('hi', bind.localPort, '127.0.0.1');
      await until(() => got.length === 1);
      bind.send(Buffer.from('data'), endpoint);
      expect(await peer.next()).toBe('data');
      expect(bind.connectedEndpoint).toEqual(endpoint);
      await until(() => bind.connectedEndpoint === undefined);
      other.socket.send('someone else', bind.localPort, '127.0.0.1');
      await until(() => got.length === 2);
      expect(got[1]).toEqual({ text: 'someone else', from: { address: '127.0.0.1', port: other.port } });
    }));

  it('a bind for many peers never connects: every peer is heard and answered', () =>
    withBind({ host: '127.0.0.1' }, async (bind, got, openPeer) => {
      const a = await openPeer();
      const b = await openPeer();
      for (const round of [1, 2]) {
        a.socket.send(`a${round}`, bind.localPort, '127.0.0.1');
        await until(() => got.length === 2 * round - 1);
        bind.send(Buffer.from(`to a${round}`), { address: '127.0.0.1', port: a.port });
        expect(await a.next()).toBe(`to a${round}`);
        b.socket.send(`b${round}`, bind.localPort, '127.0.0.1');
        await until(() => got.length === 2 * round);
        bind.send(Buffer.from(`to b${round}`), { address: '127.0.0.1', port: b.port });
        expect(await b.next()).toBe(`to b${round}`);
      }
      expect(bind.connectedEndpoint).toBeUndefined();
      expect(got.map((g) => g.text)).toEqual(['a1', 'b1', 'a2', 'b2']);
    }));

  it('a dual-stack bind sends to IPv4 endpoints in plain form, and a host name still resolves', () =>
    withBind({ host: '::' }, async (bind, got, openPeer) => {
      const peer = await openPeer();
      bind.send(Buffer.from('v4'), { address: '127.0.0.1', port: peer.port });
      expect(await peer.next()).toBe('v4');
      bind.send(Buffer.from('again'), { address: '127.0.0.1', port: peer.port });
      expect(await peer.next()).toBe('again');
      peer.socket.send('back', bind.localPort, '127.0.0.1');
      await until(() => got.length === 1);
      expect(got[0]!.from).toEqual({ address: '127.0.0.1', port: peer.port });
      const v4 = await UdpBind.open({ host: '127.0.0.1' });
      try {
        v4.send(Buffer.from('by name'), { address: 'localhost', port: peer.port });
        expect(await peer.next()).toBe('by name');
      } finally {
        await v4.close();
      }
    }));
});
