import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UdpBind } from './bind.js';

function sysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
  } catch {
    return undefined;
  }
}

describe('UdpBind', () => {
  it('asks the kernel for large socket buffers, so bursts are not dropped at the socket', async () => {
    const bind = await UdpBind.open({ host: '127.0.0.1' });
    try {
      const socket = (bind as unknown as { socket: import('node:dgram').Socket }).socket;
      // Linux reports twice the granted size; the grant is capped at rmem_max / wmem_max.
      const want = 4 * 1024 * 1024;
      expect(socket.getRecvBufferSize()).toBeGreaterThanOrEqual(Math.min(want, sysctl('rmem_max') ?? want));
      expect(socket.getSendBufferSize()).toBeGreaterThanOrEqual(Math.min(want, sysctl('wmem_max') ?? want));
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
