// Trust on first use for HTTPS targets on the LAN (self-signed certificates are the norm there).
// The SHA-256 fingerprint of the leaf certificate is pinned on first contact; afterwards every NEW
// TLS connection is checked before a single request byte is written. Pitfalls avoided (verified):
// with rejectUnauthorized:false Node never calls checkServerIdentity, so the check is explicit here;
// and a resumed session carries no certificate, so no session is ever offered for resumption.
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import type { Logger } from '../log/logger.js';

export type PinCheck = 'pinned-now' | 'match' | 'mismatch';

export interface PinStore {
  /** Atomically: pin `fingerprint` if `origin` has no pin; else compare. Records a mismatch for the owner. */
  check(origin: string, fingerprint: string): PinCheck;
  pinned(origin: string): string | undefined;
}

export class CertificateChangedError extends Error {
  constructor(
    readonly origin: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`certificate of ${origin} changed: pinned ${expected}, presented ${actual}`);
    this.name = 'CertificateChangedError';
  }
}

export interface PinnedConnectOptions {
  host: string;
  port: number;
  /** Key of the pin, e.g. "https://10.11.120.2:443". */
  origin: string;
  pins: PinStore;
  logger: Logger;
  timeoutMs?: number;
}

/** Opens a TLS connection and enforces the pin; resolves only with a verified socket. */
export function connectPinned(o: PinnedConnectOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: o.host,
      port: o.port,
      // SNI only for names; an IP literal in SNI is invalid (RFC 6066 §3).
      ...(isIP(o.host) ? {} : { servername: o.host }),
      // The chain is not trusted by a CA: the pin below is the only authority.
      rejectUnauthorized: false,
      // No `session` option: a TLS client in Node resumes only when one is passed in.
      ALPNProtocols: ['http/1.1'],
    });
    // Request/response and relayed WebSocket traffic: small writes must not wait for delayed ACKs.
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error(`TLS connect to ${o.origin} timed out`)), o.timeoutMs ?? 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      if (socket.isSessionReused()) {
        fail(new Error(`TLS session to ${o.origin} was resumed; refusing (no certificate to check)`));
        return;
      }
      const cert = socket.getPeerCertificate();
      const fingerprint = cert && typeof cert.fingerprint256 === 'string' ? cert.fingerprint256 : '';
      if (fingerprint === '') {
        fail(new Error(`${o.origin} presented no certificate`));
        return;
      }
      const result = o.pins.check(o.origin, fingerprint);
      if (result === 'mismatch') {
        const expected = o.pins.pinned(o.origin) ?? '';
        o.logger.warn('target certificate changed; refusing until the owner accepts it', {
          component: 'tofu',
          origin: o.origin,
          pinned: expected,
          presented: fingerprint,
        });
        fail(new CertificateChangedError(o.origin, expected, fingerprint));
        return;
      }
      if (result === 'pinned-now') {
        o.logger.info('target certificate pinned on first use', { component: 'tofu', origin: o.origin, fingerprint });
      }
      resolve(socket);
    });
  });
}
