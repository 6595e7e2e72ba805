// Test scaffolding for the HTTP forwarder's tests: loopback servers closed after each test, and
// the forwarder behind a loopback port that stands in for overlay port 80 (its connections are
// handed to forwarder.handle(), as the tunnel hands it netstack sockets).
import net, { type AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { silentLogger } from '../log/logger.js';
import { createHttpForwarder, type HttpForwarder, type HttpForwarderOptions } from '../forward/http-forwarder.js';
import type { PinStore } from '../forward/tofu.js';

/** HTTP targets never consult the pins. */
export const noPins: PinStore = {
  check: () => {
    throw new Error('an HTTP target has no certificate to pin');
  },
  pinned: () => undefined,
};

/** Call at the top of a test file: everything it opens is closed after each test, last first. */
export function forwarderHarness() {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function listen(server: net.Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    return (server.address() as AddressInfo).port;
  }

  /** A forwarder to `target` for the public URL https://an1.example.io/. */
  function forwarderTo(target: string, options: Partial<HttpForwarderOptions> = {}): HttpForwarder {
    const forwarder = createHttpForwarder({ target: new URL(target), publicUrl: () => 'https://an1.example.io/', pins: noPins, logger: silentLogger, ...options });
    cleanups.push(() => forwarder.close());
    return forwarder;
  }

  /** The forwarder to `target`, reachable on a loopback port that stands in for overlay port 80. */
  async function overlay(target: string, options: Partial<HttpForwarderOptions> = {}): Promise<{ port: number; forwarder: HttpForwarder }> {
    const forwarder = forwarderTo(target, options);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      forwarder.handle(socket);
    });
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    return { port: await listen(server), forwarder };
  }

  return { cleanups, listen, forwarderTo, overlay };
}
