// The carrier's route on the hub's HTTP edge: `GET /.porthole/wg` upgrades on the portal host reach
// the WebSocket carrier with the client address the server determined; the same path on a device
// host or an unknown host does not; without a carrier the path is refused like any portal upgrade;
// graceful shutdown closes carrier connections after the drain.
import { WG_WEBSOCKET_PATH, WG_WEBSOCKET_PROTOCOL } from '@porthole/datagram-transport';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DOMAIN, PORTAL, rawExchange, route, startHub } from '../testing/http-harness.js';
import { createWsDatagramTransport, type WsDatagramTransport } from './ws-datagram-transport.js';

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function upgradeRequest(host: string, path = WG_WEBSOCKET_PATH): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    `Sec-WebSocket-Protocol: ${WG_WEBSOCKET_PROTOCOL}`,
    '',
    '',
  ].join('\r\n');
}

async function start(transport: WsDatagramTransport | undefined) {
  const seen: string[] = [];
  const h = await startHub({
    devices: [route('an1')],
    webPorts: {},
    hubOptions: transport
      ? {
          datagramUpgrade: (req, socket, head, ip) => {
            seen.push(ip);
            transport.handleUpgrade(req, socket, head, ip);
          },
        }
      : {},
  });
  stops.push(() => h.hub.close());
  return { ...h, seen };
}

describe('the carrier route on the HTTP edge', () => {
  it('upgrades on the portal host only', async () => {
    const transport = createWsDatagramTransport({ sweepIntervalMs: 0 });
    stops.push(() => transport.close());
    const { port, seen } = await start(transport);
    const ok = await rawExchange(port, upgradeRequest(`${PORTAL}:${port}`), { untilMatch: /\r\n\r\n/ });
    expect(ok.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(ok.text).toContain(`Sec-WebSocket-Protocol: ${WG_WEBSOCKET_PROTOCOL}`);
    expect(seen).toEqual(['127.0.0.1']);
    // Elsewhere the path means nothing special.
    const device = await rawExchange(port, upgradeRequest(`an1.${DOMAIN}:${port}`), { untilMatch: /\r\n\r\n/ });
    expect(device.text).not.toMatch(/^HTTP\/1\.1 101/);
    const other = await rawExchange(port, upgradeRequest(`portal.test:${port}`, '/.porthole/other'), { untilMatch: /\r\n\r\n/ });
    expect(other.text).toMatch(/^HTTP\/1\.1 404/);
    expect(seen).toEqual(['127.0.0.1']);
  });

  it('without a carrier the path is refused, and shutdown closes open carrier connections', async () => {
    const none = await start(undefined);
    expect((await rawExchange(none.port, upgradeRequest(`${PORTAL}:${none.port}`), { untilMatch: /\r\n\r\n/ })).text).toMatch(/^HTTP\/1\.1 404/);

    const transport = createWsDatagramTransport({ sweepIntervalMs: 0 });
    stops.push(() => transport.close());
    const { port, hub } = await start(transport);
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WG_WEBSOCKET_PATH}`, [WG_WEBSOCKET_PROTOCOL], { headers: { host: `${PORTAL}:${port}` } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    expect(transport.stats.open).toBe(1);
    const closed = new Promise((r) => ws.once('close', r));
    await hub.close();
    await closed;
    expect(transport.stats.open).toBe(0);
  });
});
