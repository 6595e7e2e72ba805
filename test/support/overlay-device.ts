// A minimal in-process device for hub tests: a WireGuard peer of the hub on loopback UDP and a
// netstack on the device's tunnel address, with an HTTP server listening on overlay port 80.
// (The real agent lives in apps/agent; this fixture keeps hub tests independent of it.)
import { createHash } from 'node:crypto';
import http from 'node:http';
import { request as hubRequest } from '@porthole/hub/testing';
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

/** A hub's HTTP port and the admin token that may make enrollment tokens. */
export interface EnrollingHub {
  httpPort: number;
  adminToken: string;
}

/**
 * Registers `serial` with a hub the way an unattended device does: an admin makes a one-use
 * enrollment token (in `organizationId` if given), the device registers its new key with it.
 * Throws with the hub's answer when either step is refused.
 */
export async function enrollDevice(hub: EnrollingHub, serial: string, options: { organizationId?: string } = {}): Promise<{ keys: DeviceKeys; registration: Registration & { url: string } }> {
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await hubRequest(hub.httpPort, 'localhost', `/api/v1${path}`, {
      method: 'POST',
      hostWithPort: true,
      timeoutMs: 30_000,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  const token = await post('/enrollment-tokens', { description: serial, maxUses: 1, ...options }, hub.adminToken);
  const keys = newDeviceKeys();
  const registration = await post('/devices/register', { serial, publicKey: keys.publicKey, enrollmentToken: token.token });
  return { keys, registration: registration as unknown as Registration & { url: string } };
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
