// The child's side of a fixture process that runs a whole hub (startTestHub) and speaks JSON lines:
// the `ready` event with what its parent dials (HTTP and WireGuard ports, the hub's key and tunnel
// address), its commands, and a shutdown that closes the hub when stdin closes or SIGTERM arrives.
import type { TestHub } from '@porthole/hub/testing';
import { send, serveCommands } from './json-child.js';

export interface HubChildOptions<C extends { cmd: string }> {
  handle: (command: C) => void;
  /** Run before the hub closes (what depends on it: devices, listeners). */
  beforeClose?: () => Promise<void> | void;
  /** Run after the hub closes (what it depends on: an injected database). */
  afterClose?: () => Promise<void> | void;
  /** More fields for the `ready` event. */
  ready?: Record<string, unknown>;
}

export function serveHubChild<C extends { cmd: string }>(testHub: TestHub, options: HubChildOptions<C>): void {
  serveCommands<C>(options.handle, async () => {
    await options.beforeClose?.();
    await testHub.close();
    await options.afterClose?.();
    process.exit(0);
  });
  send({
    event: 'ready',
    httpPort: testHub.httpPort,
    wgPort: testHub.udpPort,
    publicKey: testHub.hub.publicKey,
    hubTunnelIp: testHub.hub.registry.hub.tunnelIp,
    ...options.ready,
  });
}
