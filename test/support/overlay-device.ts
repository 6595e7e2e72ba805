// A minimal in-process device for hub tests: a WireGuard peer of the hub on loopback UDP and a
// netstack on the device's tunnel address, with an HTTP server listening on overlay port 80.
// (The real agent lives in apps/agent; this fixture keeps hub tests independent of it.)
import { createHash } from 'node:crypto';
import http from 'node:http';
import { createNetstack, type Netstack, type TcpSocket } from '@porthole/netstack';
import {
  UdpBind,
  encodeKey,
  generatePrivateKey,
  publicKeyFromPrivate,
  startWireGuardNode,
  type WireGuardNode,
} from '@porthole/wireguard';

/** A device web server's answer to an upload: the body's length and SHA-256, as JSON `{ bytes, sha256 }`. */
export function answerDigest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
}

export interface DeviceKeys {
  privateKey: Uint8Array;
  publicKey: string;
}

export function newDeviceKeys(): DeviceKeys {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: encodeKey(publicKeyFromPrivate(privateKey)) };
}

export interface Registration {
  serial: string;
  tunnelIp: string;
  overlayCidr: string;
  hub: { publicKey: string; endpoint: string; tunnelIp: string };
  persistentKeepalive: number;
}

export interface OverlayDevice {
  readonly wireguard: WireGuardNode;
  readonly netstack: Netstack;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Brings a device up: WireGuard to the hub, netstack on the tunnel IP, `handler` on overlay port 80. */
export async function startOverlayDevice(
  keys: DeviceKeys,
  registration: Registration,
  handler: http.RequestListener,
  options: { /** Allowed IPs of the hub peer; default the whole overlay, as the agent does (the hub routes it). */ allowedIps?: string[] } = {},
): Promise<OverlayDevice> {
  const [host, port] = [registration.hub.endpoint.slice(0, registration.hub.endpoint.lastIndexOf(':')), Number(registration.hub.endpoint.slice(registration.hub.endpoint.lastIndexOf(':') + 1))];
  const bind = await UdpBind.open({ host: '127.0.0.1' });
  let netstack: Netstack | undefined;
  const wireguard = await startWireGuardNode({
    privateKey: keys.privateKey,
    bind,
    onPacket: (packet) => netstack!.receive(packet),
  });
  netstack = createNetstack({
    address: registration.tunnelIp,
    onTransmit: (packet) => void wireguard.send(packet),
  });
  wireguard.device.addPeer({
    publicKey: registration.hub.publicKey,
    allowedIps: options.allowedIps ?? [registration.overlayCidr],
    endpoint: { address: host === 'localhost' ? '127.0.0.1' : host, port },
    persistentKeepaliveSeconds: registration.persistentKeepalive,
  });
  const server = http.createServer(handler);
  const listener = netstack.listen(80, (socket: TcpSocket) => server.emit('connection', socket));
  const stack = netstack;
  return {
    wireguard,
    netstack: stack,
    server,
    async close() {
      listener.close();
      server.closeAllConnections();
      stack.close();
      await wireguard.close();
    },
  };
}
