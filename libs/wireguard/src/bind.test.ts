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
