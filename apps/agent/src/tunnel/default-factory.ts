// The tunnel factory main.ts uses: WireGuard (libs/wireguard) carrying the userspace TCP/IP stack
// (libs/netstack) on the device's tunnel IP.
import { createNetstack } from '@porthole/netstack';
import type { TunnelFactory } from './tunnel.js';
import { createWireGuardTunnelFactory, type NetstackLike } from './wireguard-tunnel.js';

export function createDefaultTunnelFactory(options: { probeIntervalMs?: number } = {}): TunnelFactory {
  return createWireGuardTunnelFactory({
    ...options,
    createNetstack: ({ address, mtuBytes, onTransmit }) => {
      const stack = createNetstack({ address, mtuBytes, onTransmit });
      const adapted: NetstackLike = {
        receive: (packet) => stack.receive(packet),
        listen: (port, onConnection) => stack.listen(port, onConnection),
        close: () => stack.close(),
      };
      return adapted;
    },
  });
}
