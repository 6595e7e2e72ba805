// The tunnel factory main.ts uses: the real WireGuard + netstack overlay.
import type { TunnelFactory } from './tunnel.js';

export function createDefaultTunnelFactory(): TunnelFactory {
  return async () => {
    throw new Error('the WireGuard overlay (libs/wireguard + libs/netstack) is not wired into the agent yet');
  };
}
