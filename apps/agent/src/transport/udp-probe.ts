// Is UDP to the hub usable again? A probe runs a WireGuard handshake of its own over the UDP carrier
// while the tunnel's session lives on the WebSocket: a throw-away device with the same key sends one
// initiation; a valid response proves both directions work. Only initiations ever leave the probe
// (never the confirming keepalive or data), so the hub keeps the tunnel's session as current and the
// probe's keypair stays an unconfirmed "next" that the tunnel's next handshake replaces.
import { WireGuardDevice, constants } from '@porthole/wireguard';
import { icmpEchoRequest } from '../tunnel/wireguard-tunnel.js';

export interface UdpProbeOptions {
  privateKey: Uint8Array;
  hubPublicKey: string;
  hubTunnelIp: string;
  deviceTunnelIp: string;
  /** The tunnel's timestamp source: the probe's initiation must be newer than the last one, and the next after it newer still. */
  tai64n: () => Uint8Array;
  endpoint: { address: string; port: number };
  /** Sends a datagram on the UDP carrier. */
  send: (datagram: Uint8Array) => void;
  now: () => number;
}

export class UdpProbe {
  readonly #device: WireGuardDevice;
  readonly #endpoint: { address: string; port: number };
  #result: ((ok: boolean) => void) | undefined;
  #done = false;

  constructor(private readonly options: UdpProbeOptions) {
    this.#endpoint = { ...options.endpoint };
    this.#device = new WireGuardDevice({
      privateKey: options.privateKey,
      tai64n: options.tai64n,
      onTransmit: (datagram) => {
        if (!this.#done && datagram[0] === constants.MESSAGE_INITIATION_TYPE) options.send(datagram);
      },
      onPacket: () => {},
      onEvent: (event) => {
        if (event.type === 'handshake-completed') this.#finish(true);
      },
    });
    this.#device.addPeer({ publicKey: options.hubPublicKey, allowedIps: [`${options.hubTunnelIp}/32`], endpoint: this.#endpoint });
  }

  /** Sends the initiation; resolves true on a valid response, false after `timeoutMs`. */
  run(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finish(false), timeoutMs);
      timer.unref?.();
      this.#result = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      // Data for the hub makes the device start a handshake; the packet itself is never sent.
      this.#device.send(icmpEchoRequest(this.options.deviceTunnelIp, this.options.hubTunnelIp, 0, 0), this.options.now());
    });
  }

  /** A datagram from the UDP carrier that may be the hub's answer (handshake response or cookie reply). */
  receive(datagram: Uint8Array): void {
    if (this.#done) return;
    const type = datagram[0];
    if (type === constants.MESSAGE_RESPONSE_TYPE || type === constants.MESSAGE_COOKIE_REPLY_TYPE) {
      this.#device.receive(datagram, this.#endpoint, this.options.now());
    }
  }

  #finish(ok: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#result?.(ok);
  }
}
