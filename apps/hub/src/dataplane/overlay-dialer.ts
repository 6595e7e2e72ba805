// The proxy's DeviceDialer over the overlay: a TCP connection from the hub's netstack to the
// device's tunnel address. The agent maps overlay ports to its local targets.
import type { Duplex } from 'node:stream';
import type { Netstack } from '@porthole/netstack';
import type { DeviceDialer, DeviceRoute } from '../proxy/contracts.js';

export function createOverlayDialer(netstack: Netstack, connectTimeoutMs = 10_000): DeviceDialer {
  return {
    dial(device: DeviceRoute, port: number, signal?: AbortSignal): Promise<Duplex> {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason ?? new Error('dial aborted'));
        const socket = netstack.connect({ host: device.tunnelIp, port, timeoutMs: connectTimeoutMs, noDelay: true });
        const onAbort = () => socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('dial aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal?.removeEventListener('abort', onAbort);
          socket.removeListener('error', onError);
          resolve(socket);
        });
        const onError = (err: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        socket.once('error', onError);
      });
    },
  };
}
