// Setup file of the `unit` test project (vitest.config.ts): unit tests use no network, not even
// loopback, so a socket that listens, connects or binds fails the test at once and says where the
// file belongs. In-process stand-ins (the netstack's in-memory link, PGlite, hono's app.request)
// are what unit tests use instead.
import dgram from 'node:dgram';
import net from 'node:net';

function refuse(what: string): never {
  throw new Error(
    `unit tests use no network: this test tried to ${what}. Use an in-process stand-in, or list the file ` +
      'under the integration project in vitest.config.ts (loopback) or the lab project (namespaces, tools, browser).',
  );
}

net.Server.prototype.listen = function listen() {
  refuse('listen on a TCP port or socket');
} as never;
net.Socket.prototype.connect = function connect() {
  refuse('open a TCP connection');
} as never;
dgram.Socket.prototype.bind = function bind() {
  refuse('bind a UDP socket');
} as never;
