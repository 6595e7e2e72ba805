// The checks a received datagram passes before the device sees it, for a receive loop that runs
// apart from the device (another thread owning the socket): message type and length, then for a
// handshake message mac1, and under load mac2 bound to the source (else a cookie reply) and the
// per-source rate limit — the same HandshakeAdmission the device runs, so a flood of bogus
// initiations is answered and dropped here and never costs the device's thread anything.
// Transport data and cookie replies pass (the device checks them against its sessions).
import { HandshakeAdmission } from './handshake-admission.js';
import type { Endpoint } from './endpoint.js';
import { classifyMessage } from './messages.js';
import { pooledRandomBytes } from './random-pool.js';
import type { DropReason } from './types.js';

export interface IngressFilterOptions {
  /** The local static public key (mac1 and cookies are keyed by it). */
  publicKey: Uint8Array;
  /** Sends a cookie reply. */
  transmit(datagram: Uint8Array, to: Endpoint): void;
  /** As WireGuardDeviceOptions.underLoad; default: by the rate of handshake messages without mac2. */
  underLoad?: boolean | ((nowMs: number) => boolean);
  underLoadHandshakesPerSecond?: number;
  random?: (length: number) => Uint8Array;
}

export class IngressFilter {
  private readonly admission: HandshakeAdmission;

  constructor(options: IngressFilterOptions) {
    this.admission = new HandshakeAdmission({
      localStatic: options.publicKey,
      random: options.random ?? pooledRandomBytes,
      underLoad: options.underLoad,
      underLoadHandshakesPerSecond: options.underLoadHandshakesPerSecond,
      queueCapacity: undefined,
      transmit: options.transmit,
    });
  }

  /** Why the datagram is dropped, or undefined when it goes on to the device. */
  check(datagram: Uint8Array, from: Endpoint, nowMs: number): DropReason | undefined {
    const kind = classifyMessage(datagram);
    switch (kind.kind) {
      case 'transport':
      case 'cookie-reply':
        return undefined;
      case 'initiation':
      case 'response':
        return this.admission.admit(datagram, from, nowMs);
      case 'drop':
        return kind.reason;
    }
  }
}
