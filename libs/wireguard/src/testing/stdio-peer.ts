// A WireGuard peer process driven by JSON lines on stdin/stdout, for interop tests that must run
// our device inside a network namespace (`ip netns exec <ns> tsx stdio-peer.ts`). It relays IP
// packets and events to its parent, which decides what to answer. Not part of the library API.
//
// stdin  {"cmd":"addPeer", ...PeerConfig} | {"cmd":"removePeer","publicKey"} | {"cmd":"send","packet":hex}
//        | {"cmd":"rebind","port"} (same device, new UDP port: roaming) | {"cmd":"status"} | {"cmd":"exit"}
// stdout {"event":"ready","publicKey","port"} | {"event":"rebound","port"} | {"event":"packet","packet":hex,"peer"}
//        | {"event":"wg", ...WireGuardEvent} | {"event":"status","peers":[…],"drops":{…}} | {"event":"error","message"}
import { createInterface } from 'node:readline';
import { UdpBind, type Bind } from '../bind.js';
import type { Endpoint } from '../endpoint.js';
import { startWireGuardNode } from '../node.js';

/** A bind whose UDP socket can be swapped under a running device, to make it roam. */
class SwitchableBind implements Bind {
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;

  constructor(
    private current: UdpBind,
    private readonly host: string,
  ) {}

  get localPort(): number {
    return this.current.localPort;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    this.current.send(datagram, to);
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
    this.current.onReceive(handler);
  }

  async switchTo(port: number): Promise<void> {
    const next = await UdpBind.open({ host: this.host, port });
    if (this.handler) next.onReceive(this.handler);
    const old = this.current;
    this.current = next;
    await old.close();
  }

  close(): Promise<void> {
    return this.current.close();
  }
}

function out(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const privateKey = process.env.WG_PEER_PRIVATE_KEY;
if (!privateKey) {
  out({ event: 'error', message: 'WG_PEER_PRIVATE_KEY is not set' });
  process.exit(2);
}

const host = process.env.WG_PEER_HOST ?? '127.0.0.1';
const bind = new SwitchableBind(await UdpBind.open({ host, port: Number(process.env.WG_PEER_PORT ?? 0) }), host);
const node = await startWireGuardNode({
  privateKey,
  bind,
  onPacket: (packet, peer) => out({ event: 'packet', packet: Buffer.from(packet).toString('hex'), peer }),
  onEvent: (event) => out({ event: 'wg', ...event }),
});
out({ event: 'ready', publicKey: node.device.publicKey, port: bind.localPort });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    const msg = JSON.parse(line) as { cmd: string; [key: string]: unknown };
    switch (msg.cmd) {
      case 'addPeer': {
        const { cmd: _cmd, ...config } = msg;
        node.device.addPeer(config as never);
        break;
      }
      case 'removePeer':
        node.device.removePeer(msg.publicKey as string);
        break;
      case 'send':
        node.send(Buffer.from(msg.packet as string, 'hex'));
        break;
      case 'rebind':
        void bind.switchTo(Number(msg.port)).then(
          () => out({ event: 'rebound', port: bind.localPort }),
          (err: Error) => out({ event: 'error', message: err.message }),
        );
        break;
      case 'status':
        out({ event: 'status', peers: node.device.peers(), drops: node.device.drops });
        break;
      case 'exit':
        void node.close().then(() => process.exit(0));
        break;
      default:
        out({ event: 'error', message: `unknown command ${msg.cmd}` });
    }
  } catch (err) {
    out({ event: 'error', message: (err as Error).message });
  }
});
lines.on('close', () => void node.close().then(() => process.exit(0)));
