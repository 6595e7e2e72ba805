// A DeviceDialer over plain TCP to local servers standing in for devices (tests, benchmarks, and a
// hub run without the overlay). `resolve` maps a device and overlay port to a loopback address;
// undefined answers like an agent refusing a port that is not allow-listed (connection refused).
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { DeviceDialer, DeviceRoute } from './contracts.js';

export type LoopbackTarget = { host: string; port: number } | undefined;

export function createLoopbackDialer(resolve: (device: DeviceRoute, port: number) => LoopbackTarget): DeviceDialer & { dials: number } {
  const dialer = {
    dials: 0,
    dial(device: DeviceRoute, port: number, signal?: AbortSignal): Promise<Duplex> {
      dialer.dials++;
      const target = resolve(device, port);
      if (!target) {
        return Promise.reject(Object.assign(new Error(`connect ECONNREFUSED ${device.tunnelIp}:${port}`), { code: 'ECONNREFUSED' }));
      }
      return new Promise((resolvePromise, reject) => {
        const socket = net.connect({ host: target.host, port: target.port });
        const onAbort = () => socket.destroy(new Error('dial aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal?.removeEventListener('abort', onAbort);
          resolvePromise(socket);
        });
        socket.once('error', (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        });
      });
    },
  };
  return dialer;
}
