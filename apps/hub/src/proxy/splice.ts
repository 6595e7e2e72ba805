// Joining a visitor's stream to a device's for a tunnel (the WebSocket passthrough, the TCP
// endpoint): the bytes piped both ways and counted for the access log, and the idle timer.
import type { Duplex } from 'node:stream';

/** Bytes through a tunnel: `bytesIn` from the visitor to the device, `bytesOut` back. */
export interface TunnelBytes {
  bytesIn: number;
  bytesOut: number;
}

/** Pipes `visitor` and `device` into each other, adding what passes each way to `bytes`. */
export function spliceCounting(visitor: Duplex, device: Duplex, bytes: TunnelBytes): void {
  visitor.on('data', (c: Buffer) => {
    bytes.bytesIn += c.length;
  });
  device.on('data', (c: Buffer) => {
    bytes.bytesOut += c.length;
  });
  visitor.pipe(device);
  device.pipe(visitor);
}

/** Calls `onIdle` after `ms` with no traffic, on streams that keep such a timer (net.Socket, the netstack's socket). */
export function whenIdle(stream: Duplex, ms: number, onIdle: () => void): void {
  (stream as Duplex & { setTimeout?(ms: number, cb: () => void): void }).setTimeout?.(ms, onIdle);
}
